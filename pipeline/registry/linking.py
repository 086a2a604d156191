"""What linking writes: every account's keys, the shared keys and the null they are
judged against, the pairs' evidence, the account graph, the clusters, their lineage.
"""

from __future__ import annotations

from pipeline.registry.columns import _ACCOUNT, _CLUSTER, _RUN, _WINDOW_END, _WINDOW_START
from pipeline.registry.shape import Table, _c

_PAIR_A = _c("account_a", "VARCHAR", "the pair's smaller account_id")
_PAIR_B = _c("account_b", "VARCHAR", "the pair's larger account_id")
_KEY_TYPE = _c("key_type", "VARCHAR", "the evidence kind (LinkType.key_type)")
_KEY_VALUE = _c("key_value", "VARCHAR", "the key itself (a card fingerprint, a domain, "
                "'<band> <date>' for a prompt band, ...)")
_STRATUM = _c("stratum", "INTEGER",
              "rarity stratum: floor(log2(accounts holding the key - 1)); 0 for same_prompt")
_FAMILIES_LIST = _c("families", "VARCHAR[]", "the linking families behind it, sorted")

CREATION_WAVE = Table(
    name="creation_wave",
    grain="one row per creation bucket (LinkParams.burst_minutes wide) in which at least two "
          "accounts of the window were created",
    key=("bucket",),
    layer="linking",
    kind="table",
    meaning="how many of the window's accounts were created in the bucket against how many "
            "its own creation rate predicts there, and whether the bucket is in a wave (one "
            "registrant's batch); sql/linking/creation_wave.sql counts, "
            "pipeline/linking/linking.py tests",
    made_by="pipeline/linking/linking.py",
    columns=(
        _c("bucket", "VARCHAR", "the bucket's start, '%Y-%m-%dT%H:%M' (the created_burst key)"),
        _c("bucket_at", "TIMESTAMPTZ", "the bucket's start"),
        _c("account_count", "BIGINT", "accounts of the window created in it"),
        _c("time_of_day_rate", "DOUBLE", "accounts created in the same bucket of the day on "
           "the other days within LinkParams.wave_context_days, per such day"),
        _c("day_rate", "DOUBLE", "accounts created on the same day outside the bucket, per "
           "other bucket of the day"),
        _c("span_rate", "DOUBLE", "the window's accounts per bucket of their creation span"),
        _c("expected_count", "DOUBLE", "the chance count: the largest of the three rates"),
        _c("span_buckets", "BIGINT", "buckets of the creation span: the buckets tested"),
        _c("surprise", "DOUBLE", "-log10 P(X >= account_count), X Poisson(expected_count)"),
        _c("required_surprise", "DOUBLE", "log10(span_buckets) - log10(LinkParams.alpha): "
           "Bonferroni over the buckets tested"),
        _c("wave", "VARCHAR", "the wave it is in: the first bucket of its run of adjacent "
           "buckets past the bar; NULL when it is not past it"),
    ),
)

ACCOUNT_LINK_KEY = Table(
    name="account_link_key",
    grain="one row per account seen in the window and linking key it holds",
    key=("account_id", "key_type", "key_value"),
    layer="linking",
    kind="table",
    meaning="every key an account holds: registry keys from accounts, traffic keys from the "
            "per-day tables",
    columns=(
        _ACCOUNT,
        _KEY_TYPE,
        _KEY_VALUE,
        _c("popular_as", "VARCHAR", "what the key's popularity is counted by: the band of a "
           "band-day key, NULL for keys whose popularity is their own"),
    ),
)

LINK_KEY = Table(
    name="link_key",
    grain="one row per linking key held by at least two accounts of the window",
    key=("key_type", "key_value"),
    layer="linking",
    kind="table",
    meaning="each shared key's popularity, rarity stratum and weight",
    columns=(
        _KEY_TYPE,
        _KEY_VALUE,
        _c("account_count", "BIGINT", "accounts of the window holding it (a band: over the "
           "window, whatever the day)"),
        _STRATUM,
        _c("weight", "DOUBLE", "log10((window accounts - 1) / (account_count - 1)): the "
           "surprise of one account holding it by chance, for ordering keys"),
    ),
)

ACCOUNT_LINK_NULL = Table(
    name="account_link_null",
    grain="one row per account of the window, evidence kind and rarity stratum (NULL when it "
          "shares no key of the kind)",
    key=("account_id", "key_type", "stratum"),
    layer="linking",
    kind="table",
    meaning="what the window's null of unrelated accounts needs per account: how much it "
            "would share with another account by chance",
    columns=(
        _ACCOUNT,
        _KEY_TYPE,
        _STRATUM,
        _c("key_count", "BIGINT", "d: the account's keys of the kind, shared or not"),
        _c("coholder_count", "BIGINT", "S: over its keys of the stratum held by 2 to "
           "max_key_accounts accounts, the sum of (holders - 1)"),
        _c("type_incidences", "BIGINT", "M: every (account, key) of the kind in the window"),
    ),
)

ACCOUNT_SHARED_KEY = Table(
    name="account_shared_key",
    grain="one row per account of the window and key it shares with at least one other "
          "account (cards left out)",
    key=("account_id", "key_type", "key_value"),
    layer="linking",
    kind="table",
    meaning="the member test's trials: each thing an account shares, what counts once, "
            "and whom its co-holders are drawn from by chance",
    columns=(
        _ACCOUNT,
        _KEY_TYPE,
        _KEY_VALUE,
        _c("unit", "VARCHAR", "what counts once: the prefix of a prefix-hour, the band of a "
           "band-day, the key itself otherwise"),
        _c("unit_weight", "DOUBLE", "what the unit counts for: 1 / bands_per_prompt for a "
           "band, 1 otherwise"),
        _c("locale", "VARCHAR", "where chance co-holders are drawn from when not the whole "
           "window: the hour of a synchronized start; NULL otherwise"),
    ),
)

ACCOUNT_LINK_COUNT = Table(
    name="account_link_count",
    grain="one row per pair of accounts (account_a < account_b), evidence kind and rarity "
          "stratum that ties them in the window (failovers left out)",
    key=("account_a", "account_b", "key_type", "stratum"),
    layer="linking",
    kind="table",
    meaning="how much a pair shares of one kind, before the null: what "
            "account_link_evidence sets against chance",
    columns=(
        _PAIR_A,
        _PAIR_B,
        _KEY_TYPE,
        _STRATUM,
        _c("shared_count", "DOUBLE", "distinct things of the kind the pair shares (bands in "
           "prompts: divided by the bands per prompt)"),
        _c("unit_ratio", "DOUBLE", "independent observations per shared key (distinct "
           "prompts per band-day, prefixes per prefix-hour; 1 otherwise): the null's mean "
           "is scaled by it"),
        _c("sync_expected", "DOUBLE", "sync_start only: the day's null, the chance mean of "
           "shared start buckets given each day's starts; NULL for other kinds"),
    ),
)

ACCOUNT_LINK_EVIDENCE = Table(
    name="account_link_evidence",
    grain="one row per pair of accounts (account_a < account_b), evidence kind and rarity "
          "stratum that ties them in the window",
    key=("account_a", "account_b", "key_type", "stratum"),
    layer="linking",
    kind="table",
    meaning="how much a pair shares of one kind against what two unrelated accounts as "
            "active would share by chance; sql/linking/account_link_evidence.sql counts, "
            "pipeline/linking/linking.py adds p_value and surprise",
    made_by="pipeline/linking/linking.py",
    columns=(
        _PAIR_A,
        _PAIR_B,
        _c("family", "VARCHAR", "the kind's linking family (LinkType.family)"),
        _KEY_TYPE,
        _STRATUM,
        _c("shared_count", "DOUBLE", "distinct things of the kind the pair shares (bands in "
           "prompts: divided by the bands per prompt)"),
        _c("expected_count", "DOUBLE", "what two unrelated accounts of the window with their "
           "activity would share by chance"),
        _c("p_value", "DOUBLE", "negative-binomial tail P(X >= shared_count)"),
        _c("surprise", "DOUBLE", "-log10(p_value); a card's rows at least the edge threshold"),
    ),
)

ACCOUNT_LINK_PAIR = Table(
    name="account_link_pair",
    grain="one row per pair of accounts (account_a < account_b) with any evidence",
    key=("account_a", "account_b"),
    layer="linking",
    kind="table",
    meaning="the Fisher combination of a pair's evidence rows (the stronger kind of each "
            "correlated group only), and whether it links on its own",
    made_by="pipeline/linking/linking.py",
    columns=(
        _PAIR_A,
        _PAIR_B,
        _c("components", "BIGINT", "evidence rows combined"),
        _c("surprise", "DOUBLE", "-log10 of the combined p-value"),
        _c("graph_surprise", "DOUBLE", "the same without the supporting client family: the "
           "pair's weight in the account graph"),
        _c("p_value", "DOUBLE", "10^-surprise"),
        _FAMILIES_LIST,
        _c("is_edge", "BOOLEAN", "links alone: past the edge threshold with a card, two "
           "families, or a timed kind past it by itself"),
    ),
)

LINK_THRESHOLD = Table(
    name="link_threshold",
    grain="one row: the window's edge threshold, and the window",
    key=("account_count",),
    layer="linking",
    kind="table",
    meaning="the surprise a pair needs to link alone: -log10(alpha / pairs in the window)",
    made_by="pipeline/linking/linking.py",
    columns=(
        _c("account_count", "BIGINT", "accounts of the window"),
        _c("pair_count", "DOUBLE", "pairs of them: account_count (account_count - 1) / 2"),
        _c("alpha", "DOUBLE", "chance edges allowed per window (LinkParams.alpha)"),
        _c("edge_surprise", "DOUBLE", "log10(pair_count) - log10(alpha)"),
        _c("window_start", "DATE", "first day of the window linked"),
        _c("window_end", "DATE", "last day of the window linked"),
    ),
)

CLUSTER_SPLIT = Table(
    name="cluster_split",
    grain="one row per join of two groups of a cluster that the split test could weigh "
          "(its strongest tested family), in the order the groups were joined back; a "
          "group is named by its first account and its size, which grows as it joins",
    key=("first_a", "accounts_a", "first_b", "accounts_b"),
    layer="linking",
    kind="table",
    meaning="whether two groups linking put in one cluster are one operator: how often "
            "each group's own pairs and the pairs across share a prefix-hour, against the "
            "window's rate between clusters (pipeline/linking/split.py)",
    made_by="pipeline/linking/split.py",
    columns=(
        _c("first_a", "VARCHAR", "the first account of one group"),
        _c("accounts_a", "BIGINT", "its accounts"),
        _c("first_b", "VARCHAR", "the first account of the other group"),
        _c("accounts_b", "BIGINT", "its accounts"),
        _c("tested_family", "VARCHAR", "the family weighed (infrastructure)"),
        _c("given_family", "VARCHAR", "the family the pairs counted share too (any: pairs "
           "with any evidence row)"),
        _c("shared_a", "BIGINT", "pairs inside group a sharing both families"),
        _c("given_a", "BIGINT", "pairs inside group a sharing the given family"),
        _c("shared_b", "BIGINT", "pairs inside group b sharing both families"),
        _c("given_b", "BIGINT", "pairs inside group b sharing the given family"),
        _c("shared_across", "BIGINT", "pairs across sharing both families"),
        _c("given_across", "BIGINT", "pairs across sharing the given family"),
        _c("one_operator_rate", "DOUBLE", "the lower of the two groups' own rates, at its "
           "lower Clopper-Pearson bound (alpha)"),
        _c("window_rate", "DOUBLE", "the rate among pairs of accounts in different clusters"),
        _c("log10_ratio", "DOUBLE", "log10 of the binomial likelihood of shared_across at "
           "window_rate over at one_operator_rate: the evidence for two operators"),
        _c("bar", "DOUBLE", "-log10(alpha / window accounts)"),
        _c("split", "BOOLEAN", "log10_ratio reached the bar: the groups stay apart"),
    ),
)

WAVE_HOLDER = Table(
    name="wave_holder",
    grain="one row per account holding a creation wave's key that linking put in a cluster "
          "of two or more accounts",
    key=("account_id",),
    layer="linking",
    kind="table",
    meaning="whether a wave's holder ties to its cluster as a member or as an outsider "
            "who signed up in the same minutes; a holder that leaves is linked again "
            "without its wave (pipeline/linking/linking.py)",
    made_by="sql/linking/wave_holder.sql",
    columns=(
        _ACCOUNT,
        _c("wave", "VARCHAR", "the wave it holds (creation_wave.wave)"),
        _c("cluster_accounts", "BIGINT", "accounts of the cluster linking put it in"),
        _c("partners", "BIGINT", "accounts it shares evidence with, its creation time "
           "aside"),
        _c("inside", "BIGINT", "those of them in its cluster"),
        _c("members_share", "DOUBLE", "the cluster's members' partners inside over all "
           "their partners"),
        _c("members_spread", "DOUBLE", "the variance of the members' shares beyond the "
           "binomial"),
        _c("outsiders_share", "DOUBLE", "the other accounts' partners in the cluster over "
           "all their partners"),
        _c("outsiders_spread", "DOUBLE", "the variance of their shares beyond the "
           "binomial"),
        _c("log10_ratio", "DOUBLE", "log10 of the likelihood of its share as an outsider's "
           "over as a member's; NULL without partners"),
        _c("bar", "DOUBLE", "log10(holders tested) - log10(LinkParams.alpha)"),
        _c("leaves", "BOOLEAN", "its ties are an outsider's: linking drops its wave key"),
    ),
)

ACCOUNT_LINK = Table(
    name="account_link",
    grain="one row per pair of accounts (account_a < account_b) that is an edge of the "
          "account graph",
    key=("account_a", "account_b"),
    layer="linking",
    kind="table",
    meaning="the weighted graph whose Leiden communities become clusters",
    columns=(
        _PAIR_A,
        _PAIR_B,
        _c("weight", "DOUBLE", "the pair's graph_surprise, at least min_pair_surprise"),
        _c("strong", "BOOLEAN", "the pair links on its own (account_link_pair.is_edge)"),
        _FAMILIES_LIST,
    ),
)

CLUSTERS = Table(
    name="clusters",
    grain="one row per account of the window, with its cluster",
    key=("account_id",),
    layer="linking",
    kind="table",
    meaning="every account of the window in exactly one cluster: whom a verdict covers",
    made_by="pipeline/linking/linking.py",
    files=("findings/clusters.parquet",),
    columns=(
        _CLUSTER,
        _ACCOUNT,
        _c("cluster_size", "BIGINT", "accounts in the cluster"),
        _WINDOW_START,
        _WINDOW_END,
    ),
)

CLUSTER_KEY = Table(
    name="cluster_key",
    grain="one row per cluster and piece of linkage evidence inside it: a key two or more "
          "of its accounts hold, or a pair type (same_prompt, failover)",
    key=("cluster_id", "key_type", "key_value"),
    layer="linking",
    kind="table",
    meaning="why a cluster's accounts are one operator (the report's linkage table)",
    columns=(
        _CLUSTER,
        _KEY_TYPE,
        _c("key_value", "VARCHAR", "the key; NULL for a pair type"),
        _c("cluster_account_count", "BIGINT", "the cluster's accounts it ties"),
        _c("window_account_count", "BIGINT", "accounts of the window holding the key; NULL "
           "for a pair type"),
        _c("weight", "DOUBLE", "the key's rarity weight (link_key.weight); NULL for a pair type"),
        _c("pair_count", "BIGINT", "the cluster's pairs of the type; NULL for a key"),
    ),
)

PRIOR_CLUSTERS = Table(
    name="prior_clusters",
    grain="one row per account of the clusters this run named its own against: the "
          "previous run's clusters as the run found them (no rows on a first run)",
    key=("cluster_id", "account_id"),
    layer="linking",
    kind="table",
    meaning="what the stable case ids of this run were derived from, kept so that a "
            "re-derivation (forensics verify --rederive) starts from the same ids, as the "
            "join and merge rounds break ties by id",
    made_by="pipeline/linking/linking.py",
    columns=(_CLUSTER, _ACCOUNT),
)

CLUSTER_LINEAGE = Table(
    name="cluster_lineage",
    grain="one row per run, cluster and related cluster of the previous run",
    key=("run_id", "cluster_id", "event", "previous_id"),
    layer="linking",
    kind="table",
    meaning="how every run's clusters descend from the previous run's: stable case ids, and "
            "a trace of the cases that ended",
    made_by="pipeline/linking/lineage.py",
    columns=(
        _RUN,
        _CLUSTER,
        _c("event", "VARCHAR",
           "new, continued, grew, shrank, changed, merged, split or ended"),
        _c("previous_id", "VARCHAR", "the previous run's cluster; NULL for a new one"),
        _c("overlap", "BIGINT", "accounts the two have in common"),
        _c("n_accounts", "BIGINT", "accounts in the cluster now (0 when ended)"),
        _WINDOW_END,
    ),
)
