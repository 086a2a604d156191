"""Ingest: raw request logs into per-day ``requests`` partitions, a quarantine and a ledger.

In: a folder of request logs in the contract of DESIGN.md (JSONL, CSV or Parquet; plain,
gzip or zstd), an optional accounts table, a date range. Out, under the output folder:
``requests/date=YYYY-MM-DD/part-0.parquet`` for every day of the range, each replaced whole
and atomically; in ``forensics.duckdb`` the ``quarantine`` (every bad row with its file, line,
reason and raw text), the ``ingest_ledger`` (every input file with its size, sha256 and where
each of its rows went), the ``accounts`` table and the ``requests`` view over all partitions.

Every record of every file is first staged, typed, with the first rule it breaks
(``sql/ingest/ingest_records.sql``): one set of SQL rules judges all formats, because CSV and
Parquet records are rendered to JSON objects on the way in. JSONL is split into lines here,
with numpy over blocks of bytes, because DuckDB's JSON reader turns a malformed line into
NULLs without saying so; the lines keep their numbers and their undecodable bytes. Staged
blocks are in-memory tables while they fit a budget, else Parquet; many small JSONL files are
staged as one batch (``staging``). A DAG with large logs stages them in parts, each by a
task of its own on any worker (``stage_part``), and the ingest reads the parts instead.
Duplicate request_ids, the ledger and the bad-share ceiling are then computed over the
staged rows, and only when the ceiling holds are the day partitions replaced.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import BadInputCeiling, ForensicsError
from pipeline.ingest.accounts import export_accounts, load_accounts
from pipeline.ingest.adapters import CONTRACT, ledger_format, resolve, staging_query
from pipeline.ingest.coverage import refuse_short_days
from pipeline.ingest.decompress import decompressed_blocks
from pipeline.ingest.staging import (
    Reading,
    Staging,
    batch_lines,
    batch_query,
    create_staged_view,
    expected_text,
    line_blocks,
    plan_parts,
    plan_units,
    side_by_side,
)
from pipeline.progress import Progress, ignore
from pipeline.registry import (
    INGEST_LEDGER,
    QUARANTINE,
    REQUESTS_COLUMNS,
)
from pipeline.settings import IngestParams, memory_ceiling
from pipeline.warehouse import (
    DB_NAME,
    STAGED_FOLDER,
    atomic_copy,
    bounded_connection,
    connect,
    create_partition_view,
    empty_columns,
    glob_literal,
    partition_path,
    sha256_file,
    sql_string,
    sql_text,
    table_ddl,
)

if TYPE_CHECKING:
    from pipeline.validation.outcomes import ValidationOutcome

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
           ".parquet": "parquet"}
COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}


@dataclass(frozen=True)
class InputFile:
    """One log file found under the input folder, identified by its path and content hash."""

    index: int
    path: Path
    source_file: str
    format: str
    compression: str
    size_bytes: int
    sha256: str
    log_format: str = "contract"  # or the adapter that reads it: adapters.resolve


@dataclass(frozen=True)
class IngestResult:
    """What one ingest run did, for the CLI's summary and the run ledger."""

    run_id: str
    days: list[date]
    files: list[InputFile]
    skipped_files: list[str]
    rows_read: int
    rows_kept: int
    rows_quarantined: int
    rows_out_of_range: int
    by_reason: dict[str, int] = field(default_factory=dict)
    partitions: list[Path] = field(default_factory=list)
    covered: tuple[date, date] | None = None
    """The first and last day of the rows read (in the range or not): the hint when a
    range matched nothing; None when no row had a readable time."""
    validation: ValidationOutcome | None = None
    """The raw gate's outcome, once the runner has validated the partitions."""


def check_inputs(logs: Path, start: date, end: date, accounts: Path | None) -> None:
    """Refuse a request that cannot be right before anything is locked or written."""
    if not logs.is_dir():
        raise ForensicsError(f"logs folder not found: {logs}")
    if end < start:
        raise ForensicsError(f"end {end} is before start {start}")
    if accounts is not None and not accounts.is_file():
        raise ForensicsError(f"accounts file not found: {accounts}")


def discover_files(logs: Path, *,
                   hash_files: bool = True) -> tuple[list[InputFile], list[str]]:
    """Every log file under ``logs`` in path order, hashed (unless not ``hash_files``: a
    task that stages a part hashes only its own, ``hashed``); and the files and folders
    skipped, each as ``name: why``.

    Path order fixes which copy of a duplicated request_id is kept, so it must not depend
    on the file system's listing order. Linked folders are followed (once: a link back to
    a folder already read is skipped and named); a folder that cannot be listed, a link to
    nothing or a loop of links, and a file that cannot be read stop the run naming it, since
    the logs it may hold would otherwise be lost without a word.
    """
    found: list[InputFile] = []
    skipped: list[str] = []
    seen: dict[str, str] = {}

    def refuse(err: OSError) -> None:
        raise ForensicsError(f"cannot read the log folder {err.filename}: "
                             f"{err.strerror or err}") from None

    for root, folders, names in os.walk(logs, onerror=refuse, followlinks=True):
        here = Path(root)
        rel_root = here.relative_to(logs).as_posix()
        real = os.path.realpath(here)
        if real in seen:
            skipped.append(f"{rel_root}/: the same folder as {seen[real] or '.'}/, read once")
            folders[:] = []
            continue
        seen[real] = "" if rel_root == "." else rel_root
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for name in sorted(n for n in names if not n.startswith(".")):
            path = here / name
            rel = path.relative_to(logs).as_posix()
            try:
                if not path.is_file():
                    raise ForensicsError(f"{rel}: not a readable file (a link to nothing?)")
                fmt, compression = _format_of(path)
                if fmt is None or (fmt == "parquet" and compression != "none"):
                    skipped.append(f"{rel}: not a log file (.jsonl .csv .parquet)")
                    continue
                size = path.stat().st_size
            except OSError as err:
                raise ForensicsError(f"{rel}: cannot be read ({err.strerror or err})") from None
            found.append(InputFile(0, path, rel, fmt, compression, size, ""))
    found.sort(key=lambda f: Path(f.source_file).parts)
    files = [replace(f, index=i) for i, f in enumerate(found)]
    return (hashed(files) if hash_files else files), sorted(skipped)


def _format_of(path: Path) -> tuple[str | None, str]:
    suffixes = [s.lower() for s in path.suffixes]
    compression = "none"
    if suffixes and suffixes[-1] in COMPRESSIONS:
        compression = COMPRESSIONS[suffixes.pop()]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    return fmt, compression


def listed_files(logs: Path, params: IngestParams, *,
                 hash_files: bool = True) -> tuple[list[InputFile], list[str]]:
    """The log files ``discover_files`` finds, each with the format it is read as; a folder
    with none is refused."""
    files, skipped = discover_files(logs, hash_files=hash_files)
    if not files:
        raise ForensicsError(f"no log files (.jsonl, .csv, .parquet; .gz, .zst) in {logs}")
    return resolve(files, params.format), skipped


def log_parts(logs: Path, params: IngestParams, part_bytes: int) -> list[list[list[InputFile]]]:
    """The logs' units of staging work in parts of about ``part_bytes`` of text
    (``staging.plan_parts``), unhashed: what ``stage_part`` stages one of."""
    files, _ = listed_files(logs, params, hash_files=False)
    return plan_parts(files, params.block_bytes, part_bytes)


FILES_NAME = "files.parquet"


def staged_folder(out: Path, key: str) -> Path:
    """Where the parts of one run's logs wait for its ingest, named after the run (``key``)
    so that two runs never share one."""
    return out / STAGED_FOLDER / re.sub(r"[^A-Za-z0-9._-]", "_", key)


def part_folder(out: Path, key: str, part: int, parts: int) -> Path:
    """The folder of one staged part: its records (``records/*.parquet``) and its files
    (``files.parquet``, written last: a part without it is not staged)."""
    return staged_folder(out, key) / f"part-{part + 1}-of-{parts}"


def stage_part(logs: Path, out: Path, key: str, part: int, parts: int, part_bytes: int, *,
               params: IngestParams | None = None) -> list[Path]:
    """Stage part ``part`` (from 0) of the ``parts`` that ``log_parts`` makes of the logs,
    for the ingest of run ``key`` (``ingest(..., staged=(key, parts))``); the files written.

    Staging (decompress, cut lines, judge every record) is ingest's costliest step and
    needs no lock: parts run as tasks of their own, on any worker that reads the logs, and
    the ingest that finishes them judges and publishes the whole. The part's files are
    hashed here, so no task hashes every file. A part is recomputed from the listing; logs
    that no longer make ``parts`` parts changed since the run was planned, and are refused.
    """
    params = params or IngestParams()
    planned = log_parts(logs, params, part_bytes)
    if len(planned) != parts or not 0 <= part < parts:
        raise ForensicsError(f"the logs in {logs} now make {len(planned)} part(s), not "
                             f"{parts}: they changed since the run was planned; re-run it")
    units = [hashed(unit) for unit in planned[part]]
    folder = part_folder(out, key, part, parts)
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "records").mkdir(parents=True)
    with bounded_connection(folder.parent, f"spill-{folder.name}",
                            memory_ceiling(params.memory_limit)) as con:
        _stage_units(con, units, Staging.on_disk(folder / "records"), params, ignore)
    files = [f for unit in units for f in unit]
    pq.write_table(pa.table({name: [getattr(f, name) for f in files]
                             for name in PART_FILE_FIELDS}), folder / f".{FILES_NAME}.tmp")
    os.replace(folder / f".{FILES_NAME}.tmp", folder / FILES_NAME)
    return sorted(p for p in folder.rglob("*") if p.is_file())


PART_FILE_FIELDS = ("index", "source_file", "format", "compression", "size_bytes", "sha256",
                    "log_format")
"""What a staged part records of each of its files: all of ``InputFile`` but the path,
which the ingest that finishes the part takes from its own logs folder."""


def hashed(files: list[InputFile]) -> list[InputFile]:
    """The files with their sha256, as the ledger records them."""
    return [replace(f, sha256=_sha256(f)) for f in files]


def _sha256(f: InputFile) -> str:
    try:
        return sha256_file(f.path)
    except OSError as err:
        raise ForensicsError(f"{f.source_file}: cannot be read ({err.strerror or err})") from None


def _staged_files(logs: Path, out: Path, key: str,
                  parts: int) -> tuple[list[InputFile], list[str], list[Path]]:
    """The files that ``parts`` staged parts hold, as the ledger records them, the skipped
    names and the parts' record folders; refused, naming them, when parts are missing, and
    when the logs no longer are the files the parts staged (a file added, removed or
    resized since)."""
    folders = [part_folder(out, key, i, parts) for i in range(parts)]
    missing = [f.name for f in folders if not (f / FILES_NAME).is_file()]
    if missing:
        raise ForensicsError(f"the staged logs lack {', '.join(missing)} (under "
                             f"{staged_folder(out, key)}): stage them before the ingest")
    rows = pa.concat_tables([pq.read_table(f / FILES_NAME) for f in folders]).to_pylist()
    files = [InputFile(path=logs / row["source_file"], **row) for row in rows]
    listed, skipped = discover_files(logs, hash_files=False)
    now = [(f.source_file, f.size_bytes) for f in listed]
    then = [(f.source_file, f.size_bytes) for f in files]
    if now != then:
        changed = sorted({name for name, _ in set(now) ^ set(then)})
        raise ForensicsError(f"the logs in {logs} changed since they were staged ("
                             f"{', '.join(changed[:3])}); re-run the range")
    return files, skipped, [f / "records" for f in folders]


def ingest(
    logs: Path,
    out: Path,
    start: date,
    end: date,
    *,
    run_id: str,
    accounts: Path | None = None,
    params: IngestParams | None = None,
    progress: Progress | None = None,
    staged: tuple[str, int] | None = None,
) -> IngestResult:
    """Ingest the logs of ``start``..``end`` (inclusive) into ``out``; with ``staged``
    (a run's key and its count of parts), from the parts ``stage_part`` staged, which stay
    until the caller removes them (``remove_staged``).

    The caller holds the output lock (``warehouse.output_lock``). Raises ``BadInputCeiling``
    after recording the quarantine and ledger, and before touching any partition, when a
    day's bad share passes ``params.max_bad_share``.
    """
    params = params or IngestParams()
    check_inputs(logs, start, end, accounts)
    staging = out / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "records").mkdir(parents=True)
    report = progress or ignore
    with bounded_connection(out, "spill-ingest", memory_ceiling(params.memory_limit)) as con:
        try:
            if staged is None:
                files, skipped = listed_files(logs, params)
                whole = Staging(staging / "records", params.staging_memory_bytes,
                                expected_text(files))
                _stage_units(con, plan_units(files, params.block_bytes), whole, params, report)
                whole.create_view(con)
            else:
                files, skipped, folders = _staged_files(logs, out, *staged)
                create_staged_view(con, [], folders)
            return _finish(con, files, skipped, staging, out, start, end, run_id, accounts,
                           params, report)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def remove_staged(out: Path, key: str) -> None:
    """Remove run ``key``'s staged parts (and the parts' folder when no other run's are
    left): for the task that ingested them, once its partitions passed validation, so
    that a retry of an ingest that failed still finds them."""
    shutil.rmtree(staged_folder(out, key), ignore_errors=True)
    with contextlib.suppress(OSError):
        (out / STAGED_FOLDER).rmdir()


def _stage_units(con: duckdb.DuckDBPyConnection, units: list[list[InputFile]],
                 staging: Staging, params: IngestParams, report: Progress) -> None:
    """Stage every unit into ``staging``, ``params.parallel_files`` units at a time.

    A unit is one file or a batch of small JSONL files (``staging.plan_units``). One
    unit's work is a chain of steps that each leave a core idle part of the time
    (decompression, line splitting, the SQL on one block), so units run side by side,
    each on a cursor of its own over the one database: they share its threads and its
    memory ceiling. Every later step orders rows by file and line, so the order in which
    blocks are staged changes nothing downstream. A unit's error (a damaged archive) is
    raised in path order, as the first file's that failed.
    """
    reading = Reading(report, sum(f.size_bytes for unit in units for f in unit))
    report("reading logs: listing", 0, reading.total)
    with ThreadPoolExecutor(max_workers=max(1, params.parallel_files)) as pool:
        staged = [pool.submit(_stage_unit, con, unit, staging, params.block_bytes, reading)
                  for unit in units]
        for unit, future in zip(units, staged, strict=True):
            future.result()
            for f in unit:
                if f.format != "jsonl":
                    reading.add(f.source_file, f.size_bytes)


def _write_partitions(con: duckdb.DuckDBPyConnection, out: Path, days: list[date],
                      parallel: int, report: Progress) -> list[Path]:
    """Replace each day's partition, ``parallel`` days at a time on cursors of their own.

    One day's write (filter, sort, encode) keeps about one core busy, so two days side
    by side use the second. Each day is still written whole and renamed into place on its
    own; the staged rows and duplicates it reads are fixed by now.
    """
    targets = [partition_path(out, "requests", day) for day in days]
    report("writing partitions: sorting", 0, len(days))
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        written = [pool.submit(_write_partition, con, day, target)
                   for day, target in zip(days, targets, strict=True)]
        for i, (day, future) in enumerate(zip(days, written, strict=True)):
            future.result()
            report(f"writing partitions: {day}", i + 1, len(days))
    return targets


def _write_partition(db: duckdb.DuckDBPyConnection, day: date, target: Path) -> None:
    with _cursor(db) as con:
        atomic_copy(con, sql_text("requests"), {"day": day}, target)


def _cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor set up like ``warehouse.connect``: a cursor is a connection of its own, so
    the session's time zone and temporary macros must be set again on it."""
    cursor = con.cursor()
    cursor.execute("SET TimeZone = 'UTC'")
    cursor.execute(sql_text("macros"))
    return cursor


def _stage_unit(db: duckdb.DuckDBPyConnection, unit: list[InputFile], staging: Staging,
                block_bytes: int, reading: Reading) -> None:
    """Classify every record of one file, a block at a time, or of a batch of small files
    at once, into ``staging``."""
    with _cursor(db) as con:
        if len(unit) == 1:
            _stage_records(con, unit[0], staging, block_bytes, reading)
        else:
            _stage_batch(con, unit, staging, block_bytes, reading)


def _stage_batch(con: duckdb.DuckDBPyConnection, batch: list[InputFile], staging: Staging,
                 block_bytes: int, reading: Reading) -> None:
    """Stage small contract JSONL files with one query: their lines in one table, judged
    by the same SQL as one file's, each record then given back its file and line."""
    blocks = [(f.index, lines) for f in batch
              for lines in line_blocks(f, block_bytes, partial(reading.add, f.source_file),
                                       ahead=False)]
    if not blocks:
        return
    lines = batch_lines(blocks)
    con.register("raw_lines", lines)
    con.register("batch_files", pa.table({
        "file_index": pa.array([f.index for f in batch], pa.int32()),
        "source_file": [f.source_file for f in batch]}))
    staged = staging_query(sql_text("raw_records_from_jsonl"), sql_text("ingest_records"),
                           CONTRACT)
    staging.store(con, batch_query(staged),
                  {"file_index": batch[0].index, "source_file": ""}, batch[0].index, 0,
                  lines.nbytes)
    con.unregister("raw_lines")
    con.unregister("batch_files")


def _stage_records(con: duckdb.DuckDBPyConnection, f: InputFile, staging: Staging,
                   block_bytes: int, reading: Reading) -> None:
    records = sql_text("ingest_records")
    params = {"source_file": f.source_file, "file_index": f.index}
    if f.format == "jsonl":
        reader = sql_text("raw_records_from_jsonl")
        read = partial(reading.add, f.source_file)
        side_by_side(line_blocks(f, block_bytes, read), partial(
            _stage_lines, con, staging, reader, records, params, f))
        return
    if f.size_bytes == 0:
        return
    con.execute("DROP TABLE IF EXISTS csv_rejects; DROP TABLE IF EXISTS csv_reject_scans")
    with_path = {**params, "path": glob_literal(f.path)}
    if f.format == "csv":
        header = _csv_header(f)
        if not header:
            return
        with_path["columns"] = {name: "VARCHAR" for name in header}
    try:
        _stage_block(con, staging, sql_text(f"raw_records_from_{f.format}"), records,
                     with_path, f, 0, f.size_bytes)
    except duckdb.Error as err:
        raise ForensicsError(
            f"{f.source_file}: not a readable {f.format} file ({_first_line(err)})"
        ) from err
    if f.format == "csv":
        _stage_block(con, staging, sql_text("raw_records_from_csv_rejects"), records, params,
                     f, 1, 0)


def _csv_header(f: InputFile) -> list[str]:
    """The names of a CSV file's header row, read here so that DuckDB need not sniff the
    file: its sniffer gives up on a file with one broken line, which then cannot be
    quarantined line by line. An empty file (an archive of nothing) has none."""
    head = b""
    for block in decompressed_blocks(f.path, f.compression, f.source_file, 1 << 20):
        head += block
        if b"\n" in head:
            break
    try:
        text = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ForensicsError(f"{f.source_file}: the CSV header is not UTF-8") from None
    if not head.strip():
        return []
    names = next(csv.reader([text]), [])
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ForensicsError(f"{f.source_file}: the CSV header repeats {', '.join(repeated)}")
    if not names or "" in names:
        raise ForensicsError(f"{f.source_file}: the CSV header has an empty column name")
    return names


def _stage_lines(db: duckdb.DuckDBPyConnection, staging: Staging, reader: str, records: str,
                 params: dict[str, object], f: InputFile, chunk: int, lines: pa.Table) -> None:
    with _cursor(db) as con:
        con.register("raw_lines", lines)
        _stage_block(con, staging, reader, records, params, f, chunk, lines.nbytes)
        con.unregister("raw_lines")


def _stage_block(con: duckdb.DuckDBPyConnection, staging: Staging, reader: str,
                 records: str, params: dict[str, object], f: InputFile, block: int,
                 size: int) -> None:
    query = staging_query(reader, records, f.log_format)
    used = {k: v for k, v in params.items() if f"${k}" in query}
    staging.store(con, query, used, f.index, block, size)


def _finish(con: duckdb.DuckDBPyConnection, files: list[InputFile], skipped: list[str],
            staging: Path, out: Path, start: date, end: date, run_id: str,
            accounts: Path | None, params: IngestParams, report: Progress) -> IngestResult:
    """Judge the staged rows as a whole, record them, and publish the day partitions."""
    con.register("input_files", pa.table({
        "file_index": [f.index for f in files],
        "source_file": [f.source_file for f in files],
        "format": [ledger_format(f) for f in files],
        "compression": [f.compression for f in files],
        "size_bytes": [f.size_bytes for f in files],
        "sha256": [f.sha256 for f in files],
    }))
    window = {"start": start, "end": end}
    duplicates = sql_text("ingest_duplicates")
    con.execute(f"CREATE TABLE ingest_duplicates AS {duplicates}", window)
    quarantine_file = staging / "quarantine.parquet"
    con.execute(
        f"COPY ({sql_text('quarantine')}) TO {sql_string(str(quarantine_file))} (FORMAT parquet)",
        {**window, "run_id": run_id},
    )
    con.read_parquet(glob_literal(quarantine_file)).create_view("quarantine", replace=True)
    ledger = con.sql(sql_text("ingest_ledger"), params={**window, "run_id": run_id})
    ledger = ledger.to_arrow_table()
    quality = con.execute(sql_text("ingest_day_quality"), window).fetchall()
    by_reason = dict(con.execute(
        "SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY reason").fetchall())
    if not all(ledger.column("balanced").to_pylist()):
        raise RuntimeError("ingest ledger does not balance: rows were lost; this is a bug")

    db = connect(out / DB_NAME)
    try:
        _record(db, run_id, ledger, quarantine_file, files, start, end, accounts, out)
        over = [(day, share, worst) for day, _k, _b, share, worst in quality
                if share > params.max_bad_share]
        if over:
            day, share, worst = max(over, key=lambda row: row[1])
            raise BadInputCeiling(
                f"{len(over)} day(s) over the bad-row ceiling of {params.max_bad_share:.2%}; "
                f"worst {day}: {share:.2%} quarantined, worst files: {', '.join(worst[:3])}. "
                "Nothing was published; see the quarantine table in "
                f"{out / DB_NAME}"
            )
        days = [row[0] for row in quality]
        totals = {name: sum(ledger.column(name).to_pylist())
                  for name in ("rows_read", "rows_kept", "rows_quarantined",
                               "rows_out_of_range")}
        first, last = con.execute("SELECT min(day), max(day) FROM staged").fetchone()
        covered = (first, last) if first is not None else None
        if not params.allow_empty:
            refuse_short_days({row[0]: row[1] for row in quality}, totals, ledger.num_rows,
                              out, (start, end), covered, params)
        con.execute("CREATE TABLE requests_nullable AS SELECT "
                    + empty_columns(REQUESTS_COLUMNS))
        partitions = _write_partitions(con, out, days, params.parallel_files, report)
        create_requests_view(db, out)
    finally:
        db.close()
    return IngestResult(run_id=run_id, days=days, files=files, skipped_files=skipped,
                        by_reason=by_reason, partitions=partitions, covered=covered, **totals)


INGEST_TABLES_DDL = ";\n".join(table_ddl(t) for t in (INGEST_LEDGER, QUARANTINE))


def _record(db: duckdb.DuckDBPyConnection, run_id: str, ledger: pa.Table,
            quarantine_file: Path, files: list[InputFile], start: date, end: date,
            accounts: Path | None, out: Path) -> None:
    """Write this run's ledger and quarantine rows, replacing an earlier run's for the
    same files and days, so re-running a range never doubles the quarantine."""
    db.execute(INGEST_TABLES_DDL)
    db.register("run_ledger_rows", ledger)
    db.register("run_files", pa.table({"source_file": [f.source_file for f in files]}))
    window = {"start": start, "end": end}
    db.execute("BEGIN TRANSACTION")
    db.execute(
        "DELETE FROM quarantine WHERE source_file IN (SELECT source_file FROM run_files) "
        "AND (day IS NULL OR day BETWEEN $start AND $end)", window)
    db.execute("INSERT INTO quarantine SELECT * FROM read_parquet($path)",
               {"path": glob_literal(quarantine_file)})
    db.execute("DELETE FROM ingest_ledger WHERE run_id = $run_id", {"run_id": run_id})
    db.execute("INSERT INTO ingest_ledger SELECT *, $start, $end FROM run_ledger_rows", window)
    db.execute("COMMIT")
    load_accounts(db, accounts)
    export_accounts(db, out)


def create_requests_view(db: duckdb.DuckDBPyConnection, out: Path) -> None:
    """(Re)create the ``requests`` view over every day partition under ``out``."""
    create_partition_view(db, out, "requests", REQUESTS_COLUMNS)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0]
