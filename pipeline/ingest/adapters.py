"""Adapters: the logs people have (LiteLLM, OpenTelemetry, an OpenAI-style gateway) as records
of the input contract, and LiteLLM's PostgreSQL table as a log file.

In: an input file found by ingest and the ``format`` setting (``contract``, ``auto`` or an
adapter's name); or a ``postgresql://`` URL and a date range. Out: which format each file
is read as (``resolve``), the SQL that turns a reader's rows into contract records for
``sql/ingest_records.sql`` (``staging_query``), the evidence a format cannot carry
(``Adapter.evidence_off``), and for the database a compressed JSONL file of the range's
``LiteLLM_SpendLogs`` rows (``extract_spend_logs``).

Each adapter is one SQL file, ``sql/ingest/adapt_<name>.sql``, between a format's reader and the
contract's rule set: an adapted record is judged by the same rules, counted in the same
ledger and held to the same bad-share ceiling as a contract record, so a record an
adapter cannot map is quarantined with the contract field it lacks, never dropped. The
database is read into a file rather than queried row by row, so that the run's inputs
have a sha256 in the manifest like any other and a re-run can be verified against them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar, get_args
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from pipeline.errors import ForensicsError
from pipeline.settings import LogFormat
from pipeline.warehouse import sql_text


class LogFile(Protocol):
    """What detection reads of an input file (``ingest.InputFile``, a dataclass): named
    here rather than imported, so that ingest, which calls this module, is not called back."""

    path: Path
    source_file: str
    format: str
    compression: str
    log_format: str


F = TypeVar("F", bound=LogFile)

CONTRACT = "contract"
AUTO = "auto"


@dataclass(frozen=True)
class Adapter:
    """One log format besides the contract: the keys of a record that identify it, and
    the evidence its logs cannot carry or carry only when configured (evidence, why),
    which ``forensics ingest`` and ``run`` print as they read such a file."""

    name: str
    signature: frozenset[str]
    evidence_off: tuple[tuple[str, str], ...]


_REGISTRY_OFF = ("account linkage: payment fingerprints, e-mail domains and creation "
                 "bursts", "the log has no registration or payment data; give them with "
                 "--accounts")

ADAPTERS: dict[str, Adapter] = {
    "litellm": Adapter("litellm", frozenset({"request_id", "startTime", "call_type"}), (
        _REGISTRY_OFF,
        ("query distribution on prompt text; same and near-duplicate prompts",
         "only when the proxy stores prompts (store_prompts_in_spend_logs): messages"),
        ("linkage by user agent", "only when the proxy stores the request "
         "(proxy_server_request headers)"),
    )),
    "otel": Adapter("otel", frozenset({"resourceSpans"}), (
        _REGISTRY_OFF,
        ("query distribution on prompt text; same and near-duplicate prompts",
         "only when the instrumentation records gen_ai.input.messages (opt-in)"),
        ("linkage by API key", "GenAI spans name no key"),
    )),
    "openai": Adapter("openai", frozenset({"response", "status_code"}), (
        _REGISTRY_OFF,
        ("caching mismatch: reads without writes (CM-03), excess cache creation",
         "the usage object reports cache reads (cached_tokens) but no cache writes"),
    )),
}
"""Every adapter by its ``--format`` name; ``sql/ingest/adapt_<name>.sql`` is its mapping."""

CONTRACT_SIGNATURE = frozenset({"request_id", "ts", "account_id"})
FORMAT_CHOICES: tuple[str, ...] = get_args(LogFormat)
"""What ``--format`` accepts (declared in settings); ``contract`` is the default."""
NAMED_FORMATS: tuple[str, ...] = tuple(c for c in FORMAT_CHOICES if c != AUTO)


def detect(keys: set[str]) -> list[str]:
    """The formats whose identifying keys a first record holds (none, one or several)."""
    found = [CONTRACT] if keys >= CONTRACT_SIGNATURE else []
    return found + [name for name, a in ADAPTERS.items() if a.signature <= keys]


def resolve(files: list[F], choice: str) -> list[F]:
    """Each file with the format it is read as.

    ``auto`` reads each file by what its first record says and refuses a file that says
    nothing or more than one thing. A named format (``contract``, the default, too) is
    held to: a file whose first record plainly belongs to another format stops the run
    with the option that reads it, since reading it as the wrong format would quarantine
    every row.
    """
    resolved = []
    for f in files:
        keys = first_record_keys(f)
        found = detect(keys) if keys is not None else []
        if choice == AUTO:
            if len(found) != 1:
                what = (f"its first record fits {' and '.join(found)}" if found else
                        "its first record fits none of them")
                raise ForensicsError(
                    f"{f.source_file}: --format auto cannot tell the format ({what}); "
                    f"pass --format with one of {', '.join(NAMED_FORMATS)}")
            resolved.append(replace(f, log_format=found[0]))
            continue
        if len(found) == 1 and found[0] != choice:
            raise ForensicsError(
                f"{f.source_file}: looks like a {found[0]} log, not {choice}; pass "
                f"--format {found[0]} (or --format auto)")
        resolved.append(replace(f, log_format=choice))
    return resolved


def ledger_format(f: LogFile) -> str:
    """The ledger's ``format`` of a file: its file type, and the adapter that read it
    (``csv/litellm``), so an auditor sees how each file's rows were understood."""
    return f.format if f.log_format == CONTRACT else f"{f.format}/{f.log_format}"


def staging_query(reader: str, records: str, log_format: str) -> str:
    """The query that stages one block: the reader's rows, through the format's adapter
    when it has one, judged by the contract's rules (``records``). Every adapter reads its
    records parsed once here (``j``), as JSON when they are JSON objects."""
    if log_format == CONTRACT:
        source = f"WITH raw_records AS ({reader}\n) "
    else:
        source = (f"WITH source_records AS (SELECT source_line, text::VARCHAR AS text, raw, "
                  f"pre_reason, json_record(text::VARCHAR) AS j FROM ({reader}\n)), "
                  f"raw_records AS ({sql_text(f'adapt_{log_format}')}\n) ")
    return f"{source}SELECT $file_index::INTEGER AS file_index, * FROM ({records}\n)"


def first_record_keys(f: LogFile) -> set[str] | None:
    """The field names of a file's first record (a CSV header, a Parquet schema, the keys of
    the first non-blank JSONL line); None when it has none that can be read. A damaged file
    is left to the ingest's reader, which names what is wrong with it."""
    try:
        return _first_record_keys(f)
    except (OSError, EOFError, ValueError, zlib.error, zstandard.ZstdError, pa.ArrowException):
        return None


def _first_record_keys(f: LogFile) -> set[str] | None:
    if f.format == "parquet":
        return set(pq.read_schema(f.path).names)
    with _opened(f) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
        if f.format == "csv":
            return set(next(csv.reader(text), []))
        for line in text:
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:
                    return None
                return set(record) if isinstance(record, dict) else None
    return None


@contextmanager
def _opened(f: LogFile) -> Iterator[BinaryIO]:
    with open(f.path, "rb") as raw:
        if f.compression == "gzip":
            yield gzip.GzipFile(fileobj=raw)
        elif f.compression == "zstd":
            yield zstandard.ZstdDecompressor().stream_reader(raw)
        else:
            yield raw


SPEND_LOGS_FILE = "LiteLLM_SpendLogs.jsonl.zst"
APPLICATION = "distill-forensics"
"""The session's application_name: a database administrator sees who is reading."""

_SPEND_LOGS_QUERY = (
    'COPY (SELECT to_jsonb(s)::text FROM "LiteLLM_SpendLogs" AS s '
    'WHERE s."startTime" >= %(start)s AND s."startTime" < %(after)s '
    'ORDER BY s."startTime", s.request_id) '
    "TO STDOUT (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
)
"""Every column of every row of the range, each row one JSON object on one line. JSON text
has no raw line ends or control characters, so CSV with those delimiters copies it
unchanged; the server streams it, so memory stays bounded whatever the range."""


def extract_spend_logs(url: str, start: date, end: date, folder: Path) -> Path:
    """Copy the range's ``LiteLLM_SpendLogs`` rows into ``folder`` as zstd JSONL, in a
    read-only transaction, streamed block by block; returns the file.

    The whole row is taken (``to_jsonb``), so a LiteLLM version with more or fewer columns
    reads the same; the ``litellm`` adapter picks the fields it maps. Ordered by start time
    and request id, so the same rows give the same bytes and the manifest's hash holds.
    """
    import psycopg  # only a --source run needs the driver; the rest never loads it

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / SPEND_LOGS_FILE
    partial = target.with_name(target.name + ".partial")
    window = {"start": start, "after": end + timedelta(days=1)}
    try:
        with psycopg.connect(url, autocommit=False, application_name=APPLICATION) as con:
            con.read_only = True
            with con.cursor() as cur, open(partial, "wb") as out, \
                    zstandard.ZstdCompressor(level=3).stream_writer(out) as sink, \
                    cur.copy(_SPEND_LOGS_QUERY, window) as copy:
                for block in copy:
                    sink.write(block)
            con.rollback()
    except psycopg.Error as err:
        partial.unlink(missing_ok=True)
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ForensicsError(f"--source {redact_url(url)}: {message}") from None
    partial.replace(target)
    return target


def redact_url(url: str) -> str:
    """The URL without its password, for messages and the runs table."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
