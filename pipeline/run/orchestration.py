"""What the Airflow DAGs call: a run's plan from DAG params and the environment, and the tasks.

In: a DAG run's params (the CLI's option names: ``start``, ``end``, ``logs``, ``accounts``,
``out``, ``max_bad_share``, ``lookback_days``, ``allow_empty``), the environment
(``FORENSICS_LOGS_DIR``, ``FORENSICS_ACCOUNTS``, ``FORENSICS_OUT_DIR``,
``FORENSICS_SIGNING_KEY``) and Airflow's run id. Out: a **plan**, a flat dict of strings
and numbers (absolute paths, ISO days, the parameter overrides) that tasks pass to each
other through XCom; and, from the task functions, ISO days, paths and ledger run ids.
Data never travels between tasks: only where it is.

Why a module of its own: DAG files only wire, and Airflow parses them often, so they import
this module at the top and it must be cheap (standard library and ``pipeline.settings``;
the pipeline's heavy modules are imported inside the task functions). Everything here
but ``task_defaults`` runs without Airflow, so its checks are unit-tested without a
scheduler. The DAGs' params (defaults, bounds, descriptions) come from ``settings``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import PROJECT_DIR, SAMPLE_DIR, settings
from pipeline.errors import ForensicsError
from pipeline.settings import PipelineParams

if TYPE_CHECKING:
    from pipeline.run.runner import RunRequest


ENV_LOGS = "FORENSICS_LOGS_DIR"
ENV_ACCOUNTS = "FORENSICS_ACCOUNTS"
ENV_OUT = "FORENSICS_OUT_DIR"
ENV_SIGNING_KEY = "FORENSICS_SIGNING_KEY"
DEFAULT_LOGS = SAMPLE_DIR / "logs"
DEFAULT_ACCOUNTS = SAMPLE_DIR / "accounts.csv"
DEFAULT_OUT = PROJECT_DIR / "out"

RETRY = {"retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": 2.0,
         "max_retry_delay": timedelta(minutes=30)}
"""Every task's retries: a crash, a full disk or a lost worker is retried after 2, then 4
minutes. A user's mistake (``ForensicsError``: a bad date, a missing folder, a day past
the bad-share ceiling) fails at once: retrying cannot fix it. A folder held by another
run (``OutputLocked``) is retried after 10 minutes, by when it is likely free."""

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
    given = dict(os.environ if env is None else env)
    for name, variable in (("logs", ENV_LOGS), ("accounts", ENV_ACCOUNTS), ("out", ENV_OUT)):
        if params.get(name) is not None:
            given[variable] = str(params[name])
    return _plan(configured_paths(given), start, end, overrides_of(params), airflow_run_id)


def plan_day(data_interval_start: datetime, params: Mapping[str, Any], airflow_run_id: str,
             env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The nightly DAG's plan: the UTC day its data interval starts on, paths from the
    environment."""
    if data_interval_start.tzinfo is None:
        raise ValueError("data_interval_start must carry its time zone")
    day = data_interval_start.astimezone(UTC).date()
    return _plan(configured_paths(env), day, day, overrides_of(params), airflow_run_id)


def days_of(plan: Mapping[str, Any]) -> list[str]:
    """Every day of the plan's range as an ISO string, in order."""
    first, last = date.fromisoformat(plan["start"]), date.fromisoformat(plan["end"])
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def ledger_run_id(plan: Mapping[str, Any], task: str) -> str:
    """The run id a task writes to the ``runs`` ledger: the Airflow run's id and the task,
    so each task of a DAG run has its own row and a retry updates that row in place."""
    return f"{plan['airflow_run_id']}:{task}"


def ingest_days(plan: Mapping[str, Any]) -> list[str]:
    """Task: ingest the plan's range (under the output lock); the days written, as ISO."""
    from pipeline.run.runner import ingest_task  # cheap at parse time: see the module's docstring

    result = ingest_task(_request(plan), _params(plan), run_id=ledger_run_id(plan, "ingest"))
    return [d.isoformat() for d in result.days]


def build_day(plan: Mapping[str, Any], day: str) -> list[str]:
    """Task: one day's compact tables (no lock, no database); the files written."""
    from pipeline.run.runner import day_task  # cheap at parse time: see the module's docstring

    return [str(p) for p in day_task(_request(plan), _params(plan), parse_day(day, "day"))]


def run_window(plan: Mapping[str, Any]) -> str:
    """Task: every window stage (under the output lock); the database they wrote."""
    from pipeline.run.runner import window_task  # cheap at parse time: see the module's docstring
    from pipeline.warehouse import DB_NAME  # cheap at parse time: see the module's docstring

    request = _request(plan)
    window_task(request, _params(plan), run_id=ledger_run_id(plan, "window"))
    return str(request.out / DB_NAME)


def task_defaults() -> dict[str, Any]:
    """The DAGs' ``default_args``: ``RETRY`` with its exception rules (the only function
    here that imports Airflow, and only when a DAG file calls it)."""
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
          airflow_run_id: str) -> dict[str, Any]:
    return {**paths, "start": start.isoformat(), "end": end.isoformat(), **overrides,
            "airflow_run_id": airflow_run_id}


def _request(plan: Mapping[str, Any]) -> RunRequest:
    from pipeline.run.runner import RunRequest  # cheap at parse time: see the module's docstring

    return RunRequest.from_dict(plan)


def _params(plan: Mapping[str, Any]) -> PipelineParams:
    return PipelineParams.from_overrides({k: plan[k] for k in settings.RUN_OVERRIDES})


def _absolute(path: str | Path | None) -> str | None:
    if path is None:
        return None
    path = Path(path).expanduser()
    return str(path if path.is_absolute() else PROJECT_DIR / path)
