"""Integration on the committed sample: the demo as a user runs it, and the data it rests on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

from pipeline import SAMPLE_DIR
from pipeline.run import runner
from pipeline.warehouse import DB_NAME, connect

from conftest import cli, query

SAMPLE = SAMPLE_DIR


def test_the_demo_ingests_every_sample_row(sample_demo, monkeypatch):
    """The demo as a user runs it: every sample row kept, and the summary it prints. The
    run is the session's: the command is handed that run's result rather than run the
    sample a second time, and prints its summary (the session's run printed JSON)."""
    out = sample_demo.out
    monkeypatch.setattr(runner, "run_pipeline", lambda *args, **kwargs: sample_demo.result)
    result = cli("demo", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    db = out / "forensics.duckdb"
    labels = pl.read_csv(SAMPLE / "labels.csv")
    rows_read, rows_kept, quarantined = query(
        db, "SELECT sum(rows_read), sum(rows_kept), sum(rows_quarantined) FROM ingest_ledger")[0]
    assert rows_read == rows_kept > 20_000
    assert quarantined == 0
    accounts_seen = query(db, "SELECT count(DISTINCT account_id) FROM requests")[0][0]
    assert accounts_seen <= labels.height
    assert query(db, "SELECT count(*) FROM accounts")[0][0] == labels.height
    assert query(db, "SELECT count(*) FROM requests r ANTI JOIN accounts a USING (account_id)"
                 ) == [(0,)]
    assert "verdicts" in result.stdout
    assert str(out / "reports" / "summary.pdf") in result.stdout


def test_logged_prompt_hashes_are_the_hash_ingest_would_derive(sample_run):
    con = connect()
    mismatched = con.execute(
        "SELECT count(*) FILTER (WHERE prompt_hash <> prompt_text_hash(prompt_text)), count(*) "
        "FROM read_parquet($p) WHERE prompt_text IS NOT NULL",
        {"p": str(sample_run / "requests" / "date=2026-04-01" / "part-0.parquet")}).fetchone()
    assert mismatched[1] > 5_000
    assert mismatched[0] == 0


def views(db: Path) -> list[str]:
    return [r[0] for r in query(db, "SELECT view_name FROM duckdb_views() "
                                    "WHERE NOT internal ORDER BY view_name")]


def test_a_moved_output_folder_reads_every_view_from_its_own_files(sample_run, tmp_path):
    """An auditor is handed a folder: copied, then the original deleted."""
    first, moved = tmp_path / "first", tmp_path / "moved"
    shutil.copytree(sample_run, first)
    shutil.copytree(first, moved)
    shutil.rmtree(first)
    names = views(moved / DB_NAME)
    assert {"requests", "account_day", "account_prompt_day"} <= set(names)
    for name in names:
        assert query(moved / DB_NAME, f"SELECT count(*) FROM {name}") == \
            query(sample_run / DB_NAME, f"SELECT count(*) FROM {name}"), name
    db = connect(moved / DB_NAME)
    try:
        assert db.sql("SELECT count(*) FROM requests").fetchall() == \
            query(sample_run / DB_NAME, "SELECT count(*) FROM requests")
    finally:
        db.close()


def test_a_copy_never_reads_the_original_even_when_it_exists(sample_run, tmp_path):
    """The copy's first day is cut to ten rows: every way of opening the copy sees ten,
    including a plain DuckDB client started in the folder; the original is untouched."""
    copy = tmp_path / "copy"
    shutil.copytree(sample_run, copy)
    day = copy / "requests" / "date=2026-04-01" / "part-0.parquet"
    pl.read_parquet(day).head(10).write_parquet(day)
    count = "SELECT count(*) FROM requests WHERE date = DATE '2026-04-01'"
    assert query(copy / DB_NAME, count) == [(10,)]
    assert query(sample_run / DB_NAME, count)[0][0] > 10
    plain = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; print(duckdb.connect('forensics.duckdb', "
         "read_only=True).execute(sys.argv[1]).fetchall())", count],
        cwd=copy, capture_output=True, text=True, check=True, timeout=60)
    assert plain.stdout.strip() == "[(10,)]"

