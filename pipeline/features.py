"""Per-day feature tables: one day's requests folded into the compact tables window stages read.

In: one day's ``requests`` partition (``<out>/requests/date=YYYY-MM-DD/part-0.parquet``) and
the accounts snapshot ``<out>/accounts.parquet`` (absent means no account is known).
Out: one Parquet partition per table of ``schema.FEATURE_TABLES`` for that day, at
``warehouse.partition_path(out, table, day)``: account-day features, account-hour,
account-minute, account-prompt, account-key and account-prefix-hour counts, 429 failover
pairs and same-prompt account pairs. No prompt text, a small fraction of the raw rows.

Why built this way. Linking, statistics and scoring run over windows of up to a quarter
and must never rescan the requests, so everything they need from a request is counted
here once, per day. Each table is one plain SELECT in ``sql/<table>.sql`` with bound
parameters, written by ``warehouse.atomic_copy`` and sorted on its key, so a re-run of a
day replaces it whole with the same bytes. A day needs only its own partition and the
accounts snapshot, and never opens ``forensics.duckdb`` (DuckDB locks that file whole,
for readers too while a writer holds it): days build independently, in parallel
processes or on separate workers, while the run that holds the output lock owns the
database and calls ``export_accounts`` and ``create_feature_views``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipeline.errors import ForensicsError
from pipeline.schema import ACCOUNT_COLUMNS, FEATURE_TABLES
from pipeline.warehouse import (
    atomic_copy,
    cast_columns,
    connect,
    create_partition_view,
    empty_columns,
    glob_literal,
    partition_path,
    sql_text,
)

ACCOUNTS_SNAPSHOT = "accounts.parquet"


@dataclass(frozen=True)
class FeatureParams:
    """Settings of the per-day tables; the defaults are the nightly run's.

    Only the first three change what is written; the last two only how DuckDB runs.
    """

    failover_seconds: float = 10
    """A 429 followed by its prompt on another account within this many seconds is a
    failover (``failover_day``). Key-pool proxies retry within a second or two; 10 s leaves
    room for back-off while keeping unrelated senders of the same prompt rare."""
    pair_minutes: float = 10
    """Two accounts sending one prompt within this many minutes are a pair
    (``prompt_pair_day``): a harvesting sweep sends its prompts close together."""
    max_accounts_per_prompt: int = 50
    """Prompts sent by more accounts than this in a day make no pairs: popular prompts link
    nobody, and n accounts would make n(n-1)/2 pairs."""
    band_bins: int = 16
    """MinHash bins per prompt (``account_band_day``): the signature's length."""
    band_rows: int = 4
    """Bins per band: two prompts with word-3-gram Jaccard similarity j share a given band
    with probability about j ** band_rows; 16 bins in bands of 4 catch j = 0.85 with
    probability 0.95 and j = 0.5 with 0.23."""
    band_min_words: int = 6
    """Prompts shorter than this many words get no bands: too few shingles to compare."""
    cache_ttl_seconds: int = 300
    """Prompt-cache entry lifetime, refreshed on every use (the provider's default 5 min)."""
    min_cacheable_tokens: int = 1024
    """Shortest cacheable prefix (the provider's minimum is 1,024 to 4,096 by model; the
    smallest is the conservative choice: it predicts more hits, never fewer)."""
    concurrency_ms: int = 1000
    """A request this soon after the previous one with its prefix misses: the first
    response has not started, so the entry is not written yet."""
    max_accounts_per_prefix: int = 50
    """Prefixes more accounts than this use in a day make no handoffs (SDK defaults)."""
    threads: int | None = None
    """DuckDB threads; None uses every core. Lower it when days build in parallel."""
    memory_limit: str | None = None
    """DuckDB memory ceiling (e.g. "4GB"); None is DuckDB's default (80% of RAM)."""

    def __post_init__(self) -> None:
        if not self.failover_seconds > 0:
            raise ForensicsError(f"failover_seconds must be positive, not {self.failover_seconds}")
        if not self.pair_minutes > 0:
            raise ForensicsError(f"pair_minutes must be positive, not {self.pair_minutes}")
        if self.max_accounts_per_prompt < 2:
            raise ForensicsError(
                f"max_accounts_per_prompt must be at least 2, not {self.max_accounts_per_prompt}"
            )

    def sql_parameters(self, day: date) -> dict[str, object]:
        """The bound parameters the SQL files take, by name without the ``$``."""
        return {
            "day": day,
            "failover_seconds": self.failover_seconds,
            "pair_minutes": self.pair_minutes,
            "max_accounts_per_prompt": self.max_accounts_per_prompt,
            "bins": self.band_bins,
            "rows_per_band": self.band_rows,
            "min_words": self.band_min_words,
            "ttl_seconds": self.cache_ttl_seconds,
            "min_cacheable_tokens": self.min_cacheable_tokens,
            "concurrency_ms": self.concurrency_ms,
            "max_accounts_per_prefix": self.max_accounts_per_prefix,
        }


def build_day_features(out: Path, day: date, *, params: FeatureParams | None = None
                       ) -> list[Path]:
    """Write every per-day table of ``day`` from its requests partition; return the paths.

    Raises ``ForensicsError`` when the day has no requests partition (ingest has not run
    for it); a partition with no rows gives empty, typed partitions.
    """
    params = params or FeatureParams()
    source = partition_path(out, "requests", day)
    if not source.is_file():
        raise ForensicsError(f"no requests partition for {day} under {out}; ingest it first")
    con = connect(threads=params.threads, memory_limit=params.memory_limit)
    try:
        con.read_parquet(glob_literal(source)).create_view("requests")
        _create_accounts_input(con, out / ACCOUNTS_SNAPSHOT)
        values = params.sql_parameters(day)
        written = []
        for table in FEATURE_TABLES:
            query = sql_text(table.name)
            target = partition_path(out, table.name, day)
            atomic_copy(con, query, {k: v for k, v in values.items() if f"${k}" in query},
                        target)
            written.append(target)
        return written
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


def create_feature_views(db: duckdb.DuckDBPyConnection, out: Path) -> None:
    """(Re)create one view per feature table in ``db`` over every day partition under ``out``.

    A table with no partition yet gets an empty view typed from the registry, so window
    SQL binds before the first day is built.
    """
    for table in FEATURE_TABLES:
        create_partition_view(db, out, table.name, table.column_types)
