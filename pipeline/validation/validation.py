"""Validation gates: Great Expectations suites over each stage's data, before it is used.

In: an output folder: the ``requests`` day partitions and the ``ingest_ledger`` (raw gate);
``clusters``, the ``account_day`` partitions of the clusters' window and, once the
statistics stage writes them, ``cluster_statistic`` and ``cluster_findings`` (window gate).
Out: a ``ValidationOutcome`` (every expectation's result, a one-line message per failure),
rows in the ``validation_result`` table of ``forensics.duckdb``, and under
``<out>/validation/<run_id>/<gate>/`` the gate's offline HTML page (``index.html``, from
``pipeline.validation.pages``, which also keeps the landing page ``validation/index.html``)
and each validation result as JSON (``results/<suite>--<batch>.json``, GX's
``to_json_dict()``).
``raise_if_failed`` turns a failed outcome into ``ValidationFailed`` (exit code 5).

Why built this way. A report accuses a customer, so nothing may be published from data
that failed a check, and the checks must not drift from the tables they check: every
suite is generated from ``pipeline.registry`` (column names and order, DuckDB types) and the
value rules of ``pipeline.validation.expectations``, which name registered columns only. Each table
is checked as two batches: its schema (a zero-row frame of all its columns, exact
Arrow-backed dtypes compared with the registry's types converted the same way) and its
values (only the columns some rule reads, a day at a time).

GX's SQL data source does not work on DuckDB, so frames go DuckDB -> Arrow -> pandas with
Arrow-backed dtypes (``pipeline.validation.frames``): strings are not copied into Python
objects, and a NULL stays distinct from a NaN (a float column read through numpy would turn
NULL into NaN and hide it). GX itself is behind ``pipeline.validation.gx``, an ephemeral
context (nothing in a project folder; analytics off; progress bars off; no network; no
Data Docs, whose pages need CDNs); the records it gives are ``pipeline.validation.outcomes``,
which the runner and the terminal read without importing it. Checks between
tables (the ledger against the partitions, clusters against the window's accounts,
findings against clusters) are joins in ``sql/validation/*.sql`` whose result is a small
frame validated by GX like any other, so each failure names rows and values.

The database: ``forensics.duckdb`` is locked whole by whoever writes it. Both gates take
the caller's open connection (``db``) when it holds one, and otherwise open the file
themselves and close it; either way the caller holds the output lock. Results are written
through that connection (``store_results``). GX, pandas and pyarrow are imported where
used ("slow"): GX alone takes seconds to import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipeline import registry
from pipeline.errors import ValidationFailed
from pipeline.progress import Steps
from pipeline.validation.expectations import (
    CLUSTER_ACCOUNT_COUNT,
    CLUSTERS_COLUMNS,
    MEMBERSHIP,
    REQUESTS,
    Rule,
    rules_for,
)
from pipeline.validation.frames import schema_frame, to_pandas, values_frame
from pipeline.validation.gx import Gx
from pipeline.validation.outcomes import ExpectationOutcome, ValidationOutcome
from pipeline.validation.pages import safe_name
from pipeline.warehouse import (
    DB_NAME,
    connect,
    glob_literal,
    partition_path,
    sql_string,
    sql_text,
    table_ddl,
)

if TYPE_CHECKING:
    import pandas as pd

INVALID_STAMP = "built on data that failed validation"
"""What every report page says when it was built with ``--allow-invalid`` over a failure."""

VALIDATION_DIR = "validation"
MIN_CACHEABLE_TOKENS = 1024
"""The smallest per-model minimum cacheable prompt length (DESIGN.md: 1,024 to 4,096)."""
CHUNK_ROWS = 1_000_000
"""Rows of a per-day table converted to pandas at once (whole days, at least one)."""

RESULT_DDL = table_ddl(registry.VALIDATION_RESULT)


def raise_if_failed(outcome: ValidationOutcome, allow_invalid: bool = False) -> None:
    """Stop the run on a failed gate, unless an investigator allowed invalid data.

    With ``allow_invalid`` the run goes on and the caller stamps every report page with
    ``INVALID_STAMP`` when ``outcome.success`` is false.
    """
    if outcome.success or allow_invalid:
        return
    failures = outcome.failures
    where = f"; results in {outcome.docs}" if outcome.docs else ""
    raise ValidationFailed(
        f"{outcome.gate} validation failed ({len(failures)} expectation(s)); nothing was "
        f"published{where}:\n" + outcome.message()
    )


def validate_raw(out: Path, days: list[date], run_id: str, *,
                 db: duckdb.DuckDBPyConnection | None = None,
                 min_cacheable_tokens: int = MIN_CACHEABLE_TOKENS,
                 steps: Steps | None = None) -> ValidationOutcome:
    """The raw gate: each day's ``requests`` partition, and the partitions against the ledger.

    Per day: the schema (columns and types of ``REQUESTS_COLUMNS``) and the values (required
    fields not NULL, request_id unique, ts inside the day, token counts and status in range,
    cache tokens consistent). Then one reconciliation over the ingest run ``run_id``: for
    every input file of its ledger, the rows the ledger kept equal the rows of that file in
    the partitions of the run's range. The ledger counts per file, not per day, and a day's
    rows come from many files, so per file over the range is the exact check the ledger
    allows (every partition of the range is written by that run, empty days included).
    """
    gate = "raw"
    reader = connect()
    try:
        with _database(out, db) as con, _gx(out, run_id, gate, steps) as gx:
            results: list[ExpectationOutcome] = []
            present = []
            for day in days:
                if partition_path(out, REQUESTS, day).is_file():
                    present.append(day)
                else:
                    results.append(_missing(f"{gate}.{REQUESTS}", day.isoformat(),
                                            str(partition_path(out, REQUESTS, day))))
            results += _validate_file_schemas(reader, out, REQUESTS, registry.REQUESTS_COLUMNS,
                                              present, gx, gate)
            rules = rules_for(REQUESTS)
            for day in present:
                start = datetime.combine(day, time(), UTC)
                values = {"day_start": start, "day_end": start + timedelta(days=1),
                          "min_cacheable_tokens": min_cacheable_tokens}
                frame = values_frame(reader, _parquet([partition_path(out, REQUESTS, day)]),
                                      rules, ("request_id",))
                results += gx.validate(f"{gate}.{REQUESTS}", day.isoformat(), frame, rules,
                                       values, ("request_id",))
                del frame
            results += _reconcile_ledger(con, out, run_id, gx, gate)
            outcome = gx.outcome(results)
            store_results(con, outcome)
            return outcome
    finally:
        reader.close()


def validate_window(out: Path, run_id: str, *, min_baseline_clusters: int,
                    db: duckdb.DuckDBPyConnection | None = None,
                    steps: Steps | None = None) -> ValidationOutcome:
    """The window gate, before reports: clusters, the window's features, statistics, findings.

    ``clusters``: every account with an ``account_day`` row in the clusters' window is in
    exactly one cluster, no cluster holds an account from outside it, cluster_size equals
    the cluster's account count. ``account_day`` of each window day: schema, shares in
    [0, 1], counts >= 0, no NaN or infinity, one row per account; the other per-day tables:
    schema (one check per distinct file schema). ``cluster_statistic`` and
    ``cluster_findings``, when they exist: schema, the registry's and the declared rules,
    and every row's cluster present in ``clusters``.
    """
    gate = "window"
    with _database(out, db) as con, _gx(out, run_id, gate, steps) as gx:
        results: list[ExpectationOutcome] = []
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
        if "clusters" not in tables:
            results.append(_missing(f"{gate}.clusters", "window", "table clusters"))
        else:
            results += _validate_clusters(con, out, gx, gate)
        values = {"min_baseline_clusters": min_baseline_clusters}
        for table in registry.WINDOW_TABLES:
            if table.name not in tables:
                continue
            suite = f"{gate}.{table.name}"
            results += gx.validate_schema(f"{suite}.schema", "window",
                                          schema_frame(con, table.name), table.column_types,
                                          ordered=False)
            rules = rules_for(table.name)
            frame = _window_table_frame(con, table.name, rules, "clusters" in tables)
            results += gx.validate(suite, "window", frame, rules, values, table.key)
        outcome = gx.outcome(results)
        store_results(con, outcome)
        return outcome


def store_results(db: duckdb.DuckDBPyConnection, outcome: ValidationOutcome) -> None:
    """Replace the run's rows of this gate in ``validation_result`` (a retry never doubles)."""
    db.execute(RESULT_DDL)
    rows = [(outcome.run_id, outcome.gate, r.suite, r.batch, r.expectation, r.column,
             r.success, r.observed_value, r.unexpected_count,
             json.dumps(r.details, default=str, sort_keys=True), datetime.now(UTC))
            for r in outcome.results]
    db.execute("BEGIN TRANSACTION")
    db.execute("DELETE FROM validation_result WHERE run_id = $run_id AND gate = $gate",
               {"run_id": outcome.run_id, "gate": outcome.gate})
    if rows:
        db.executemany("INSERT INTO validation_result VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       rows)
    db.execute("COMMIT")


def _window_table_frame(con: duckdb.DuckDBPyConnection, table: str, rules: tuple[Rule, ...],
                        has_clusters: bool) -> pd.DataFrame:
    """A window table's ruled columns, with the account count of the cluster each row names
    (NULL when ``clusters`` has no such cluster). ``table`` is a registry name, not data."""
    key = registry.TABLES[table].key
    own = [c for c in dict.fromkeys((*key, *(c for r in rules for c in r.needed)))
           if c != CLUSTER_ACCOUNT_COUNT]
    sizes = ("(SELECT cluster_id, count(*) AS n FROM clusters GROUP BY cluster_id)"
             if has_clusters else "(SELECT NULL::VARCHAR AS cluster_id, 0 AS n WHERE false)")
    cols = ", ".join(f"t.{c}" for c in own)
    return to_pandas(con.sql(
        f"SELECT {cols}, s.n AS {CLUSTER_ACCOUNT_COUNT} FROM {table} AS t "
        f"LEFT JOIN {sizes} AS s USING (cluster_id) ORDER BY ALL"), exact=False)


def _validate_clusters(con: duckdb.DuckDBPyConnection, out: Path, gx: Gx,
                       gate: str) -> list[ExpectationOutcome]:
    """Membership of the window's accounts, then each window day's per-day tables."""
    results: list[ExpectationOutcome] = []
    described = [r[0] for r in con.execute("DESCRIBE clusters").fetchall()]
    if tuple(described) != CLUSTERS_COLUMNS:
        results.append(ExpectationOutcome(
            f"{gate}.clusters.schema", "window", "expect_table_columns_to_match_ordered_list",
            None, False, json.dumps(described), None, (json.dumps(described),),
            {"expected": list(CLUSTERS_COLUMNS)}))
        return results
    start, end = con.execute(
        "SELECT min(window_start), max(window_end) FROM clusters").fetchall()[0]
    days = _days(start, end) if start and end else []
    _day_column_view(con, "window_account_day", out, "account_day", days, "account_id")
    label = f"{start}..{end}"
    frame = to_pandas(con.sql(sql_text("validation_cluster_membership")), exact=False)
    results += gx.validate(f"{gate}.clusters", label, frame, rules_for(MEMBERSHIP), {},
                           ("account_id",))
    con.execute("DROP VIEW window_account_day")
    results += _validate_features(con, out, days, gx, gate)
    return results


def _validate_features(con: duckdb.DuckDBPyConnection, out: Path, days: list[date], gx: Gx,
                       gate: str) -> list[ExpectationOutcome]:
    """Every per-day table's schema (once per distinct file schema), then ``account_day``'s
    values in chunks of whole days of at most ``CHUNK_ROWS`` rows, keyed by (date, key)."""
    import pyarrow.parquet as pq  # slow: module docstring

    results: list[ExpectationOutcome] = []
    for table in registry.FEATURE_TABLES:
        present = [d for d in days if partition_path(out, table.name, d).is_file()]
        results += _validate_file_schemas(con, out, table.name, table.column_types, present,
                                          gx, gate)
    table = registry.TABLES["account_day"]
    rules = tuple(r for r in rules_for(table.name) if r.check != "unique")
    rules += (Rule("unique", ("date", *table.key), "one row per key and day (the grain)"),)
    chunk: list[date] = []
    rows = 0
    present = [d for d in days if partition_path(out, table.name, d).is_file()]
    for i, day in enumerate(present):
        chunk.append(day)
        rows += pq.read_metadata(partition_path(out, table.name, day)).num_rows
        if rows < CHUNK_ROWS and i < len(present) - 1:
            continue
        paths = [partition_path(out, table.name, d) for d in chunk]
        frame = values_frame(con, _parquet(paths, hive=True), rules, ("date", *table.key))
        results += gx.validate(f"{gate}.{table.name}", _day_span(chunk), frame, rules, {},
                               ("date", *table.key))
        chunk, rows = [], 0
    return results


def _validate_file_schemas(con: duckdb.DuckDBPyConnection, out: Path, name: str,
                           columns: tuple[tuple[str, str], ...], days: list[date], gx: Gx,
                           gate: str) -> list[ExpectationOutcome]:
    """The schema of a per-day table's files, checked once per distinct Parquet schema
    (read from the footers, not the data); the batch names the days that share it."""
    import pyarrow.parquet as pq  # slow: module docstring

    by_schema: dict[str, list[date]] = {}
    for day in days:
        key = pq.read_schema(partition_path(out, name, day)).to_string(
            show_schema_metadata=False)
        by_schema.setdefault(key, []).append(day)
    results: list[ExpectationOutcome] = []
    for seen in by_schema.values():
        frame = schema_frame(con, _parquet([partition_path(out, name, seen[0])]))
        results += gx.validate_schema(f"{gate}.{name}.schema", _day_span(seen), frame, columns)
    return results


def _parquet(paths: list[Path], *, hive: bool = False) -> str:
    """A read_parquet call on files the pipeline wrote (quoted paths, never data values);
    ``hive`` adds the partition's ``date`` column."""
    files = ", ".join(sql_string(glob_literal(p)) for p in paths)
    options = "hive_partitioning = true, hive_types = {'date': DATE}" if hive \
        else "hive_partitioning = false"
    return f"read_parquet([{files}], {options})"


def _reconcile_ledger(con: duckdb.DuckDBPyConnection, out: Path, run_id: str, gx: Gx,
                      gate: str) -> list[ExpectationOutcome]:
    suite = f"{gate}.ingest_reconciliation"
    has_ledger = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = "
                             "'ingest_ledger'").fetchall()[0][0]
    span = con.execute("SELECT min(range_start), max(range_end) FROM ingest_ledger "
                       "WHERE run_id = $run_id", {"run_id": run_id}).fetchall()[0] \
        if has_ledger else (None, None)
    if span[0] is None:
        return [_missing(suite, run_id, f"ingest_ledger rows of run {run_id}")]
    _day_column_view(con, "range_requests", out, REQUESTS, _days(*span), "source_file")
    frame = to_pandas(con.sql(sql_text("validation_ingest_reconciliation"),
                               params={"run_id": run_id}), exact=False)
    con.execute("DROP VIEW range_requests")
    rule = Rule("equal", ("partition_rows",), "the partitions hold the rows the ledger kept",
                other="ledger_rows_kept")
    return gx.validate(suite, f"{span[0]}..{span[1]}", frame, (rule,), {}, ("source_file",))


def _day_column_view(con: duckdb.DuckDBPyConnection, view: str, out: Path, table: str,
                     days: list[date], column: str) -> None:
    """``view``: one VARCHAR column of the day partitions of ``table`` that exist, so a
    check over a range reads only that column and binds even when no day was written."""
    files = [glob_literal(p) for d in days if (p := partition_path(out, table, d)).is_file()]
    if files:
        con.read_parquet(files, hive_partitioning=False).project(column).create_view(view)
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS "
                    f"SELECT NULL::VARCHAR AS {column} WHERE false")


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _day_span(days: list[date]) -> str:
    return days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]} ({len(days)} days)"


def _missing(suite: str, batch: str, what: str) -> ExpectationOutcome:
    """A batch that cannot be validated because its data is absent: a failure, never a pass."""
    return ExpectationOutcome(suite, batch, "expect_batch_to_exist", None, False, "absent",
                              None, (what,), {"missing": what})


def _gx(out: Path, run_id: str, gate: str, steps: Steps | None) -> Gx:
    """The gate's GX run, its page and results under ``<out>/validation/<run_id>/<gate>``."""
    return Gx(out.resolve() / VALIDATION_DIR / safe_name(run_id) / gate, run_id, gate, steps)


@contextmanager
def _database(out: Path, db: duckdb.DuckDBPyConnection | None
              ) -> Iterator[duckdb.DuckDBPyConnection]:
    if db is not None:
        yield db
        return
    con = connect(out / DB_NAME)
    try:
        yield con
    finally:
        con.close()
