"""``--source postgresql://``: LiteLLM's spend logs read from a real PostgreSQL server.

The test starts a server of the distribution's packages in a temporary folder (a Unix
socket, no TCP port), seeds a ``LiteLLM_SpendLogs`` table with the column names and types
of LiteLLM's Prisma schema, runs ``forensics ingest --source`` over one day and stops the
server. The server logs every statement with its application name, so the test can see
that the pipeline's session was a read-only transaction that only copied the range out.
Without the binaries it skips, except under CI (``CI`` set), where it fails: CI's script
installs them, and a skip there would hide a missing install step.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from pipeline.ingest.adapters import APPLICATION, SPEND_LOGS_FILE

from conftest import DAY, query

SPEND_LOGS_DDL = """
CREATE TABLE "LiteLLM_SpendLogs" (
    "request_id" TEXT NOT NULL,
    "call_type" TEXT NOT NULL,
    "api_key" TEXT NOT NULL DEFAULT '',
    "spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    "total_tokens" INTEGER NOT NULL DEFAULT 0,
    "prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    "completion_tokens" INTEGER NOT NULL DEFAULT 0,
    "startTime" TIMESTAMP(3) NOT NULL,
    "endTime" TIMESTAMP(3) NOT NULL,
    "request_duration_ms" INTEGER,
    "completionStartTime" TIMESTAMP(3),
    "model" TEXT NOT NULL DEFAULT '',
    "model_id" TEXT DEFAULT '',
    "model_group" TEXT DEFAULT '',
    "custom_llm_provider" TEXT DEFAULT '',
    "api_base" TEXT DEFAULT '',
    "user" TEXT DEFAULT '',
    "metadata" JSONB DEFAULT '{}',
    "cache_hit" TEXT DEFAULT '',
    "cache_key" TEXT DEFAULT '',
    "request_tags" JSONB DEFAULT '[]',
    "team_id" TEXT,
    "organization_id" TEXT,
    "end_user" TEXT,
    "requester_ip_address" TEXT,
    "messages" JSONB DEFAULT '{}',
    "response" JSONB DEFAULT '{}',
    "session_id" TEXT,
    "status" TEXT,
    "mcp_namespaced_tool_name" TEXT,
    "agent_id" TEXT,
    "proxy_server_request" JSONB DEFAULT '{}',
    CONSTRAINT "LiteLLM_SpendLogs_pkey" PRIMARY KEY ("request_id")
);
CREATE INDEX "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs"("startTime");
"""


"""The table as LiteLLM's migrations create it from its schema.prisma model."""


ROWS = [
    # request_id, startTime, team_id, user, prompt, completion, status, metadata
    ("before", datetime(2026, 3, 31, 23, 59, 59, 999000), "team-a", None, 10, 1,
     "success", "{}"),
    ("cached", datetime(2026, 4, 1, 8, 0, 0, 500000), "team-a", None, 2100, 60, "success",
     '{"usage_object": {"prompt_tokens": 2100, "cache_read_input_tokens": 2000}, '
     '"requester_ip_address": "203.0.113.7"}'),
    ("limited", datetime(2026, 4, 1, 8, 0, 1), None, "user-9", 0, 0, "failure",
     '{"error_information": {"error_code": "429"}}'),
    ("unknown-failure", datetime(2026, 4, 1, 23, 59, 59), "team-a", None, 0, 0,
     "failure", '{"error_information": {"error_class": "Timeout"}}'),
    ("after", datetime(2026, 4, 2, 0, 0, 0), "team-a", None, 10, 1, "success", "{}"),
]


def _bin_folder() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def server_binaries(found: Path | None, ci: bool) -> Path:
    """The folder of initdb and pg_ctl; a skip without them, a failure under CI."""
    if found is None:
        message = ("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                   "(Debian: apt-get install postgresql)")
        if ci:
            pytest.fail(message + "; .ci/run installs them, so CI must have them")
        pytest.skip(message)
    return found


def test_missing_server_binaries_fail_under_ci_and_skip_elsewhere():
    with pytest.raises(pytest.fail.Exception, match="CI must have them"):
        server_binaries(None, ci=True)
    with pytest.raises(pytest.skip.Exception):
        server_binaries(None, ci=False)


@pytest.fixture(scope="module")
def postgres() -> Iterator[tuple[str, Path]]:
    """A running server: its URL (a Unix socket) and its statement log."""
    binaries = server_binaries(_bin_folder(), ci=bool(os.environ.get("CI")))
    home = Path(tempfile.mkdtemp(prefix="forensics-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        owner = pwd.getpwnam("postgres")
        os.chown(home, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, log = home / "data", home / "server.log"

    def run(*args: str) -> None:
        subprocess.run([*as_owner, *args], check=True, capture_output=True, timeout=120)

    run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
        "--no-sync", "-E", "UTF8")
    options = (f"-k {home} -c listen_addresses='' -c log_statement=all "
               "-c log_line_prefix='[%a] ' -c fsync=off")
    run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w",
        "start")
    try:
        yield f"postgresql://postgres@/postgres?host={home}", log
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def seeded(postgres: tuple[str, Path]) -> tuple[str, Path]:
    import psycopg

    url, log = postgres
    with psycopg.connect(url, application_name="seeding") as con:
        con.execute(SPEND_LOGS_DDL)
        for rid, start, team, user, prompt, completion, status, metadata in ROWS:
            con.execute(
                'INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, '
                'prompt_tokens, completion_tokens, total_tokens, "startTime", "endTime", '
                'model, model_group, "user", team_id, status, metadata) VALUES (%s, '
                "'acompletion', 'hashed-key', %s, %s, %s, %s, %s, 'claude-x', 'claude', %s, "
                "%s, %s, %s)",
                (rid, prompt, completion, prompt + completion, start, start, user, team,
                 status, metadata))
    return url, log


def test_ingest_reads_the_range_from_postgres_read_only(seeded, tmp_path):
    url, log = seeded
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.run.cli", "ingest", "--source", url, "--start",
         DAY.isoformat(), "--end", DAY.isoformat(), "--out", str(out), "--max-bad-share", "1",
         "--allow-empty"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    kept = pl.read_parquet(out / "requests" / f"date={DAY}" / "part-0.parquet").sort("ts")
    assert kept.select("request_id", "account_id", "status", "input_tokens",
                       "cache_read_input_tokens", "source_ip").rows() == [
        ("cached", "team-a", 200, 100, 2000, "203.0.113.7"),
        ("limited", "user-9", 429, 0, 0, None),
    ]
    assert query(out / "forensics.duckdb",
                 "SELECT request_id, reason, reason_fields FROM quarantine") == [
        ("unknown-failure", "missing required field", "status")]
    assert query(out / "forensics.duckdb",
                 "SELECT source_file, format, rows_read FROM ingest_ledger") == [
        (SPEND_LOGS_FILE, "jsonl/litellm", 3)]
    ours = [line.split("] ", 1)[1].strip() for line in log.read_text().splitlines()
            if line.startswith(f"[{APPLICATION}] ") and "statement: " in line]
    assert ours[0] == "LOG:  statement: BEGIN READ ONLY", ours
    assert ours[1].startswith('LOG:  statement: COPY (SELECT to_jsonb(s)::text FROM '
                              '"LiteLLM_SpendLogs"'), ours
    assert ours[2:] == ["LOG:  statement: ROLLBACK"], ours
    assert "2026-04-01" in ours[1] and "2026-04-02" in ours[1]


def test_a_bad_source_names_the_url_without_its_password(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.run.cli", "ingest", "--source",
         f"postgresql://reader:s3cret@/nodb?host={tmp_path}", "--start", "2026-04-01",
         "--end", "2026-04-01", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr + done.stdout
    assert "postgresql://reader:***@" in done.stderr + done.stdout
    assert "s3cret" not in done.stderr + done.stdout

