"""What ingest writes and runs: the ``requests`` day partitions, the accounts file, the
ledger and the quarantine, one reader per input format, and the staging queries.
"""

from __future__ import annotations

from pipeline.registry.columns import _ACCOUNT, _RUN, _SOURCE_FILE
from pipeline.registry.shape import DUCKDB_TYPE, LOG_FIELDS, Column, Table, _c

# Columns that mean the same thing wherever they appear, declared once so that one
# quantity never has two names or two types.
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
    made_by="pipeline/ingest/ingest.py",
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
            "rows_quarantined + rows_out_of_range, per file; rows of sql/ingest/ingest_ledger.sql "
            "with the run's range",
    made_by="pipeline/ingest/ingest.py",
    columns=(
        _RUN,
        _c("file_index", "INTEGER", "the file's place in path order within the run, from 0"),
        _SOURCE_FILE,
        _c("format", "VARCHAR", "jsonl, csv or parquet; then the adapter it was read through, "
           "if any (csv/litellm)"),
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

_RAW_RECORD_MEANING = ("one input file's records as JSON text for sql/ingest/ingest_records.sql, "
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
    _raw_records("adapt_litellm", "one row per record of a LiteLLM spend log (a row of "
                 "LiteLLM_SpendLogs), as a contract record", "VARCHAR"),
    _raw_records("adapt_openai", "one row per line of an OpenAI-style gateway's request log, "
                 "as a contract record", "VARCHAR"),
    _raw_records("adapt_otel", "one row per GenAI inference span of an OTLP/JSON trace export "
                 "(line L's k-th span is source_line L * 1,000,000 + k), as a contract record",
                 "VARCHAR"),
)
"""The readers, then the adapters (``pipeline/ingest/adapters.py``), which read a reader's rows as
``source_records`` and give ``raw_records`` rows of the contract's fields."""

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
