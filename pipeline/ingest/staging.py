"""Staging for ingest: JSONL files cut into numbered lines, small files gathered in batches,
and where the staged records are kept.

In: input files (``ingest.InputFile``, seen here as ``adapters.LogFile``) and the staging
folder. Out: each file's lines in Arrow blocks (``line_blocks``); the files grouped into
units of work (``plan_units``: a large file alone, many small contract JSONL files in one
batch) and the units in parts that tasks on other workers stage (``plan_parts``); one
batch's lines as a single table that still knows each line's file and number
(``batch_lines``, ``batch_query``); and ``Staging``, which holds the staged blocks, with
the ``staged`` view over them or over parts staged elsewhere (``create_staged_view``);
``Reading``, the bytes read so far, for the progress bar.

Why batches: staging one file costs about 55 ms whatever its size (a cursor with the
macros, planning the ingest SQL, a table in the catalog, a reader thread), so a folder of
10,000 one-row files (one file per gateway host and minute) spent minutes on overhead and
its ``staged`` view was a union of 10,000 tables. A batch pays that once for up to
``BATCH_FILES`` files: its lines are numbered through the batch, judged by the same SQL
as a single file's, and mapped back to their file and line by a join, so every record is
staged with the same values, and the same rules, as when its file is read alone.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

import duckdb
import numpy as np
import pyarrow as pa

from pipeline.ingest.adapters import CONTRACT, LogFile
from pipeline.ingest.decompress import READ_BYTES, Decompressed, fill, open_decompressed
from pipeline.progress import Progress
from pipeline.registry import INGEST_RECORDS
from pipeline.warehouse import empty_columns, glob_literal, sql_string

STAGED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("file_index", "INTEGER"), *INGEST_RECORDS.column_types,
)
"""One staged record: the file's index and one row of ``sql/ingest/ingest_records.sql``."""

BATCH_FILES = 1024
"""Small files in one batch at most: few enough that two workers share a folder of them."""

BLOCKS_AT_ONCE = 2
"""Blocks of one JSONL file staged side by side (``side_by_side``). A block's query ends
in writing its Parquet file on one thread; with the next block already at work the second
core is not left idle (the `seedday` file's 58 blocks: staging 52.7 s one at a time,
44.1 s two; docs/benchmarks.md). Each block's records are the same either way: a block is
judged alone, and every later step orders rows by file and line."""

LINE_BATCH_ROWS = 8192
"""Lines in one Arrow record batch of a block: the unit DuckDB hands to a thread."""


def side_by_side(blocks: Iterator[T], stage: Callable[[int, T], None]) -> None:
    """``stage`` each block with its number, ``BLOCKS_AT_ONCE`` at a time, in a pool: no
    more blocks are read ahead than are staged, and a block's error is raised in block
    order."""
    with ThreadPoolExecutor(max_workers=BLOCKS_AT_ONCE) as pool:
        pending: deque[Future[None]] = deque()
        for number, block in enumerate(blocks):
            if len(pending) == BLOCKS_AT_ONCE:
                pending.popleft().result()
            pending.append(pool.submit(stage, number, block))
        for future in pending:
            future.result()


def batch_query(staged: str) -> str:
    """A batch's staging query: ``staged`` (the query that stages one file, run over lines
    numbered through the batch) with each record's file and line put back from
    ``raw_lines`` and ``batch_files``."""
    return (
        "SELECT s.* REPLACE (m.file_index AS file_index, f.source_file AS source_file, "
        f"m.file_line AS source_line)\nFROM ({staged}\n) AS s\n"
        "JOIN raw_lines AS m ON m.source_line = s.source_line\n"
        "JOIN batch_files AS f ON f.file_index = m.file_index"
    )


class SizedLogFile(LogFile, Protocol):
    """A log file with its size on disk (``ingest.InputFile``)."""

    size_bytes: int


F = TypeVar("F", bound=SizedLogFile)
T = TypeVar("T")


def plan_units(files: Sequence[F], block_bytes: int) -> list[list[F]]:
    """The files in path order, as units of staging work: a batch of consecutive small
    contract JSONL files (each at most 1/16 of a block on disk, together at most a quarter
    of one and ``BATCH_FILES``), or one file alone. Batches never reach past another file,
    so the units' errors, raised in unit order, are still raised in path order. Adapted
    formats are read alone: an adapter may renumber lines (OpenTelemetry's spans), which
    the batch's join could not map back."""
    units: list[list[F]] = []
    size = 0
    for f in files:
        last = units[-1] if units else []
        if (last and _batchable(f, block_bytes) and _batchable(last[0], block_bytes)
                and size + f.size_bytes <= block_bytes // 4 and len(last) < BATCH_FILES):
            last.append(f)
            size += f.size_bytes
        else:
            units.append([f])
            size = f.size_bytes
    return units


def plan_parts(files: Sequence[F], block_bytes: int, part_bytes: int) -> list[list[list[F]]]:
    """The files in path order, gathered into consecutive parts of at most about
    ``part_bytes`` of expected text each (``expected_text``), for tasks that stage a part
    each on any worker; each part as its units (``plan_units``). A part closes before the
    file that would take it past ``part_bytes``; a file larger than that is a part alone,
    since a file is never split. A batch of small files never reaches past a part, and
    staged records depend neither on the batches nor on which part staged them: the parts
    change what runs where, never what is written."""
    parts: list[list[F]] = []
    size = 0
    for f in files:
        text = expected_text([f])
        if not parts or (size > 0 and size + text > part_bytes):
            parts.append([])
            size = 0
        parts[-1].append(f)
        size += text
    return [plan_units(part, block_bytes) for part in parts]


def _batchable(f: SizedLogFile, block_bytes: int) -> bool:
    return (f.format == "jsonl" and f.log_format == CONTRACT
            and f.size_bytes <= block_bytes // 16)


def batch_lines(blocks: list[tuple[int, pa.Table]]) -> pa.Table:
    """One table of a batch's line blocks, each given with its file's index: the lines
    numbered 1.. through the batch (``source_line``, what the staging SQL keys records by),
    with their file (``file_index``) and their number in it (``file_line``). Each block
    keeps its own text or bytes, as decided for it when its file was split. At least one
    block: a batch of empty files stages nothing, as each would alone."""
    parts = [lines.rename_columns(["file_line", "text", "line"]).append_column(
        "file_index", pa.array(np.full(lines.num_rows, index, dtype=np.int32)))
        for index, lines in blocks]
    table = pa.concat_tables(parts)
    numbers = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    return table.add_column(0, "source_line", numbers)


class Staging:
    """Where staged blocks go: in-memory tables while they fit a budget, else Parquet.

    A block appended as a table of its own costs almost nothing next to encoding it as
    Parquet and decoding it again for its day's partition (one growing table would cost
    more with every block). Past the budget the run is large, and its day sorts need the
    memory: the tables so far are written out too, and every block goes to Parquet.
    When the input's ``expected`` text already passes the budget, every block goes to
    Parquet from the start: writing the tables out at the end cost the `seedday` file 8 s
    of its 63 s of staging. Either way the staged rows, and so the outputs, are the same.
    """

    def __init__(self, folder: Path, budget: int, expected: int = 0) -> None:
        self.folder = folder
        self.budget = budget
        self.used = 0
        self.spilled = expected > budget
        self.tables: list[str] = []
        self.lock = threading.Lock()

    @classmethod
    def on_disk(cls, folder: Path) -> Staging:
        """Staging that writes every block to Parquet from the first: a part staged for
        an ingest that runs elsewhere, which can read only files."""
        staging = cls(folder, 0)
        staging.spilled = True
        return staging

    def store(self, con: duckdb.DuckDBPyConnection, query: str, params: dict[str, object],
              index: int, block: int, size: int) -> None:
        """Stage one block's records (``query``) of about ``size`` bytes of text, named
        after the file (or a batch's first file) ``index`` and the block."""
        name = f"staged_{index:06d}_{block:06d}"
        with self.lock:
            in_memory = not self.spilled and self.used + size <= self.budget
            self.used += size if in_memory else 0
            self.spilled = not in_memory
        if in_memory:
            con.execute(f"CREATE TABLE {name} AS {query}", params)
            with self.lock:
                self.tables.append(name)
        else:
            copy_parquet(con, query, params, self.folder / f"{name}.parquet")

    def create_view(self, con: duckdb.DuckDBPyConnection) -> None:
        """The ``staged`` view over every block, once all are staged."""
        tables = sorted(self.tables)
        if self.spilled:
            for table in tables:
                copy_parquet(con, f"SELECT * FROM {table}", {},
                             self.folder / f"{table}.parquet")
                con.execute(f"DROP TABLE {table}")
            tables = []
        create_staged_view(con, tables, [self.folder])


def create_staged_view(con: duckdb.DuckDBPyConnection, tables: list[str],
                       folders: list[Path]) -> None:
    """The ``staged`` view over staged tables and the Parquet blocks in ``folders`` (one
    run's staging folder, or the folders of the parts other tasks staged)."""
    parts = [f"SELECT * FROM {table}" for table in tables]
    globs = [sql_string(str(Path(glob_literal(folder)) / "*.parquet")) for folder in folders
             if folder.is_dir() and any(folder.glob("*.parquet"))]
    if globs:
        parts.append(f"SELECT * FROM read_parquet([{', '.join(globs)}])")
    if not parts:
        parts.append(f"SELECT {empty_columns(STAGED_COLUMNS)} WHERE false")
    con.execute("CREATE VIEW staged AS " + " UNION ALL BY NAME ".join(parts))


class Reading:
    """The bytes of the input files read so far, reported as JSONL blocks are read, so one
    large file's bar moves while it is read (CSV and Parquet, which DuckDB reads whole,
    count when done). The workers reading files side by side all add to it."""

    def __init__(self, report: Progress, total: int) -> None:
        self.report, self.total, self.done = report, total, 0
        self.lock = threading.Lock()

    def add(self, name: str, size: int) -> None:
        with self.lock:
            self.done += size
            self.report(f"reading logs: {name}", self.done, self.total)


INFLATION = {"gzip": 3, "zstd": 3}
"""What a compressed log's bytes on disk are taken to grow to once decompressed, to foresee
a run past the staging budget (an uncompressed file counts as its size): JSONL logs
inflate about 3 times from gzip (`seedday`: 3.05), at least as much from zstd. Only when
the spilling starts depends on it, never what is staged: a guess too low leaves a run to
spill late, as without it, and one too high spills a run that would have fit."""


def expected_text(files: Sequence[SizedLogFile]) -> int:
    """The staged text the files are expected to make: their sizes, inflated."""
    return sum(f.size_bytes * INFLATION.get(f.compression, 1) for f in files)


def copy_parquet(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, object],
                 target: Path) -> None:
    """Write staged records to Parquet, neither compressed nor dictionary-encoded: the
    file is read back once, from the page cache, and encoding it would cost more time
    than the bytes it saves."""
    con.execute(f"COPY ({query}) TO {sql_string(str(target))} "
                "(FORMAT parquet, COMPRESSION uncompressed, DICTIONARY_SIZE_LIMIT 1)", params)


def line_blocks(f: LogFile, block_bytes: int, read: Callable[[int], None], *,
                ahead: bool = True) -> Iterator[pa.Table]:
    """The file's lines in blocks: (source_line, text, line), line ends included.

    The file is decompressed straight into Arrow buffers of ``block_bytes`` (fewer for a
    small file), taken from Arrow's memory pool: a fresh 64 MiB block from the system is
    memory the kernel maps and zeroes every time (4 GB for the `seedday` file, a tenth of
    its staging time in page faults), while the pool hands the blocks that staged arrays
    let go back out. Lines are cut with numpy on whole buffers and handed to Arrow without
    copying a line, except the one that a buffer's end cuts in two (``_split_lines``).
    Arrow checks a whole block's UTF-8 at once; only a block that fails is passed on as
    bytes (text NULL) for DuckDB to decode line by line, so a bad byte costs its block a
    slower path and loses nothing. With ``ahead``, decompression fills the next buffer in
    a thread (ISA-L, zstd and file reads release the GIL) while DuckDB works on the
    previous block; a small file of a batch has one block, and the thread would cost more
    than it saves.
    """
    on_disk = f.path.stat().st_size
    size = min(block_bytes, max(1 << 16, on_disk * INFLATION.get(f.compression, 1) + 1))
    with open_decompressed(f.path, f.compression, f.source_file, read,
                           min(block_bytes, READ_BYTES)) as source:
        if not ahead:
            yield from _split_lines(iter(partial(_next_block, source, size), None), size)
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            yield from _split_lines(_read_ahead(pool, source, size), size)


def _next_block(source: Decompressed, size: int) -> tuple[pa.Buffer, int] | None:
    buffer = pa.allocate_buffer(size)
    filled = fill(source, memoryview(buffer).cast("B"))
    return (buffer, filled) if filled else None


def _read_ahead(pool: ThreadPoolExecutor, source: Decompressed,
                size: int) -> Iterator[tuple[pa.Buffer, int]]:
    pending = pool.submit(_next_block, source, size)
    while block := pending.result():
        pending = pool.submit(_next_block, source, size)
        yield block


def _split_lines(filled: Iterator[tuple[pa.Buffer, int]], size: int) -> Iterator[pa.Table]:
    """Each filled buffer's whole lines as a block; the line cut by a buffer's end is
    carried (copied) and put together with its rest, the first line of the next block."""
    line_no = 0
    carry = b""
    newlines = np.empty(size, dtype=np.bool_)
    for buffer, length in filled:
        data = np.frombuffer(buffer, dtype=np.uint8, count=length)
        ends = np.flatnonzero(np.equal(data, 10, out=newlines[:length]))
        if ends.size == 0:
            carry += data.tobytes()
            continue
        first = int(ends[0]) + 1
        chunks = [_binary([carry + data[:first].tobytes()])]
        if ends.size > 1:
            chunks.append(pa.LargeBinaryArray.from_buffers(
                pa.large_binary(), ends.size - 1,
                [None, pa.py_buffer((ends + 1).astype(np.int64)), buffer]))
        carry = data[int(ends[-1]) + 1:].tobytes()
        yield _decoded(line_no, pa.chunked_array(chunks, pa.large_binary()))
        line_no += ends.size
    if carry:
        yield _decoded(line_no, pa.chunked_array([_binary([carry])], pa.large_binary()))


def _binary(lines: list[bytes]) -> pa.Array:
    return pa.array(lines, pa.large_binary())


def _decoded(before: int, lines: pa.ChunkedArray) -> pa.Table:
    """A block's lines, numbered from ``before`` + 1, as a table of ``LINE_BATCH_ROWS``-row
    record batches (slices, no copy): DuckDB scans one Arrow batch on one thread, so a
    block in one batch was judged on one core while the other sat idle."""
    numbers = pa.array(np.arange(before + 1, before + len(lines) + 1, dtype=np.int64))
    try:
        text = lines.cast(pa.large_string())
        for chunk in text.chunks:
            chunk.validate(full=True)
        line = pa.nulls(len(lines), pa.large_binary())
    except pa.ArrowInvalid:
        text, line = pa.nulls(len(lines), pa.large_string()), lines
    table = pa.table({"source_line": numbers, "text": text, "line": line})
    return pa.Table.from_batches(table.to_batches(max_chunksize=LINE_BATCH_ROWS),
                                 table.schema)
