"""What the reports print, read from ``forensics.duckdb`` once for all reports of a run.

In: an open connection (the caller holds the output lock). Out: ``RunData``, frames of every
flagged cluster at once, from the queries of ``sql/publish/reports/``; only the temporary tables
``_report_member`` and ``_report_account`` are written, and dropped again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from pipeline.settings import default
from pipeline.warehouse import sql_text

POPULATION = "population"
"""The cluster_id of the row that a query adds for every account of the window."""

OPTIONAL_TABLES: dict[str, str] = {
    "cluster_statistic": "one row per cluster and statistic tested (registry.CLUSTER_STATISTIC)",
    "cluster_findings": "one row per cluster (registry.CLUSTER_FINDING)",
    "cluster_capability": "one row per cluster and capability category (statistics stage)",
    "cluster_profile": "one row per cluster of the window: the counts every statistic is a "
                       "ratio of",
    "cluster_cache_day": "one row per cluster and UTC day of the window with a cacheable "
                         "request: the cache replay's counts per day",
    "cluster_cache_collision": "one row per cluster and cacheable prefix (system_hash, model) "
                               "that two or more of its accounts sent",
    "validation_result": "one row per validation check and run (the latest of each check is "
                         "shown)",
}
"""Tables the reports read when present, with their grain; the columns read are those of
the ``sql/publish/reports/`` queries. Each section that needs one says "not available in this run"
when it is absent."""


@dataclass
class RunData:
    """Everything the reports print, read from ``forensics.duckdb`` in a few bulk queries
    (one per source table, all flagged clusters at once), then split per cluster."""

    window_start: date | None
    window_end: date | None
    tables: set[str]
    findings: pl.DataFrame | None
    statistics: pl.DataFrame | None
    members: pl.DataFrame
    accounts: pl.DataFrame
    daily: pl.DataFrame
    hours: pl.DataFrame
    population_hours: pl.DataFrame
    pacing: pl.DataFrame
    population_pacing: pl.DataFrame
    behaviour: pl.DataFrame
    population_behaviour: pl.DataFrame
    keys: pl.DataFrame
    links: pl.DataFrame
    optional: dict[str, pl.DataFrame]
    inputs: pl.DataFrame
    quarantine: pl.DataFrame
    validation: pl.DataFrame | None
    run_figures: dict[str, Any]
    excerpts: pl.DataFrame | None = None
    changes: pl.DataFrame | None = None
    """``verdict_change``: verdicts that moved since the previous publication."""
    coverage: pl.DataFrame | None = None
    """The inputs evidence needs and the accounts carrying each (``evidence_coverage``):
    what the logs' format or content turned off, said rather than shown as weak."""
    by_cluster: dict[str, dict[str, pl.DataFrame]] = field(default_factory=dict)

    def inputs_off(self) -> list[str]:
        """The evidence inputs no account of the window carries (``coverage``)."""
        if self.coverage is None:
            return []
        return self.coverage.filter(~pl.col("is_on"))["input"].to_list()

    def of(self, name: str, cluster_id: str) -> pl.DataFrame:
        """Rows of one frame (attribute or optional table) for one cluster."""
        parts = self.by_cluster.get(name)
        if parts is None:
            frame = getattr(self, name, None)
            if frame is None:
                frame = self.optional.get(name)
            if frame is None:
                return pl.DataFrame()
            parts = {k[0]: v for k, v in frame.partition_by("cluster_id", as_dict=True,
                                                              maintain_order=True).items()}
            parts["__schema__"] = frame.clear()
            self.by_cluster[name] = parts
        return parts.get(cluster_id, parts["__schema__"])

    def case_id(self, cluster_id: str) -> str:
        """The case a cluster's report is about: the cluster at this window's end, so the
        same cluster's reports of two nights are two cases an auditor can tell apart."""
        return f"{cluster_id}-{self.window_end:%Y%m%d}" if self.window_end else cluster_id

    def flagged_ids(self) -> list[str]:
        """The flagged clusters, in the findings' order."""
        if self.findings is None:
            return []
        return self.findings.filter(pl.col("verdict") == "flagged")["cluster_id"].to_list()


@dataclass(frozen=True)
class RunContext:
    """What every report of a run prints about the run rather than its tables: provenance
    and the publication settings, fixed before the first report is written."""

    generated_at: datetime
    params: dict[str, Any]
    version: str
    sql_hashes: tuple[tuple[str, str], ...]
    invalid: bool
    excerpts: int
    previous: str | None = None
    """The publication this run's changes are measured against (None: the first)."""

    @property
    def producer(self) -> str:
        """Who publishes: the reports' author, the same identity as the STIX bundle's."""
        return str(self.params.get("reports", {}).get("producer") or default("producer"))


def _query(db: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
           ) -> pl.DataFrame:
    """The rows of ``sql/publish/reports/<name>.sql``: values are bound by DuckDB, never written
    into the SQL text."""
    return db.sql(sql_text(f"reports/{name}"), params=params or None).pl()


def existing_tables(db: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables and views of the connection's main database."""
    return {r[0] for r in db.execute(sql_text("reports/tables")).fetchall()}


def read_inputs(db: duckdb.DuckDBPyConnection, start: date | None, end: date | None,
                tables: set[str]) -> pl.DataFrame:
    """The input files behind the window's partitions, from ``ingest_ledger``: for each
    day of the window the latest ingest run that covered it, and that run's files."""
    if "ingest_ledger" not in tables:
        return pl.DataFrame(schema={"source_file": pl.String, "sha256": pl.String,
                                    "size_bytes": pl.Int64, "rows_read": pl.Int64,
                                    "rows_kept": pl.Int64, "rows_quarantined": pl.Int64,
                                    "rows_out_of_range": pl.Int64, "balanced": pl.Boolean})
    return _query(db, "inputs", {"start": start, "end": end})


def read_run(db: duckdb.DuckDBPyConnection, *, excerpts: int = 0) -> RunData:
    """Read everything the reports need. Flagged clusters are the rows of
    ``cluster_findings`` with verdict ``flagged``; without that table nothing is flagged.
    Without the accounts table, no account's creation time, country or limit is known."""
    tables = existing_tables(db)
    window = db.execute(sql_text("reports/window")).fetchall()[0] \
        if "clusters" in tables else (None, None)
    start, end = window or (None, None)
    findings = _query(db, "findings") if "cluster_findings" in tables else None
    member = "flagged_member" if findings is not None else "flagged_member_none"
    attribute = "account_attribute" if "accounts" in tables else "account_attribute_none"
    db.execute(f"CREATE OR REPLACE TEMP TABLE _report_member AS {sql_text('reports/' + member)}")
    db.execute(f"CREATE OR REPLACE TEMP TABLE _report_account AS "
               f"{sql_text('reports/' + attribute)}")
    try:
        return _read_run(db, tables, findings, start, end, excerpts)
    finally:
        db.execute("DROP TABLE IF EXISTS _report_member")
        db.execute("DROP TABLE IF EXISTS _report_account")


def _read_run(db: duckdb.DuckDBPyConnection, tables: set[str], findings: pl.DataFrame | None,
              start: date | None, end: date | None, excerpts: int) -> RunData:
    w = {"start": start, "end": end}
    behaviour = _query(db, "behaviour", w)
    population = behaviour.filter(pl.col("cluster_id") == POPULATION).drop("cluster_id")
    # Over no day at all the population is still one row, of nulls, as an aggregate gives.
    inputs = read_inputs(db, start, end, tables)
    return RunData(
        window_start=start, window_end=end, tables=tables, findings=findings,
        statistics=_query(db, "statistics") if "cluster_statistic" in tables else None,
        members=_query(db, "members"),
        accounts=_query(db, "member_accounts", w),
        daily=_query(db, "daily", w),
        hours=_query(db, "hours", w),
        population_hours=_query(db, "population_hours", w),
        pacing=_query(db, "pacing", w),
        population_pacing=_query(db, "population_pacing", w),
        behaviour=behaviour.filter(pl.col("cluster_id") != POPULATION),
        population_behaviour=population if population.height else population.clear(1),
        keys=_query(db, "keys") if "cluster_key" in tables else pl.DataFrame(),
        links=_query(db, "links") if "account_link" in tables else pl.DataFrame(),
        optional=_optional_frames(db, tables),
        inputs=inputs,
        quarantine=_query(db, "quarantine_reasons",
                          {**w, "files": inputs["source_file"].to_list()})
        if "quarantine" in tables else pl.DataFrame(schema={"reason": pl.String,
                                                            "row_count": pl.Int64}),
        validation=_query(db, "validation") if "validation_result" in tables else None,
        run_figures=_run_figures(db, tables),
        excerpts=_query(db, "excerpts", {**w, "n": excerpts})
        if excerpts > 0 and "requests" in tables else None,
        changes=_query(db, "changes") if "verdict_change" in tables else None,
        coverage=_query(db, "evidence_coverage", w)
        if {"account_day", "account_capability_day", "accounts"} <= tables else None)


def _optional_frames(db: duckdb.DuckDBPyConnection, tables: set[str]
                     ) -> dict[str, pl.DataFrame]:
    """The optional per-cluster tables present in this run, by table name."""
    queries = (("cluster_cache_day", "cache_day"), ("cluster_cache_collision", "cache_collision"),
               ("cluster_capability", "capability_mix"), ("cluster_profile", "cache_profile"),
               ("cluster_cohort", "cohort"), ("case_test", "join"))
    return {table: _query(db, query) for table, query in queries if table in tables}


def _run_figures(db: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if "clusters" in tables:
        row = db.execute(sql_text("reports/cluster_figures")).fetchall()[0]
        figures.update(accounts=row[0], clusters=row[1], linked_clusters=row[2],
                       largest_cluster=row[3])
    if "account_link" in tables:
        figures["links"] = db.execute(sql_text("reports/link_count")).fetchall()[0][0]
    return figures
