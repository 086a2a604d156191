"""Staging in batches and in parts on real files, whole ingests compared
(``pipeline/ingest/staging.py``): 50 small files of every kind read as a few batches, or
staged in parts by separate calls (as separate tasks stage them), give the same
partitions, quarantine and ledger as each file read alone in one run. Whole ingests, so
not in the fast tier; the planning, a damaged file in a batch and the refusals of an
ingest from parts are in ``tests/unit/test_ingest_staging.py``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.ingest import ingest as ingest_module
from pipeline.ingest import staging
from pipeline.ingest.ingest import ingest, log_parts, stage_part
from pipeline.run.runner import RunRequest, ingest_task
from pipeline.settings import PipelineParams

from conftest import DAY, LENIENT, compress, jsonl_bytes, partition, query, record, write_logs

RANGE = (date(2026, 3, 31), DAY)


def small_files(logs: Path) -> None:
    """50 small files of every kind a batch can meet, in path order among each other: good
    ones (plain, gzip, zstd), an empty one, blank lines, one without a last line end, bad
    rows, bytes that are not UTF-8, a repeated request_id in a later file, a row of the day
    before (in the range) and of the day after (out of it), and a CSV file that is read
    alone between them."""
    logs.mkdir()
    for i in range(40):
        compression = ("none", "gzip", "zstd")[i % 3]
        write_logs(logs, f"m{i:03d}", [record(3 * i + k) for k in range(1 + i % 3)],
                   compression=compression)
    (logs / "m040.jsonl").write_bytes(b"")
    (logs / "m041.jsonl").write_bytes(b"\n  \n" + jsonl_bytes([record(200)]) + b"\r\n\n")
    (logs / "m042.jsonl").write_bytes(jsonl_bytes([record(201)]).rstrip(b"\n"))
    (logs / "m043.jsonl").write_bytes(jsonl_bytes(["{", "nope", record(202, status=None),
                                                   record(203, status="x")]))
    (logs / "m044.jsonl").write_bytes(jsonl_bytes([record(204), b'{"request_id": "\xff"}']))
    (logs / "m045.jsonl.gz").write_bytes(compress(jsonl_bytes([record(0), record(205)]),
                                                  "gzip"))
    (logs / "m046.jsonl").write_bytes(jsonl_bytes([
        record(206, ts="2026-03-31T23:59:00Z"), record(207, ts="2026-04-02T00:00:00Z")]))
    write_logs(logs, "m047", [record(208), record(209)], fmt="csv")
    write_logs(logs, "m048", [record(210)])
    (logs / "m049.jsonl.zst").write_bytes(compress(b"", "zstd"))


def one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging, "BATCH_FILES", 1)


def batches_staged(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the batches the next ingest stages, recorded as it runs."""
    sizes: list[int] = []
    stage_batch = ingest_module._stage_batch

    def counted(con, batch, *args):
        sizes.append(len(batch))
        return stage_batch(con, batch, *args)

    monkeypatch.setattr(ingest_module, "_stage_batch", counted)
    return sizes


def outputs(out: Path) -> tuple[list[bytes], list[tuple], list[tuple]]:
    db = out / "forensics.duckdb"
    days = [partition(out, day).read_bytes() for day in RANGE]
    quarantine = query(db, "SELECT * EXCLUDE (run_id) FROM quarantine "
                           "ORDER BY source_file, source_line")
    ledger = query(db, "SELECT * EXCLUDE (run_id) FROM ingest_ledger ORDER BY file_index")
    return days, quarantine, ledger


def test_small_files_in_batches_stage_as_each_file_alone(logs, tmp_path, monkeypatch):
    small_files(logs)
    sizes = batches_staged(monkeypatch)
    batched = ingest(logs, tmp_path / "batched", *RANGE, run_id="test", params=LENIENT)
    assert sorted(sizes, reverse=True)[:2] == [47, 2], "the JSONL files must be batched"
    with monkeypatch.context() as alone:
        one_by_one(alone)
        sizes.clear()
        single = ingest(logs, tmp_path / "single", *RANGE, run_id="test", params=LENIENT)
        assert sizes == []
    assert outputs(tmp_path / "batched") == outputs(tmp_path / "single")
    assert (batched.rows_read, batched.rows_kept, batched.rows_quarantined,
            batched.rows_out_of_range) == (single.rows_read, single.rows_kept,
                                           single.rows_quarantined, single.rows_out_of_range)
    assert batched.by_reason == single.by_reason == {
        "duplicate request_id": 1, "malformed record": 2, "missing required field": 1,
        "undecodable bytes": 1, "wrong type": 1}
    lines = query(tmp_path / "batched" / "forensics.duckdb",
                  "SELECT source_file, source_line, reason FROM quarantine "
                  "WHERE source_file IN ('m043.jsonl', 'm045.jsonl.gz') ORDER BY ALL")
    assert lines == [("m043.jsonl", 1, "malformed record"), ("m043.jsonl", 2, "malformed record"),
                     ("m043.jsonl", 3, "missing required field"),
                     ("m043.jsonl", 4, "wrong type"),
                     ("m045.jsonl.gz", 1, "duplicate request_id")]


def test_logs_staged_in_parts_ingest_as_one_run(logs, tmp_path):
    """Each part staged by a call of its own, last first (tasks finish in any order), and
    ingested by the task (which validates, then removes the parts),
    with small blocks so that every file is a unit and a part of at most 2,000 bytes of
    text holds a few."""
    small_files(logs)
    params = LENIENT.model_copy(update={"block_bytes": 4096})
    whole = ingest(logs, tmp_path / "whole", *RANGE, run_id="test", params=params)
    parts = len(log_parts(logs, params, 2000))
    assert 5 <= parts < 50
    out = tmp_path / "parts"
    for i in reversed(range(parts)):
        stage_part(logs, out, "run", i, parts, 2000, params=params)
    request = RunRequest(logs=logs, out=out, start=RANGE[0], end=RANGE[1])
    staged = ingest_task(request, PipelineParams(ingest=params), run_id="test",
                         staged=("run", parts))
    assert outputs(out) == outputs(tmp_path / "whole")
    assert (staged.rows_read, staged.rows_quarantined, staged.by_reason) == (
        whole.rows_read, whole.rows_quarantined, whole.by_reason)
    assert staged.skipped_files == whole.skipped_files
    assert staged.validation is not None and staged.validation.success
    assert not (out / ".staged").exists(), "the task removes the parts once validated"
