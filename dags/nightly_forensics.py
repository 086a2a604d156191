"""Nightly forensics: at 02:00 UTC, yesterday's logs through every stage of the pipeline.

The run that starts at 02:00 on day D+1 has the data interval [D 02:00, D+1 02:00) and
processes the UTC day its interval starts on, D, with accounts linked over the 30 days
ending at D. A manual run or ``airflow dags test nightly_forensics D+1`` does the same.
Paths come from ``FORENSICS_LOGS_DIR``, ``FORENSICS_ACCOUNTS`` and ``FORENSICS_OUT_DIR``.

Tasks: ``plan`` (the day, the paths, the thresholds) -> ``ingest`` (holds the output lock)
-> ``day_tables`` (mapped over the days ingest wrote, or over a large day's shards; no lock,
no database) -> ``merge_shards`` (a sharded day's tables from its shards) -> ``window``
(every window stage: linking today, then statistics, scoring, validation and reports as
they are added to ``pipeline.run.runner.window_task``; holds the lock, owns the database).
One run at a time: the window stages read the clusters of the run before. Tasks pass a
plan of paths and ISO days; data stays on disk. This file only wires ``pipeline``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from pipeline import settings
from pipeline.run import orchestration

FINDINGS = orchestration.findings_asset("nightly_forensics")


@dag(
    dag_id="nightly_forensics",
    schedule=CronTriggerTimetable("0 2 * * *", timezone="UTC", interval=timedelta(days=1)),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={**orchestration.task_defaults(),
                  "on_failure_callback": orchestration.record_failure},
    params={name: Param(**settings.param_spec(name)) for name in settings.RUN_OVERRIDES},
    tags=["forensics"],
    doc_md=__doc__,
)
def nightly_forensics():
    @task
    def plan(data_interval_start=None, params=None, run_id=None) -> dict:
        return orchestration.plan_day(data_interval_start, params, run_id)

    orchestration.wire_tasks(plan(), FINDINGS)


nightly_forensics()
