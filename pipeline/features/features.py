"""Per-day feature tables: one day's requests folded into the compact tables window stages read.

In: one day's ``requests`` partition (``<out>/requests/date=YYYY-MM-DD/part-0.parquet``) and
the accounts snapshot ``<out>/accounts.parquet`` (absent means no account is known).
Out: one Parquet partition per table of ``registry.FEATURE_TABLES`` for that day, at
``warehouse.partition_path(out, table, day)``: account-day features, account-hour,
account-minute, account-prompt, account-key and account-prefix-hour counts, 429 failover
pairs and same-prompt account pairs. No prompt text, a small fraction of the raw rows.

Why built this way. Linking, statistics and scoring run over windows of up to a quarter
and must never rescan the requests, so everything they need from a request is counted
here once, per day. Each table is one plain SELECT in ``sql/<stage>/<table>.sql`` with bound
parameters, written by ``warehouse.atomic_copy`` and sorted on its key, so a re-run of a
day replaces it whole with the same bytes. A day needs only its own partition and the
accounts snapshot, and never opens ``forensics.duckdb`` (DuckDB locks that file whole,
for readers too while a writer holds it): days build independently, in parallel
processes or on separate workers, while the run that holds the output lock owns the
database and calls ``accounts.export_accounts`` and ``create_feature_views``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb

from pipeline.errors import ForensicsError
from pipeline.ingest.accounts import ACCOUNTS_SNAPSHOT
from pipeline.progress import Steps
from pipeline.registry import ACCOUNT_COLUMNS, FEATURE_TABLES
from pipeline.settings import FeatureParams
from pipeline.warehouse import (
    atomic_copy,
    cast_columns,
    connect,
    create_partition_view,
    empty_columns,
    glob_literal,
    machine_memory_bytes,
    partition_path,
    spill_folder,
    sql_text,
)


def build_day_features(out: Path, day: date, *, params: FeatureParams | None = None,
                       steps: Steps | None = None) -> list[Path]:
    """Write every per-day table of ``day`` from its requests partition; return the paths.
    ``steps`` hears of each table as it starts (a day of many requests takes minutes).

    Raises ``ForensicsError`` when the day has no requests partition (ingest has not run
    for it); a partition with no rows gives empty, typed partitions.
    """
    params = params or FeatureParams()
    values = params.sql_parameters(day)
    written = []
    with open_day(out, day, params) as con:
        for table in FEATURE_TABLES:
            if steps is not None:
                steps.next(f"{day} {table.name}")
            query = sql_text(table.name)
            target = partition_path(out, table.name, day)
            atomic_copy(con, query, {k: v for k, v in values.items() if f"${k}" in query},
                        target)
            written.append(target)
    return written


@contextmanager
def open_day(out: Path, day: date, params: FeatureParams) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with a day's inputs, as its tables are built on it: the day's requests
    partition as ``requests`` and the accounts snapshot as ``accounts``; closed, and its
    spill folder removed, on leaving. Memory is bounded (``FeatureParams.day_memory_limit``)
    and what passes the bound spills to a folder in ``out``: DuckDB's default, 80% of the
    machine and no spilling, let one table's buffers take 9.6 GiB. Public so that the
    benchmark's profile (``bench/profile.py``) runs each table's query as a build does."""
    source = partition_path(out, "requests", day)
    if not source.is_file():
        raise ForensicsError(f"no requests partition for {day} under {out}; ingest it first")
    with spill_folder(out, f"spill-{day}") as spill:
        con = connect(threads=params.threads,
                      memory_limit=params.day_memory_limit(machine_memory_bytes()))
        try:
            con.execute("SET temp_directory = $dir", {"dir": str(spill)})
            con.read_parquet(glob_literal(source)).create_view("requests")
            _create_accounts_input(con, out / ACCOUNTS_SNAPSHOT)
            yield con
        finally:
            con.close()


def _create_accounts_input(con: duckdb.DuckDBPyConnection, snapshot: Path) -> None:
    """The ``accounts`` input: the snapshot's contract columns, or a typed empty view."""
    if snapshot.is_file():
        con.execute(f"CREATE OR REPLACE TEMP TABLE accounts AS SELECT "
                    f"{cast_columns(ACCOUNT_COLUMNS)} FROM read_parquet($path)",
                    {"path": glob_literal(snapshot)})
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW accounts AS SELECT "
                    f"{empty_columns(ACCOUNT_COLUMNS)} WHERE false")


def create_feature_views(db: duckdb.DuckDBPyConnection, out: Path) -> None:
    """(Re)create one view per feature table in ``db`` over every day partition under ``out``.

    A table with no partition yet gets an empty view typed from the registry, so window
    SQL binds before the first day is built.
    """
    for table in FEATURE_TABLES:
        create_partition_view(db, out, table.name, table.column_types)
