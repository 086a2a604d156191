"""Cohorts: fragments on ``watch`` that are one operator by what they share, made one
cluster so that they are judged as one.

In: ``cluster_findings`` of a first scoring pass, and linking's
tables (``account_link``, ``account_shared_key``, ``account_link_null``,
``account_link_evidence``, ``link_threshold``). Out: ``clusters``, ``cluster_key`` and this
run's ``cluster_lineage`` rewritten with each cohort one cluster
(``pipeline.linking.linking.merge_clusters``); the caller computes the statistics and the
verdicts again.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipeline.detection.scoring import LinkingTables, linking_tables
from pipeline.linking.cohorts import COHORT_SCHEMA, harvest_cohorts
from pipeline.linking.linking import LinkResult, merge_clusters
from pipeline.registry import CLUSTER_COHORT
from pipeline.settings import LinkParams, ScoringParams
from pipeline.warehouse import publish_frame


def watch_fragments(findings: pl.DataFrame, params: ScoringParams) -> pl.DataFrame:
    """(cluster_id): the fragments (under ``min_accounts_flagged`` accounts) on ``watch``.
    A fragment is on watch only with three strong statistics of its own, one of them a
    harvest (``verdicts``), so a person or an app with one odd habit is not among them;
    a fragment that joined a case is flagged, so it is not among them either."""
    return findings.filter((pl.col("verdict") == "watch")
                           & (pl.col("n_accounts") < params.min_accounts_flagged)
                           ).select("cluster_id")


def group_cohorts(db: duckdb.DuckDBPyConnection, findings: pl.DataFrame,
                  linked: LinkResult, run_id: str, link_params: LinkParams,
                  params: ScoringParams, tables: LinkingTables | None = None
                  ) -> LinkResult | None:
    """Merge each cohort of ``watch`` fragments into one cluster (``harvest_cohorts``),
    write ``cluster_cohort`` (empty when there is none) and return linking's result after
    the merge; None when nothing was merged (or linking wrote no key tables). ``tables``:
    linking's, when the caller has read them (``linking_tables``); read here otherwise."""
    cohorts = _cohorts(db, findings, linked, link_params, params, tables)
    merged = None
    if cohorts.height:
        merged = merge_clusters(db, cohorts.select("cluster_id", into="cohort").unique(),
                                run_id, linked)
        clusters = db.sql("SELECT cluster_id, account_id FROM clusters").pl()
        cohorts = cohorts.drop("cluster_id", "cohort").join(clusters, on="account_id")
    publish_frame(db, CLUSTER_COHORT.name,
                  cohorts.select([c.name for c in CLUSTER_COHORT.columns]),
                  "cluster_id, account_id")
    return merged


def _cohorts(db: duckdb.DuckDBPyConnection, findings: pl.DataFrame, linked: LinkResult,
             link_params: LinkParams, params: ScoringParams,
             tables: LinkingTables | None) -> pl.DataFrame:
    """``harvest_cohorts`` on the window's watch fragments; no rows without linking's key
    tables or with fewer fragment accounts than a cohort needs."""
    empty = pl.DataFrame(schema=COHORT_SCHEMA)
    tables = tables if tables is not None else linking_tables(db)
    if tables is None:
        return empty
    members = db.sql("SELECT cluster_id, account_id FROM clusters").pl()
    fragments = members.join(watch_fragments(findings, params), on="cluster_id")
    if fragments.height < params.min_accounts_flagged:
        return empty
    return harvest_cohorts(
        fragments,
        db.sql("SELECT account_a, account_b, weight FROM account_link").pl(),
        tables.keys, tables.cards, linked.account_count, link_params,
        min_accounts=params.min_accounts_flagged, rounds=params.join_rounds)
