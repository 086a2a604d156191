"""``make bench``'s own logic, without measuring anything: the regression guard's verdicts
and exit status (``bench/verdict.py``), the small-files layout cut from a day's logs, and
what the profile reads from DuckDB's JSON profiling output."""

from __future__ import annotations

import gzip
import json

import pytest

from bench.profile import summary as profile_summary
from bench.run import Measure, mean_measure, split_logs
from bench.verdict import Check, exit_status, summary

from conftest import jsonl_bytes, record


def test_a_check_is_met_within_its_bound_and_on_it():
    assert Check("ingest ÷ floor", 0.7, "at_least", 0.7).met
    assert not Check("ingest ÷ floor", 0.69, "at_least", 0.7).met
    assert Check("end to end ÷ floor", 8.0, "at_most", 8, "x").met
    assert not Check("peak RSS", 4.01, "at_most", 4, " GB").met


def test_one_check_short_makes_the_run_fail_and_says_which():
    met = Check("ingest ÷ floor", 0.9, "at_least", 0.7)
    short = Check("peak RSS", 9.5, "at_most", 4, " GB")
    assert exit_status([met]) == 0
    assert exit_status([met, short]) == 1
    assert exit_status([]) == 0
    assert summary([]) == ["The sections run have no targets."]
    table = summary([met, short])
    assert "| peak RSS | 9.50 GB | ≤ 4.00 GB | NOT MET |" in table
    assert table[-1] == "1 of 2 targets met; 1 fell short."
    assert short.line() == "- peak RSS: **9.50 GB** (target ≤ 4.00 GB): **NOT MET**"


def test_a_reference_run_twice_is_their_mean_time_at_the_larger_peak():
    floor = mean_measure("floor", [Measure("before", 14.0, 900.0, 3_000),
                                   Measure("after", 18.0, 1_000.0, 3_000)])
    assert (floor.seconds, floor.peak_rss_mb, floor.rows) == (16.0, 1_000.0, 3_000)
    with pytest.raises(ValueError, match="different row counts"):
        mean_measure("floor", [Measure("before", 14.0, 900.0, 3_000),
                               Measure("after", 18.0, 900.0, 2_999)])


def test_split_logs_cuts_a_days_rows_into_files_in_order(tmp_path):
    source = tmp_path / "logs"
    source.mkdir()
    lines = jsonl_bytes([record(i) for i in range(10)])
    (source / "requests-2026-04-01.jsonl.gz").write_bytes(gzip.compress(lines))
    split = split_logs(source, tmp_path / "split", 4, None)
    files = sorted(split.glob("*.jsonl.gz"))
    assert [len(gzip.decompress(f.read_bytes()).splitlines()) for f in files] == [2, 3, 2, 3]
    assert b"".join(gzip.decompress(f.read_bytes()) for f in files) == lines
    first = split_logs(source, tmp_path / "first", 3, 3)
    assert sorted(gzip.decompress(f.read_bytes()) for f in first.glob("*.gz")) == \
        sorted(lines.splitlines(keepends=True)[:3])


def test_the_profile_names_the_heaviest_operators_from_duckdbs_json(tmp_path):
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({
        "query": {"total_time": 2.0, "cpu_time": 3.5},
        "system": {"peak_buffer_memory": 3 * 2**20, "total_bytes_spilled": 0},
        "operator": [{"name": "RESULT_COLLECTOR", "timing": 0.0, "children": [
            {"name": "HASH_GROUP_BY", "timing": 1.5,
             "extra_info": {"Aggregates": ["count_star()"]}, "children": [
                 {"name": "TABLE_SCAN", "timing": 0.5, "extra_info": {"Table": "requests"}}]}]}],
    }))
    got = profile_summary(profile)
    assert (got["seconds"], got["cpu_seconds"], got["peak_buffer_mb"]) == (2.0, 3.5, 3.0)
    assert got["heaviest"] == [("HASH_GROUP_BY", "Aggregates: count_star()", 0.75),
                               ("TABLE_SCAN", "Table: requests", 0.25)]
