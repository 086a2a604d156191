"""Case ids that survive re-runs, and what happened to each cluster since the last run.

In: tonight's communities (account_id, label) and the ``clusters`` of the previous run in
``forensics.duckdb``. Out: ``clusters`` rows with stable case ids (a community inherits
the id of the previous cluster it overlaps most; a new one is named by a hash of its
members) and ``cluster_lineage`` events (new, continued, grew, shrank, changed, merged,
split, ended), appended per run.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipeline.registry import CLUSTER_LINEAGE
from pipeline.warehouse import table_ddl


def hash_cluster_ids(communities: pl.DataFrame) -> pl.DataFrame:
    """Add ``fresh_id``: a hash of each community's sorted members (in DuckDB, one pass).

    A community that inherits no previous id is named by its members, so a fresh run over
    the same inputs names every cluster the same way.
    """
    con = duckdb.connect()
    con.register("communities", communities.to_arrow())
    named = con.sql(
        "SELECT *, 'C' || left(sha256(array_to_string(members, chr(10))), 10) AS fresh_id "
        "FROM communities").pl()
    con.close()
    return named


def assign_cluster_ids(labels: pl.DataFrame,
                       previous: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stable case ids: tonight's communities matched to the last run's clusters.

    Each previous cluster's successor is the new community holding most of its accounts;
    a community inherits the id of the previous cluster it succeeds with the largest
    overlap (ties: the smaller id). Other communities get an id hashed from their members;
    when that hash is an id a community inherits tonight (an account that was once named
    alone, then grew into a case it has now left), the label is appended so that two
    communities never share an id.
    Returns the clusters (cluster_id, account_id, cluster_size) and the lineage events.
    """
    fresh = hash_cluster_ids(labels.group_by("label")
                             .agg(pl.col("account_id").sort().alias("members")))
    inherited = pl.DataFrame(schema={"label": pl.Int64, "cluster_id": pl.String,
                                     "overlap": pl.UInt32})
    overlaps = pl.DataFrame(schema={"label": pl.Int64, "previous_id": pl.String,
                                    "overlap": pl.UInt32})
    if previous is not None and previous.height:
        overlaps = (labels.join(previous.rename({"cluster_id": "previous_id"}),
                                on="account_id")
                    .group_by("label", "previous_id").len("overlap"))
        successors = (overlaps.sort(["previous_id", "overlap", "label"],
                                    descending=[False, True, False])
                      .unique("previous_id", keep="first"))
        inherited = (successors.sort(["label", "overlap", "previous_id"],
                                     descending=[False, True, False])
                     .unique("label", keep="first")
                     .select("label", pl.col("previous_id").alias("cluster_id"), "overlap"))
    taken = inherited["cluster_id"].implode()
    named = fresh.join(inherited, on="label", how="left").with_columns(
        cluster_id=pl.coalesce(
            "cluster_id",
            pl.when(pl.col("fresh_id").is_in(taken))
            .then(pl.col("fresh_id") + "-" + pl.col("label").cast(pl.String))
            .otherwise("fresh_id")))
    clusters = (labels.join(named.select("label", "cluster_id"), on="label")
                .with_columns(cluster_size=pl.len().over("cluster_id").cast(pl.Int64))
                .select("cluster_id", "account_id", "cluster_size")
                .sort("cluster_id", "account_id"))
    return clusters, _lineage(named, overlaps, previous)


def _lineage(named: pl.DataFrame, overlaps: pl.DataFrame,
             previous: pl.DataFrame | None) -> pl.DataFrame:
    """One event per (cluster, related previous cluster): new, continued, grew, shrank,
    changed, merged (a previous cluster absorbed), split (a piece of a previous one), and
    ended (a previous cluster none of whose accounts is in the window any more: without
    it, a case that disappears would leave no trace)."""
    sizes = named.select("label", "cluster_id", n_accounts=pl.col("members").list.len())
    prev_sizes = (previous.group_by("cluster_id").len("previous_size")
                  .rename({"cluster_id": "previous_id"})
                  if previous is not None and previous.height else
                  pl.DataFrame(schema={"previous_id": pl.String, "previous_size": pl.UInt32}))
    related = (overlaps.join(sizes, on="label")
               .join(prev_sizes, on="previous_id", how="left")
               .with_columns(event=pl.when(pl.col("previous_id") == pl.col("cluster_id"))
                             .then(pl.when((pl.col("overlap") == pl.col("n_accounts"))
                                           & (pl.col("overlap") == pl.col("previous_size")))
                                   .then(pl.lit("continued"))
                                   .when(pl.col("overlap") == pl.col("previous_size"))
                                   .then(pl.lit("grew"))
                                   .when(pl.col("overlap") == pl.col("n_accounts"))
                                   .then(pl.lit("shrank"))
                                   .otherwise(pl.lit("changed")))
                             .when(pl.col("previous_id").is_in(sizes["cluster_id"].implode()))
                             .then(pl.lit("split"))
                             .otherwise(pl.lit("merged")))
               .select("cluster_id", "event", "previous_id",
                       pl.col("overlap").cast(pl.Int64), pl.col("n_accounts").cast(pl.Int64)))
    new = (sizes.join(overlaps.select("label").unique(), on="label", how="anti")
           .select("cluster_id", event=pl.lit("new"), previous_id=pl.lit(None, pl.String),
                   overlap=pl.lit(0, pl.Int64), n_accounts=pl.col("n_accounts").cast(pl.Int64)))
    ended = (prev_sizes.join(overlaps.select("previous_id").unique(), on="previous_id",
                             how="anti")
             .select(cluster_id="previous_id", event=pl.lit("ended"),
                     previous_id="previous_id", overlap=pl.lit(0, pl.Int64),
                     n_accounts=pl.lit(0, pl.Int64)))
    return pl.concat([related, new, ended]).sort("cluster_id", "event", "previous_id")


def previous_clusters(db: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    exists = db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'clusters'"
                        ).fetchall()[0][0]
    if not exists:
        return None
    return db.sql("SELECT cluster_id, account_id FROM clusters").pl()


def record_lineage(db: duckdb.DuckDBPyConnection, lineage: pl.DataFrame) -> None:
    """Append this run's lineage, dated by its window's last day, replacing an earlier
    attempt of the same run. A table written before the date column gains it."""
    columns = tuple(c.name for c in CLUSTER_LINEAGE.columns)
    db.execute(table_ddl(CLUSTER_LINEAGE))
    db.execute("ALTER TABLE cluster_lineage ADD COLUMN IF NOT EXISTS window_end DATE")
    db.register("new_lineage", lineage.select(columns).to_arrow())
    db.execute("DELETE FROM cluster_lineage WHERE run_id IN (SELECT run_id FROM new_lineage)")
    db.execute(f"INSERT INTO cluster_lineage ({', '.join(columns)}) "
               f"SELECT {', '.join(columns)} FROM new_lineage")
    db.unregister("new_lineage")
