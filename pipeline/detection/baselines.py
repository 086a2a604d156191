"""Random groups of the window's accounts: the null of what accounts do together when the
window has too few clusters of several accounts to serve as its own.

In: ``clusters``, the window's per-day tables (``forensics.duckdb``), ``cluster_profile`` and
the clusters a first pass found strong on a harvest rule. Out: ``baseline_group`` (which
account is in which random group) and ``baseline_group_profile`` (each group's
``cluster_profile`` row, made by ``sql/detection/cluster_profile.sql`` itself), both empty
when the window has clusters enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import numpy as np
import polars as pl

from pipeline.registry import BASELINE_GROUP, BASELINE_GROUP_PROFILE
from pipeline.settings import StatisticsParams
from pipeline.warehouse import empty_frame, publish_frame, sql_text


def needs_random_groups(profile: pl.DataFrame, params: StatisticsParams) -> bool:
    """A rule of what accounts do together is tested against the clusters of several
    accounts nearest in size; with ``min_baseline_clusters`` or fewer of them there is no
    such null, and, measured on randomized scenarios, that is most windows: linking leaves
    a population of people and single accounts, and one or two campaigns."""
    together = profile.filter(pl.col("n_accounts") >= params.min_together_accounts).height
    return 0 < together <= params.min_baseline_clusters


def random_group_profiles(db: duckdb.DuckDBPyConnection, profile_params: Mapping[str, object],
                          profile: pl.DataFrame, suspects: Sequence[str],
                          params: StatisticsParams) -> pl.DataFrame:
    """``cluster_profile`` rows of random groups of accounts, ``group_size`` added, and both
    tables published: per size of a tested cluster (capped so that ``min_baseline_clusters``
    groups fit), up to ``baseline_clusters`` groups drawn without replacement from the
    accounts outside the suspects. Each size is one partition of the window: its groups,
    the suspects' clusters as linked, every other account alone, so that what "no other
    cluster sent" means for a group is what it means for a cluster."""
    members = db.sql("SELECT cluster_id, account_id FROM clusters ORDER BY account_id").pl()
    suspect = pl.col("cluster_id").is_in(list(suspects))
    pool = members.filter(~suspect)["account_id"]
    largest = pool.len() // params.min_baseline_clusters
    tested = profile.filter(pl.col("n_accounts") >= params.min_together_accounts)["n_accounts"]
    sizes = sorted({min(int(n), largest) for n in tested.unique()}
                   if largest >= params.min_together_accounts else set())
    groups, profiles = [], []
    for size in sizes:
        count = min(params.baseline_clusters, pool.len() // size)
        order = np.random.default_rng([params.seed, size]).permutation(pool.len())
        drawn = pl.DataFrame({"account_id": pool.gather(order[:count * size])}).with_row_index(
            "position").select(
            pl.lit(size, pl.Int64).alias("group_size"),
            pl.format("G{}-{}", pl.lit(size), (pl.col("position") // size).cast(pl.Int64)
                      .cast(pl.String).str.zfill(4)).alias("group_id"),
            "account_id")
        partition = pl.concat([
            drawn.select(cluster_id="group_id", account_id="account_id"),
            members.filter(suspect),
            members.filter(~suspect).join(drawn, on="account_id", how="anti")
            .select(cluster_id="account_id", account_id="account_id"),
        ])
        groups.append(drawn)
        profiles.append(profile_of(db, partition, profile_params)
                        .join(drawn.select("group_id", "group_size").unique(),
                              left_on="cluster_id", right_on="group_id")
                        .select("group_size", *profile.columns))
    group_frame = pl.concat(groups) if groups else empty_frame(BASELINE_GROUP)
    profile_frame = (pl.concat(profiles).sort("group_size", "cluster_id") if profiles
                     else empty_frame(BASELINE_GROUP_PROFILE))
    publish_frame(db, "baseline_group", group_frame, "group_id, account_id")
    publish_frame(db, "baseline_group_profile", profile_frame, "group_size, cluster_id")
    return profile_frame


def publish_no_groups(db: duckdb.DuckDBPyConnection) -> None:
    """The window's clusters were their own null: both tables exist, empty, so an auditor
    reads "no random groups" rather than a missing table."""
    publish_frame(db, "baseline_group", empty_frame(BASELINE_GROUP), "group_id, account_id")
    publish_frame(db, "baseline_group_profile", empty_frame(BASELINE_GROUP_PROFILE),
                  "group_size, cluster_id")


def profile_of(db: duckdb.DuckDBPyConnection, partition: pl.DataFrame,
                profile_params: Mapping[str, object]) -> pl.DataFrame:
    """``cluster_profile.sql`` over another partition of the window's accounts: a temporary
    ``clusters`` shadows the linked one for this connection while the query runs."""
    db.register("baseline_partition", partition)
    try:
        db.execute("CREATE TEMP TABLE clusters AS SELECT * FROM baseline_partition")
        return db.sql(sql_text("cluster_profile"), params=dict(profile_params)).pl()
    finally:
        db.execute("DROP TABLE IF EXISTS temp.main.clusters")
        db.unregister("baseline_partition")
