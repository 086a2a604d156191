"""The multi-worker Airflow of ``make cluster-up`` (issue 17, parts 1 and 4), for real.

``cluster/cluster.sh up`` starts, in a temporary folder and on free local ports, PostgreSQL,
Redis, the api-server, the scheduler, the dag-processor and two Celery workers; the module
starts moto's S3 server (``tests/s3_server.py``) and simulates a week (the ``sample``
scenario over 7 days). ``rerun_range`` over the week is triggered through the REST API
with its output in the bucket, its logs staged in parts and every day split in shards
(part 3); the run must succeed with its day tasks on both workers (the task instances'
``hostname``), no staged part or shard may be left in the bucket, and what the bucket
holds must be byte for byte what ``forensics run`` writes on one machine, whole days, from
the same input. ``cluster.sh down`` then
stops everything (twice: it is idempotent) and no process it started is left.

Not in ``make test``: ``tests/conftest.py`` collects this folder only with ``--cluster``
(``make test-cluster``, which ``.ci/run`` runs after ``make test``). About 3 minutes on
the 2-core machine; the figures are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from pipeline import PROJECT_DIR
from pipeline.ingest.ingest import log_parts
from pipeline.settings import IngestParams

from s3_server import (
    NOT_PUBLISHED,
    bucket_objects,
    free_port,
    listening,
    moto_server,
    published_files,
)

pytestmark = pytest.mark.cluster

SCRIPT = PROJECT_DIR / "cluster" / "cluster.sh"
BIN = Path(sys.executable).parent
START, END = "2026-04-01", "2026-04-07"
PREFIX = "cluster"
SHARD_REQUESTS = 4_000
"""The workers' shard size: every simulated day (7,000 to 8,000 requests) is built in
shards, as a day of hundreds of millions of requests would be at the default size."""
STAGE_BYTES = 15_000_000
"""The workers' part size: the week's seven gzip files (2.3 MB each, taken as 6.9 MB of
text) are staged two to a part, by tasks on either worker."""
SERVICES = ("postgres", "redis", "api-server", "scheduler", "dag-processor", "worker1",
            "worker2")


@dataclass(frozen=True)
class Cluster:
    api: str
    state: Path
    ports: tuple[int, ...]
    up_seconds: float


def api(cluster: Cluster, path: str, body: dict | None = None) -> dict:
    """A call to the cluster's REST API (no login: the cluster's UI and API are local)."""
    request = urllib.request.Request(
        f"{cluster.api}/api/v2/{path}", method="POST" if body is not None else "GET",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven simulated days of the sample scenario: logs and accounts."""
    sim = tmp_path_factory.mktemp("week")
    subprocess.run([BIN / "forensics", "simulate", "--scenario", "sample", "--days", "7",
                    "--seed", "7", "--out", str(sim)], check=True, capture_output=True,
                   timeout=300)
    return sim


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    with moto_server() as env:
        yield env


@pytest.fixture(scope="module")
def cluster(s3_env: dict[str, str]) -> Iterator[Cluster]:
    """The cluster of ``make cluster-up`` in a temporary folder, its workers pointed at the
    S3 server; stopped afterwards, and checked to be gone."""
    # Not under pytest's temporary folder: PostgreSQL runs as its own user (it refuses
    # root), who must be able to enter the state folder.
    state = Path(tempfile.mkdtemp(prefix="forensics-cluster-"))
    state.chmod(0o755)
    ports = {"CLUSTER_API_PORT": free_port(), "CLUSTER_PG_PORT": free_port(),
             "CLUSTER_REDIS_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FORENSICS_"))}
    env.update({"CLUSTER_DIR": str(state), "VENV_BIN": str(BIN), **s3_env,
                "FORENSICS_SHARD_REQUESTS": str(SHARD_REQUESTS),
                "FORENSICS_STAGE_BYTES": str(STAGE_BYTES),
                **{k: str(v) for k, v in ports.items()}})
    started = time.monotonic()
    up = subprocess.run([str(SCRIPT), "up"], env=env, capture_output=True, text=True,
                        timeout=900, check=False)
    up_seconds = time.monotonic() - started
    print(f"cluster.sh up: {up_seconds:.1f} s\n{up.stdout}")
    pids = {}
    try:
        for name in SERVICES:
            pid_file = state / "pids" / f"{name}.pid"
            if pid_file.exists():
                pids[name] = int(pid_file.read_text())
        assert up.returncode == 0, f"{up.stdout}\n{up.stderr}"
        assert sorted(pids) == sorted(SERVICES)
        yield Cluster(f"http://127.0.0.1:{ports['CLUSTER_API_PORT']}", state,
                      tuple(ports.values()), up_seconds)
    finally:
        down = subprocess.run([str(SCRIPT), "down"], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        again = subprocess.run([str(SCRIPT), "down"], env=env, capture_output=True, text=True,
                               timeout=300, check=False)
        print(f"cluster.sh down:\n{down.stdout}{down.stderr}")
        assert down.returncode == 0 and again.returncode == 0, down.stderr + again.stderr
        left = [f"{name} ({pid})" for name, pid in pids.items() if alive(pid)]
        assert left == [], f"still running after cluster.sh down: {left}"
        assert [p for p in ports.values() if listening(p)] == []
        assert list((state / "pids").glob("*.pid")) == []
        shutil.rmtree(state)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_run(cluster: Cluster, dag_id: str, run_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = api(cluster, f"dags/{dag_id}/dagRuns/{run_id}")
        if run["state"] in ("success", "failed") or time.monotonic() > deadline:
            return run
        time.sleep(2)


def test_the_ui_and_both_dags_are_served(cluster):
    with urllib.request.urlopen(cluster.api, timeout=30) as response:
        assert response.status == 200
        assert b"<html" in response.read().lower()
    dags = {d["dag_id"]: d for d in api(cluster, "dags")["dags"]}
    assert {"nightly_forensics", "rerun_range"} <= set(dags)
    assert dags["rerun_range"]["is_paused"] is False


def test_a_week_on_two_workers_publishes_what_one_machine_writes(cluster, week, s3_env,
                                                                  tmp_path):
    conf = {"start": START, "end": END, "logs": str(week / "logs"),
            "accounts": str(week / "accounts.csv"), "out": f"s3://forensics/{PREFIX}"}
    quoted = urllib.parse.quote
    started = time.monotonic()
    run = api(cluster, "dags/rerun_range/dagRuns", {"logical_date": None, "conf": conf})
    run = wait_for_run(cluster, "rerun_range", quoted(run["dag_run_id"], safe=""), 1200)
    waited = time.monotonic() - started
    tis = api(cluster, f"dags/rerun_range/dagRuns/{quoted(run['dag_run_id'], safe='')}"
              "/taskInstances")["task_instances"]
    table = "\n".join(f"  {t['task_id']:<10} {t.get('rendered_map_index') or '':<10} "
                      f"{t['state']:<8} {t['hostname']:<8} {t['duration'] or 0:5.1f} s"
                      for t in sorted(tis, key=lambda t: (t["start_date"] or "", t["map_index"])))
    assert run["state"] == "success", f"{run}\n{table}"

    days = [t for t in tis if t["task_id"] == "day_tables"]
    shards = {}
    for label in (t["rendered_map_index"] for t in days):
        day, _, part = label.partition(" shard ")
        index, _, count = part.partition("/")
        shards.setdefault(day, set()).add((int(index), int(count)))
    assert sorted(shards) == [f"2026-04-0{d}" for d in range(1, 8)]
    assert all(len(got) > 1 and got == {(i, len(got)) for i in range(1, len(got) + 1)}
               for got in shards.values()), shards
    merges = [t for t in tis if t["task_id"] == "merge_shards"]
    assert sorted(t["rendered_map_index"] for t in merges) == sorted(shards)
    assert {t["hostname"] for t in days} == {"worker1", "worker2"}
    parts = len(log_parts(week / "logs", IngestParams(), STAGE_BYTES))
    staged = [t for t in tis if t["task_id"] == "stage_logs"]
    assert parts > 1
    assert sorted(t["rendered_map_index"] for t in staged) == [
        f"part {i}/{parts}" for i in range(1, parts + 1)]
    assert not [k for k in bucket_objects(s3_env, PREFIX)
                if k.startswith(("shards/", ".staged/"))]
    for worker in ("worker1", "worker2"):  # each worked in its own folder
        assert list((cluster.state / "workers" / worker / "work").rglob("*.parquet"))

    local = tmp_path / "one-machine"
    one = time.monotonic()
    subprocess.run([BIN / "forensics", "run", "--logs", str(week / "logs"), "--accounts",
                    str(week / "accounts.csv"), "--start", START, "--end", END,
                    "--out", str(local)], check=True, capture_output=True, timeout=1200)
    one_machine = time.monotonic() - one

    objects = bucket_objects(s3_env, PREFIX)
    expected = published_files(local)
    got = {k: v for k, v in objects.items()
           if k.split("/")[0] != "validation" and k not in NOT_PUBLISHED}
    assert sorted(got) == sorted(expected)
    assert [k for k in expected if got[k] != expected[k]] == []
    for rel in ("findings/clusters.parquet", "findings/cluster_findings.parquet",
                "reports/summary.pdf", "manifest.json"):
        assert objects[rel] == (local / rel).read_bytes()

    def span(tasks: list[dict]) -> float:
        return (max(_seconds(t["end_date"]) for t in tasks)
                - min(_seconds(t["start_date"]) for t in tasks))

    print(f"cluster up {cluster.up_seconds:.1f} s; rerun_range over {START}..{END} on 2 "
          f"workers: {run['duration']:.1f} s (trigger to success {waited:.1f} s), "
          f"{len(staged)} stage_logs parts from first start to last end {span(staged):.1f} s, "
          f"{len(days)} day_tables shards and {len(merges)} merges from first start to last "
          f"end {span(days + merges):.1f} s; forensics run on one "
          f"machine {one_machine:.1f} s; {len(expected)} published files identical\n{table}")


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
