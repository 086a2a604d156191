"""Typed, empty stand-ins for every registered object, built from the registry alone: the
databases a SQL file binds against (``tests/unit/test_registry.py``) and runs on with a golden
case's rows inserted (``tests/golden/``).

In: ``pipeline.registry``. Out: ``StandIns`` connections, and ``parameters`` for a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipeline.registry import REGISTRY, Table
from pipeline.settings import FeatureParams
from pipeline.warehouse import connect, empty_columns, sql_text, table_ddl

DAY = date(2026, 4, 1)


# Frames the stages register for a SQL file beside the registered objects (pipeline/*.py).
CODE_INPUTS = {
    "link_type": "NULL::VARCHAR AS key_type, NULL::VARCHAR AS family",
    "_tie_role": "NULL::VARCHAR AS account_id, NULL::VARCHAR AS cluster_id, "
                 "NULL::VARCHAR AS role",
    "input_files": "NULL::BIGINT AS file_index, NULL::VARCHAR AS source_file, "
                   "NULL::VARCHAR AS format, NULL::VARCHAR AS compression, "
                   "NULL::BIGINT AS size_bytes, NULL::VARCHAR AS sha256",
    "raw_lines": "NULL::BIGINT AS source_line, NULL::VARCHAR AS text, NULL::BLOB AS line",
    "window_account_day": "NULL::VARCHAR AS account_id",
    "linked_labels": "NULL::VARCHAR AS account_id, NULL::BIGINT AS label",
    "range_requests": "NULL::VARCHAR AS source_file",
}


def parameters(text: str) -> dict[str, object]:
    """A value of the right type for every ``$name`` of a window, ingest or check query."""
    values: dict[str, object] = {**FeatureParams().sql_parameters(DAY), "start": DAY,
                                 "end": DAY, "run_id": "r", "source_file": "f",
                                 "compared": True, "bands_per_prompt": 4,
                                 "verdict": "flagged", "case_verdicts": ["flagged", "watch"],
                                 "cases_only": True, "cluster_id": "c", "account_id": "a",
                                 "registrant": ["payment_fingerprint"],
                                 "creation_kinds": ["created_burst", "creation_wave"]}
    return {name: values.get(name, 1) for name in set(re.findall(r"\$([a-z_]+)", text))}


@dataclass(frozen=True)
class StandIns:
    """Databases of typed, empty stand-ins built from the registry alone. ``day``: one
    day's requests (no ``date``: a single partition) and the accounts, what a per-day
    table reads; ``run``: every stored object, the staged records, the frames the stages
    register and the CSV reader's table of rejected lines; ``files``: the parameters of
    the readers of a file, naming files written for them."""

    day: duckdb.DuckDBPyConnection
    run: duckdb.DuckDBPyConnection
    files: dict[str, dict[str, object]]


def build_stand_ins(folder: Path) -> StandIns:
    """Both stand-in databases, and the files the readers read, written into ``folder``."""
    day = connect()
    day.execute(f"CREATE TABLE requests AS SELECT "
                f"{empty_columns(REGISTRY['requests'].column_types)} WHERE false")
    day.execute(table_ddl(REGISTRY["accounts"]))
    con = connect()
    for table in REGISTRY.values():
        if table.kind == "table":
            con.execute(table_ddl(table))
        elif table.kind == "partitioned":
            con.execute(f"CREATE TABLE {table.name} AS SELECT "
                        f"{empty_columns(table.column_types)}, NULL::DATE AS date WHERE false")
    con.execute("CREATE TABLE staged AS SELECT NULL::INTEGER AS file_index, "
                f"{empty_columns(REGISTRY['ingest_records'].column_types)} WHERE false")
    for name, source in (("ingest_duplicates", "ingest_duplicates"),
                         ("raw_records", "raw_records_from_jsonl"),
                         ("requests_nullable", "requests")):
        con.execute(f"CREATE TABLE {name} AS SELECT "
                    f"{empty_columns(REGISTRY[source].column_types)} WHERE false")
    con.execute("CREATE TABLE source_records AS SELECT "
                f"{empty_columns(REGISTRY['raw_records_from_jsonl'].column_types)}, "
                "NULL::JSON AS j WHERE false")
    for name, columns in CODE_INPUTS.items():
        con.execute(f"CREATE TABLE {name} AS SELECT {columns} WHERE false")
    for name, source in (("previous_findings", "cluster_findings"),
                         ("previous_clusters", "clusters")):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {source}")
    (folder / "in.csv").write_text("request_id\n", encoding="utf-8")
    con.execute(f"COPY (SELECT 'r' AS request_id) TO '{folder / 'in.parquet'}'")
    files: dict[str, dict[str, object]] = {
        "raw_records_from_csv": {"path": str(folder / "in.csv"),
                                 "columns": {"request_id": "VARCHAR"}},
        "raw_records_from_parquet": {"path": str(folder / "in.parquet")}}
    con.execute(sql_text("raw_records_from_csv"), files["raw_records_from_csv"])
    return StandIns(day, con, files)


SPELLED = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


def spelled(columns: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return [(name, SPELLED.get(kind, kind)) for name, kind in columns]


def stored(table: Table) -> list[tuple[str, str]]:
    """The columns of the object as ``forensics.duckdb`` shows it: a partitioned table's
    view adds the partition's ``date``."""
    extra = (("date", "DATE"),) if table.kind == "partitioned" else ()
    return spelled((*table.column_types, *extra))


def comments(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, str | None],
                                                        dict[tuple[str, str], str | None]]:
    """Each object's comment and each of its columns' comments, in the main schema."""
    objects = dict(con.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main' "
        "UNION ALL SELECT view_name, comment FROM duckdb_views() "
        "WHERE schema_name = 'main' AND NOT internal").fetchall())
    columns = {(t, c): comment for t, c, comment in con.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main'").fetchall()}
    return objects, columns
