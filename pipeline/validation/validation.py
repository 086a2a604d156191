"""Validation gates: Great Expectations suites over each stage's data, before it is used.

In: an output folder: the ``requests`` day partitions and the ``ingest_ledger`` (raw gate);
``clusters``, the ``account_day`` partitions of the clusters' window and, once the
statistics stage writes them, ``cluster_statistic`` and ``cluster_findings`` (window gate).
Out: a ``ValidationOutcome`` (every expectation's result, a one-line message per failure),
rows in the ``validation_result`` table of ``forensics.duckdb``, and under
``<out>/validation/<run_id>/<gate>/`` the GX Data Docs site (``index.html``) and each
validation result as JSON (``results/<suite>--<batch>.json``, GX's ``to_json_dict()``).
``raise_if_failed`` turns a failed outcome into ``ValidationFailed`` (exit code 5).

Why built this way. A report accuses a customer, so nothing may be published from data
that failed a check, and the checks must not drift from the tables they check: every
suite is generated from ``pipeline.registry`` (column names and order, DuckDB types) and the
value rules of ``pipeline.validation.expectations``, which name registered columns only. Each table
is checked as two batches: its schema (a zero-row frame of all its columns, exact
Arrow-backed dtypes compared with the registry's types converted the same way) and its
values (only the columns some rule reads, a day at a time).

GX's SQL data source does not work on DuckDB, so frames go DuckDB -> Arrow -> pandas with
Arrow-backed dtypes: strings are not copied into Python objects, and a NULL stays distinct
from a NaN (a float column read through numpy would turn NULL into NaN and hide it). The
GX context is ephemeral (nothing in a project folder; analytics off; progress bars off; no
network), with one file-backed Data Docs site under the output folder. Checks between
tables (the ledger against the partitions, clusters against the window's accounts,
findings against clusters) are joins in ``sql/validation/*.sql`` whose result is a small
frame validated by GX like any other, so each failure names rows and values.

The database: ``forensics.duckdb`` is locked whole by whoever writes it. Both gates take
the caller's open connection (``db``) when it holds one, and otherwise open the file
themselves and close it; either way the caller holds the output lock. Results are written
through that connection (``store_results``). Great Expectations, pandas and pyarrow are
imported inside the functions that use them: GX alone takes seconds to import.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline import registry
from pipeline.errors import ValidationFailed
from pipeline.validation.expectations import (
    CLUSTER_ACCOUNT_COUNT,
    CLUSTERS_COLUMNS,
    MEMBERSHIP,
    REQUESTS,
    Rule,
    rules_for,
)
from pipeline.warehouse import DB_NAME, connect, glob_literal, partition_path, sql_text, table_ddl

if TYPE_CHECKING:
    import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

INVALID_STAMP = "built on data that failed validation"
"""What every report page says when it was built with ``--allow-invalid`` over a failure."""

VALIDATION_DIR = "validation"
SITE_NAME = "validation"
MIN_CACHEABLE_TOKENS = 1024
"""The smallest per-model minimum cacheable prompt length (DESIGN.md: 1,024 to 4,096)."""
CHUNK_ROWS = 1_000_000
"""Rows of a per-day table converted to pandas at once (whole days, at least one)."""
SHOWN_VALUES = 10
"""Failing values named per failure in messages (all are in the stored details)."""

RESULT_DDL = table_ddl(registry.VALIDATION_RESULT)


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation evaluated on one batch (a day, a table, a join)."""

    suite: str
    batch: str
    expectation: str
    column: str | None
    success: bool
    observed_value: str | None
    unexpected_count: int | None
    failing_values: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def message(self) -> str:
        """One line: suite, batch, expectation and the failing values."""
        target = f"({self.column})" if self.column else ""
        parts = [f"{self.suite} [{self.batch}]: {self.expectation}{target} failed"]
        if self.unexpected_count:
            parts.append(f"{self.unexpected_count:,} unexpected")
        if self.failing_values:
            parts.append("e.g. " + ", ".join(self.failing_values))
        elif self.observed_value is not None:
            parts.append(f"observed {self.observed_value}")
        if self.details.get("exception"):
            parts.append(f"error: {self.details['exception']}")
        return "; ".join(parts)


@dataclass(frozen=True)
class ValidationOutcome:
    """Every expectation result of one gate of one run."""

    run_id: str
    gate: str
    results: tuple[ExpectationOutcome, ...]
    docs: Path | None = None

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    @property
    def failures(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(r for r in self.results if not r.success)

    @property
    def suites(self) -> dict[str, bool]:
        """Each suite and whether all its batches passed (the reports' provenance appendix)."""
        out: dict[str, bool] = {}
        for r in self.results:
            out[r.suite] = out.get(r.suite, True) and r.success
        return out

    def message(self) -> str:
        """One line per failure; empty when the gate passed."""
        return "\n".join(r.message() for r in self.failures)


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
                 min_cacheable_tokens: int = MIN_CACHEABLE_TOKENS) -> ValidationOutcome:
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
        with _database(out, db) as con, _Gx(out, run_id, gate) as gx:
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
                frame = _values_frame(reader, _parquet([partition_path(out, REQUESTS, day)]),
                                      rules, ("request_id",))
                results += gx.validate(f"{gate}.{REQUESTS}", day.isoformat(), frame, rules,
                                       values, ("request_id",))
                del frame
            results += _reconcile_ledger(con, out, run_id, gx, gate)
            outcome = ValidationOutcome(run_id, gate, tuple(results), gx.index)
            store_results(con, outcome)
            return outcome
    finally:
        reader.close()


def validate_window(out: Path, run_id: str, *, min_baseline_clusters: int,
                    db: duckdb.DuckDBPyConnection | None = None) -> ValidationOutcome:
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
    with _database(out, db) as con, _Gx(out, run_id, gate) as gx:
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
                                          _schema_frame(con, table.name), table.column_types,
                                          ordered=False)
            rules = rules_for(table.name)
            frame = _window_table_frame(con, table.name, rules, "clusters" in tables)
            results += gx.validate(suite, "window", frame, rules, values, table.key)
        outcome = ValidationOutcome(run_id, gate, tuple(results), gx.index)
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


# --- frames ------------------------------------------------------------------------------


def _to_pandas(relation: duckdb.DuckDBPyRelation, *, exact: bool = True) -> pd.DataFrame:
    """DuckDB to pandas through Arrow.

    ``exact``: every column keeps its Arrow dtype (the schema suites compare exact types).
    Otherwise strings and doubles keep Arrow dtypes (no copies into Python objects; a NULL
    double stays distinct from NaN) while integers and timestamps become numpy columns,
    which GX compares with bounds vectorized instead of value by value in Python (an
    integer column with NULLs becomes float64, where NULL is the only NaN there can be).
    """
    import pandas as pd  # slow to import: see the module's docstring
    import pyarrow as pa  # slow to import: see the module's docstring

    def mapper(kind: pa.DataType) -> pd.ArrowDtype | None:
        keep = exact or pa.types.is_string(kind) or pa.types.is_large_string(kind) \
            or pa.types.is_floating(kind)
        return pd.ArrowDtype(kind) if keep else None

    return relation.to_arrow_table().to_pandas(types_mapper=mapper)


def _schema_frame(con: duckdb.DuckDBPyConnection, source: str) -> pd.DataFrame:
    """A zero-row frame of every column of ``source`` (a table name or a read_parquet call
    on a path), with the dtypes its rows would have."""
    return _to_pandas(con.sql(f"SELECT * FROM {source} LIMIT 0"))


def _values_frame(con: duckdb.DuckDBPyConnection, source: str, rules: tuple[Rule, ...],
                  keep: tuple[str, ...]) -> pd.DataFrame:
    """Only the columns some rule reads (and the index columns that name failing rows)."""
    columns = list(dict.fromkeys((*keep, *(c for r in rules for c in r.needed))))
    return _to_pandas(con.sql(f"SELECT {', '.join(columns)} FROM {source}"), exact=False)


def _expected_dtypes(columns: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The pandas dtype each registry type has after the same DuckDB -> Arrow conversion."""
    con = connect()
    try:
        kinds = sorted({kind for _, kind in columns})
        probe = _to_pandas(con.sql(
            "SELECT " + ", ".join(f"NULL::{k} AS c{i}" for i, k in enumerate(kinds))))
        by_kind = {k: str(probe[f"c{i}"].dtype) for i, k in enumerate(kinds)}
    finally:
        con.close()
    return {name: by_kind[kind] for name, kind in columns}


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
    return _to_pandas(con.sql(
        f"SELECT {cols}, s.n AS {CLUSTER_ACCOUNT_COUNT} FROM {table} AS t "
        f"LEFT JOIN {sizes} AS s USING (cluster_id) ORDER BY ALL"))


def _validate_clusters(con: duckdb.DuckDBPyConnection, out: Path, gx: _Gx,
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
    frame = _to_pandas(con.sql(sql_text("validation_cluster_membership")))
    results += gx.validate(f"{gate}.clusters", label, frame, rules_for(MEMBERSHIP), {},
                           ("account_id",))
    con.execute("DROP VIEW window_account_day")
    results += _validate_features(con, out, days, gx, gate)
    return results


def _validate_features(con: duckdb.DuckDBPyConnection, out: Path, days: list[date], gx: _Gx,
                       gate: str) -> list[ExpectationOutcome]:
    """Every per-day table's schema (once per distinct file schema), then ``account_day``'s
    values in chunks of whole days of at most ``CHUNK_ROWS`` rows, keyed by (date, key)."""
    import pyarrow.parquet as pq  # slow to import: see the module's docstring

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
        frame = _values_frame(con, _parquet(paths, hive=True), rules, ("date", *table.key))
        results += gx.validate(f"{gate}.{table.name}", _day_span(chunk), frame, rules, {},
                               ("date", *table.key))
        chunk, rows = [], 0
    return results


def _validate_file_schemas(con: duckdb.DuckDBPyConnection, out: Path, name: str,
                           columns: tuple[tuple[str, str], ...], days: list[date], gx: _Gx,
                           gate: str) -> list[ExpectationOutcome]:
    """The schema of a per-day table's files, checked once per distinct Parquet schema
    (read from the footers, not the data); the batch names the days that share it."""
    import pyarrow.parquet as pq  # slow to import: see the module's docstring

    by_schema: dict[str, list[date]] = {}
    for day in days:
        key = pq.read_schema(partition_path(out, name, day)).to_string(
            show_schema_metadata=False)
        by_schema.setdefault(key, []).append(day)
    results: list[ExpectationOutcome] = []
    for seen in by_schema.values():
        frame = _schema_frame(con, _parquet([partition_path(out, name, seen[0])]))
        results += gx.validate_schema(f"{gate}.{name}.schema", _day_span(seen), frame, columns)
    return results


def _parquet(paths: list[Path], *, hive: bool = False) -> str:
    """A read_parquet call on files the pipeline wrote (quoted paths, never data values);
    ``hive`` adds the partition's ``date`` column."""
    files = ", ".join(f"'{_quote(Path(glob_literal(p)))}'" for p in paths)
    options = "hive_partitioning = true, hive_types = {'date': DATE}" if hive \
        else "hive_partitioning = false"
    return f"read_parquet([{files}], {options})"


def _reconcile_ledger(con: duckdb.DuckDBPyConnection, out: Path, run_id: str, gx: _Gx,
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
    frame = _to_pandas(con.sql(sql_text("validation_ingest_reconciliation"),
                               params={"run_id": run_id}))
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


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


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


# --- Great Expectations ------------------------------------------------------------------


class _Gx:
    """An ephemeral GX context with one Data Docs site under ``<out>/validation/<run>/<gate>``.

    Each suite is built once (from its rules) with its validation definition and a
    Checkpoint whose ``UpdateDataDocsAction`` renders every batch's result into the site;
    batches differ only in their data frame and suite parameters (the day's bounds).
    """

    def __init__(self, out: Path, run_id: str, gate: str) -> None:
        self.root = out.resolve() / VALIDATION_DIR / _safe(run_id) / gate
        self.run_id = run_id

    def __enter__(self) -> _Gx:
        import great_expectations as gx  # slow to import: see the module's docstring
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )  # slow to import: see the module's docstring

        self.gx = gx
        self.root.mkdir(parents=True, exist_ok=True)
        site = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(self.root)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites={SITE_NAME: site},
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.source = self.context.data_sources.add_pandas("frames")
        self.checkpoints: dict[tuple[str, tuple[str, ...]], Any] = {}
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    @property
    def index(self) -> Path | None:
        """The Data Docs site's front page, once a checkpoint has written it."""
        page = self.root / "index.html"
        return page if page.is_file() else None

    def validate_schema(self, suite: str, batch: str, frame: pd.DataFrame,
                        columns: tuple[tuple[str, str], ...], *,
                        ordered: bool = True) -> list[ExpectationOutcome]:
        """The frame's columns (in the registry's order for files, as a set for DuckDB
        tables, which are read by name), each with the registry's type."""
        import great_expectations.expectations as gxe  # slow to import: see the module's docstring

        dtypes = _expected_dtypes(columns)
        names = [name for name, _ in columns]

        def build() -> list[Any]:
            exps: list[Any] = [
                gxe.ExpectTableColumnsToMatchOrderedList(column_list=names) if ordered
                else gxe.ExpectTableColumnsToMatchSet(column_set=names, exact_match=True)]
            present = set(frame.columns)
            exps += [gxe.ExpectColumnTypeToBe(column=name, type_=dtypes[name],
                                              meta={"duckdb_type": kind})
                     for name, kind in columns if name in present]
            return exps

        # The type checks depend on which columns exist, so each column set has its own
        # GX suite (a missing column already fails the ordered-list expectation).
        return self._run(suite, batch, frame, build, {}, (), variant=tuple(frame.columns))

    def validate(self, suite: str, batch: str, frame: pd.DataFrame, rules: tuple[Rule, ...],
                 values: dict[str, Any], index: tuple[str, ...]) -> list[ExpectationOutcome]:
        """The value rules on the frame; failing rows are named by the ``index`` columns."""
        return self._run(suite, batch, frame, lambda: [_expectation(r) for r in rules],
                         values, index)

    def _run(self, suite: str, batch: str, frame: pd.DataFrame, build: Any,
             values: dict[str, Any], index: tuple[str, ...],
             variant: tuple[str, ...] = ()) -> list[ExpectationOutcome]:
        gx = self.gx
        checkpoint = self.checkpoints.get((suite, variant))
        if checkpoint is None:
            from great_expectations.checkpoint import (
                UpdateDataDocsAction,  # slow to import: see the module's docstring
            )

            name = suite if not any(k[0] == suite for k in self.checkpoints) \
                else f"{suite}.{len(self.checkpoints)}"
            asset = self.source.add_dataframe_asset(name)
            definition = asset.add_batch_definition_whole_dataframe("frame")
            expectation_suite = self.context.suites.add(gx.ExpectationSuite(name=name))
            for expectation in build():
                expectation_suite.add_expectation(expectation)
            validation = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=definition, suite=expectation_suite))
            result_format: dict[str, Any] = {"result_format": "SUMMARY",
                                             "partial_unexpected_count": SHOWN_VALUES}
            if index:
                result_format["unexpected_index_column_names"] = list(index)
            checkpoint = self.context.checkpoints.add(gx.Checkpoint(
                name=name, validation_definitions=[validation],
                actions=[UpdateDataDocsAction(name="data_docs", site_names=[SITE_NAME])],
                result_format=result_format))
            self.checkpoints[(suite, variant)] = checkpoint
        run = gx.RunIdentifier(run_name=f"{self.run_id} {batch}",
                               run_time=datetime.now(UTC))
        result = checkpoint.run(batch_parameters={"dataframe": frame},
                                expectation_parameters=values, run_id=run)
        outcomes: list[ExpectationOutcome] = []
        for validation in result.run_results.values():
            evidence = self.root / "results" / f"{_safe(suite)}--{_safe(batch)}.json"
            evidence.parent.mkdir(parents=True, exist_ok=True)
            evidence.write_text(json.dumps(validation.to_json_dict(), indent=1, default=str,
                                           sort_keys=True), encoding="utf-8")
            outcomes += [_outcome(suite, batch, r, index) for r in validation.results]
        return outcomes


def _expectation(rule: Rule) -> Any:
    """The GX expectation of one rule; a string bound becomes a suite parameter."""
    import great_expectations.expectations as gxe  # slow to import: see the module's docstring
    from great_expectations.expectations.row_conditions import (
        Column,  # slow to import: see the module's docstring
    )

    def bound(value: object) -> object:
        return {"$PARAMETER": value} if isinstance(value, str) else value

    common: dict[str, Any] = {"meta": {"why": rule.why}}
    if rule.when:
        condition = None
        for column, op, value in rule.when:
            part = Column(column) > value if op == ">" else Column(column) == value
            condition = part if condition is None else condition & part
        common["row_condition"] = condition
    if rule.check == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=rule.column, **common)
    if rule.check == "unique":
        if len(rule.columns) == 1:
            return gxe.ExpectColumnValuesToBeUnique(column=rule.column, **common)
        return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(rule.columns), **common)
    if rule.check == "between":
        return gxe.ExpectColumnValuesToBeBetween(
            column=rule.column, min_value=bound(rule.low), max_value=bound(rule.high),
            strict_max=rule.strict_high, **common)
    if rule.check == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=rule.column,
                                               value_set=list(rule.values), **common)
    if rule.check == "equal":
        return gxe.ExpectColumnPairValuesToBeEqual(column_A=rule.column, column_B=rule.other,
                                                   **common)
    if rule.check == "at_least":
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.column, column_B=rule.other, or_equal=True, **common)
    raise ValueError(f"unknown rule check {rule.check}")


def _outcome(suite: str, batch: str, result: Any, index: tuple[str, ...]) -> ExpectationOutcome:
    """A GX ExpectationValidationResult as a flat, JSON-able record."""
    config = result.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or ",".join(
        c for c in (kwargs.get("column_A"), kwargs.get("column_B")) if c) or (
        ",".join(kwargs.get("column_list") or []) if config.type.startswith(
            "expect_compound") else None)
    res = _plain(result.result or {})
    exception = (result.exception_info or {}) if hasattr(result, "exception_info") else {}
    raised = exception.get("raised_exception") if isinstance(exception, dict) else False
    details: dict[str, Any] = {"result": res, "kwargs": _plain(
        {k: v for k, v in kwargs.items() if k not in ("batch_id",)})}
    if raised:
        details["exception"] = str(exception.get("exception_message", "")).splitlines()[0]
    observed = res.get("observed_value")
    failing: tuple[str, ...] = ()
    if not result.success:
        failing = _failing_values(res, index, column)
    return ExpectationOutcome(
        suite=suite, batch=batch, expectation=config.type, column=column,
        success=bool(result.success) and not raised,
        observed_value=None if observed is None else json.dumps(observed, default=str),
        unexpected_count=res.get("unexpected_count"), failing_values=failing, details=details)


def _failing_values(res: dict[str, Any], index: tuple[str, ...],
                    column: str | None) -> tuple[str, ...]:
    """The first failing values, each with the index columns that name its row."""
    rows = res.get("partial_unexpected_index_list") or []
    shown: list[str] = []
    for row in rows[:SHOWN_VALUES]:
        if isinstance(row, dict):
            value_cols = [k for k in row if k not in index]
            names = ", ".join(f"{k}={row[k]}" for k in index if k in row)
            values = ", ".join(f"{k}={row[k]}" for k in value_cols)
            shown.append(f"{values} ({names})" if values and names else values or names)
    if not shown:
        shown = [str(v) for v in (res.get("partial_unexpected_list") or [])[:SHOWN_VALUES]]
    if not shown and res.get("observed_value") is not None and column is None:
        shown = [str(res["observed_value"])]
    return tuple(shown)


def _plain(value: Any) -> Any:
    """GX result values (pandas scalars, NA, timestamps, NaN) as JSON-safe Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    try:
        import pandas as pd  # slow to import: see the module's docstring

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return _plain(value.item())
    return str(value)


def _safe(text: str) -> str:
    """A run id or batch label as a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)
