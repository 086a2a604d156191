"""The registry against the SQL files and the code that makes each object (the sample
run's database and folder: ``tests/integration/test_registry_integration.py``).

In: ``pipeline.registry``, ``sql/`` and typed empty stand-ins of every input table.
Out: failures naming the object, file or column where the registry and the code differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import duckdb
import pytest

from pipeline import PROJECT_DIR
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
    PARTITION_DAY,
    POLARS_TYPE,
    describe_objects,
    empty_columns,
    empty_frame,
    object_comment,
    sql_text,
    table_ddl,
)

from stand_ins import StandIns, build_stand_ins, comments, parameters, spelled, stored

ROOT = PROJECT_DIR


SQL_FILES = sorted((ROOT / "sql").rglob("*.sql"))


"""How DuckDB's catalog spells a registered type."""


DAY = date(2026, 4, 1)


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


def test_the_comments_come_from_the_registry_quotes_and_all():
    """A meaning with an apostrophe ("each account's day") survives the SQL literal."""
    con = duckdb.connect()
    try:
        day = REGISTRY["account_day"]
        con.execute(table_ddl(REGISTRY["runs"]))
        con.execute(f"CREATE VIEW account_day AS SELECT {empty_columns(stored(day))}")
        assert describe_objects(con) == 2
        objects, columns = comments(con)
        assert objects["account_day"] == object_comment(day)
        assert "'s day" in objects["account_day"]
        assert objects["runs"].startswith("What ran, with which parameters")
        assert columns[("account_day", "date")] == PARTITION_DAY.meaning
        assert all(columns[("runs", c.name)] == c.meaning for c in REGISTRY["runs"].columns)
    finally:
        con.close()

