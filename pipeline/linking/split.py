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
than unrelated accounts of the window do, the groups are two operators. The groups are
Leiden's communities of the cluster's own graph and, inside each, of the community's own
graph (each at its density; the stars of cards and waves left out, since they are what
may bind two operators; a payment card's holders one vertex, one payer at any count).
Groups are joined back, the most tightly tied first, unless the test rejects the join;
each part left then joins the part it shares most behaviour with (or the largest), unless
the test rejects that, and stands alone if it does.
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
    """``labels`` with ``block``: Leiden's communities inside each cluster, and inside each
    of those again, each edge weighed against the density of the group it is cut from
    (CPM at resolution 1 on weights divided by it), a payment card's holders one vertex.
    Once is not enough: a cluster of two campaigns active over the same weeks is cut by
    time first (accounts active on the same days share most), into cohorts that hold
    both, and a cohort is cut by campaign. A card is one vertex rather than a union after
    the cut: a few accounts Leiden put with the other campaign would chain every card of
    both into one block. Star pairs (``stars``: account_a, account_b, key_type of cards
    and waves) are not edges here: a wave is what may have bound two operators into one
    cluster."""
    index = labels.sort("account_id").with_row_index("vertex")
    held = (stars.filter(pl.col("key_type") == "payment_fingerprint")
            .join(index.select(account_a="account_id", a="vertex"), on="account_a")
            .join(index.select(account_b="account_id", b="vertex"), on="account_b")
            .select("a", "b"))
    payers = igraph.Graph(n=index.height, edges=held.rows(), directed=False)
    payer = np.asarray(payers.connected_components().membership, dtype=np.int64)
    vertex = index.select("account_id", vertex=pl.Series(payer, dtype=pl.Int64))
    inside = (edges.join(stars, on=["account_a", "account_b"], how="anti")
              .join(vertex.select(account_a="account_id", a="vertex"), on="account_a")
              .join(vertex.select(account_b="account_id", b="vertex"), on="account_b")
              .filter(pl.col("a") != pl.col("b"))
              .select(pl.min_horizontal("a", "b").alias("a"),
                      pl.max_horizontal("a", "b").alias("b"), "weight")
              .group_by("a", "b").agg(pl.col("weight").sum()).sort("a", "b"))
    accounts = np.bincount(payer).astype(np.float64)
    group = np.zeros(len(accounts), dtype=np.int64)
    group[payer] = index["label"].to_numpy()
    random.seed(seed)
    igraph.set_random_number_generator(random)
    for _ in range(2):
        group = _communities(group, inside, accounts)
    return index.with_columns(block=pl.Series(group[payer], dtype=pl.Int64)).drop("vertex")


def _communities(group: np.ndarray, inside: pl.DataFrame, accounts: np.ndarray) -> np.ndarray:
    """Each vertex's community within its ``group`` (vertex order): Leiden over the edges
    (a, b, weight) inside each group, each weighed against its group's density, a vertex
    counting as its ``accounts``."""
    members = np.bincount(group, weights=accounts)
    a, b = inside["a"].to_numpy(), inside["b"].to_numpy()
    same = group[a] == group[b]
    a, b, weight = a[same], b[same], inside["weight"].to_numpy()[same]
    total = np.bincount(group[a], weights=weight, minlength=len(members))
    density = total / np.maximum(members * (members - 1) / 2, 1.0)
    graph = igraph.Graph(n=len(group), edges=list(zip(a.tolist(), b.tolist(), strict=True)),
                         directed=False)
    leiden = graph.community_leiden(objective_function="CPM",
                                    weights=(weight / density[group[a]]).tolist() or None,
                                    node_weights=accounts.tolist(),
                                    resolution=1.0, n_iterations=-1)
    return np.asarray(leiden.membership, dtype=np.int64)


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
    weights = edges_between(blocked, edges.join(stars, on=["account_a", "account_b"],
                                                how="anti")).partition_by(
        "label", as_dict=True, include_key=False)
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
    """Each block's part. Blocks are joined back in the order of their weight per pair, a
    join kept unless the test rejects it; then each part left, the largest first, joins
    the largest part unless the test rejects that join, and stands alone if it does.
    Counts are kept per part and added up as parts join: a test reads its two parts'
    sums, not the blocks'."""
    index = {b: i for i, b in enumerate(blocks["block"].to_list())}
    size = blocks["accounts"].to_numpy().astype(np.int64)
    first = blocks["first"].to_list()
    inside: dict[int, np.ndarray] = {i: np.zeros(SHAPE) for i in range(len(index))}
    across: dict[int, dict[int, np.ndarray]] = {i: {} for i in range(len(index))}
    for (a, b), group in rows.group_by("block_a", "block_b", maintain_order=True):
        counted = _by_mask(group["mask"].to_numpy(), group["pairs"].to_numpy())
        i, j = index[a], index[b]
        if i == j:
            inside[i] += counted
        else:
            across[i][j] = across[j][i] = across[i].get(j, np.zeros(SHAPE)) + counted
    parent = list(range(len(index)))
    tests: list[dict[str, object]] = []

    def part(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(x: int, y: int) -> bool:
        """Join part y into x unless the test rejects it; whether it joined."""
        test = _join_test(inside[x], inside[y], across[x].get(y, np.zeros(SHAPE)),
                          background, alpha)
        if test is not None:
            tests.append({"first_a": first[x], "accounts_a": int(size[x]),
                          "first_b": first[y], "accounts_b": int(size[y]),
                          **test, "bar": bar, "split": test["log10_ratio"] >= bar})
            if test["log10_ratio"] >= bar:
                return False
        inside[x] += inside.pop(y) + across[x].pop(y, np.zeros(SHAPE))
        for z, counts in across.pop(y).items():
            if z != x:
                across[x][z] = across[z][x] = across[x].get(z, np.zeros(SHAPE)) + counts
                del across[z][y]
        size[x] += size[y]
        first[x] = min(first[x], first[y])
        parent[y] = x
        return True

    sized = blocks.select("block", "accounts")
    order = (between
             .join(sized.select(block_a="block", size_a="accounts"), on="block_a")
             .join(sized.select(block_b="block", size_b="accounts"), on="block_b")
             .with_columns(per_pair=pl.col("weight") / (pl.col("size_a") * pl.col("size_b")))
             .sort(["per_pair", "block_a", "block_b"], descending=[True, False, False]))
    refused: set[tuple[tuple[int, int], ...]] = set()

    def attempt(x: int, y: int) -> None:
        """``join`` once per pair of parts as they are: a pair refused is not tested again
        until one of them has grown, so ``cluster_split`` holds each test once."""
        pair = tuple(sorted(((x, int(size[x])), (y, int(size[y])))))
        if pair not in refused and not join(x, y):
            refused.add(pair)

    for a, b in order.select("block_a", "block_b").iter_rows():
        x, y = part(index[a]), part(index[b])
        if x != y:
            attempt(x, y)
    left = sorted({part(i) for i in range(len(parent))}, key=lambda p: (-size[p], p))
    for y in left[1:]:
        ties = {x: _tie(counts) for x, counts in across[y].items() if x != y}
        x = max(ties, key=lambda x: (ties[x], size[x], -x)) if ties and max(ties.values()) > 0 \
            else left[0]
        attempt(part(x), y)
    return [part(i) for i in range(len(parent))], tests


def _tie(counts: np.ndarray) -> float:
    """How many of the pairs between two parts share each family of behaviour (a pair
    once per family): what a part left alone is closest to."""
    return float(sum(counts[GIVEN_FAMILIES.index(f), 0, 0]
                     for f in ("infrastructure", "content", "timing")))


SHAPE = (len(GIVEN_FAMILIES), len(GIVEN_FAMILIES), 2)
"""A part's counts: (given, tested) -> [pairs sharing the given family, of them the
tested one too] (``_by_mask``)."""


def _join_test(own_x: np.ndarray, own_y: np.ndarray, across: np.ndarray,
               background: np.ndarray, alpha: float) -> dict[str, object] | None:
    """The strongest evidence, over the tested and given families, that two parts (their
    own pairs' counts and their pairs' across) are two operators; None when no family can
    say."""
    best: dict[str, object] | None = None
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
            if best is None or ratio > best["log10_ratio"]:
                best = {"tested_family": tested, "given_family": given,
                        "shared_a": int(own_x[g, f, 1]), "given_a": int(own_x[g, f, 0]),
                        "shared_b": int(own_y[g, f, 1]), "given_b": int(own_y[g, f, 0]),
                        "shared_across": int(shared), "given_across": int(trials),
                        "one_operator_rate": one, "window_rate": window,
                        "log10_ratio": ratio}
    return best
