"""What the validation gates, publication and every command write: the checks and the
frames they read, what changed and what was published, and the run ledger.
"""

from __future__ import annotations

from pipeline.registry.columns import (
    _ACCOUNT,
    _CLUSTER,
    _RUN,
    _SOURCE_FILE,
    _WINDOW_END,
    _WINDOW_START,
)
from pipeline.registry.shape import Table, _c

# --- validation -----------------------------------------------------------------------

VALIDATION_RESULT = Table(
    name="validation_result",
    grain="one row per expectation evaluated on one batch of one gate of one run",
    key=("run_id", "gate", "suite", "batch", "expectation", "column", "details"),
    layer="validation",
    kind="table",
    meaning="every validation check and its outcome; a retry of a gate replaces its rows",
    made_by="pipeline/validation/validation.py",
    columns=(
        _RUN,
        _c("gate", "VARCHAR", "raw (the requests partitions) or window (the window tables)"),
        _c("suite", "VARCHAR", "<gate>.<table>[.schema]: the expectation suite"),
        _c("batch", "VARCHAR", "what was checked: a day, a span of days, a window"),
        _c("expectation", "VARCHAR", "the Great Expectations expectation type"),
        _c("column", "VARCHAR", "the column checked; NULL for a table-wide check"),
        _c("success", "BOOLEAN", "the check passed"),
        _c("observed_value", "VARCHAR", "what GX observed, as text"),
        _c("unexpected_count", "BIGINT", "rows that failed; NULL when not counted"),
        _c("details", "JSON", "the expectation's arguments, failing values and any error"),
        _c("validated_at", "TIMESTAMPTZ", "when the gate ran"),
    ),
)

VALIDATION_CLUSTER_MEMBERSHIP = Table(
    name="validation_cluster_membership",
    grain="one row per account of the clusters' window or of clusters, per cluster holding it",
    key=("account_id", "cluster_id"),
    layer="validation",
    kind="query",
    meaning="the frame the membership expectations read: each window account in exactly "
            "one cluster, cluster_size its cluster's account count, no account from outside "
            "the window",
    columns=(
        _ACCOUNT,
        _c("cluster_id", "VARCHAR", "its cluster; NULL when no cluster holds it"),
        _c("cluster_size", "BIGINT", "clusters.cluster_size of the row"),
        _c("member_count", "BIGINT", "rows of clusters with the row's cluster_id"),
        _c("in_window", "BOOLEAN", "the account has an account_day row inside the window"),
    ),
)

VALIDATION_INGEST_RECONCILIATION = Table(
    name="validation_ingest_reconciliation",
    grain="one row per input file of an ingest run, or per source_file found in the run's "
          "day partitions",
    key=("source_file",),
    layer="validation",
    kind="query",
    meaning="the rows the ledger says were kept against the rows the partitions hold",
    columns=(
        _SOURCE_FILE,
        _c("ledger_rows_kept", "BIGINT", "ingest_ledger.rows_kept; NULL when the ledger has "
           "no such file"),
        _c("partition_rows", "BIGINT", "rows of the range's partitions from the file"),
    ),
)

# --- publication ----------------------------------------------------------------------

VERDICT_CHANGE = Table(
    name="verdict_change",
    grain="one row per cluster whose verdict differs between this run and the previous "
          "publication",
    key=("cluster_id",),
    layer="publication",
    kind="table",
    meaning="what changed since the previous publication (the summary's Changes section); "
            "empty without one",
    columns=(
        _CLUSTER,
        _c("change", "VARCHAR", "new, ended, raised or lowered"),
        _c("previous_verdict", "VARCHAR", "the verdict published before; NULL when new"),
        _c("verdict", "VARCHAR", "the verdict now; NULL when ended"),
        _c("previous_risk_score", "DOUBLE", "the risk score published before"),
        _c("risk_score", "DOUBLE", "the risk score now"),
        _c("previous_n_accounts", "BIGINT", "accounts then"),
        _c("n_accounts", "BIGINT", "accounts now"),
        _c("now_in", "VARCHAR", "for an ended cluster, the cluster of this run holding most "
           "of its accounts"),
        _c("now_in_verdict", "VARCHAR", "that cluster's verdict"),
    ),
)

PUBLICATIONS = Table(
    name="publications",
    grain="one row per run that published",
    key=("run_id",),
    layer="publication",
    kind="table",
    meaning="what was published when, and where (publications/<name>/)",
    made_by="pipeline/publish/publication.py",
    columns=(
        _RUN,
        _c("name", "VARCHAR", "the folder under publications/: <window end>[.invalid][.<n>]"),
        _WINDOW_START,
        _WINDOW_END,
        _c("valid", "BOOLEAN", "built on data that passed validation"),
        _c("previous", "VARCHAR", "the publication it was compared with; NULL for none"),
        _c("flagged", "BIGINT", "clusters flagged"),
        _c("watch", "BIGINT", "clusters on watch"),
        _c("changes", "BIGINT", "rows of verdict_change"),
        _c("reused", "BOOLEAN", "the same bytes were already published: the folder was "
           "reused"),
    ),
)

# --- the run ledger -------------------------------------------------------------------

RUNS = Table(
    name="runs",
    grain="one row per run (command) on the output folder",
    key=("run_id",),
    layer="run",
    kind="table",
    meaning="what ran, with which parameters, and how it ended",
    made_by="pipeline/run/runner.py",
    columns=(
        _c("run_id", "VARCHAR", "start time (UTC) and process id: sorts by start"),
        _c("command", "VARCHAR", "the CLI command or DAG task"),
        _c("parameters", "JSON", "the run's recorded parameters"),
        _c("started_at", "TIMESTAMPTZ", "when it started"),
        _c("finished_at", "TIMESTAMPTZ", "when it ended; NULL while running"),
        _c("status", "VARCHAR", "running, succeeded, failed or abandoned"),
        _c("message", "VARCHAR", "the error's first line when it failed"),
    ),
)
