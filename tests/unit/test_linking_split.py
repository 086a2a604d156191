"""The split test (``pipeline.linking.split``) on a small window built in code: two groups
that a creation wave bound into one cluster, each tied within itself by a family of
behaviour; what must cut them, and what must not."""

from __future__ import annotations

import itertools

import duckdb
import numpy as np
import polars as pl
import pytest

from pipeline.linking.split import cluster_blocks, split_clusters

GROUP_A = [f"a{i}" for i in range(6)]
GROUP_B = [f"b{i}" for i in range(6)]
OTHERS = [f"c{i:02d}" for i in range(12)]


def _window(across_family: str | None, *, card_across: bool = False,
            rng_pattern: bool = False) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame,
                                                pl.DataFrame]:
    """(evidence, edges, stars, labels): A and B one cluster, bound by a wave's star from
    a0; inside each group every pair shares a prefix-hour and a prompt; across, every pair
    shares ``across_family`` (None: a weak coincidence only; "all": prefix and prompt,
    nine pairs in ten). The other accounts, each a
    cluster of its own, share weak timing and now and then a prefix: the window's rate."""
    rows: list[tuple[str, str, str, str, float]] = []
    for group in (GROUP_A, GROUP_B):
        for a, b in itertools.combinations(group, 2):
            rows += [(a, b, "ip_prefix_hour", "infrastructure", 3.0),
                     (a, b, "same_prompt", "content", 2.0)]
    rng = np.random.default_rng(5)
    for a, b in itertools.product(GROUP_A, GROUP_B):
        rows.append((a, b, "sync_start", "timing", 0.3))
        if across_family == "infrastructure" and (not rng_pattern or rng.random() < 0.9):
            rows.append((a, b, "ip_prefix_hour", "infrastructure", 3.0))
        if across_family == "all" and rng.random() < 0.9:
            rows += [(a, b, "ip_prefix_hour", "infrastructure", 3.0),
                     (a, b, "same_prompt", "content", 2.0)]
    for i, (a, b) in enumerate(itertools.combinations(OTHERS, 2)):
        rows.append((a, b, "sync_start", "timing", 0.3))
        if i % 11 == 0:
            rows.append((a, b, "ip_prefix_hour", "infrastructure", 1.5))
    stars = [("a0", b, "creation_wave") for b in [*GROUP_A[1:], *GROUP_B]]
    if card_across:
        stars.append(("a1", "b1", "payment_fingerprint"))
    star = pl.DataFrame(stars, schema=["account_a", "account_b", "key_type"], orient="row")
    evidence = pl.DataFrame(rows, schema=["account_a", "account_b", "key_type", "family",
                                          "surprise"], orient="row")
    evidence = pl.concat([evidence, star.with_columns(family=pl.lit("registry"),
                                                      surprise=pl.lit(12.0))
                          .select(evidence.columns)])
    weights = (evidence.filter(pl.col("surprise") >= 1.0)
               .group_by("account_a", "account_b").agg(weight=pl.col("surprise").sum())
               .sort("account_a", "account_b"))
    labels = pl.DataFrame({"account_id": [*GROUP_A, *GROUP_B, *OTHERS],
                           "label": [0] * 12 + list(range(1, 13))})
    return evidence, weights, star, labels


def _database(evidence: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    """An in-memory database whose ``account_link_evidence`` is ``evidence``."""
    db = duckdb.connect()
    db.register("evidence_rows", evidence.to_arrow())
    db.execute("CREATE TABLE account_link_evidence AS SELECT * FROM evidence_rows")
    return db


def _split(across_family: str | None, **kwargs: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    evidence, _, stars, labels = _window(across_family, **kwargs)
    return split_clusters(_database(evidence), labels, stars, min_surprise=1.0, alpha=0.01,
                          seed=7)


NO_STARS = pl.DataFrame(schema={"account_a": pl.String, "account_b": pl.String,
                                "key_type": pl.String})


def _one_cluster(group: list[str], rows: list[tuple[str, str, str, str, float]]
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(evidence, labels): ``group`` one cluster with its pairs' ``rows``, and the window's
    other accounts, each a cluster of its own, sharing weak timing, now and then a prompt
    and a prefix: the window's rates."""
    rows = list(rows)
    for i, (a, b) in enumerate(itertools.combinations(OTHERS, 2)):
        rows.append((a, b, "sync_start", "timing", 0.3))
        if i % 11 == 0:
            rows.append((a, b, "same_prompt", "content", 1.5))
        if i % 7 == 0:
            rows.append((a, b, "ip_prefix_hour", "infrastructure", 1.5))
    evidence = pl.DataFrame(rows, schema=["account_a", "account_b", "key_type", "family",
                                          "surprise"], orient="row")
    labels = pl.DataFrame({"account_id": [*group, *OTHERS],
                           "label": [0] * len(group) + list(range(1, 13))})
    return evidence, labels


def _groups(labels: pl.DataFrame) -> set[frozenset[str]]:
    return {frozenset(g["account_id"].to_list())
            for g in labels.partition_by("label") if g.height > 1}


def test_two_groups_a_wave_bound_are_cut_where_their_prefixes_part():
    labels, tests = _split(None)
    assert _groups(labels) == {frozenset(GROUP_A), frozenset(GROUP_B)}
    cut = tests.filter("split").row(0, named=True)
    assert cut["tested_family"] == "infrastructure"
    assert cut["shared_across"] == 0 and cut["given_across"] == 36
    assert cut["log10_ratio"] >= cut["bar"]
    assert labels.filter(pl.col("account_id").is_in(OTHERS))["label"].n_unique() == 12


def test_groups_sharing_across_what_they_share_within_stay_one_cluster():
    labels, tests = _split("all")
    assert _groups(labels) == {frozenset([*GROUP_A, *GROUP_B])}
    assert not tests["split"].any()


def test_one_proxy_pool_across_holds_two_prompt_sets_together():
    """Two campaigns renting one carrier's prefixes, each sending its own prompts, stay one
    cluster: prompts are not tested (one campaign's batches can keep to task banks of
    their own), so what parts them would have to be their addresses."""
    labels, tests = _split("infrastructure", rng_pattern=True)
    assert _groups(labels) == {frozenset([*GROUP_A, *GROUP_B])}
    assert not tests["split"].any()


def test_a_card_across_the_groups_keeps_its_holders_together():
    labels, _ = _split(None, card_across=True)
    holders = labels.filter(pl.col("account_id").is_in(["a1", "b1"]))
    assert holders["label"].n_unique() == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_operator_whose_batches_share_at_random_is_not_cut(seed):
    """One operator in two batches of 30, each keeping to a task bank of its own (nine in
    ten of a batch's pairs share a prompt, one in ten across), whose pairs all share a
    prefix-hour at random (six in ten), in a window whose other pairs share a prefix now
    and then: Leiden cuts the batches apart by their prompts, so the join is weighed, and
    the pairs across share prefixes as each batch's own do, up to chance: chance alone
    must not cut it."""
    rng = np.random.default_rng(seed)
    first, second = [f"p{i:02d}" for i in range(30)], [f"q{i:02d}" for i in range(30)]
    group = [*first, *second]
    rows = []
    for a, b in itertools.combinations(group, 2):
        rows.append((a, b, "sync_start", "timing", 0.3))
        if rng.random() < 0.6:
            rows.append((a, b, "ip_prefix_hour", "infrastructure", 2.0))
        if rng.random() < (0.9 if (a in first) == (b in first) else 0.1):
            rows.append((a, b, "same_prompt", "content", 2.0))
    evidence, labels = _one_cluster(group, rows)
    edges = (evidence.group_by("account_a", "account_b").agg(weight=pl.col("surprise").sum())
             .filter(pl.col("weight") >= 1.0).sort("account_a", "account_b"))
    blocks = cluster_blocks(labels, edges, NO_STARS, 7).filter(pl.col("label") == 0)
    assert blocks["block"].n_unique() > 1
    split, tests = split_clusters(_database(evidence), labels, NO_STARS, min_surprise=1.0,
                                  alpha=0.01, seed=7)
    assert _groups(split) == {frozenset(group)}
    assert not tests["split"].any()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_operator_busy_in_shifts_is_not_cut_where_its_prefixes_are_dense(seed):
    """One operator of 60 accounts in three shifts (accounts of one shift are busy in the
    same hours), every pair drawing prompts from one task bank (three in ten share one)
    and only accounts of one shift sharing prefix-hours (six in ten): its addresses are
    dense where it is busy together. Cut on the account graph, whose edges the prefixes
    make, the shifts are the groups, and the pairs across share no prefix; cut on what
    the pairs share besides prefixes, the groups hold every shift, and the prefixes fall
    across as inside: the operator stays one cluster."""
    rng = np.random.default_rng(seed)
    group = [f"s{i:02d}" for i in range(60)]
    shift = {a: i % 3 for i, a in enumerate(group)}
    rows = []
    for a, b in itertools.combinations(group, 2):
        rows.append((a, b, "sync_start", "timing", 0.3))
        if shift[a] == shift[b] and rng.random() < 0.6:
            rows.append((a, b, "ip_prefix_hour", "infrastructure", 3.0))
        if rng.random() < 0.3:
            rows.append((a, b, "same_prompt", "content", 2.0))
    evidence, labels = _one_cluster(group, rows)
    split, tests = split_clusters(_database(evidence), labels, NO_STARS, min_surprise=1.0,
                                  alpha=0.01, seed=7)
    assert _groups(split) == {frozenset(group)}
    assert not tests["split"].any()
