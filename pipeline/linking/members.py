"""Member tests: whether an account belongs with a group of accounts, by what it shares.

In: a grouping of the window's accounts (account_id, label), ``account_shared_key``,
``account_link_null`` and the pair evidence of ``pipeline.linking.linking``. Out (frames):
each community with only the members its other accounts explain (``confirm_members``), and
how strongly a fragment linking left apart is tied to a flagged case's accounts
(``fragment_ties``, for ``pipeline.detection.scoring``'s join rule).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import polars as pl

from pipeline.linking.surprise import (
    binomial_surprise,
    count_surprise,
    fisher_surprise,
    hochberg_bar,
)

SUPPORTING_FAMILIES: tuple[str, ...] = ("client",)
"""Families that add to the evidence but never corroborate it: a user agent and a default
system prompt are what every customer of one SDK sends, so two families of evidence must
come from elsewhere (registration, network, content, timing)."""

REGISTRANT_KINDS: tuple[str, ...] = ("payment_fingerprint", "creation_wave")
"""Kinds that are one registrant at any count: a payment card is one payer, and a creation
wave (``creation_wave``: far more accounts made in adjacent minutes than the window's own
creation rate allows) is, most likely, one registrant's batch. Their holders link as a
star from the first holder and take the edge bound; a card's holders are joined whatever
Leiden and the member test say, a wave's unless a community the member test confirmed
holds them and it is neither the wave's home nor its fragment (``join_card_holders``);
"card" below means either."""

CORRELATED_KINDS: dict[str, str] = {
    "same_prompt": "prompt", "prompt_band": "prompt",
    "user_agent": "client", "system_hash": "client",
    "created_burst": "creation", "creation_wave": "creation",
}
"""Kinds that see one observation twice, by group: a prompt sent exactly is also a band
coincidence, and a client's user agent and its default system prompt are one piece of
software; a creation wave is made of creation buckets. Of each group a pair (or a member)
keeps only the stronger kind: it counts once."""


def drop_correlated(evidence: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """``evidence`` (rows with key_type and surprise) without the weaker kinds of each
    correlated group, per ``by`` (a pair, or a member)."""
    kinds = (evidence.filter(pl.col("key_type").is_in(list(CORRELATED_KINDS)))
             .group_by(*by, "key_type").agg(kind_surprise=pl.col("surprise").sum())
             .with_columns(group=pl.col("key_type").replace_strict(CORRELATED_KINDS)))
    weaker = (kinds.filter(pl.len().over(*by, "group") > 1)
              .sort(*by, "group", "kind_surprise", "key_type",
                    descending=[False] * (len(by) + 1) + [True, False])
              .filter(pl.int_range(pl.len()).over(*by, "group") > 0)
              .select(*by, "key_type"))
    return evidence.join(weaker, on=[*by, "key_type"], how="anti")


def confirm_members(labels: pl.DataFrame, evidence: pl.DataFrame,
                    pairs: pl.DataFrame, keys: KeyCodes,
                    threshold: dict[str, float | int], *, families: dict[str, str],
                    dispersion: float = 1e9, rounds: int = 2,
                    second: str = "bonferroni",
                    only: pl.Series | None = None) -> pl.DataFrame:
    """Keep in each community only the accounts the rest of it explains: (account_id,
    label, member_surprise), an account that fails becoming a community of its own.

    Leiden groups accounts whose pairs are denser in evidence than the resolution; an
    account can ride along on a few weak pairs. Each member is therefore tested on whether
    the distinct keys it shares (``keys``: ``account_shared_key``) fall on the rest of its
    community more often than chance would put them there (``_key_tests``: a binomial tail
    per kind; failovers as events against their chance means), the kinds combined by
    Fisher's method. What it shares with its own card's holders is left out
    (``_payers``): they are joined afterwards anyway, and two enterprises Leiden put
    together would otherwise each hold their members in. It stays when that reaches
    -log10(alpha / window accounts) and so does its second strongest evidence ``family``
    on its own (key type to family): one explanation alone (a topic's heavy users, one
    NAT, one cloud range) is not an operator, and "client" evidence supports but never
    corroborates. The second family's bar is the same Bonferroni bound, or with
    ``second="hochberg"`` the Benjamini-Hochberg bar at alpha over the window's accounts
    (``hochberg_bar``): the same bound when one account shows a second family, lower when
    many do. It also stays when one of its pairs inside the community links on its
    own (``pairs.is_edge``) without a card, to a member that passes the test, or to anyone
    in a community where nobody passes it: that is how a community of two or three
    stands, while a team linked among itself does not ride inside another's community. A
    card does not keep an account in a community: card holders are joined to each other
    afterwards (``join_card_holders``), so an enterprise's card cannot hold it inside a
    campaign's community. Tested again after the failures leave, ``rounds`` times.

    ``only``: test just the communities holding these accounts, the others coming out
    alone (``waves.Confirmations`` has their tests): with the Bonferroni bar a test reads
    no other community, so each is the one the whole call makes (Hochberg's reads all).
    """
    member_edge = math.log10(max(int(threshold["account_count"]), 1)) \
        - math.log10(float(threshold["alpha"]))
    failovers = _directed(evidence.filter(pl.col("key_type") == "failover").select(
        "account_a", "account_b", "key_type", "stratum", "shared_count", "expected_count"))
    edges = pairs.filter("is_edge").join(card_pairs(evidence), on=["account_a", "account_b"],
                                         how="anti")
    strong = _directed(edges.select("account_a", "account_b"))
    failover_floor = float(failovers["expected_count"].min() or 0.0)
    holders = _holders(keys, _payers(evidence, labels["account_id"]))
    current = labels.with_columns(member_surprise=pl.lit(None, pl.Float64))
    chosen = (None if only is None else labels.filter(pl.col("label").is_in(
        labels.filter(pl.col("account_id").is_in(only.implode()))["label"].implode())))
    for _ in range(rounds):
        label = current.select("account_id", "label")
        size = label.group_by("label").len("n")
        subset = None if chosen is None else label.join(chosen, on="account_id", how="semi")
        members = _member_surprise(pl.concat([
            _key_tests(holders, label, subset),
            _failover_tests(failovers, label, failover_floor, dispersion),
        ], how="vertical_relaxed"), families).drop("label")
        second_edge = member_edge if second == "bonferroni" else hochberg_bar(
            members["second_surprise"].to_numpy(), float(threshold["alpha"]),
            tests=int(threshold["account_count"]))
        tested = (label.join(members, on="account_id", how="left")
                  .with_columns(passes=(pl.col("member_surprise") >= member_edge)
                                & (pl.col("second_surprise") >= second_edge))
                  .with_columns(pl.col("passes").fill_null(False))
                  .with_columns(settled=pl.col("passes").any().over("label")))
        partners = (_inside(strong, label)
                    .join(tested.select(other="account_id", other_passes="passes"), on="other")
                    .join(tested.select("account_id", "settled"), on="account_id")
                    .filter(pl.col("other_passes") | ~pl.col("settled"))
                    .select("account_id").unique().with_columns(strong=pl.lit(True)))
        current = (current.drop("member_surprise")
                   .join(tested.select("account_id", "member_surprise", "passes"),
                         on="account_id", how="left")
                   .join(partners, on="account_id", how="left")
                   .join(size, on="label")
                   .with_columns(stays=(pl.col("n") > 1)
                                 & (pl.col("passes") | pl.col("strong").fill_null(False))))
        alone = -1 - pl.int_range(pl.len())
        current = (current.sort("account_id")
                   .with_columns(label=pl.when("stays").then("label").otherwise(alone))
                   .select("account_id", "label", "member_surprise"))
    return current


def _inside(pairs: pl.DataFrame, label: pl.DataFrame) -> pl.DataFrame:
    """The rows of (account_id, other, ...) whose two accounts share a label."""
    return (pairs.join(label, on="account_id")
            .join(label.rename({"account_id": "other", "label": "other_label"}), on="other")
            .filter(pl.col("label") == pl.col("other_label")))


def _directed(pairs: pl.DataFrame) -> pl.DataFrame:
    """Rows of (account_a, account_b, ...) once from each side: (account_id, other, ...)."""
    rest = [c for c in pairs.columns if c not in ("account_a", "account_b")]
    return pl.concat([
        pairs.select(pl.col("account_a").alias("account_id"),
                     pl.col("account_b").alias("other"), *rest),
        pairs.select(pl.col("account_b").alias("account_id"),
                     pl.col("account_a").alias("other"), *rest),
    ])


def card_pairs(evidence: pl.DataFrame) -> pl.DataFrame:
    """(account_a, account_b) of every card (``REGISTRANT_KINDS``): a star from the card's
    first account."""
    return (evidence.filter(pl.col("key_type").is_in(REGISTRANT_KINDS))
            .select("account_a", "account_b").unique())


def _sums(frame: pl.DataFrame, by: list[str], column: str, name: str) -> pl.DataFrame:
    return frame.group_by(by).agg(pl.col(column).sum().alias(name))


def _counts(frame: pl.DataFrame, by: list[str], name: str) -> pl.DataFrame:
    return frame.group_by(by).len(name)


class _Holders(NamedTuple):
    """Who holds each key, counted by payer (``_holders``): the part of the member test
    that every round and every grouping of one set of tests shares, built once (1.4 s of
    each 3.6 s test on the ``seedday`` window). Accounts, kinds, keys, units, locales and
    payers are integer codes in the order of their strings (``accounts`` and ``kinds``
    decode an account and a kind)."""

    rows: pl.DataFrame
    keyed: pl.DataFrame
    starters: pl.DataFrame
    activity: pl.DataFrame
    accounts: pl.DataFrame
    kinds: pl.DataFrame


class KeyCodes(NamedTuple):
    """The window's ``account_shared_key`` and ``account_link_null`` on integer codes
    (``key_codes``): what no grouping changes, encoded once for every member test that
    reads the same tables (once for linking's confirmations, once for scoring and the
    cohorts; encoded by each test, it was 1 s of each of nine 1.8 s ``_holders`` on the
    ``seedday`` window). Accounts, kinds, keys, units and locales are codes in the order of
    their strings, so a test sorts and sums as it would on the strings."""

    shared: pl.DataFrame
    null: pl.DataFrame
    accounts: pl.DataFrame
    kinds: pl.DataFrame

    def account_ids(self) -> pl.Series:
        """The accounts that hold a key or an activity here, sorted."""
        held = pl.concat([self.shared["account_id"], self.null["account_id"]]).unique()
        return self.accounts.filter(pl.col("code").is_in(held.implode()))["account_id"]

    def without(self, kinds: list[str]) -> KeyCodes:
        """The same codes with the rows of ``kinds`` left out: a subset keeps every
        code's order, so a test on it is the test on the subset's strings."""
        dropped = self.kinds.filter(pl.col("key_type").is_in(kinds))["code"].implode()
        return self._replace(shared=self.shared.filter(~pl.col("key_type").is_in(dropped)),
                             null=self.null.filter(~pl.col("key_type").is_in(dropped)))


def key_codes(shared: pl.DataFrame, null: pl.DataFrame,
              accounts: pl.Series | None = None) -> KeyCodes:
    """``shared`` (``account_shared_key``) and ``null`` (``account_link_null``) encoded,
    ``accounts`` given a code too when some of them hold no key (a community's members).

    The member test joins and groups these rows by account, key and payer several times a
    round; integers do that about twice as fast as strings. Each code keeps its string's
    order, so ``_canonical`` sorts the rows as it would the strings and every sum adds in
    the same order: the same bytes."""
    extra = [pl.DataFrame({"account_id": accounts})] if accounts is not None else []
    account_codes = _codes(shared, null, *extra, column="account_id")
    kinds = _codes(shared, null, column="key_type")
    return KeyCodes(
        _encoded(_encoded(shared, account_codes), kinds).with_columns(
            _order_code("key_value"), _order_code("unit"), _order_code("locale")),
        _encoded(_encoded(null, account_codes), kinds), account_codes, kinds)


def _holders(keys: KeyCodes, payer: pl.DataFrame) -> _Holders:
    """The keys' rows (``key_codes``) with each row's payer (``_payers``) and how many
    others hold its key (others than the payer's accounts); the starters of each locale;
    each account's activity per kind (``account_link_null``)."""
    key, local = ["key_type", "key_value"], ["key_type", "locale"]
    payer = _encoded(payer, keys.accounts).with_columns(_order_code("payer"))
    rows = keys.shared.join(payer, on="account_id")
    keyed = (rows.join(_counts(rows, key, "n"), on=key)
             .join(_counts(rows, [*key, "payer"], "n_payer"), on=[*key, "payer"])
             .with_columns(others=pl.col("n") - pl.col("n_payer")))
    starters = (keyed.filter(pl.col("others") > 0, pl.col("locale").is_not_null())
                .select("account_id", "payer", *local).unique())
    activity = (keys.null.select("account_id", "key_type", "key_count", "type_incidences")
                .unique().join(payer, on="account_id"))
    return _Holders(rows, keyed, starters, activity, keys.accounts, keys.kinds)


def _codes(*frames: pl.DataFrame, column: str) -> pl.DataFrame:
    """(``column``, code): every value of ``column`` in ``frames`` numbered in its order."""
    values = pl.concat([f[column] for f in frames]).unique().sort()
    return pl.DataFrame({column: values, "code": np.arange(len(values), dtype=np.uint32)})


def _encoded(frame: pl.DataFrame, codes: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the column of ``codes`` replaced by each value's code."""
    column = codes.columns[0]
    return (frame.join(codes, on=column, how="left", maintain_order="left")
            .with_columns(pl.col("code").alias(column)).drop("code"))


def _decoded(frame: pl.DataFrame, codes: pl.DataFrame, column: str) -> pl.DataFrame:
    """``frame`` with the codes in ``column`` replaced by the values of ``codes``."""
    decode = codes.select(pl.col("code").alias(column), value=codes.columns[0])
    return (frame.join(decode, on=column, how="left", maintain_order="left")
            .with_columns(pl.col("value").alias(column)).drop("value"))


def _order_code(column: str) -> pl.Expr:
    """``column``'s values as integers in their own order (nulls stay null)."""
    return pl.col(column).rank("dense").cast(pl.UInt32)


UNIT = ["tested_as", "label", "key_type", "unit"]
"""What ``_key_tests`` counts once: a unit's keys, for one tested account and community."""


BATCH_ROWS = 4_000_000
"""Key rows (a tested account's keys, once per case it is tested against) one batch of
``_key_tests`` joins at most. Seed 1952501016 of sweep AI, its merge rounds testing the
pieces of a 4,649-account campaign against every larger case at once, passed 23 GB and
was killed; tested in batches, each test is the same (it needs only its own rows)."""


def _key_tests(holders: _Holders, label: pl.DataFrame,
               tested: pl.DataFrame | None = None) -> pl.DataFrame:
    """``_batch_tests`` over ``tested`` in batches of whole tests (a tested account or
    cluster against one label) of at most ``BATCH_ROWS`` key rows each, a test larger
    than that alone: memory bounded by the batch, not by the clusters times the cases."""
    if tested is None:
        return _batch_tests(holders, label)
    as_one = "tested_as" if "tested_as" in tested.columns else "account_id"
    held = (holders.keyed.filter(pl.col("others") > 0).group_by("account_id").len("rows")
            .pipe(_decoded, holders.accounts, "account_id"))
    batch = (tested.join(held, on="account_id", how="left")
             .group_by(as_one, "label").agg(pl.col("rows").sum())
             .sort(as_one, "label")
             .select(as_one, "label", batch=pl.col("rows").cum_sum() // BATCH_ROWS))
    parts = tested.join(batch, on=[as_one, "label"]).partition_by(
        "batch", maintain_order=True, include_key=False)
    if len(parts) < 2:
        return _batch_tests(holders, label, tested)
    return pl.concat([_batch_tests(holders, label, part) for part in parts])


def _batch_tests(holders: _Holders, label: pl.DataFrame,
                 tested: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per member (``label``: account_id, label) and kind: whether the accounts it shares
    keys with (``account_shared_key``) are of its community more often than chance. Under
    the null each co-holder of a key is one account drawn at random, of the community
    with probability q: the community's share of the window's keys of that kind (its
    activity), or, for a key with a ``locale`` (the hour of a start), its share of the
    locale's holders. Of the T co-holders of the account's keys, H are of its community; the
    surprise is the binomial tail P(H or more of T) at the mean q, which bounds the exact
    (Poisson-binomial) tail from above once H is past its mean by one (Hoeffding, 1956):
    below that the surprise is a fraction of one, far under any bar. A unit (the hours of
    one prefix, the days of one band) counts its co-holders once, at its busiest key, so a
    carrier's prefix shared hour after hour with the nine accounts of a campaign riding the
    carrier's pool is nine co-holders, not nine an hour; the hour's locale does the same
    for starts, where a campaign working around the clock is most of who starts. Accounts of
    the member's own card (``_payers``) are neither co-holders nor in q: they are joined
    afterwards anyway. ``tested`` (account_id, label): the tests (default: each account of
    ``label`` against its own; ``fragment_ties``: against others), the accounts of one
    ``tested_as`` as one (``cluster_ties``). Columns: account_id (or ``tested_as``), label,
    key_type, stratum (0), surprise. Each count of a community (its holders of a key, of
    a locale, its activity) reads only its own accounts, so only the communities tested
    against are counted."""
    if tested is not None:
        label = label.join(tested.select("label").unique(), on="label", how="semi")
    label = _encoded(label, holders.accounts)
    tested = label if tested is None else _encoded(tested, holders.accounts)
    groups = _codes(tested, column="tested_as") if "tested_as" in tested.columns else None
    if groups is not None:
        tested = _encoded(tested, groups)
    as_one = pl.col("account_id" if groups is None else "tested_as")
    key, local = ["key_type", "key_value"], ["key_type", "locale"]
    keyed, starters, activity = holders.keyed, holders.starters, holders.activity
    grouped = holders.rows.join(label, on="account_id")
    held = (tested.with_columns(tested_as=as_one)
            .join(keyed.filter(pl.col("others") > 0), on="account_id")
            .join(_counts(grouped, [*key, "label"], "g"), on=[*key, "label"], how="left")
            .join(_counts(grouped, [*key, "label", "payer"], "g_payer"),
                  on=[*key, "label", "payer"], how="left")
            .with_columns(inside=pl.col("g").fill_null(0) - pl.col("g_payer").fill_null(0)))
    in_group = starters.join(label, on="account_id")
    located = (held.filter(pl.col("locale").is_not_null())
               .select("account_id", "label", "payer", *local).unique()
               .join(_counts(starters, local, "l"), on=local)
               .join(_counts(starters, [*local, "payer"], "l_payer"), on=[*local, "payer"])
               .join(_counts(in_group, [*local, "label"], "lg"), on=[*local, "label"],
                     how="left")
               .join(_counts(in_group, [*local, "label", "payer"], "lg_payer"),
                     on=[*local, "label", "payer"], how="left")
               .select("account_id", "label", *local, q=(
                   pl.col("lg").fill_null(0) - pl.col("lg_payer").fill_null(0))
                   / (pl.col("l") - pl.col("l_payer"))))
    members = activity.join(label, on="account_id")
    window = (tested.join(activity, on="account_id")
              .join(_sums(members, ["label", "key_type"], "key_count", "group_d"),
                    on=["label", "key_type"], how="left")
              .join(_sums(members, ["label", "payer", "key_type"], "key_count", "mates_d"),
                    on=["label", "payer", "key_type"], how="left")
              .join(_sums(activity, ["payer", "key_type"], "key_count", "payer_d"),
                    on=["payer", "key_type"])
              .select("account_id", "label", "key_type", window_q=(
                  (pl.col("group_d").fill_null(0) - pl.col("mates_d").fill_null(0))
                  / (pl.col("type_incidences") - pl.col("payer_d"))).fill_nan(0.0)))
    units = (held.join(located, on=["account_id", "label", *local], how="left")
             .join(window, on=["account_id", "label", "key_type"], how="left")
             .with_columns(q=pl.coalesce("q", "window_q", pl.lit(0.0)).clip(0.0, 1.0))
             .pipe(_canonical, UNIT)
             .group_by(*UNIT, maintain_order=True).agg(
                 weight=pl.col("unit_weight").first(),
                 others=pl.col("others").max(),
                 inside=pl.col("inside").max(),
                 q=(pl.col("q") * pl.col("others")).sum() / pl.col("others").sum()))
    tests = _decoded(_binomial_tests(units), holders.kinds, "key_type")
    return _decoded(tests, holders.accounts if groups is None else groups, "account_id")


def _binomial_tests(units: pl.DataFrame) -> pl.DataFrame:
    """Per tested account (or cluster) and kind, the binomial tail of its hits among its
    trials at the mean share of its units (``_key_tests``: one row per ``UNIT``, in its
    order, so each sum adds in one order)."""
    tested = units.group_by("tested_as", "label", "key_type").agg(
        trials=(pl.col("weight") * pl.col("others")).sum(),
        hits=(pl.col("weight") * pl.col("inside")).sum(),
        share=(pl.col("weight") * pl.col("others") * pl.col("q")).sum()
        / (pl.col("weight") * pl.col("others")).sum(),
    ).filter(pl.col("hits") > 0).sort("tested_as", "key_type")
    return tested.select(pl.col("tested_as").alias("account_id"), "label", "key_type",
                         stratum=pl.lit(0)).with_columns(
        surprise=pl.Series(binomial_surprise(tested["hits"].to_numpy(),
                                             tested["trials"].to_numpy(),
                                             tested["share"].to_numpy()), dtype=pl.Float64))


def _canonical(frame: pl.DataFrame, first: list[str]) -> pl.DataFrame:
    """``frame`` in the order of all its columns, ``first`` first. A group keeps the order
    of its rows, and the joins before it may hand them over in another order on another
    run: floating-point sums in another order end in other digits (a few of the
    ``seedday`` window's 4,482 ``case_test`` ties moved by 5e-15 from one run to the
    next). Grouped by ``first`` with ``maintain_order``, the groups come out in their key's
    order too, which spares a second sort of as many rows (6 to 9 s of 15 to 20 M units
    per tie round on a 460 k-row window)."""
    return frame.sort([*first, *(c for c in frame.columns if c not in first)])


def cluster_ties(keys: KeyCodes, evidence: pl.DataFrame, cases: pl.DataFrame,
                 tested: pl.DataFrame, families: dict[str, str]) -> pl.DataFrame:
    """The member test of each cluster as a whole against each case it is to be tested
    against (``tested``: account_id, cluster_id, label; the case's accounts ``cases``:
    account_id, label, the cluster none of them): (cluster_id, label, tie_surprise,
    second_surprise, tie_families: each family's surprise, strongest first). Of the
    co-holders of the cluster's keys outside the cluster (its accounts and their cards'
    other holders are one payer here, so their sharing among themselves is neither a
    trial nor in q), how many are the case's, a key counted once for the whole cluster.
    A cluster cut from a large campaign shares a little per account but much as a whole;
    counting each key once keeps its accounts' common keys from being counted as many
    trials."""
    cards = _payers(evidence, keys.account_ids())
    as_one = (cards.join(tested.select("account_id", "cluster_id"), on="account_id")
              .sort("payer", "cluster_id").unique("payer", keep="first")
              .select("payer", cluster=pl.lit("cluster:") + pl.col("cluster_id")))
    payer = cards.join(as_one, on="payer", how="left").select(
        "account_id", payer=pl.coalesce("cluster", "payer"))
    tests = _key_tests(_holders(keys, payer), cases,
                       tested.select("account_id", "label", tested_as="cluster_id"))
    return _member_surprise(tests, families).select(
        cluster_id="account_id", label="label", tie_surprise="member_surprise",
        second_surprise="second_surprise", tie_families="families").sort("cluster_id", "label")


def _payers(evidence: pl.DataFrame, accounts: pl.Series) -> pl.DataFrame:
    """(account_id, payer): the first account of the card it pays with, or itself. Card
    holders are joined afterwards whatever else they share (``join_card_holders``), so a
    member must be tied to its community by accounts other than its card's. An account
    with two stars (a card and a wave) takes the smaller first account: kept at random,
    its payer, and with it the member test, changed from run to run (sweep AU's
    1752545399 linked into three different partitions in three runs)."""
    hubs = (card_pairs(evidence).group_by("account_b")
            .agg(payer=pl.col("account_a").min()).rename({"account_b": "account_id"}))
    return (pl.DataFrame({"account_id": accounts}).join(hubs, on="account_id", how="left")
            .with_columns(payer=pl.coalesce("payer", "account_id")))


def _failover_tests(failovers: pl.DataFrame, label: pl.DataFrame, floor: float,
                    dispersion: float) -> pl.DataFrame:
    """Per member: its failovers with the rest of its community against their chance
    expectations, the pairs without a failover counting at the smallest expectation (a
    negative-binomial tail of size ``dispersion``). Columns: account_id, label, key_type,
    stratum, surprise."""
    size = label.group_by("label").len("n")
    observed = (_inside(failovers, label)
                .group_by("account_id", "label", "key_type", "stratum").agg(
                    shared=pl.col("shared_count").sum(),
                    pair_expected=pl.col("expected_count").sum(),
                    pairs=pl.len())
                .join(size, on="label")
                .with_columns(expected=pl.col("pair_expected")
                              + floor * (pl.col("n") - 1 - pl.col("pairs")).clip(0, None)))
    expected = observed["expected"].to_numpy()
    return observed.select("account_id", "label", "key_type", "stratum").with_columns(
        surprise=pl.Series(count_surprise(observed["shared"].to_numpy(), expected,
                                          np.full_like(expected, dispersion)),
                           dtype=pl.Float64))


def _member_surprise(tested: pl.DataFrame, families: dict[str, str]) -> pl.DataFrame:
    """Per member (account_id, label): Fisher over its tests (the stronger kind
    of each correlated group only), and the surprise of its second strongest family on its
    own, supporting families left out (``second_surprise``): a second, independent
    explanation; ``families`` names each family with its surprise, strongest first, so a
    decision says what it rested on."""
    kept = drop_correlated(tested, ["account_id", "label"]).with_columns(
        family=pl.col("key_type").replace_strict(families, default="other"))
    by_family = kept.group_by("account_id", "label", "family").agg(
        components=pl.len().cast(pl.Float64), summed=pl.col("surprise").sum())
    by_family = by_family.with_columns(family_surprise=pl.Series(fisher_surprise(
        by_family["summed"].to_numpy(), by_family["components"].to_numpy()), dtype=pl.Float64))
    ranked = by_family.sort("account_id", "label", "family_surprise", "family",
                            descending=[False, False, True, False])
    second = (ranked.filter(~pl.col("family").is_in(SUPPORTING_FAMILIES))
              .filter(pl.int_range(pl.len()).over("account_id", "label") == 1)
              .select("account_id", "label", second_surprise="family_surprise"))
    named = (ranked.group_by("account_id", "label", maintain_order=True)
             .agg(families=pl.format("{} {}", "family", pl.col("family_surprise").round(1))
                  .str.join(", ")))
    members = kept.group_by("account_id", "label").agg(
        components=pl.len().cast(pl.Float64),
        summed=pl.col("surprise").sum(),
    ).join(second, on=["account_id", "label"], how="left").with_columns(
        pl.col("second_surprise").fill_null(0.0))
    return members.with_columns(
        member_surprise=pl.Series(fisher_surprise(
            members["summed"].to_numpy(), members["components"].to_numpy()),
            dtype=pl.Float64),
    ).join(named, on=["account_id", "label"], how="left").select(
        "account_id", "label", "member_surprise", "second_surprise", "families")


def fragment_ties(keys: KeyCodes, evidence: pl.DataFrame, cases: pl.DataFrame,
                  tested: pl.DataFrame, families: dict[str, str]) -> pl.DataFrame:
    """The member test of each fragment account against each case it is to be tested
    against (``tested``: account_id, label), the case's accounts being ``cases``
    (account_id, label) and the fragment none of them: (account_id, label, tie_surprise,
    second_surprise), Fisher over its kinds and the second strongest family on its own, as
    in ``confirm_members``. ``evidence`` needs only the card rows (``REGISTRANT_KINDS``),
    which say whose sharing is one payer's."""
    tests = _key_tests(_holders(keys, _payers(evidence, keys.account_ids())), cases, tested)
    return _member_surprise(tests, families).select(
        "account_id", "label", tie_surprise="member_surprise",
        second_surprise="second_surprise").sort("account_id", "label")
