"""The shapes and vocabularies every declaration uses: the enumerations, the log contract,
and what a registered object (``Table``) and its columns (``Column``) are."""

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
"""The capability classes of a request (``sql/features/account_capability_day.sql``)."""

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
    LinkType("creation_wave", "registry",
             "created in one wave: adjacent ten minutes each holding far more of the "
             "window's accounts than its creation rate predicts (one registrant at any "
             "count, as a card)"),
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

SQL_STAGE: dict[str, str] = {"statistics": "detection", "scoring": "detection",
                             "publication": "publish"}
"""The ``sql/`` folder of a layer whose stage package has another name (a layer is the
stage that writes an object; detection writes statistics and scores)."""

ObjectKind = Literal["partitioned", "table", "query", "reader"]
"""How an object exists: ``partitioned``, one Parquet file per UTC day under
``<out>/<name>/date=YYYY-MM-DD/part-0.parquet`` and a view of that name in
``forensics.duckdb`` (with the partition's ``date`` column added); ``table``, a table of
``forensics.duckdb``; ``query``, a SQL result a stage consumes within the run and does not
keep under its name; ``reader``, a SQL file that turns one input file into
``raw_records`` rows for ``sql/ingest/ingest_records.sql``."""


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
    that makes the object: ``sql/<stage>/<name>.sql`` unless it says otherwise (a module that
    builds the object in code). ``files`` are Parquet copies under the output folder
    beside the database's (a snapshot, or a publication's findings), with the registered
    columns or a leading part of them. The validation suites, the report's data appendix,
    the DDL and the typed empty stand-ins are all generated from these entries.

    A per-day table built in shards (``pipeline.features.shards``) gives each row to the
    shard of its ``owner`` account. A row that depends on other accounts' requests names
    what they share in ``shared_by`` (request columns): a shard then reads every request
    that shares those values with one of its own accounts, so that its rows are the ones a
    whole-day build writes.
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
    owner: str = "account_id"
    shared_by: tuple[str, ...] = ()

    @property
    def column_types(self) -> tuple[tuple[str, str], ...]:
        """(name, DuckDB type) pairs in order, the form ``create_partition_view`` takes."""
        return tuple((c.name, c.kind) for c in self.columns)

    @property
    def source(self) -> str:
        """The repository file that makes the object."""
        return self.made_by or f"sql/{SQL_STAGE.get(self.layer, self.layer)}/{self.name}.sql"


def _c(name: str, kind: str, meaning: str) -> Column:
    return Column(name, kind, meaning)


def _either(words: tuple[str, ...]) -> str:
    """``a, b or c``: an enumeration in a column's meaning, from its one definition."""
    return f"{', '.join(words[:-1])} or {words[-1]}"
