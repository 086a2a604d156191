"""The ``forensics`` command as a user runs it: a real process, its exit code and its output."""

from __future__ import annotations

import json
import shutil

import polars as pl

from pipeline.progress import stage_of
from pipeline.run.outcome import RECORD_KEYS
from pipeline.run.runner import RunRequest, run_pipeline

from conftest import DAY, forensics, query, record, write_logs


def test_ingest_prints_where_every_row_went(tmp_path):
    logs = tmp_path / "logs"
    write_logs(logs, "a", [record(i) for i in range(30)] + [record(99, status="x")])
    result = forensics("ingest", "--logs", str(logs), "--start", "2026-04-01", "--end",
                       "2026-04-01", "--out", str(tmp_path / "out"), "--max-bad-share", "0.5")
    assert result.returncode == 0, result.stderr
    assert "wrong type" in result.stdout
    assert query(tmp_path / "out" / "forensics.duckdb",
                 "SELECT rows_kept, rows_quarantined FROM ingest_ledger") == [(30, 1)]


BOOKKEEPING = {"forensics.duckdb", ".forensics.lock"}
"""What every run writes, failed or not: the runs ledger and the lock's last holder."""


def test_an_empty_night_fails_loudly_and_leaves_the_last_publication(tmp_path, sample_run):
    """The nightly run after a log-shipping outage: the day's file holds only an earlier
    day's rows. The run fails with exit 6 naming the day, and the case file published the
    night before (findings, reports, manifest) is left as it was."""
    out = tmp_path / "out"
    shutil.copytree(sample_run, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*")
              if p.is_file() and p.name not in BOOKKEEPING}
    logs = tmp_path / "logs"
    write_logs(logs, "late", [record(i) for i in range(3)])
    result = forensics("run", "--logs", str(logs), "--start", "2026-04-04", "--end",
                       "2026-04-04", "--out", str(out))
    assert result.returncode == 6, result.stderr
    assert "2026-04-04 kept no rows" in result.stderr
    assert "3 outside 2026-04-04..2026-04-04" in result.stderr
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*")
             if p.is_file() and p.name not in BOOKKEEPING}
    assert after == before
    assert query(out / "forensics.duckdb",
                 "SELECT status FROM runs ORDER BY started_at DESC LIMIT 1") == [("failed",)]


def test_every_long_stage_advances_while_it_runs(tmp_path):
    logs = tmp_path / "logs"
    write_logs(logs, "a", [record(i) for i in range(60)])
    calls: list[tuple[str, int, int]] = []
    run_pipeline(RunRequest(logs=logs, out=tmp_path / "out", start=DAY, end=DAY),
                 progress=lambda step, done, total: calls.append((step, done, total)))
    stages: dict[str, list[tuple[int, int]]] = {}
    for step, done, total in calls:
        stages.setdefault(stage_of(step), []).append((done, total))
    assert list(stages) == ["reading logs", "writing partitions", "validating raw partitions",
                            "per-day tables", "linking", "statistics", "scoring",
                            "validating window tables", "reports"]
    for stage, seen in stages.items():
        assert seen[-1][0] == seen[-1][1], f"{stage} did not end at 100%"
        assert [d for d, _ in seen] == sorted(d for d, _ in seen), f"{stage} went back"
    for stage in ("validating raw partitions", "per-day tables", "linking", "statistics",
                  "scoring", "validating window tables"):
        assert any(0 < done < total for done, total in stages[stage]), stage


def test_demo_json_is_one_object_with_the_runs_answers(sample_run):
    """What the nightly scheduler reads: standard output is one JSON object and nothing
    else, with the keys every command and outcome share."""
    record_ = json.loads((sample_run.parent / "demo.json").read_text(encoding="utf-8"))
    assert list(record_) == list(RECORD_KEYS)
    assert (record_["status"], record_["exit_code"], record_["error"]) == ("succeeded", 0, None)
    findings = pl.read_parquet(sample_run / "findings" / "cluster_findings.parquet")
    flagged = sorted(findings.filter(pl.col("verdict") == "flagged")["cluster_id"])
    assert flagged and record_["flagged"] == flagged
    assert record_["verdicts"]["flagged"] == len(flagged)
    assert record_["summary_pdf"] == str(sample_run / "reports" / "summary.pdf")
    assert record_["validation"]["passed"] and record_["validation"]["window"]["passed"]
    assert record_["ingest"]["logs_cover"] == ["2026-04-01", "2026-04-03"]


def test_ingest_json_has_the_runs_keys_with_nulls_for_the_stages_it_does_not_run(tmp_path):
    logs = tmp_path / "logs"
    write_logs(logs, "a", [record(i) for i in range(30)] + [record(99, status="x")])
    result = forensics("ingest", "--logs", str(logs), "--start", "2026-04-01", "--end",
                       "2026-04-01", "--out", str(tmp_path / "out"), "--max-bad-share", "0.5",
                       "--json")
    assert result.returncode == 0, result.stderr
    ingested = json.loads(result.stdout)
    assert list(ingested) == list(RECORD_KEYS)
    assert (ingested["command"], ingested["status"]) == ("ingest", "succeeded")
    assert ingested["ingest"]["rows_kept"] == 30
    assert ingested["ingest"]["quarantined_by_reason"] == {"wrong type": 1}
    assert ingested["validation"]["raw"]["passed"] and ingested["validation"]["window"] is None
    assert ingested["linking"] is ingested["verdicts"] is ingested["summary_pdf"] is None

