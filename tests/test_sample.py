"""Integration on the committed sample: the demo as a user runs it, and the data it rests on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl

from conftest import query

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def test_the_demo_ingests_every_sample_row(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "demo", "--out", str(out)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
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
    assert "forensics.duckdb" in result.stdout


def test_logged_prompt_hashes_are_the_hash_ingest_would_derive(tmp_path):
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "ingest", "--logs",
                    str(SAMPLE / "logs"), "--start", "2026-04-01", "--end", "2026-04-01",
                    "--out", str(out)], check=True, capture_output=True, timeout=600)
    from pipeline.warehouse import connect

    con = connect()
    mismatched = con.execute(
        "SELECT count(*) FILTER (WHERE prompt_hash <> prompt_text_hash(prompt_text)), count(*) "
        "FROM read_parquet($p) WHERE prompt_text IS NOT NULL",
        {"p": str(out / "requests" / "date=2026-04-01" / "part-0.parquet")}).fetchone()
    assert mismatched[1] > 5_000
    assert mismatched[0] == 0
