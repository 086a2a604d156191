"""Wave holders: whether each account a creation wave put in a cluster ties to it as a
member or as an outsider who signed up in the same minutes.

In: the clusters linking made (account_id, label) and ``account_link_evidence`` and
``account_link_key`` in ``forensics.duckdb``. Out: ``wave_holder`` (published), the
holders that leave, the evidence rows without their waves, and the member tests of the
pass after they leave (``Confirmations``: only the communities their leaving changed are
tested again).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl

from pipeline.linking.members import CORRELATED_KINDS, card_pairs
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


Confirm = Callable[[pl.DataFrame, pl.Series | None], pl.DataFrame]
"""``confirm_members`` on linking's evidence: (labels, only) to (account_id, label,
member_surprise)."""


class Confirmations:
    """Linking's member tests, kept from its first pass so that the pass after holders
    leave their waves (``after_leaving``) tests again only the communities the leaving
    changed.

    The second pass runs the same Leiden on the same edges; what changed is who a wave's
    star joins, and with it the payers (``members._payers``) and card pairs of the
    accounts its pairs touch (``moved_by``). A community none of those accounts is in,
    with the same members as one tested before, has the same test (it reads only its own
    members and every key's holders), so its rows are taken from then. It halves the
    second pass's tests where the leavers sit in small communities (sweep seed
    1783053618: 1.9 s against 5.5 s) and saves nothing where they sit in the largest
    (``seedday``: 88,109 of 105,552 accounts tested again). ``reuse`` False (a member
    test whose second bar reads every community, Hochberg's): every pass tests
    everything."""

    def __init__(self, confirm: Confirm, *, reuse: bool = True) -> None:
        self._confirm = confirm
        self._reuse = reuse
        self._tested: list[tuple[pl.DataFrame, pl.DataFrame]] = []
        self._moved: pl.Series | None = None

    def __call__(self, labels: pl.DataFrame) -> pl.DataFrame:
        if self._moved is None:
            confirmed = self._confirm(labels, None)
            self._tested.append((_communities(labels), labels.join(
                confirmed.select("account_id", "member_surprise",
                                 stays=pl.col("label") >= 0), on="account_id")))
            return confirmed
        moved = labels.filter(pl.col("account_id").is_in(self._moved.implode()))["label"]
        same = _communities(labels).filter(~pl.col("label").is_in(moved.implode()))
        kept = pl.concat([
            rows.join(same.join(communities, on="members", suffix="_then")
                      .select("label", "label_then"),
                      left_on="label", right_on="label_then")
            .select("account_id", label="label_right", member_surprise="member_surprise",
                    stays="stays")
            for communities, rows in self._tested]).unique("account_id", keep="first")
        again = labels.join(kept, on="account_id", how="anti")["account_id"]
        if again.len():
            fresh = (self._confirm(labels, again)
                     .filter(pl.col("account_id").is_in(again.implode()))
                     .join(labels.select("account_id", given="label"), on="account_id")
                     .select("account_id", label="given", member_surprise="member_surprise",
                             stays=pl.col("label") >= 0))
            kept = pl.concat([kept, fresh])
        alone = -1 - pl.int_range(pl.len())
        return kept.sort("account_id").select(
            "account_id", label=pl.when("stays").then("label").otherwise(alone),
            member_surprise="member_surprise")

    def after_leaving(self, moved: pl.Series) -> None:
        """From now on, test again only the communities that hold an account of
        ``moved`` or were not tested before."""
        if self._reuse:
            self._moved = moved


def moved_by(before: pl.DataFrame, after: pl.DataFrame) -> pl.Series:
    """The accounts of the card and wave pairs (``card_pairs``) that ``before`` has and
    ``after`` has not, or the reverse: whose payer, or whose strong pairs outside their
    cards, the leaving may have changed (a leaver's own pair is among them)."""
    old, new = card_pairs(before), card_pairs(after)
    pairs = ["account_a", "account_b"]
    changed = pl.concat([old.join(new, on=pairs, how="anti"),
                         new.join(old, on=pairs, how="anti")])
    return pl.concat([changed["account_a"], changed["account_b"]]).unique().sort()


def _communities(labels: pl.DataFrame) -> pl.DataFrame:
    """(label, members): each community's accounts sorted and joined, one string per
    community: two communities with the same members have the same string."""
    return labels.group_by("label").agg(members=pl.col("account_id").sort().str.join(","))
