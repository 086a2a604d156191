"""The validation gates with real Great Expectations on real files: what must pass, what must
stop the run, and what the failure says.

One small run (ingest, per-day tables, linking) is built once per module; each test that
corrupts data works on its own copy, writing behind the pipeline's back with Polars or
DuckDB the way a bug or a hand edit would.
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader

from pipeline.errors import ValidationFailed
from pipeline.registry import CLUSTER_FINDING, CLUSTER_STATISTIC, Table
from pipeline.run.runner import PipelineParams, RunRequest, run_pipeline, window_task
from pipeline.settings import ReportParams
from pipeline.validation.validation import (
    INVALID_STAMP,
    raise_if_failed,
    validate_raw,
    validate_window,
)
from pipeline.warehouse import DB_NAME, connect, partition_path

from conftest import DAY, query, record, write_logs


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A finished run over one day of valid logs (some with cache reads and writes)."""
    root = tmp_path_factory.mktemp("clean")
    rows = [record(i, cache_read_input_tokens=2048 if i % 5 == 0 else 0,
                   cache_creation_input_tokens=1500 if i % 7 == 0 else 0)
            for i in range(300)]
    write_logs(root / "logs", "requests", rows)
    result = run_pipeline(RunRequest(logs=root / "logs", out=root / "out", start=DAY, end=DAY),
                          PipelineParams())
    return root / "out", result.run_id


@pytest.fixture
def run(clean_run: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A private copy of the clean run, free to corrupt."""
    out, run_id = clean_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return copy, run_id


def rewrite_partition(out: Path, change: pl.Expr | None = None,
                      extra: pl.DataFrame | None = None) -> pl.DataFrame:
    """Change the day's requests partition in place, as a hand edit would."""
    path = partition_path(out, "requests", DAY)
    frame = pl.read_parquet(path, hive_partitioning=False)
    if change is not None:
        frame = frame.with_columns(change)
    if extra is not None:
        frame = pl.concat([frame, extra])
    frame.write_parquet(path)
    return frame


def test_a_clean_run_passes_every_suite_and_stores_its_results(run):
    out, run_id = run
    raw = validate_raw(out, [DAY], run_id)
    window = validate_window(out, run_id, min_baseline_clusters=5)
    assert raw.success, raw.message()
    assert window.success, window.message()
    assert set(raw.suites) == {"raw.requests.schema", "raw.requests", "raw.ingest_reconciliation"}
    assert {"window.clusters", "window.account_day", "window.account_day.schema"} <= set(
        window.suites)
    raise_if_failed(raw)
    stored = query(out / DB_NAME, "SELECT gate, count(*), bool_and(success) FROM "
                   "validation_result WHERE run_id = $r GROUP BY gate ORDER BY gate",
                   {"r": run_id})
    assert stored == [("raw", len(raw.results), True), ("window", len(window.results), True)]
    assert raw.docs is not None and raw.docs.name == "index.html" and raw.docs.is_file()
    assert raw.docs.is_relative_to(out / "validation")
    landing = (out / "validation" / "index.html").read_text(encoding="utf-8")
    assert f'href="{run_id}/raw/index.html"' in landing
    assert f'href="{run_id}/window/index.html"' in landing
    assert "expect_column_values_to_be_unique" in raw.docs.read_text(encoding="utf-8")
    evidence = out / "validation" / run_id / "raw" / "results" / "raw.requests--2026-04-01.json"
    assert json.loads(evidence.read_text())["success"] is True
    again = validate_raw(out, [DAY], run_id)
    assert query(out / DB_NAME, "SELECT count(*) FROM validation_result WHERE gate = 'raw'")[0][0] \
        == len(again.results)


def test_a_duplicated_request_id_fails_the_raw_gate_naming_it(run):
    out, run_id = run
    frame = pl.read_parquet(partition_path(out, "requests", DAY), hive_partitioning=False)
    rewrite_partition(out, extra=frame.head(1))
    outcome = validate_raw(out, [DAY], run_id)
    assert not outcome.success
    message = outcome.message()
    assert "raw.requests [2026-04-01]: expect_column_values_to_be_unique(request_id)" in message
    assert "req-000000" in message
    assert "raw.ingest_reconciliation" in message and "partition_rows" in message
    with pytest.raises(ValidationFailed) as err:
        raise_if_failed(outcome)
    assert err.value.exit_code == 5
    assert "raw validation failed" in str(err.value)
    assert "expect_column_values_to_be_unique(request_id)" in str(err.value)
    failed = query(out / DB_NAME, "SELECT suite, expectation, \"column\" FROM validation_result "
                   "WHERE run_id = $r AND NOT success ORDER BY ALL", {"r": run_id})
    assert ("raw.requests", "expect_column_values_to_be_unique", "request_id") in failed


def test_a_negative_token_count_fails_naming_the_value(run):
    out, run_id = run
    rewrite_partition(out, pl.when(pl.col("request_id") == "req-000042").then(-5)
                      .otherwise(pl.col("output_tokens")).alias("output_tokens"))
    outcome = validate_raw(out, [DAY], run_id)
    [failure] = outcome.failures
    assert failure.expectation == "expect_column_values_to_be_between"
    assert failure.column == "output_tokens"
    assert "output_tokens=-5 (request_id=req-000042)" in failure.message()


def test_a_timestamp_outside_the_day_fails(run):
    out, run_id = run
    late = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC) + timedelta(days=1, hours=2)
    rewrite_partition(out, pl.when(pl.col("request_id") == "req-000007")
                      .then(pl.lit(late).dt.cast_time_unit("us"))
                      .otherwise(pl.col("ts")).alias("ts"))
    outcome = validate_raw(out, [DAY], run_id)
    [failure] = outcome.failures
    assert (failure.column, failure.expectation) == ("ts", "expect_column_values_to_be_between")
    assert "2026-04-02T02:00:00+00:00" in failure.message()
    assert "req-000007" in failure.message()


def test_a_cache_read_below_the_cacheable_minimum_is_inconsistent(run):
    out, run_id = run
    rewrite_partition(out, pl.when(pl.col("request_id") == "req-000003").then(10)
                      .otherwise(pl.col("cache_read_input_tokens"))
                      .alias("cache_read_input_tokens"))
    [failure] = validate_raw(out, [DAY], run_id).failures
    assert failure.column == "cache_read_input_tokens"
    assert "cache_read_input_tokens=10" in failure.message()


def test_a_column_of_the_wrong_type_fails_the_schema_suite(run):
    out, run_id = run
    rewrite_partition(out, pl.col("status").cast(pl.String))
    outcome = validate_raw(out, [DAY], run_id)
    schema = [f for f in outcome.failures if f.suite == "raw.requests.schema"]
    assert [(f.expectation, f.column) for f in schema] == [("expect_column_type_to_be", "status")]
    assert "string" in schema[0].message()


def test_a_missing_partition_fails_rather_than_passing_empty(run):
    out, run_id = run
    outcome = validate_raw(out, [DAY, DAY + timedelta(days=1)], run_id)
    assert [f.expectation for f in outcome.failures] == ["expect_batch_to_exist"]


def create_window_table(out: Path, table: Table, rows: list[dict[str, object]]) -> None:
    """A window table in forensics.duckdb, typed from its registry entry."""
    db = connect(out / DB_NAME)
    try:
        columns = ", ".join(f"{name} {kind}" for name, kind in table.column_types)
        db.execute(f"CREATE OR REPLACE TABLE {table.name} ({columns})")
        names = [name for name, _ in table.column_types]
        db.executemany(f"INSERT INTO {table.name} VALUES ({', '.join('?' * len(names))})",
                       [[row.get(n) for n in names] for row in rows])
    finally:
        db.close()


def statistic_row(cluster_id: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "cluster_id": cluster_id, "family": "query_distribution",
        "statistic": "capability_coverage_entropy", "rule_id": "QD-01", "value": 2.1,
        "baseline_median": 1.2, "baseline_q1": 0.9, "baseline_q3": 1.5, "baseline_count": 40,
        "effect_size": 3.0, "test": "permutation", "p_value": 0.001, "p_adjusted": 0.01,
        "is_strong": True, "source_table": "account_capability_day",
    }
    row.update(fields)
    return row


def finding_row(cluster_id: str, n_accounts: int, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "cluster_id": cluster_id, "verdict": "clear", "risk_score": 0.1,
        "n_accounts": n_accounts, "n_requests": 10,
        "first_seen": datetime(2026, 4, 1, tzinfo=UTC),
        "last_seen": datetime(2026, 4, 1, 1, tzinfo=UTC), "strong_families": "",
        "signals": "", "hashes_only": False,
    }
    row.update(fields)
    return row


def cluster_sizes(out: Path) -> list[tuple[str, int]]:
    return query(out / DB_NAME, "SELECT cluster_id, count(*) FROM clusters GROUP BY ALL "
                 "ORDER BY ALL")


def test_statistics_and_findings_that_follow_the_registry_pass(run):
    out, run_id = run
    sizes = cluster_sizes(out)
    create_window_table(out, CLUSTER_STATISTIC, [statistic_row(c) for c, _ in sizes])
    create_window_table(out, CLUSTER_FINDING, [finding_row(c, n) for c, n in sizes])
    outcome = validate_window(out, run_id, min_baseline_clusters=30)
    assert outcome.success, outcome.message()
    assert {"window.cluster_statistic", "window.cluster_findings",
            "window.cluster_statistic.schema"} <= set(outcome.suites)


def test_a_nan_statistic_and_a_finding_without_a_cluster_fail_the_window_gate(run):
    out, run_id = run
    sizes = cluster_sizes(out)
    first = sizes[0][0]
    create_window_table(out, CLUSTER_STATISTIC, [
        statistic_row(first, value=math.nan),
        *(statistic_row(c) for c, _ in sizes[1:]),
    ])
    create_window_table(out, CLUSTER_FINDING, [
        *(finding_row(c, n) for c, n in sizes),
        finding_row("c-does-not-exist", 3),
    ])
    outcome = validate_window(out, run_id, min_baseline_clusters=30)
    failed = {(f.suite, f.expectation, f.column) for f in outcome.failures}
    assert ("window.cluster_statistic", "expect_column_values_to_be_between", "value") in failed
    assert ("window.cluster_findings", "expect_column_values_to_not_be_null",
            "cluster_account_count") in failed
    message = outcome.message()
    assert f"value=nan (cluster_id={first}, statistic=capability_coverage_entropy)" in message
    assert "cluster_id=c-does-not-exist" in message
    with pytest.raises(ValidationFailed, match="window validation failed"):
        raise_if_failed(outcome)
    raise_if_failed(outcome, allow_invalid=True)
    assert INVALID_STAMP == "built on data that failed validation"


def test_a_small_baseline_a_bad_p_value_and_a_wrong_cluster_size_fail(run):
    out, run_id = run
    sizes = cluster_sizes(out)
    create_window_table(out, CLUSTER_STATISTIC, [
        statistic_row(c, baseline_count=3 if i == 0 else 40, p_value=1.5 if i == 0 else 0.2)
        for i, (c, _) in enumerate(sizes)])
    db = connect(out / DB_NAME)
    try:
        db.execute("UPDATE clusters SET cluster_size = cluster_size + 1 WHERE cluster_id = $c",
                   {"c": sizes[0][0]})
    finally:
        db.close()
    failed = {(f.suite, f.column) for f in
              validate_window(out, run_id, min_baseline_clusters=30).failures}
    assert {("window.cluster_statistic", "baseline_count"),
            ("window.cluster_statistic", "p_value"),
            ("window.clusters", "cluster_size,member_count")} <= failed


def test_an_account_of_the_window_left_out_of_every_cluster_fails(run):
    out, run_id = run
    db = connect(out / DB_NAME)
    try:
        gone = db.execute("SELECT min(account_id) FROM clusters").fetchall()[0][0]
        db.execute("DELETE FROM clusters WHERE account_id = $a", {"a": gone})
    finally:
        db.close()
    failures = validate_window(out, run_id, min_baseline_clusters=30).failures
    assert any(f.column == "cluster_id" and f"account_id={gone}" in f.message()
               for f in failures), [f.message() for f in failures]


def test_nothing_is_written_outside_the_output_folder(run, tmp_path, monkeypatch):
    out, run_id = run
    monkeypatch.chdir(tmp_path)
    before = {p for p in tmp_path.rglob("*") if not p.is_relative_to(out)}
    validate_raw(out, [DAY], run_id)
    after = {p for p in tmp_path.rglob("*") if not p.is_relative_to(out)}
    assert after == before


def test_a_day_without_requests_has_an_empty_partition_that_passes(tmp_path):
    """Published on purpose (``allow_empty``): the empty day passes the raw suite."""
    logs = tmp_path / "logs"
    write_logs(logs, "requests", [record(i) for i in range(20)])
    nothing = date(2026, 4, 2)
    result = run_pipeline(RunRequest(logs=logs, out=tmp_path / "out", start=DAY, end=nothing),
                          PipelineParams.from_overrides({"allow_empty": True}))
    outcome = validate_raw(tmp_path / "out", [DAY, nothing], result.run_id)
    assert outcome.success, outcome.message()


def test_a_failed_gate_leaves_the_published_reports_as_they_were(run):
    """The gate runs before anything is published: yesterday's findings, reports and
    manifest keep their bytes; an investigator's --allow-invalid publishes beside them,
    stamping every page, and leaves ``latest`` where it was."""

    out, _ = run
    published = {p: p.read_bytes() for p in [
        out / "reports" / "summary.pdf", out / "findings" / "clusters.parquet",
        out / "findings" / "cluster_findings.parquet", out / "manifest.json"]}
    table = partition_path(out, "account_day", DAY)
    frame = pl.read_parquet(table, hive_partitioning=False)
    frame.with_columns(pl.lit(float("nan")).alias("cache_read_share")).write_parquet(table)
    (out.parent / "logs").mkdir(exist_ok=True)
    request = RunRequest(logs=out.parent / "logs", out=out, start=DAY, end=DAY)
    with pytest.raises(ValidationFailed, match=r"window\.account_day.*cache_read_share"):
        window_task(request, PipelineParams())
    assert {p: p.read_bytes() for p in published} == published
    window_task(request, PipelineParams(reports=ReportParams(allow_invalid=True)))
    summary = out / "publications" / f"{DAY}.invalid" / "reports" / "summary.pdf"
    assert (out / "reports" / "summary.pdf").read_bytes() == published[
        out / "reports" / "summary.pdf"]
    pages = PdfReader(summary).pages
    assert all(INVALID_STAMP.upper() in page.extract_text().upper() for page in pages)

