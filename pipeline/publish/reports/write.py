"""The reports' entry point: every flagged cluster's report and the run's summary, on disk.

In: an open ``forensics.duckdb`` connection and the run's parameters. Out: the PDFs in a
publication's ``reports`` folder, each written under a temporary name and renamed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.publish.provenance import code_version, sql_hashes
from pipeline.publish.reports.cluster import build_cluster_report
from pipeline.publish.reports.data import RunContext, read_run
from pipeline.publish.reports.summary import build_summary
from pipeline.warehouse import write_bytes_atomic

SUMMARY_NAME = "summary.pdf"


def write_reports(db: duckdb.DuckDBPyConnection, folder: Path, *, generated_at: datetime,
                  params: dict[str, Any], excerpts: int = 0, invalid: bool = False,
                  previous: str | None = None) -> list[Path]:
    """Write ``<cluster_id>.pdf`` for every flagged cluster and ``summary.pdf`` into
    ``folder`` (a publication's ``reports``, which is new: nothing in it is replaced).
    Returns the paths written, the summary last.

    The reports describe the window and the inputs behind its partitions, never the run's
    id or the clock. ``generated_at`` is the creation date of every PDF and must come from
    the run's parameters; ``previous`` names the publication the summary's changes are
    measured against (``verdict_change``).
    """

    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    ctx = RunContext(generated_at=generated_at.astimezone(UTC), params=params,
                     version=code_version(), sql_hashes=tuple(sql_hashes().items()),
                     invalid=invalid, excerpts=max(0, int(excerpts)), previous=previous)
    data = read_run(db, excerpts=ctx.excerpts)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    flagged = (data.findings.filter(pl.col("verdict") == "flagged").to_dicts()
               if data.findings is not None else [])
    for finding in flagged:
        target = folder / f"{finding['cluster_id']}.pdf"
        write_bytes_atomic(target, build_cluster_report(data, finding, ctx))
        written.append(target)
    summary = folder / SUMMARY_NAME
    write_bytes_atomic(summary, build_summary(data, ctx))
    written.append(summary)
    return written
