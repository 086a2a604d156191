"""The Airflow task functions without Airflow on real files: the ingest and per-day tasks run
their stages (raw validation included) and hand the next task paths, not data."""

from __future__ import annotations

import json
import logging
import shutil
from collections import defaultdict
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from pipeline.features.features import build_day_features
from pipeline.ingest.accounts import ACCOUNTS_SNAPSHOT
from pipeline.run import orchestration as orch
from pipeline.run import runner
from pipeline.settings import PipelineParams
from pipeline.validation.pages import safe_name

from conftest import DAY, query, record, write_logs
from task_results import WINDOW

RUN = "manual__2026-04-04T02:00:00+00:00"


def test_the_task_functions_run_the_pipeline_and_pass_paths(tmp_path, monkeypatch, caplog):
    logs, out = tmp_path / "logs", tmp_path / "out"
    write_logs(logs, "requests", [record(i) for i in range(200)])
    plan = orch.plan_range({"start": "2026-04-01", "end": "2026-04-01", "logs": str(logs),
                            "out": str(out), "lookback_days": 3}, RUN, {})
    with caplog.at_level(logging.INFO, logger="pipeline.run.orchestration"):
        days = orch.ingest_days(plan)
    raw = json.loads(next((out / "validation").glob("*/raw/outcome.json")).read_text())
    raw_expectations = raw["expectations"]
    orch_page = Path(safe_name(f"{RUN}:ingest"), "raw", "index.html")
    assert days == [{"day": "2026-04-01", "shard": 0, "shards": 1}]
    assert orch.sharded_days(days) == []
    written = orch.build_day(plan, days[0])
    assert written and all(p.startswith(str(out)) and "date=2026-04-01" in p for p in written)
    assert query(out / "forensics.duckdb", "SELECT run_id, status FROM runs") == [
        (f"{RUN}:ingest", "succeeded")]

    # The DAG tests run the window stages on the sample; here, only what the task hands
    # them, what it logs of their result and what its asset event says.
    calls = []

    def window_task(request, params, **kw):
        calls.append((request, params, kw))
        return WINDOW

    monkeypatch.setattr(runner, "window_task", window_task)
    events = defaultdict(SimpleNamespace)  # what Airflow hands a task: an accessor per asset
    with caplog.at_level(logging.INFO, logger="pipeline.run.orchestration"):
        assert orch.run_window(plan, events, "asset") == str(out / "forensics.duckdb")
    [(request, params, kw)] = calls
    assert (request.logs, request.out, request.start, request.end, request.accounts) == (
        logs, out, date(2026, 4, 1), date(2026, 4, 1), None)
    assert params == PipelineParams.from_overrides({"lookback_days": 3})
    assert kw == {"run_id": f"{RUN}:window"}
    logged = [r.getMessage() for r in caplog.records if r.name == "pipeline.run.orchestration"]
    assert logged[:3] == [
        "ingest 2026-04-01..2026-04-01: 1 file(s), 200 rows read: 200 kept, 0 quarantined, "
        "0 outside the range", "days written: 2026-04-01",
        f"raw validation passed {raw_expectations} expectations; pages: "
        f"{out / 'validation' / 'index.html'} ({out / 'validation' / orch_page})"]
    assert "verdicts: 1 flagged, 0 watch, 3 clear" in logged
    assert "window validation: no result recorded" in logged
    assert events["asset"].extra == {"out": str(out), "publication": None, "valid": False,
                                     "window_start": "2026-03-30", "window_end": "2026-04-01",
                                     "flagged": 1, "watch": 0, "clear": 3}


def test_the_task_functions_split_a_large_day_and_merge_it_into_its_whole_bytes(tmp_path,
                                                                               caplog):
    logs, out = tmp_path / "logs", tmp_path / "out"
    write_logs(logs, "requests", [record(i, account_id=f"acct-{i % 40}") for i in range(200)])
    plan = orch.plan_range({"start": "2026-04-01", "end": "2026-04-01", "logs": str(logs),
                            "out": str(out)}, RUN, {orch.ENV_SHARD_REQUESTS: "80"})
    with caplog.at_level(logging.INFO, logger="pipeline.run.orchestration"):
        work = orch.ingest_days(plan)
    assert work == [{"day": "2026-04-01", "shard": i, "shards": 3} for i in range(3)]
    [merge] = orch.sharded_days(work)
    assert merge == {"day": "2026-04-01", "shards": 3}
    assert ("per-day tables in shards of at most about 80 requests: 2026-04-01 in 3 shards"
            in caplog.messages)
    for unit in work:
        assert all("/shards/date=2026-04-01/" in p for p in orch.build_day(plan, unit))
    assert not (out / "account_day").exists()
    merged = orch.merge_day(plan, merge)

    whole = tmp_path / "whole"
    (whole / "requests").mkdir(parents=True)
    shutil.copytree(out / "requests" / "date=2026-04-01", whole / "requests" / "date=2026-04-01")
    if (out / ACCOUNTS_SNAPSHOT).exists():
        shutil.copy(out / ACCOUNTS_SNAPSHOT, whole / ACCOUNTS_SNAPSHOT)
    expected = {p.relative_to(whole): p.read_bytes() for p in build_day_features(whole, DAY)}
    assert {Path(p).relative_to(out): Path(p).read_bytes() for p in merged} == expected
