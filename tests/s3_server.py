"""A local S3-compatible server for the tests (moto's server mode, from the lock's
development group), and what a bucket and a local output folder publish.

Shared by ``tests/integration/test_s3_output.py`` and ``tests/cluster``: the server runs as
its own process on a free port of 127.0.0.1 and accepts any credentials, so nothing reaches
a real cloud and nothing in the pipeline is mocked.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

from pipeline.warehouse import DB_NAME, LOCK_NAME

BUCKET = "forensics"
NOT_PUBLISHED = {DB_NAME, LOCK_NAME, "task_failures.jsonl"}
"""Files of an output folder that are a run's own, not its publication."""


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    """Whether something accepts connections on ``port`` of 127.0.0.1."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def moto_server() -> Iterator[dict[str, str]]:
    """moto's S3 server on a free port with the bucket ``forensics``; yields the AWS SDK's
    standard variables that point boto3 at it (fake credentials: it accepts any)."""
    port = free_port()
    server = subprocess.Popen([Path(sys.executable).parent / "moto_server", "-H", "127.0.0.1",
                               "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        deadline = time.monotonic() + 30
        while not listening(port):
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("moto_server did not start")
            time.sleep(0.2)
        s3_client(env).create_bucket(Bucket=BUCKET)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


def s3_client(env: dict[str, str]):
    return boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"]).client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])


def bucket_objects(env: dict[str, str], prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix/``, by its path under the output, with its bytes."""
    client = s3_client(env)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{prefix}/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {key[len(prefix) + 1:]: client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            for key in keys}


def published_files(local: Path) -> dict[str, bytes]:
    """What a local output folder publishes, as the bucket holds it: every file but the
    database, the lock and the validation pages (a run's own), and each link's files under
    the link's path."""
    found = {}
    for folder, _, names in os.walk(local, followlinks=True):
        for name in names:
            rel = (Path(folder) / name).relative_to(local)
            if rel.parts[0] != "validation" and name not in NOT_PUBLISHED:
                found[rel.as_posix()] = (local / rel).read_bytes()
    return found
