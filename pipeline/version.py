"""The version a run records and ``forensics --version`` prints: the package's version and
the git commit the code is at.

In: the installed package's metadata and, in a checkout, ``git``. Out: a string such as
``0.1.0+g1a2b3c4d5e6f``. Apart from the manifest (which needs polars and cryptography) so
that ``--version`` answers as fast as ``--help``.
"""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata

from pipeline import PROJECT_DIR


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
