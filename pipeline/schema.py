"""The one registry of what the pipeline reads and writes, and of its vocabularies.

In: nothing (declarations only, standard library). Out: the log contract of DESIGN.md;
every table, view, day-partitioned Parquet table and SQL query the pipeline writes or
runs (``REGISTRY``: layer, grain, key, typed columns, meaning, what makes it); and every
enumeration (evidence families, verdicts, capabilities, tests, quarantine reasons,
linking evidence kinds). DDL, typed empty stand-ins, validation suites and the reports
read these declarations, and ``tests/test_registry.py`` holds them to the SQL files and
to a real run's database, so the contract lives in one place and cannot drift.
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

# --- the log contract -----------------------------------------------------------------

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

# --- what a registered object is -------------------------------------------------------

Layer = Literal["ingest", "features", "linking", "statistics", "scoring", "validation",
                "publication", "run", "investigation"]
"""The stage that writes an object; ``run`` is the ledger every command writes;
``investigation`` the read-only questions of ``forensics case``, ``account`` and
``changes``."""

ObjectKind = Literal["partitioned", "table", "query", "reader"]
"""How an object exists: ``partitioned``, one Parquet file per UTC day under
``<out>/<name>/date=YYYY-MM-DD/part-0.parquet`` and a view of that name in
``forensics.duckdb`` (with the partition's ``date`` column added); ``table``, a table of
``forensics.duckdb``; ``query``, a SQL result a stage consumes within the run and does not
keep under its name; ``reader``, a SQL file that turns one input file into
``raw_records`` rows for ``sql/ingest_records.sql``."""


@dataclass(frozen=True)
class Column:
    """One column of a table the pipeline writes: its name, DuckDB type and meaning."""

    name: str
    kind: str
    meaning: str


@dataclass(frozen=True)
class Table:
    """One object the pipeline writes or runs: what a row is (grain), its key, its columns.

    The key is unique within one file for a ``partitioned`` object, whose day is the
    partition's ``date`` column and not a column of the file. ``made_by`` names the file
    that makes the object: ``sql/<name>.sql`` unless it says otherwise (a module that
    builds the object in code). ``files`` are Parquet copies under the output folder
    beside the database's (a snapshot, or a publication's findings), with the registered
    columns or a leading part of them. The validation suites, the report's data appendix,
    the DDL and the typed empty stand-ins are all generated from these entries.
    """

    name: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    layer: Layer = "features"
    kind: ObjectKind = "partitioned"
    meaning: str = ""
    made_by: str = ""
    files: tuple[str, ...] = ()

    @property
    def column_types(self) -> tuple[tuple[str, str], ...]:
        """(name, DuckDB type) pairs in order, the form ``create_partition_view`` takes."""
        return tuple((c.name, c.kind) for c in self.columns)

    @property
    def source(self) -> str:
        """The repository file that makes the object."""
        return self.made_by or f"sql/{self.name}.sql"


def _c(name: str, kind: str, meaning: str) -> Column:
    return Column(name, kind, meaning)


def _either(words: tuple[str, ...]) -> str:
    """``a, b or c``: an enumeration in a column's meaning, from its one definition."""
    return f"{', '.join(words[:-1])} or {words[-1]}"


# --- ingest ---------------------------------------------------------------------------

# Columns that mean the same thing wherever they appear, declared once so that one
# quantity never has two names or two types.
_RUN = _c("run_id", "VARCHAR", "the run that wrote the row (runs.run_id)")
_ACCOUNT = _c("account_id", "VARCHAR", "the billing account / organization")
_SOURCE_FILE = _c("source_file", "VARCHAR", "the input file, relative to --logs")
_SOURCE_LINE = _c("source_line", "BIGINT",
                  "the record's line in its file (a CSV record's, a Parquet row's position), "
                  "from 1")
_IP_PREFIX = _c("ip_prefix", "VARCHAR", "/24 (IPv4) or /48 (IPv6) network of the source IP")
_LOG_COLUMNS = tuple(Column(f.name, DUCKDB_TYPE[f.kind], f.meaning) for f in LOG_FIELDS)
_REASON = _c("reason", "VARCHAR", "the first quarantine rule the record breaks "
             "(QuarantineReason)")
_REASON_FIELDS = _c("reason_fields", "VARCHAR",
                    "the fields that broke it, comma-separated (missing, wrong type, "
                    "impossible value, request_id for a duplicate)")
_RAW_TEXT = _c("raw_text", "VARCHAR", "what the input held, at most 4,096 characters")
_DAY = _c("day", "DATE", "the UTC day of ts; NULL when ts could not be read")

REQUESTS = Table(
    name="requests",
    grain="one row per kept request of the UTC day",
    key=("request_id",),
    layer="ingest",
    meaning="the requests that broke no quarantine rule, in the contract's columns plus "
            "ip_prefix and the record's origin: every later stage's input",
    columns=(*_LOG_COLUMNS, _IP_PREFIX, _SOURCE_FILE, _SOURCE_LINE),
)

# Columns of one row of a ``requests`` partition, in order. The log fields keep their
# contract names; ingest adds the derived and provenance columns after them.
REQUESTS_COLUMNS: tuple[tuple[str, str], ...] = REQUESTS.column_types

ACCOUNTS = Table(
    name="accounts",
    grain="one row per account of the optional accounts file",
    key=("account_id",),
    layer="ingest",
    kind="table",
    meaning="the accounts file (--accounts) as read by the last ingest, empty without one: "
            "rate limits, countries and registry keys for the per-day tables and linking",
    made_by="pipeline/ingest.py",
    files=("accounts.parquet",),
    columns=(
        _ACCOUNT,
        _c("created_at", "TIMESTAMPTZ", "when the account was created"),
        _c("email_domain", "VARCHAR", "domain of the account's e-mail address"),
        _c("payment_fingerprint", "VARCHAR", "fingerprint of the account's payment card"),
        _c("country", "VARCHAR", "the account's country (ISO 3166 code)"),
        _c("rpm_limit", "BIGINT", "requests-per-minute limit"),
        _c("itpm_limit", "BIGINT", "input-tokens-per-minute limit"),
    ),
)

ACCOUNT_COLUMNS: tuple[tuple[str, str], ...] = ACCOUNTS.column_types

INGEST_LEDGER = Table(
    name="ingest_ledger",
    grain="one row per input file of an ingest run",
    key=("run_id", "file_index"),
    layer="ingest",
    kind="table",
    meaning="what each run read and where every row went: rows_read = rows_kept + "
            "rows_quarantined + rows_out_of_range, per file; rows of sql/ingest_ledger.sql "
            "with the run's range",
    made_by="pipeline/ingest.py",
    columns=(
        _RUN,
        _c("file_index", "INTEGER", "the file's place in path order within the run, from 0"),
        _SOURCE_FILE,
        _c("format", "VARCHAR", "jsonl, csv or parquet"),
        _c("compression", "VARCHAR", "none, gzip or zstd"),
        _c("size_bytes", "BIGINT", "the file's size on disk"),
        _c("sha256", "VARCHAR", "hex sha256 of the file's bytes"),
        _c("rows_read", "BIGINT", "records read (blank lines are not records)"),
        _c("rows_kept", "BIGINT", "records kept in the requests partitions"),
        _c("rows_quarantined", "BIGINT", "records kept out (rows of quarantine)"),
        _c("rows_out_of_range", "BIGINT",
           "records whose day is outside the run's range, left for the run that covers it"),
        _c("balanced", "BOOLEAN", "rows_read = rows_kept + rows_quarantined + "
           "rows_out_of_range"),
        _c("range_start", "DATE", "the run's first day (--start)"),
        _c("range_end", "DATE", "the run's last day (--end)"),
    ),
)

QUARANTINE = Table(
    name="quarantine",
    grain="one row per input record that was kept out, with the rule it broke",
    key=("source_file", "source_line"),
    layer="ingest",
    kind="table",
    meaning="nothing is dropped silently: every rejected record, its reason and its text; a "
            "re-run of the same files and days replaces their rows",
    columns=(
        _RUN, _SOURCE_FILE, _SOURCE_LINE, _DAY, _REASON, _REASON_FIELDS,
        _c("request_id", "VARCHAR", "the record's request_id when it could be read"),
        _c("account_id", "VARCHAR", "the record's account_id when it could be read"),
        _RAW_TEXT,
    ),
)

_RAW_RECORD_MEANING = ("one input file's records as JSON text for sql/ingest_records.sql, "
                       "which judges every format by the same rules")


def _raw_records(name: str, grain: str, text_kind: str) -> Table:
    """A reader: one input format's records as ``raw_records`` rows."""
    return Table(
        name=name, grain=grain, key=("source_line",), layer="ingest", kind="reader",
        meaning=_RAW_RECORD_MEANING,
        columns=(
            _c("source_line", "BIGINT", "the record's line (or row) in its file, from 1"),
            _c("text", text_kind, "the record as a JSON object; NULL when its bytes are not "
               "UTF-8 or the reader could not split it"),
            _c("raw", "VARCHAR", "what the quarantine shows of a record without text, at "
               "most 4,096 characters"),
            _c("pre_reason", "VARCHAR", "the reader's own verdict (a CSV line it could not "
               "split or decode), else NULL"),
        ),
    )


READERS: tuple[Table, ...] = (
    _raw_records("raw_records_from_jsonl", "one row per physical line of one block of a JSONL "
                 "file", "VARCHAR"),
    _raw_records("raw_records_from_csv", "one row per record of a CSV file", "JSON"),
    _raw_records("raw_records_from_csv_rejects", "one row per line of a CSV file that the CSV "
                 "reader rejected", "VARCHAR"),
    _raw_records("raw_records_from_parquet", "one row per row of a Parquet file", "JSON"),
)

INGEST_RECORDS = Table(
    name="ingest_records",
    grain="one row per record (non-blank line, CSV record or Parquet row) of one input file",
    key=("source_line",),
    layer="ingest",
    kind="query",
    meaning="the contract's fields typed and normalized, the UTC day and the first "
            "quarantine rule the record breaks; staged with the file's index, for the whole "
            "run, before duplicates are found across files",
    columns=(_SOURCE_FILE, _SOURCE_LINE, *_LOG_COLUMNS, _IP_PREFIX, _DAY, _REASON,
             _REASON_FIELDS, _RAW_TEXT),
)

INGEST_DUPLICATES = Table(
    name="ingest_duplicates",
    grain="one row per kept record of the run's range that repeats a request_id seen earlier "
          "in the run",
    key=("file_index", "source_line"),
    layer="ingest",
    kind="query",
    meaning="the copies the quarantine lists as duplicates (the first occurrence, in path "
            "then line order, is kept); a table of the run's staging database",
    columns=(
        _c("file_index", "INTEGER", "the file's place in path order within the run"),
        _SOURCE_FILE,
        _SOURCE_LINE,
        _c("request_id", "VARCHAR", "the repeated request_id"),
        _c("occurrence", "BIGINT", "2 for the first copy, 3 for the next, ..."),
    ),
)

INGEST_DAY_QUALITY = Table(
    name="ingest_day_quality",
    grain="one row per day of the run's range",
    key=("day",),
    layer="ingest",
    kind="query",
    meaning="kept and quarantined rows per day, the bad share that --max-bad-share is "
            "checked against, and the worst files",
    columns=(
        _c("day", "DATE", "the UTC day"),
        _c("rows_kept", "BIGINT", "records of the day kept"),
        _c("rows_bad", "BIGINT",
           "records quarantined: of the day, or with no readable day from a file feeding it"),
        _c("bad_share", "DOUBLE", "rows_bad / (rows_kept + rows_bad); 0 without rows"),
        _c("worst_files", "VARCHAR[]", "files with quarantined rows, worst share first"),
    ),
)

# --- per-day features -----------------------------------------------------------------

# Columns that mean the same thing in every per-day table, declared once so that one
# quantity never has two names or two types.
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
    meaning="each account's day at a glance: status mix, token sums and quantiles, "
            "long-output and caching shares, pacing against its limits, distinct keys",
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
    meaning="hour-of-day profiles and synchronized start and stop across accounts",
    grain="one row per account and UTC hour with at least one request",
    key=("account_id", "hour_at"),
    columns=(_ACCOUNT, _HOUR, _REQUESTS, _RATE_LIMITED, _INPUT_SUM, _OUTPUT_SUM,
             _CREATION_SUM, _READ_SUM),
)

ACCOUNT_MINUTE = Table(
    name="account_minute",
    meaning="pacing against rpm_limit and synchronized activity across accounts",
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
    meaning="identical rare prompts across accounts, repeated sampling of one prompt, cache "
            "replays",
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
    meaning="the request fields linking counts as shared keys, with how often and when",
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
    meaning="the evidence \"same IP prefix in the same hour\" without the requests",
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
    meaning="429s retried on another account's key: a key pool's proxies",
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
    meaning="pairs of accounts that sent one rare prompt within minutes of each other",
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
    meaning="near-duplicate prompts (the same prompt, disguised) sent close together",
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
    meaning="what an account asks for: the capability mix, chain-of-thought elicitation, prompt "
            "length, script",
    grain="one row per account and capability category of its prompts on the day",
    key=("account_id", "capability"),
    columns=(
        _ACCOUNT,
        _c("capability", "VARCHAR",
           f"{', '.join(CAPABILITIES)}; unknown without prompt text"),
        _REQUESTS,
        _c("reasoning_elicited_count", "BIGINT",
           "requests whose prompt asks for the reasoning (chain-of-thought elicitation)"),
        _c("prompt_chars_sum", "BIGINT", "characters of prompt text"),
        _c("non_latin_count", "BIGINT", "requests whose prompt has non-Latin script"),
    ),
)

ACCOUNT_TEMPLATE_DAY = Table(
    name="account_template_day",
    meaning="prompt wrappers reused across accounts",
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
    meaning="the prompt cache's observed reads and writes against what the account's own "
            "repetition predicts",
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
    meaning="cache hits lost to a prefix passed between accounts: what spreading one operator's "
            "traffic over accounts costs it",
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

# --- linking --------------------------------------------------------------------------

_PAIR_A = _c("account_a", "VARCHAR", "the pair's smaller account_id")
_PAIR_B = _c("account_b", "VARCHAR", "the pair's larger account_id")
_KEY_TYPE = _c("key_type", "VARCHAR", "the evidence kind (LinkType.key_type)")
_KEY_VALUE = _c("key_value", "VARCHAR", "the key itself (a card fingerprint, a domain, "
                "'<band> <date>' for a prompt band, ...)")
_STRATUM = _c("stratum", "INTEGER",
              "rarity stratum: floor(log2(accounts holding the key - 1)); 0 for same_prompt")
_FAMILIES_LIST = _c("families", "VARCHAR[]", "the linking families behind it, sorted")
_CLUSTER = _c("cluster_id", "VARCHAR", "the case id of an account cluster (stable across runs)")
_WINDOW_START = _c("window_start", "DATE", "first day of the linking window")
_WINDOW_END = _c("window_end", "DATE", "last day of the window (the run's --end)")

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

ACCOUNT_LINK_EVIDENCE = Table(
    name="account_link_evidence",
    grain="one row per pair of accounts (account_a < account_b), evidence kind and rarity "
          "stratum that ties them in the window",
    key=("account_a", "account_b", "key_type", "stratum"),
    layer="linking",
    kind="table",
    meaning="how much a pair shares of one kind against what two unrelated accounts as "
            "active would share by chance; sql/account_link_evidence.sql counts, "
            "pipeline/linking.py adds p_value and surprise",
    made_by="pipeline/linking.py",
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
    made_by="pipeline/linking.py",
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
    grain="one row: the window's edge threshold",
    key=("account_count",),
    layer="linking",
    kind="table",
    meaning="the surprise a pair needs to link alone: -log10(alpha / pairs in the window)",
    made_by="pipeline/linking.py",
    columns=(
        _c("account_count", "BIGINT", "accounts of the window"),
        _c("pair_count", "DOUBLE", "pairs of them: account_count (account_count - 1) / 2"),
        _c("alpha", "DOUBLE", "chance edges allowed per window (LinkParams.alpha)"),
        _c("edge_surprise", "DOUBLE", "log10(pair_count) - log10(alpha)"),
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
    made_by="pipeline/linking.py",
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

CLUSTER_LINEAGE = Table(
    name="cluster_lineage",
    grain="one row per run, cluster and related cluster of the previous run",
    key=("run_id", "cluster_id", "event", "previous_id"),
    layer="linking",
    kind="table",
    meaning="how every run's clusters descend from the previous run's: stable case ids, and "
            "a trace of the cases that ended",
    made_by="pipeline/linking.py",
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

# --- statistics -----------------------------------------------------------------------



_N_ACCOUNTS = _c("n_accounts", "BIGINT", "accounts in the cluster")
_FIRST_SEEN = _c("first_seen", "TIMESTAMPTZ", "the cluster's first request in the window")
_LAST_SEEN = _c("last_seen", "TIMESTAMPTZ", "the cluster's last request in the window")
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
        _c("busted_count", "BIGINT", "predicted hits that read nothing (a busted cache)"),
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
    made_by="pipeline/statistics.py",
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
    ),
)

# --- scoring ------------------------------------------------------------------------

CLUSTER_FINDING = Table(
    name="cluster_findings",
    grain="one row per cluster of the window",
    key=("cluster_id",),
    layer="scoring",
    kind="table",
    meaning="the output contract's findings: each cluster's verdict, risk score and signals",
    made_by="pipeline/scoring.py",
    files=("findings/cluster_findings.parquet",),
    columns=(
        _CLUSTER,
        _c("verdict", "VARCHAR",
           "flagged (three or more accounts, strong evidence in two or more behavioural "
           "families and two harvest statistics or one across accounts; or a small cluster "
           "that joined a flagged case), watch (a harvest statistic and less than that; "
           "under three accounts, three strong statistics, one of them a harvest) or "
           "clear"),
        _c("risk_score", "DOUBLE", "in [0, 1], monotone in the evidence"),
        _N_ACCOUNTS,
        _c("n_requests", "BIGINT", "requests of the cluster's accounts in the window"),
        _FIRST_SEEN,
        _LAST_SEEN,
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
    layer="scoring",
    kind="table",
    meaning="the small clusters whose behaviour and ties put them in a flagged case, with "
            "the numbers that decided it",
    made_by="pipeline/scoring.py",
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

CASE_TIE = Table(
    name="case_tie",
    grain="one row per candidate cluster and flagged case its accounts share linking "
          "evidence with",
    key=("cluster_id", "joined_case"),
    layer="scoring",
    kind="query",
    meaning="how strongly a small cluster is tied to a flagged case, for the join rule "
            "(case_join)",
    columns=(
        _CLUSTER,
        _c("joined_case", "VARCHAR", "the flagged cluster"),
        _c("pairs", "BIGINT", "pairs with shared evidence between the two"),
        _c("tie_surprise", "DOUBLE", "-log10 of the Simes combination of those pairs' "
           "p-values over every pair between the two clusters"),
    ),
)

VERDICT_HISTORY = Table(
    name="verdict_history",
    grain="one row per cluster of one run",
    key=("run_id", "cluster_id"),
    layer="scoring",
    kind="table",
    meaning="every run's verdicts (cluster_findings holds only the last): which cases "
            "became flagged, and what was flagged on a given night",
    columns=(
        _RUN,
        _WINDOW_END,
        _CLUSTER,
        _c("verdict", "VARCHAR", _either(VERDICTS)),
        _c("risk_score", "DOUBLE", "in [0, 1] (cluster_findings.risk_score)"),
        _N_ACCOUNTS,
        _c("joined_case", "VARCHAR", "the flagged case it joined, else NULL"),
    ),
)

# --- validation -----------------------------------------------------------------------

VALIDATION_RESULT = Table(
    name="validation_result",
    grain="one row per expectation evaluated on one batch of one gate of one run",
    key=("run_id", "gate", "suite", "batch", "expectation", "column", "details"),
    layer="validation",
    kind="table",
    meaning="every validation check and its outcome; a retry of a gate replaces its rows",
    made_by="pipeline/validation.py",
    columns=(
        _RUN,
        _c("gate", "VARCHAR", "raw (the requests partitions) or window (the window tables)"),
        _c("suite", "VARCHAR", "<gate>.<table>[.schema]: the expectation suite"),
        _c("batch", "VARCHAR", "what was checked: a day, a span of days, a window"),
        _c("expectation", "VARCHAR", "the Great Expectations expectation type"),
        _c("column", "VARCHAR", "the column checked; NULL for a table-wide check"),
        _c("success", "BOOLEAN", "the check passed"),
        _c("observed_value", "VARCHAR", "what GX observed, as text"),
        _c("unexpected_count", "BIGINT", "rows that failed; NULL when not counted"),
        _c("details", "JSON", "the expectation's arguments, failing values and any error"),
        _c("validated_at", "TIMESTAMPTZ", "when the gate ran"),
    ),
)

VALIDATION_CLUSTER_MEMBERSHIP = Table(
    name="validation_cluster_membership",
    grain="one row per account of the clusters' window or of clusters, per cluster holding it",
    key=("account_id", "cluster_id"),
    layer="validation",
    kind="query",
    meaning="the frame the membership expectations read: each window account in exactly "
            "one cluster, cluster_size its cluster's account count, no account from outside "
            "the window",
    columns=(
        _ACCOUNT,
        _c("cluster_id", "VARCHAR", "its cluster; NULL when no cluster holds it"),
        _c("cluster_size", "BIGINT", "clusters.cluster_size of the row"),
        _c("member_count", "BIGINT", "rows of clusters with the row's cluster_id"),
        _c("in_window", "BOOLEAN", "the account has an account_day row inside the window"),
    ),
)

VALIDATION_INGEST_RECONCILIATION = Table(
    name="validation_ingest_reconciliation",
    grain="one row per input file of an ingest run, or per source_file found in the run's "
          "day partitions",
    key=("source_file",),
    layer="validation",
    kind="query",
    meaning="the rows the ledger says were kept against the rows the partitions hold",
    columns=(
        _SOURCE_FILE,
        _c("ledger_rows_kept", "BIGINT", "ingest_ledger.rows_kept; NULL when the ledger has "
           "no such file"),
        _c("partition_rows", "BIGINT", "rows of the range's partitions from the file"),
    ),
)

# --- publication ----------------------------------------------------------------------

VERDICT_CHANGE = Table(
    name="verdict_change",
    grain="one row per cluster whose verdict differs between this run and the previous "
          "publication",
    key=("cluster_id",),
    layer="publication",
    kind="table",
    meaning="what changed since the previous publication (the summary's Changes section); "
            "empty without one",
    columns=(
        _CLUSTER,
        _c("change", "VARCHAR", "new, ended, raised or lowered"),
        _c("previous_verdict", "VARCHAR", "the verdict published before; NULL when new"),
        _c("verdict", "VARCHAR", "the verdict now; NULL when ended"),
        _c("previous_risk_score", "DOUBLE", "the risk score published before"),
        _c("risk_score", "DOUBLE", "the risk score now"),
        _c("previous_n_accounts", "BIGINT", "accounts then"),
        _c("n_accounts", "BIGINT", "accounts now"),
        _c("now_in", "VARCHAR", "for an ended cluster, the cluster of this run holding most "
           "of its accounts"),
        _c("now_in_verdict", "VARCHAR", "that cluster's verdict"),
    ),
)

PUBLICATIONS = Table(
    name="publications",
    grain="one row per run that published",
    key=("run_id",),
    layer="publication",
    kind="table",
    meaning="what was published when, and where (publications/<name>/)",
    made_by="pipeline/publication.py",
    columns=(
        _RUN,
        _c("name", "VARCHAR", "the folder under publications/: <window end>[.invalid][.<n>]"),
        _WINDOW_START,
        _WINDOW_END,
        _c("valid", "BOOLEAN", "built on data that passed validation"),
        _c("previous", "VARCHAR", "the publication it was compared with; NULL for none"),
        _c("flagged", "BIGINT", "clusters flagged"),
        _c("watch", "BIGINT", "clusters on watch"),
        _c("changes", "BIGINT", "rows of verdict_change"),
        _c("reused", "BOOLEAN", "the same bytes were already published: the folder was "
           "reused"),
    ),
)

# --- the run ledger -------------------------------------------------------------------

RUNS = Table(
    name="runs",
    grain="one row per run (command) on the output folder",
    key=("run_id",),
    layer="run",
    kind="table",
    meaning="what ran, with which parameters, and how it ended",
    made_by="pipeline/runner.py",
    columns=(
        _c("run_id", "VARCHAR", "start time (UTC) and process id: sorts by start"),
        _c("command", "VARCHAR", "the CLI command or DAG task"),
        _c("parameters", "JSON", "the run's recorded parameters"),
        _c("started_at", "TIMESTAMPTZ", "when it started"),
        _c("finished_at", "TIMESTAMPTZ", "when it ended; NULL while running"),
        _c("status", "VARCHAR", "running, succeeded, failed or abandoned"),
        _c("message", "VARCHAR", "the error's first line when it failed"),
    ),
)

# --- the registry ---------------------------------------------------------------------

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

WINDOW_TABLES: tuple[Table, ...] = (CLUSTER_STATISTIC, CLUSTER_FINDING, CASE_JOIN)
"""The window tables the validation gate checks value by value (key never NULL, doubles
finite)."""

# --- read-only queries of a finished run: the investigator's commands and the indicators


def _query(name: str, folder: str, layer: Layer, grain: str, key: tuple[str, ...],
           meaning: str, columns: tuple[Column, ...]) -> Table:
    return Table(name=name, grain=grain, key=key, layer=layer, kind="query",
                 meaning=meaning, made_by=f"sql/{folder}/{name}.sql", columns=columns)


_KEY_TYPE = _c("key_type", "VARCHAR", "the kind of linking key (LinkType.key_type)")
_KEY_VALUE = _c("key_value", "VARCHAR", "the key itself")
_WINDOW_HOLDERS = _c("window_account_count", "BIGINT", "accounts of the window holding it")
_WEIGHT = _c("weight", "DOUBLE", "the key's rarity in the window (link_key.weight)")
_EVENT = _c("event", "VARCHAR", "new, continued, grew, shrank, changed, merged, split, ended")

INVESTIGATION_QUERIES: tuple[Table, ...] = (
    _query("case_finding", "investigation", "investigation", "the one finding of a case",
           ("cluster_id",), "forensics case: the verdict and its summary", (
               _CLUSTER, _c("verdict", "VARCHAR", "flagged, watch or clear"),
               _c("risk_score", "DOUBLE", "cluster_findings.risk_score"),
               _c("n_accounts", "BIGINT", "accounts in the case"),
               _c("n_requests", "BIGINT", "requests of its accounts in the window"),
               _c("first_seen", "TIMESTAMPTZ", "its first request"),
               _c("last_seen", "TIMESTAMPTZ", "its last request"),
               _c("strong_families", "VARCHAR", "families with a rule that holds"),
               _c("signals", "VARCHAR", "the rules that hold, comma-separated"),
               _c("joined_case", "VARCHAR", "the flagged case it was joined to, if any"))),
    _query("case_keys", "investigation", "investigation",
           "one row per linking key at least two of the case's accounts hold",
           ("key_type", "key_value"), "forensics case: the keys that tie its accounts", (
               _KEY_TYPE, _KEY_VALUE,
               _c("cluster_account_count", "BIGINT", "the case's accounts holding it"),
               _WINDOW_HOLDERS, _WEIGHT,
               _c("held_weight", "DOUBLE", "weight x cluster_account_count: the order"),
               _c("pair_count", "BIGINT", "pairs tied, for pair types (same_prompt, "
                  "failover)"))),
    _query("case_evidence", "investigation", "investigation",
           "one row per evidence kind between two of the case's accounts",
           ("family", "key_type"), "forensics case: the pairs' evidence against the null", (
               _c("family", "VARCHAR", "the evidence family"), _KEY_TYPE,
               _c("pairs", "BIGINT", "pairs of the case's accounts sharing this kind"),
               _c("shared_count", "DOUBLE", "what they share, summed over those pairs"),
               _c("expected_count", "DOUBLE", "what the window's null expects them to"),
               _c("max_surprise", "DOUBLE", "-log10 p of the strongest pair"),
               _c("surprise_sum", "DOUBLE", "-log10 p summed over the pairs"))),
    _query("case_rules", "investigation", "investigation",
           "one row per rule that holds for the case", ("rule_id", "statistic"),
           "forensics case: the rules that hold (cluster_statistic.is_strong)", (
               _c("rule_id", "VARCHAR", "the rule"), _c("family", "VARCHAR", "its family"),
               _c("statistic", "VARCHAR", "the statistic it tests"),
               _c("value", "DOUBLE", "the case's value"),
               _c("baseline_median", "DOUBLE", "the median over the baseline clusters"),
               _c("effect_size", "DOUBLE", "cluster_statistic.effect_size"),
               _c("p_adjusted", "DOUBLE", "the multiple-testing adjusted p-value"),
               _c("source_table", "VARCHAR", "where the value was read"))),
    _query("account_case", "investigation", "investigation",
           "the one cluster of an account in the run's window", ("account_id",),
           "forensics account: its case", (
               _ACCOUNT, _CLUSTER, _c("cluster_size", "BIGINT", "accounts in its cluster"),
               _c("verdict", "VARCHAR", "its cluster's verdict"),
               _c("risk_score", "DOUBLE", "its cluster's risk score"),
               _c("signals", "VARCHAR", "the rules that hold for its cluster"),
               _c("window_start", "DATE", "the window's first day"),
               _c("window_end", "DATE", "the window's last day"))),
    _query("account_keys", "investigation", "investigation",
           "one row per linking key the account holds in the window",
           ("key_type", "key_value"), "forensics account: its keys, rarest first", (
               _KEY_TYPE, _KEY_VALUE, _WINDOW_HOLDERS, _WEIGHT)),
    _query("account_days", "investigation", "investigation",
           "one row per day the account sent requests", ("date",),
           "forensics account: its requests by day (account_day)", (
               _c("date", "DATE", "the UTC day"), _REQUESTS, _RATE_LIMITED,
               _c("input_tokens_sum", "BIGINT", "uncached input tokens"),
               _c("output_tokens_sum", "BIGINT", "output tokens"),
               _c("cache_read_share", "DOUBLE", "share of input read from the cache"),
               _c("distinct_ip_prefix_count", "BIGINT", "network prefixes it came from"),
               _c("distinct_user_agent_count", "BIGINT", "user agents it sent"))),
    _query("last_run", "investigation", "investigation",
           "the latest succeeded run that recorded lineage", ("run_id",),
           "forensics changes: which run", (
               _c("run_id", "VARCHAR", "the run"),
               _c("window_end", "DATE", "its window's last day"),
               _c("finished_at", "TIMESTAMPTZ", "when it finished"))),
    _query("run_events", "investigation", "investigation",
           "one row per lineage event kind of a run", ("event",),
           "forensics changes: how many clusters each event names", (
               _EVENT, _c("clusters", "BIGINT", "clusters with that event"))),
    _query("run_lineage", "investigation", "investigation",
           "one row per lineage event of a run other than continued",
           ("cluster_id", "event", "previous_id"),
           "forensics changes: the events of the cases (of every cluster with --all)", (
               _CLUSTER, _EVENT,
               _c("previous_id", "VARCHAR", "the previous cluster it relates to"),
               _c("overlap", "BIGINT", "accounts the two share"),
               _c("n_accounts", "BIGINT", "accounts in the cluster now"),
               _c("verdict", "VARCHAR", "its verdict now (none when ended)"))),
    _query("verdict_changes", "investigation", "investigation",
           "one row per cluster whose verdict moved", ("cluster_id",),
           "forensics changes: verdict_change, raised and new first", (
               _CLUSTER, _c("change", "VARCHAR", "new, raised, lowered or ended"),
               _c("previous_verdict", "VARCHAR", "its verdict in the previous publication"),
               _c("verdict", "VARCHAR", "its verdict now"),
               _c("previous_risk_score", "DOUBLE", "its risk score then"),
               _c("risk_score", "DOUBLE", "its risk score now"),
               _c("previous_n_accounts", "BIGINT", "its accounts then"),
               _c("n_accounts", "BIGINT", "its accounts now"),
               _c("now_in", "VARCHAR", "an ended case: the cluster holding most of it now"),
               _c("now_in_verdict", "VARCHAR", "that cluster's verdict"))),
    _query("indicator_key", "indicators", "publication",
           "one row per flagged case and key another provider could match",
           ("cluster_id", "kind", "value"),
           "the keys of the STIX indicators (pipeline/indicators.py)", (
               _CLUSTER,
               _c("kind", "VARCHAR", "ip_prefix, user_agent, system_hash, "
                  "payment_fingerprint or prompt_hash"),
               _c("value", "VARCHAR", "the key (keyed-hashed on export for cards, prompts)"),
               _c("case_accounts", "BIGINT", "the case's accounts holding it"),
               _c("window_accounts", "BIGINT", "the window's accounts holding it"))),
)


TABLES: dict[str, Table] = {t.name: t for t in (*FEATURE_TABLES, *WINDOW_TABLES)}
"""The per-day and window tables by name: what the validation suites are generated from,
and the tables whose registered grain the reports' data appendix prints."""

REGISTRY: dict[str, Table] = {t.name: t for t in (
    REQUESTS, ACCOUNTS, INGEST_LEDGER, QUARANTINE, *READERS, INGEST_RECORDS,
    INGEST_DUPLICATES, INGEST_DAY_QUALITY,
    *FEATURE_TABLES,
    ACCOUNT_LINK_KEY, LINK_KEY, ACCOUNT_LINK_NULL, ACCOUNT_LINK_EVIDENCE, ACCOUNT_LINK_PAIR,
    LINK_THRESHOLD, ACCOUNT_LINK, CLUSTERS, CLUSTER_KEY, CLUSTER_LINEAGE,
    CLUSTER_PROFILE, CLUSTER_CAPABILITY, CLUSTER_CACHE_DAY, CLUSTER_CACHE_COLLISION,
    CLUSTER_STATISTIC,
    CLUSTER_FINDING, CASE_JOIN, CASE_TIE, VERDICT_HISTORY,
    VALIDATION_RESULT, VALIDATION_CLUSTER_MEMBERSHIP, VALIDATION_INGEST_RECONCILIATION,
    VERDICT_CHANGE, PUBLICATIONS,
    RUNS,
    *INVESTIGATION_QUERIES,
)}
"""Every object the pipeline writes or runs, by name, in the order the stages make them."""

SQL_HELPERS: dict[str, str] = {
    "macros": "scalar macros every connection loads (warehouse.connect): field parsing, "
              "ip_prefix, prompt_text_hash, prompt_capability, verdict_level, ...; no rows",
}
"""SQL files that make no rows of their own, and what they hold."""
