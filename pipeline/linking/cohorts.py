"""Cohorts: the fragments whose own behaviour put them on ``watch``, grouped again among
themselves by what their accounts share.

In: the fragments' accounts (account_id, cluster_id), the window's graph (``account_link``)
and the member test's tables (``account_shared_key``, ``account_link_null``, the card rows
of ``account_link_evidence``). Out (a frame): the accounts of each confirmed cohort's
fragments with the cohort and each account's test, for ``pipeline.linking.linking.
merge_clusters`` to make one cluster of and ``cluster_cohort`` to record.
"""

from __future__ import annotations

import math

import polars as pl

from pipeline.linking.linking import detect_communities, window_resolution
from pipeline.linking.members import KeyCodes, fragment_ties
from pipeline.settings import LinkParams

COHORT_SCHEMA: dict[str, type[pl.DataType]] = {
    "account_id": pl.String, "cluster_id": pl.String, "cohort": pl.String,
    "tie_surprise": pl.Float64, "required_surprise": pl.Float64, "round": pl.Int64}
"""What ``harvest_cohorts`` returns: an account of a merged fragment, its fragment, its
cohort and its last test."""


def harvest_cohorts(fragments: pl.DataFrame, edges: pl.DataFrame, keys: KeyCodes,
                    cards: pl.DataFrame, window_accounts: int,
                    params: LinkParams, *, min_accounts: int, rounds: int
                    ) -> pl.DataFrame:
    """The fragments (``fragments``: account_id, cluster_id) that make one cohort, each
    cohort of at least ``min_accounts`` accounts: one row per account of a merged fragment
    (account_id, cluster_id, cohort: the smallest cluster_id of its cohort, and the
    account's last test: tie_surprise, required_surprise, round).

    A campaign of thousands of short-lived accounts behind residential proxies, with no
    shared registration and no synchronized starts, shares only its prompt pool: one
    family. Linking must not make a cluster of one family (two heavy users of one public
    corpus share much), so it leaves such a campaign in fragments, and each fragment's own
    behaviour puts it on ``watch``. The behaviour is the second explanation linking lacked.
    Among the fragments on watch, Leiden runs at the window's own evidence density (as
    for linking's strays) on the edges between them, and each account is then tested
    against the rest of its group with linking's member test (``fragment_ties``): the
    accounts it shares keys with must be of its group more often than chance, the chance
    being the group's share of the window's keys. It stays when that reaches
    -log10(alpha / accounts tested), Bonferroni over the accounts tested, with no second
    family: the behaviour is it. Tested again after the failures leave, ``rounds`` times.
    A fragment joins the cohort of its first confirmed account."""
    accounts = fragments["account_id"].unique().sort()
    among = edges.filter(pl.col("account_a").is_in(accounts.implode())
                         & pl.col("account_b").is_in(accounts.implode()))
    sparse = params.model_copy(update={"resolution": window_resolution(
        edges, window_accounts, params.resolution)})
    groups = _large(detect_communities(accounts, among, sparse), min_accounts)
    families = {t.key_type: t.family for t in params.link_types}
    tests = []
    for round_ in range(1, rounds + 1):
        if groups.is_empty():
            break
        required = math.log10(groups.height) - math.log10(params.alpha)
        ties = (groups.join(fragment_ties(keys, cards, groups, groups, families),
                            on=["account_id", "label"], how="left")
                .select("account_id", "label",
                        tie_surprise=pl.col("tie_surprise").fill_null(0.0),
                        required_surprise=pl.lit(required), round=pl.lit(round_, pl.Int64)))
        tests.append(ties)
        groups = _large(ties.filter(pl.col("tie_surprise") >= pl.col("required_surprise"))
                        .select("account_id", "label"), min_accounts)
    if groups.is_empty():
        return pl.DataFrame(schema=COHORT_SCHEMA)
    first = (groups.join(fragments, on="account_id")
             .sort("cluster_id", "account_id").unique("cluster_id", keep="first")
             .select("cluster_id", "label"))
    whole = fragments.join(first, on="cluster_id").with_columns(
        cohort=pl.col("cluster_id").min().over("label"))
    whole = whole.filter(pl.len().over("label") >= min_accounts)
    last = (pl.concat(tests).sort("account_id", "round").unique("account_id", keep="last")
            .drop("label"))
    return (whole.join(last, on="account_id", how="left")
            .select("account_id", "cluster_id", "cohort", "tie_surprise",
                    "required_surprise", "round")
            .sort("account_id"))


def _large(groups: pl.DataFrame, min_accounts: int) -> pl.DataFrame:
    return groups.filter(pl.len().over("label") >= min_accounts).sort("account_id")
