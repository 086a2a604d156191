"""Output to S3-compatible storage (issue 17, part 2), against a local S3 server.

The module starts moto's server (``moto_server``, from the lock's development group) on a
free local port, as its own process (``tests/s3_server.py``), and points the AWS SDK's
standard variables at it; nothing reaches a real cloud and nothing in the pipeline is
mocked. The sample runs into ``s3://forensics/...`` through ``forensics run`` (a
subprocess, as an operator runs it) and through the Airflow task functions, each task with
a working folder of its own as on separate machines; what the bucket then holds is
compared, byte for byte, with the session's local run of the same input (``sample_run``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline import SAMPLE_DIR
from pipeline.errors import ForensicsError, OutputLocked
from pipeline.publish.manifest import MANIFEST_NAME
from pipeline.publish.storage import Bucket
from pipeline.run import orchestration as orch
from pipeline.warehouse import DB_NAME, LOCK_NAME

from conftest import query
from s3_server import (
    NOT_PUBLISHED,
    bucket_objects,
    free_port,
    moto_server,
    published_files,
    s3_client,
)

BIN = Path(sys.executable).parent
SAMPLE_ARGS = ["--logs", str(SAMPLE_DIR / "logs"), "--accounts",
               str(SAMPLE_DIR / "accounts.csv"), "--start", "2026-04-01", "--end", "2026-04-03"]


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    """A moto S3 server on a free port for the module (``s3_server.moto_server``)."""
    with moto_server() as env:
        yield env


def _assert_same_publication(objects: dict[str, bytes], local: Path) -> None:
    expected = published_files(local)
    got = {k: v for k, v in objects.items()
           if k.split("/")[0] != "validation" and k not in NOT_PUBLISHED}
    assert sorted(got) == sorted(expected)
    assert [k for k in expected if got[k] != expected[k]] == []
    for rel in ("findings/cluster_findings.parquet", "reports/summary.pdf", MANIFEST_NAME):
        assert objects[rel] == (local / rel).read_bytes()


def test_a_run_into_a_bucket_publishes_a_local_runs_bytes_and_a_second_run_is_refused(
        s3_env, sample_run, tmp_path):
    env = {**os.environ, **s3_env, "FORENSICS_WORK_DIR": str(tmp_path / "machine-a")}
    command = [str(BIN / "forensics"), "run", *SAMPLE_ARGS, "--out", "s3://forensics/cli",
               "--json"]
    started = time.monotonic()
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    client = s3_client(s3_env)
    while first.poll() is None:
        listed = client.list_objects_v2(Bucket="forensics", Prefix=f"cli/{LOCK_NAME}")
        if listed.get("KeyCount"):
            break
        time.sleep(0.1)
    second = subprocess.run(command, env={**env, "FORENSICS_WORK_DIR": str(tmp_path / "b")},
                            capture_output=True, text=True, timeout=300)
    out, err = first.communicate(timeout=600)
    elapsed = time.monotonic() - started

    assert first.returncode == 0, err
    assert second.returncode == 3, second.stderr
    holder = json.loads(out)["run_id"]
    assert "s3://forensics/cli is in use by another run (pid " in second.stderr
    assert f"run_id {holder}, command run" in second.stderr
    assert "; wait for it to finish" in second.stderr
    objects = bucket_objects(s3_env, "cli")
    assert LOCK_NAME not in objects  # released
    _assert_same_publication(objects, sample_run)
    snapshot = tmp_path / "snapshot" / DB_NAME
    snapshot.parent.mkdir()
    snapshot.write_bytes(objects[DB_NAME])
    assert query(snapshot, "SELECT run_id, status FROM runs") == [(holder, "succeeded")]
    print(f"S3 run of the sample: {elapsed:.1f} s")


def test_airflow_tasks_on_separate_machines_share_the_bucket(s3_env, sample_run, tmp_path,
                                                             monkeypatch):
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    plan = orch.plan_range({"start": "2026-04-01", "end": "2026-04-03",
                            "logs": str(SAMPLE_DIR / "logs"),
                            "accounts": str(SAMPLE_DIR / "accounts.csv"),
                            "out": "s3://forensics/dag"}, "manual__s3",
                           {orch.ENV_SHARD_REQUESTS: "5000",  # each sample day in 2 shards
                            orch.ENV_STAGE_BYTES: "2000000"})  # each log file a part
    assert plan["out"] == "s3://forensics/dag"

    def on(machine: str) -> None:
        monkeypatch.setenv("FORENSICS_WORK_DIR", str(tmp_path / machine))

    on("split")
    parts = orch.logs_parts(plan)
    assert parts == [{"part": i, "parts": 3} for i in range(3)]
    for part in parts:
        on(f"stage-{part['part']}")
        orch.stage_part(plan, part)
    assert len([n for n in bucket_objects(s3_env, "dag") if n.endswith("/files.parquet")]) == 3
    on("ingest")
    work = orch.ingest_days(plan, parts)
    assert not [name for name in bucket_objects(s3_env, "dag") if name.startswith(".staged/")]
    assert [(u["day"], u["shard"]) for u in work] == [
        (f"2026-04-0{d}", i) for d in (1, 2, 3) for i in (0, 1)]
    for unit in work:
        machine = f"day-{unit['day']}-{unit['shard']}"
        on(machine)
        orch.build_day(plan, unit)
        assert [p.parent.name for p in (tmp_path / machine).rglob("requests/*/*.parquet")] == [
            f"date={unit['day']}"]
        assert not list((tmp_path / machine).rglob(DB_NAME))  # a day task holds no database
    assert any(name.startswith("shards/") for name in bucket_objects(s3_env, "dag"))
    for unit in orch.sharded_days(work):
        on(f"merge-{unit['day']}")
        orch.merge_day(plan, unit)
    assert not [name for name in bucket_objects(s3_env, "dag") if name.startswith("shards/")]
    on("window")
    orch.run_window(plan)

    objects = bucket_objects(s3_env, "dag")
    _assert_same_publication(objects, sample_run)
    window = next((tmp_path / "window").glob("*/out"))
    assert query(window / DB_NAME, "SELECT run_id, status FROM runs ORDER BY run_id") == [
        ("manual__s3:ingest", "succeeded"), ("manual__s3:window", "succeeded")]


def test_a_lapsed_lock_is_taken_over_and_a_live_one_refused(s3_env, monkeypatch):
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    client = s3_client(s3_env)
    holder = {"run_id": "dead-run", "command": "run", "started_at": "2026-12-01T02:00:00"}
    lapsed = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    client.put_object(Bucket="forensics", Key=f"lease/{LOCK_NAME}",
                      Body=json.dumps({**holder, "lease_until": lapsed}).encode())
    bucket = Bucket("s3://forensics/lease")
    with bucket.lease({"run_id": "next-run", "command": "run", "started_at": "now"}):
        current = json.loads(client.get_object(Bucket="forensics",
                                               Key=f"lease/{LOCK_NAME}")["Body"].read())
        assert current["run_id"] == "next-run"
        with pytest.raises(OutputLocked, match=r"^s3://forensics/lease is in use by another "
                           r"run \(pid \d+, host .*, run_id next-run, command run"), \
                bucket.lease({"run_id": "third", "command": "run", "started_at": "now"}):
            pass
    assert "lease" not in {k.split("/")[0] for k in bucket_objects(s3_env, "lease")}


def test_a_missing_bucket_or_an_unreachable_endpoint_is_one_line(s3_env, monkeypatch):
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ForensicsError, match=r"^s3://no-such-bucket/x: no bucket named "
                       r"no-such-bucket at http://127\.0\.0\.1:\d+$"):
        Bucket("s3://no-such-bucket/x")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ForensicsError, match=r"^s3://forensics/x: Could not connect to the "
                       r"endpoint URL.*set AWS_ENDPOINT_URL"):
        Bucket("s3://forensics/x")
