"""Staging in batches (``pipeline/ingest/staging.py``): which files a batch takes, and a
damaged file in a batch still stopping the run naming it. That a batch stages the same
records as each file read alone is ``tests/integration/test_ingest_staging_integration.py``
(two whole ingests compared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ForensicsError
from pipeline.ingest import staging
from pipeline.ingest.ingest import InputFile, discover_files, ingest

from conftest import DAY, LENIENT, partition, record, write_logs


def test_a_damaged_archive_in_a_batch_stops_the_run_naming_it(logs, out):
    """As it does read alone (test_ingest.py): one file's damage is not a batch's."""
    logs.mkdir()
    for i in range(50):
        write_logs(logs, f"m{i:03d}", [record(i)], compression="gzip")
    damaged = logs / "m031.jsonl.gz"
    damaged.write_bytes(damaged.read_bytes()[:20])
    with pytest.raises(ForensicsError, match=r"m031\.jsonl\.gz: gzip stream ends before its last"):
        ingest(logs, out, DAY, DAY, run_id="test", params=LENIENT)
    assert not partition(out).exists()


def file_of(index: int, size: int, fmt: str = "jsonl", log_format: str = "contract"
            ) -> InputFile:
    return InputFile(index, Path(f"f{index}"), f"f{index}", fmt, "none", size, "", log_format)


def test_units_batch_small_contract_jsonl_files_only_up_to_their_caps(monkeypatch):
    block = 1600
    files = [file_of(0, 100), file_of(1, 100), file_of(2, 101), file_of(3, 10, "csv"),
             file_of(4, 10, log_format="otel"), *(file_of(i, 100) for i in range(5, 10))]
    units = staging.plan_units(files, block)
    assert [[f.index for f in unit] for unit in units] == [
        [0, 1], [2], [3], [4], [5, 6, 7, 8], [9]]
    monkeypatch.setattr(staging, "BATCH_FILES", 2)
    units = staging.plan_units(files, block)
    assert [[f.index for f in unit] for unit in units] == [
        [0, 1], [2], [3], [4], [5, 6], [7, 8], [9]]


def test_the_files_found_are_planned_in_path_order(logs):
    for i in range(6):
        write_logs(logs, f"m{i}", [record(i)], fmt="csv" if i == 3 else "jsonl")
    files, _ = discover_files(logs)
    units = staging.plan_units(files, 64 << 20)
    assert [[f.index for f in unit] for unit in units] == [[0, 1, 2], [3], [4, 5]]
