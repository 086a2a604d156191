"""Per-day feature tables on a day of sixty thousand requests: a re-run, on one thread or
many, writes the same bytes."""

from __future__ import annotations

from pipeline.features.features import FeatureParams, build_day_features

from conftest import DAY
from feature_rows import synthetic_day, write_accounts


def test_a_rerun_writes_byte_identical_partitions(tmp_path):
    out = tmp_path / "out"
    synthetic_day(out, 60_000)
    write_accounts(out, [{"account_id": f"acct-{i}", "rpm_limit": 50, "itpm_limit": 40_000}
                         for i in range(0, 300, 2)])
    first = {p: p.read_bytes() for p in build_day_features(out, DAY)}
    second = build_day_features(out, DAY, params=FeatureParams(threads=1))
    assert list(first) == second
    for path in second:
        assert path.read_bytes() == first[path], path
    assert not list(out.rglob("*.tmp"))
