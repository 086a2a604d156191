"""Linking: accounts into clusters one operator plausibly controls (evidence family 1).

In: the compact per-day tables of a window (``account_day``, ``account_key_day``,
``account_prefix_hour``, ``account_band_day``, ``prompt_pair_day``, ``failover_day``) and the
``accounts`` table, through ``forensics.duckdb``. Out, in ``forensics.duckdb``:
``account_link_key`` (every key an account holds), ``link_key`` (each shared key's rarity
weight), ``account_link_evidence`` (per pair and link type), ``account_link`` (the graph's
edges), ``clusters`` (every account of the window in exactly one cluster),
``cluster_key`` (why each cluster is one operator) and ``cluster_lineage`` (how clusters
continue, grow, merge and split from run to run); and ``findings/clusters.parquet``.

Linking is not accusation: it says whom a verdict would cover. It is built to be hard to
fool in both directions. Every key is weighted by its rarity in the window, so keys that
many unrelated accounts share weigh nothing; each link type's contribution to an edge is
capped, so a weak type (an IP prefix, a user agent) cannot merge accounts alone and needs
corroboration from another. Communities are found with Leiden (igraph), seeded, on a
graph whose vertices are in account order, so the same inputs give the same clusters.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import igraph
import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.warehouse import publish_frame, sql_text, write_parquet_atomic


@dataclass(frozen=True)
class LinkType:
    """How one kind of shared evidence turns into edge weight.

    ``multiplier`` scales the evidence (summed rarity weights of the shared keys, or the
    count of shared prompts or failovers); ``cap`` bounds what the type adds to one edge,
    and the family's cap (``LinkParams.family_caps``) bounds what correlated types add
    together: the same prompt seen twice (exact and near-duplicate) is one observation.
    ``max_accounts`` is where a key of this type stops counting: a user agent 200 accounts
    share is public, while 2,000 accounts created in the same ten minutes is a wave.
    """

    key_type: str
    family: str
    multiplier: float
    cap: float
    max_accounts: int
    meaning: str


DEFAULT_LINK_TYPES: tuple[LinkType, ...] = (
    LinkType("payment_fingerprint", "registry", 2.0, 2.0, 200,
             "one payment card: strong alone (an enterprise is linked, rightly)"),
    LinkType("email_domain", "registry", 2.0, 2.0, 200,
             "a private e-mail domain a handful of accounts share: one registrant, strong "
             "alone like a card (webmail and large domains weigh nothing by rarity)"),
    LinkType("created_burst", "registry", 0.4, 0.4, 5000,
             "created in the same ten minutes (a wave may be thousands); weak"),
    LinkType("system_hash", "infrastructure", 0.8, 0.6, 200, "a rare system prompt"),
    LinkType("ip_prefix_hour", "infrastructure", 0.4, 0.6, 200,
             "the same /24 or /48 in the same hour"),
    LinkType("user_agent", "infrastructure", 0.3, 0.3, 200, "a rare user agent"),
    LinkType("same_prompt", "content", 0.5, 0.7, 50, "the same rare prompt within minutes"),
    LinkType("prompt_band", "content", 0.3, 0.7, 200,
             "near-duplicate prompts in the same hour (MinHash band: survives nonces and "
             "paraphrased openers)"),
    LinkType("failover", "timing", 1.0, 2.0, 50,
             "a 429 on one account, the same prompt on the other within seconds: a key pool, "
             "strong alone, when failovers are a fair share of the prompts the pair shares "
             "(LinkParams.failover_min_share)"),
    LinkType("start_stop", "timing", 0.45, 1.0, 5000,
             "the day's activity started and stopped in the same minutes (both inside the "
             "day, not at its edges): one day is chance, even with a shared prompt (0.95); "
             "it links when it repeats on several days"),
)

DEFAULT_FAMILY_CAPS: tuple[tuple[str, float], ...] = (
    ("registry", 2.0),
    ("infrastructure", 0.45),
    ("content", 0.5),
    ("timing", 2.0),
)
"""What one family of evidence can add to an edge. Infrastructure and content together
(0.95) stay below the edge threshold: students behind one NAT sending the same homework
prompt in the same hour, or small apps in one cloud range drawing on the same public
prompts, share exactly those two; an operator also leaves registry or timing traces."""


PUBLIC_EMAIL_DOMAINS: tuple[str, ...] = (
    "126.com", "163.com", "aol.com", "fastmail.com", "gmail.com", "gmx.com", "gmx.de",
    "googlemail.com", "hotmail.com", "icloud.com", "live.com", "mac.com", "mail.com",
    "mail.ru", "me.com", "msn.com", "naver.com", "outlook.com", "proton.me",
    "protonmail.com", "qq.com", "tutanota.com", "web.de", "yahoo.com", "yandex.ru",
    "ymail.com", "zoho.com",
)
"""The largest free-mail providers. Rarity alone would zero them in a big window, but in a
small one (a few hundred accounts) gmail.com can look rare, and a shared e-mail domain is
strong evidence."""


@dataclass(frozen=True)
class LinkParams:
    """Linking settings; the defaults are the nightly run's (see the README's table)."""

    lookback_days: int = 30
    """Days of compact tables the keys are gathered from, ending at the run's last day."""
    burst_minutes: int = 10
    """Accounts created in the same bucket of this many minutes share a creation key."""
    min_edge_weight: float = 1.0
    """An account pair whose capped evidence sums to less than this is not an edge."""
    resolution: float = 0.00003
    """Leiden CPM resolution: the weighted density a community must keep. A campaign of
    thousands of churned accounts is sparse (a wave of five accounts may hang on the body by
    one or two edges), so this is low; what it still does is cut single bridges: two groups
    of 1,000 joined by one edge stay apart."""
    seed: int = 7
    """Leiden's random seed: the same inputs and seed give the same clusters."""
    link_types: tuple[LinkType, ...] = field(default=DEFAULT_LINK_TYPES)
    family_caps: tuple[tuple[str, float], ...] = field(default=DEFAULT_FAMILY_CAPS)
    edge_margin_minutes: int = 5
    """Start/stop minutes this close to midnight are the day's edge, not a start or stop."""
    public_email_domains: tuple[str, ...] = PUBLIC_EMAIL_DOMAINS
    """E-mail domains that are never a linking key (lower case)."""
    failover_min_share: float = 0.1
    """A pair's failovers count only when they are at least this share of the prompts the
    pair sends within minutes of each other: a key pool's shared prompts are mostly
    retries, while two busy apps sharing a thousand public prompts meet after a 429 by
    chance now and then."""


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
    clusters_file: Path


LINK_TABLES = ("account_link_key", "link_key", "account_link_evidence", "account_link")


def link_window(start: date, end: date, params: LinkParams) -> tuple[date, date]:
    """The days keys are gathered from: the run's range and at least the lookback."""
    return min(start, end - timedelta(days=params.lookback_days - 1)), end


def link_accounts(db: duckdb.DuckDBPyConnection, out: Path, start: date, end: date, *,
                  run_id: str, params: LinkParams | None = None) -> LinkResult:
    """Build the linking tables and the clusters for the window ending at ``end``.

    The caller owns ``db`` (the output folder's lock and ``forensics.duckdb``) and has made
    the per-day views; this replaces the window tables whole, so a retry is safe.
    """
    params = params or LinkParams()
    first, last = link_window(start, end, params)
    window = {"start": first, "end": last}
    family_caps = dict(params.family_caps)
    db.register("link_type", pa.table({
        "key_type": [t.key_type for t in params.link_types],
        "family": [t.family for t in params.link_types],
        "multiplier": [t.multiplier for t in params.link_types],
        "cap": [t.cap for t in params.link_types],
        "max_accounts": [t.max_accounts for t in params.link_types],
        "family_cap": [family_caps[t.family] for t in params.link_types],
    }))
    steps = (
        ("account_link_key", {**window, "burst_minutes": params.burst_minutes,
                              "edge_margin_minutes": params.edge_margin_minutes,
                              "public_email_domains": list(params.public_email_domains)}),
        ("link_key", {}),
        ("account_link_evidence", {**window,
                                   "failover_min_share": params.failover_min_share}),
        ("account_link", {"min_edge_weight": params.min_edge_weight}),
    )
    for table, values in steps:
        db.execute(f"CREATE OR REPLACE TABLE {table} AS {sql_text(table)}", values)
    db.unregister("link_type")

    accounts = db.sql(
        "SELECT DISTINCT account_id FROM account_day WHERE date BETWEEN $start AND $end "
        "ORDER BY account_id", params=window).pl()["account_id"]
    edges = db.sql("SELECT account_a, account_b, weight FROM account_link").pl()
    labels = detect_communities(accounts, edges, params)
    previous = _previous_clusters(db)
    clusters, lineage = assign_cluster_ids(labels, previous)
    clusters = clusters.with_columns(window_start=pl.lit(first), window_end=pl.lit(last))
    publish_frame(db, "clusters", clusters, "cluster_id, account_id")
    db.execute(f"CREATE OR REPLACE TABLE cluster_key AS {sql_text('cluster_key')}")
    _record_lineage(db, lineage.with_columns(run_id=pl.lit(run_id)))
    target = out / "findings" / "clusters.parquet"
    write_parquet_atomic(
        clusters.select("cluster_id", "account_id").sort("cluster_id", "account_id"), target)
    sizes = clusters.group_by("cluster_id").len()
    return LinkResult(
        window_start=first,
        window_end=last,
        account_count=len(accounts),
        edge_count=edges.height,
        cluster_count=sizes.height,
        linked_cluster_count=int((sizes["len"] > 1).sum()),
        largest_cluster=int(sizes["len"].max() or 0),
        clusters_file=target,
    )


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
        resolution=params.resolution, n_iterations=-1)
    return index.with_columns(label=pl.Series(partition.membership, dtype=pl.Int64)) \
        .select("account_id", "label")


def hash_cluster_ids(communities: pl.DataFrame) -> pl.DataFrame:
    """Add ``fresh_id``: a hash of each community's sorted members (in DuckDB, one pass).

    A community that inherits no previous id is named by its members, so a fresh run over
    the same inputs names every cluster the same way.
    """
    con = duckdb.connect()
    con.register("communities", communities.to_arrow())
    named = con.sql(
        "SELECT *, 'C' || left(sha256(array_to_string(members, chr(10))), 10) AS fresh_id "
        "FROM communities").pl()
    con.close()
    return named


def assign_cluster_ids(labels: pl.DataFrame,
                       previous: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stable case ids: tonight's communities matched to the last run's clusters.

    Each previous cluster's successor is the new community holding most of its accounts;
    a community inherits the id of the previous cluster it succeeds with the largest
    overlap (ties: the smaller id). Other communities get an id hashed from their members.
    Returns the clusters (cluster_id, account_id, cluster_size) and the lineage events.
    """
    fresh = hash_cluster_ids(labels.group_by("label")
                             .agg(pl.col("account_id").sort().alias("members")))
    inherited = pl.DataFrame(schema={"label": pl.Int64, "cluster_id": pl.String,
                                     "overlap": pl.UInt32})
    overlaps = pl.DataFrame(schema={"label": pl.Int64, "previous_id": pl.String,
                                    "overlap": pl.UInt32})
    if previous is not None and previous.height:
        overlaps = (labels.join(previous.rename({"cluster_id": "previous_id"}),
                                on="account_id")
                    .group_by("label", "previous_id").len("overlap"))
        successors = (overlaps.sort(["previous_id", "overlap", "label"],
                                    descending=[False, True, False])
                      .unique("previous_id", keep="first"))
        inherited = (successors.sort(["label", "overlap", "previous_id"],
                                     descending=[False, True, False])
                     .unique("label", keep="first")
                     .select("label", pl.col("previous_id").alias("cluster_id"), "overlap"))
    named = fresh.join(inherited, on="label", how="left").with_columns(
        cluster_id=pl.coalesce("cluster_id", "fresh_id"))
    clusters = (labels.join(named.select("label", "cluster_id"), on="label")
                .with_columns(cluster_size=pl.len().over("cluster_id").cast(pl.Int64))
                .select("cluster_id", "account_id", "cluster_size")
                .sort("cluster_id", "account_id"))
    return clusters, _lineage(named, overlaps, previous)


def _lineage(named: pl.DataFrame, overlaps: pl.DataFrame,
             previous: pl.DataFrame | None) -> pl.DataFrame:
    """One event per (cluster, related previous cluster): new, continued, grew, shrank,
    changed, merged (a previous cluster absorbed), split (a piece of a previous one)."""
    sizes = named.select("label", "cluster_id", n_accounts=pl.col("members").list.len())
    prev_sizes = (previous.group_by("cluster_id").len("previous_size")
                  .rename({"cluster_id": "previous_id"})
                  if previous is not None and previous.height else
                  pl.DataFrame(schema={"previous_id": pl.String, "previous_size": pl.UInt32}))
    related = (overlaps.join(sizes, on="label")
               .join(prev_sizes, on="previous_id", how="left")
               .with_columns(event=pl.when(pl.col("previous_id") == pl.col("cluster_id"))
                             .then(pl.when((pl.col("overlap") == pl.col("n_accounts"))
                                           & (pl.col("overlap") == pl.col("previous_size")))
                                   .then(pl.lit("continued"))
                                   .when(pl.col("overlap") == pl.col("previous_size"))
                                   .then(pl.lit("grew"))
                                   .when(pl.col("overlap") == pl.col("n_accounts"))
                                   .then(pl.lit("shrank"))
                                   .otherwise(pl.lit("changed")))
                             .when(pl.col("previous_id").is_in(sizes["cluster_id"].implode()))
                             .then(pl.lit("split"))
                             .otherwise(pl.lit("merged")))
               .select("cluster_id", "event", "previous_id",
                       pl.col("overlap").cast(pl.Int64), pl.col("n_accounts").cast(pl.Int64)))
    new = (sizes.join(overlaps.select("label").unique(), on="label", how="anti")
           .select("cluster_id", event=pl.lit("new"), previous_id=pl.lit(None, pl.String),
                   overlap=pl.lit(0, pl.Int64), n_accounts=pl.col("n_accounts").cast(pl.Int64)))
    return pl.concat([related, new]).sort("cluster_id", "event", "previous_id")


def _previous_clusters(db: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    exists = db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'clusters'"
                        ).fetchall()[0][0]
    if not exists:
        return None
    return db.sql("SELECT cluster_id, account_id FROM clusters").pl()


def _record_lineage(db: duckdb.DuckDBPyConnection, lineage: pl.DataFrame) -> None:
    """Append this run's lineage, replacing an earlier attempt of the same run."""
    db.execute("CREATE TABLE IF NOT EXISTS cluster_lineage (run_id VARCHAR, cluster_id VARCHAR, "
               "event VARCHAR, previous_id VARCHAR, overlap BIGINT, n_accounts BIGINT)")
    db.register("new_lineage", lineage.select("run_id", "cluster_id", "event", "previous_id",
                                              "overlap", "n_accounts").to_arrow())
    db.execute("DELETE FROM cluster_lineage WHERE run_id IN (SELECT run_id FROM new_lineage)")
    db.execute("INSERT INTO cluster_lineage SELECT * FROM new_lineage")
    db.unregister("new_lineage")
