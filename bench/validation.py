"""Timing helpers for the raw validation gate, for ``bench/run.py`` (not part of the tests).

In: an output folder an ingest has written (or one made by ``synthetic_day``). Out: the
rows validated, so ``bench.run.measure`` can time ``run_validate_raw`` in its own process
(the GX import, about 3 s, is part of what a run pays and so of the measure).

``synthetic_day`` builds a day of any size without the simulator: it repeats a real
partition's rows with fresh request ids, spreads them over the day, writes the partition
and the ledger rows that an ingest of them would have written, so the raw gate's
reconciliation holds and every suite runs its full course.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.ingest.ingest import INGEST_TABLES_DDL
from pipeline.warehouse import DB_NAME, atomic_copy, connect, partition_path


def run_validate_raw(out: Path, days: list[date], run_id: str) -> int:
    """Validate the days' requests partitions; return the rows checked."""
    import pyarrow.parquet as pq

    from pipeline.validation.validation import validate_raw

    outcome = validate_raw(out, days, run_id)
    if not outcome.success:
        raise RuntimeError(outcome.message())
    return sum(pq.read_metadata(partition_path(out, "requests", d)).num_rows for d in days)


def synthetic_day(template: Path, out: Path, day: date, rows: int, run_id: str) -> Path:
    """A ``requests`` partition of ``rows`` rows on ``day`` built from a template partition,
    with a matching ingest ledger in ``out/forensics.duckdb``."""
    con = connect()
    try:
        n = con.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(template)}
                        ).fetchall()[0][0]
        copies = -(-rows // n)
        query = (
            "WITH base AS (SELECT *, row_number() OVER () AS i FROM read_parquet($p, "
            "hive_partitioning = false)), "
            "rep AS (SELECT b.* REPLACE ('syn-' || c.k || '-' || b.request_id AS request_id, "
            "$day::TIMESTAMPTZ + to_microseconds(((b.i * 7919 + c.k * 104729) % 86400000000)"
            "::BIGINT) AS ts, 'synthetic-' || c.k || '.jsonl' AS source_file) "
            "FROM base AS b, range($copies) AS c(k) LIMIT $rows) "
            "SELECT * EXCLUDE (i) FROM rep ORDER BY ts, request_id"
        )
        target = partition_path(out, "requests", day)
        atomic_copy(con, query, {"p": str(template), "day": day, "copies": copies,
                                 "rows": rows}, target)
        ledger = con.execute(
            "SELECT source_file, count(*) FROM read_parquet($p) GROUP BY ALL ORDER BY 1",
            {"p": str(target)}).fetchall()
    finally:
        con.close()
    db = connect(out / DB_NAME)
    try:
        db.execute(INGEST_TABLES_DDL)
        db.execute("DELETE FROM ingest_ledger WHERE run_id = $r", {"r": run_id})
        db.executemany(
            "INSERT INTO ingest_ledger VALUES (?, ?, ?, 'jsonl', 'none', 0, '', ?, ?, 0, 0, "
            "true, ?, ?)",
            [(run_id, i, f, k, k, day, day) for i, (f, k) in enumerate(ledger)])
    finally:
        db.close()
    return target
