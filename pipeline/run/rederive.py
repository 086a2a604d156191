"""Re-derivation of a publication's findings, for an auditor who trusts none of them.

In: a published output folder (its manifest, day partitions and ``forensics.duckdb``).
Out: the window stages re-run into a temporary copy and each findings table compared with
the published one (``forensics verify --rederive``). It runs the window stage itself, so it
sits with the runner, above the manifest it reads.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipeline.errors import ForensicsError
from pipeline.publish.manifest import MANIFEST_NAME, read_manifest
from pipeline.publish.publication import (
    CONTRACT_LINKS,
    FINDINGS_DIR,
    PUBLICATIONS_DIR,
    write_findings,
)
from pipeline.run.runner import PipelineParams, RunRequest, window_task
from pipeline.validation.validation import VALIDATION_DIR
from pipeline.warehouse import DB_NAME, LOCK_NAME, connect

FLOAT_TOLERANCE = 1e-9
"""Relative difference under which two re-derived floats are equal: DuckDB's parallel
sums may add doubles in another order, which changes the last bits and nothing else."""


@dataclass(frozen=True)
class RederiveResult:
    """What ``rederive`` compared: each findings file, and the differences found."""

    compared: list[str]
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


def rederive(out: Path, *, keep: Path | None = None) -> RederiveResult:
    """Re-run the window stages from the day partitions into a temporary copy of ``out``
    and compare its ``findings/*.parquet`` with the published ones.

    The copy links the partition folders (read only) and copies ``forensics.duckdb`` (the
    accounts table feeds linking), whose ``clusters`` are put back to those the run named
    its own against (``prior_clusters``): the stable case ids come from them, and the join
    and merge rounds break ties by id, so a re-derivation from the published clusters
    instead could differ. The
    window is the manifest's ``start``/``end`` and the stages' parameters are the
    manifest's. Each findings file is compared as a table: the same columns, the same rows
    in key order, equal values (floats within a relative 1e-9). ``keep`` keeps the copy
    there instead of a temporary folder, for inspection.
    """
    manifest = read_manifest(out)
    params = manifest.get("parameters", {})
    if not manifest.get("publication"):
        raise ForensicsError(f"{out / MANIFEST_NAME} names no publication to re-derive")
    published = out / PUBLICATIONS_DIR / str(manifest["publication"]) / FINDINGS_DIR
    start = date.fromisoformat(str(params["start"]))
    end = date.fromisoformat(str(params["end"]))
    work = keep or Path(tempfile.mkdtemp(prefix="rederive-"))
    try:
        copy = work / "out"
        copy.mkdir(parents=True, exist_ok=True)
        for entry in sorted(out.iterdir()):
            if entry.name in (*CONTRACT_LINKS, PUBLICATIONS_DIR, VALIDATION_DIR,
                              MANIFEST_NAME, LOCK_NAME) or entry.name.startswith("."):
                continue
            if entry.name == DB_NAME:
                shutil.copyfile(entry, copy / DB_NAME)
            elif not entry.name.endswith(".wal"):
                (copy / entry.name).symlink_to(entry.resolve())
        _restore_prior_clusters(copy / DB_NAME)
        request = RunRequest(logs=work, out=copy, start=start, end=end)
        window_task(request, PipelineParams.from_nested(params), publish=False)
        db = connect(copy / DB_NAME)
        try:
            write_findings(db, work / FINDINGS_DIR)
        finally:
            db.close()
        return compare_findings(published, work / FINDINGS_DIR)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _restore_prior_clusters(database: Path) -> None:
    """The copy's ``clusters`` as the published run found them: ``prior_clusters``, or no
    table where that run was the first (none). A database written before ``prior_clusters``
    existed keeps its clusters."""
    db = connect(database)
    try:
        kept = db.execute("SELECT count(*) FROM duckdb_tables() "
                          "WHERE table_name = 'prior_clusters'").fetchall()[0][0]
        if not kept:
            return
        if db.execute("SELECT count(*) FROM prior_clusters").fetchall()[0][0]:
            db.execute("CREATE OR REPLACE TABLE clusters AS "
                       "SELECT cluster_id, account_id FROM prior_clusters")
        else:
            db.execute("DROP TABLE IF EXISTS clusters")
    finally:
        db.close()


def compare_findings(published: Path, derived: Path) -> RederiveResult:
    """Compare every ``*.parquet`` of two findings folders as tables."""
    names = sorted({p.name for p in published.glob("*.parquet")} |
                   {p.name for p in derived.glob("*.parquet")})
    differences: list[str] = []
    for name in names:
        a, b = published / name, derived / name
        if not a.is_file():
            differences.append(f"{name}: re-derived but not published")
            continue
        if not b.is_file():
            differences.append(f"{name}: published but not re-derived")
            continue
        differences += [f"{name}: {d}" for d in compare_tables(pl.read_parquet(a),
                                                               pl.read_parquet(b))]
    return RederiveResult(compared=names, differences=differences)


def compare_tables(published: pl.DataFrame, derived: pl.DataFrame,
                   limit: int = 5) -> list[str]:
    """Differences between two tables: columns, row count, then cell values (rows sorted
    by every non-float column, so the order of writing does not matter)."""
    if published.columns != derived.columns:
        return [f"columns differ: {published.columns} against {derived.columns}"]
    if published.height != derived.height:
        return [f"{published.height:,} rows published, {derived.height:,} re-derived"]
    keys = [c for c, t in published.schema.items() if not t.is_float()]
    a = published.sort(keys, nulls_last=True) if keys else published
    b = derived.sort(keys, nulls_last=True) if keys else derived
    problems: list[str] = []
    for column in published.columns:
        x, y = a[column], b[column]
        if x.dtype.is_float():
            scale = pl.DataFrame({"x": x.abs(), "y": y.abs()}).select(
                pl.max_horizontal("x", "y").clip(lower_bound=1.0))["x"]
            bad = (((x - y).abs() > FLOAT_TOLERANCE * scale).fill_null(False)
                   | (x.is_null() != y.is_null()))
        else:
            bad = ~(x.eq_missing(y))
        n = int(bad.sum())
        if n:
            first = a.filter(bad).head(limit)
            problems.append(f"column {column}: {n:,} rows differ (first published rows: "
                            f"{first.head(limit).select(keys[:2] or [column]).rows()})")
    return problems
