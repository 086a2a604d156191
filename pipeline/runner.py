"""The run: one command's stages in order, under the output folder's lock, in the run ledger.

In: the CLI's (or a DAG task's) paths, date range and parameters. Out: whatever the stages
write under the output folder, and one row in the ``runs`` table of ``forensics.duckdb``
saying what ran, with which parameters, and how it ended. The stages themselves live in
their own modules and know nothing of locks or ledgers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.features import FeatureParams, build_day_features, create_feature_views
from pipeline.ingest import IngestParams, IngestResult, Progress, check_inputs, ingest
from pipeline.linking import LinkParams, LinkResult, link_accounts
from pipeline.warehouse import DB_NAME, connect, output_lock

RUNS_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, command VARCHAR, parameters JSON, started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ, status VARCHAR, message VARCHAR
)
"""


@dataclass(frozen=True)
class RunRequest:
    """What a run was asked to do: the paths and range of the CLI's options."""

    logs: Path
    out: Path
    start: date
    end: date
    accounts: Path | None = None


@dataclass(frozen=True)
class PipelineParams:
    """Every stage's parameters, from one place (the CLI's options and the DAGs' params)."""

    ingest: IngestParams = field(default_factory=IngestParams)
    features: FeatureParams = field(default_factory=FeatureParams)
    linking: LinkParams = field(default_factory=LinkParams)


@dataclass(frozen=True)
class RunResult:
    """What a run produced, for the CLI to print and the DAGs to pass along."""

    run_id: str
    ingest: IngestResult
    linking: LinkResult


def new_run_id() -> str:
    """A run id that sorts by start time and is unique per process."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{os.getpid()}"


def run_ingest(request: RunRequest, params: IngestParams | None = None,
               progress: Progress | None = None) -> IngestResult:
    """``forensics ingest``: only the ingest stage, under the lock and in the ledger."""
    params = params or IngestParams()
    with _ledgered("ingest", request, {"ingest": asdict(params)}) as run_id:
        return ingest(request.logs, request.out, request.start, request.end, run_id=run_id,
                      accounts=request.accounts, params=params, progress=progress)


def run_pipeline(request: RunRequest, params: PipelineParams | None = None,
                 progress: Progress | None = None) -> RunResult:
    """``forensics run``: every stage the pipeline has, in order.

    Per-day stages (ingest, then the compact tables of each day) come first; the window
    stages then read only the compact tables, through the database this run holds.
    """
    params = params or PipelineParams()
    report = progress or (lambda _step, _done, _total: None)
    with _ledgered("run", request, asdict(params)) as run_id:
        ingested = ingest(request.logs, request.out, request.start, request.end,
                          run_id=run_id, accounts=request.accounts, params=params.ingest,
                          progress=progress)
        for i, day in enumerate(ingested.days):
            report(f"features {day}", i, len(ingested.days))
            build_day_features(request.out, day, params=params.features)
        report("features", len(ingested.days), len(ingested.days))
        report("linking accounts", 0, 1)
        db = connect(request.out / DB_NAME)
        try:
            create_feature_views(db, request.out)
            linked = link_accounts(db, request.out, request.start, request.end,
                                   run_id=run_id, params=params.linking)
        finally:
            db.close()
        report("linking accounts", 1, 1)
        return RunResult(run_id=run_id, ingest=ingested, linking=linked)


@contextmanager
def _ledgered(command: str, request: RunRequest, params: dict[str, object]) -> Iterator[str]:
    """Lock the output folder and record the run's start and its outcome, failed or not."""
    check_inputs(request.logs, request.start, request.end, request.accounts)
    run_id = new_run_id()
    parameters = json.dumps(
        {**{k: str(v) if v is not None else None for k, v in asdict(request).items()},
         **params}, sort_keys=True, default=str)
    with output_lock(request.out, {"run_id": run_id, "command": command,
                                   "started_at": datetime.now(UTC).isoformat()}):
        _write_run(request.out, run_id, command, parameters, "running", None)
        try:
            yield run_id
        except BaseException as err:
            _write_run(request.out, run_id, command, parameters, "failed",
                       str(err).splitlines()[0] if str(err) else type(err).__name__)
            raise
        _write_run(request.out, run_id, command, parameters, "succeeded", None)


def _write_run(out: Path, run_id: str, command: str, parameters: str, status: str,
               message: str | None) -> None:
    db = connect(out / DB_NAME)
    try:
        db.execute(RUNS_DDL)
        now = datetime.now(UTC)
        db.execute(
            "INSERT INTO runs VALUES ($run_id, $command, $parameters, $now, NULL, $status, "
            "$message) ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, "
            "message = excluded.message, finished_at = excluded.started_at",
            {"run_id": run_id, "command": command, "parameters": parameters, "now": now,
             "status": status, "message": message},
        )
    finally:
        db.close()
