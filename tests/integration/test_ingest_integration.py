"""Ingest on real files and a real DuckDB database: formats, quarantine, accounting, safety."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import polars as pl
import pytest

from pipeline import SAMPLE_DIR, warehouse
from pipeline.errors import ForensicsError, OutputLocked
from pipeline.ingest.ingest import IngestParams, ingest
from pipeline.run.runner import RunRequest, run_ingest, run_pipeline

from conftest import DAY, LENIENT, partition, query, record, write_logs


def test_a_database_held_open_by_an_investigator_is_refused_like_a_locked_folder(logs, out):
    """An investigator's read-only session on forensics.duckdb (another process) used to
    crash the run with a traceback, exit 1 (issue 13); it is refused, exit 3."""
    write_logs(logs, "a", [record(1)])
    request = RunRequest(logs=logs, out=out, start=DAY, end=DAY)
    run_ingest(request, LENIENT)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; "
         "c = duckdb.connect(sys.argv[1], read_only=True); print('ready', flush=True); "
         "time.sleep(60)", str(out / "forensics.duckdb")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(OutputLocked, match="open in another process") as err:
            run_ingest(request, LENIENT)
        assert err.value.exit_code == 3
    finally:
        holder.kill()
        holder.wait()
    assert query(out / "forensics.duckdb", "SELECT count(*) FROM runs") == [(1,)]


def test_lines_split_across_blocks_keep_their_numbers(logs, out):
    records = [record(i) for i in range(300)]
    records[250] = record(250, status="bad")
    write_logs(logs, "blocks", records)
    ingest(logs, out, DAY, DAY, run_id="t", params=IngestParams(max_bad_share=1.0,
                                                                 block_bytes=1000))
    assert query(out / "forensics.duckdb", "SELECT source_line FROM quarantine") == [(251,)]
    assert pl.read_parquet(partition(out)).height == 299


def test_a_second_run_on_the_same_output_is_refused_naming_the_first(logs, out):
    write_logs(logs, "a", [record(1)])
    request = RunRequest(logs=logs, out=out, start=DAY, end=DAY)
    with (warehouse.output_lock(out, {"run_id": "first-run", "command": "run"}),
          pytest.raises(OutputLocked, match="first-run")):
        run_ingest(request, LENIENT)
    assert run_ingest(request, LENIENT).rows_kept == 1
    status = query(out / "forensics.duckdb", "SELECT command, status FROM runs")
    assert status == [("ingest", "succeeded")]


def test_what_a_killed_run_left_is_settled_by_the_next(logs, out):
    """A run killed by kill -9 leaves its ``running`` row and its temporary files; the
    next run to take the lock marks the row abandoned and removes the dead process's
    files, and leaves a live process's alone."""
    write_logs(logs, "a", [record(1)])
    request = RunRequest(logs=logs, out=out, start=DAY, end=DAY)
    run_ingest(request, LENIENT)
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    with warehouse.connect(out / "forensics.duckdb") as db:
        db.execute("INSERT INTO runs VALUES ('killed', 'run', '{}', now(), NULL, 'running', "
                   "NULL)")
    dead = partition(out).with_name(f".part-0.parquet.{killed.pid}.tmp")
    live = partition(out).with_name(f".being-written.parquet.{os.getpid()}.tmp")
    dead.write_bytes(b"")
    live.write_bytes(b"")
    run_ingest(request, LENIENT)
    rows = dict(query(out / "forensics.duckdb", "SELECT run_id, status FROM runs"))
    assert rows.pop("killed") == "abandoned"
    assert set(rows.values()) == {"succeeded"}
    assert not dead.exists()
    assert live.exists()


def test_glob_characters_in_paths_mean_themselves(logs, tmp_path):
    """DuckDB reads every path as a pattern: an input named p*.parquet pulled in pb.parquet
    (its rows counted twice, as duplicates), and an output folder named run[1] matched
    nothing once its partitions were written."""
    write_logs(logs, "p*", [record(i) for i in range(3)], fmt="parquet")
    write_logs(logs, "pb", [record(10 + i) for i in range(4)], fmt="parquet")
    out = tmp_path / "run[1]"
    result = run_pipeline(RunRequest(logs=logs, out=out, start=DAY, end=DAY))
    assert (result.ingest.rows_read, result.ingest.rows_kept) == (7, 7)
    assert query(out / "forensics.duckdb", "SELECT count(*) FROM account_day") == [(7,)]


def test_a_csv_day_runs_through_ingest_validation_and_the_window(tmp_path):
    """CSV logs through every stage: the sample's first day written as CSV, with one line
    the CSV reader rejects, keeps the JSONL day's rows, passes the raw and window gates and
    publishes. (The rejects' line numbers once widened source_line to a double and failed
    the raw gate.)"""
    sample = SAMPLE_DIR
    logs = tmp_path / "logs"
    logs.mkdir()
    with warehouse.connect() as con:
        day = con.sql("SELECT * FROM read_json_auto($p)", params={
            "p": str(sample / "logs" / "requests-2026-04-01.jsonl.gz")}).pl()
    day.write_csv(logs / "day.csv")
    with (logs / "day.csv").open("a", encoding="utf-8") as f:
        f.write("only,three,fields\n")
    out = tmp_path / "out"
    result = run_pipeline(RunRequest(logs=logs, out=out, start=DAY, end=DAY,
                                     accounts=sample / "accounts.csv"))
    assert (result.ingest.rows_kept, result.ingest.rows_quarantined) == (day.height, 1)
    assert query(out / "forensics.duckdb", "SELECT typeof(source_line) FROM quarantine") \
        == [("BIGINT",)]
    assert (out / "reports" / "summary.pdf").is_file()


def test_staging_past_the_memory_budget_writes_the_same_partitions(logs, out, tmp_path):
    write_logs(logs, "a", [record(i) for i in range(150)])
    write_logs(logs, "b", [record(i) for i in range(149, 300)])
    ingest(logs, out, DAY, DAY, run_id="test", params=LENIENT)
    spilled = tmp_path / "spilled"
    small = IngestParams(max_bad_share=1.0, block_bytes=4096, staging_memory_bytes=20_000)
    result = ingest(logs, spilled, DAY, DAY, run_id="test", params=small)
    assert result.by_reason == {"duplicate request_id": 1}
    assert partition(spilled).read_bytes() == partition(out).read_bytes()
    optional = query(out / warehouse.DB_NAME, "SELECT DISTINCT repetition_type "
                     "FROM parquet_schema($p) WHERE name <> 'duckdb_schema'",
                     {"p": str(partition(out))})
    assert optional == [("OPTIONAL",)]


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_the_reading_bar_moves_within_one_large_file(logs, out, compression):
    """One file read in many blocks reports its bytes as it goes, in order, up to the
    total: the bar of a single huge log does not sit at 0% until the file is done."""
    noise = ["".join(hashlib.sha256(f"{i}.{k}".encode()).hexdigest() for k in range(4))
             for i in range(60)]
    write_logs(logs, "big", [record(i, prompt_text=text) for i, text in enumerate(noise)],
               compression=compression)
    heard: list[tuple[str, int, int]] = []
    params = IngestParams(max_bad_share=1.0, allow_empty=True, block_bytes=2048)
    ingest(logs, out, DAY, DAY, run_id="test", params=params,
           progress=lambda step, done, total: heard.append((step, done, total)))
    reading = [(done, total) for step, done, total in heard if step.startswith("reading logs")]
    done = [d for d, _ in reading]
    total = reading[-1][1]
    assert done == sorted(done) and done[-1] == total
    assert sum(0 < d < total for d in done) >= 2, reading


def test_an_ingest_past_its_memory_ceiling_says_which_and_leaves_nothing(tmp_path):
    """DuckDB's own out-of-memory error names no setting; ingest's connection is a bounded
    one, so the run stops saying which ceiling it hit and how to raise it, and takes its
    staging and spill folders with it."""
    out = tmp_path / "out"
    with pytest.raises(ForensicsError, match=r"memory ceiling of 1MiB.*FORENSICS_MEMORY_LIMIT"):
        ingest(SAMPLE_DIR / "logs", out, DAY, DAY, run_id="t",
               params=IngestParams(memory_limit="1MiB"))
    assert list(out.iterdir()) == []
