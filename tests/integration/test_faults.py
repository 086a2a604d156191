"""Fault injection: the real command killed (kill -9) during each stage, and under a fault
it cannot prevent (a full disk), made without privileges (a small tmpfs in a user and
mount namespace, ``unshare -rm``; skipped where the machine allows no such namespace)."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import PROJECT_DIR, SAMPLE_DIR

from conftest import query

SAMPLE = SAMPLE_DIR


def _namespaces() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


needs_namespaces = pytest.mark.skipif(not _namespaces(),
                                      reason="no unprivileged user and mount namespaces")


NOBODY = 65534


needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="permissions are tested as root, run as nobody")


ROOT = PROJECT_DIR


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder that the user ``nobody`` can reach and owns (pytest's own is private)."""
    folder = Path(tempfile.mkdtemp(prefix="forensics-perm-"))
    folder.chmod(0o755)
    os.chown(folder, NOBODY, NOBODY)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def _as_nobody(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as an unprivileged user: permissions mean nothing to root."""
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                           "--clear-groups", sys.executable, "-m", "pipeline.run.cli", *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "HOME": str(home), "MPLCONFIGDIR": str(home)})


def _one_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def _give(folder: Path, *, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            os.chown(path, NOBODY, NOBODY)
            mode = path.stat().st_mode
            path.chmod(mode | 0o200 if writable else mode & ~0o222)


@needs_root
@pytest.mark.parametrize("what", ["file", "folder"])
def test_an_unreadable_log_file_or_folder_stops_the_run_with_one_line_naming_it(shared_tmp,
                                                                               what):
    logs = shared_tmp / "logs"
    shutil.copytree(SAMPLE / "logs", logs / "gateway-a")
    _give(logs, writable=True)
    hidden = logs / "gateway-a" if what == "folder" else sorted((logs / "gateway-a").iterdir())[0]
    hidden.chmod(0)
    result = _as_nobody(["run", "--logs", str(logs), "--start", "2026-04-01", "--end",
                         "2026-04-03", "--out", str(shared_tmp / "out")], shared_tmp)
    assert result.returncode == 2, result.stderr
    assert hidden.name in _one_error(result.stderr)
    assert not (shared_tmp / "out" / "requests").exists()


@needs_root
def test_a_write_protected_publication_is_refused_and_still_verifies_and_rederives(
        sample_run, shared_tmp):
    """An auditor's read-only copy: a run into it stops with one line and changes
    nothing; ``verify --rederive`` needs no write access to it."""
    out = shared_tmp / "out"
    shutil.copytree(sample_run, out, symlinks=True)
    _give(out, writable=False)
    result = _as_nobody(["run", "--logs", str(SAMPLE / "logs"), "--start", "2026-04-01",
                         "--end", "2026-04-03", "--out", str(out)], shared_tmp)
    assert result.returncode == 2, result.stderr
    assert _one_error(result.stderr).startswith("error: permission denied")
    audited = _as_nobody(["verify", str(out), "--rederive"], shared_tmp)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "the findings re-derive" in audited.stdout


@needs_namespaces
def test_a_full_disk_stops_the_run_with_one_line_and_leaves_the_publication(sample_run,
                                                                           tmp_path):
    """The published folder sits on a 40 MB file system with half a megabyte left: the
    re-run stops with one line (exit 9), no traceback, and every published file still
    matches the manifest."""
    mount = tmp_path / "small"
    mount.mkdir()
    out = mount / "out"
    python = shlex.quote(sys.executable)
    fill = ("import os, sys; s = os.statvfs(sys.argv[1]); "
            "open(os.path.join(sys.argv[1], 'filler'), 'wb').write("
            "b'0' * max(0, s.f_bavail * s.f_frsize - (512 << 10)))")
    run = (f"{python} -m pipeline.run.cli run --logs {shlex.quote(str(SAMPLE / 'logs'))} "
           f"--accounts {shlex.quote(str(SAMPLE / 'accounts.csv'))} --start 2026-04-01 "
           f"--end 2026-04-03 --out {shlex.quote(str(out))}")
    script = (f"set -e; mount -t tmpfs -o size=40m none {shlex.quote(str(mount))}; "
              f"cp -a {shlex.quote(str(sample_run))} {shlex.quote(str(out))}; "
              f"{python} -c {shlex.quote(fill)} {shlex.quote(str(mount))}; "
              f"set +e; {run} 2> {shlex.quote(str(tmp_path / 'run.err'))}; "
              "echo run=$?; "
              f"rm {shlex.quote(str(mount / 'filler'))}; "
              f"{python} -m pipeline.run.cli verify {shlex.quote(str(out))}; echo verify=$?")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True,
                            text=True, timeout=600, cwd=PROJECT_DIR)
    assert "run=9" in result.stdout, result.stdout + result.stderr
    stderr = (tmp_path / "run.err").read_text()
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert errors[0].startswith("error: out of disk space"), stderr
    assert "verify=0" in result.stdout, result.stdout + result.stderr


def _run_command(out: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline.run.cli", "run", "--logs", str(SAMPLE / "logs"),
            "--accounts", str(SAMPLE / "accounts.csv"), "--start", "2026-04-01",
            "--end", "2026-04-03", "--out", str(out)]


@pytest.mark.parametrize("stage", ["requests/*", "account_day/*", "validation/*/window",
                                   "publications/.staging.*/reports/*"])
def test_a_run_killed_during_any_stage_reruns_to_the_same_bytes(sample_run, tmp_path, stage):
    """kill -9 as soon as the stage's first file appears (ingest, day tables, the window's
    validation, the publication's reports in its staging folder); the next run settles
    what the killed one left (its row abandoned, its temporary files and staging folder
    gone) and publishes the bytes of an uninterrupted run."""
    out = tmp_path / "out"
    killed = subprocess.Popen(_run_command(out), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        while killed.poll() is None:
            if any(out.glob(stage)):
                killed.kill()
                break
            time.sleep(0.02)
    finally:
        killed.wait(timeout=600)
    assert killed.returncode == -signal.SIGKILL, f"the run ended before {stage} appeared"
    rerun = subprocess.run(_run_command(out), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert (out / "manifest.json").read_bytes() == (sample_run / "manifest.json").read_bytes()
    assert not [p for p in out.rglob("*.tmp")]
    assert query(out / "forensics.duckdb",
                 "SELECT status, count(*) FROM runs GROUP BY ALL ORDER BY ALL") == [
        ("abandoned", 1), ("succeeded", 1)]

