"""The ``forensics`` command as a user runs it: a real process, its exit code and its output."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import query, record, write_logs


def forensics(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.run.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, check=False)


@pytest.mark.parametrize("command", ["simulate", "ingest", "run", "demo", "verify", "keygen",
                                     "case", "account", "changes", "export-stix"])
def test_every_command_has_help(command):
    result = forensics(command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


@pytest.mark.parametrize("args,message", [
    (["--logs", "{tmp}/nope", "--start", "2026-04-01", "--end", "2026-04-01"],
     "logs folder not found"),
    (["--logs", "{tmp}", "--start", "2026-4-31", "--end", "2026-04-01"],
     "--start: '2026-4-31' is not a date"),
    (["--logs", "{tmp}", "--start", "2026-04-02", "--end", "2026-04-01"],
     "end 2026-04-01 is before start 2026-04-02"),
    (["--logs", "{tmp}", "--start", "2026-04-01", "--end", "2026-04-01",
      "--max-bad-share", "1.5"], "max_bad_share: must be at most 1 (got 1.5)"),
])
@pytest.mark.parametrize("command", ["ingest", "run"])
def test_user_mistakes_are_one_line_and_a_non_zero_exit(tmp_path, command, args, message):
    result = forensics(command, *[a.format(tmp=tmp_path) for a in args],
                       "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_ingest_prints_where_every_row_went(tmp_path):
    logs = tmp_path / "logs"
    write_logs(logs, "a", [record(i) for i in range(30)] + [record(99, status="x")])
    result = forensics("ingest", "--logs", str(logs), "--start", "2026-04-01", "--end",
                       "2026-04-01", "--out", str(tmp_path / "out"), "--max-bad-share", "0.5")
    assert result.returncode == 0, result.stderr
    assert "wrong type" in result.stdout
    assert query(tmp_path / "out" / "forensics.duckdb",
                 "SELECT rows_kept, rows_quarantined FROM ingest_ledger") == [(30, 1)]


def test_a_day_over_the_bad_share_ceiling_exits_non_zero_naming_the_file(tmp_path):
    logs = tmp_path / "logs"
    write_logs(logs, "a", [record(i) for i in range(10)] + [record(99, status="x")])
    result = forensics("run", "--logs", str(logs), "--start", "2026-04-01", "--end",
                       "2026-04-01", "--out", str(tmp_path / "out"))
    assert result.returncode == 4
    assert "a.jsonl" in result.stderr
    assert "ceiling" in result.stderr


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
