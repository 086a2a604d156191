"""Publication: dated folders that no later run touches, ``latest``, the contract's links,
and what changed since the previous publication.

Unit cases on folders and tables built in code; then the sample published night after
night into one folder, as the scheduler and an investigator re-running a range would."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.publish.publication import (
    Publication,
    _contract_links,
    _move_into_place,
    previous_publication,
    record_changes,
)
from pipeline.warehouse import DB_NAME, connect, remove_dead_temp_files


@pytest.mark.parametrize(("name", "parsed"), [
    ("2026-04-03", (date(2026, 4, 3), 1, False)),
    ("2026-04-03.2", (date(2026, 4, 3), 2, False)),
    ("2026-04-03.invalid", (date(2026, 4, 3), 1, True)),
    ("2026-04-03.invalid.3", (date(2026, 4, 3), 3, True)),
    ("latest", None), ("unversioned", None), ("2026-02-30", None), ("2026-04-03.0", None),
    (".staging.12.tmp", None), ("2026-04-03.invalid.x", None),
])
def test_a_folder_name_is_a_publication_or_nothing(name, parsed):
    found = Publication.parse(name)
    assert (found and (found.window_end, found.version, found.invalid)) == parsed
    if found:
        assert Publication.name_for(found.window_end, found.invalid, found.version) == name


def test_the_previous_publication_is_the_last_valid_one_of_an_earlier_window(tmp_path):
    root = tmp_path / "publications"
    for name in ("2026-04-01", "2026-04-02", "2026-04-02.2", "2026-04-02.invalid.2",
                 "2026-04-03", "2026-04-04.invalid", "unversioned"):
        (root / name).mkdir(parents=True)
    (root / "latest").symlink_to("2026-04-03")
    named = {day: getattr(previous_publication(tmp_path, date(2026, 4, day)), "name", None)
             for day in (1, 2, 3, 4, 5)}
    assert named == {1: None, 2: "2026-04-01", 3: "2026-04-02.2", 4: "2026-04-03",
                     5: "2026-04-03"}


def _staged(root: Path, text: str) -> Path:
    staging = root / f".staging.{os.getpid()}.tmp"
    (staging / "reports").mkdir(parents=True)
    (staging / "reports" / "summary.pdf").write_text(text)
    return staging


def test_a_publication_is_never_written_over_and_the_same_bytes_reuse_their_folder(tmp_path):
    end = date(2026, 4, 3)
    first, reused = _move_into_place(_staged(tmp_path, "one"), tmp_path, end, False)
    assert (first.name, reused) == ("2026-04-03", False)
    staging = _staged(tmp_path, "one")
    again, reused = _move_into_place(staging, tmp_path, end, False)
    assert (again, reused) == (first, True)
    shutil.rmtree(staging)
    other, reused = _move_into_place(_staged(tmp_path, "two"), tmp_path, end, False)
    assert (other.name, reused) == ("2026-04-03.2", False)
    assert (first / "reports" / "summary.pdf").read_text() == "one"
    invalid, _ = _move_into_place(_staged(tmp_path, "three"), tmp_path, end, True)
    assert invalid.name == "2026-04-03.invalid"


def test_a_dead_runs_staging_folder_is_removed_and_a_live_ones_kept(tmp_path):
    dead = subprocess_pid()
    (tmp_path / "publications" / f".staging.{dead}.tmp" / "reports").mkdir(parents=True)
    live = _staged(tmp_path / "publications", "live")
    removed = remove_dead_temp_files(tmp_path)
    assert [p.name for p in removed] == [f".staging.{dead}.tmp"]
    assert live.is_dir()


def subprocess_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_the_contract_paths_lead_to_latest_and_old_plain_folders_are_kept(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "summary.pdf").write_text("from an earlier version")
    (tmp_path / "publications" / "2026-04-03" / "reports").mkdir(parents=True)
    (tmp_path / "publications" / "latest").symlink_to("2026-04-03")
    _contract_links(tmp_path)
    assert os.readlink(tmp_path / "reports") == "publications/latest/reports"
    assert os.readlink(tmp_path / "findings") == "publications/latest/findings"
    assert (tmp_path / "publications" / "unversioned" / "reports" / "summary.pdf"
            ).read_text() == "from an earlier version"
    (tmp_path / "reports").unlink()
    (tmp_path / "reports").symlink_to("publications/2026-04-03/reports")
    _contract_links(tmp_path)
    assert os.readlink(tmp_path / "reports") == "publications/latest/reports"
    (tmp_path / "findings").unlink()
    (tmp_path / "findings").mkdir()
    (tmp_path / "publications" / "unversioned" / "findings").mkdir()
    with pytest.raises(Exception, match="nothing is deleted automatically"):
        _contract_links(tmp_path)


def test_verdict_change_lists_moves_and_where_an_ended_case_went(tmp_path):
    previous = tmp_path / "previous"
    previous.mkdir()
    pl.DataFrame({
        "cluster_id": ["A", "B", "C", "D", "E", "F"],
        "verdict": ["flagged", "watch", "clear", "flagged", "clear", "watch"],
        "risk_score": [0.9, 0.6, 0.2, 0.8, 0.1, 0.5],
        "n_accounts": [3, 1, 1, 2, 1, 1],
    }).write_parquet(previous / "cluster_findings.parquet")
    pl.DataFrame({
        "cluster_id": ["A", "A", "A", "B", "C", "D", "D", "E", "F"],
        "account_id": ["a1", "a2", "a3", "b1", "c1", "d1", "d2", "e1", "f1"],
    }).write_parquet(previous / "clusters.parquet")
    db = connect(tmp_path / DB_NAME)
    try:
        db.execute("CREATE TABLE cluster_findings AS SELECT * FROM (VALUES "
                   "('A', 'flagged', 0.95, 5), ('B', 'clear', 0.3, 1), ('C', 'watch', 0.7, 1),"
                   "('F', 'watch', 0.55, 1), ('G', 'flagged', 0.9, 2), ('H', 'clear', 0.1, 1))"
                   " AS t (cluster_id, verdict, risk_score, n_accounts)")
        db.execute("CREATE TABLE clusters AS SELECT * FROM (VALUES ('A', 'a1'), ('A', 'a2'), "
                   "('A', 'a3'), ('A', 'd1'), ('A', 'd2'), ('B', 'b1'), ('C', 'c1'), "
                   "('F', 'f1'), ('G', 'g1'), ('G', 'g2'), ('H', 'e1')) AS t (cluster_id, "
                   "account_id)")
        assert record_changes(db, previous) == 4
        rows = db.sql("SELECT cluster_id, change, previous_verdict, verdict, now_in, "
                      "now_in_verdict FROM verdict_change ORDER BY cluster_id").fetchall()
        assert record_changes(db, None) == 0
    finally:
        db.close()
    assert rows == [
        ("B", "lowered", "watch", "clear", None, None),
        ("C", "raised", "clear", "watch", None, None),
        ("D", "ended", "flagged", None, "A", "flagged"),
        ("G", "new", None, "flagged", None, None),
    ]

