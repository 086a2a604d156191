"""The read-only queries of a finished run: the investigator's ``forensics case``,
``account`` and ``changes`` (``sql/run/investigation/``) and the indicators' keys.
"""

from __future__ import annotations

from pipeline.registry.columns import _ACCOUNT, _CLUSTER, _RATE_LIMITED, _REQUESTS
from pipeline.registry.publication import VERDICT_CHANGE
from pipeline.registry.scoring import CASE_TEST, CLUSTER_FINDING
from pipeline.registry.shape import Column, Layer, Table, _c


def _query(name: str, folder: str, layer: Layer, grain: str, key: tuple[str, ...],
           meaning: str, columns: tuple[Column, ...]) -> Table:
    return Table(name=name, grain=grain, key=key, layer=layer, kind="query",
                 meaning=meaning, made_by=f"sql/{folder}/{name}.sql", columns=columns)


def _of(table: Table, *names: str) -> tuple[Column, ...]:
    """Columns a query passes through from a registered table, declared there once."""
    by_name = {c.name: c for c in table.columns}
    return tuple(by_name[n] for n in names)


_KEY_TYPE = _c("key_type", "VARCHAR", "the kind of linking key (LinkType.key_type)")
_KEY_VALUE = _c("key_value", "VARCHAR", "the key itself")
_WINDOW_HOLDERS = _c("window_account_count", "BIGINT", "accounts of the window holding it")
_WEIGHT = _c("weight", "DOUBLE", "the key's rarity in the window (link_key.weight)")
_EVENT = _c("event", "VARCHAR", "new, continued, grew, shrank, changed, merged, split, ended")

INVESTIGATION_QUERIES: tuple[Table, ...] = (
    _query("case_finding", "run/investigation", "investigation", "the one finding of a case",
           ("cluster_id",), "forensics case: the verdict and its summary",
           _of(CLUSTER_FINDING, "cluster_id", "verdict", "risk_score", "n_accounts",
               "n_requests", "first_seen", "last_seen", "strong_families", "signals",
               "joined_case")),
    _query("case_pieces", "run/investigation", "investigation",
           "one row per cluster of the case: its root and every cluster joined to it",
           ("cluster_id",), "forensics case: the pieces of one operator's case", (
               _c("case_id", "VARCHAR", "the case's root: the cluster its joined_case "
                  "chain ends in"),
               *_of(CLUSTER_FINDING, "cluster_id", "verdict", "risk_score", "n_accounts",
                    "n_requests", "joined_case"))),
    _query("join_test", "run/investigation", "investigation",
           "the join rule's one test of a cluster, or none when it was not tested",
           ("cluster_id",), "forensics case and account: whether and why (not) the "
           "cluster joined a flagged case", (
               *_of(CASE_TEST, "cluster_id", "tested_case", "joined", "coholders",
                    "tie_surprise", "required_surprise", "tie_without_infrastructure",
                    "second_surprise",
                    "required_second", "tie_families"),
               _c("tie_short_by", "DOUBLE", "required_surprise - tie_surprise (or "
                  "tie_without_infrastructure when it is lower), at least 0"),
               _c("second_short_by", "DOUBLE",
                  "required_second - second_surprise, at least 0 (infinite: no tie of "
                  "the round passed, so no second family could)"),
               *_of(CASE_TEST, "cross_ratio", "cross_z", "required_z"),
               _c("consistency_short_by", "DOUBLE",
                  "required_z - cross_z, at least 0: how far a merge test's piece fell "
                  "below one operator's consistency; NULL for a join test and for a "
                  "merge test whose consistency is undefined (kept apart)"),
               *_of(CASE_TEST, "round"))),
    _query("case_keys", "run/investigation", "investigation",
           "one row per linking key at least two of the case's accounts hold",
           ("key_type", "key_value"), "forensics case: the keys that tie its accounts", (
               _KEY_TYPE, _KEY_VALUE,
               _c("cluster_account_count", "BIGINT", "the case's accounts holding it"),
               _WINDOW_HOLDERS, _WEIGHT,
               _c("held_weight", "DOUBLE", "weight x cluster_account_count: the order"),
               _c("pair_count", "BIGINT", "pairs tied, for pair types (same_prompt, "
                  "failover)"))),
    _query("case_evidence", "run/investigation", "investigation",
           "one row per evidence kind between two of the case's accounts",
           ("family", "key_type"), "forensics case: the pairs' evidence against the null", (
               _c("family", "VARCHAR", "the evidence family"), _KEY_TYPE,
               _c("pairs", "BIGINT", "pairs of the case's accounts sharing this kind"),
               _c("shared_count", "DOUBLE", "what they share, summed over those pairs"),
               _c("expected_count", "DOUBLE", "what the window's null expects them to"),
               _c("max_surprise", "DOUBLE", "-log10 p of the strongest pair"),
               _c("surprise_sum", "DOUBLE", "-log10 p summed over the pairs"))),
    _query("case_rules", "run/investigation", "investigation",
           "one row per rule that holds for the case", ("rule_id", "statistic"),
           "forensics case: the rules that hold (cluster_statistic.is_strong)", (
               _c("rule_id", "VARCHAR", "the rule"), _c("family", "VARCHAR", "its family"),
               _c("statistic", "VARCHAR", "the statistic it tests"),
               _c("value", "DOUBLE", "the case's value"),
               _c("baseline_median", "DOUBLE", "the median over the baseline clusters"),
               _c("effect_size", "DOUBLE", "cluster_statistic.effect_size"),
               _c("p_adjusted", "DOUBLE", "the multiple-testing adjusted p-value"),
               _c("source_table", "VARCHAR", "where the value was read"))),
    _query("account_case", "run/investigation", "investigation",
           "the one cluster of an account in the run's window", ("account_id",),
           "forensics account: its case", (
               _ACCOUNT, _CLUSTER, _c("cluster_size", "BIGINT", "accounts in its cluster"),
               _c("verdict", "VARCHAR", "its cluster's verdict"),
               _c("risk_score", "DOUBLE", "its cluster's risk score"),
               _c("signals", "VARCHAR", "the rules that hold for its cluster"),
               _c("window_start", "DATE", "the window's first day"),
               _c("window_end", "DATE", "the window's last day"))),
    _query("account_keys", "run/investigation", "investigation",
           "one row per linking key the account holds in the window",
           ("key_type", "key_value"), "forensics account: its keys, rarest first", (
               _KEY_TYPE, _KEY_VALUE, _WINDOW_HOLDERS, _WEIGHT)),
    _query("account_days", "run/investigation", "investigation",
           "one row per day the account sent requests", ("date",),
           "forensics account: its requests by day (account_day)", (
               _c("date", "DATE", "the UTC day"), _REQUESTS, _RATE_LIMITED,
               _c("input_tokens_sum", "BIGINT", "uncached input tokens"),
               _c("output_tokens_sum", "BIGINT", "output tokens"),
               _c("cache_read_share", "DOUBLE", "share of input read from the cache"),
               _c("distinct_ip_prefix_count", "BIGINT", "network prefixes it came from"),
               _c("distinct_user_agent_count", "BIGINT", "user agents it sent"))),
    _query("last_run", "run/investigation", "investigation",
           "the latest succeeded run that recorded lineage", ("run_id",),
           "forensics changes: which run", (
               _c("run_id", "VARCHAR", "the run"),
               _c("window_end", "DATE", "its window's last day"),
               _c("finished_at", "TIMESTAMPTZ", "when it finished"))),
    _query("run_events", "run/investigation", "investigation",
           "one row per lineage event kind of a run", ("event",),
           "forensics changes: how many clusters each event names", (
               _EVENT, _c("clusters", "BIGINT", "clusters with that event"))),
    _query("run_lineage", "run/investigation", "investigation",
           "one row per lineage event of a run other than continued",
           ("cluster_id", "event", "previous_id"),
           "forensics changes: the events of the cases (of every cluster with --all)", (
               _CLUSTER, _EVENT,
               _c("previous_id", "VARCHAR", "the previous cluster it relates to"),
               _c("overlap", "BIGINT", "accounts the two share"),
               _c("n_accounts", "BIGINT", "accounts in the cluster now"),
               _c("verdict", "VARCHAR", "its verdict now (none when ended)"))),
    _query("verdict_changes", "run/investigation", "investigation",
           "one row per cluster whose verdict moved", ("cluster_id",),
           "forensics changes: verdict_change, raised and new first", VERDICT_CHANGE.columns),
    _query("indicator_case", "publish/indicators", "publication",
           "one row per flagged case", ("cluster_id",),
           "the STIX campaigns (pipeline/publish/indicators.py)",
           _of(CLUSTER_FINDING, "cluster_id", "n_accounts", "n_requests", "first_seen",
               "last_seen", "strong_families", "signals")),
    _query("indicator_key", "publish/indicators", "publication",
           "one row per flagged case and key another provider could match",
           ("cluster_id", "kind", "value"),
           "the keys of the STIX indicators (pipeline/publish/indicators.py)", (
               _CLUSTER,
               _c("kind", "VARCHAR", "ip_prefix, user_agent, system_hash, "
                  "payment_fingerprint or prompt_hash"),
               _c("value", "VARCHAR", "the key (keyed-hashed on export for cards, prompts)"),
               _c("case_accounts", "BIGINT", "the case's accounts holding it"),
               _c("window_accounts", "BIGINT", "the window's accounts holding it"))),
)
