"""The validation gates with real Great Expectations on real files: what must pass, what must
stop the run, and what the failure says.

One small run (ingest, per-day tables, linking) is built once per module; each test that
corrupts data works on its own copy, writing behind the pipeline's back with Polars or
DuckDB the way a bug or a hand edit would.
"""

from __future__ import annotations

from pipeline.registry import REQUESTS_COLUMNS
from pipeline.validation.expectations import Rule, rules_for
from pipeline.validation.frames import to_pandas
from pipeline.warehouse import connect


def test_every_rule_names_registered_columns():
    names = {name for name, _ in REQUESTS_COLUMNS}
    assert all(set(r.needed) <= names for r in rules_for("requests"))
    p_rules = [r for r in rules_for("cluster_statistic") if r.column == "p_value"]
    assert {r.check for r in p_rules} >= {"between", "not_null"}



VALUES = ("SELECT k, share::DOUBLE AS share, sparse::FLOAT AS sparse, count FROM (VALUES "
          "(1::INTEGER, 0.25, NULL, 3::INTEGER), (2, 0.5, 0.75, NULL), (3, {third}, 1.0, 5)) "
          "AS t(k, share, sparse, count)")


def _gx_bounds(tmp_path, frame):
    """The between and not-null rules of a share in [0, 1] on ``frame`` in a real GX run."""
    from pipeline.validation.gx import Gx

    rules = (Rule("between", ("share",), "a share", low=0.0, high=1.0),
             Rule("between", ("sparse",), "a share", low=0.0, high=1.0),
             Rule("not_null", ("share",), "always set"))
    with Gx(tmp_path, "unit", "unit", None) as gx:
        return {(r.expectation, r.column): r for r in
                gx.validate("unit.values", "t", frame, rules, {}, ("k",))}


def test_values_frames_are_numpy_where_gx_can_compare_them_vectorized():
    con = connect()
    frame = to_pandas(con.sql(VALUES.format(third="0.5")), exact=False)
    assert [str(frame[c].dtype) for c in ("k", "share", "sparse", "count")] == \
        ["int64", "float64", "float64", "float64"]
    assert frame["sparse"].isna().tolist() == [True, False, False]
    hashes = to_pandas(con.sql("SELECT 18446744073709551615::UBIGINT AS h, "
                               "4000000000::UINTEGER AS n"), exact=False)
    assert hashes["h"].tolist() == [18446744073709551615]
    assert str(hashes["n"].dtype) == "int64" and hashes["n"].tolist() == [4000000000]
    kept = to_pandas(con.sql(VALUES.format(third="'NaN'::DOUBLE")), exact=False)
    assert str(kept["share"].dtype) == "double[pyarrow]"
    assert str(kept["sparse"].dtype) == "float64"


def test_a_nan_in_a_bounded_double_still_fails_and_a_null_still_passes(tmp_path):
    con = connect()
    clean = _gx_bounds(tmp_path / "clean", to_pandas(con.sql(VALUES.format(third="0.5")),
                                                     exact=False))
    assert all(r.success for r in clean.values())
    nan = _gx_bounds(tmp_path / "nan", to_pandas(con.sql(VALUES.format(third="'NaN'::DOUBLE")),
                                                 exact=False))
    between = nan[("expect_column_values_to_be_between", "share")]
    assert not between.success and between.unexpected_count == 1
    assert nan[("expect_column_values_to_not_be_null", "share")].success
    assert nan[("expect_column_values_to_be_between", "sparse")].success
