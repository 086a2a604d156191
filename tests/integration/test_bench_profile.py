"""The benchmark's profile of linking's SQL runs each query as linking does: on the sample's
finished window it makes the rows the run made, and DuckDB's profile names its operators."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from bench.profile import WINDOW_TABLES, run_window_table, summary
from pipeline.warehouse import DB_NAME


@pytest.mark.parametrize("table", WINDOW_TABLES)
def test_a_linking_query_profiled_again_makes_the_runs_rows(sample_run, tmp_path, table):
    out = tmp_path / "out"
    shutil.copytree(sample_run, out, symlinks=True)
    with duckdb.connect(str(out / DB_NAME), read_only=True) as db:
        [(start, end, rows)] = db.execute(
            f"SELECT (SELECT min(window_start) FROM clusters), "
            f"(SELECT max(window_end) FROM clusters), (SELECT count(*) FROM {table})"
        ).fetchall()
    made = run_window_table(out, start, end, table, tmp_path / "profile.json")
    assert made == rows > 0
    profiled = summary(tmp_path / "profile.json")
    assert profiled["heaviest"] and profiled["cpu_seconds"] > 0
