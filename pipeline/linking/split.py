"""Split test: whether a cluster linking made is one operator or two, by its addresses.

In: the clusters of ``pipeline.linking.linking`` (account_id, label), the card pairs, and
``account_link_evidence`` through ``forensics.duckdb``. Out: the
same clusters with each one that holds two operators cut in two or more (a frame), and
``cluster_split`` (one row per test: what each side shares within itself and across).

A cluster can hold two operators when something ties them that is not one operator: two
campaigns made in the same hours are one creation wave, two that rent one carrier's
proxies share its prefixes. One operator's accounts come from its proxies whichever batch
they came in: if the same prefixes in the same hours (``TESTED_FAMILY``) bind each of
two groups of a cluster within itself and the pairs across them share them no more often
than unrelated accounts of the window do, the groups are two operators. The groups are
Leiden's communities of the cluster's own graph and, inside each, of the community's own
graph (each at its density), a graph of what the pairs share besides the tested family
(``untested_links``: cut on the family it tests, the test would find what the cut made;
the stars of cards and waves left out, since they are what may bind two operators; a
payment card's holders one vertex, one payer at any count).
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

from pipeline.linking.members import (
    CORRELATED_KINDS,
    REGISTRANT_KINDS,
    SUPPORTING_FAMILIES,
)
from pipeline.linking.surprise import fisher_surprise
from pipeline.registry import CLUSTER_SPLIT
from pipeline.warehouse import empty_frame

TESTED_FAMILY = "infrastructure"
"""The family a join is tested on: the addresses an operator's accounts come from at the
same hours, which one operator's batches share and two operators' do not unless they rent
one pool. Registration is not tested: a campaign's cards and waves are its batches, each
bound within itself and to no other by construction (one card's 74 accounts share it, the
next card's share another). Nor are content and timing: a campaign's batches can keep to
task banks and schedules of their own (sweep AP's 46997077: a 1,919-account campaign cut
into 20 clusters on synchronized starts, which its own pairs shared at 0.35 and the
window's pairs between clusters at 0.29)."""

GIVEN_FAMILIES: tuple[str, ...] = ("registry", "infrastructure", "content", "timing", "any")
"""Families the tested family's rate is read among: pairs that share this too (``any``:
pairs with any evidence row). Reading a rate among pairs that share something else keeps
accounts that were never active together (a campaign's early and late batches) from
looking apart: a pair that shares a wave or a prompt within minutes was there at the same
time. Bit i of a pair's mask is family i."""

BEHAVIOUR: tuple[str, ...] = ("infrastructure", "content", "timing")
"""Families a part left alone is put with the part it shares most of (``_agglomerate``)."""

COUNTS = [f"{kind}_{family}" for family in GIVEN_FAMILIES for kind in ("given", "shared")]
"""A block pair's counts (``_counted``): per given family, the pairs sharing it and, of
them, the pairs sharing the tested family too; as an array, (given family, [given,
shared])."""


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


def cluster_blocks(labels: pl.DataFrame, links: pl.DataFrame, stars: pl.DataFrame,
                   seed: int) -> pl.DataFrame:
    """``labels`` with ``block``: Leiden's communities inside each cluster, and inside each
    of those again, each edge weighed against the density of the group it is cut from
    (CPM at resolution 1 on weights divided by it), a payment card's holders one vertex.
    Once is not enough: a cluster of two campaigns active over the same weeks is cut by
    time first (accounts active on the same days share most), into cohorts that hold
    both, and a cohort is cut by campaign. A card is one vertex rather than a union after
    the cut: a few accounts Leiden put with the other campaign would chain every card of
    both into one block. ``links`` are the pairs' ties without the tested family
    (``untested_links``), which leaves out the star pairs of cards and waves too: a wave
    is what may have bound two operators into one cluster; ``stars`` (account_a,
    account_b, key_type) give the cards."""
    index = labels.sort("account_id").with_row_index("vertex")
    held = (stars.filter(pl.col("key_type") == "payment_fingerprint")
            .join(index.select(account_a="account_id", a="vertex"), on="account_a")
            .join(index.select(account_b="account_id", b="vertex"), on="account_b")
            .select("a", "b"))
    payers = igraph.Graph(n=index.height, edges=held.rows(), directed=False)
    payer = np.asarray(payers.connected_components().membership, dtype=np.int64)
    vertex = index.select("account_id", vertex=pl.Series(payer, dtype=pl.Int64))
    inside = (links
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


def split_clusters(db: duckdb.DuckDBPyConnection, labels: pl.DataFrame,
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
    links = untested_links(db, labels, min_surprise)
    blocked = cluster_blocks(labels, links, stars, seed)
    counts = _counted(family_masks(db, blocked, min_surprise))
    bar = math.log10(max(labels.height, 1)) - math.log10(alpha)
    apart = counts.filter(pl.col("label_a") != pl.col("label_b"))
    background = apart.select(pl.col(COUNTS).sum()).to_numpy().astype(np.float64).reshape(-1, 2)
    within = counts.filter(pl.col("label_a") == pl.col("label_b"))
    sizes = blocked.group_by("label", "block").agg(
        accounts=pl.len(), first=pl.col("account_id").min())
    several = sizes.filter(pl.len().over("label") > 1)
    rows = within.partition_by("label_a", as_dict=True, include_key=False)
    weights = edges_between(blocked, links).partition_by("label", as_dict=True,
                                                         include_key=False)
    unweighed = pl.DataFrame(schema={"block_a": pl.Int64, "block_b": pl.Int64,
                                     "weight": pl.Float64})
    tests: list[dict[str, object]] = []
    parts: list[pl.DataFrame] = []
    for (label,), mine in several.sort("label", "block").partition_by(
            "label", as_dict=True, maintain_order=True).items():
        groups, made = _agglomerate(mine, rows.get((label,), within.clear()),
                                    weights.get((label,), unweighed), background, bar, alpha)
        tests.extend(made)
        parts.append(mine.select("label", "block", part=pl.Series(groups, dtype=pl.Int64)))
    split = blocked.join(pl.concat(parts) if parts else
                         pl.DataFrame(schema={"label": pl.Int64, "block": pl.Int64,
                                              "part": pl.Int64}),
                         on=["label", "block"], how="left")
    relabelled = (split.with_columns(pl.col("part").fill_null(0))
                  .with_columns(label=pl.struct("label", "part").rank("dense").cast(pl.Int64))
                  .select("account_id", "label").sort("account_id"))
    return relabelled, pl.DataFrame(tests, schema=empty_frame(CLUSTER_SPLIT).schema)


def untested_links(db: duckdb.DuckDBPyConnection, labels: pl.DataFrame,
                   min_surprise: float) -> pl.DataFrame:
    """(account_a, account_b, weight): the pairs inside each cluster (``labels``) whose
    evidence without the tested family weighs ``min_surprise`` or more, weighed as the
    account graph weighs a pair (Fisher over its evidence rows, the weaker kind of each
    correlated group and the supporting families left out), cards and waves left out too.
    Fisher's combination is never above the sum it combines, so pairs whose sum falls short
    are left in DuckDB.

    The groups are cut on these, not on the account graph's edges: cut where the tested
    family is dense, a group shares it inside more than across because that is where the
    cut was made, whoever's accounts they are. Sweep AS's 805933487 made 5,857 accounts
    of one campaign on one carrier's mobile prefixes; cut on the graph, four groups of 30
    to 67 accounts were cut off it (the 67's pairs with any evidence shared a prefix-hour
    at 0.39 inside, the rest's at 0.096, the pairs across at 0.029: log10 ratio 471)."""
    db.register("split_labels", labels.select(
        "account_id", member=pl.col("account_id") + ":" + pl.col("label").cast(pl.String)
    ).to_arrow())
    try:
        # The second account is found by its account and the first one's label as one key:
        # joined on the two labels, DuckDB paired the labels first (every two accounts of
        # one cluster) and held 3.1 GB for 2 M evidence rows (sweep AU's 976461125). Sums
        # are ordered: threads hand rows over in any order, and a float sum's last digits
        # with them (436 of that window's 411,102 weights moved by 4e-15 between runs).
        summed = db.sql(
            "WITH kinds AS ("
            " SELECT e.account_a, e.account_b, e.key_type,"
            "  coalesce(g.correlated, e.key_type) AS correlated,"
            "  sum(e.surprise ORDER BY e.surprise) AS kind_surprise, count(*) AS components"
            " FROM account_link_evidence e"
            " JOIN split_labels la ON la.account_id = e.account_a"
            " JOIN split_labels lb"
            "  ON lb.member = e.account_b || ':' || split_part(la.member, ':', -1)"
            " LEFT JOIN (SELECT unnest($kinds) AS key_type, unnest($groups) AS correlated) g"
            "  USING (key_type)"
            " WHERE NOT list_contains($left_out, e.family)"
            "  AND NOT list_contains($registrant, e.key_type)"
            " GROUP BY e.account_a, e.account_b, e.key_type, correlated),"
            " kept AS (SELECT * FROM kinds QUALIFY row_number() OVER ("
            "  PARTITION BY account_a, account_b, correlated"
            "  ORDER BY kind_surprise DESC, key_type) = 1)"
            " SELECT account_a, account_b, sum(kind_surprise ORDER BY correlated) AS surprise,"
            "  sum(components)::DOUBLE AS components"
            " FROM kept GROUP BY account_a, account_b"
            " HAVING sum(kind_surprise ORDER BY correlated) >= $min_surprise"
            " ORDER BY account_a, account_b",
            params={"kinds": list(CORRELATED_KINDS), "groups": list(CORRELATED_KINDS.values()),
                    "left_out": [TESTED_FAMILY, *SUPPORTING_FAMILIES],
                    "registrant": list(REGISTRANT_KINDS), "min_surprise": min_surprise}).pl()
    finally:
        db.unregister("split_labels")
    weight = fisher_surprise(summed["surprise"].to_numpy(), summed["components"].to_numpy())
    return (summed.select("account_a", "account_b", weight=pl.Series(weight, dtype=pl.Float64))
            .filter(pl.col("weight") >= min_surprise))


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


def _counted(masks: pl.DataFrame) -> pl.DataFrame:
    """``family_masks``'s rows summed per block pair into ``COUNTS``: for each given
    family, the pairs sharing it and, of them, the pairs sharing the tested family too."""
    def has(family: str) -> pl.Expr:
        return (pl.col("mask") // (1 << GIVEN_FAMILIES.index(family))) % 2
    return masks.group_by("label_a", "label_b", "block_a", "block_b").agg(
        pl.col("pairs").mul(has(family) * (has(TESTED_FAMILY) if kind == "shared" else 1))
        .sum().alias(f"{kind}_{family}")
        for family in GIVEN_FAMILIES for kind in ("given", "shared")
    ).sort("label_a", "label_b", "block_a", "block_b")


def _agglomerate(blocks: pl.DataFrame, rows: pl.DataFrame, between: pl.DataFrame,
                 background: np.ndarray, bar: float,
                 alpha: float) -> tuple[list[int], list[dict[str, object]]]:
    """Each block's part. Blocks are joined back in the order of their weight per pair, a
    join kept unless the test rejects it; then each part left, the largest first, joins
    the part it shares most behaviour with (or the largest part), unless the test rejects
    that join, and stands alone if it does. Counts (``_counted``, one row per block pair)
    are kept per part and added up as parts join: a test reads its two parts' sums, not
    the blocks'."""
    index = {b: i for i, b in enumerate(blocks["block"].to_list())}
    size = blocks["accounts"].to_numpy().astype(np.int64)
    first = blocks["first"].to_list()
    inside: dict[int, np.ndarray] = {i: np.zeros(SHAPE) for i in range(len(index))}
    across: dict[int, dict[int, np.ndarray]] = {i: {} for i in range(len(index))}
    counted = rows.select(COUNTS).to_numpy().astype(np.float64).reshape(-1, *SHAPE)
    for (a, b), counts in zip(rows.select("block_a", "block_b").iter_rows(), counted,
                              strict=True):
        i, j = index[a], index[b]
        if i == j:
            inside[i] = counts
        else:
            across[i][j] = across[j][i] = counts
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
    return float(sum(counts[GIVEN_FAMILIES.index(f), 0] for f in BEHAVIOUR))


SHAPE = (len(GIVEN_FAMILIES), 2)
"""A part's counts: per given family, [pairs sharing it, of them the tested one too]."""


def _join_test(own_x: np.ndarray, own_y: np.ndarray, across: np.ndarray,
               background: np.ndarray, alpha: float) -> dict[str, object] | None:
    """The strongest evidence, over the given families, that two parts (their own pairs'
    counts and their pairs' across) are two operators; None when no family can say."""
    best: dict[str, object] | None = None
    for g, given in enumerate(GIVEN_FAMILIES):
        if given == TESTED_FAMILY or min(own_x[g, 0], own_y[g, 0], across[g, 0],
                                         background[g, 0]) == 0:
            continue
        lower = [float(beta.ppf(alpha, s, n - s + 1)) if s > 0 else 0.0
                 for n, s in (own_x[g], own_y[g])]
        one = min(lower)
        window = background[g, 1] / background[g, 0]
        trials, shared = across[g]
        if not window < one < 1 or shared / trials >= one:
            continue
        ratio = (shared * (math.log10(max(window, 1e-300)) - math.log10(one))
                 + (trials - shared) * (math.log10(1 - window) - math.log10(1 - one)))
        if best is None or ratio > best["log10_ratio"]:
            best = {"tested_family": TESTED_FAMILY, "given_family": given,
                    "shared_a": int(own_x[g, 1]), "given_a": int(own_x[g, 0]),
                    "shared_b": int(own_y[g, 1]), "given_b": int(own_y[g, 0]),
                    "shared_across": int(shared), "given_across": int(trials),
                    "one_operator_rate": one, "window_rate": window,
                    "log10_ratio": ratio}
    return best
