"""The registry against the SQL files, the code that makes each object, and a real run.

In: ``pipeline.registry`` and ``sql/``; for the slow test, the sample run's output folder.
Out: failures naming the object, file or column where the registry and reality differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.registry import (
    CAPABILITIES,
    DEFAULT_LINK_TYPES,
    FAMILIES,
    REGISTRY,
    REPORT_QUERIES,
    SQL_HELPERS,
    STATISTIC_TESTS,
    VERDICTS,
    QuarantineReason,
    Table,
)
from pipeline.settings import FeatureParams
from pipeline.warehouse import (
    DB_NAME,
    POLARS_TYPE,
    empty_frame,
    sql_text,
)

from conftest import open_db
from stand_ins import StandIns, build_stand_ins, parameters

ROOT = Path(__file__).resolve().parent.parent
SQL_FILES = sorted((ROOT / "sql").rglob("*.sql"))
SPELLED = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
"""How DuckDB's catalog spells a registered type."""
DAY = date(2026, 4, 1)


def spelled(columns: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return [(name, SPELLED.get(kind, kind)) for name, kind in columns]


def stored(table: Table) -> list[tuple[str, str]]:
    """The columns of the object as ``forensics.duckdb`` shows it: a partitioned table's
    view adds the partition's ``date``."""
    extra = (("date", "DATE"),) if table.kind == "partitioned" else ()
    return spelled((*table.column_types, *extra))


# --- the registry's own shape -----------------------------------------------------------


def test_every_sql_file_is_a_registered_object_or_helper():
    stems = [path.stem for path in SQL_FILES]
    assert len(stems) == len(set(stems)), "two SQL files share a name"
    unregistered = sorted(set(stems) - set(REGISTRY) - set(SQL_HELPERS) - set(REPORT_QUERIES))
    assert unregistered == [], f"sql/ files with no registry entry: {unregistered}"
    assert not set(REGISTRY) & set(SQL_HELPERS)
    assert not set(REGISTRY) & set(REPORT_QUERIES)
    assert set(SQL_HELPERS) <= set(stems)


def test_every_report_query_is_declared_with_what_its_file_says_a_row_is():
    """Both directions between ``sql/publish/reports/`` and ``REPORT_QUERIES``, and each file's
    header opens with the declared grain, so the two cannot drift apart."""
    folder = ROOT / "sql" / "publish" / "reports"
    assert {p.stem for p in folder.glob("*.sql")} == set(REPORT_QUERIES)
    for name, grain in REPORT_QUERIES.items():
        header = " ".join(line[2:].strip() for line in
                          (folder / f"{name}.sql").read_text(encoding="utf-8").splitlines()
                          if line.startswith("--"))
        assert header.startswith(f"reports/{name}: {grain}"), name


def test_every_object_names_the_file_that_makes_it():
    for table in REGISTRY.values():
        source = ROOT / table.source
        assert source.is_file(), f"{table.name}: {table.source} does not exist"
        if source.suffix == ".py":
            assert table.name in source.read_text(encoding="utf-8"), \
                f"{table.name}: {table.source} never names it"


def test_every_object_has_a_grain_a_key_and_meaningful_columns():
    for table in REGISTRY.values():
        names = [c.name for c in table.columns]
        assert table.grain and table.meaning, table.name
        assert table.key and set(table.key) <= set(names), table.name
        assert len(names) == len(set(names)), f"{table.name} repeats a column"
        for column in table.columns:
            assert column.meaning, f"{table.name}.{column.name} has no meaning"
            assert column.kind in POLARS_TYPE, f"{table.name}.{column.name}: {column.kind}"
        assert empty_frame(table).columns == names


def test_enumerations_are_unique():
    for values in (FAMILIES, VERDICTS, CAPABILITIES, STATISTIC_TESTS,
                   tuple(QuarantineReason), tuple(t.key_type for t in DEFAULT_LINK_TYPES)):
        assert values and len(values) == len(set(values)), values


def test_the_sql_writes_the_registered_quarantine_reasons_and_link_kinds():
    """The ingest SQL's reasons (its lower-case literals of several words) are exactly the
    registered ones, and every registered evidence kind is one the linking SQL writes."""
    ingest = "".join(sql_text(n) for n in ("ingest_records", "quarantine",
                                            "raw_records_from_csv_rejects"))
    reasons = set(re.findall(r"'([a-z]+(?: [a-z_]+)+)'", ingest))
    assert reasons == {r.value for r in QuarantineReason}
    links = sql_text("account_link_key") + sql_text("account_link_evidence")
    unwritten = [t.key_type for t in DEFAULT_LINK_TYPES if f"'{t.key_type}'" not in links]
    assert unwritten == []


# --- every SQL file binds to the registered columns -------------------------------------

@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIns]:
    built = build_stand_ins(tmp_path_factory.mktemp("inputs"))
    yield built
    built.day.close()
    built.run.close()


def _result(stand_ins: StandIns, table: Table, text: str) -> list[tuple[str, str]]:
    if table.layer == "features":
        con = stand_ins.day
        params = {k: v for k, v in FeatureParams().sql_parameters(DAY).items()
                  if f"${k}" in text}
    else:
        con = stand_ins.run
        params = stand_ins.files.get(table.name) or parameters(text)
    relation = con.sql(text, params=params)
    return [(c, str(t)) for c, t in zip(relation.columns, relation.types, strict=True)]


@pytest.mark.parametrize("path", [p for p in SQL_FILES if p.stem in REGISTRY
                                  and REGISTRY[p.stem].source.endswith(f"/{p.name}")],
                         ids=lambda p: p.stem)
def test_every_sql_file_binds_to_its_registered_columns(stand_ins, path):
    """Bound against stand-ins made from the registry, the file yields the registered
    columns and types. A table that code completes from the SQL's rows (``made_by`` a
    module) may add columns after them (p-values, the run's range), and its types are
    those of its DDL, which the sample run's database is checked against."""
    table = REGISTRY[path.stem]
    got = _result(stand_ins, table, path.read_text(encoding="utf-8"))
    want = spelled(table.column_types)
    if table.source.startswith("sql/"):
        assert got == want, f"{table.name}: the SQL makes {got}, the registry says {want}"
    else:
        names = [c.name for c in table.columns]
        assert got and [c for c, _ in got] == names[:len(got)], f"{table.name}: {got}"


# --- the registry against a real run -----------------------------------------------------


@pytest.mark.slow
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


@pytest.mark.slow
def test_the_sample_folder_holds_the_registered_files(sample_run):
    """Every folder of day partitions is a registered partitioned table, and every
    registered Parquet copy exists with the registered columns or a leading part of them."""
    partitioned = {p.parent.parent.name for p in sample_run.glob("*/date=*/part-0.parquet")}
    assert partitioned == {n for n, t in REGISTRY.items() if t.kind == "partitioned"}
    for table in REGISTRY.values():
        for name in table.files:
            names = pq.read_schema(sample_run / name).names
            assert names == [c.name for c in table.columns][:len(names)], name
