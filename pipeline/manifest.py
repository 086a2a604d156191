"""The run's manifest, its verification, and the re-derivation of its findings.

In: an output folder after the window stages, the run's input files (from
``ingest_ledger``), parameters and code version. Out: ``manifest.json`` with the sha256 of
every input file, every SQL file and every output file under the folder (except
``forensics.duckdb``, which DuckDB rewrites in place and is not byte-stable, the lock and
temporary files); ``verify`` re-hashes the folder against it; ``rederive`` recomputes the
findings from the day partitions and compares them with the published ones.

Why this way: an auditor must be able to show that a report is the one the pipeline
produced from the logged inputs (hashes), and that the findings follow from the data
(re-derivation), without trusting the machine that produced them. The manifest holds no
clock and no run id (both change from run to run), and its keys are sorted, so the same
inputs and parameters give the same bytes. Partitions are hashed too: they are what
``--rederive`` recomputes from, so a tampered partition is caught by ``verify`` first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.warehouse import DB_NAME, LOCK_NAME, sql_path

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "distill-forensics manifest 1"
EXCLUDED = {DB_NAME, f"{DB_NAME}.wal", LOCK_NAME, MANIFEST_NAME}
EXCLUDED_DIRS = {"validation"}
"""Folders the manifest does not cover: the validation Data Docs are a per-run record
(their pages carry the run's id and time); their outcomes are in forensics.duckdb and in
the reports' provenance section."""
FINDINGS_DIR = "findings"
FLOAT_TOLERANCE = 1e-9
"""Relative difference under which two re-derived floats are equal: DuckDB's parallel
sums may add doubles in another order, which changes the last bits and nothing else."""


@dataclass(frozen=True)
class InputRecord:
    """One input file of the run, as ``ingest_ledger`` recorded it."""

    source_file: str
    sha256: str
    size_bytes: int


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@cache
def code_version() -> str:
    """The package version plus the git commit (``0.1.0+g1a2b3c4d5e6f``), with
    ``.dirty`` when tracked files differ from that commit; the version alone outside git."""
    try:
        version = metadata.version("distill-forensics")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+g{commit[:12]}{'.dirty' if dirty else ''}"


def sql_hashes() -> dict[str, str]:
    """sha256 of every SQL file the pipeline runs, by file name."""
    folder = sql_path("macros").parent
    return {p.name: sha256_file(p) for p in sorted(folder.glob("*.sql"))}


def ledger_inputs(db: Any, *, start: date | None = None,
                  end: date | None = None) -> list[InputRecord]:
    """The input files behind the window's partitions, from ``ingest_ledger`` (the same
    selection the reports print). ``start``/``end`` default to the clusters' window."""
    from pipeline.reports import existing_tables, read_inputs

    tables = existing_tables(db)
    if (start is None or end is None) and "clusters" in tables:
        start, end = db.execute("SELECT min(window_start), max(window_end) FROM clusters"
                                ).fetchall()[0]
    frame = read_inputs(db, start, end, tables)
    return [InputRecord(r["source_file"], r["sha256"], int(r["size_bytes"]))
            for r in frame.iter_rows(named=True)]


def output_files(out: Path) -> list[Path]:
    """Every file under ``out`` the manifest covers, in path order."""
    found = []
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if not path.is_file() or rel.as_posix() in EXCLUDED:
            continue
        if any(part.startswith(".") for part in rel.parts) or rel.parts[0] in EXCLUDED_DIRS:
            continue
        found.append(path)
    return found


def write_manifest(out: Path, *, inputs: Iterable[InputRecord], params: dict[str, Any],
                   code_version: str, run_id: str | None = None) -> Path:
    """Write ``out/manifest.json`` (atomically) and return its path.

    ``run_id`` is accepted for symmetry with the other stages and not written: it holds
    the clock, and the manifest must be the same bytes for the same inputs.
    """
    del run_id
    document = {
        "format": MANIFEST_FORMAT,
        "code_version": code_version,
        "parameters": params,
        "inputs": [{"file": i.source_file, "sha256": i.sha256, "size_bytes": i.size_bytes}
                   for i in sorted(inputs, key=lambda i: (i.source_file, i.sha256))],
        "sql": sql_hashes(),
        "outputs": {p.relative_to(out).as_posix(): {"sha256": sha256_file(p),
                                                    "size_bytes": p.stat().st_size}
                    for p in output_files(out)},
    }
    text = json.dumps(document, sort_keys=True, indent=2, default=str, ensure_ascii=False)
    target = out / MANIFEST_NAME
    tmp = target.with_name(f".{MANIFEST_NAME}.{os.getpid()}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


@dataclass(frozen=True)
class VerifyResult:
    """What ``verify`` found: files whose bytes differ from the manifest, files the
    manifest lists that are missing, and files present that it does not list."""

    checked: int
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and not (self.changed or self.missing or self.unexpected)

    def lines(self) -> list[str]:
        """One line per finding, for the terminal."""
        if self.problem:
            return [self.problem]
        return ([f"changed: {p}" for p in self.changed] +
                [f"missing: {p}" for p in self.missing] +
                [f"not in the manifest: {p}" for p in self.unexpected])


def read_manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))


def verify(out: Path) -> VerifyResult:
    """Re-hash every output file against ``out/manifest.json``; name every file that
    differs, is missing, or is present but not listed (a report slipped in later)."""
    if not (out / MANIFEST_NAME).is_file():
        return VerifyResult(0, problem=f"no {MANIFEST_NAME} in {out}")
    try:
        listed: dict[str, dict[str, Any]] = read_manifest(out)["outputs"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        return VerifyResult(0, problem=f"{MANIFEST_NAME} is unreadable: {err}")
    changed, missing = [], []
    for rel, entry in sorted(listed.items()):
        path = out / rel
        if not path.is_file():
            missing.append(rel)
        elif path.stat().st_size != entry.get("size_bytes") or \
                sha256_file(path) != entry.get("sha256"):
            changed.append(rel)
    present = {p.relative_to(out).as_posix() for p in output_files(out)}
    unexpected = sorted(present - set(listed))
    return VerifyResult(len(listed), changed, missing, unexpected)


# ---------------------------------------------------------------------------------------
# Re-derivation.


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
    previous clusters decide the stable case ids, the accounts table feeds linking). The
    window is the manifest's ``start``/``end`` and the stages' parameters are the
    manifest's. Each findings file is compared as a table: the same columns, the same rows
    in key order, equal values (floats within a relative 1e-9). ``keep`` keeps the copy
    there instead of a temporary folder, for inspection.
    """
    from pipeline.runner import PipelineParams, RunRequest, window_task

    manifest = read_manifest(out)
    params = manifest.get("parameters", {})
    start = date.fromisoformat(str(params["start"]))
    end = date.fromisoformat(str(params["end"]))
    work = keep or Path(tempfile.mkdtemp(prefix="rederive-"))
    try:
        copy = work / "out"
        copy.mkdir(parents=True, exist_ok=True)
        for entry in sorted(out.iterdir()):
            if entry.name in (FINDINGS_DIR, "reports", MANIFEST_NAME, LOCK_NAME) or \
                    entry.name.startswith("."):
                continue
            if entry.name == DB_NAME:
                shutil.copy2(entry, copy / DB_NAME)
            elif not entry.name.endswith(".wal"):
                (copy / entry.name).symlink_to(entry.resolve())
        request = RunRequest(logs=work, out=copy, start=start, end=end)
        window_task(request, PipelineParams.from_nested(params), publish=False)
        return compare_findings(out / FINDINGS_DIR, copy / FINDINGS_DIR)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


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
