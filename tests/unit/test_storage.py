"""``pipeline.publish.storage`` without a server: where a bucket's working folder is, what
a push covers, when a lease has lapsed. The bucket itself is tested against a local S3
server in ``tests/integration/test_s3_output.py``."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.errors import ForensicsError
from pipeline.publish.storage import lease_lapsed, locate, pushed_files
from pipeline.run.orchestration import configured_paths
from pipeline.run.runner import RunRequest
from pipeline.warehouse import LOCK_NAME, locked_message


def test_a_folder_is_written_in_place_and_a_bucket_through_its_working_folder(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("FORENSICS_WORK_DIR", str(tmp_path))
    assert locate("out") == (Path("out"), None)
    folder, url = locate("s3://forensics/nightly/")
    digest = hashlib.sha256(b"s3://forensics/nightly").hexdigest()[:12]
    assert (folder, url) == (tmp_path / f"forensics-{digest}" / "out", "s3://forensics/nightly")
    assert locate("s3://forensics/rerun")[0] != folder
    with pytest.raises(ForensicsError, match="needs a bucket"):
        locate("s3:///prefix")


def test_a_plan_keeps_a_bucket_url_and_its_request_writes_the_working_folder(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("FORENSICS_WORK_DIR", str(tmp_path))
    assert configured_paths({"FORENSICS_OUT_DIR": "s3://forensics/nightly"})["out"] == \
        "s3://forensics/nightly"
    request = RunRequest.from_dict({"logs": "logs", "out": "s3://forensics/nightly",
                                    "start": "2026-04-01", "end": "2026-04-01"})
    assert (request.out, request.remote) == (locate("s3://forensics/nightly")[0],
                                             "s3://forensics/nightly")
    assert RunRequest.from_dict(request.to_dict()) == request


def test_a_push_covers_files_and_links_as_copies_but_not_the_lock_or_temporary_files(
        tmp_path):
    out = tmp_path / "out"
    findings = out / "publications" / "2026-04-03" / "findings"
    findings.mkdir(parents=True)
    (findings / "clusters.parquet").write_bytes(b"rows")
    (out / "manifest.json").write_text("{}")
    (out / LOCK_NAME).write_text("{}")
    (out / ".manifest.json.123.tmp").write_text("half")
    (out / ".publication.123.tmp").mkdir()
    (out / ".publication.123.tmp" / "x").write_text("staged")
    os.symlink("2026-04-03", out / "publications" / "latest")
    os.symlink("publications/latest/findings", out / "findings")
    files = pushed_files(out)
    assert sorted(files) == ["findings/clusters.parquet", "manifest.json",
                             "publications/2026-04-03/findings/clusters.parquet",
                             "publications/latest/findings/clusters.parquet"]
    assert files["findings/clusters.parquet"] == (findings / "clusters.parquet").resolve()


def test_a_lease_lapses_at_its_time_and_an_unreadable_lock_never_does():
    now = datetime.now(UTC)
    assert lease_lapsed(json.dumps({"lease_until": (now - timedelta(seconds=1)).isoformat()}))
    assert not lease_lapsed(json.dumps({"lease_until": (now + timedelta(minutes=5)).isoformat()}))
    assert not lease_lapsed("not json")
    assert not lease_lapsed(json.dumps({"run_id": "no lease"}))


def test_every_lock_refuses_in_the_same_words():
    holder = json.dumps({"pid": "7", "run_id": "r1", "command": "run"})
    assert locked_message("s3://forensics/nightly", holder) == (
        "s3://forensics/nightly is in use by another run (pid 7, run_id r1, command run); "
        "wait for it to finish")
    assert locked_message(Path("out"), "garbled") == (
        "out is in use by another run (garbled); wait for it to finish")
