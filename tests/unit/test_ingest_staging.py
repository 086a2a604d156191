"""Staging in batches and in parts (``pipeline/ingest/staging.py``): which files a batch
and a part take, a damaged file in a batch still stopping the run naming it, and an ingest
from parts refusing parts that are missing or logs that changed since. That a batch, or
logs staged in parts, give the same records as each file read alone in one run is
``tests/integration/test_ingest_staging_integration.py`` (whole ingests compared)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.errors import ForensicsError
from pipeline.ingest import staging
from pipeline.ingest.ingest import (
    InputFile,
    discover_files,
    ingest,
    log_parts,
    part_folder,
    stage_part,
    staged_folder,
)

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


def test_parts_close_before_the_file_that_would_pass_their_size():
    files = [file_of(0, 100), file_of(1, 100), file_of(2, 150), file_of(3, 500),
             file_of(4, 50), file_of(5, 40, "csv"), file_of(6, 10)]
    parts = staging.plan_parts(files, 1600, 250)
    assert [[[f.index for f in unit] for unit in part] for part in parts] == [
        [[0, 1]], [[2]], [[3]], [[4], [5], [6]]]
    assert [len(staging.plan_parts(files, 1600, size)) for size in (1, 949, 950)] == [7, 2, 1]
    assert staging.plan_parts(files, 1600, 950) == [staging.plan_units(files, 1600)]
    gzip = [InputFile(0, Path("g"), "g", "jsonl", "gzip", 100, ""), file_of(1, 100)]
    assert len(staging.plan_parts(gzip, 1600, 350)) == 2, "gzip counts as its text, inflated"


@pytest.fixture
def parted(logs: Path, out: Path) -> int:
    """Ten one-record files, each staged alone and each a part of its own."""
    for i in range(10):
        write_logs(logs, f"m{i}", [record(i)], fmt="csv" if i % 2 else "jsonl")
    parts = len(log_parts(logs, LENIENT, 1))
    assert parts == 10
    return parts


def test_an_ingest_refuses_parts_not_staged_and_keeps_them_for_a_retry(logs, out, parted):
    for i in (0, 1, 2, 4, 5, 6, 7, 8, 9):
        stage_part(logs, out, "run:1", i, parted, 1, params=LENIENT)
    with pytest.raises(ForensicsError, match=r"the staged logs lack part-4-of-10 \(under "):
        ingest(logs, out, DAY, DAY, run_id="test", params=LENIENT, staged=("run:1", parted))
    assert not partition(out).exists()
    stage_part(logs, out, "run:1", 3, parted, 1, params=LENIENT)
    result = ingest(logs, out, DAY, DAY, run_id="test", params=LENIENT,
                    staged=("run:1", parted))
    assert result.rows_kept == 10 and partition(out).exists()
    # The parts outlive the ingest (its task removes them once validation passed), so a
    # retry finds them and writes the same bytes.
    first = partition(out).read_bytes()
    assert (staged_folder(out, "run:1") / "part-4-of-10" / "files.parquet").is_file()
    ingest(logs, out, DAY, DAY, run_id="test", params=LENIENT, staged=("run:1", parted))
    assert partition(out).read_bytes() == first


def test_logs_that_changed_after_staging_are_refused(logs, out, parted):
    for i in range(parted):
        stage_part(logs, out, "run", i, parted, 1, params=LENIENT)
    write_logs(logs, "m3", [record(3), record(30)], fmt="csv")
    with pytest.raises(ForensicsError, match=r"changed since they were staged \(m3\.csv\)"):
        ingest(logs, out, DAY, DAY, run_id="test", params=LENIENT, staged=("run", parted))
    write_logs(logs, "m99", [record(99)])
    with pytest.raises(ForensicsError, match=r"now make 11 part\(s\), not 10"):
        stage_part(logs, out, "run", 0, parted, 1, params=LENIENT)
    assert not partition(out).exists()


def test_a_part_records_its_files_hashed_as_a_whole_ingest_does(logs, out, parted):
    written = stage_part(logs, out, "run", 2, parted, 1, params=LENIENT)
    folder = part_folder(out, "run", 2, parted)
    assert folder.name == "part-3-of-10"
    assert sorted(p.relative_to(folder).parts[0] for p in written) == [
        "files.parquet", "records"]
    [whole] = [f for f in discover_files(logs)[0] if f.index == 2]
    [row] = pq.read_table(folder / "files.parquet").to_pylist()
    assert row == {"index": 2, "source_file": "m2.jsonl", "format": "jsonl",
                   "compression": "none", "size_bytes": whole.size_bytes,
                   "sha256": whole.sha256, "log_format": "contract"}


class _Log:
    """The fields of an input file that ``line_blocks`` reads."""

    def __init__(self, path: Path, compression: str) -> None:
        self.path, self.compression, self.source_file = path, compression, path.name
        self.format, self.log_format = "jsonl", "contract"


LINES = [b'{"a": 1}\n', b"\n", b'{"b": "' + b"x" * 300 + b'"}\n', b"\xff bad\n",
         *(b'{"n": %d}\n' % i for i in range(40)), b'{"last": "no line end"}']


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
@pytest.mark.parametrize("block_bytes", [64, 100, 1 << 16])
def test_line_blocks_cut_every_line_once_across_buffer_ends(tmp_path, compression,
                                                            block_bytes):
    """Lines cut by a buffer's end (one longer than a buffer too) come back whole, numbered
    in order, and the blocks stay intact while the caller keeps them all (a batch does)."""
    data = b"".join(LINES)
    path = tmp_path / "a.jsonl"
    if compression == "gzip":
        import gzip

        half = len(data) // 2
        path.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    elif compression == "zstd":
        import zstandard

        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    else:
        path.write_bytes(data)
    heard: list[int] = []
    blocks = list(staging.line_blocks(_Log(path, compression), block_bytes, heard.append))
    lines = [line for block in blocks for line in block.column("line").to_pylist()]
    texts = [text for block in blocks for text in block.column("text").to_pylist()]
    got = [line if line is not None else text.encode() for line, text in zip(lines, texts,
                                                                             strict=True)]
    assert got == LINES
    numbers = [n for block in blocks for n in block.column("source_line").to_pylist()]
    assert numbers == list(range(1, len(LINES) + 1))
    assert sum(heard) == path.stat().st_size
    if block_bytes < len(data):
        assert len(blocks) > 2
