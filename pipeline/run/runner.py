"""The run: the pipeline's stages as task-sized calls, under the output lock, in the ledger.

In: the CLI's (or a DAG task's) paths, date range and parameters. Out: whatever the stages
write under the output folder, and rows in the ``runs`` table of ``forensics.duckdb``
saying what ran, with which parameters, and how it ended.

Three kinds of task, the same for ``forensics run`` and for the Airflow DAGs:
``ingest_task`` (the range's logs into day partitions; holds the output lock; in a DAG
whose logs are large, from parts that ``stage_task`` staged side by side, lock-free),
``day_task`` (one day's compact tables, or one shard of a large day's, merged by
``merge_task``; reads and writes only that day's Parquet files, so days and shards run in
parallel, in processes or on workers, without the lock) and
``window_task`` (every window stage in order; holds the lock, owns the database).
``run_pipeline`` is the three in a row under one lock. The stages themselves live in
their own modules and know nothing of locks or ledgers. Validation is imported inside the
two tasks that run it: Great Expectations takes seconds to import, and a day task, which
runs once per day and worker, never needs it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.detection.cohorts import group_cohorts
from pipeline.detection.scoring import linking_tables, record_verdicts, score_clusters
from pipeline.detection.statistics import compute_statistics
from pipeline.features.features import (
    Shard,
    build_day_features,
    build_shard,
    create_feature_views,
    merge_shards,
    shard_path,
)
from pipeline.ingest.accounts import ACCOUNTS_SNAPSHOT
from pipeline.ingest.adapters import extract_spend_logs, redact_url
from pipeline.ingest.ingest import (
    IngestResult,
    check_inputs,
    ingest,
    remove_staged,
    stage_part,
)
from pipeline.linking.linking import LinkResult, link_accounts
from pipeline.progress import Progress, Steps
from pipeline.publish.manifest import ledger_inputs, prune_validation, write_manifest
from pipeline.publish.publication import Published, publish, run_stamp
from pipeline.publish.storage import delete_files, held, locate, pull_files, push_files
from pipeline.registry import FEATURE_TABLES, RUNS, WINDOW_TABLES
from pipeline.settings import IngestParams, PipelineParams, memory_ceiling
from pipeline.version import code_version
from pipeline.warehouse import (
    DB_NAME,
    bounded_connection,
    connect,
    describe_objects,
    partition_path,
    remove_dead_temp_files,
    table_ddl,
)

if TYPE_CHECKING:
    from pipeline.validation.outcomes import ValidationOutcome

RUNS_DDL = table_ddl(RUNS, primary_key=True)
VALIDATION_BATCHES = 2 + len(FEATURE_TABLES) + 2 * len(WINDOW_TABLES)
"""About how many batches the window gate validates (the clusters, each per-day table's
schema, account_day's values, each window table's schema and values): its bar's length.
The raw gate's is the range's days and two (the schema, the ledger)."""


@dataclass(frozen=True)
class RunRequest:
    """What a run was asked to do: the paths and range of the CLI's options."""

    logs: Path
    out: Path
    start: date
    end: date
    accounts: Path | None = None
    signing_key: Path | None = None
    """The Ed25519 private key the manifests are signed with; None leaves them unsigned.
    A path, never recorded: the auditor's public key says who signed."""
    source: str | None = None
    """A ``postgresql://`` URL to read LiteLLM's spend logs from into ``logs`` (then
    ``source_folder(out)``) before the ingest; None reads ``logs`` as it is."""
    remote: str | None = None
    """The ``s3://bucket/prefix`` the output is published to; ``out`` is then the local
    working folder the stages write (``pipeline.publish.storage``). None: ``out`` is the
    output folder itself."""

    def to_dict(self) -> dict[str, str | None]:
        """Plain strings, for Airflow params and XCom (tasks pass paths, not frames); the
        source's password is never among them."""
        values = {k: None if v is None else str(v) for k, v in asdict(self).items()}
        if self.source is not None:
            values["source"] = redact_url(self.source)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunRequest:
        """A request from ``to_dict`` or a DAG's plan, whose ``out`` may be a bucket URL."""
        out, remote = locate(values["out"])
        return cls(logs=Path(values["logs"]), out=out,
                   remote=remote or values.get("remote") or None,
                   start=date.fromisoformat(str(values["start"])),
                   end=date.fromisoformat(str(values["end"])),
                   accounts=Path(values["accounts"]) if values.get("accounts") else None,
                   signing_key=(Path(values["signing_key"]) if values.get("signing_key")
                                else None),
                   source=values.get("source") or None)


def source_folder(out: Path) -> Path:
    """Where a database source's rows are copied for the ingest: inside the output folder,
    so the manifest hashes them like any log file and the run can be verified later."""
    return out / "sources" / "litellm"


@dataclass(frozen=True)
class WindowResult:
    """What the window stages produced."""

    linking: LinkResult
    verdicts: dict[str, int]
    published: Published | None = None
    """Where the publication went; None when the stages stopped before it."""
    flagged: tuple[str, ...] = ()
    """The flagged clusters' ids, sorted: the cases a morning begins with."""
    validation: ValidationOutcome | None = None
    """The window gate's outcome (failed only when an investigator allowed it)."""


@dataclass(frozen=True)
class RunResult:
    """What a run produced, for the CLI to print."""

    run_id: str
    ingest: IngestResult
    window: WindowResult


def recorded_parameters(params: PipelineParams, request: RunRequest) -> dict[str, Any]:
    """What the reports and the manifest record of a run's parameters: the range, the
    accounts file's name and every stage's settings. Not the folders: the inputs are
    identified by their hashes, and the same run into another folder is the same run."""
    return {"start": request.start.isoformat(), "end": request.end.isoformat(),
            "accounts": request.accounts.name if request.accounts else None,
            **params.model_dump()}


def new_run_id() -> str:
    """A run id that sorts by start time and is unique per process."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{os.getpid()}"


def run_ingest(request: RunRequest, params: IngestParams | None = None,
               progress: Progress | None = None) -> IngestResult:
    """``forensics ingest``: only the ingest stage."""
    return ingest_task(request, PipelineParams(ingest=params or IngestParams()),
                       progress=progress)


def stage_task(request: RunRequest, params: PipelineParams, key: str, part: int, parts: int,
               part_bytes: int) -> list[Path]:
    """One part of the logs staged for the ingest of run ``key`` (``ingest.stage_part``).
    No lock and no database, like ``day_task``: parts run side by side on any worker that
    reads the logs; with a bucket output what the part wrote goes to the bucket, where the
    ingest's pull finds it and its push deletes it once ingested."""
    check_inputs(request.logs, request.start, request.end, request.accounts)
    written = stage_part(request.logs, request.out, key, part, parts, part_bytes,
                         params=params.ingest)
    if request.remote is not None:
        push_files(request.out, request.remote, written)
    return written


def ingest_task(request: RunRequest, params: PipelineParams, *, run_id: str | None = None,
                progress: Progress | None = None, locked: bool = False,
                staged: tuple[str, int] | None = None) -> IngestResult:
    """Ingest the range (a task: takes the lock unless its caller holds it); with
    ``staged``, from the parts ``stage_task`` staged (a run's key, its count of parts),
    removed once the raw partitions pass validation (with a bucket output, the push that
    ends the task deletes their objects)."""
    from pipeline.validation.validation import (  # Great Expectations: see the module's docstring
        raise_if_failed,
        validate_raw,
    )

    with _ledgered("ingest", request, params, run_id, locked) as rid:
        if request.source is not None:
            if progress:
                progress(f"reading {redact_url(request.source)}", 0, 1)
            shutil.rmtree(request.logs, ignore_errors=True)
            extract_spend_logs(request.source, request.start, request.end, request.logs)
        ingested = ingest(request.logs, request.out, request.start, request.end, run_id=rid,
                          accounts=request.accounts, params=params.ingest, progress=progress,
                          staged=staged)
        steps = Steps(progress, "validating raw partitions", len(ingested.days) + 2)
        validation = validate_raw(request.out, ingested.days, rid, steps=steps)
        raise_if_failed(validation, allow_invalid=params.reports.allow_invalid)
        if staged is not None:
            remove_staged(request.out, staged[0])
        steps.end()
        return replace(ingested, validation=validation)


def day_task(request: RunRequest, params: PipelineParams, day: date,
             steps: Steps | None = None, *, shard: Shard | None = None,
             locked: bool = False) -> list[Path]:
    """One day's compact tables, or with ``shard`` one shard of them for ``merge_task``. No
    lock and no database: days and shards run side by side. With a bucket output and no
    caller holding it (``locked``), the day's requests come from the bucket and what the
    task writes goes back to it, so a day or a shard runs on any machine."""
    def build() -> list[Path]:
        if shard is None:
            return build_day_features(request.out, day, params=params.features, steps=steps)
        return build_shard(request.out, day, shard, params=params.features, steps=steps)

    if request.remote is None or locked:
        return build()
    pull_files(request.out, request.remote,
               [partition_path(Path(), "requests", day).as_posix(), ACCOUNTS_SNAPSHOT])
    written = build()
    push_files(request.out, request.remote, written)
    return written


def merge_task(request: RunRequest, params: PipelineParams, day: date, shards: int, *,
               locked: bool = False) -> list[Path]:
    """A sharded day's partitions from its ``shards`` shards (lock-free, like ``day_task``);
    with a bucket output, the shards come from the bucket and leave it once merged."""
    if request.remote is None or locked:
        return merge_shards(request.out, day, shards, params=params.features)
    names = [shard_path(Path(), table.name, day, Shard(i, shards)).as_posix()
             for table in FEATURE_TABLES for i in range(shards)]
    pull_files(request.out, request.remote, names)
    written = merge_shards(request.out, day, shards, params=params.features)
    push_files(request.out, request.remote, written)
    delete_files(request.out, request.remote, names)
    return written


def window_task(request: RunRequest, params: PipelineParams, *, run_id: str | None = None,
                progress: Progress | None = None, locked: bool = False,
                publish: bool = True) -> WindowResult:
    """Every window stage in order, reading only the compact tables (a task: takes the
    lock unless its caller holds it). ``publish=False`` stops before the reports and the
    manifest (``forensics verify --rederive`` recomputes findings only)."""
    from pipeline.validation.validation import (  # Great Expectations: see the module's docstring
        raise_if_failed,
        validate_window,
    )

    with _ledgered("window", request, params, run_id, locked) as rid:
        ceiling = memory_ceiling(params.linking.memory_limit)
        with bounded_connection(request.out, "spill-window", ceiling,
                                database=request.out / DB_NAME) as db:
            create_feature_views(db, request.out)
            linked = link_accounts(db, request.start, request.end, run_id=rid,
                                   params=params.linking, features=params.features,
                                   progress=progress)
            compute_statistics(db, linked.window_start, linked.window_end,
                               params.statistics, progress)
            scoring = Steps(progress, "scoring", 2)
            scoring.next("cluster_findings")
            tables = linking_tables(db)
            findings = score_clusters(db, params.scoring, tables)
            regrouped = group_cohorts(db, findings, linked, rid, params.linking,
                                      params.scoring, tables)
            if regrouped is not None:
                linked = regrouped
                compute_statistics(db, linked.window_start, linked.window_end,
                                   params.statistics, progress)
                findings = score_clusters(db, params.scoring, tables)
            scoring.next("verdict_history")
            record_verdicts(db, rid)
            scoring.end()
            checking = Steps(progress, "validating window tables", VALIDATION_BATCHES)
            validation = validate_window(
                request.out, rid, db=db, steps=checking,
                min_baseline_clusters=params.statistics.min_baseline_clusters)
            raise_if_failed(validation, allow_invalid=params.reports.allow_invalid)
            checking.end()
            published = None
            if publish:
                published = publish_run(db, request, params, rid,
                                        invalid=not validation.success, progress=progress)
        counts = dict(findings.group_by("verdict").len().sort("verdict").iter_rows())
        flagged = findings.filter(findings["verdict"] == "flagged").sort("cluster_id")
        return WindowResult(linking=linked, verdicts=counts, published=published,
                            flagged=tuple(flagged["cluster_id"]), validation=validation)


def run_pipeline(request: RunRequest, params: PipelineParams | None = None,
                 progress: Progress | None = None) -> RunResult:
    """``forensics run``: the three tasks in a row, under one lock and one run id."""
    params = params or PipelineParams()
    with _ledgered("run", request, params, None, False) as run_id:
        ingested = ingest_task(request, params, run_id=run_id, progress=progress, locked=True)
        steps = Steps(progress, "per-day tables", len(ingested.days) * len(FEATURE_TABLES))
        for day in ingested.days:
            day_task(request, params, day, steps, locked=True)
        steps.end()
        window = window_task(request, params, run_id=run_id, progress=progress, locked=True)
        return RunResult(run_id=run_id, ingest=ingested, window=window)


def publish_run(db: Any, request: RunRequest, params: PipelineParams, run_id: str, *,
                invalid: bool, progress: Progress | None = None) -> Published:
    """The run's dated publication (findings and reports), then the manifest over
    everything written (so it is last). The PDFs' creation date is the day after the
    range: a parameter of the run, never the clock. Reached only when validation passed,
    or failed and an investigator allowed it (``invalid``: every page says so, and
    ``latest`` stays where it was)."""

    recorded = recorded_parameters(params, request)
    generated_at = run_stamp(request.end)
    published = publish(db, request.out, run_id=run_id, generated_at=generated_at,
                        params=recorded, excerpts=params.reports.excerpts, invalid=invalid,
                        progress=progress)
    prune_validation(request.out, params.reports.validation_runs_kept)
    write_manifest(request.out, inputs=ledger_inputs(db), params=recorded,
                   code_version=code_version(), publication=published.folder.name,
                   signing_key=request.signing_key)
    return published


@contextmanager
def _ledgered(command: str, request: RunRequest, params: PipelineParams, run_id: str | None,
              locked: bool) -> Iterator[str]:
    """Hold the output (unless the caller holds it: a folder's lock, or a bucket's lock and
    working folder, ``storage.held``) and record the run's start and its outcome, failed
    or not. A task inside a run shares the run's id and ledger row."""
    # A database source's folder is made under the lock; until then the working folder
    # stands in for it, so the range and the accounts file are still checked first.
    check_inputs(request.logs if request.source is None else Path.cwd(), request.start,
                 request.end, request.accounts)
    if locked and run_id is not None:
        yield run_id
        return
    run_id = run_id or new_run_id()
    parameters = json.dumps({**request.to_dict(), **params.model_dump()}, sort_keys=True,
                            default=str)
    holder = {"run_id": run_id, "command": command,
              "started_at": datetime.now(UTC).isoformat()}
    with nullcontext() if locked else held(request.out, request.remote, holder):
        _settle_abandoned(request.out, run_id)
        _write_run(request.out, run_id, command, parameters, "running", None)
        try:
            yield run_id
        except BaseException as err:
            _write_run(request.out, run_id, command, parameters, "failed",
                       str(err).splitlines()[0] if str(err) else type(err).__name__)
            raise
        _write_run(request.out, run_id, command, parameters, "succeeded", None)


def _settle_abandoned(out: Path, run_id: str) -> None:
    """Close what a dead run left: its ``running`` row in ``runs`` (the lock is ours, so
    no live run is behind it) becomes ``abandoned``, and temporary files of processes that
    no longer exist are removed. A run killed by kill -9, a timeout or a full disk
    otherwise stays ``running`` forever and leaves zero-byte ``.tmp`` files."""
    remove_dead_temp_files(out)
    if not (out / DB_NAME).exists():
        return
    db = connect(out / DB_NAME)
    try:
        db.execute(RUNS_DDL)
        db.execute("UPDATE runs SET status = 'abandoned', message = $message "
                   "WHERE status = 'running'",
                   {"message": f"no live run held the output folder when {run_id} started "
                               "(killed, timed out or out of disk)"})
    finally:
        db.close()


def _write_run(out: Path, run_id: str, command: str, parameters: str, status: str,
               message: str | None) -> None:
    """The run's ledger row; when it succeeded, the comments on every object too (the run
    replaced some, and a replaced object loses its comment). A failed run leaves them as
    they are, so that nothing can hide the error it stopped on."""
    db = connect(out / DB_NAME)
    try:
        db.execute(RUNS_DDL)
        db.execute(
            "INSERT INTO runs VALUES ($run_id, $command, $parameters, $now, NULL, $status, "
            "$message) ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, "
            "message = excluded.message, finished_at = excluded.started_at",
            {"run_id": run_id, "command": command, "parameters": parameters,
             "now": datetime.now(UTC), "status": status, "message": message},
        )
        if status == "succeeded":
            describe_objects(db)
    finally:
        db.close()
