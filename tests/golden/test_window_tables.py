"""Golden cases of the window's SQL tables: input rows of the tables a query reads,
its parameters, and every row it must give, run on stand-ins typed by the registry.

In: ``tests/golden/<table>/*.json`` cases with ``tables`` (the per-day tables' cases, with
``requests``, run through the stage in ``tests/golden/test_day_tables.py``). Out: the query of
``sql/<stage>/<table>.sql`` compared row by row; a test that every registered table made by a
SQL file of its own has a case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.registry import REGISTRY
from pipeline.warehouse import sql_files, sql_text

from conftest import assert_golden_rows
from stand_ins import build_stand_ins

GOLDEN = Path(__file__).parent
SQL = {name.rsplit("/", 1)[-1]: name for name in sql_files()}
"""Every SQL file by the object it makes: ``case_rules`` is ``investigation/case_rules``."""
CASES = sorted(c for c in GOLDEN.glob("*/*.json") if "tables" in json.loads(c.read_text()))

UNORDERED = frozenset({"ingest_records", "ingest_duplicates"})
"""Queries whose rows come in no set order: ingest stages them as tables that later queries
join, and a sort would cost every block of every run time for nothing. Their rows are
compared sorted by the table's registered key."""


@pytest.fixture(scope="module")
def run_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    stand_ins = build_stand_ins(tmp_path_factory.mktemp("inputs"))
    stand_ins.day.close()
    yield stand_ins.run
    stand_ins.run.close()


def _parameter(value: object) -> object:
    """A case's parameter as the pipeline binds it: an ISO date string is a date."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    return value


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_case(run_db, case):
    spec = json.loads(case.read_text())
    table = case.parent.name
    run_db.execute("BEGIN")
    try:
        for name, rows in spec["tables"].items():
            run_db.register("_rows", pl.DataFrame(rows, infer_schema_length=None))
            run_db.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _rows")
            run_db.unregister("_rows")
        params = {k: _parameter(v) for k, v in spec.get("params", {}).items()}
        got = run_db.sql(sql_text(SQL[table]), params=params).pl().to_dicts()
    finally:
        run_db.execute("ROLLBACK")
    if table in UNORDERED:
        got.sort(key=lambda row: tuple(row[column] for column in REGISTRY[table].key))
    assert_golden_rows(table, got, spec["expected"])


def test_every_registered_sql_table_has_a_case():
    """A table made by a SQL file of its own is pinned by at least one case, so a change to
    the query that changes its rows fails here, in seconds, rather than in a whole run."""
    made_by_sql = {t.name for t in REGISTRY.values() if t.name in SQL and t.kind != "reader"}
    cased = {c.parent.name for c in GOLDEN.glob("*/*.json")}
    assert {"requests", "cluster_profile", "verdict_change"} <= made_by_sql
    assert sorted(made_by_sql - cased) == [], "registered SQL tables without a golden case"
