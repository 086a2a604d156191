"""Wave holders: whether each account a creation wave put in a cluster ties to it as a
member or as an outsider who signed up in the same minutes.

In: the clusters linking made (account_id, label) and ``account_link_evidence`` and
``account_link_key`` in ``forensics.duckdb``. Out: ``wave_holder`` (published), the
holders that leave, and the evidence rows without their waves.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipeline.linking.members import CORRELATED_KINDS
from pipeline.warehouse import publish_frame, sql_text


def weigh_wave_holders(db: duckdb.DuckDBPyConnection, labels: pl.DataFrame,
                      alpha: float) -> pl.Series:
    """The creation wave's holders whose ties to the cluster ``labels`` put them in are an
    outsider's, not a member's (``wave_holder``, published): their account_ids.

    A wave is a time: everyone who signed up in its minutes holds it, and a wave joins
    holders no community holds. Sweep BB's 590037408 made a 1,451-account campaign in
    eleven waves, and four individuals and one NAT user who signed up in those minutes
    were flagged with it; BA's 1302060855 flagged an individual so. Each such holder
    shared evidence with 62 to 278 accounts of the window, as many of them in the
    campaign as an outsider's ties put there and far fewer than a member's. Both shares
    are measured in the window (the cluster's own members, everyone else), so the test
    needs no rate of sign-ups; a holder with no other evidence is not tested."""
    db.register("linked_labels", labels.select("account_id", "label").to_arrow())
    try:
        holders = db.sql(sql_text("wave_holder"), params={
            "creation_kinds": [k for k, group in CORRELATED_KINDS.items()
                               if group == "creation"],
            "alpha": alpha}).pl()
    finally:
        db.unregister("linked_labels")
    publish_frame(db, "wave_holder", holders, "account_id")
    return holders.filter("leaves")["account_id"]


def without_waves_of(evidence: pl.DataFrame, accounts: pl.Series) -> pl.DataFrame:
    """``evidence`` with ``accounts`` out of their creation waves' stars (a star whose
    first account leaves is drawn again from its next): what holds them in a cluster is
    then what they do, not when they signed up."""
    leaving = accounts.implode()
    wave = pl.col("key_type") == "creation_wave"
    star = evidence.filter(wave & ~pl.col("account_b").is_in(leaving))
    hubs = (star.filter(pl.col("account_a").is_in(leaving))
            .group_by("account_a").agg(hub=pl.col("account_b").min()))
    star = (star.join(hubs, on="account_a", how="left")
            .with_columns(account_a=pl.coalesce("hub", "account_a")).drop("hub")
            .filter(pl.col("account_a") != pl.col("account_b")))
    return pl.concat([evidence.filter(~wave), star])
