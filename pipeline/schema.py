"""The one registry of the log contract and of the tables the pipeline writes.

In: nothing (declarations only). Out: the canonical log fields of DESIGN.md, the typed
columns of the ``requests`` partitions, the quarantine reasons. Ingest, the simulator, the
validation suites and the reports all read these lists, so the contract lives in one place
and the checks generated from it cannot drift from the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

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


class QuarantineReason(StrEnum):
    """Why a row was kept out; the fixed list of issue 2, in the order rules are applied."""

    UNDECODABLE = "undecodable bytes"
    MALFORMED = "malformed record"
    MISSING = "missing required field"
    WRONG_TYPE = "wrong type"
    IMPOSSIBLE = "negative or impossible value"
    DUPLICATE = "duplicate request_id"


ACCOUNT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("account_id", "VARCHAR"),
    ("created_at", "TIMESTAMPTZ"),
    ("email_domain", "VARCHAR"),
    ("payment_fingerprint", "VARCHAR"),
    ("country", "VARCHAR"),
    ("rpm_limit", "BIGINT"),
    ("itpm_limit", "BIGINT"),
)
