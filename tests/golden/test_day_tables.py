"""Golden cases of the per-day tables, run through the stage itself
(``features.build_day_features``) on a day's requests built from each case (see README.md
here for the case format).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.features.features import FeatureParams, build_day_features
from pipeline.registry import FEATURE_TABLES

from conftest import DAY, assert_golden_rows
from feature_rows import read, request_row, write_accounts, write_requests

GOLDEN = Path(__file__).parent
CASES = sorted(c for c in GOLDEN.glob("*/*.json") if "requests" in json.loads(c.read_text()))


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_case(tmp_path, case):
    spec = json.loads(case.read_text())
    table = case.parent.name
    out = tmp_path / "out"
    rows = [request_row(n, **r) for n, r in enumerate(spec["requests"], start=1)]
    write_requests(out, rows)
    if "accounts" in spec:
        write_accounts(out, spec["accounts"])
    build_day_features(out, DAY, params=FeatureParams(**spec.get("params", {})))
    assert_golden_rows(table, read(out, table), spec["expected"])


def test_every_per_day_table_has_a_golden_case_and_every_case_a_table():
    assert {case.parent.name for case in CASES} == {t.name for t in FEATURE_TABLES}
