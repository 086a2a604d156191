"""What the statistics stage writes: each cluster's counts, capability mix and cache
replay, and every statistic tested against the population.
"""

from __future__ import annotations

from pipeline.registry.columns import (
    _CLUSTER,
    _FIRST_SEEN,
    _INPUT_SUM,
    _LAST_SEEN,
    _N_ACCOUNTS,
    _OUTPUT_SUM,
    _RATE_LIMITED,
)
from pipeline.registry.shape import CAPABILITIES, FAMILIES, STATISTIC_TESTS, Table, _c, _either

_CLUSTER_REQUESTS = _c("request_count", "BIGINT", "requests of the cluster's accounts in the "
                       "window")
_CACHEABLE = _c("cacheable_count", "BIGINT",
                "2xx requests with a cacheable prefix (account_prefix_day.cacheable_count)")
_PREDICTED = _c("predicted_hit_count", "BIGINT",
                "cache hits the accounts' own repetition predicts")
_OBSERVED_READ = _c("observed_read_count", "BIGINT", "requests that read the cache")
_HANDOFF = _c("handoff_count", "BIGINT", "hits lost to prefixes passed between the cluster's "
              "accounts (prefix_handoff_day)")

CLUSTER_PROFILE = Table(
    name="cluster_profile",
    grain="one row per cluster of the window",
    key=("cluster_id",),
    layer="statistics",
    kind="table",
    meaning="the counts every statistic is a ratio of, numerators and denominators side by "
            "side, summed over the cluster's accounts and the window's days, so an auditor "
            "can re-derive each share",
    columns=(
        _CLUSTER,
        _N_ACCOUNTS,
        _c("first_account", "VARCHAR", "the cluster's smallest account_id: what orders "
           "clusters of one size when the nearest in size are drawn as a baseline, so the "
           "baseline does not depend on the clusters' names"),
        _CLUSTER_REQUESTS,
        _c("ok_count", "BIGINT", "requests answered 2xx"),
        _RATE_LIMITED,
        _INPUT_SUM,
        _OUTPUT_SUM,
        _c("total_input_tokens_sum", "BIGINT", "input + cache creation + cache read tokens"),
        _c("saturated_count", "BIGINT", "2xx requests that hit their max_tokens"),
        _c("active_day_count", "BIGINT", "days of the window with a request"),
        _c("account_day_count", "BIGINT", "account_day rows: accounts x their active days"),
        _FIRST_SEEN,
        _LAST_SEEN,
        _c("text_request_count", "BIGINT", "requests with prompt text (capability known)"),
        _c("reasoning_elicited_count", "BIGINT", "requests whose prompt asks for the reasoning"),
        _c("capability_count", "BIGINT", "capability categories exercised (unknown and other "
           "left out)"),
        _c("templated_request_count", "BIGINT", "requests with a prompt template"),
        _c("reused_template_count", "BIGINT", "of those, requests whose template two or more "
           "of the cluster's accounts used"),
        _c("distinct_prompt_count", "BIGINT", "distinct prompt hashes"),
        _c("novel_prompt_count", "BIGINT", "of those, prompts no other cluster sent"),
        _c("resampled_prompt_count", "BIGINT", "novel prompts two or more of its accounts sent, "
           "sampled with temperature > 0"),
        _c("band_hour_count", "BIGINT", "distinct (near-duplicate band, hour) of its prompts"),
        _c("shared_band_hour_count", "BIGINT", "of those, sent by two or more of its accounts"),
        _CACHEABLE,
        _PREDICTED,
        _c("busted_count", "BIGINT", "predicted hits that wrote the prefix again instead of "
           "reading it (a busted cache)"),
        _OBSERVED_READ,
        _c("read_without_write_count", "BIGINT", "cache reads on prefixes its account never "
           "wrote"),
        _HANDOFF,
        _c("failover_count", "BIGINT", "429 failovers between the cluster's accounts"),
        _c("hourly_request_count", "BIGINT", "requests placed in an hour (account_hour)"),
        _c("night_request_count", "BIGINT", "of those, in the account country's night hours"),
        _c("active_minute_count", "BIGINT", "minutes with requests of accounts with an "
           "rpm_limit"),
        _c("paced_minute_count", "BIGINT", "of those, minutes between pacing_low and "
           "pacing_high of the limit"),
        _c("synchronized_start_count", "BIGINT", "account days whose first request fell in "
           "the same minute as another of its accounts' that day"),
    ),
)

_GROUP_SIZE = _c("group_size", "BIGINT", "accounts in each random group of this draw: a "
                 "tested cluster's size, capped so that min_baseline_clusters groups fit")

BASELINE_GROUP = Table(
    name="baseline_group",
    grain="one row per account of a random group (empty when the window's clusters of "
          "several accounts were enough)",
    key=("group_id", "account_id"),
    layer="statistics",
    kind="table",
    meaning="random groups of the window's accounts outside the first pass's suspects: the "
            "null of what accounts do together when the window has min_baseline_clusters or "
            "fewer clusters of several accounts",
    made_by="pipeline/detection/baselines.py",
    columns=(
        _GROUP_SIZE,
        _c("group_id", "VARCHAR", "G<size>-<n>: the group, its cluster_id in "
           "baseline_group_profile"),
        _c("account_id", "VARCHAR", "an account drawn into it, seeded, without replacement"),
    ),
)

BASELINE_GROUP_PROFILE = Table(
    name="baseline_group_profile",
    grain="one row per random group of baseline_group",
    key=("group_size", "cluster_id"),
    layer="statistics",
    kind="table",
    meaning="each random group's cluster_profile row, made by sql/detection/"
            "cluster_profile.sql over a partition of the window in which the group is a "
            "cluster, the suspects' clusters are as linked and every other account is "
            "alone: the values the rules of what accounts do together take on unrelated "
            "accounts, whose quartiles are those rules' baselines",
    made_by="pipeline/detection/baselines.py",
    columns=(_GROUP_SIZE, *CLUSTER_PROFILE.columns),
)

CLUSTER_CAPABILITY = Table(
    name="cluster_capability",
    grain="one row per cluster and capability category",
    key=("cluster_id", "capability"),
    layer="statistics",
    kind="table",
    meaning="the capability mix the coverage and divergence statistics read",
    columns=(
        _CLUSTER,
        _c("capability", "VARCHAR", _either(CAPABILITIES)),
        _c("request_count", "BIGINT", "requests of the cluster's accounts in the window that "
           "exercised it (prompts without text left out)"),
    ),
)

CLUSTER_CACHE_DAY = Table(
    name="cluster_cache_day",
    grain="one row per cluster and UTC day of the window with a cacheable request",
    key=("cluster_id", "date"),
    layer="statistics",
    kind="table",
    meaning="the cache replay's counts per day, for the report's expected against observed "
            "cache hits over time",
    columns=(
        _CLUSTER,
        _c("date", "DATE", "the UTC day"),
        _CACHEABLE,
        _PREDICTED,
        _OBSERVED_READ,
        _HANDOFF,
    ),
)

CLUSTER_CACHE_COLLISION = Table(
    name="cluster_cache_collision",
    grain="one row per cluster and cacheable prefix (model, system_hash) that two or more of "
          "its accounts sent in the window",
    key=("cluster_id", "prefix_hash"),
    layer="statistics",
    kind="table",
    meaning="the cache writes a cluster made against those one account would have needed",
    columns=(
        _CLUSTER,
        _c("prefix_hash", "VARCHAR", "model:system_hash"),
        _c("account_count", "BIGINT", "the cluster's accounts that sent it"),
        _c("request_count", "BIGINT", "cacheable requests with it"),
        _c("write_count", "BIGINT", "requests that wrote the cache"),
        _c("expected_write_count", "BIGINT", "writes one account would have needed: the "
           "cacheable requests less its own repetition's hits and the handoffs"),
        _HANDOFF,
    ),
)

CLUSTER_STATISTIC = Table(
    name="cluster_statistic",
    grain="one row per cluster and statistic tested (clusters of one account included)",
    key=("cluster_id", "statistic"),
    layer="statistics",
    kind="table",
    meaning="every tested cluster's statistics against the population: baseline, effect "
            "size, p-values and whether the evidence is strong",
    made_by="pipeline/detection/statistics.py",
    columns=(
        _CLUSTER,
        _c("family", "VARCHAR", f"evidence family: {_either(FAMILIES)}"),
        _c("statistic", "VARCHAR", "the statistic's name, e.g. capability_coverage_entropy"),
        _c("rule_id", "VARCHAR", "the detection rule that reads it, e.g. QD-01"),
        _c("value", "DOUBLE", "the cluster's value"),
        _c("baseline_median", "DOUBLE",
           "median of the statistic over the baseline: the window's other accounts for "
           "the rules of an account's own behaviour, the clusters nearest in size for the "
           "others (Rule.by_size)"),
        _c("baseline_q1", "DOUBLE", "first quartile of the baseline"),
        _c("baseline_q3", "DOUBLE", "third quartile of the baseline"),
        _c("baseline_count", "BIGINT",
           "accounts in the baseline (an account's own behaviour), clusters in it "
           "(Rule.by_size) or random account sets drawn (permutation)"),
        _c("effect_size", "DOUBLE",
           "how far the value sits from the baseline, in the test's own scale (documented "
           "per statistic: robust z, log ratio, or difference of shares)"),
        _c("test", "VARCHAR", f"the test behind p_value: {_either(STATISTIC_TESTS)}"),
        _c("p_value", "DOUBLE", "one-sided p-value of the test, in [0, 1]"),
        _c("p_adjusted", "DOUBLE",
           "Benjamini-Hochberg adjusted p-value across the clusters tested, in [0, 1]"),
        _c("is_strong", "BOOLEAN",
           "p_adjusted and effect_size both pass the statistic's named thresholds"),
        _c("source_table", "VARCHAR", "the table (and SQL file) the value is computed from"),
        _c("accounts_above_baseline", "BIGINT",
           "for a strong statistic of an account's own behaviour in a cluster of two or "
           "more accounts: how many of its accounts have an own value (the same k / n over "
           "the account's own cluster_profile) above baseline_median; NULL otherwise"),
    ),
)
