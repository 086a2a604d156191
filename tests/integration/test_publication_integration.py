"""Publication: dated folders that no later run touches, ``latest``, the contract's links,
and what changed since the previous publication.

Unit cases on folders and tables built in code; then the sample published night after
night into one folder, as the scheduler and an investigator re-running a range would."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pypdf
import pytest

from pipeline import SAMPLE_DIR
from pipeline.publish.publication import (
    Published,
)
from pipeline.run.runner import PipelineParams, RunRequest, run_pipeline
from pipeline.warehouse import DB_NAME

from conftest import query

SAMPLE = SAMPLE_DIR


def _run(out: Path, end: str) -> Published | None:
    request = RunRequest(logs=SAMPLE / "logs", out=out, start=date(2026, 4, 1),
                         end=date.fromisoformat(end), accounts=SAMPLE / "accounts.csv")
    return run_pipeline(request).window.published


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A folder published for the window ending 04-02, then 04-03 twice (a nightly run and
    its unchanged re-run), with what each step saw."""
    out = tmp_path_factory.mktemp("nights") / "out"
    _run(out, "2026-04-02")
    first = _files(out / "publications" / "2026-04-02")
    published = _run(out, "2026-04-03")
    manifest = (out / "manifest.json").read_bytes()
    second = _files(out / "publications" / "2026-04-03")
    _run(out, "2026-04-03")
    return {"out": out, "first": first, "second": second, "manifest": manifest,
            "published": published}


def test_a_later_night_leaves_the_earlier_publication_byte_for_byte(nights):
    out = nights["out"]
    assert _files(out / "publications" / "2026-04-02") == nights["first"]
    assert sorted(p.name for p in (out / "publications").iterdir()) == [
        "2026-04-02", "2026-04-03", "latest"]
    assert os.readlink(out / "publications" / "latest") == "2026-04-03"
    assert (out / "findings" / "clusters.parquet").read_bytes() == \
        nights["second"]["findings/clusters.parquet"]
    assert (out / "reports" / "summary.pdf").read_bytes() == \
        nights["second"]["reports/summary.pdf"]


def test_an_unchanged_rerun_reuses_its_folder_and_gives_the_same_manifest(nights):
    out = nights["out"]
    assert (out / "manifest.json").read_bytes() == nights["manifest"]
    assert _files(out / "publications" / "2026-04-03") == nights["second"]
    assert query(out / DB_NAME, "SELECT name, previous, reused FROM publications "
                                "ORDER BY run_id") == [
        ("2026-04-02", None, False), ("2026-04-03", "2026-04-02", False),
        ("2026-04-03", "2026-04-02", True)]


def test_the_summary_says_what_changed_since_the_previous_night(nights):
    out = nights["out"]
    changes = query(out / DB_NAME, "SELECT cluster_id, change FROM verdict_change")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(
        out / "reports" / "summary.pdf").pages).replace("\n", " ")
    assert "Compared with publication 2026-04-02" in text
    published = nights["published"]
    assert (published.previous, published.changes) == ("2026-04-02", len(changes))
    assert changes, "the sample's second night changes no verdict: the test shows nothing"
    for cluster_id, change in changes:
        assert f"{cluster_id} {change}" in text
    first = " ".join(p.extract_text() for p in pypdf.PdfReader(
        out / "publications" / "2026-04-02" / "reports" / "summary.pdf").pages)
    assert "nothing to compare with" in first.replace("\n", " ")


def test_an_earlier_range_rerun_publishes_beside_the_history_and_becomes_latest(nights,
                                                                                tmp_path):
    """An investigator re-runs the first night with another setting: a new version of
    that night, compared with nothing earlier; every earlier folder keeps its bytes."""
    out = tmp_path / "out"
    shutil.copytree(nights["out"], out, symlinks=True)
    before = {name: _files(out / "publications" / name) for name in ("2026-04-02",
                                                                     "2026-04-03")}
    run_pipeline(RunRequest(logs=SAMPLE / "logs", out=out, start=date(2026, 4, 1),
                            end=date(2026, 4, 2), accounts=SAMPLE / "accounts.csv"),
                 PipelineParams.from_overrides({"excerpts": 1}))
    assert {name: _files(out / "publications" / name) for name in before} == before
    assert os.readlink(out / "publications" / "latest") == "2026-04-02.2"
    assert query(out / DB_NAME, "SELECT previous FROM publications ORDER BY run_id DESC "
                                "LIMIT 1") == [(None,)]

