"""Consistency: whether a flagged piece shares with a larger flagged case as much as each of
the two shares inside itself, as one operator's pieces do.

In: the window's pair evidence summed per pair (``account_link_evidence`` without cards:
account_a, account_b, shared), each account's days of activity in the window (``account_day``
within ``link_threshold``'s window), the tests of the merge rule (cluster_id, joined_case) and
the case every flagged account counts for (cluster_id, account_id). Out: the tests with
``cross_ratio``, ``cross_z`` and ``required_z`` for ``pipeline.detection.scoring``'s
merge rule.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import duckdb
import polars as pl

from pipeline.linking.members import REGISTRANT_KINDS

PAIR_SHARED = ("SELECT account_a, account_b, sum(shared_count) AS shared "
               "FROM account_link_evidence WHERE NOT list_contains($registrant, key_type) "
               "GROUP BY account_a, account_b")
"""What each pair of the window shares, cards and creation waves left out (one payer or
registrant inside a piece never crosses two flagged pieces: it joined them already)."""


ACTIVE_SPANS = ("SELECT account_id, min(date) AS first_day, max(date) AS last_day "
                "FROM account_day WHERE date BETWEEN (SELECT window_start FROM link_threshold) "
                "AND (SELECT window_end FROM link_threshold) GROUP BY account_id")
"""Each account's first and last day of activity in the linked window: two accounts can
share only while both are active."""


def pair_shared(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(account_a, account_b, shared): ``PAIR_SHARED`` on the window's evidence."""
    return db.sql(PAIR_SHARED, params={"registrant": list(REGISTRANT_KINDS)}).pl()


def active_spans(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(account_id, first_day, last_day): ``ACTIVE_SPANS`` of the linked window."""
    return db.sql(ACTIVE_SPANS).pl()


def cross_consistency(shared: pl.DataFrame, tests: pl.DataFrame, cases: pl.DataFrame,
                      alpha: float, spans: pl.DataFrame) -> pl.DataFrame:
    """``tests`` (cluster_id, joined_case, ...) with the consistency of each piece P
    (cluster_id) with its case C (joined_case), the accounts of both from ``cases``.

    A tie says a piece shares with a case more than chance; two operators who rent one
    proxy pool or harvest one corpus do too. What tells one operator is proportion: one
    operator's accounts share with each other alike, whichever piece Leiden or its cards
    put them in, so the rate per pair across the two is the geometric mean of the rates
    inside each (one operator's accounts share in proportion to how active each is), and
    ``cross_ratio`` = cross rate / sqrt(rate in P * rate in C) is 1. A rate is per pair
    that could share: both accounts active at once (``spans``: account_id, first_day,
    last_day; ``coactive_pairs``), since what pairs share (a prefix's hour, a prompt's
    minutes, a start) is shared in time: one operator's batch made a week after the other
    shares with it only where their days overlap (sweep AX's 1651227967: two creation
    waves of one campaign, 0.72 per pair of all pairs, 1.12 per pair active together). Two
    operators share inside each far more than across. The ratio's spread is measured, not
    assumed: each account is a unit (an account's rows are not independent draws), and the
    variance of log(ratio) is the sum over the accounts of both of their squared influence
    (y/X - z/Z: an account's share of the cross sum less its share of its own side's
    inside sum; the delta method, as a Poisson bootstrap over accounts would estimate it).
    ``cross_z`` = log(ratio) / its standard error; the piece is consistent with the case
    unless ``cross_z`` is below ``required_z`` (the normal quantile at ``alpha``: the
    cross rate is lower than one operator's at that level). Both are null, and nothing
    merges, when either side shares nothing inside or the two nothing across (nothing
    says they are one) or no account's influence differs from zero (no spread to judge).
    """
    group = cases.select("account_id", group="cluster_id")
    directed = pl.concat([
        shared.select(account_id="account_a", other="account_b", shared="shared"),
        shared.select(account_id="account_b", other="account_a", shared="shared"),
    ])
    sums = (directed.join(group, on="account_id")
            .join(group.select(other="account_id", other_group="group"), on="other")
            .group_by("account_id", "group", "other_group").agg(pl.col("shared").sum()))
    pieces = tests.select(piece="cluster_id", case="joined_case").unique()
    sides = [_side(pieces, sums, own, other) for own, other in (("piece", "case"),
                                                               ("case", "piece"))]
    active = spans.join(group, on="account_id")
    across = coactive_pairs(active, pieces.select(group="piece", other="case"))
    within = coactive_pairs(active, pl.concat([pieces["piece"], pieces["case"]]).unique()
                            .to_frame("group").with_columns(other=pl.col("group")))
    crossed = (pieces
               .join(sides[0], on=["piece", "case"], how="left")
               .join(sides[1], on=["piece", "case"], how="left", suffix="_case")
               .join(across.select(piece="group", case="other", across="pairs"),
                     on=["piece", "case"], how="left")
               .join(within.select(piece="group", in_piece="pairs"), on="piece", how="left")
               .join(within.select(case="group", in_case="pairs"), on="case", how="left"))
    rate = pl.col("cross") / pl.col("across")
    inside = pl.col("inside") / pl.col("in_piece") * pl.col("inside_case") / pl.col("in_case")
    defined = ((pl.col("cross") > 0) & (pl.col("inside") > 0) & (pl.col("inside_case") > 0)
               & (pl.min_horizontal("across", "in_piece", "in_case") > 0))
    crossed = crossed.with_columns(
        cross_ratio=pl.when(defined).then(rate / inside.sqrt()),
        spread=(pl.col("influence") + pl.col("influence_case")).sqrt(),
    ).with_columns(
        cross_z=pl.when(pl.col("spread") > 0)
        .then(pl.col("cross_ratio").log() / pl.col("spread")))
    return tests.join(
        crossed.select(cluster_id="piece", joined_case="case", cross_ratio="cross_ratio",
                       cross_z="cross_z"),
        on=["cluster_id", "joined_case"], how="left", maintain_order="left",
    ).with_columns(required_z=pl.lit(required_z(alpha)))


def coactive_pairs(active: pl.DataFrame, tests: pl.DataFrame) -> pl.DataFrame:
    """(group, other, pairs): of each test's (``tests``: group, other) ordered pairs of an
    account of one and another account of the other (``active``: account_id, group,
    first_day, last_day), those whose days overlap. All pairs less those where one
    ended before the other began, counted from the days the accounts begin and end, so
    the cost is days squared per test, not accounts squared; a group tested against
    itself leaves out each account's pair with itself. A test given twice is counted
    once (a case tested by several pieces was counted once per piece: its pairs came out
    too few, even negative)."""
    tests = tests.unique()
    ends = active.group_by("group", "last_day").len("ended")
    begins = active.group_by("group", "first_day").len("began")
    sizes = active.group_by("group").len("n")
    before = [(tests.join(ends, left_on=a, right_on="group")
               .join(begins, left_on=b, right_on="group")
               .filter(pl.col("first_day") > pl.col("last_day"))
               .group_by("group", "other").agg(apart=(pl.col("ended") * pl.col("began")).sum()))
              for a, b in (("group", "other"), ("other", "group"))]
    return (tests
            .join(sizes, on="group").join(sizes.select(other="group", m="n"), on="other")
            .join(before[0], on=["group", "other"], how="left")
            .join(before[1], on=["group", "other"], how="left", suffix="_after")
            .select("group", "other", pairs=pl.col("n") * pl.col("m")
                    - pl.col("apart").fill_null(0) - pl.col("apart_after").fill_null(0)
                    - pl.when(pl.col("group") == pl.col("other")).then("n").otherwise(0)))


def required_z(alpha: float) -> float:
    """The normal quantile at ``alpha`` (negative): how far below one operator's ratio a
    piece's must fall for the two to be kept apart."""
    return NormalDist().inv_cdf(alpha) if 0 < alpha < 1 else -math.inf


def _side(pieces: pl.DataFrame, sums: pl.DataFrame, own: str, other: str) -> pl.DataFrame:
    """Per test, one side's sums (``own``: the piece or the case): cross (what its accounts
    share with the other side), inside (with their own side, each pair counted from both
    ends) and the sum of its accounts' squared influence on log(ratio), summed in account
    order (a float sum in another order differs in its last digits: same inputs, same bytes)."""
    accounts = (pieces.join(sums, left_on=own, right_on="group")
                .group_by("piece", "case", "account_id").agg(
                    y=pl.col("shared").filter(pl.col("other_group") == pl.col(other)).sum(),
                    z=pl.col("shared").filter(pl.col("other_group") == pl.col(own)).sum())
                .sort("piece", "case", "account_id"))
    totals = accounts.group_by("piece", "case").agg(
        cross=pl.col("y").sum(), inside=pl.col("z").sum())
    influence = (accounts.join(totals, on=["piece", "case"], maintain_order="left")
                 .group_by("piece", "case").agg(influence=(
                     pl.col("y") / pl.col("cross") - pl.col("z") / pl.col("inside")
                 ).fill_nan(0.0).pow(2).sum()))
    return totals.join(influence, on=["piece", "case"])
