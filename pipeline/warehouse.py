"""The DuckDB side of the pipeline: connections, the SQL files, the output folder's lock.

In: an output folder; the registry's tables (``pipeline.registry``). Out: connections set up
the same way everywhere (UTC, the macros of ``sql/macros.sql``), the text of
``sql/<stage>/<table>.sql`` files, DDL and typed empty stand-ins generated from the registry, and
an exclusive lock so that two runs never write one folder at once. The
``forensics.duckdb`` file is written by one process at a time (DuckDB locks it whole), so
per-day work writes Parquet and only the step that holds this lock opens the database.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from pipeline import PROJECT_DIR
from pipeline.errors import ForensicsError, OutputLocked
from pipeline.registry import REGISTRY, Column, Table
from pipeline.settings import ENV_MEMORY_LIMIT

DB_NAME = "forensics.duckdb"
LOCK_NAME = ".forensics.lock"
STAGED_FOLDER = ".staged"
"""In the output folder: the parts of a DAG run's logs staged by its ``stage_logs`` tasks,
until its ingest has published them (``ingest.stage_part``)."""
FAILURES_NAME = "task_failures.jsonl"
"""In the output folder: one JSON line per Airflow task that failed for good, written by
the DAGs' failure callback (``run.orchestration.record_failure``). Not in the manifest: it
records the scheduler, not data."""
PARTITION_FILE = "part-0.parquet"
SQL_DIR = PROJECT_DIR / "sql"
"""One folder per stage (``sql/<stage>/``) and the shared ``macros.sql``."""


@cache
def sql_files() -> dict[str, Path]:
    """Every SQL file by its name: its path under its stage's folder without ``.sql``
    (``account_day``, ``reports/tables``, ``investigation/case_rules``). Callers name a
    table's SQL, not the stage that owns it, so a file moving between stages changes no
    caller; two files of one name would make a name ambiguous and are refused."""
    found: dict[str, Path] = {}
    for path in sorted(SQL_DIR.rglob("*.sql")):
        parts = path.relative_to(SQL_DIR).with_suffix("").parts
        name = "/".join(parts[1:] if len(parts) > 1 else parts)
        if name in found:
            raise RuntimeError(f"two SQL files named {name}: {found[name]} and {path}")
        found[name] = path
    return found


@cache
def sql_text(name: str) -> str:
    """The text of the SQL file ``name`` (see ``sql_files``): the one place a table's SQL
    lives."""
    return sql_path(name).read_text(encoding="utf-8")


def sql_path(name: str) -> Path:
    """Where the SQL file ``name`` lives, for provenance (hashes in the manifest)."""
    try:
        return sql_files()[name]
    except KeyError:
        raise FileNotFoundError(f"no SQL file {name} under {SQL_DIR}") from None


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, as the ledger and the manifest record them."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def records(db: duckdb.DuckDBPyConnection, query: str,
            params: dict[str, object] | None = None) -> list[dict[str, object]]:
    """The rows of a query as plain dicts, for the few answers that leave as JSON or STIX
    rather than as frames."""
    cursor = db.execute(query, params or {})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def connect(database: Path | str = ":memory:", *, threads: int | None = None,
            memory_limit: str | None = None,
            read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection in UTC with the shared macros, so every stage reads time the same way.

    A database file's relative paths resolve against its own folder, never the working
    directory: the views over day partitions name them relative to the database, so a
    moved or copied output folder reads its own files (and not an ``out/`` that happens
    to be where the command runs). Every other path the pipeline reads goes through
    ``glob_literal``, which makes it absolute."""
    config: dict[str, str | int] = {"autoinstall_known_extensions": "false"}
    if str(database) != ":memory:":
        config["file_search_path"] = str(Path(database).resolve().parent)
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    try:
        con = duckdb.connect(str(database), read_only=read_only, config=config)
    except duckdb.IOException as err:
        if "Could not set lock" not in str(err):
            raise
        holder = re.search(r"\(PID (\d+)\)", str(err))
        raise OutputLocked(
            f"{database} is open in another process"
            f"{f' (PID {holder.group(1)})' if holder else ''}, an investigator's session "
            "perhaps; close it and run again") from err
    con.execute("SET TimeZone = 'UTC'")
    con.execute(sql_text("macros"))
    return con


@contextmanager
def spill_folder(out: Path, name: str) -> Iterator[Path]:
    """A folder in ``out`` for DuckDB to spill to, removed afterwards. In the output folder
    rather than the system's temporary folder, which may be memory itself; named like
    ``_temp_path`` so that ``remove_dead_temp_files`` removes a killed process's."""
    folder = _temp_path(out / name)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def bounded_connection(out: Path, name: str, memory_limit: str, *,
                       database: Path | str = ":memory:",
                       threads: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection (``connect``) under ``memory_limit`` whose excess spills to the folder
    ``name`` in ``out``; closed, and the folder removed, on leaving. A query that could
    not spill enough stops the stage saying which ceiling it hit and how to raise it."""
    with spill_folder(out, name) as spill:
        con = connect(database, threads=threads, memory_limit=memory_limit)
        try:
            con.execute("SET temp_directory = $dir", {"dir": str(spill)})
            yield con
        except duckdb.OutOfMemoryException as err:
            raise ForensicsError(
                f"DuckDB ran out of its memory ceiling of {memory_limit} ({name} under "
                f"{out}): set {ENV_MEMORY_LIMIT} higher (for example 8GiB) and run again"
            ) from err
        finally:
            con.close()


def release_buffers(db: duckdb.DuckDBPyConnection) -> None:
    """Return to the system the buffers DuckDB keeps after a query, before the caller
    holds a large result in frames beside them. DuckDB keeps what a finished query freed
    for the next one, up to its ceiling, and only lets it go under pressure: the window's
    evidence query left 2.3 GiB held while linking worked on its result in Polars.
    Lowering the ceiling for a moment is that pressure (what cannot be let go spills);
    the ceiling is then what it was."""
    limit = db.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    try:
        db.execute("SET memory_limit = '64MiB'")
    except duckdb.OutOfMemoryException:
        pass  # what could not be let go stays held: the stage goes on as it would have
    finally:
        db.execute("SET memory_limit = $limit", {"limit": limit})


@contextmanager
def output_lock(out: Path, holder: dict[str, str]) -> Iterator[None]:
    """Hold the output folder for one run; a second run is refused, naming the first.

    ``flock`` is released by the kernel when the holder dies, so a crashed run never
    leaves a stale lock behind.
    """
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            first = os.read(fd, 4096).decode("utf-8", "replace")
            raise OutputLocked(locked_message(out, first)) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": str(os.getpid()), **holder}).encode())
        os.fsync(fd)
        yield
    finally:
        os.close(fd)


def locked_message(out: Path | str, holder_text: str) -> str:
    """The refusal of a second run, naming the first from what its lock holds (a JSON
    object of its pid, run id, command and start): one wording for every kind of lock, a
    local folder's or a bucket's, so an operator and a scheduler's retry rule see one."""
    text = holder_text.strip() or "{}"
    try:
        who = ", ".join(f"{k} {v}" for k, v in json.loads(text).items())
    except (json.JSONDecodeError, AttributeError):
        who = text
    return f"{out} is in use by another run ({who}); wait for it to finish"


def _temp_path(target: Path) -> Path:
    """Where ``target`` is written before its rename: hidden, beside it, named by the
    writing process, so that ``remove_dead_temp_files`` can tell a dead writer's."""
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def remove_dead_temp_files(out: Path) -> list[Path]:
    """Remove the temporary files and folders (``_temp_path``, a publication's staging
    folder) under ``out`` whose writing process no longer exists (killed before its
    rename), and return them."""
    removed = []
    for path in sorted(out.rglob(".*.tmp")):
        pid = path.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not _alive(int(pid)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_copy(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, object],
                target: Path) -> None:
    """Write a query's result to ``target`` as Parquet so readers see the old file or the new.

    The file is written under a temporary name in the same folder, flushed to disk, then
    renamed over the target: rename is atomic within a file system, so a crash at any
    point leaves the previous version (or, for a new day, nothing), never half a file.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(target)
    try:
        con.execute(
            f"COPY ({query}) TO {sql_string(str(tmp))} (FORMAT parquet, COMPRESSION zstd, "
            "ROW_GROUP_SIZE 122880)",
            params,
        )
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        tmp.unlink(missing_ok=True)


def glob_literal(path: Path | str) -> str:
    """``path`` for DuckDB's file readers: absolute (a database's relative paths resolve
    against its own folder, see ``connect``), and with each ``*``, ``?`` and ``[`` made a
    one-character class, since the readers take every string as a glob: an input named
    ``p*.parquet`` or an output folder named ``run[1]`` means itself."""
    return _escape_glob(str(Path(path).absolute()))


def _escape_glob(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def partition_path(out: Path, table: str, day: date) -> Path:
    """Where one day of a per-day table lives: ``<out>/<table>/date=YYYY-MM-DD/part-0.parquet``.

    Every per-day table (the requests and the compact tables derived from them) has this
    layout, so a day is replaced whole by one atomic rename and views glob one pattern.
    """
    return out / table / f"date={day.isoformat()}" / PARTITION_FILE


def create_partition_view(db: duckdb.DuckDBPyConnection, out: Path, table: str,
                          columns: tuple[tuple[str, str], ...]) -> None:
    """(Re)create the view ``table`` over every day partition of it under ``out``.

    The partitions are named relative to the database's folder when they are under it (the
    output folder's own ``forensics.duckdb``), so the folder can be moved or copied: opened
    with ``connect``, or by any DuckDB client started in the folder, a copy reads its own
    files, and a moved folder is not left pointing at a path that is gone. A view cannot
    take bound parameters, so the path is written into it as a quoted literal; it names
    where the partitions are, never a data value. With no partition yet the view is empty
    but typed, so queries against it still bind.
    """
    root = (out / table).resolve()
    if any(root.glob(f"date=*/{PARTITION_FILE}")):
        home = db.execute("SELECT path FROM duckdb_databases() "
                          "WHERE database_name = current_database()").fetchone()
        folder = Path(home[0]).resolve().parent if home and home[0] else None
        where = (_escape_glob(str(root.relative_to(folder)))
                 if folder is not None and root.is_relative_to(folder)
                 else glob_literal(root))
        glob = sql_string(str(Path(where) / "date=*" / PARTITION_FILE))
        db.execute(
            f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({glob}, "
            "hive_partitioning = true, hive_types = {'date': DATE})"
        )
    else:
        db.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT {empty_columns(columns)}, "
                   "NULL::DATE AS date WHERE false")


Columns = tuple[tuple[str, str], ...]


def cast_columns(columns: Columns) -> str:
    """``CAST(c AS T) AS c, ...``: a select list that holds a table to its declared types."""
    return ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in columns)


def empty_columns(columns: Columns) -> str:
    """``NULL::T AS c, ...``: the select list of a typed, empty stand-in for a table."""
    return ", ".join(f"NULL::{kind} AS {name}" for name, kind in columns)


def table_ddl(table: Table, *, primary_key: bool = False) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for a registered table, so a table created before its
    first rows (a ledger, an absent accounts file) has the schema the registry declares
    and the stage that fills it writes. ``primary_key`` enforces the registered key, for
    the tables whose writers upsert on it (``ON CONFLICT``, ``INSERT OR REPLACE``)."""
    columns = [f'"{c.name}" {c.kind}' for c in table.columns]
    if primary_key:
        columns.append(f"PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE IF NOT EXISTS {table.name} ({', '.join(columns)})"


POLARS_TYPE: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "JSON": pl.String(),
    "VARCHAR[]": pl.List(pl.String()),
    "BOOLEAN": pl.Boolean(),
    "INTEGER": pl.Int32(),
    "BIGINT": pl.Int64(),
    "UBIGINT": pl.UInt64(),
    "DOUBLE": pl.Float64(),
    "DATE": pl.Date(),
    "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
}
"""The polars type DuckDB gives each registered column type on the way out."""


def empty_frame(table: Table, names: tuple[str, ...] | None = None) -> pl.DataFrame:
    """A typed, empty frame of a registered table (or of the columns ``names`` of it): the
    stand-in a stage registers when the table is absent, so its SQL still binds."""
    kinds = dict(table.column_types)
    return pl.DataFrame(schema={n: POLARS_TYPE[kinds[n]] for n in names or kinds})


def write_bytes_atomic(target: Path, content: bytes) -> None:
    """Write ``content`` to ``target`` so readers see the old file or the new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(target)
    try:
        with open(tmp, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def publish_frame(db: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame,
                  order_by: str, target: Path | None = None) -> None:
    """Replace ``table`` in the database with ``frame`` and, with ``target``, write the
    same rows as Parquet atomically: a window stage's result, queryable and published."""
    db.register("_published_frame", frame.to_arrow())
    try:
        db.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _published_frame "
                   f"ORDER BY {order_by}")
    finally:
        db.unregister("_published_frame")
    if target is not None:
        write_parquet_atomic(frame, target)


def write_parquet_atomic(frame: pl.DataFrame, target: Path) -> None:
    """A frame as Parquet (zstd, no statistics: same rows, same bytes), atomically."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=False)
    write_bytes_atomic(target, buffer.getvalue())


PARTITION_DAY = Column("date", "DATE", "the UTC day of the partition the row is read from "
                       "(<table>/date=YYYY-MM-DD/part-0.parquet)")
"""The column a partitioned object's view adds to the registered ones."""


def object_comment(table: Table) -> str:
    """What ``duckdb_tables()`` or ``duckdb_views()`` says of an object: its meaning, what
    a row is, its key, and the stage and file that make it."""
    key = ", ".join(table.key)
    if table.kind == "partitioned":
        key = f"{key} within a day (date, {key} in the view)"
    return (f"{table.meaning[:1].upper()}{table.meaning[1:]}. Grain: {table.grain}. "
            f"Key: {key}. Made by {table.source} ({table.layer} stage).")


def describe_objects(db: duckdb.DuckDBPyConnection) -> int:
    """``COMMENT ON`` every registered table and view the database holds, and on each of
    their columns, from the registry: ``duckdb_tables()``, ``duckdb_views()`` and
    ``duckdb_columns()`` then explain the database to an investigator who opens it
    without this code. A comment goes with the object when a stage replaces it, so every
    command that writes the database ends with this. Returns the objects described."""
    present = dict(db.execute(
        "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE schema_name = 'main' "
        "UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() "
        "WHERE schema_name = 'main' AND NOT internal").fetchall())
    statements = []
    for table in REGISTRY.values():
        kind = present.get(table.name)
        if kind is None or table.kind not in ("table", "partitioned"):
            continue
        statements.append(f'COMMENT ON {kind} "{table.name}" IS '
                          f"{sql_string(object_comment(table))}")
        extra = (PARTITION_DAY,) if table.kind == "partitioned" else ()
        statements += [f'COMMENT ON COLUMN "{table.name}"."{column.name}" IS '
                       f"{sql_string(column.meaning)}" for column in (*table.columns, *extra)]
    if statements:
        db.execute(";\n".join(statements))
    return sum(1 for s in statements if not s.startswith("COMMENT ON COLUMN"))


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal, for the statements that take no bound parameter
    (``COMMENT ON``, ``COPY ... TO``)."""
    return "'" + text.replace("'", "''") + "'"
