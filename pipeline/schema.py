"""The one registry of the log contract and of the tables the pipeline writes.

In: nothing (declarations only). Out: the canonical log fields of DESIGN.md, the typed
columns of the ``requests`` partitions, and every enumeration (evidence families,
verdicts, capabilities, tests, quarantine reasons, linking evidence kinds). Ingest, the
simulator, the rules, the validation suites and the reports all read these lists, so the
contract lives in one place and the checks generated from it cannot drift from the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

# --- enumerations ---------------------------------------------------------------------

FAMILIES = ("query_distribution", "caching_mismatch", "traffic_shape")
"""The behavioural evidence families a rule belongs to (DESIGN: two must hold to flag)."""

VERDICTS = ("flagged", "watch", "clear")
"""A cluster's verdicts, most serious first (the output contract)."""

CAPABILITIES = ("code", "math", "reasoning", "knowledge_qa", "writing", "translation",
                "tool_use", "roleplay_chat", "data_extraction", "other")
"""The capability classes of a request (``sql/account_capability_day.sql``)."""

STATISTIC_TESTS = ("permutation", "binomial", "rank")
"""The tests a statistic's p-value may come from (``cluster_statistic.test``)."""


class QuarantineReason(StrEnum):
    """Why a row was kept out; the fixed list of issue 2, in the order rules are applied."""

    UNDECODABLE = "undecodable bytes"
    MALFORMED = "malformed record"
    MISSING = "missing required field"
    WRONG_TYPE = "wrong type"
    IMPOSSIBLE = "negative or impossible value"
    DUPLICATE = "duplicate request_id"


@dataclass(frozen=True)
class LinkType:
    """One kind of shared evidence: its family and what it means to an investigator."""

    key_type: str
    family: str
    meaning: str


DEFAULT_LINK_TYPES: tuple[LinkType, ...] = (
    LinkType("payment_fingerprint", "registry",
             "one payment card: one payer at any count (an enterprise is linked, rightly)"),
    LinkType("email_domain", "registry",
             "the same e-mail domain: a registrant when few accounts of the window hold it, "
             "a provider when many do (the null says which)"),
    LinkType("created_burst", "registry", "created in the same ten minutes"),
    LinkType("system_hash", "client",
             "the same system prompt (what one client software or SDK sends)"),
    LinkType("ip_prefix_hour", "infrastructure", "the same /24 or /48 in the same hour"),
    LinkType("user_agent", "client", "the same user agent (one client software)"),
    LinkType("same_prompt", "content", "the same prompt within minutes"),
    LinkType("prompt_band", "content",
             "near-duplicate prompts on the same day (MinHash band: survives nonces and "
             "paraphrased openers)"),
    LinkType("failover", "timing",
             "a 429 on one account, the same prompt on the other within seconds: a key pool"),
    LinkType("sync_start", "timing",
             "activity starting in the same minutes after a silence: one scheduler"),
)
"""The linking evidence kinds (``account_link_key.key_type`` and the pair kinds) and their
families; ``LinkParams.link_types`` defaults to these."""

Kind = Literal["string", "int", "float", "timestamp"]


@dataclass(frozen=True)
class LogField:
    """One field of the request-log input contract (DESIGN.md, "Input contract")."""

    name: str
    kind: Kind
    required: bool
    meaning: str
    default: int | None = None


LOG_FIELDS: tuple[LogField, ...] = (
    LogField("request_id", "string", True, "unique per request"),
    LogField("ts", "timestamp", True, "arrival time: RFC 3339 with offset, or epoch ms"),
    LogField("account_id", "string", True, "the billing account / organization"),
    LogField("api_key_id", "string", False, "key identifier (never a secret)"),
    LogField("source_ip", "string", False, "client IPv4 or IPv6 address"),
    LogField("user_agent", "string", False, "client user agent"),
    LogField("model", "string", True, "model name"),
    LogField("status", "int", True, "HTTP status (429 = rate limited)"),
    LogField("input_tokens", "int", True, "input tokens not read from or written to the cache"),
    LogField("output_tokens", "int", True, "output tokens"),
    LogField(
        "cache_creation_input_tokens", "int", False, "input tokens written to the cache", 0
    ),
    LogField("cache_read_input_tokens", "int", False, "input tokens read from the cache", 0),
    LogField("max_tokens", "int", False, "requested output limit"),
    LogField("temperature", "float", False, "sampling temperature"),
    LogField("stop_reason", "string", False, "end_turn, max_tokens, stop_sequence, tool_use"),
    LogField("latency_ms", "int", False, "time to last byte"),
    LogField("system_hash", "string", False, "hash of the system prompt (cacheable prefix)"),
    LogField("prompt_hash", "string", False, "hash of the user prompt"),
    LogField("prompt_text", "string", False, "the first user turn, possibly truncated"),
)

LOG_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in LOG_FIELDS)
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in LOG_FIELDS if f.required)

DUCKDB_TYPE: dict[Kind, str] = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "timestamp": "TIMESTAMPTZ",
}

# Columns of one row of a ``requests`` partition, in order. The log fields keep their
# contract names; ingest adds the derived and provenance columns after them.
REQUESTS_COLUMNS: tuple[tuple[str, str], ...] = (
    *((f.name, DUCKDB_TYPE[f.kind]) for f in LOG_FIELDS),
    ("ip_prefix", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("source_line", "BIGINT"),
)


ACCOUNT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("account_id", "VARCHAR"),
    ("created_at", "TIMESTAMPTZ"),
    ("email_domain", "VARCHAR"),
    ("payment_fingerprint", "VARCHAR"),
    ("country", "VARCHAR"),
    ("rpm_limit", "BIGINT"),
    ("itpm_limit", "BIGINT"),
)


@dataclass(frozen=True)
class Column:
    """One column of a table the pipeline writes: its name, DuckDB type and meaning."""

    name: str
    kind: str
    meaning: str


@dataclass(frozen=True)
class Table:
    """One table the pipeline writes: what a row is (grain), its key, its columns.

    Per-day tables are Parquet partitions ``<out>/<name>/date=YYYY-MM-DD/part-0.parquet``
    written by ``sql/<name>.sql``; the day is the partition's ``date`` column, not a column
    of the file. The validation suites, the report's data appendix and the typed empty
    views of ``warehouse.create_partition_view`` are all generated from these entries.
    """

    name: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    layer: Literal["raw", "core", "out"] = "core"

    @property
    def column_types(self) -> tuple[tuple[str, str], ...]:
        """(name, DuckDB type) pairs in order, the form ``create_partition_view`` takes."""
        return tuple((c.name, c.kind) for c in self.columns)


def _c(name: str, kind: str, meaning: str) -> Column:
    return Column(name, kind, meaning)


# Columns that mean the same thing in every per-day table, declared once so that one
# quantity never has two names or two types.
_ACCOUNT = _c("account_id", "VARCHAR", "the billing account / organization")
_REQUESTS = _c("request_count", "BIGINT", "requests in the group, whatever their status")
_RATE_LIMITED = _c("rate_limited_count", "BIGINT", "requests answered 429 (rate limited)")
_FIRST = _c("first_request_at", "TIMESTAMPTZ", "time of the group's first request")
_LAST = _c("last_request_at", "TIMESTAMPTZ", "time of the group's last request")
_HOUR = _c("hour_at", "TIMESTAMPTZ", "the UTC hour (truncated timestamp)")
_INPUT_SUM = _c("input_tokens_sum", "BIGINT", "sum of input_tokens (uncached input)")
_OUTPUT_SUM = _c("output_tokens_sum", "BIGINT", "sum of output_tokens")
_CREATION_SUM = _c("cache_creation_input_tokens_sum", "BIGINT",
                   "sum of cache_creation_input_tokens (input written to the cache)")
_READ_SUM = _c("cache_read_input_tokens_sum", "BIGINT",
               "sum of cache_read_input_tokens (input read from the cache)")

ACCOUNT_DAY = Table(
    name="account_day",
    grain="one row per account with at least one request on the day",
    key=("account_id",),
    columns=(
        _ACCOUNT,
        _REQUESTS,
        _c("ok_count", "BIGINT", "requests answered 2xx"),
        _RATE_LIMITED,
        _c("client_error_count", "BIGINT", "requests answered 4xx other than 429"),
        _c("error_count", "BIGINT", "requests answered 5xx"),
        _c("rate_limited_share", "DOUBLE", "rate_limited_count / request_count"),
        _INPUT_SUM,
        _OUTPUT_SUM,
        _CREATION_SUM,
        _READ_SUM,
        _c("total_input_tokens_sum", "BIGINT",
           "input + cache creation + cache read tokens: the whole prompt the model saw"),
        _c("output_tokens_p50", "DOUBLE", "median output_tokens of the 2xx requests"),
        _c("output_tokens_p90", "DOUBLE", "90th percentile output_tokens of the 2xx requests"),
        _c("total_input_tokens_p50", "DOUBLE",
           "median total input tokens (input + creation + read) of the 2xx requests"),
        _c("output_input_ratio", "DOUBLE",
           "output_tokens_sum / total_input_tokens_sum; NULL when no input"),
        _c("max_tokens_saturated_share", "DOUBLE",
           "share of 2xx requests that hit their limit (stop_reason max_tokens or "
           "output_tokens >= max_tokens); NULL when no 2xx"),
        _c("cache_read_share", "DOUBLE",
           "cache_read_input_tokens_sum / total_input_tokens_sum; NULL when no input"),
        _c("cache_creation_share", "DOUBLE",
           "cache_creation_input_tokens_sum / total_input_tokens_sum; NULL when no input"),
        _c("active_hour_count", "BIGINT", "distinct UTC hours with a request"),
        _c("active_minute_count", "BIGINT", "distinct UTC minutes with a request"),
        _c("peak_rpm", "BIGINT", "most requests (any status) in one UTC calendar minute"),
        _c("rpm_limit", "BIGINT", "the account's requests-per-minute limit; NULL if unknown"),
        _c("peak_rpm_limit_ratio", "DOUBLE", "peak_rpm / rpm_limit; NULL if no limit"),
        _c("peak_itpm", "BIGINT",
           "most input_tokens + cache_creation_input_tokens in one UTC minute (what an "
           "input-tokens-per-minute limit counts; cache reads do not)"),
        _c("itpm_limit", "BIGINT", "the account's input-tokens-per-minute limit; NULL if unknown"),
        _c("peak_itpm_limit_ratio", "DOUBLE", "peak_itpm / itpm_limit; NULL if no limit"),
        _c("distinct_source_ip_count", "BIGINT", "distinct source IP addresses"),
        _c("distinct_ip_prefix_count", "BIGINT", "distinct /24 (IPv4) or /48 (IPv6) prefixes"),
        _c("distinct_user_agent_count", "BIGINT", "distinct user agents"),
        _c("distinct_api_key_count", "BIGINT", "distinct api_key_id values"),
        _c("distinct_system_hash_count", "BIGINT", "distinct system prompt hashes"),
        _c("distinct_prompt_hash_count", "BIGINT", "distinct user prompt hashes"),
        _c("distinct_model_count", "BIGINT", "distinct models"),
        _c("temperature_mean", "DOUBLE", "mean temperature of the requests that set one"),
        _c("temperature_positive_share", "DOUBLE",
           "share of the requests that set a temperature with temperature > 0"),
        _FIRST,
        _LAST,
    ),
)

ACCOUNT_HOUR = Table(
    name="account_hour",
    grain="one row per account and UTC hour with at least one request",
    key=("account_id", "hour_at"),
    columns=(_ACCOUNT, _HOUR, _REQUESTS, _RATE_LIMITED, _INPUT_SUM, _OUTPUT_SUM,
             _CREATION_SUM, _READ_SUM),
)

ACCOUNT_MINUTE = Table(
    name="account_minute",
    grain="one row per account and UTC minute with at least one request (sparse)",
    key=("account_id", "minute_at"),
    columns=(
        _ACCOUNT,
        _c("minute_at", "TIMESTAMPTZ", "the UTC minute (truncated timestamp)"),
        _REQUESTS,
        _RATE_LIMITED,
    ),
)

ACCOUNT_PROMPT_DAY = Table(
    name="account_prompt_day",
    grain="one row per account and prompt_hash sent on the day (requests without one are "
          "left out)",
    key=("account_id", "prompt_hash"),
    columns=(
        _ACCOUNT,
        _c("prompt_hash", "VARCHAR", "hash of the user prompt"),
        _REQUESTS,
        _RATE_LIMITED,
        _c("temperature_positive_count", "BIGINT", "requests with temperature > 0"),
        _c("output_tokens_max", "BIGINT", "largest output_tokens of the prompt's requests"),
        _c("system_hash", "VARCHAR",
           "the system prompt hash sent most often with this prompt (ties: the smallest); "
           "NULL when that is no system prompt"),
        _FIRST,
        _LAST,
    ),
)

ACCOUNT_KEY_DAY = Table(
    name="account_key_day",
    grain="one row per account, key type and key value observed in its requests",
    key=("account_id", "key_type", "key_value"),
    columns=(
        _ACCOUNT,
        _c("key_type", "VARCHAR",
           "which request field: ip_prefix, source_ip, user_agent, system_hash, api_key_id, "
           "model"),
        _c("key_value", "VARCHAR", "the field's value (absent values are left out)"),
        _REQUESTS,
        _FIRST,
        _LAST,
    ),
)

ACCOUNT_PREFIX_HOUR = Table(
    name="account_prefix_hour",
    grain="one row per account, IP prefix and UTC hour with at least one request",
    key=("account_id", "ip_prefix", "hour_at"),
    columns=(
        _ACCOUNT,
        _c("ip_prefix", "VARCHAR", "/24 (IPv4) or /48 (IPv6) network of the source IP"),
        _HOUR,
        _REQUESTS,
    ),
)

FAILOVER_DAY = Table(
    name="failover_day",
    grain="one row per ordered pair of accounts (account_id, next_account_id) with at "
          "least one 429 failover from the first to the second",
    key=("account_id", "next_account_id"),
    columns=(
        _c("account_id", "VARCHAR", "the account that was answered 429"),
        _c("next_account_id", "VARCHAR",
           "the first other account to send the same prompt_hash within $failover_seconds "
           "after the 429"),
        _c("event_count", "BIGINT", "429 requests of account_id failed over to next_account_id"),
        _c("distinct_prompt_hash_count", "BIGINT", "distinct prompts among those events"),
        _c("first_event_at", "TIMESTAMPTZ", "time of the first such 429"),
        _c("last_event_at", "TIMESTAMPTZ", "time of the last such 429"),
    ),
)

PROMPT_PAIR_DAY = Table(
    name="prompt_pair_day",
    grain="one row per unordered pair of accounts (account_a < account_b) that sent one "
          "prompt_hash within $pair_minutes of each other, counting only prompts sent by at "
          "most $max_accounts_per_prompt accounts that day",
    key=("account_a", "account_b"),
    columns=(
        _c("account_a", "VARCHAR", "the pair's smaller account_id"),
        _c("account_b", "VARCHAR", "the pair's larger account_id"),
        _c("shared_prompt_count", "BIGINT",
           "distinct prompt hashes both accounts sent within $pair_minutes of each other"),
        _c("co_occurrence_count", "BIGINT",
           "matching cells: pairs of (account, prompt, $pair_minutes-wide slot of the clock) "
           "of the two accounts with requests within $pair_minutes of each other; one per "
           "shared prompt when each account sent it once"),
        _c("first_co_occurrence_at", "TIMESTAMPTZ",
           "earliest request of either account in the pair's matching cells"),
    ),
)

ACCOUNT_BAND_DAY = Table(
    name="account_band_day",
    grain="one row per account, UTC hour and near-duplicate band key of its prompts",
    key=("account_id", "hour_at", "band_key"),
    columns=(
        _ACCOUNT,
        _HOUR,
        _c("band_key", "UBIGINT",
           "one band of a prompt's MinHash signature over word 3-grams (numbers and nonces "
           "masked): prompts that differ by nonces, an opener or a wrapper share bands"),
        _REQUESTS,
        _c("prompt_count", "BIGINT", "distinct prompt hashes of the account with this band"),
    ),
)

ACCOUNT_CAPABILITY_DAY = Table(
    name="account_capability_day",
    grain="one row per account and capability category of its prompts on the day",
    key=("account_id", "capability"),
    columns=(
        _ACCOUNT,
        _c("capability", "VARCHAR",
           "code, math, reasoning, knowledge_qa, writing, translation, tool_use, "
           "roleplay_chat, data_extraction, other; unknown without prompt text"),
        _REQUESTS,
        _c("reasoning_elicited_count", "BIGINT",
           "requests whose prompt asks for the reasoning (chain-of-thought elicitation)"),
        _c("prompt_chars_sum", "BIGINT", "characters of prompt text"),
        _c("non_latin_count", "BIGINT", "requests whose prompt has non-Latin script"),
    ),
)

ACCOUNT_TEMPLATE_DAY = Table(
    name="account_template_day",
    grain="one row per account and prompt template (masked opening, hashed) on the day",
    key=("account_id", "template_key"),
    columns=(
        _ACCOUNT,
        _c("template_key", "VARCHAR",
           "tpl:<hash of the masked first eight words>, or hash:<prompt_hash> without text"),
        _REQUESTS,
    ),
)

ACCOUNT_PREFIX_DAY = Table(
    name="account_prefix_day",
    grain="one row per account, model and system prompt hash (cacheable prefix) on the day",
    key=("account_id", "model", "system_hash"),
    columns=(
        _ACCOUNT,
        _c("model", "VARCHAR", "model name"),
        _c("system_hash", "VARCHAR", "hash of the system prompt: the cacheable prefix"),
        _c("cacheable_count", "BIGINT",
           "2xx requests with this prefix and at least $min_cacheable_tokens of input"),
        _c("predicted_hit_count", "BIGINT",
           "requests the account's own repetition predicts as cache hits (same prefix within "
           "the TTL, not concurrent)"),
        _c("observed_read_count", "BIGINT", "requests that read the cache"),
        _c("observed_write_count", "BIGINT", "requests that wrote the cache"),
        _c("busted_count", "BIGINT", "predicted hits that read nothing (a busted cache)"),
    ),
)

PREFIX_HANDOFF_DAY = Table(
    name="prefix_handoff_day",
    grain="one row per ordered pair of accounts and cacheable prefix that passed from the "
          "second account to the first within the TTL on the day",
    key=("account_id", "previous_account_id", "model", "system_hash"),
    columns=(
        _ACCOUNT,
        _c("previous_account_id", "VARCHAR",
           "the other account that last used the prefix within the TTL"),
        _c("model", "VARCHAR", "model name"),
        _c("system_hash", "VARCHAR", "hash of the system prompt: the cacheable prefix"),
        _c("handoff_count", "BIGINT",
           "requests that would have hit the cache had the two accounts been one"),
    ),
)

FEATURE_TABLES: tuple[Table, ...] = (
    ACCOUNT_DAY,
    ACCOUNT_HOUR,
    ACCOUNT_MINUTE,
    ACCOUNT_PROMPT_DAY,
    ACCOUNT_KEY_DAY,
    ACCOUNT_PREFIX_HOUR,
    FAILOVER_DAY,
    PROMPT_PAIR_DAY,
    ACCOUNT_BAND_DAY,
    ACCOUNT_CAPABILITY_DAY,
    ACCOUNT_TEMPLATE_DAY,
    ACCOUNT_PREFIX_DAY,
    PREFIX_HANDOFF_DAY,
)
"""The compact per-day tables of ``pipeline.features``: what window stages read instead
of the requests."""

TABLES: dict[str, Table] = {t.name: t for t in FEATURE_TABLES}
"""Every registered table by name."""

# Window tables of the statistics and scoring stages (issue 4). Declared here, before the
# code that fills them, so that the validation suites and the reports are built against
# one contract.
_CLUSTER = _c("cluster_id", "VARCHAR", "the case id of an account cluster (stable across runs)")

CLUSTER_STATISTIC = Table(
    name="cluster_statistic",
    grain="one row per cluster and statistic tested (clusters of one account included)",
    key=("cluster_id", "statistic"),
    layer="out",
    columns=(
        _CLUSTER,
        _c("family", "VARCHAR",
           "evidence family: query_distribution, caching_mismatch or traffic_shape"),
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
        _c("test", "VARCHAR", "the test behind p_value: permutation, binomial or rank"),
        _c("p_value", "DOUBLE", "one-sided p-value of the test, in [0, 1]"),
        _c("p_adjusted", "DOUBLE",
           "Benjamini-Hochberg adjusted p-value across the clusters tested, in [0, 1]"),
        _c("is_strong", "BOOLEAN",
           "p_adjusted and effect_size both pass the statistic's named thresholds"),
        _c("source_table", "VARCHAR", "the table (and SQL file) the value is computed from"),
    ),
)

CLUSTER_FINDING = Table(
    name="cluster_findings",
    grain="one row per cluster of the window",
    key=("cluster_id",),
    layer="out",
    columns=(
        _CLUSTER,
        _c("verdict", "VARCHAR",
           "flagged (three or more accounts, strong evidence in two or more behavioural "
           "families and two harvest statistics or one across accounts; or a small cluster "
           "that joined a flagged case), watch (a harvest statistic and less than that; "
           "under three accounts, three strong statistics, one of them a harvest) or "
           "clear"),
        _c("risk_score", "DOUBLE", "in [0, 1], monotone in the evidence"),
        _c("n_accounts", "BIGINT", "accounts in the cluster"),
        _c("n_requests", "BIGINT", "requests of the cluster's accounts in the window"),
        _c("first_seen", "TIMESTAMPTZ", "the cluster's first request in the window"),
        _c("last_seen", "TIMESTAMPTZ", "the cluster's last request in the window"),
        _c("strong_families", "VARCHAR",
           "the behavioural families with strong evidence, comma-separated, sorted"),
        _c("signals", "VARCHAR", "the rule ids that fired, comma-separated, sorted"),
        _c("hashes_only", "BOOLEAN",
           "true when the cluster's logs carried no prompt text, so query-distribution "
           "statistics came from hashes and token counts only"),
        _c("joined_case", "VARCHAR",
           "the flagged cluster this small cluster joined (its behaviour and its ties to "
           "that case's accounts passed the join rule; rows in case_join), else NULL"),
    ),
)

CASE_JOIN = Table(
    name="case_join",
    grain="one row per account of a cluster that joined a flagged case",
    key=("account_id",),
    layer="out",
    columns=(
        _ACCOUNT,
        _CLUSTER,
        _c("joined_case", "VARCHAR", "the flagged cluster the account's cluster joined"),
        _c("tie_surprise", "DOUBLE",
           "-log10 of the Simes combination of the linking p-values of the pairs between "
           "the account's cluster and the case's accounts (sql/case_tie.sql)"),
        _c("required_surprise", "DOUBLE",
           "what tie_surprise had to reach: join_fraction x link_threshold.edge_surprise"),
        _c("pairs", "BIGINT",
           "pairs with shared evidence between the account's cluster and the case's accounts"),
        _c("families_held", "VARCHAR",
           "the behavioural families the account's cluster holds on its own, comma-separated"),
    ),
)

WINDOW_TABLES: tuple[Table, ...] = (CLUSTER_STATISTIC, CLUSTER_FINDING, CASE_JOIN)
TABLES.update({t.name: t for t in WINDOW_TABLES})
