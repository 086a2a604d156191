"""The accounts table: the optional accounts file in, the ``accounts`` table of
``forensics.duckdb`` and its snapshot ``accounts.parquet`` (which the per-day builds read
without opening the database) out.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.errors import ForensicsError
from pipeline.registry import ACCOUNT_COLUMNS, ACCOUNTS
from pipeline.warehouse import atomic_copy, cast_columns, empty_columns, glob_literal, table_ddl

ACCOUNTS_SNAPSHOT = "accounts.parquet"


def load_accounts(db: duckdb.DuckDBPyConnection, accounts: Path | None) -> None:
    """Replace the ``accounts`` table from a CSV or Parquet file (or keep an empty one).

    The table is small and optional, so a row that does not fit the contract is an error
    naming the file, not a quarantine entry.
    """
    if accounts is None:
        db.execute(table_ddl(ACCOUNTS))
        return
    casts = cast_columns(ACCOUNT_COLUMNS)
    reader = ("read_parquet($path)" if accounts.suffix.lower() == ".parquet"
              else "read_csv($path, all_varchar = true, header = true)")
    try:
        db.execute(f"CREATE OR REPLACE TABLE accounts AS SELECT {casts} FROM {reader} "
                   "ORDER BY account_id", {"path": glob_literal(accounts)})
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0]
        raise ForensicsError(f"accounts file {accounts}: {first}") from err


def export_accounts(db: duckdb.DuckDBPyConnection, out: Path) -> Path:
    """Write the ``accounts`` table of ``db`` to ``<out>/accounts.parquet`` and return it.

    Ingest calls this after loading the accounts, while it holds the database; per-day
    builds then read the snapshot and never open the database. With no ``accounts`` table
    the snapshot is empty but typed, so it always says what the run knew.
    """
    found = db.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'accounts' "
        "AND schema_name = 'main' AND NOT temporary"
    ).fetchall()[0]
    if found[0]:
        query = f"SELECT {cast_columns(ACCOUNT_COLUMNS)} FROM accounts ORDER BY ALL"
    else:
        query = f"SELECT {empty_columns(ACCOUNT_COLUMNS)} WHERE false"
    target = out / ACCOUNTS_SNAPSHOT
    atomic_copy(db, query, {}, target)
    return target
