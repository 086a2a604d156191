"""Linking: accounts into clusters one operator plausibly controls (evidence family 1).

In: the compact per-day tables of a window (``account_day``, ``account_key_day``,
``account_prefix_hour``, ``account_band_day``, ``account_minute``, ``account_prompt_day``,
``prompt_pair_day``, ``failover_day``) and the ``accounts`` table, through
``forensics.duckdb``. Out, in ``forensics.duckdb``: ``creation_wave`` (each creation bucket
against its chance count), ``account_link_key`` (every key an account holds), ``link_key``
(each shared key's popularity), ``account_link_null`` (what the window's null of unrelated
accounts needs per account), ``account_link_count`` (per pair, evidence kind and rarity
stratum: what the pair shares), ``account_link_evidence`` (the same rows against the null:
chance expectation, p-value), ``account_link_pair`` (per pair: the combined surprise),
``link_threshold`` (the edge threshold of this window), ``account_link`` (the graph's
edges), ``cluster_split`` (the split test's joins, ``pipeline.linking.split``),
``clusters`` (every account of the window in exactly one cluster, case ids from
``pipeline.linking.lineage``), ``cluster_key`` (why each cluster is one operator) and
``cluster_lineage`` (``pipeline.publish.publication`` publishes the clusters).

Linking is not accusation: it says whom a verdict would cover. Evidence is measured
against the window's own null: for each kind of shared thing (a key, a prompt sent within
minutes, a near-duplicate band, a synchronized start, a 429 failover) the number two
accounts share is compared with what two unrelated accounts of this window, as active as
these two and holding keys as popular as theirs, would share by chance (an overdispersed,
negative-binomial tail). Independent kinds and rarity strata combine by Fisher's method, so
ten distinct rare coincidences weigh far more than one and nothing caps them, while a busy
public prompt, a big NAT, an SDK's default prompt or a consumer mail domain weighs little
because many unrelated accounts of the window share it. A pair links alone past a
Bonferroni bound over the window's pairs; weaker pairs are the edges of a graph whose
Leiden communities (igraph, seeded, vertices in account order: the same inputs give the
same clusters) are kept member by member, each confirmed against what the rest of its
community holds in common. A payment card is one payer at any count and joins its holders;
so does a creation wave (``creation_wave``: adjacent minutes that made far more of the
window's accounts than its own creation rate predicts), most likely one registrant's
batch, except for the members of other operators' communities made in its hours.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import igraph
import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.linking.lineage import assign_cluster_ids, previous_clusters, record_lineage
from pipeline.linking.members import (
    REGISTRANT_KINDS,
    SUPPORTING_FAMILIES,
    confirm_members,
    drop_correlated,
    key_codes,
)
from pipeline.linking.split import split_clusters
from pipeline.linking.surprise import count_surprise, fisher_surprise, poisson_surprise
from pipeline.linking.waves import (
    Confirmations,
    moved_by,
    weigh_wave_holders,
    without_waves_of,
)
from pipeline.progress import Progress, Steps
from pipeline.registry import CLUSTER_SPLIT, PRIOR_CLUSTERS
from pipeline.settings import FeatureParams, LinkParams
from pipeline.warehouse import (
    empty_frame,
    publish_frame,
    release_buffers,
    sql_text,
    table_ddl,
)

TIMED_KINDS: tuple[str, ...] = ("same_prompt", "failover")
"""Kinds that are coordination in time by themselves (the same prompt within minutes, a
429 retried within seconds): past the edge bound alone they link a pair. Any other single
family past the bound (two heavy users of one public corpus, two services in one cloud
range) is one explanation, not an operator, and needs a second family to link alone."""

@dataclass(frozen=True)
class LinkResult:
    """What linking found, for the CLI and the DAGs."""

    window_start: date
    window_end: date
    account_count: int
    edge_count: int
    cluster_count: int
    linked_cluster_count: int
    largest_cluster: int


def link_window(start: date, end: date, params: LinkParams) -> tuple[date, date]:
    """The days keys are gathered from: the run's range and at least the lookback."""
    return min(start, end - timedelta(days=params.lookback_days - 1)), end


def link_accounts(db: duckdb.DuckDBPyConnection, start: date, end: date, *,
                  run_id: str, params: LinkParams | None = None,
                  features: FeatureParams | None = None,
                  progress: Progress | None = None) -> LinkResult:
    """Build the linking tables and the clusters for the window ending at ``end``.

    The caller owns ``db`` (the output folder's lock and ``forensics.duckdb``) and has made
    the per-day views; this replaces the window tables whole, so a retry is safe.
    ``features`` are the per-day tables' settings, which the null needs (how many bands a
    prompt has, how many accounts a prompt may have to count as shared).
    """
    params = params or LinkParams()
    features = features or FeatureParams()
    first, last = link_window(start, end, params)
    window = {"start": first, "end": last}
    register_link_types(db, params)
    tables = key_tables(window, params, features)
    steps = Steps(progress, "linking", len(tables) + 6)
    steps.next("creation_wave")
    counted = db.sql(sql_text("creation_wave"), params={
        **window, "burst_minutes": params.burst_minutes,
        "wave_context_days": params.wave_context_days}).pl()
    publish_frame(db, "creation_wave",
                  creation_waves(counted, params.alpha, params.burst_minutes), "bucket_at")
    for table, values in tables:
        steps.next(table)
        db.execute(f"CREATE OR REPLACE TABLE {table} AS {sql_text(table)}", values)
    steps.next("account_link_evidence")
    accounts = db.sql(
        "SELECT DISTINCT account_id FROM account_day WHERE date BETWEEN $start AND $end "
        "ORDER BY account_id", params=window).pl()["account_id"]
    threshold = edge_threshold(len(accounts), params.alpha)
    evidence = score_evidence(db.sql(sql_text("account_link_evidence"), params=window).pl(),
                              threshold, params.dispersion)
    db.unregister("link_type")
    release_buffers(db)
    pairs = combine_evidence(evidence, threshold)
    publish_frame(db, "account_link_evidence", evidence,
                  "account_a, account_b, key_type, stratum")
    publish_frame(db, "account_link_pair", pairs, "account_a, account_b")
    publish_frame(db, "link_threshold", pl.DataFrame(
        [{**threshold, "window_start": first, "window_end": last}]), "account_count")
    # The communities read only the cards and failovers of the evidence and the pairs that
    # link alone: the rest is published, and held on through them it made the window's
    # peak of memory.
    evidence = evidence.filter(pl.col("key_type").is_in([*REGISTRANT_KINDS, "failover"]))
    pairs = pairs.filter("is_edge")
    steps.next("account_link")
    db.execute(f"CREATE OR REPLACE TABLE account_link AS {sql_text('account_link')}",
               {"min_pair_surprise": params.min_pair_surprise})

    steps.next("communities")
    edges = db.sql("SELECT account_a, account_b, weight FROM account_link").pl()
    keys = key_codes(db.sql("SELECT * FROM account_shared_key").pl(),
                     db.sql("SELECT * FROM account_link_null").pl(), accounts)
    release_buffers(db)
    def confirm(labels: pl.DataFrame, only: pl.Series | None) -> pl.DataFrame:
        return confirm_members(labels, evidence, pairs, keys, threshold,
                               families={t.key_type: t.family for t in params.link_types},
                               dispersion=params.member_dispersion,
                               second=params.member_second, only=only)

    confirmations = Confirmations(confirm, reuse=params.member_second == "bonferroni")
    communities = detect_communities(accounts, edges, params)
    labels = cluster_accounts(accounts, edges, evidence, confirmations, params, communities)
    bystanders = weigh_wave_holders(db, labels, params.alpha)
    if bystanders.len():
        left = without_waves_of(evidence, bystanders)
        confirmations.after_leaving(moved_by(evidence, left))
        evidence = left
        labels = cluster_accounts(accounts, edges, evidence, confirmations, params,
                                  communities)
    steps.next("split test")
    labels = _split_test(db, labels, evidence, params)
    steps.next("case ids and lineage")
    previous = _keep_prior_clusters(db)
    result = _publish_clusters(db, labels, previous, run_id, first, last, edges.height,
                               len(accounts))
    steps.end()
    return result


def _keep_prior_clusters(db: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """The clusters of the run before (``previous_clusters``), also kept as
    ``prior_clusters``: the lineage names clusters after them, and an investigator asks
    what a cluster was before tonight's run."""
    previous = previous_clusters(db)
    db.execute("DROP TABLE IF EXISTS prior_clusters")
    db.execute(table_ddl(PRIOR_CLUSTERS))
    if previous is not None:
        db.execute("INSERT INTO prior_clusters SELECT cluster_id, account_id FROM clusters "
                   "ORDER BY cluster_id, account_id")
    return previous


def _split_test(db: duckdb.DuckDBPyConnection, labels: pl.DataFrame,
                evidence: pl.DataFrame, params: LinkParams) -> pl.DataFrame:
    """``labels`` with the clusters the split test cuts cut (``params.split_test``), its
    joins published as ``cluster_split`` (no rows when it is off)."""
    stars = evidence.filter(pl.col("key_type").is_in(REGISTRANT_KINDS)).select(
        "account_a", "account_b", "key_type").unique()
    tests = empty_frame(CLUSTER_SPLIT)
    if params.split_test:
        labels, tests = split_clusters(db, labels, stars,
                                       min_surprise=params.min_pair_surprise,
                                       alpha=params.alpha, seed=params.seed)
    publish_frame(db, "cluster_split", tests, "first_a, accounts_a, first_b, accounts_b")
    return labels


def merge_clusters(db: duckdb.DuckDBPyConnection, merged: pl.DataFrame, run_id: str,
                   linked: LinkResult) -> LinkResult:
    """Rewrite ``clusters``, ``cluster_key`` and this run's lineage with the clusters of
    ``merged`` (cluster_id, into) made one, named against the previous run's clusters as
    linking named them (``link_accounts`` keeps those in ``prior_clusters``), so that a
    cohort found again tomorrow keeps its case id."""
    previous = db.sql("SELECT cluster_id, account_id FROM prior_clusters").pl()
    clusters = db.sql("SELECT cluster_id, account_id FROM clusters").pl()
    labels = (clusters.join(merged, on="cluster_id", how="left")
              .with_columns(into=pl.coalesce("into", "cluster_id"))
              .with_columns(label=pl.col("into").rank("dense").cast(pl.Int64))
              .select("account_id", "label"))
    return _publish_clusters(db, labels, previous if previous.height else None, run_id,
                             linked.window_start, linked.window_end, linked.edge_count,
                             linked.account_count)


def _publish_clusters(db: duckdb.DuckDBPyConnection, labels: pl.DataFrame,
                      previous: pl.DataFrame | None, run_id: str, first: date, last: date,
                      edge_count: int, account_count: int) -> LinkResult:
    clusters, lineage = assign_cluster_ids(labels, previous)
    clusters = clusters.with_columns(window_start=pl.lit(first), window_end=pl.lit(last))
    publish_frame(db, "clusters", clusters, "cluster_id, account_id")
    db.execute(f"CREATE OR REPLACE TABLE cluster_key AS {sql_text('cluster_key')}")
    record_lineage(db, lineage.with_columns(run_id=pl.lit(run_id), window_end=pl.lit(last)))
    sizes = clusters.group_by("cluster_id").len()
    return LinkResult(
        window_start=first,
        window_end=last,
        account_count=account_count,
        edge_count=edge_count,
        cluster_count=sizes.height,
        linked_cluster_count=int((sizes["len"] > 1).sum()),
        largest_cluster=int(sizes["len"].max() or 0),
    )


def register_link_types(db: duckdb.DuckDBPyConnection, params: LinkParams) -> None:
    """``link_type`` (key_type, family), which linking's evidence query reads: the kinds
    of evidence and their families are settings, not a table of the database."""
    db.register("link_type", pa.table({
        "key_type": [t.key_type for t in params.link_types],
        "family": [t.family for t in params.link_types],
    }))


def key_tables(window: dict[str, date], params: LinkParams,
               features: FeatureParams) -> tuple[tuple[str, dict[str, object]], ...]:
    """The key tables linking builds in SQL, in order, with their parameters: one list for
    the build and for ``make bench``'s profile of each query."""
    keyed = {**window, "max_key_accounts": params.max_key_accounts,
             "max_accounts_per_prompt": features.max_accounts_per_prompt}
    bands_per_prompt = features.band_bins // features.band_rows
    registrant = list(REGISTRANT_KINDS)
    return (
        ("account_link_key", {**window, "burst_minutes": params.burst_minutes,
                              "edge_margin_minutes": params.edge_margin_minutes,
                              "sync_minutes": params.sync_minutes,
                              "idle_minutes": params.idle_minutes}),
        ("link_key", {}),
        ("account_link_null", keyed),
        ("account_shared_key", {**keyed, "bands_per_prompt": bands_per_prompt,
                                "registrant": registrant}),
        ("account_link_count", {**window, "max_key_accounts": params.max_key_accounts,
                                "bands_per_prompt": bands_per_prompt,
                                "sync_minutes": params.sync_minutes,
                                "registrant": registrant}),
    )


def creation_waves(counted: pl.DataFrame, alpha: float, burst_minutes: int) -> pl.DataFrame:
    """``creation_wave``: each bucket's count against its chance count (Poisson tail) and
    the wave it is in, a run of adjacent buckets past -log10(alpha / buckets tested).

    A campaign that shares no card or domain still makes its accounts in batches: AL's
    1897336320 made 7,146 in three hours, 100 to 122 of the window's accounts in each ten
    minutes where the window's rate predicts 0.05 (8 on that day, the batch included).
    Weighed as a key by its own holders, such a bucket is a "popular" key and says little
    (and past ``max_key_accounts`` nothing); weighed against the window's creation rate, it
    is one registrant. The bar is Bonferroni over every bucket of the creation span, so a
    window of unrelated sign-ups makes a wave by chance with probability about alpha; the
    chance count is the largest of the clock's, the day's and the span's rate, so that
    neither the hours people sign up at nor a launch day is a wave."""
    surprise = poisson_surprise(counted["account_count"].to_numpy().astype(np.float64),
                                counted["expected_count"].to_numpy())
    tested = counted.with_columns(
        surprise=pl.Series(surprise, dtype=pl.Float64),
        required_surprise=pl.col("span_buckets").cast(pl.Float64).log10() - math.log10(alpha))
    runs = (tested.filter(pl.col("surprise") >= pl.col("required_surprise"))
            .sort("bucket_at")
            .with_columns(run=(pl.col("bucket_at").diff() != timedelta(minutes=burst_minutes))
                          .fill_null(True).cum_sum())
            .select("bucket", wave=pl.col("bucket").first().over("run")))
    return tested.join(runs, on="bucket", how="left").sort("bucket_at")


def edge_threshold(account_count: int, alpha: float) -> dict[str, float | int]:
    """The surprise a pair needs to be an edge: -log10(alpha / pairs in the window).

    Every pair of the window's accounts is a test, so a window of 1,000 accounts needs
    about 7.7 and one of 100,000 about 11.7 (alpha 0.01): the same chance of one false
    edge whatever the window's size.
    """
    pair_count = max(account_count * (account_count - 1) / 2, 1.0)
    return {"account_count": account_count, "pair_count": pair_count, "alpha": alpha,
            "edge_surprise": math.log10(pair_count) - math.log10(alpha)}


def score_evidence(counted: pl.DataFrame, threshold: dict[str, float | int],
                   dispersion: float) -> pl.DataFrame:
    """Each evidence row's p-value and surprise (``count_surprise``); a card's or a creation
    wave's rows take at least the edge threshold (one payer, one registrant: they link
    whatever the null of a pair says)."""
    mean = counted["expected_count"].to_numpy()
    surprise = count_surprise(counted["shared_count"].to_numpy(), mean,
                              np.full_like(mean, dispersion))
    return counted.with_columns(
        p_value=pl.Series(np.power(10.0, -surprise)),
        surprise=pl.Series(surprise),
    ).with_columns(
        surprise=pl.when(pl.col("key_type").is_in(REGISTRANT_KINDS))
        .then(pl.max_horizontal("surprise", pl.lit(threshold["edge_surprise"])))
        .otherwise("surprise"),
    )


def combine_evidence(evidence: pl.DataFrame, threshold: dict[str, float | int]) -> pl.DataFrame:
    """One row per pair: the Fisher combination of its evidence rows (each kind and
    stratum a component), after keeping only the stronger of each correlated group.
    ``is_edge`` (links alone) needs the edge bound and a card, two families, or a timed
    kind past the bound by itself. ``graph_surprise`` leaves the supporting families out:
    it weighs the pair in the account graph, where an SDK's user agent and default prompt,
    shared by every customer of one client, would otherwise chain unrelated operators that
    script the same client into one community.

    Columns: account_a, account_b, components, surprise, graph_surprise, p_value, families,
    is_edge.
    """
    edge = float(threshold["edge_surprise"])
    keyed = _pair_keyed(evidence)
    kept = drop_correlated(keyed, ["pair"])
    names = sorted(keyed["family"].unique().to_list())
    bit = {family: 1 << i for i, family in enumerate(names)}
    corroborating = ~pl.col("family").is_in(list(SUPPORTING_FAMILIES))
    pairs = kept.group_by("pair").agg(
        account_a=pl.col("account_a").first(),
        account_b=pl.col("account_b").first(),
        components=pl.len(),
        summed=pl.col("surprise").sum(),
        graph_components=corroborating.sum(),
        graph_summed=pl.col("surprise").filter(corroborating).sum(),
        card=pl.col("key_type").is_in(REGISTRANT_KINDS).any(),
        timed=pl.col("surprise").filter(pl.col("key_type").is_in(TIMED_KINDS)).max(),
        mask=pl.col("family").replace_strict(bit, return_dtype=pl.UInt32).bitwise_or(),
    ).sort("pair")
    masks = pairs.select(pl.col("mask").unique())
    masks = masks.with_columns(families=pl.Series(
        [[name for name in names if mask & bit[name]] for mask in masks["mask"]],
        dtype=pl.List(pl.String)))
    corroborating_bits = sum(b for name, b in bit.items() if name not in SUPPORTING_FAMILIES)
    pairs = pairs.join(masks, on="mask", how="left", maintain_order="left")
    combined = fisher_surprise(pairs["summed"].to_numpy(),
                               pairs["components"].to_numpy().astype(np.float64))
    graph = fisher_surprise(pairs["graph_summed"].to_numpy(),  # no component: surprise 0
                            np.maximum(pairs["graph_components"].to_numpy(), 1)
                            .astype(np.float64))
    card_floor = {name: pl.when("card").then(pl.max_horizontal(name, pl.lit(edge)))
                  .otherwise(name) for name in ("surprise", "graph_surprise")}
    two_families = (pl.col("mask") & corroborating_bits).bitwise_count_ones() >= 2
    return (pairs.with_columns(surprise=pl.Series(combined, dtype=pl.Float64),
                               graph_surprise=pl.Series(graph, dtype=pl.Float64))
            .with_columns(**card_floor)
            .with_columns(p_value=pl.lit(10.0).pow(-pl.col("surprise")),
                          is_edge=(pl.col("surprise") >= edge)
                          & (pl.col("card") | two_families
                             | (pl.col("timed").fill_null(0.0) >= edge)),
                          components=pl.col("components").cast(pl.Int64))
            .select("account_a", "account_b", "components", "surprise", "graph_surprise",
                    "p_value", "families", "is_edge"))


def _pair_keyed(evidence: pl.DataFrame) -> pl.DataFrame:
    """``evidence`` with ``pair``, one integer per (account_a, account_b) that sorts as the
    pair does: grouping and sorting millions of rows by one integer instead of two strings
    took the pairs' combination from about 10 s to 4 on a seed-size window."""
    accounts = pl.concat([evidence["account_a"], evidence["account_b"]]).unique().sort()
    index = pl.DataFrame({"account": accounts,
                          "vertex": np.arange(len(accounts), dtype=np.uint64)})
    return (evidence
            .join(index.select(account_a="account", a="vertex"), on="account_a", how="left",
                  maintain_order="left")
            .join(index.select(account_b="account", b="vertex"), on="account_b", how="left",
                  maintain_order="left")
            .with_columns(pair=pl.col("a") * len(accounts) + pl.col("b"))
            .drop("a", "b"))


def cluster_accounts(accounts: pl.Series, edges: pl.DataFrame, evidence: pl.DataFrame,
                     confirm: Callable[[pl.DataFrame], pl.DataFrame],
                     params: LinkParams,
                     communities: pl.DataFrame | None = None) -> pl.DataFrame:
    """(account_id, label): Leiden's communities with each member confirmed, card holders
    joined, and then the accounts still unheld grouped again among themselves and
    confirmed. Card holders join before the strays are regrouped: an account its
    community's test let go but whose card its community holds is that payer's, not a
    stray free to fall in with another campaign's accounts. A group that only cards
    hold (none of its accounts passed the member test) is strays too: a campaign that
    pays two accounts per card and that the first pass cut by mail domain would
    otherwise stay hundreds of card pairs, each too small to flag; its cards join it
    again at the end. ``communities``: Leiden's on these edges when the caller has them
    (the pass after wave holders leave runs on the same edges: about 5 s on ``seedday``)."""
    if communities is None:
        communities = detect_communities(accounts, edges, params)
    confirmed = confirm(communities)
    carded = join_card_holders(confirmed.select("account_id", "label"), evidence)
    held = confirmed.filter(pl.col("label") >= 0).select("account_id", held=pl.lit(True))
    alone = -1 - pl.int_range(pl.len())
    carded = (carded.join(held, on="account_id", how="left").sort("account_id")
              .with_columns(label=pl.when(pl.col("held").fill_null(False).any().over("label"))
                            .then("label").otherwise(alone))
              .select("account_id", "label"))
    sparse = params.model_copy(update={"resolution": window_resolution(
        edges, len(accounts), params.resolution)})
    confirmed = confirm(regroup_strays(carded, edges, sparse))
    return join_card_holders(confirmed.select("account_id", "label"), evidence)


def window_resolution(edges: pl.DataFrame, accounts: int, resolution: float) -> float:
    """The window's own evidence density (the graph's total weight over all pairs of its
    ``accounts``: what two accounts of this window share on average) when that is below
    ``resolution``: the bar for groups that the first pass could not find."""
    density = float(edges["weight"].sum()) / max(accounts * (accounts - 1) / 2, 1.0)
    return min(resolution, density) or resolution


def join_card_holders(labels: pl.DataFrame, evidence: pl.DataFrame) -> pl.DataFrame:
    """(account_id, label) with each card's holders in one cluster: a card is one payer at
    any count, so its holders are one cluster however sparse their other evidence.
    Leiden's density criterion would cut a star of 300 card holders apart (a card's n
    accounts are n - 1 star rows, not a clique), so cards join after it.

    A card joins its holders, not always their communities. A community most of whose
    members hold cards shared with other communities is a payer's fragment, and merges
    with them (``_card_joined``). A community where only a few members hold such cards is
    another operator's, which Leiden or the member test let those few into: they leave it
    for the community that holds most of their card's holders (its home), and the
    community stays whole, rather than one stray card bridging two campaigns into one.

    A creation wave (``_wave_edges``) is one registrant's batch only most likely: another
    operator's batch made in the same hours, or an account signing up by chance, is in it
    too. Its holders that ``labels`` leaves alone (negative labels) are joined, and so are
    communities that are its fragments; a member of any other community stays there.
    """
    index = labels.sort("account_id").with_row_index("vertex")
    cards = _stars(evidence, ["payment_fingerprint"], index)
    index = index.with_columns(card=_components(index.height, cards))
    joined = _card_joined(index, "card")
    home = _homes(index, "label")
    stays = (index.join(home, on="card", how="left")
             .join(joined, on="label", how="left")
             .join(joined.select(home="label", home_joined="joined"), on="home", how="left")
             .filter(pl.col("home").is_null() | (pl.col("home") == pl.col("label"))
                     | (pl.col("joined") & pl.col("home_joined").fill_null(False))))
    anchors = stays.group_by("label").agg(anchor=pl.col("vertex").min())
    within = stays.join(anchors, on="label").filter(pl.col("vertex") != pl.col("anchor"))
    edges = pl.concat([within.select(a="vertex", b="anchor"), cards,
                       _wave_edges(index, evidence)]).sort("a", "b")
    graph = igraph.Graph(n=index.height, edges=edges.rows(), directed=False)
    components = graph.connected_components().membership
    return index.select("account_id", label=pl.Series(components, dtype=pl.Int64))


def _wave_edges(index: pl.DataFrame, evidence: pl.DataFrame) -> pl.DataFrame:
    """(a, b): a star over each creation wave's holders that join it (``index``: account_id,
    label, vertex). The wave's home is the group holding most of its holders, the holders
    no community holds (a negative label) counted as one group: one operator's batch that
    the member test left unconfirmed is one group, not hundreds of one. A holder joins
    unless a community holds it that is neither the home nor the wave's fragment
    (``_card_joined``): sweep AS's 1650387480 made 3 of a 21-account campaign in the
    hours another made 732 of its own; the 732 were unconfirmed, each its own label, so
    the 21-account community held most of the wave and took all 732 in."""
    waves = _stars(evidence, ["creation_wave"], index)
    alone = int(index["label"].min() or 0) - 1
    index = index.with_columns(card=_components(index.height, waves),
                               group=pl.when(pl.col("label") >= 0).then("label")
                               .otherwise(alone))
    joined = _card_joined(index, "card")
    home = _homes(index, "group")
    fragment = pl.col("joined") & pl.col("home_joined").fill_null(True)
    joins = (index.join(home, on="card")
             .join(joined, on="label", how="left")
             .join(joined.select(home="label", home_joined="joined"), on="home", how="left")
             .filter((pl.col("group") == alone) | (pl.col("group") == pl.col("home"))
                     | fragment)
             .with_columns(hub=pl.col("vertex").min().over("card")))
    return joins.filter(pl.col("vertex") != pl.col("hub")).select(a="hub", b="vertex")


def _homes(index: pl.DataFrame, group: str) -> pl.DataFrame:
    """(card, home): the ``group`` that holds most of each card's (or wave's: ``card``)
    holders, the one with the first vertex among equals; cards of one holder have none."""
    return (index.filter(pl.len().over("card") > 1)
            .group_by("card", group).agg(holders=pl.len(), first=pl.col("vertex").min())
            .sort(["card", "holders", "first"], descending=[False, True, False])
            .group_by("card", maintain_order=True).first()
            .select("card", home=group))


def _stars(evidence: pl.DataFrame, kinds: list[str], index: pl.DataFrame) -> pl.DataFrame:
    """(a, b): the vertices of ``index`` of the star rows of ``kinds`` in ``evidence``."""
    return (evidence.filter(pl.col("key_type").is_in(kinds))
            .select("account_a", "account_b").unique()
            .join(index.select(account_a="account_id", a="vertex"), on="account_a")
            .join(index.select(account_b="account_id", b="vertex"), on="account_b")
            .select("a", "b"))


def _components(vertices: int, edges: pl.DataFrame) -> pl.Series:
    """Each vertex's connected component over ``edges`` (a, b)."""
    graph = igraph.Graph(n=vertices, edges=edges.rows(), directed=False)
    return pl.Series(graph.connected_components().membership, dtype=pl.Int64)


def _card_joined(index: pl.DataFrame, by: str) -> pl.DataFrame:
    """(label, joined): whether at least half of a community's members hold a card (or a
    wave: ``by``) whose holders reach outside it, which makes it a fragment of the card's
    payer."""
    reach = index.with_columns(outside=pl.col("label").n_unique().over(by) > 1)
    return reach.group_by("label").agg(
        joined=pl.col("outside").sum() * 2 >= pl.len())


def detect_communities(accounts: pl.Series, edges: pl.DataFrame,
                       params: LinkParams) -> pl.DataFrame:
    """Leiden communities of the weighted account graph: (account_id, label).

    Every account is a vertex, so an account without edges is a community of one. CPM
    with a low resolution keeps a sparse but connected campaign whole (modularity's
    resolution limit would cut it into pieces, and would also pull a lone account into
    whichever community its one edge reaches) while separating groups joined by a bridge.
    Python's ``random`` is igraph's generator; seeding it makes the result a function of
    the inputs.
    """
    index = pl.DataFrame({"account_id": accounts, "vertex": np.arange(len(accounts))})
    pairs = (edges.join(index.rename({"account_id": "account_a", "vertex": "a"}), on="account_a")
             .join(index.rename({"account_id": "account_b", "vertex": "b"}), on="account_b")
             .sort("a", "b"))
    graph = igraph.Graph(n=len(accounts), edges=pairs.select("a", "b").rows(), directed=False)
    random.seed(params.seed)
    igraph.set_random_number_generator(random)
    partition = graph.community_leiden(
        objective_function="CPM", weights=pairs["weight"].to_list() or None,
        resolution=params.resolution,
        n_iterations=-1 if params.leiden_passes is None else params.leiden_passes)
    return index.with_columns(label=pl.Series(partition.membership, dtype=pl.Int64)) \
        .select("account_id", "label")


def regroup_strays(confirmed: pl.DataFrame, edges: pl.DataFrame,
                   params: LinkParams) -> pl.DataFrame:
    """(account_id, label): the confirmed communities as they are, and Leiden run again on
    the graph of the accounts the member test left alone. In a noisy window Leiden may
    spread a small group over communities of chance pairs, where each of its accounts
    fails the member test; among the strays the group is what is left to find."""
    stray = confirmed.filter(pl.col("label") < 0)["account_id"]
    among = edges.filter(pl.col("account_a").is_in(stray.implode())
                         & pl.col("account_b").is_in(stray.implode()))
    offset = int(confirmed["label"].max() or 0) + 1
    again = detect_communities(stray, among, params).with_columns(
        pl.col("label") + offset)
    return pl.concat([confirmed.filter(pl.col("label") >= 0).select("account_id", "label"),
                      again]).sort("account_id")
