"""The registry against a real run: the sample's database, its folder and their comments
(the SQL files and the code: ``tests/unit/test_registry.py``).

In: ``pipeline.registry`` and the session's sample run. Out: failures naming the object,
file or column where the registry and the run differ.
"""

from __future__ import annotations

import pyarrow.parquet as pq

from pipeline.registry import REGISTRY
from pipeline.warehouse import (
    DB_NAME,
    PARTITION_DAY,
    object_comment,
)

from conftest import open_db
from stand_ins import comments, stored

"""How DuckDB's catalog spells a registered type."""


def test_the_sample_database_holds_exactly_the_registered_objects(sample_run):
    """Both directions: an object the registry does not declare fails, and so does a
    declared table or partitioned view that a full run does not leave in the database
    (every stored object is unconditional: a full run writes each, empty or not). Each
    object's kind, columns, types and key hold as declared."""
    con = open_db(sample_run / DB_NAME)
    try:
        found = {name: kind for name, kind in con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = 'main'").fetchall()}
        declared = {n: t for n, t in REGISTRY.items() if t.kind in ("table", "partitioned")}
        assert sorted(set(found) - set(declared)) == [], "objects the registry lacks"
        assert sorted(set(declared) - set(found)) == [], "registered objects not written"
        for name, table in declared.items():
            assert found[name] == ("VIEW" if table.kind == "partitioned" else "BASE TABLE"), name
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                [name]).fetchall()
            assert columns == stored(table), name
            key = ", ".join(f'"{k}"' for k in (("date",) if table.kind == "partitioned"
                                                else ()) + table.key)
            repeated = con.execute(f'SELECT count(*) FROM (SELECT {key} FROM "{name}" '
                                   "GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
            assert repeated == 0, f"{name}: {repeated} keys repeat"
    finally:
        con.close()


def test_the_sample_folder_holds_the_registered_files(sample_run):
    """Every folder of day partitions is a registered partitioned table, and every
    registered Parquet copy exists with the registered columns or a leading part of them."""
    partitioned = {p.parent.parent.name for p in sample_run.glob("*/date=*/part-0.parquet")}
    assert partitioned == {n for n, t in REGISTRY.items() if t.kind == "partitioned"}
    for table in REGISTRY.values():
        for name in table.files:
            names = pq.read_schema(sample_run / name).names
            assert names == [c.name for c in table.columns][:len(names)], name


def test_every_object_and_column_of_the_sample_database_has_its_comment(sample_run):
    """``duckdb_tables()``, ``duckdb_views()`` and ``duckdb_columns()`` of a finished run
    say what each object and column is, in the registry's words."""
    con = open_db(sample_run / DB_NAME)
    try:
        objects, columns = comments(con)
    finally:
        con.close()
    declared = {n: t for n, t in REGISTRY.items() if t.kind in ("table", "partitioned")}
    assert set(objects) == set(declared)
    for name, table in declared.items():
        assert objects[name] == object_comment(table), name
        extra = (PARTITION_DAY,) if table.kind == "partitioned" else ()
        for column in (*table.columns, *extra):
            assert columns[(name, column.name)] == column.meaning, (name, column.name)
    assert [key for key, comment in columns.items() if not comment] == []

