"""The validation gates with real Great Expectations on real files: what must pass, what must
stop the run, and what the failure says.

One small run (ingest, per-day tables, linking) is built once per module; each test that
corrupts data works on its own copy, writing behind the pipeline's back with Polars or
DuckDB the way a bug or a hand edit would.
"""

from __future__ import annotations

from pipeline.registry import REQUESTS_COLUMNS
from pipeline.validation.expectations import rules_for


def test_every_rule_names_registered_columns():
    names = {name for name, _ in REQUESTS_COLUMNS}
    assert all(set(r.needed) <= names for r in rules_for("requests"))
    p_rules = [r for r in rules_for("cluster_statistic") if r.column == "p_value"]
    assert {r.check for r in p_rules} >= {"between", "not_null"}

