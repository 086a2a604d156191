"""Split test: whether a cluster linking made is one operator or two, by its addresses.

In: the clusters of ``pipeline.linking.linking`` (account_id, label), the account graph's
edges, the card pairs, and ``account_link_evidence`` through ``forensics.duckdb``. Out: the
same clusters with each one that holds two operators cut in two or more (a frame), and
``cluster_split`` (one row per test: what each side shares within itself and across).

A cluster can hold two operators when something ties them that is not one operator: two
campaigns made in the same hours are one creation wave, two that rent one carrier's
proxies share its prefixes. One operator's accounts come from its proxies whichever batch
they came in: if the same prefixes in the same hours (``TESTED_FAMILIES``) bind each of
two groups of a cluster within itself and the pairs across them share them no more often
than unrelated accounts of the window do, the groups are two operators. The groups are Leiden's
communities of the cluster's own graph (its density the resolution; the stars of cards
and waves left out, since they are what may bind two operators), and a card's holders are
one group at any count (one payer). Groups are joined back, the most tightly tied first,
unless the test rejects the join; a group that no test rejected stays with its
cluster's largest group.
"""

from __future__ import annotations

import math
import random

import duckdb
import igraph
import numpy as np
import polars as pl
from scipy.stats import beta

TESTED_FAMILIES: tuple[str, ...] = ("infrastructure",)
"""Families a join is tested on: the addresses an operator's accounts come from at the
same hours, which one operator's batches share and two operators' do not unless they rent
one pool. Registration is not tested: a campaign's cards and waves are its batches, each
bound within itself and to no other by construction (one card's 74 accounts share it, the
next card's share another). Nor are content and timing: a campaign's batches can keep to
task banks and schedules of their own (sweep AP's 46997077: a 1,919-account campaign cut
into 20 clusters on synchronized starts, which its own pairs shared at 0.35 and the
window's pairs between clusters at 0.29)."""

GIVEN_FAMILIES: tuple[str, ...] = ("registry", "infrastructure", "content", "timing", "any")
"""Families a tested family's rate is read among: pairs that share this too (``any``:
pairs with any evidence row). Reading a rate among pairs that share something else keeps
accounts that were never active together (a campaign's early and late batches) from
looking apart: a pair that shares a prefix-hour or a wave was there at the same time."""


def family_masks(db: duckdb.DuckDBPyConnection, labels: pl.DataFrame,
                 min_surprise: float) -> pl.DataFrame:
    """(label_a, label_b, block_a, block_b, mask, pairs): the evidence pairs of the window
    counted by the families they share at ``min_surprise`` or more (one bit each of
    ``GIVEN_FAMILIES``, ``any`` always set), and by the clusters (``label``) and groups
    (``block``) of their accounts. Counted in DuckDB: the window's evidence rows are
    tens of millions on a seed-size window, the counts a few thousand."""
    bits = pl.DataFrame({"family": list(GIVEN_FAMILIES[:-1]),
                         "bit": [1 << i for i in range(len(GIVEN_FAMILIES) - 1)]})
    db.register("split_labels", labels.select("account_id", "label", "block").to_arrow())
    db.register("split_bits", bits.to_arrow())
    try:
        return db.sql(
            "WITH pair AS ("
            " SELECT e.account_a, e.account_b,"
            "  bit_or(CASE WHEN e.surprise >= $min_surprise THEN coalesce(b.bit, 0)"
            "   ELSE 0 END) | $any_bit AS mask"
            " FROM account_link_evidence e LEFT JOIN split_bits b USING (family)"
            " GROUP BY e.account_a, e.account_b)"
            " SELECT la.label AS label_a, lb.label AS label_b,"
            "  least(la.block, lb.block) AS block_a, greatest(la.block, lb.block) AS block_b,"
            "  p.mask, count(*) AS pairs"
            " FROM pair p JOIN split_labels la ON la.account_id = p.account_a"
            " JOIN split_labels lb ON lb.account_id = p.account_b"
            " GROUP BY ALL ORDER BY ALL",
            params={"min_surprise": min_surprise,
                    "any_bit": 1 << (len(GIVEN_FAMILIES) - 1)}).pl()
    finally:
        db.unregister("split_labels")
        db.unregister("split_bits")


def cluster_blocks(labels: pl.DataFrame, edges: pl.DataFrame, stars: pl.DataFrame,
                   seed: int) -> pl.DataFrame:
    """``labels`` with ``block``: Leiden's communities inside each cluster, each edge
    weighed against its own cluster's density (CPM at resolution 1 on weights divided by
    it), a payment card's holders one block. Star pairs (``stars``: account_a, account_b,
    key_type of cards and waves) are not edges here: a wave is what may have bound two
    operators into one cluster."""
    index = labels.sort("account_id").with_row_index("vertex")
    size = index.group_by("label").len("n")
    inside = (edges.join(stars, on=["account_a", "account_b"], how="anti")
              .join(index.select(account_a="account_id", a="vertex", label_a="label"),
                    on="account_a")
              .join(index.select(account_b="account_id", b="vertex", label="label"),
                    on="account_b")
              .filter(pl.col("label_a") == pl.col("label"))
              .join(size, on="label")
              .with_columns(density=pl.col("weight").sum().over("label")
                            / (pl.col("n") * (pl.col("n") - 1) / 2))
              .select("a", "b", weight=pl.col("weight") / pl.col("density"))
              .sort("a", "b"))
    graph = igraph.Graph(n=index.height, edges=inside.select("a", "b").rows(), directed=False)
    random.seed(seed)
    igraph.set_random_number_generator(random)
    leiden = graph.community_leiden(objective_function="CPM",
                                    weights=inside["weight"].to_list() or None,
                                    resolution=1.0, n_iterations=-1)
    held = (stars.filter(pl.col("key_type") == "payment_fingerprint")
            .join(index.select(account_a="account_id", a="vertex"), on="account_a")
            .join(index.select(account_b="account_id", b="vertex"), on="account_b")
            .select("a", "b"))
    membership = np.asarray(leiden.membership, dtype=np.int64)
    blocks = igraph.Graph(n=int(membership.max(initial=-1)) + 1, directed=False)
    blocks.add_edges(list(zip(membership[held["a"].to_numpy()].tolist(),
                              membership[held["b"].to_numpy()].tolist(), strict=True)))
    joined = np.asarray(blocks.connected_components().membership, dtype=np.int64)
    return index.with_columns(block=pl.Series(joined[membership], dtype=pl.Int64)).drop("vertex")


def split_clusters(db: duckdb.DuckDBPyConnection, labels: pl.DataFrame, edges: pl.DataFrame,
                   stars: pl.DataFrame, *, min_surprise: float, alpha: float,
                   seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(labels, tests): ``labels`` (account_id, label) with each cluster the tests split
    given a label of its own per part, and one row per join tested (``cluster_split``).

    A join of groups X and Y is rejected when, for a tested family f read among pairs
    that share a given family g, the pairs across share f so much less often than each
    group's own pairs that "unrelated accounts of this window" explains the count better
    than "one operator" by ``-log10(alpha / accounts)`` (the member test's bar): a log10
    likelihood ratio of the binomial count at the window's rate between clusters against
    the lower Clopper-Pearson bound (at ``alpha``) of the lower of the two groups' own
    rates, so a group of a few pairs cannot reject by an estimate of luck."""
    blocked = cluster_blocks(labels, edges, stars, seed)
    counts = family_masks(db, blocked, min_surprise)
    bar = math.log10(max(labels.height, 1)) - math.log10(alpha)
    background = _background(counts)
    within = counts.filter(pl.col("label_a") == pl.col("label_b"))
    sizes = blocked.group_by("label", "block").agg(
        accounts=pl.len(), first=pl.col("account_id").min())
    several = sizes.filter(pl.len().over("label") > 1)
    rows = within.partition_by("label_a", as_dict=True, include_key=False)
    weights = edges_between(blocked, edges).partition_by("label", as_dict=True,
                                                         include_key=False)
    tests: list[dict[str, object]] = []
    parts: list[pl.DataFrame] = []
    for (label,), mine in several.sort("label", "block").partition_by(
            "label", as_dict=True, maintain_order=True).items():
        empty = pl.DataFrame(schema={"block_a": pl.Int64, "block_b": pl.Int64,
                                     "weight": pl.Float64})
        groups, made = _agglomerate(mine, rows.get((label,), within.clear()),
                                    weights.get((label,), empty), background, bar, alpha)
        tests.extend(made)
        parts.append(mine.select("label", "block", part=pl.Series(groups, dtype=pl.Int64)))
    split = blocked.join(pl.concat(parts) if parts else
                         pl.DataFrame(schema={"label": pl.Int64, "block": pl.Int64,
                                              "part": pl.Int64}),
                         on=["label", "block"], how="left")
    relabelled = (split.with_columns(pl.col("part").fill_null(0))
                  .with_columns(label=pl.struct("label", "part").rank("dense").cast(pl.Int64))
                  .select("account_id", "label").sort("account_id"))
    return relabelled, pl.DataFrame(tests, schema=TEST_SCHEMA)


TEST_SCHEMA = {
    "first_a": pl.String, "accounts_a": pl.Int64, "first_b": pl.String,
    "accounts_b": pl.Int64, "tested_family": pl.String, "given_family": pl.String,
    "shared_a": pl.Int64, "given_a": pl.Int64, "shared_b": pl.Int64, "given_b": pl.Int64,
    "shared_across": pl.Int64, "given_across": pl.Int64, "one_operator_rate": pl.Float64,
    "window_rate": pl.Float64, "log10_ratio": pl.Float64, "bar": pl.Float64,
    "split": pl.Boolean,
}
"""``cluster_split``'s columns: each group by its first account and size; f's and g's pair
counts within each group and across; the rates compared; the evidence for two operators."""


def edges_between(blocked: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """(label, block_a, block_b, weight): the graph's weight between blocks of one
    cluster, the order in which they are joined back."""
    ends = blocked.select("account_id", "label", "block")
    return (edges.join(ends.select(account_a="account_id", label="label", block_a="block"),
                       on="account_a")
            .join(ends.select(account_b="account_id", label_b="label", block_b="block"),
                  on="account_b")
            .filter(pl.col("label") == pl.col("label_b"), pl.col("block_a") != pl.col("block_b"))
            .select("label", block_a=pl.min_horizontal("block_a", "block_b"),
                    block_b=pl.max_horizontal("block_a", "block_b"), weight="weight")
            .group_by("label", "block_a", "block_b").agg(pl.col("weight").sum())
            .sort("label", "block_a", "block_b"))


def _background(counts: pl.DataFrame) -> np.ndarray:
    """Pairs between clusters by mask: the window's rate of each family among pairs that
    share another, for accounts linking did not join."""
    apart = counts.filter(pl.col("label_a") != pl.col("label_b"))
    return _by_mask(apart["mask"].to_numpy(), apart["pairs"].to_numpy())


def _by_mask(masks: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """(given, tested) -> [pairs sharing the given family, of them also the tested one]."""
    out = np.zeros((len(GIVEN_FAMILIES), len(GIVEN_FAMILIES), 2))
    for g in range(len(GIVEN_FAMILIES)):
        has_g = (masks >> g) & 1 == 1
        for f in range(len(GIVEN_FAMILIES)):
            out[g, f, 0] = pairs[has_g].sum()
            out[g, f, 1] = pairs[has_g & ((masks >> f) & 1 == 1)].sum()
    return out


def _agglomerate(blocks: pl.DataFrame, rows: pl.DataFrame, between: pl.DataFrame,
                 background: np.ndarray, bar: float,
                 alpha: float) -> tuple[list[int], list[dict[str, object]]]:
    """Each block's part: blocks joined back in the order of their weight per pair, a
    join kept unless a test rejects it; parts no test rejected join the largest part."""
    index = {b: i for i, b in enumerate(blocks["block"].to_list())}
    size = blocks["accounts"].to_numpy()
    first = blocks["first"].to_list()
    k = len(index)
    matrix = np.zeros((k, k, len(GIVEN_FAMILIES), len(GIVEN_FAMILIES), 2))
    for (a, b), group in rows.group_by("block_a", "block_b", maintain_order=True):
        counted = _by_mask(group["mask"].to_numpy(), group["pairs"].to_numpy())
        i, j = index[a], index[b]
        matrix[i, j] += counted
        if i != j:
            matrix[j, i] += counted
    part = list(range(k))
    rejected = [False] * k
    tested: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    tests: list[dict[str, object]] = []
    sized = blocks.select("block", "accounts")
    order = (between
             .join(sized.select(block_a="block", size_a="accounts"), on="block_a")
             .join(sized.select(block_b="block", size_b="accounts"), on="block_b")
             .with_columns(per_pair=pl.col("weight") / (pl.col("size_a") * pl.col("size_b")))
             .sort(["per_pair", "block_a", "block_b"], descending=[True, False, False]))
    for a, b in order.select("block_a", "block_b").iter_rows():
        x, y = part[index[a]], part[index[b]]
        if x == y:
            continue
        xs = [i for i in range(k) if part[i] == x]
        ys = [i for i in range(k) if part[i] == y]
        if (tuple(xs), tuple(ys)) in tested:
            continue
        tested.add((tuple(xs), tuple(ys)))
        strongest = _join_test(matrix, xs, ys, background, alpha)
        if strongest:
            test = strongest[0]
            cut = test["log10_ratio"] >= bar
            tests.append({"first_a": min(first[i] for i in xs), "accounts_a": int(size[xs].sum()),
                          "first_b": min(first[i] for i in ys), "accounts_b": int(size[ys].sum()),
                          **test, "bar": bar, "split": cut})
            if cut:
                for i in (*xs, *ys):
                    rejected[i] = True
                continue
        for i in ys:
            part[i] = x
    largest = max(set(part), key=lambda p: (size[[i for i in range(k) if part[i] == p]].sum(), -p))
    return [p if rejected[i] else largest for i, p in enumerate(part)], tests


def _join_test(matrix: np.ndarray, xs: list[int], ys: list[int], background: np.ndarray,
               alpha: float) -> list[dict[str, object]]:
    """Per tested family that can say, its strongest evidence that groups ``xs`` and ``ys``
    are two operators (over the given families), strongest first."""
    def inside(group: list[int]) -> np.ndarray:
        block = matrix[np.ix_(group, group)].sum(axis=(0, 1))
        own = sum(matrix[i, i] for i in group)
        return (block + own) / 2
    own_x, own_y = inside(xs), inside(ys)
    across = matrix[np.ix_(xs, ys)].sum(axis=(0, 1))
    best: dict[str, dict[str, object]] = {}
    for f, tested in enumerate(GIVEN_FAMILIES):
        if tested not in TESTED_FAMILIES:
            continue
        for g, given in enumerate(GIVEN_FAMILIES):
            if g == f or min(own_x[g, f, 0], own_y[g, f, 0], across[g, f, 0],
                             background[g, f, 0]) == 0:
                continue
            lower = [float(beta.ppf(alpha, s, n - s + 1)) if s > 0 else 0.0
                     for s, n in ((own_x[g, f, 1], own_x[g, f, 0]),
                                  (own_y[g, f, 1], own_y[g, f, 0]))]
            one = min(lower)
            window = background[g, f, 1] / background[g, f, 0]
            shared, trials = across[g, f, 1], across[g, f, 0]
            if not window < one < 1 or shared / trials >= one:
                continue
            ratio = (shared * (math.log10(max(window, 1e-300)) - math.log10(one))
                     + (trials - shared) * (math.log10(1 - window) - math.log10(1 - one)))
            if tested not in best or ratio > best[tested]["log10_ratio"]:
                best[tested] = {"tested_family": tested, "given_family": given,
                                "shared_a": int(own_x[g, f, 1]), "given_a": int(own_x[g, f, 0]),
                                "shared_b": int(own_y[g, f, 1]), "given_b": int(own_y[g, f, 0]),
                                "shared_across": int(shared), "given_across": int(trials),
                                "one_operator_rate": one, "window_rate": window,
                                "log10_ratio": ratio}
    return sorted(best.values(), key=lambda t: (-float(t["log10_ratio"]),
                                                str(t["tested_family"])))
