"""What the Airflow DAGs call: a run's plan from DAG params and the environment, and the tasks.

In: a DAG run's params (the CLI's option names: ``start``, ``end``, ``logs``, ``accounts``,
``out``, ``max_bad_share``, ``lookback_days``, ``allow_empty``), the environment
(``FORENSICS_LOGS_DIR``, ``FORENSICS_ACCOUNTS``, ``FORENSICS_OUT_DIR``,
``FORENSICS_SIGNING_KEY``, ``FORENSICS_SHARD_REQUESTS``, ``FORENSICS_STAGE_BYTES``) and
Airflow's run id. Out: a **plan**, a flat dict of strings and numbers (absolute paths, ISO
days, the parameter overrides, the shard and part sizes) that tasks pass to each other
through XCom; and, from the task functions, parts of the logs, days and shards, paths and
ledger run ids. Data never travels between tasks:
only where it is.

What an operator reads: each task function logs a few summary lines (rows read, kept and
quarantined; clusters and verdicts; the validation outcome; where the pages and reports
are) under the ``pipeline.run.orchestration`` logger, and quiets the libraries that would
bury them (``NOISY_LOGGERS``: GX logs every expectation it registers, fontTools every
table of every font subset it writes, about 5,000 lines a night). ``record_failure``, the
DAGs' failure callback, appends the failed task to ``task_failures.jsonl`` in the output
folder; ``findings_asset`` names the Airflow asset a DAG's published findings update.

Why a module of its own: DAG files only wire, and Airflow parses them often, so they import
this module at the top and it must be cheap (standard library and ``pipeline.settings``;
the pipeline's heavy modules are imported inside the task functions). The tasks both DAGs
share are wired here once (``wire_tasks``). Everything here but ``task_defaults``,
``findings_asset`` and ``wire_tasks`` runs without Airflow, so its checks are unit-tested
without a scheduler. The DAGs' params (defaults, bounds, descriptions) come from ``settings``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import PROJECT_DIR, SAMPLE_DIR, settings
from pipeline.errors import ForensicsError
from pipeline.settings import PipelineParams

if TYPE_CHECKING:
    from airflow.sdk import Asset, XComArg

    from pipeline.ingest.ingest import IngestResult
    from pipeline.run.runner import RunRequest, WindowResult

log = logging.getLogger(__name__)


ENV_LOGS = "FORENSICS_LOGS_DIR"
ENV_ACCOUNTS = "FORENSICS_ACCOUNTS"
ENV_OUT = "FORENSICS_OUT_DIR"
ENV_SIGNING_KEY = "FORENSICS_SIGNING_KEY"
ENV_WORKER_NAME = "FORENSICS_WORKER_NAME"
ENV_SHARD_REQUESTS = "FORENSICS_SHARD_REQUESTS"
ENV_STAGE_BYTES = "FORENSICS_STAGE_BYTES"
DEFAULT_LOGS = SAMPLE_DIR / "logs"
DEFAULT_ACCOUNTS = SAMPLE_DIR / "accounts.csv"
DEFAULT_OUT = PROJECT_DIR / "out"

RETRY = {"retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": 2.0,
         "max_retry_delay": timedelta(minutes=30)}
"""Every task's retries: a crash, a full disk or a lost worker is retried after 2, then 4
minutes. A user's mistake (``ForensicsError``: a bad date, a missing folder, a day past
the bad-share ceiling) fails at once: retrying cannot fix it. A folder held by another
run (``OutputLocked``) is retried after 10 minutes, by when it is likely free."""

NOISY_LOGGERS = ("great_expectations", "fontTools")
"""Libraries that log at INFO what only their developers need; a task raises them to
WARNING while it runs, so their warnings and errors still reach the task log."""
SHOWN_CASES = 10
"""Flagged case ids a window task's log names (all are in the summary report)."""
FINDINGS_ASSETS = {"nightly_forensics": "forensics_findings",
                   "rerun_range": "forensics_rerun_findings"}
"""The asset each DAG's ``window`` task updates when it publishes; downstream DAGs
schedule on it by name (``Asset.ref(name="forensics_findings")``)."""

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: object, name: str) -> date:
    """A YYYY-MM-DD day, or a one-line error naming the parameter (as the CLI does)."""
    text = "" if value is None else str(value).strip()
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ForensicsError(f"{name}: '{value}' is not a date (YYYY-MM-DD)") from None


def configured_paths(env: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The logs folder, accounts table, output folder and signing key the environment
    names, absolute.

    Unset, they are the committed sample and ``./out`` of the project. The sample's accounts
    table is the default only while the logs are the sample's too: production logs with the
    sample's accounts would be wrong without an error. ``FORENSICS_ACCOUNTS=""`` means none.
    """
    env = os.environ if env is None else env
    logs = env.get(ENV_LOGS) or None
    accounts = env.get(ENV_ACCOUNTS)
    if accounts is None:
        accounts = None if logs else str(DEFAULT_ACCOUNTS)
    return {"logs": _absolute(logs or DEFAULT_LOGS), "accounts": _absolute(accounts or None),
            "out": _absolute(env.get(ENV_OUT) or DEFAULT_OUT),
            "signing_key": _absolute(env.get(ENV_SIGNING_KEY) or None)}


def overrides_of(params: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a run's params override (``settings.RUN_OVERRIDES``), checked by the
    settings themselves, so a DAG run and the CLI refuse the same values in the same
    words; unset ones at their defaults."""
    values = {k: params[k] if params.get(k) is not None else settings.default(k)
              for k in settings.RUN_OVERRIDES}
    settings.PipelineParams.from_overrides(values)
    return values


def plan_range(params: Mapping[str, Any], airflow_run_id: str,
               env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The re-run DAG's plan: its params checked, its paths resolved (a path param, when
    given, stands for its environment variable: ``logs`` without ``accounts`` is logs
    without the sample's accounts table).

    Airflow's Param schemas already refuse a malformed date or a wrong type when the run is
    triggered; what they cannot say (an end before the start, a 30th of February) fails
    here, in the run's first task, with the parameter's name and value.
    """
    start = parse_day(params.get("start"), "start")
    end = parse_day(params.get("end"), "end")
    if end < start:
        raise ForensicsError(f"end: {end} is before start {start}")
    return _plan(_paths_of(params, env), start, end, overrides_of(params), airflow_run_id,
                 env)


def plan_day(data_interval_start: datetime, params: Mapping[str, Any], airflow_run_id: str,
             env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The nightly DAG's plan: the UTC day its data interval starts on, paths from the
    environment."""
    if data_interval_start.tzinfo is None:
        raise ValueError("data_interval_start must carry its time zone")
    day = data_interval_start.astimezone(UTC).date()
    return _plan(configured_paths(env), day, day, overrides_of(params), airflow_run_id, env)


def days_of(plan: Mapping[str, Any]) -> list[str]:
    """Every day of the plan's range as an ISO string, in order."""
    first, last = date.fromisoformat(plan["start"]), date.fromisoformat(plan["end"])
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def ledger_run_id(plan: Mapping[str, Any], task: str) -> str:
    """The run id a task writes to the ``runs`` ledger: the Airflow run's id and the task,
    so each task of a DAG run has its own row and a retry updates that row in place."""
    return f"{plan['airflow_run_id']}:{task}"


def logs_parts(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Task: the parts the plan's logs are staged in, each ``{"part", "parts"}``; none when
    they fit one part (``stage_bytes``) or come from a database source (read under the
    ingest's lock), and the ingest task then stages them itself."""
    from pipeline.ingest.ingest import (  # cheap at parse time: see the module's docstring
        check_inputs,
        log_parts,
    )

    request = _request(plan)
    if request.source is not None:
        return []
    check_inputs(request.logs, request.start, request.end, request.accounts)
    n = len(log_parts(request.logs, _params(plan).ingest, plan["stage_bytes"]))
    if n > 1:
        _log_lines([f"logs staged in {n} parts of at most about {plan['stage_bytes']:,} "
                    "bytes of text each"])
    return [{"part": i, "parts": n} for i in range(n)] if n > 1 else []


def stage_part(plan: Mapping[str, Any], part: Mapping[str, Any]) -> list[str]:
    """Task: one part of the logs staged for the ingest (no lock, no database); the files
    written."""
    from pipeline.run.runner import stage_task  # cheap at parse time: see the module's docstring

    with quiet_libraries():
        written = stage_task(_request(plan), _params(plan), ledger_run_id(plan, "ingest"),
                             int(part["part"]), int(part["parts"]), plan["stage_bytes"])
    _log_lines([f"{part_label(part)}: {len(written)} files staged under {plan['out']}"])
    return [str(p) for p in written]


def part_label(part: Mapping[str, Any]) -> str:
    """A staging task's label in the UI."""
    return f"part {int(part['part']) + 1}/{part['parts']}"


def ingest_days(plan: Mapping[str, Any],
                parts: list[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Task: ingest the plan's range (under the output lock), from the ``parts`` that
    ``stage_logs`` staged if any; what the day tasks build, each a day or a shard of one
    (``{"day", "shard", "shards"}``)."""
    from pipeline.features.features import (  # cheap at parse time: see the module's docstring
        shard_count,
    )
    from pipeline.run.runner import ingest_task  # cheap at parse time: see the module's docstring

    run_id = ledger_run_id(plan, "ingest")
    request = _request(plan)
    staged = (run_id, len(parts)) if parts else None
    with quiet_libraries():
        result = ingest_task(request, _params(plan), run_id=run_id, staged=staged)
    counts = {d.isoformat(): shard_count(request.out, d, plan["shard_requests"])
              for d in result.days}
    sharded = [f"{day} in {n} shards" for day, n in counts.items() if n > 1]
    _log_lines([*ingest_summary(result), validation_line(request.out, run_id, "raw"),
                *([f"per-day tables in shards of at most about {plan['shard_requests']:,} "
                   f"requests: {', '.join(sharded)}"] if sharded else [])])
    return [{"day": day, "shard": i, "shards": n} for day, n in counts.items() for i in range(n)]


def sharded_days(units: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Task: the days to merge, each with its shard count (``{"day", "shards"}``), from
    the day tasks' units. A task of its own because Airflow maps only over a task's
    whole return value."""
    return [{"day": u["day"], "shards": u["shards"]} for u in units
            if u["shards"] > 1 and u["shard"] == 0]


def unit_label(unit: Mapping[str, Any]) -> str:
    """A day task's label in the UI: its day, and its shard when the day is split."""
    if unit["shards"] == 1:
        return str(unit["day"])
    return f"{unit['day']} shard {unit['shard'] + 1}/{unit['shards']}"


def build_day(plan: Mapping[str, Any], unit: Mapping[str, Any]) -> list[str]:
    """Task: one day's compact tables, or one shard of them (no lock, no database); the
    files written."""
    from pipeline.features.features import Shard  # cheap at parse time: see the docstring
    from pipeline.run.runner import day_task  # cheap at parse time: see the module's docstring

    day = parse_day(unit["day"], "day")
    shard = Shard(unit["shard"], unit["shards"]) if unit["shards"] > 1 else None
    with quiet_libraries():
        written = day_task(_request(plan), _params(plan), day, shard=shard)
    _log_lines([f"{unit_label(unit)}: {len(written)} per-day tables written under "
                f"{plan['out']}" + (" (a shard, for the merge)" if shard else "")])
    return [str(p) for p in written]


def merge_day(plan: Mapping[str, Any], unit: Mapping[str, Any]) -> list[str]:
    """Task: a sharded day's partitions from its shards (no lock, no database)."""
    from pipeline.run.runner import merge_task  # cheap at parse time: see the module's docstring

    with quiet_libraries():
        written = merge_task(_request(plan), _params(plan), parse_day(unit["day"], "day"),
                             int(unit["shards"]))
    _log_lines([f"{unit['day']}: {unit['shards']} shards merged into {len(written)} "
                f"per-day tables under {plan['out']}"])
    return [str(p) for p in written]


def run_window(plan: Mapping[str, Any], outlet_events: Any = None,
               asset: Asset | None = None) -> str:
    """Task: every window stage (under the output lock); the database they wrote. With
    ``outlet_events`` and ``asset`` (the task's outlet), the asset event carries where the
    publication went and its verdict counts, for the DAGs that schedule on it."""
    from pipeline.run.runner import window_task  # cheap at parse time: see the module's docstring
    from pipeline.warehouse import DB_NAME  # cheap at parse time: see the module's docstring

    request = _request(plan)
    run_id = ledger_run_id(plan, "window")
    with quiet_libraries():
        result = window_task(request, _params(plan), run_id=run_id)
    _log_lines([*window_summary(result),
                validation_line(request.out, run_id, "window")])
    if outlet_events is not None and asset is not None:
        outlet_events[asset].extra = publication_event(plan, result)
    return str(request.out / DB_NAME)


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Raise ``NOISY_LOGGERS`` to WARNING for the task's duration, then restore them (``airflow
    dags test`` runs every task in one process, and so do the tests)."""
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)


def ingest_summary(result: IngestResult) -> list[str]:
    """What the ingest task did, in the words of the ledger: where every row went."""
    days = result.days
    span = f"{days[0]}..{days[-1]}" if days else "no day"
    reasons = ", ".join(f"{n:,} {reason}" for reason, n in sorted(result.by_reason.items()))
    return [f"ingest {span}: {len(result.files)} file(s), {result.rows_read:,} rows read: "
            f"{result.rows_kept:,} kept, {result.rows_quarantined:,} quarantined"
            + (f" ({reasons})" if reasons else "")
            + f", {result.rows_out_of_range:,} outside the range",
            f"days written: {', '.join(d.isoformat() for d in days) or 'none'}"]


def window_summary(result: WindowResult) -> list[str]:
    """What the window task found and where it published it: clusters, verdicts, the flagged
    cases (their reports' names) and the reports' folder."""
    linked = result.linking
    verdicts = ", ".join(f"{result.verdicts.get(v, 0):,} {v}" for v in ("flagged", "watch",
                                                                        "clear"))
    lines = [f"window {linked.window_start}..{linked.window_end}: {linked.account_count:,} "
             f"accounts in {linked.cluster_count:,} clusters ({linked.linked_cluster_count:,} "
             f"of several accounts, the largest {linked.largest_cluster:,})",
             f"verdicts: {verdicts}"]
    published = result.published
    if published is None:
        return [*lines, "published: nothing"]
    reports = published.folder / "reports"
    cases = sorted(p.stem for p in reports.glob("*.pdf") if p.name != "summary.pdf")
    more = f" and {len(cases) - SHOWN_CASES} more" if len(cases) > SHOWN_CASES else ""
    lines.append(f"flagged cases: {', '.join(cases[:SHOWN_CASES]) or 'none'}{more}")
    lines.append(f"reports: {reports} (summary.pdf and {len(cases)} case report(s))"
                 + (", reused: the same bytes as before" if published.reused else ""))
    return lines


def validation_line(out: Path, run_id: str, gate: str) -> str:
    """The gate's outcome and where its page is, from the page the gate wrote."""
    from pipeline.validation.pages import (  # cheap at parse time: see the module's docstring
        PAGE_NAME,
        gate_summary,
    )
    from pipeline.validation.validation import (  # cheap at parse time: see the module's docstring
        VALIDATION_DIR,
    )

    root = out / VALIDATION_DIR
    summary = gate_summary(root, run_id, gate)
    if summary is None:
        return f"{gate} validation: no result recorded"
    verdict = ("passed" if summary["success"] else
               f"FAILED {summary['failed']:,} of")
    return (f"{gate} validation {verdict} {summary['expectations']:,} expectations; pages: "
            f"{root / PAGE_NAME} ({summary['page']})")


def publication_event(plan: Mapping[str, Any], result: WindowResult) -> dict[str, Any]:
    """The extra of the findings asset's event: the output folder, the publication and its
    verdict counts (a publication over failed validation says ``valid: false`` and did not
    move ``latest``)."""
    published = result.published
    folder = published.folder.name if published else None
    return {"out": plan["out"], "publication": folder,
            "valid": bool(folder) and not str(folder).endswith(".invalid"),
            "window_start": result.linking.window_start.isoformat(),
            "window_end": result.linking.window_end.isoformat(),
            **{v: result.verdicts.get(v, 0) for v in ("flagged", "watch", "clear")}}


def wire_tasks(planned: XComArg, findings: Asset) -> None:
    """The tasks after a DAG's ``plan``, wired in the DAG being defined: ``split_logs`` ->
    ``stage_logs`` mapped over the parts of large logs (none for logs that fit one) ->
    ``ingest`` ->
    ``day_tables`` mapped over the days ingest wrote, or their shards when a day is large
    -> ``merge_shards`` mapped over the sharded days (``split_days`` lists them) ->
    ``window`` (whose outlet is ``findings``). Both DAGs run these same tasks and differ
    only in how they plan, so the wiring lives here once and a DAG file calls it inside its
    ``@dag`` function with its ``plan`` task's output (imports Airflow: DAG files only)."""
    from airflow.sdk import (  # cheap at parse time: see the module's docstring
        get_current_context,
        task,
    )

    @task
    def split_logs(plan: dict) -> list[dict[str, Any]]:
        return logs_parts(plan)

    @task(map_index_template="{{ part_label }}")
    def stage_logs(plan: dict, part: dict) -> list[str]:
        get_current_context()["part_label"] = part_label(part)  # the mapped task's UI label
        return stage_part(plan, part)

    # No parts (logs that fit one) map stage_logs over nothing, which Airflow marks skipped;
    # ingest then stages the logs itself.
    @task(trigger_rule="none_failed")
    def ingest(plan: dict, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return ingest_days(plan, parts)

    @task
    def split_days(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sharded_days(units)

    @task(map_index_template="{{ unit_label }}")
    def day_tables(plan: dict, unit: dict) -> list[str]:
        get_current_context()["unit_label"] = unit_label(unit)  # the mapped task's UI label
        return build_day(plan, unit)

    @task(map_index_template="{{ unit_label }}")
    def merge_shards(plan: dict, unit: dict) -> list[str]:
        get_current_context()["unit_label"] = str(unit["day"])
        return merge_day(plan, unit)

    # A run with no sharded day maps merge_shards over nothing, which Airflow marks
    # skipped: the window still runs then, but never after a failure.
    @task(outlets=[findings], trigger_rule="none_failed")
    def window(plan: dict, outlet_events: Any = None) -> str:
        return run_window(plan, outlet_events, findings)

    parts = split_logs(planned)
    staged = stage_logs.partial(plan=planned).expand(part=parts)
    units = ingest(planned, parts)
    staged >> units
    built = day_tables.partial(plan=planned).expand(unit=units)
    merged = merge_shards.partial(plan=planned).expand(unit=split_days(units))
    built >> merged >> window(planned)


def findings_asset(dag_id: str) -> Asset:
    """The asset a DAG's published findings update (imports Airflow: DAG files only). Its
    URI names the DAG, not a folder: the folder is the workers' setting, in the event."""
    from airflow.sdk import Asset  # cheap at parse time: see the module's docstring

    return Asset(name=FINDINGS_ASSETS[dag_id], uri=f"x-forensics://{dag_id}/findings")


def record_failure(context: Mapping[str, Any]) -> Path:
    """The DAGs' ``on_failure_callback``: a task failed for good (after its retries, or at
    once for a user's mistake). Appends one JSON line to ``task_failures.jsonl`` in the
    run's output folder (what failed, which day, which try, the error's first line, the log's
    address) and logs it, so an operator who watches the folder or the log sees it without
    opening the UI. The folder is the one the run's plan names (params, then environment);
    for a bucket, the worker's working folder (workers would overwrite each other's copy
    of one object)."""
    from pipeline.publish.storage import locate  # cheap at parse time: see the docstring
    from pipeline.warehouse import FAILURES_NAME  # cheap at parse time: see the module's docstring

    ti = context["ti"]
    error = context.get("exception")
    params = context.get("params") or {}
    out = locate(str(_paths_of(params)["out"]))[0]
    text = str(error).strip().splitlines()[0] if error and str(error).strip() else ""
    record = {"failed_at": datetime.now(UTC).isoformat(), "dag_id": ti.dag_id,
              "run_id": ti.run_id, "task_id": ti.task_id, "map_index": ti.map_index,
              "day": getattr(ti, "rendered_map_index", None), "try_number": ti.try_number,
              "error": f"{type(error).__name__}: {text}" if error else None,
              "log_url": getattr(ti, "log_url", None)}
    out.mkdir(parents=True, exist_ok=True)
    with (out / FAILURES_NAME).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
    log.error("task %s of %s failed for good (%s); recorded in %s", ti.task_id, ti.run_id,
              record["error"], out / FAILURES_NAME)
    return out / FAILURES_NAME


def worker_hostname() -> str:
    """The host a task instance records (Airflow's ``[core] hostname_callable``):
    ``FORENSICS_WORKER_NAME`` when the worker's environment sets it, else the machine's
    FQDN, as Airflow's default. Several Celery workers on one machine (``make
    cluster-up`` starts two) would otherwise all record the same host, and nobody could
    tell from the task instances which worker ran a day."""
    return os.environ.get(ENV_WORKER_NAME) or socket.getfqdn()


def task_defaults() -> dict[str, Any]:
    """The DAGs' ``default_args``: ``RETRY`` with its exception rules (imports Airflow:
    DAG files only)."""
    from airflow.sdk import (  # cheap at parse time: see the module's docstring
        ExceptionRetryPolicy,
        RetryAction,
        RetryRule,
    )

    from pipeline.errors import OutputLocked  # cheap at parse time: see the module's docstring

    policy = ExceptionRetryPolicy(rules=[
        RetryRule(exception=OutputLocked, action=RetryAction.RETRY,
                  retry_delay=timedelta(minutes=10), reason="the output folder is in use"),
        RetryRule(exception=ForensicsError, action=RetryAction.FAIL,
                  reason="bad input or parameters: a retry cannot fix it"),
    ])
    return {**RETRY, "retry_policy": policy}


def _plan(paths: dict[str, str | None], start: date, end: date, overrides: dict[str, Any],
          airflow_run_id: str, env: Mapping[str, str] | None) -> dict[str, Any]:
    return {**paths, "start": start.isoformat(), "end": end.isoformat(), **overrides,
            "shard_requests": deployment_size(ENV_SHARD_REQUESTS, env),
            "stage_bytes": deployment_size(ENV_STAGE_BYTES, env),
            "airflow_run_id": airflow_run_id}


DEPLOYMENT_SIZES = {ENV_SHARD_REQUESTS: ("requests", settings.DEFAULT_SHARD_REQUESTS),
                    ENV_STAGE_BYTES: ("bytes", settings.DEFAULT_STAGE_BYTES)}


def deployment_size(variable: str, env: Mapping[str, str] | None = None) -> int:
    """A deployment's size of work (``FORENSICS_SHARD_REQUESTS``: a day's shard;
    ``FORENSICS_STAGE_BYTES``: a part of the logs), else its default in ``settings``; a
    value that is not a whole number of at least 1 is refused naming the variable."""
    env = os.environ if env is None else env
    unit, default = DEPLOYMENT_SIZES[variable]
    text = (env.get(variable) or "").strip().replace("_", "")
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ForensicsError(f"{variable}: '{env[variable]}' is not a whole number of "
                             f"{unit} (at least 1)")
    return int(text)


def _paths_of(params: Mapping[str, Any],
              env: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The paths a run's params name, each standing for its environment variable (``logs``
    without ``accounts`` is logs without the sample's accounts table)."""
    given = dict(os.environ if env is None else env)
    for name, variable in (("logs", ENV_LOGS), ("accounts", ENV_ACCOUNTS), ("out", ENV_OUT)):
        if params.get(name) is not None:
            given[variable] = str(params[name])
    return configured_paths(given)


def _log_lines(lines: list[str]) -> None:
    for line in lines:
        log.info("%s", line)


def _request(plan: Mapping[str, Any]) -> RunRequest:
    from pipeline.run.runner import RunRequest  # cheap at parse time: see the module's docstring

    return RunRequest.from_dict(plan)


def _params(plan: Mapping[str, Any]) -> PipelineParams:
    return PipelineParams.from_overrides({k: plan[k] for k in settings.RUN_OVERRIDES})


def _absolute(path: str | Path | None) -> str | None:
    """A path from the project folder; a bucket URL as it is."""
    from pipeline.publish.storage import is_remote  # cheap at parse time: see the docstring

    if path is None or is_remote(path):
        return None if path is None else str(path)
    path = Path(path).expanduser()
    return str(path if path.is_absolute() else PROJECT_DIR / path)
