"""Provenance of a run's outputs: which code and which SQL made them.

In: the installed package, its git checkout and ``sql/``. Out: sha256 of a file, the code
version (package version and commit) and the SQL files' hashes, which the manifest records
and the reports print.
"""

from __future__ import annotations

import hashlib
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

from pipeline import PROJECT_DIR
from pipeline.warehouse import SQL_DIR, sql_files


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
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT_DIR, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+g{commit[:12]}{'.dirty' if dirty else ''}"


def sql_hashes() -> dict[str, str]:
    """sha256 of the tables' SQL (each stage's ``sql/<stage>/*.sql`` and the shared
    macros), by path under ``sql/``. The queries in folders of their own (the reports',
    the indicators', the investigator's) read a finished run and make no table; they are
    part of the code version."""
    return {path.relative_to(SQL_DIR).as_posix(): sha256_file(path)
            for name, path in sorted(sql_files().items()) if "/" not in name}
