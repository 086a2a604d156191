"""The ``forensics`` command as a user runs it: its exit code and its output.

The commands run in this process, through typer's ``CliRunner`` on ``full_app()`` (the app
with every installed package's commands, as ``main`` builds it): a fresh interpreter spends
a second or two importing the data stack before a run command starts. One test starts the
installed ``forensics`` script in a process of its own (for its help, a command's help and
its version): only a fresh process shows that the script is wired to the app and that
answering imports no part of the data stack.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sysconfig
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from pipeline.ingest.coverage import span
from pipeline.ingest.ingest import IngestResult
from pipeline.linking.linking import LinkResult
from pipeline.progress import Steps, stage_of
from pipeline.publish.publication import Published
from pipeline.run import outcome, terminal
from pipeline.run.outcome import RECORD_KEYS
from pipeline.run.runner import RunResult, WindowResult
from pipeline.validation.outcomes import ValidationOutcome

from conftest import DAY, cli, record, write_logs


@pytest.mark.parametrize("command", ["simulate", "ingest", "run", "demo", "verify", "keygen",
                                     "case", "account", "changes", "export-stix"])
def test_every_command_has_help(command):
    result = cli(command, "--help")
    assert result.exit_code == 0
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
    result = cli(command, *[a.format(tmp=tmp_path) for a in args],
                       "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_a_day_over_the_bad_share_ceiling_exits_non_zero_naming_the_file(tmp_path):
    logs = tmp_path / "logs"
    write_logs(logs, "a", [record(i) for i in range(10)] + [record(99, status="x")])
    result = cli("run", "--logs", str(logs), "--start", "2026-04-01", "--end",
                       "2026-04-01", "--out", str(tmp_path / "out"))
    assert result.exit_code == 4
    assert "a.jsonl" in result.stderr
    assert "ceiling" in result.stderr


DATA_STACK = {"polars", "duckdb", "scipy", "igraph", "pyarrow", "matplotlib", "numpy",
              "pandas", "great_expectations", "fpdf", "sklearn"}
"""What a command loads to do its work and must not load to print its help: each costs
tenths of a second, and together they made ``forensics --help`` take seconds."""

SCRIPT = Path(sysconfig.get_path("scripts")) / "forensics"
"""The console script ``pip install`` wrote for ``[project.scripts]``, beside this Python."""


def imported(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """The installed script run as ``forensics ARGS`` in a process of its own, and the
    top-level packages it imports (``PYTHONPROFILEIMPORTTIME``, which ``-X importtime``
    sets for a ``python`` command line)."""
    result = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                            check=False, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result, {line.rsplit("|", 1)[-1].strip().split(".")[0]
                    for line in result.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [("--help",), ("run", "--help"), ("--version",)])
def test_the_installed_script_answers_help_and_version_without_the_data_stack(args):
    result, modules = imported(*args)
    assert "typer" in modules
    assert modules & DATA_STACK == set()
    assert ("forensics 0." if args == ("--version",) else "Usage: forensics") in result.stdout


def test_version_names_the_package_and_its_commit():
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("forensics 0.")
    assert len(result.stdout.splitlines()) == 1


def test_each_stage_keeps_its_own_row(monkeypatch):
    """Two stages whose names share a first word had one row between them, the second
    overwriting the first; a stage's row now holds only its own steps."""
    screen = io.StringIO()
    monkeypatch.setattr(terminal, "console", Console(file=screen, width=100))
    with terminal.progress_bar() as report:
        raw = Steps(report, "validating raw partitions", 1)
        raw.next("3 days")
        raw.end()
        linking = Steps(report, "linking", 4)
        linking.next("account_link_key")
        linking.next("link_key")
        report("validating window tables: 5 clusters", 0, 1)
    rows = [line for line in screen.getvalue().splitlines() if line.strip()]
    assert [stage_of(row).split("  ")[0] for row in rows] == [
        "validating raw partitions", "linking", "validating window tables"]
    assert "100%" in rows[0] and " 25%" in rows[1] and "link_key" in rows[1]
    assert "  0%" in rows[2]


def _result(tmp_path: Path, flagged: tuple[str, ...]) -> RunResult:
    ingest = IngestResult(run_id="r1", days=[DAY], files=[], skipped_files=[], rows_read=10,
                          rows_kept=10, rows_quarantined=0, rows_out_of_range=0,
                          validation=ValidationOutcome("r1", "raw", ()))
    linked = LinkResult(window_start=DAY, window_end=DAY, account_count=7, edge_count=3,
                        cluster_count=4, linked_cluster_count=1, largest_cluster=4)
    window = WindowResult(linking=linked, verdicts={"flagged": len(flagged), "clear": 3},
                          published=Published(tmp_path / "publications" / "2026-04-01", None,
                                               False, 0),
                          flagged=flagged, validation=ValidationOutcome("r1", "window", ()))
    return RunResult(run_id="r1", ingest=ingest, window=window)


def test_the_summary_ends_with_what_a_morning_starts_from(tmp_path, monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(outcome, "out_console", Console(file=screen, width=100))
    ids = tuple(f"C{i:010x}" for i in range(outcome.FLAGGED_SHOWN + 2))
    outcome.print_run(_result(tmp_path, ids), tmp_path, 83.4, verbose=False)
    labelled: list[list[str]] = [[]]
    for line in screen.getvalue().splitlines():
        if not line.startswith(" "):
            labelled.append([])
        labelled[-1].append(line.strip())
    end = {lines[0].split()[0]: " ".join(lines) for lines in labelled[-5:]}
    assert list(end) == ["verdicts", "flagged", "summary", "validation", "elapsed"]
    assert end["verdicts"].endswith(f"{len(ids)} flagged, 0 watch, 3 clear")
    assert ids[0] in end["flagged"] and ids[-1] not in end["flagged"]
    assert end["flagged"].endswith("and 2 more (in the summary)")
    assert end["summary"].endswith(str(tmp_path / "reports" / "summary.pdf"))
    assert end["validation"].endswith("raw passed (0 expectations), window passed (0 "
                                      "expectations)")
    assert end["elapsed"].endswith(" 1 min 23 s")
    assert "wrote" not in screen.getvalue()


def test_the_file_listing_is_behind_verbose(tmp_path, monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(outcome, "out_console", Console(file=screen, width=100))
    (tmp_path / "forensics.duckdb").write_bytes(b"")
    outcome.print_run(_result(tmp_path, ()), tmp_path, 4.2, verbose=True)
    assert "forensics.duckdb" in screen.getvalue()
    assert screen.getvalue().rstrip().endswith("4.2 s")


def test_a_range_the_logs_do_not_hold_says_which_days_they_do(tmp_path):
    logs = tmp_path / "logs"
    write_logs(logs, "a", [record(i) for i in range(5)])
    result = cli("run", "--logs", str(logs), "--start", "2026-05-01", "--end",
                       "2026-05-03", "--out", str(tmp_path / "out"), "--json")
    assert result.exit_code == 6
    assert "(the logs cover 2026-04-01)" in result.stderr
    failed = json.loads(result.stdout)
    assert list(failed) == list(RECORD_KEYS)
    assert (failed["status"], failed["exit_code"]) == ("failed", 6)
    assert "the logs cover 2026-04-01" in failed["error"]
    assert failed["verdicts"] is None and failed["flagged"] is None


@pytest.mark.parametrize("first,last,text", [
    (date(2026, 4, 1), date(2026, 4, 3), "2026-04-01..03"),
    (date(2026, 4, 1), date(2026, 4, 1), "2026-04-01"),
    (date(2026, 3, 30), date(2026, 4, 2), "2026-03-30..04-02"),
    (date(2025, 12, 30), date(2026, 1, 2), "2025-12-30..2026-01-02"),
])
def test_a_span_of_days_reads_as_a_person_writes_it(first, last, text):
    assert span(first, last) == text

