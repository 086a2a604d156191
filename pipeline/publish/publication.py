"""Publication: a run's findings and reports as one dated folder that no later run touches.

In: ``forensics.duckdb`` after scoring and validation (``clusters``, ``cluster_findings``
and what the reports read) and the earlier publications under ``publications/``. Out:
``publications/<window end>[.invalid][.<n>]/`` holding ``findings/*.parquet`` and
``reports/*.pdf``; the ``verdict_change`` table (what changed since the previous
publication) and a ``publications`` row; ``publications/latest`` and the contract's paths
``findings`` and ``reports``, links that lead to the latest valid publication; the manifest.

Why this way: a case file is evidence. A later run (an empty night, a re-run with other
parameters, new code) must never delete or rewrite what an earlier one published, and
"what did we publish on the 3rd?" must have an answer years later. So each run builds its
publication in a hidden staging folder and renames it into place in one step (a crash
leaves the previous state, never half a folder); a folder that exists is never written
again. A re-run that produces the same bytes reuses its folder (same inputs, same bytes);
one that differs gets the next version (``2026-11-29.2``). ``latest`` moves only to a
valid publication: one built on data that failed validation (``--allow-invalid``) is
published under ``<day>.invalid`` beside it and changes nothing else.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.errors import ForensicsError
from pipeline.publish.indicators import STIX_NAME, build_bundle, case_rows, indicator_rows
from pipeline.publish.reports import write_reports
from pipeline.registry import CLUSTER_FINDING, CLUSTERS, PUBLICATIONS
from pipeline.warehouse import empty_frame, sql_text, table_ddl, write_parquet_atomic

PUBLICATIONS_DIR = "publications"
LATEST = "latest"
FINDINGS_DIR = "findings"
REPORTS_DIR = "reports"
CONTRACT_LINKS = (FINDINGS_DIR, REPORTS_DIR)
"""The output contract's paths (``findings/clusters.parquet``, ``reports/summary.pdf``):
links to the same folders of the latest publication, so readers of the contract keep
working and always see one complete publication."""
LEGACY_DIR = "unversioned"
"""Where the plain ``findings``/``reports`` folders of an output folder written before
publications were dated are moved, once, so that nothing they hold is lost."""
FINDINGS = {
    "clusters.parquet": "SELECT cluster_id, account_id FROM clusters "
                        "ORDER BY cluster_id, account_id",
    "cluster_findings.parquet": "SELECT * FROM cluster_findings ORDER BY cluster_id",
}
"""The published findings files and the query of each (the contract's two tables)."""
FINDING_FILE = {"previous_findings": "cluster_findings.parquet",
                "previous_clusters": "clusters.parquet"}
CHANGE_COLUMNS = ("cluster_id", "verdict", "risk_score", "n_accounts")
"""The columns of the previous findings that ``sql/publish/verdict_change.sql`` compares."""
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(\.invalid)?(?:\.([1-9]\d*))?$")
PUBLICATIONS_DDL = table_ddl(PUBLICATIONS, primary_key=True)


@dataclass(frozen=True, order=True)
class Publication:
    """One folder under ``publications/``, ordered by window end, then version."""

    window_end: date
    version: int
    invalid: bool
    name: str

    @classmethod
    def parse(cls, name: str) -> Publication | None:
        """The publication a folder name denotes, or None for any other name."""
        match = _NAME.match(name)
        if not match:
            return None
        try:
            day = date.fromisoformat(match[1])
        except ValueError:
            return None
        return cls(day, int(match[3] or 1), bool(match[2]), name)

    @staticmethod
    def name_for(window_end: date, invalid: bool, version: int) -> str:
        base = window_end.isoformat() + (".invalid" if invalid else "")
        return base if version == 1 else f"{base}.{version}"


@dataclass(frozen=True)
class Published:
    """Where a run's publication went, and what it was compared with."""

    folder: Path
    previous: str | None
    reused: bool
    changes: int


def run_stamp(window_end: date) -> datetime:
    """The time a run's outputs carry: the first instant after its window, so the same
    window and inputs give the same bytes whenever the run happens."""
    return datetime.combine(window_end + timedelta(days=1), time(0), tzinfo=UTC)


def publications(out: Path) -> list[Publication]:
    """Every publication under ``out``, oldest window first."""
    root = out / PUBLICATIONS_DIR
    if not root.is_dir():
        return []
    found = (Publication.parse(p.name) for p in root.iterdir()
             if p.is_dir() and not p.is_symlink())
    return sorted(p for p in found if p is not None)


def previous_publication(out: Path, window_end: date) -> Publication | None:
    """The publication a run ending ``window_end`` reports its changes against: the last
    valid one whose window ends earlier (the night before, for a nightly run; for a
    re-run of an old range, the publication that preceded it then). A re-run of the same
    window is never compared with itself, so it gives the same bytes."""
    earlier = [p for p in publications(out) if not p.invalid and p.window_end < window_end]
    return earlier[-1] if earlier else None


def write_findings(db: duckdb.DuckDBPyConnection, folder: Path) -> list[Path]:
    """The contract's findings files from their tables, in key order (same rows, same
    bytes)."""
    written = []
    for name, query in FINDINGS.items():
        target = folder / name
        write_parquet_atomic(db.sql(query).pl(), target)
        written.append(target)
    return written


def record_changes(db: duckdb.DuckDBPyConnection, previous: Path | None) -> int:
    """Build ``verdict_change`` against the previous publication's findings folder and
    return its row count. Without a previous publication there is nothing to compare
    with, and the table is empty (not every cluster "new")."""
    frames = {"previous_findings": empty_frame(CLUSTER_FINDING, CHANGE_COLUMNS),
              "previous_clusters": empty_frame(CLUSTERS, ("cluster_id", "account_id"))}
    if previous is not None:
        frames = {name: pl.read_parquet(previous / FINDING_FILE[name],
                                        columns=list(frame.columns))
                  for name, frame in frames.items()}
    for name, frame in frames.items():
        db.register(name, frame.to_arrow())
    try:
        db.execute(f"CREATE OR REPLACE TABLE verdict_change AS {sql_text('verdict_change')}",
                   {"compared": previous is not None})
    finally:
        for name in frames:
            db.unregister(name)
    return int(db.sql("SELECT count(*) FROM verdict_change").fetchall()[0][0])


def publish(db: duckdb.DuckDBPyConnection, out: Path, *, run_id: str,
            generated_at: datetime, params: dict[str, Any], excerpts: int = 0,
            invalid: bool = False) -> Published:
    """Build the run's publication in a staging folder and move it into place; move
    ``latest`` to it when the data passed validation. The manifest is the caller's (it
    covers everything, so it is written after this)."""

    window = db.sql("SELECT min(window_start), max(window_end) FROM clusters").fetchall()[0]
    start, end = window
    if end is None:
        raise ForensicsError("nothing to publish: the window has no clusters")
    root = out / PUBLICATIONS_DIR
    root.mkdir(parents=True, exist_ok=True)
    previous = previous_publication(out, end)
    changes = record_changes(db, root / previous.name / FINDINGS_DIR if previous else None)
    staging = root / f".staging.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_findings(db, staging / FINDINGS_DIR)
        write_reports(db, staging / REPORTS_DIR, generated_at=generated_at, params=params,
                      excerpts=excerpts, invalid=invalid,
                      previous=previous.name if previous else None)
        write_indicators(db, staging, generated_at=generated_at, params=params)
        folder, reused = _move_into_place(staging, root, end, invalid)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not invalid:
        _point(root / LATEST, folder.name)
        _contract_links(out)
    counts = dict(db.sql("SELECT verdict, count(*) FROM cluster_findings GROUP BY 1"
                         ).fetchall())
    db.execute(PUBLICATIONS_DDL)
    db.execute("INSERT OR REPLACE INTO publications VALUES ($run_id, $name, $start, $end, "
               "$valid, $previous, $flagged, $watch, $changes, $reused)",
               {"run_id": run_id, "name": folder.name, "start": start, "end": end,
                "valid": not invalid, "previous": previous.name if previous else None,
                "flagged": counts.get("flagged", 0), "watch": counts.get("watch", 0),
                "changes": changes, "reused": reused})
    return Published(folder, previous.name if previous else None, reused, changes)


def write_indicators(db: duckdb.DuckDBPyConnection, folder: Path, *, generated_at: datetime,
                     params: dict[str, Any]) -> Path:
    """The flagged cases as a STIX 2.1 bundle in ``findings/``, beside the tables it is
    drawn from, without keyed hashes: the nightly run holds no sharing key
    (``forensics export-stix --hmac-key`` adds them)."""
    reports = params["reports"]
    bundle = build_bundle(case_rows(db), indicator_rows(db, reports["indicators_per_kind"]),
                          reports=folder / REPORTS_DIR, generated_at=generated_at,
                          producer=reports["producer"], tlp=reports["tlp"])
    target = folder / FINDINGS_DIR / STIX_NAME
    target.write_bytes(bundle)
    return target


def _move_into_place(staging: Path, root: Path, end: date, invalid: bool
                     ) -> tuple[Path, bool]:
    """Rename ``staging`` to the first free version of its name, or reuse a version that
    holds the same bytes. Returns the folder and whether it was reused."""
    version = 1
    while True:
        target = root / Publication.name_for(end, invalid, version)
        if not target.exists():
            os.rename(staging, target)
            return target, False
        if _same_files(staging, target):
            return target, True
        version += 1


def _same_files(a: Path, b: Path) -> bool:
    def listing(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes()
                for p in sorted(root.rglob("*")) if p.is_file()}

    return listing(a) == listing(b)


def _point(link: Path, target: str) -> None:
    """Make ``link`` a relative link to ``target`` in one step (a reader sees the old
    target or the new one)."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _contract_links(out: Path) -> None:
    """``findings`` and ``reports`` lead to the latest publication's folders; plain
    folders left by a version before dated publications are kept under ``unversioned``."""
    for name in CONTRACT_LINKS:
        link, target = out / name, f"{PUBLICATIONS_DIR}/{LATEST}/{name}"
        if link.is_symlink():
            if os.readlink(link) != target:
                _point(link, target)
            continue
        if link.exists():
            legacy = out / PUBLICATIONS_DIR / LEGACY_DIR / name
            if legacy.exists():
                raise ForensicsError(f"{link} is a folder and {legacy} exists: move one of "
                                     "them away (nothing is deleted automatically)")
            legacy.parent.mkdir(parents=True, exist_ok=True)
            os.rename(link, legacy)
        os.symlink(target, link)
