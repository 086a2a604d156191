"""The DAGs' helpers without Airflow: plans from params and the environment, and the tasks."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from pipeline import settings
from pipeline.errors import BadInputCeiling, ForensicsError
from pipeline.run import orchestration as orch
from pipeline.run import runner
from pipeline.settings import PipelineParams
from pipeline.warehouse import FAILURES_NAME

from task_results import WINDOW

RUN = "manual__2026-04-04T02:00:00+00:00"


def test_unset_dag_params_are_the_pipelines_defaults():
    assert PipelineParams.from_overrides(orch.overrides_of({})) == PipelineParams()
    assert orch.overrides_of({"lookback_days": None})["lookback_days"] == 30


@pytest.mark.parametrize("name,bounds", [("max_bad_share", {"minimum": 0, "maximum": 1}),
                                         ("lookback_days", {"minimum": 1})])
def test_the_dag_form_refuses_what_the_settings_refuse(name, bounds):
    spec = settings.param_spec(name)
    assert {k: spec[k] for k in bounds} == bounds
    assert spec["description"]


@pytest.mark.parametrize("module", ["pipeline.run.orchestration", "pipeline.settings",
                                    "pipeline.run.cli"])
def test_what_airflow_parses_and_forensics_help_import_is_cheap(module):
    code = (f"import sys, {module}; print(sorted(m for m in ('polars', 'duckdb', "
            "'igraph', 'numpy', 'airflow', 'pipeline.run.runner') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("value", ["2026-02-30", "20260401", "2026-4-1", "", None, "yesterday"])
def test_a_bad_day_is_refused_naming_the_parameter(value):
    with pytest.raises(ForensicsError, match=r"^start: '.*' is not a date \(YYYY-MM-DD\)$"):
        orch.parse_day(value, "start")


def test_a_range_plan_resolves_paths_and_thresholds():
    env = {orch.ENV_LOGS: "/data/logs", orch.ENV_ACCOUNTS: "/data/accounts.parquet",
           orch.ENV_OUT: "/data/out"}
    plan = orch.plan_range({"start": "2026-04-01", "end": "2026-04-03", "lookback_days": 7,
                            "max_bad_share": None}, RUN, env)
    assert plan == {"logs": "/data/logs", "accounts": "/data/accounts.parquet",
                    "out": "/data/out", "signing_key": None, "start": "2026-04-01",
                    "end": "2026-04-03",
                    "lookback_days": 7, "max_bad_share": 0.01, "allow_empty": False,
                    "format": "contract", "shard_requests": 5_000_000, "stage_bytes": 8 << 30,
                    "airflow_run_id": RUN}
    assert orch.days_of(plan) == ["2026-04-01", "2026-04-02", "2026-04-03"]
    assert orch.ledger_run_id(plan, "window") == f"{RUN}:window"


def test_an_end_before_the_start_is_refused():
    with pytest.raises(ForensicsError, match=r"^end: 2026-04-01 is before start 2026-04-03$"):
        orch.plan_range({"start": "2026-04-03", "end": "2026-04-01"}, RUN, {})


@pytest.mark.parametrize(("params", "message"), [
    ({"lookback_days": 0}, "lookback_days: must be"),
    ({"lookback_days": True}, "lookback_days: must be"),
    ({"lookback_days": 2.5}, "lookback_days: must be"),
    ({"max_bad_share": 1.5}, "max_bad_share: must be"),
    ({"max_bad_share": "0.1"}, "max_bad_share: must be"),
])
def test_bad_thresholds_are_refused(params, message):
    with pytest.raises(ForensicsError, match=f"^{message}") as refused:
        orch.plan_range({"start": "2026-04-01", "end": "2026-04-01", **params}, RUN, {})
    with pytest.raises(ForensicsError) as direct:
        PipelineParams.from_overrides(params)
    assert str(refused.value) == str(direct.value)


def test_paths_default_to_the_sample_and_the_projects_out_folder():
    paths = orch.configured_paths({})
    assert paths == {"logs": str(orch.SAMPLE_DIR / "logs"),
                     "accounts": str(orch.SAMPLE_DIR / "accounts.csv"),
                     "out": str(orch.PROJECT_DIR / "out"), "signing_key": None}


def test_other_logs_never_get_the_samples_accounts():
    assert orch.configured_paths({orch.ENV_LOGS: "/data/logs"})["accounts"] is None
    plan = orch.plan_range({"start": "2026-04-01", "end": "2026-04-01", "logs": "/x/logs"},
                           RUN, {})
    assert (plan["logs"], plan["accounts"]) == ("/x/logs", None)
    assert orch.configured_paths({orch.ENV_ACCOUNTS: ""})["accounts"] is None


def test_relative_paths_are_taken_from_the_project_folder():
    paths = orch.configured_paths({orch.ENV_LOGS: "sim/logs", orch.ENV_OUT: "runs/q1"})
    assert paths["logs"] == str(orch.PROJECT_DIR / "sim" / "logs")
    assert paths["out"] == str(orch.PROJECT_DIR / "runs" / "q1")


@pytest.mark.parametrize(("variable", "key", "unit"), [
    (orch.ENV_SHARD_REQUESTS, "shard_requests", "requests"),
    (orch.ENV_STAGE_BYTES, "stage_bytes", "bytes")])
def test_the_shard_and_part_sizes_come_from_the_deployment_and_a_bad_one_is_refused(
        variable, key, unit):
    start = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)
    assert orch.plan_day(start, {}, RUN, {variable: "2_000_000"})[key] == 2_000_000
    assert orch.plan_range({"start": "2026-04-01", "end": "2026-04-01"}, RUN,
                           {variable: " 300 "})[key] == 300
    for bad in ("0", "-5", "1e6", "many"):
        with pytest.raises(ForensicsError,
                           match=f"{variable}: '{bad}' is not a whole number of {unit}"):
            orch.plan_day(start, {}, RUN, {variable: bad})


def test_logs_are_split_in_parts_only_past_the_part_size(tmp_path):
    conf = {"start": "2026-04-01", "end": "2026-04-03", "out": str(tmp_path / "out")}
    assert orch.logs_parts(orch.plan_range(conf, RUN, {})) == []  # the sample fits one
    small = orch.plan_range(conf, RUN, {orch.ENV_STAGE_BYTES: "2000000"})
    assert orch.logs_parts(small) == [{"part": i, "parts": 3} for i in range(3)]
    missing = orch.plan_range({**conf, "logs": str(tmp_path / "nowhere")}, RUN, {})
    with pytest.raises(ForensicsError, match="logs folder not found"):
        orch.logs_parts(missing)


def test_a_staging_task_is_labelled_by_its_part():
    assert orch.part_label({"part": 0, "parts": 3}) == "part 1/3"
    assert orch.part_label({"part": 2, "parts": 3}) == "part 3/3"


def test_a_day_task_is_labelled_by_its_day_and_its_shard_when_split():
    assert orch.unit_label({"day": "2026-04-02", "shard": 0, "shards": 1}) == "2026-04-02"
    assert orch.unit_label({"day": "2026-04-02", "shard": 2, "shards": 3}) == (
        "2026-04-02 shard 3/3")


def test_a_nightly_plan_is_the_utc_day_its_data_interval_starts_on():
    start = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)
    plan = orch.plan_day(start, {"lookback_days": 30, "max_bad_share": 0.01}, RUN, {})
    assert (plan["start"], plan["end"], plan["lookback_days"]) == ("2026-04-02", "2026-04-02", 30)
    east = datetime(2026, 4, 3, 1, 0, tzinfo=timezone(timedelta(hours=5)))
    assert orch.plan_day(east, {}, RUN, {})["start"] == "2026-04-02"
    with pytest.raises(ValueError, match="time zone"):
        orch.plan_day(datetime(2026, 4, 2), {}, RUN, {})


def test_a_task_quiets_the_libraries_but_not_the_pipeline_and_restores_them(caplog):
    gx, fonts = logging.getLogger("great_expectations.core"), logging.getLogger("fontTools.subset")
    with caplog.at_level(logging.INFO):
        with orch.quiet_libraries():
            gx.info("registering an expectation")
            fonts.info("OS/2 CodePage ranges pruned")
            fonts.warning("a glyph is missing")
            logging.getLogger("pipeline.run.orchestration").info("verdicts: 1 flagged")
        gx.info("after the task")
    assert [r.getMessage() for r in caplog.records] == [
        "a glyph is missing", "verdicts: 1 flagged", "after the task"]


def test_a_failed_task_is_recorded_in_the_output_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(orch.ENV_OUT, raising=False)
    ti = SimpleNamespace(dag_id="rerun_range", run_id=RUN, task_id="day_tables", map_index=1,
                         rendered_map_index="2026-04-02", try_number=3,
                         log_url="http://localhost:8080/log")
    error = BadInputCeiling("2026-04-02: 20 of 20 rows quarantined\nworst files: a.jsonl")
    written = orch.record_failure({"ti": ti, "exception": error,
                                   "params": {"out": str(tmp_path / "q1")}})
    assert written == tmp_path / "q1" / FAILURES_NAME
    orch.record_failure({"ti": ti, "exception": None, "params": {"out": str(tmp_path / "q1")}})
    first, second = [json.loads(line) for line in written.read_text().splitlines()]
    assert {k: first[k] for k in ("dag_id", "run_id", "task_id", "day", "try_number",
                                  "error")} == {
        "dag_id": "rerun_range", "run_id": RUN, "task_id": "day_tables", "day": "2026-04-02",
        "try_number": 3, "error": "BadInputCeiling: 2026-04-02: 20 of 20 rows quarantined"}
    assert second["error"] is None
    monkeypatch.setenv(orch.ENV_OUT, str(tmp_path / "nightly"))
    assert orch.record_failure({"ti": ti, "exception": error, "params": {}}).parent == (
        tmp_path / "nightly")


def test_the_findings_event_says_when_a_publication_is_not_valid(tmp_path):
    plan = {"out": str(tmp_path)}
    published = runner.Published(folder=tmp_path / "publications" / "2026-04-01.invalid",
                                 previous=None, reused=False, changes=0)
    invalid = orch.publication_event(plan, runner.WindowResult(
        linking=WINDOW.linking, verdicts=WINDOW.verdicts, published=published))
    assert (invalid["publication"], invalid["valid"]) == ("2026-04-01.invalid", False)
    valid = orch.publication_event(plan, runner.WindowResult(
        linking=WINDOW.linking, verdicts=WINDOW.verdicts,
        published=runner.Published(folder=tmp_path / "publications" / "2026-04-01",
                                   previous=None, reused=False, changes=0)))
    assert (valid["publication"], valid["valid"], valid["flagged"]) == ("2026-04-01", True, 1)


def test_a_worker_records_its_own_name_as_host_when_it_has_one(monkeypatch):
    monkeypatch.setenv(orch.ENV_WORKER_NAME, "worker2")
    assert orch.worker_hostname() == "worker2"
    monkeypatch.delenv(orch.ENV_WORKER_NAME)
    assert orch.worker_hostname() == socket.getfqdn()
