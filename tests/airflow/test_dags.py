"""The Airflow DAGs with real Airflow: they parse cleanly, and runs end to end match the CLI.

Every Airflow command runs in a subprocess with its own AIRFLOW_HOME (SQLite metadata,
migrated once for the module), the repository's ``dags/`` folder and no example DAGs, so
nothing here touches ``~/airflow`` or the network, and the test process never imports
Airflow. ``airflow dags test`` runs a DAG's tasks one after another in one process; the
outputs are compared byte for byte with ``forensics run`` over the same days.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import polars as pl
import pytest

from pipeline import PROJECT_DIR

from conftest import query, record, write_logs

REPO = PROJECT_DIR


DAGS = REPO / "dags"


SAMPLE = REPO / "data" / "sample"


AIRFLOW = Path(sys.executable).parent / "airflow"


CLUSTERS = Path("findings") / "clusters.parquet"


def published(out: Path) -> dict[str, bytes]:
    """What a run publishes, by path: findings, reports and the manifest."""
    files = [*sorted((out / "findings").glob("*.parquet")),
             *sorted((out / "reports").glob("*.pdf")), out / "manifest.json"]
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in files}


BAG_SCRIPT = """
import json, sys, warnings
from pipeline import PROJECT_DIR
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1])
dags = {}
for dag_id, dag in bag.dags.items():
    tasks = {t.task_id: {"upstream": sorted(t.upstream_task_ids),
                         "mapped": type(t).__name__ == "DecoratedMappedOperator",
                         "trigger_rule": str(getattr(t.trigger_rule, "value", t.trigger_rule)),
                         "retries": t.retries, "backoff": t.retry_exponential_backoff,
                         "policy": type(t.retry_policy).__name__,
                         "on_failure": [c.__qualname__ for c in (
                             t.on_failure_callback if isinstance(t.on_failure_callback, list)
                             else [t.on_failure_callback] if t.on_failure_callback else [])],
                         "outlets": [a.name for a in t.outlets]}
             for t in dag.tasks}
    dags[dag_id] = {"tasks": tasks, "max_active_runs": dag.max_active_runs,
                    "paused_on_creation": dag.is_paused_upon_creation,
                    "schedule": getattr(dag.timetable, "expression", None),
                    "params": sorted(dag.params)}
heavy = [m for m in ("polars", "duckdb", "igraph", "pyarrow", "pipeline.run.runner")
         if m in sys.modules]
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "warnings": [f"{w.filename}:{w.lineno}: {w.message}" for w in caught],
                  "dags": dags, "heavy_imports": heavy}))
"""


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An Airflow home in a temporary folder with a migrated SQLite metadata database."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "FORENSICS_"))}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "GX_ANALYTICS_ENABLED": "False"})
    airflow(env, "db", "migrate")
    return env


@pytest.fixture(scope="module")
def serialized_env(airflow_env: dict[str, str]) -> dict[str, str]:
    """The Airflow home with both DAGs serialized to its metadata database, as the
    scheduler's parsing leaves them: what a backfill reads. Once for the module: every
    ``airflow`` command pays Airflow's start-up, six seconds or more."""
    airflow(airflow_env, "dags", "reserialize")
    return airflow_env


def airflow(env: dict[str, str], *args: str, check: bool = True,
            **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run ``airflow ARGS`` from the Airflow home; fail the test with its output if asked."""
    started = time.perf_counter()
    result = subprocess.run([str(AIRFLOW), *args], env={**env, **extra_env},
                            cwd=env["AIRFLOW_HOME"], capture_output=True, text=True,
                            timeout=300, check=False)
    print(f"airflow {' '.join(args[:2])}: {time.perf_counter() - started:.1f} s")
    if check and result.returncode != 0:
        pytest.fail(f"airflow {' '.join(args)} exited {result.returncode}:\n"
                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def cli_run(out: Path, start: str, end: str) -> None:
    """``forensics run`` on the sample, as the DAGs run it by default."""
    subprocess.run([sys.executable, "-m", "pipeline.run.cli", "run", "--logs", str(SAMPLE / "logs"),
                    "--accounts", str(SAMPLE / "accounts.csv"), "--start", start, "--end", end,
                    "--lookback-days", "30", "--out", str(out)],
                   check=True, capture_output=True, timeout=600)


def mapped_labels(env: dict[str, str], dag_id: str, task_id: str,
                  column: str = "rendered_map_index") -> list[str]:
    """What the UI shows for each mapped task instance of the latest run, from the metadata
    database: its rendered label (or another ``column``), in map order."""
    con = sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")
    try:
        rows = con.execute(
            f"SELECT {column} FROM task_instance WHERE dag_id = ? AND task_id = ? "
            "AND run_id = (SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC "
            "LIMIT 1) ORDER BY map_index", (dag_id, task_id, dag_id)).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def task_logs(output: str) -> dict[str, list[str]]:
    """Each task's lines of an ``airflow dags test`` output, by task id (and map index)."""
    logs: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        if started := re.search(r"\[DAG TEST\] starting task_id=(\w+) map_index=(-?\d+)", line):
            current = started[1] if started[2] == "-1" else f"{started[1]}[{started[2]}]"
            logs[current] = []
        elif "[DAG TEST] end task" in line:
            current = None
        elif current:
            logs[current].append(line)
    return logs


def asset_events(env: dict[str, str], name: str) -> list[dict]:
    """The extras of the events the metadata database recorded for the asset ``name``."""
    con = sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")
    try:
        rows = con.execute("SELECT e.extra FROM asset_event AS e JOIN asset AS a "
                           "ON a.id = e.asset_id WHERE a.name = ? ORDER BY e.id",
                           (name,)).fetchall()
    finally:
        con.close()
    return [json.loads(r[0]) for r in rows]


def ledger(out: Path) -> list[tuple]:
    return query(out / "forensics.duckdb", "SELECT run_id, command, status FROM runs "
                 "ORDER BY started_at")


def test_dags_import_cleanly_and_wire_the_pipeline_tasks(airflow_env):
    result = subprocess.run([sys.executable, "-c", BAG_SCRIPT, str(DAGS)], env=airflow_env,
                            cwd=airflow_env["AIRFLOW_HOME"], capture_output=True, text=True,
                            timeout=300, check=True)
    bag = json.loads(result.stdout.strip().splitlines()[-1])
    assert bag["errors"] == {}
    assert bag["warnings"] == []
    assert bag["heavy_imports"] == [], "DAG files must import the pipeline's stages lazily"
    assert set(bag["dags"]) == {"nightly_forensics", "rerun_range"}
    for dag_id, dag in bag["dags"].items():
        assert dag["max_active_runs"] == 1
        tasks = dag["tasks"]
        assert list(tasks) == ["plan", "split_logs", "stage_logs", "ingest", "day_tables",
                               "split_days", "merge_shards", "window"]
        assert all(tasks[t]["mapped"] for t in ("stage_logs", "day_tables", "merge_shards"))
        assert {"split_logs", "stage_logs"} <= set(tasks["ingest"]["upstream"])
        assert tasks["ingest"]["trigger_rule"] == "none_failed"
        assert "ingest" in tasks["day_tables"]["upstream"]
        assert {"split_days", "day_tables"} <= set(tasks["merge_shards"]["upstream"])
        assert "merge_shards" in tasks["window"]["upstream"]
        for task in tasks.values():
            assert task["retries"] >= 1
            assert task["backoff"] > 1
            assert task["policy"] == "ExceptionRetryPolicy"
            assert task["on_failure"] == ["record_failure"]
        assert [t["outlets"] for t in tasks.values()] == [[], [], [], [], [], [], [], [
            {"nightly_forensics": "forensics_findings",
             "rerun_range": "forensics_rerun_findings"}[dag_id]]]
    assert bag["dags"]["nightly_forensics"]["schedule"] == "0 2 * * *"
    # A triggered re-run must not sit queued behind a pause; the nightly DAG waits for
    # the operator (unpausing it starts the latest night).
    assert bag["dags"]["rerun_range"]["paused_on_creation"] is False
    assert bag["dags"]["nightly_forensics"]["paused_on_creation"] in (None, True)
    assert set(bag["dags"]["rerun_range"]["params"]) == {
        "start", "end", "lookback_days", "max_bad_share", "allow_empty", "format", "out",
        "logs", "accounts"}


def test_nightly_run_of_a_day_writes_what_the_cli_writes(airflow_env, tmp_path):
    out, cli_out = tmp_path / "airflow_out", tmp_path / "cli_out"
    # The run of 2026-04-03 processes the day its data interval starts on: 2026-04-02.
    result = airflow(airflow_env, "dags", "test", "nightly_forensics", "2026-04-03",
                     FORENSICS_OUT_DIR=str(out))
    assert sorted(p.name for p in (out / "requests").iterdir()) == ["date=2026-04-02"]
    cli_run(cli_out, "2026-04-02", "2026-04-02")
    assert (out / CLUSTERS).read_bytes() == (cli_out / CLUSTERS).read_bytes()
    assert "reports/summary.pdf" in published(out)
    assert published(out) == published(cli_out)
    # The day is under the shard size: one day task, nothing to merge, and the window runs;
    # the logs fit one part: ingest stages them itself.
    assert mapped_labels(airflow_env, "nightly_forensics", "day_tables") == ["2026-04-02"]
    assert mapped_labels(airflow_env, "nightly_forensics", "stage_logs", "state") == [
        "skipped"]  # mapped over nothing: one unmapped instance, skipped
    runs = ledger(out)
    assert [(command, status) for _, command, status in runs] == [
        ("ingest", "succeeded"), ("window", "succeeded")]
    assert runs[0][0].endswith(":ingest") and runs[1][0].endswith(":window")
    assert runs[0][0].removesuffix(":ingest") == runs[1][0].removesuffix(":window")

    logs = task_logs(result.stdout + result.stderr)
    ours = {task: [line for line in lines if "[pipeline.run.orchestration]" in line]
            for task, lines in logs.items()}
    assert any(re.search(r"ingest 2026-04-02\.\.2026-04-02: 3 file\(s\), [\d,]+ rows read: "
                         r"[\d,]+ kept, 0 quarantined", line) for line in ours["ingest"])
    assert any("raw validation passed" in line for line in ours["ingest"])
    assert any(re.search(r"verdicts: [\d,]+ flagged, [\d,]+ watch, [\d,]+ clear", line)
               for line in ours["window"])
    assert any("window validation passed" in line for line in ours["window"])
    assert any(f"reports: {out}/publications/2026-04-02/reports" in line
               for line in ours["window"])
    noise = [line for lines in logs.values() for line in lines
             if "[fontTools" in line or "[great_expectations" in line]
    assert noise == [], noise[:5]
    assert all(len(lines) <= 25 for lines in logs.values()), {
        task: len(lines) for task, lines in logs.items()}

    [event] = asset_events(airflow_env, "forensics_findings")
    findings = pl.read_parquet(out / "findings" / "cluster_findings.parquet")
    assert event == {"out": str(out), "publication": "2026-04-02", "valid": True,
                     "window_start": "2026-03-04", "window_end": "2026-04-02",
                     **{v: findings.filter(pl.col("verdict") == v).height
                        for v in ("flagged", "watch", "clear")}}


def test_rerun_of_a_range_in_shards_writes_what_the_cli_writes(airflow_env, tmp_path,
                                                                sample_run):
    """The range is the demo's, and the demo is ``forensics run`` over it with the DAG's
    defaults: the session's sample run is what the CLI writes, each day whole. Here every
    day (7,140 to 7,654 requests) is past a shard size of 3,000, so its tables are built in
    3 shards, then merged; and the logs (three gzip files of 2.3 MB, taken as 6.9 MB of text each)
    are past a part size of 2 MB, so each file is staged by a task of its own."""
    out = tmp_path / "airflow_out"
    conf = {"start": "2026-04-01", "end": "2026-04-03", "lookback_days": 30}
    result = airflow(airflow_env, "dags", "test", "rerun_range", "--conf", json.dumps(conf),
                     FORENSICS_OUT_DIR=str(out), FORENSICS_SHARD_REQUESTS="3000",
                     FORENSICS_STAGE_BYTES="2000000")
    assert mapped_labels(airflow_env, "rerun_range", "stage_logs") == [
        "part 1/3", "part 2/3", "part 3/3"]
    assert not (out / ".staged").exists()
    days = ["date=2026-04-01", "date=2026-04-02", "date=2026-04-03"]
    assert sorted(p.name for p in (out / "requests").iterdir()) == days
    assert sorted(p.name for p in (out / "account_day").iterdir()) == days
    assert mapped_labels(airflow_env, "rerun_range", "day_tables") == [
        f"2026-04-0{d} shard {i}/3" for d in (1, 2, 3) for i in (1, 2, 3)]
    assert mapped_labels(airflow_env, "rerun_range", "merge_shards") == [
        "2026-04-01", "2026-04-02", "2026-04-03"]
    assert not (out / "shards").exists()
    logs = task_logs(result.stdout + result.stderr)
    assert any("logs staged in 3 parts of at most about 2,000,000 bytes of text each" in line
               for line in logs["split_logs"])
    ingest_log = logs["ingest"]
    assert any("per-day tables in shards of at most about 3,000 requests: 2026-04-01 in 3 "
               "shards, 2026-04-02 in 3 shards, 2026-04-03 in 3 shards" in line
               for line in ingest_log)
    assert (out / CLUSTERS).read_bytes() == (sample_run / CLUSTERS).read_bytes()
    assert len([name for name in published(out) if name.startswith("reports/")]) >= 2
    assert published(out) == published(sample_run)


def test_a_day_past_the_bad_row_ceiling_fails_the_run_and_publishes_nothing(airflow_env,
                                                                          tmp_path):
    logs, out = tmp_path / "logs", tmp_path / "out"
    write_logs(logs, "requests-2026-04-01", [record(i, account_id=None) for i in range(20)])
    conf = {"start": "2026-04-01", "end": "2026-04-01", "logs": str(logs)}
    result = airflow(airflow_env, "dags", "test", "rerun_range", "--conf", json.dumps(conf),
                     check=False, FORENSICS_OUT_DIR=str(out))
    assert result.returncode != 0
    assert "DagRun failed" in result.stdout + result.stderr
    assert "BadInputCeiling" in result.stdout + result.stderr
    assert not (out / "findings").exists()
    assert not (out / "requests").exists()
    assert [(command, status) for _, command, status in ledger(out)] == [("ingest", "failed")]
    assert query(out / "forensics.duckdb", "SELECT count(*) FROM quarantine") == [(20,)]
    [failure] = [json.loads(line) for line in (out / "task_failures.jsonl").read_text()
                 .splitlines()]
    assert (failure["dag_id"], failure["task_id"], failure["try_number"]) == (
        "rerun_range", "ingest", 1)
    assert failure["error"].startswith("BadInputCeiling: 1 day(s) over the bad-row ceiling")
    assert "failed for good (BadInputCeiling" in result.stdout + result.stderr


def test_a_bad_date_is_refused_when_the_run_is_triggered(airflow_env, tmp_path):
    conf = {"start": "2026-04-31", "end": "2026-05-02"}
    result = airflow(airflow_env, "dags", "test", "rerun_range", "--conf", json.dumps(conf),
                     check=False, FORENSICS_OUT_DIR=str(tmp_path / "out"))
    assert result.returncode != 0
    assert "Invalid input for param start: '2026-04-31' is not a 'date'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_backfill_of_the_nightly_dag_plans_one_run_per_day(serialized_env):
    # The run that processes day D starts at 02:00 on D+1; backfill picks runs by start.
    result = airflow(serialized_env, "backfill", "create", "--dag-id", "nightly_forensics",
                     "--from-date", "2026-04-02", "--to-date", "2026-04-04T02:00:00+00:00",
                     "--dry-run")
    planned = [line.split("|")[1].strip() for line in result.stdout.splitlines()
               if line.startswith("| 2026-")]
    assert planned == ["2026-04-01 02:00:00+00:00", "2026-04-02 02:00:00+00:00",
                       "2026-04-03 02:00:00+00:00"]


def test_a_backfill_through_the_latest_night_leaves_unpausing_nothing_to_start(serialized_env):
    """The README's recipe: backfill while the DAG is paused, through the most recent 02:00,
    then unpause. On unpausing, the scheduler starts the run of ``next_dagrun`` unless a run
    of that logical date exists (``SchedulerJobRunner._create_dag_runs``); the backfill
    made it, so no second run starts beside the backfill's. Checked here on the metadata
    the scheduler reads, without starting one (the README tells of a real scheduler)."""
    now = datetime.now(UTC)
    latest = datetime.combine(now.date(), clock(2), UTC)
    latest -= timedelta(days=1) if latest > now else timedelta()
    airflow(serialized_env, "backfill", "create", "--dag-id", "nightly_forensics",
            "--from-date", (latest - timedelta(days=2)).date().isoformat(),
            "--to-date", latest.isoformat(), "--max-active-runs", "1")
    con = sqlite3.connect(Path(serialized_env["AIRFLOW_HOME"]) / "airflow.db")
    try:
        paused, next_run = con.execute("SELECT is_paused, next_dagrun FROM dag WHERE dag_id = "
                                       "'nightly_forensics'").fetchone()
        runs = con.execute("SELECT logical_date, state, run_type FROM dag_run WHERE dag_id = "
                           "'nightly_forensics' AND backfill_id IS NOT NULL ORDER BY "
                           "logical_date").fetchall()
    finally:
        con.close()
    assert paused
    assert [(state, kind) for _, state, kind in runs] == [("queued", "backfill")] * 3
    assert next_run == runs[-1][0], "unpausing would start the latest night a second time"

