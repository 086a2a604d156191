"""An investigator's re-run of a date range, with its own thresholds and output folder.

Triggered by hand (UI form or ``airflow dags trigger rerun_range --conf '{...}'``) with the
CLI's option names as params. Their schemas refuse a malformed date or a wrong type when the
run is triggered; ``plan``, the first task, refuses an end before the start in seconds.
Paths left empty come from ``FORENSICS_LOGS_DIR``, ``FORENSICS_ACCOUNTS`` and
``FORENSICS_OUT_DIR``.

Tasks: ``plan`` -> ``ingest`` (the whole range, under the output lock) -> ``day_tables``
mapped over the range's days, and over shards of a day past ``FORENSICS_SHARD_REQUESTS``
requests (each reads and writes only its own day's Parquet files, so they run side by
side on as many workers as the executor has) -> ``merge_shards`` mapped over the sharded
days -> ``window`` (every window stage, under the lock). This file only wires ``pipeline``.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from pipeline import settings
from pipeline.run import orchestration

FINDINGS = orchestration.findings_asset("rerun_range")


@dag(
    dag_id="rerun_range",
    schedule=None,
    is_paused_upon_creation=False,  # it never runs on its own: a trigger runs at once
    max_active_runs=1,
    default_args={**orchestration.task_defaults(),
                  "on_failure_callback": orchestration.record_failure},
    params={
        "start": Param(type="string", format="date", title="start",
                       description="First day, YYYY-MM-DD (UTC)."),
        "end": Param(type="string", format="date", title="end",
                     description="Last day, YYYY-MM-DD (UTC), inclusive."),
        **{name: Param(**settings.param_spec(name)) for name in settings.RUN_OVERRIDES},
        "out": Param(None, type=["null", "string"], description="Output folder or "
                     "s3://bucket/prefix; empty: "
                     f"${orchestration.ENV_OUT}. Give a re-run a folder of its own."),
        "logs": Param(None, type=["null", "string"], description="Folder of request logs; "
                      f"empty: ${orchestration.ENV_LOGS}."),
        "accounts": Param(None, type=["null", "string"], description="Accounts table; "
                          f"empty: ${orchestration.ENV_ACCOUNTS}."),
    },
    tags=["forensics"],
    doc_md=__doc__,
)
def rerun_range():
    @task
    def plan(params=None, run_id=None) -> dict:
        return orchestration.plan_range(params, run_id)

    orchestration.wire_tasks(plan(), FINDINGS)


rerun_range()
