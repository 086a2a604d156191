"""Per-day feature tables: one day's requests folded into the compact tables window stages read.

In: one day's ``requests`` partition (``<out>/requests/date=YYYY-MM-DD/part-0.parquet``) and
the accounts snapshot ``<out>/accounts.parquet`` (absent means no account is known).
Out: one Parquet partition per table of ``registry.FEATURE_TABLES`` for that day, at
``warehouse.partition_path(out, table, day)``: account-day features, account-hour,
account-minute, account-prompt, account-key and account-prefix-hour counts, 429 failover
pairs and same-prompt account pairs. No prompt text, a small fraction of the raw rows.
A large day is built in shards (``build_shard``, one task each) under
``<out>/shards/date=YYYY-MM-DD/<table>/part-<i>-of-<n>.parquet`` and merged
(``merge_shards``) into the same partitions, byte for byte.

Why built this way. Linking, statistics and scoring run over windows of up to a quarter
and must never rescan the requests, so everything they need from a request is counted
here once, per day. Each table is one plain SELECT in ``sql/<stage>/<table>.sql`` with bound
parameters, sorted on its key, so a re-run of a day replaces it whole with the same bytes.
A day needs only its own partition and the accounts snapshot, and never opens
``forensics.duckdb`` (DuckDB locks that file whole, for readers too while a writer holds
it): days build independently, in parallel processes or on separate workers, while the run
that holds the output lock owns the database and calls ``accounts.export_accounts`` and
``create_feature_views``.

Shards. A day of hundreds of millions of requests is past one worker's night, and its
tables are the widest work of a run. Every row of a per-day table belongs to one account
(``Table.owner``), so shard i of n builds the rows of the accounts whose hash falls in it,
from its accounts' requests, copied once to a local Parquet file that each table then reads
as a whole-day build reads the day. A row that also depends on other accounts' requests (a
failover, a prompt pair, a prefix handoff) is built from every request that shares
``Table.shared_by`` values (the prompt; the cacheable prefix) with one of the shard's
accounts: the requests a whole day would have joined it with. No row is built twice, and
the merge sorts each table on its key. A whole day and a merge both write each table from a
temporary table sorted on its key (``_write_sorted``), so that both write the same bytes.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from math import ceil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipeline.errors import ForensicsError
from pipeline.ingest.accounts import ACCOUNTS_SNAPSHOT
from pipeline.progress import Steps
from pipeline.registry import ACCOUNT_COLUMNS, FEATURE_TABLES, REQUESTS_COLUMNS, Table
from pipeline.settings import FeatureParams, memory_ceiling
from pipeline.warehouse import (
    atomic_copy,
    bounded_connection,
    cast_columns,
    create_partition_view,
    empty_columns,
    glob_literal,
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
            query = f"SELECT * FROM (\n{sql_text(table.name)}\n)"
            target = partition_path(out, table.name, day)
            _write_sorted(con, table, query,
                          {k: v for k, v in values.items() if f"${k}" in query}, target)
            written.append(target)
    return written


def _write_sorted(con: duckdb.DuckDBPyConnection, table: Table, query: str,
                  params: dict[str, object], target: Path) -> None:
    """Write ``query``'s rows of ``table`` to ``target`` sorted on its key, through a
    temporary table: DuckDB marks a written Parquet column required (no NULL) from what it
    can prove of its input, which differs between a table's SQL, one Parquet file and
    several, and which it proves of a table from its data, so a whole day and the merge of
    its shards write the same bytes."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE sorted_rows AS {query} "
                f"ORDER BY {', '.join(table.key)}", params)
    atomic_copy(con, "SELECT * FROM sorted_rows", {}, target)


def requests_partition(out: Path, day: date) -> Path:
    """The day's requests partition, or a ``ForensicsError`` when ingest has not written it."""
    source = partition_path(out, "requests", day)
    if not source.is_file():
        raise ForensicsError(f"no requests partition for {day} under {out}; ingest it first")
    return source


@contextmanager
def open_day(out: Path, day: date, params: FeatureParams, *,
             view: str = "requests") -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with a day's inputs, as its tables are built on it: the day's requests
    partition as ``view`` and the accounts snapshot as ``accounts``; closed, and its spill
    folder removed, on leaving (``day_connection``). Public so that the benchmark's
    profile (``bench/profile.py``) runs each table's query as a build does, and shards
    (``shards.build_shard``) read the day under another name."""
    source = requests_partition(out, day)
    with day_connection(out, f"spill-{day}", params) as con:
        con.read_parquet(glob_literal(source)).create_view(view)
        _create_accounts_input(con, out / ACCOUNTS_SNAPSHOT)
        yield con


def day_connection(out: Path, name: str,
                   params: FeatureParams) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """An in-memory connection under the day's memory ceiling (``settings.memory_ceiling``),
    spilling to the folder ``name`` in ``out``: DuckDB's default, 80% of the machine and no
    spilling, let one table's buffers take 9.6 GiB."""
    return bounded_connection(out, name, memory_ceiling(params.memory_limit),
                              threads=params.threads)


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


SHARDS_DIR = "shards"
_OWN = "hash({column}) % $shards = $shard"


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (from 0) of a day split in ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ForensicsError(f"shard {self.index} of {self.count}: no such shard")

    @property
    def label(self) -> str:
        return f"{self.index + 1}/{self.count}"


def shard_count(out: Path, day: date, shard_requests: int) -> int:
    """How many shards ``day``'s tables are built in: one up to ``shard_requests``
    requests, then one per ``shard_requests`` (from the partition's footer, not a scan)."""
    source = requests_partition(out, day)
    if shard_requests < 1:
        raise ForensicsError(f"shard_requests must be at least 1, not {shard_requests}")
    return max(1, ceil(pq.ParquetFile(source).metadata.num_rows / shard_requests))


def shard_path(out: Path, table: str, day: date, shard: Shard) -> Path:
    """Where one shard of one day's table waits for the merge."""
    return (shard_folder(out, day) / table
            / f"part-{shard.index}-of-{shard.count}.parquet")


def shard_folder(out: Path, day: date) -> Path:
    """The day's shards, every table's; removed by the merge."""
    return out / SHARDS_DIR / f"date={day.isoformat()}"


def build_shard(out: Path, day: date, shard: Shard, *, params: FeatureParams | None = None,
                steps: Steps | None = None) -> list[Path]:
    """Write every per-day table's rows of ``shard``'s accounts for ``merge_shards``;
    return the paths."""
    params = params or FeatureParams()
    own = {"shard": shard.index, "shards": shard.count}
    values = {**params.sql_parameters(day), **own}
    written = []
    with (open_day(out, day, params, view="day_requests") as con,
          spill_folder(out, f"shard-{day}-{shard.index}") as inputs):
        for shared in sorted({table.shared_by for table in FEATURE_TABLES}):
            path = inputs / f"{_input_view(shared)}.parquet"
            atomic_copy(con, _input_query(shared), own, path)
            con.read_parquet(glob_literal(path)).create_view(_input_view(shared))
        for table in FEATURE_TABLES:
            if steps is not None:
                steps.next(f"{day} {shard.label} {table.name}")
            con.execute("CREATE OR REPLACE TEMP VIEW requests AS SELECT * FROM "
                        f"{_input_view(table.shared_by)}")
            query = (f"SELECT * FROM (\n{sql_text(table.name)}\n) "
                     f"WHERE {_OWN.format(column=table.owner)}")
            target = shard_path(out, table.name, day, shard)
            atomic_copy(con, query, {k: v for k, v in values.items() if f"${k}" in query},
                        target)
            written.append(target)
    return written


def _input_view(shared: tuple[str, ...]) -> str:
    return f"requests_by_{'_'.join(shared) or 'account'}"


def _input_query(shared: tuple[str, ...]) -> str:
    """The requests a shard's tables read: its own accounts', and with ``shared`` columns,
    every request that shares their values with one of its own. Only the request columns
    those tables name are copied: the tables that join across accounts never read the
    prompt's text, the widest column, and their requests are most of the day's."""
    names = " ".join(sql_text(t.name) for t in FEATURE_TABLES if t.shared_by == shared)
    columns = ", ".join(f"r.{name}" for name, _ in REQUESTS_COLUMNS
                        if re.search(rf"\b{name}\b", names))
    own = _OWN.format(column="r.account_id")
    if not shared:
        return f"SELECT {columns} FROM day_requests AS r WHERE {own}"
    same = " AND ".join(f"k.{key} = r.{key}" for key in shared)
    return (f"SELECT {columns} FROM day_requests AS r WHERE {own} OR EXISTS ("
            f"SELECT 1 FROM day_requests AS k WHERE {_OWN.format(column='k.account_id')} "
            f"AND {same})")


def merge_shards(out: Path, day: date, count: int, *,
                 params: FeatureParams | None = None) -> list[Path]:
    """Write ``day``'s partitions from its ``count`` shards, then remove the shards.

    Refuses, naming them, when shards are missing (a shard task that has not run, or a
    day re-split since): a partition from part of the accounts would lose rows without
    a word."""
    params = params or FeatureParams()
    shards = [Shard(i, count) for i in range(count)]
    missing = sorted({f"{s.label}" for t in FEATURE_TABLES for s in shards
                      if not shard_path(out, t.name, day, s).is_file()})
    if missing:
        raise ForensicsError(f"{day}: shard(s) {', '.join(missing)} of the per-day tables "
                             f"are missing under {shard_folder(out, day)}; build them first")
    written = []
    with day_connection(out, f"merge-{day}", params) as con:
        for table in FEATURE_TABLES:
            files = [glob_literal(shard_path(out, table.name, day, s)) for s in shards]
            target = partition_path(out, table.name, day)
            _write_sorted(con, table, "SELECT * FROM read_parquet($files, "
                          "hive_partitioning = false)", {"files": files}, target)
            written.append(target)
    shutil.rmtree(shard_folder(out, day))
    with suppress(OSError):  # the shards' folder, once no other day's shards are in it
        shard_folder(out, day).parent.rmdir()
    return written
