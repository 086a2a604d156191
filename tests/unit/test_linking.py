"""Linking's parts on frames built in code: the surprise of shared keys, the edge threshold,
member confirmation, stable cluster ids and lineage, and the SQL of link keys; and that every
evidence kind has a world where it must link and one where it must not (the worlds, which
run the per-day and linking stages, are in ``tests/integration/test_linking_integration.py``)."""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from pipeline.errors import ForensicsError
from pipeline.linking import members
from pipeline.linking.cohorts import harvest_cohorts
from pipeline.linking.lineage import assign_cluster_ids
from pipeline.linking.linking import (
    LinkParams,
    cluster_accounts,
    combine_evidence,
    creation_waves,
    detect_communities,
    edge_threshold,
    join_card_holders,
)
from pipeline.linking.members import _payers, cluster_ties, confirm_members, key_codes
from pipeline.linking.surprise import (
    binomial_surprise,
    count_surprise,
    fisher_surprise,
    hochberg_bar,
    poisson_surprise,
)
from pipeline.linking.waves import (
    Confirmations,
    moved_by,
    weigh_wave_holders,
    without_waves_of,
)
from pipeline.warehouse import sql_text

from conftest import labels


def test_count_surprise_is_the_negative_binomial_tail_and_survives_underflow():
    one = count_surprise(np.array([1.0]), np.array([0.1]), np.array([1.0]))[0]
    assert one == pytest.approx(-np.log10(0.1 / 1.1))
    near_poisson = count_surprise(np.array([1.0]), np.array([0.1]), np.array([1e9]))[0]
    assert near_poisson == pytest.approx(-np.log10(1 - np.exp(-0.1)), rel=1e-4)
    assert count_surprise(np.array([0.5]), np.array([50.0]), np.array([1.0]))[0] < 0.01
    deep = count_surprise(np.array([40.0, 41.0]), np.array([0.01, 0.01]), np.array([1e9] * 2))
    assert np.isfinite(deep).all() and deep[1] > deep[0] > 100


def test_a_threefold_excess_on_a_large_expectation_is_weak_and_forty_rare_are_not():
    """Heavy users of one corpus: 600 shared against 180 expected; forty rare prompts
    against 0.5 expected."""
    heavy, rare = count_surprise(np.array([600.0, 40.0]), np.array([180.0, 0.5]),
                                 np.array([1.0, 1.0]))
    assert heavy < 2 < 15 < rare


def test_fisher_surprise_of_one_component_is_that_component_and_many_weak_add_up():
    assert fisher_surprise(np.array([7.3]), np.array([1.0]))[0] == pytest.approx(7.3)
    assert fisher_surprise(np.array([2.0]), np.array([2.0]))[0] < 2.0
    assert fisher_surprise(np.array([20.0]), np.array([10.0]))[0] > 8.0


def test_the_edge_threshold_grows_with_the_pairs_of_the_window():
    assert edge_threshold(1_000, 0.01)["edge_surprise"] == pytest.approx(7.70, abs=0.01)
    assert edge_threshold(100_000, 0.01)["edge_surprise"] == pytest.approx(11.70, abs=0.01)


def test_link_key_counts_a_band_by_its_accounts_over_the_window():
    """Golden case of sql/linking/link_key.sql: a band-day two accounts hold is a key; its
    popularity and weight are those of the band over the window (three accounts on two
    days), and a key one account holds is none."""
    con = duckdb.connect()
    con.execute("CREATE TABLE account_link_key (account_id VARCHAR, key_type VARCHAR, "
                "key_value VARCHAR, popular_as VARCHAR)")
    con.executemany("INSERT INTO account_link_key VALUES (?, ?, ?, ?)", [
        ("x", "prompt_band", "17 2026-04-01", "17"), ("y", "prompt_band", "17 2026-04-01", "17"),
        ("z", "prompt_band", "17 2026-04-02", "17"), ("x", "prompt_band", "18 2026-04-02", "18"),
        ("w", "email_domain", "d.example", None), ("z", "email_domain", "d.example", None),
        ("y", "email_domain", "y.example", None),
    ])
    rows = con.execute(sql_text("link_key")).fetchall()
    assert [r[:4] for r in rows] == [("email_domain", "d.example", 2, 0),
                                     ("prompt_band", "17 2026-04-01", 3, 1)]
    assert [r[4] for r in rows] == pytest.approx([math.log10(3 / 1), math.log10(3 / 2)])


def test_client_evidence_adds_to_a_pair_but_not_to_the_graph():
    """A shared SDK (user agent) strengthens a pair's own surprise but not its weight in
    the account graph, where it would chain every customer of one client."""
    evidence = pl.DataFrame({
        "account_a": ["a", "a", "c"], "account_b": ["b", "b", "d"],
        "family": ["client", "timing", "client"],
        "key_type": ["user_agent", "sync_start", "user_agent"],
        "surprise": [5.0, 2.0, 6.0],
    })
    pairs = combine_evidence(evidence, edge_threshold(100, 0.01))
    ab, cd = pairs.row(0, named=True), pairs.row(1, named=True)
    assert ab["surprise"] > 5.0 and ab["graph_surprise"] == pytest.approx(2.0)
    assert cd["surprise"] == pytest.approx(6.0) and cd["graph_surprise"] == 0.0


def test_a_pair_links_alone_on_a_card_two_corroborating_families_or_a_timed_kind():
    """``is_edge`` past the bound: a card; two families that are not client software; a
    timed kind by itself. One family twice over, or one family and a client, does not link
    alone; ``families`` lists each pair's families once, sorted, whatever the row order."""
    threshold = edge_threshold(100, 0.01)
    strong = float(threshold["edge_surprise"]) * 2
    rows = [
        ("e", "f", "timing", "sync_start", strong), ("e", "f", "content", "prompt_band", strong),
        ("a", "b", "registry", "payment_fingerprint", 0.1),
        ("c", "d", "content", "prompt_band", strong), ("c", "d", "client", "user_agent", strong),
        ("g", "h", "content", "same_prompt", strong),
        ("i", "j", "infrastructure", "ip_prefix_hour", strong),
        ("i", "j", "infrastructure", "ip_prefix_hour", strong),
    ]
    evidence = pl.DataFrame(rows, schema=["account_a", "account_b", "family", "key_type",
                                          "surprise"], orient="row")
    pairs = combine_evidence(evidence, threshold)
    assert pairs.select("account_a", "account_b", "families", "is_edge").rows() == [
        ("a", "b", ["registry"], True),
        ("c", "d", ["client", "content"], False),
        ("e", "f", ["content", "timing"], True),
        ("g", "h", ["content"], True),
        ("i", "j", ["infrastructure"], False),
    ]
    assert pairs.filter(pl.col("account_a") == "i")["components"].to_list() == [2]


FAMILY = {"same_prompt": "content", "prompt_band": "content", "sync_start": "timing",
          "ip_prefix_hour": "infrastructure", "user_agent": "client",
          "payment_fingerprint": "registry"}


def member_frames(names: list[str], shares: dict[str, list[tuple[str, str, float]]]
                  ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(evidence, null, shared) of a window of ``names``, every account holding 10 keys of
    each kind in ``shares`` (kind -> (account, other, shared count)): each shared thing
    is a key of its own that the two accounts hold."""
    evidence = pl.DataFrame([
        {"account_a": min(a, b), "account_b": max(a, b), "family": FAMILY[kind],
         "key_type": kind, "stratum": 0, "shared_count": n, "expected_count": 0.01,
         "p_value": 0.01, "surprise": 2.0}
        for kind, rows in shares.items() for a, b, n in rows])
    null = pl.DataFrame([
        {"account_id": name, "key_type": kind, "stratum": 0, "key_count": 10,
         "coholder_count": 1, "type_incidences": 10 * len(names)}
        for name in names for kind in shares])
    shared = pl.DataFrame([
        {"account_id": holder, "key_type": kind, "key_value": f"{a} {b} {i}",
         "unit": f"{a} {b} {i}", "unit_weight": 1.0, "locale": None}
        for kind, rows in shares.items() if kind != "payment_fingerprint"
        for a, b, n in rows for i in range(int(n)) for holder in (a, b)])
    return evidence, null, shared


def strong_pairs(strong: list[tuple[str, str]]) -> pl.DataFrame:
    """``combine_evidence``'s pairs, reduced to the ``strong`` ones (``is_edge``)."""
    return pl.DataFrame({"account_a": [min(p) for p in strong],
                         "account_b": [max(p) for p in strong],
                         "is_edge": [True] * len(strong)},
                        schema={"account_a": pl.String, "account_b": pl.String,
                                "is_edge": pl.Boolean})


def member_world(community: int, others: int, shares: dict[str, list[tuple[str, str, float]]],
                 strong: list[tuple[str, str]] = (), second: str = "bonferroni"
                 ) -> pl.DataFrame:
    """confirm_members on a window of ``community`` accounts m0.. (one Leiden community)
    and ``others`` accounts o0.. (each its own), with the keys of ``member_frames``; the
    ``strong`` pairs link on their own (``is_edge``)."""
    names = [f"m{i}" for i in range(community)] + [f"o{i}" for i in range(others)]
    labels = pl.DataFrame({"account_id": names,
                           "label": [0] * community + list(range(1, others + 1))})
    evidence, null, shared = member_frames(names, shares)
    threshold = edge_threshold(len(names), 0.01)
    return confirm_members(labels, evidence, strong_pairs(strong), key_codes(shared, null),
                           threshold, families=FAMILY, second=second)


def ring(prefix: str, size: int, reach: int) -> list[tuple[str, str, float]]:
    """Each account shares one thing with each of its next ``reach`` accounts."""
    return [(f"{prefix}{i}", f"{prefix}{(i + k) % size}", 1.0)
            for i in range(size) for k in range(1, reach + 1)]


def test_a_campaign_sharing_a_little_with_many_of_its_own_accounts_is_confirmed():
    """Must link: thirty accounts, each sharing a prompt and a synchronized start with
    eight others and with nobody outside: little per pair, all of it inside."""
    shares = {"same_prompt": ring("m", 30, 4), "sync_start": ring("m", 30, 4)}
    confirmed = member_world(30, 300, shares)
    assert confirmed.filter(pl.col("account_id").str.starts_with("m"))["label"] \
        .eq(0).all()


def test_a_members_test_is_its_own_whatever_the_accounts_are_called():
    """The member test numbers accounts, keys and payers in the order of their strings
    (``members._holders``): renaming the accounts so that they sort the other way round
    must leave every account with its own result, not its neighbour's."""
    shares = {"same_prompt": ring("m", 30, 4) + [(f"m{i}", f"m{i + 7}", 1.0)
                                                 for i in range(10)],
              "sync_start": ring("m", 30, 4) + [(f"m{i}", f"m{i + 11}", 1.0)
                                                for i in range(5, 19)]}
    confirmed = member_world(30, 300, shares)
    assert confirmed["member_surprise"].drop_nulls().n_unique() == 3
    rename = {f"{p}{i}": f"{'z' if p == 'm' else 'y'}{999 - i:03d}"
              for p, n in (("m", 30), ("o", 300)) for i in range(n)}
    back = {v: k for k, v in rename.items()}
    renamed = {kind: [(rename[a], rename[b], n) for a, b, n in rows]
               for kind, rows in shares.items()}
    names = sorted(rename.values(), key=lambda v: back[v][0] + f"{int(back[v][1:]):03d}")
    labels = pl.DataFrame({"account_id": names,
                           "label": [0 if back[n].startswith("m") else 1 + int(back[n][1:])
                                     for n in names]})
    evidence, null, shared = member_frames(names, renamed)
    again = confirm_members(labels, evidence, strong_pairs([]), key_codes(shared, null),
                            edge_threshold(len(names), 0.01), families=FAMILY)
    again = again.with_columns(pl.col("account_id").replace_strict(back))
    both = confirmed.join(again, on="account_id", suffix="_renamed")
    assert both.height == 330
    assert both["member_surprise"].fill_null(-1.0).to_list() == pytest.approx(
        both["member_surprise_renamed"].fill_null(-1.0).to_list())
    assert (both["label"] == 0).to_list() == (both["label_renamed"] == 0).to_list()


@pytest.mark.parametrize("second", ["bonferroni", "hochberg"])
def test_one_kind_of_evidence_however_concentrated_does_not_confirm_a_member(second):
    """Must not link: the same thirty accounts sharing prompts only (a topic's heavy
    users, a corpus) are one explanation, not an operator, whatever the second bar."""
    shares = {"same_prompt": ring("m", 30, 4)}
    confirmed = member_world(30, 300, shares, second=second)
    assert confirmed.filter(pl.col("label") == 0).is_empty()


def test_a_modest_second_family_shown_by_many_members_passes_benjamini_hochberg():
    """Sixty accounts each share prompts with twelve of their own and synchronized starts
    with four, in a window of 660: the starts alone are short of Bonferroni's bar for
    every member, which keeps the campaign apart; shown by all sixty they pass the
    Benjamini-Hochberg bar over the window's accounts (``member_second="hochberg"``)."""
    shares = {"same_prompt": ring("m", 60, 6), "sync_start": ring("m", 60, 2)}
    apart = member_world(60, 600, shares)
    together = member_world(60, 600, shares, second="hochberg")
    assert apart.filter(pl.col("label") == 0).is_empty()
    assert together.filter(pl.col("label") == 0)["account_id"].sort().to_list() == sorted(
        f"m{i}" for i in range(60))


def test_a_heavy_user_sharing_with_everyone_is_not_confirmed_by_its_share_inside():
    """Must not link: an account sharing 40 prompts and 40 starts across the window, four
    of each with the community, holds no more of it than its appetite predicts."""
    inside = ring("m", 30, 4)
    heavy = [("m0", f"o{i}", 1.0) for i in range(36)] + [("m0", f"m{i}", 1.0)
                                                         for i in (5, 9, 13, 17)]
    shares = {"same_prompt": inside + heavy, "sync_start": inside + heavy}
    confirmed = member_world(30, 300, shares)
    assert confirmed.filter(pl.col("account_id") == "m0")["label"].item() != 0
    assert confirmed.filter(pl.col("account_id") == "m1")["label"].item() == 0


def test_a_team_held_by_its_own_links_does_not_ride_inside_a_campaign():
    """Must not link: four accounts of one team (m30..m33) linked to each other on their
    own, put by Leiden in a campaign's community with which they share nothing, stay
    only beside a member the test confirms; the campaign's thirty stay."""
    team = [f"m{i}" for i in range(30, 34)]
    strong = [(a, b) for i, a in enumerate(team) for b in team[i + 1:]]
    shares = {"same_prompt": ring("m", 30, 4), "sync_start": ring("m", 30, 4)}
    confirmed = member_world(34, 300, shares, strong)
    inside = set(confirmed.filter(pl.col("label") == 0)["account_id"])
    assert inside == {f"m{i}" for i in range(30)}


def test_a_small_group_of_strong_links_stands_when_nobody_in_it_is_tested_in():
    """Must link: three accounts whose pairs each link on their own (a key pool, say) and
    whose member tests do not reach the bar make a community of their own."""
    strong = [("m0", "m1"), ("m0", "m2"), ("m1", "m2")]
    confirmed = member_world(3, 300, {"same_prompt": [("m0", "m1", 1.0)]}, strong)
    assert set(confirmed.filter(pl.col("label") == 0)["account_id"]) == {"m0", "m1", "m2"}


def beside_a_campaign(kind: str, locale: str | None) -> float:
    """A user u whom Leiden put in one community with nine campaign accounts c0..c8, among
    290 other accounts, every account holding 10 keys of ``kind``: u's only sharing is 8
    keys of one unit (a prefix's hours, say), each held with all nine campaign accounts,
    in ``locale``. Returns u's member surprise after one test."""
    campaign = [f"c{i}" for i in range(9)]
    names = ["u", *campaign] + [f"o{i}" for i in range(290)]
    labels = pl.DataFrame({"account_id": names, "label": [0] * 10 + list(range(1, 291))})
    shared = pl.DataFrame([
        {"account_id": holder, "key_type": kind, "key_value": f"k{h}", "unit": "unit-1",
         "unit_weight": 1.0, "locale": locale}
        for h in range(8) for holder in ["u", *campaign]])
    null = pl.DataFrame([
        {"account_id": name, "key_type": kind, "stratum": 0, "key_count": 10,
         "coholder_count": 1, "type_incidences": 10 * len(names)} for name in names])
    evidence = pl.DataFrame(schema={"account_a": pl.String, "account_b": pl.String,
                                    "key_type": pl.String, "stratum": pl.Int32,
                                    "shared_count": pl.Float64, "expected_count": pl.Float64})
    pairs = pl.DataFrame(schema={"account_a": pl.String, "account_b": pl.String,
                                 "is_edge": pl.Boolean})
    confirmed = confirm_members(labels, evidence, pairs, key_codes(shared, null),
                                edge_threshold(len(names), 0.01), families=FAMILY, rounds=1)
    return confirmed.filter(pl.col("account_id") == "u")["member_surprise"].item()


def test_ties_tested_in_batches_are_the_ties_tested_at_once(monkeypatch):
    """Three clusters (two fragments of a ring campaign and a pair of strangers) tested
    against two cases, in batches of one test each: the same frame, row for row, as all
    tests in one batch (a test needs only its own rows)."""
    names = [f"m{i}" for i in range(12)] + [f"o{i}" for i in range(40)]
    shares = {"same_prompt": ring("m", 12, 3),
              "sync_start": [*ring("m", 12, 2), ("o0", "m1", 1.0), ("o1", "m7", 1.0)]}
    evidence, null, shared = member_frames(names, shares)
    cases = pl.DataFrame({"account_id": [f"m{i}" for i in range(8)],
                          "label": [0] * 4 + [1] * 4})
    tested = pl.DataFrame({
        "account_id": ["m8", "m9", "m10", "m11", "o0", "o1"] * 2,
        "cluster_id": ["C1", "C1", "C2", "C2", "C3", "C3"] * 2,
        "label": [0] * 6 + [1] * 6})

    def ties() -> pl.DataFrame:
        return cluster_ties(key_codes(shared, null), evidence, cases, tested, FAMILY)

    at_once = ties()
    monkeypatch.setattr(members, "BATCH_ROWS", 1)
    assert at_once.height == 6
    assert ties().equals(at_once)


def two_communities() -> tuple[pl.DataFrame, Callable[[pl.DataFrame, pl.Series | None],
                                                     pl.DataFrame]]:
    """A ring campaign m0..m29 (label 0), a ring team t0..t11 that also shares a little
    with the campaign (label 1), and 200 accounts alone; and the member test on them
    (labels, only)."""
    names = ([f"m{i}" for i in range(30)] + [f"t{i}" for i in range(12)]
             + [f"o{i}" for i in range(200)])
    shares = {"same_prompt": ring("m", 30, 4) + ring("t", 12, 3) + [("t0", "m3", 1.0)],
              "sync_start": ring("m", 30, 4) + ring("t", 12, 2) + [("t5", "o9", 1.0)]}
    evidence, null, shared = member_frames(names, shares)
    labels = pl.DataFrame({"account_id": names,
                           "label": [0] * 30 + [1] * 12 + list(range(2, 202))})
    keys, threshold = key_codes(shared, null), edge_threshold(len(names), 0.01)

    def confirm(grouping: pl.DataFrame, only: pl.Series | None) -> pl.DataFrame:
        return confirm_members(grouping, evidence, strong_pairs([]), keys, threshold,
                               families=FAMILY, only=only)

    return labels, confirm


def test_the_member_test_of_one_community_is_its_test_among_all():
    """A community tested alone (``only``) gets, member by member, what the test of every
    community gives it; the communities not tested come out alone."""
    labels, confirm = two_communities()
    every = confirm(labels, None)
    team = confirm(labels, pl.Series(["t4"]))
    assert every.filter(pl.col("label") == 1).height == 12
    assert team.filter(pl.col("account_id").str.starts_with("t")).equals(
        every.filter(pl.col("account_id").str.starts_with("t")))
    assert (team.filter(pl.col("account_id").str.starts_with("m"))["label"] < 0).all()


def test_the_pass_after_leaving_tests_only_what_changed_and_finds_what_all_would():
    """After holders leave their waves, a community with the members it had and no
    moved account keeps its test (the campaign); one that changed (the team without t11)
    or holds a moved account is tested again; the result is the test of everything."""
    labels, confirm = two_communities()
    asked: list[int | None] = []

    def counted(grouping: pl.DataFrame, only: pl.Series | None) -> pl.DataFrame:
        asked.append(None if only is None else only.len())
        return confirm(grouping, only)

    confirmations = Confirmations(counted)
    confirmations(labels)
    changed = labels.with_columns(label=pl.when(pl.col("account_id") == "t11")
                                  .then(pl.lit(999)).otherwise("label"))
    confirmations.after_leaving(pl.Series(["o7"]))
    again = confirmations(changed)
    assert again.equals(confirm(changed, None))
    assert asked == [None, 13]


def test_accounts_moved_by_leaving_are_those_of_the_stars_that_changed():
    """A leaver that headed its wave's star moves every holder (the star is drawn again);
    the card's holders stay put."""
    before = pl.concat([wave_rows(["a", "b", "c", "d"]), card_rows([["a", "e"]])])
    after = without_waves_of(before, pl.Series(["a"]))
    assert moved_by(before, after).to_list() == ["a", "b", "c", "d"]


def test_a_units_keys_count_its_coholders_once():
    """Eight hours of one carrier prefix, each shared with the same nine campaign accounts,
    are nine co-holders of the community, not seventy-two: the binomial tail of 9 of 9 at
    the community's share of the window's keys (90 of the 2,990 that are not u's)."""
    q = 90 / 2990
    assert beside_a_campaign("ip_prefix_hour", None) == pytest.approx(
        binomial_surprise(np.array([9.0]), np.array([9.0]), np.array([q]))[0])


def test_starts_among_a_campaign_that_fills_the_hour_are_chance():
    """Must not confirm: a user starting in an hour only a campaign's accounts start in
    shares its buckets with them by chance, whatever the window's share of the campaign;
    against the window's null alone the same starts would hold it in the community."""
    assert beside_a_campaign("sync_start", "2026-04-01T03") == pytest.approx(0.0, abs=1e-9)
    assert beside_a_campaign("sync_start", None) > 10


def two_teams(cards: bool) -> list[tuple[str, str, float]]:
    """Two teams of eight in one community, each sharing prompts and starts among itself
    and nothing with the other; with ``cards`` each team pays with one card."""
    team = [[f"m{i}" for i in range(8)], [f"m{i}" for i in range(8, 16)]]
    rows = [(a, b, 1.0) for t in team for i, a in enumerate(t) for b in t[i + 1:]]
    shares = {"same_prompt": rows, "sync_start": rows}
    if cards:
        shares["payment_fingerprint"] = [(min(t), a, 1.0) for t in team for a in t
                                          if a != min(t)]  # a star on the card's first
    return member_world(16, 300, shares)


@pytest.mark.parametrize("passes", [None, 1, 5])
def test_leiden_finds_two_cliques_joined_by_a_bridge_in_any_number_of_passes(passes):
    """A bound on the passes (``leiden_passes``) stops refining, it does not skip the
    first: two cliques of six and a lone account come out as they are after one pass."""
    cliques = [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]]
    pairs = [(x, y) for clique in cliques for x, y in itertools.combinations(clique, 2)]
    edges = pl.DataFrame([*pairs, ("a0", "b0")], schema=["account_a", "account_b"],
                         orient="row").with_columns(weight=pl.lit(3.0))
    accounts = pl.Series("account_id", sorted(sum(cliques, ["lone"])))
    found = detect_communities(accounts, edges, LinkParams(leiden_passes=passes))
    groups = found.group_by("label").agg(pl.col("account_id").sort())["account_id"]
    assert sorted(groups.to_list()) == [cliques[0], cliques[1], ["lone"]]


def test_a_bound_on_leidens_passes_stops_it_before_it_converges():
    """The bound reaches igraph: on noisy planted groups (ten of 30 accounts, 0.3 of pairs
    inside, 0.02 across) one pass leaves some vertices where further passes move them, on
    at least one of five such graphs; were ``leiden_passes`` ignored, none would differ."""
    differs = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        group = np.arange(300) // 30
        a, b = np.triu_indices(300, 1)
        keep = rng.random(len(a)) < np.where(group[a] == group[b], 0.3, 0.02)
        ids = np.array([f"x{i:03d}" for i in range(300)])
        edges = pl.DataFrame({"account_a": ids[a[keep]], "account_b": ids[b[keep]],
                              "weight": rng.uniform(1.0, 4.0, int(keep.sum()))})
        accounts = pl.Series("account_id", ids)
        one, until_still = (detect_communities(accounts, edges, LinkParams(leiden_passes=n))
                            for n in (1, None))
        differs.append(not one.equals(until_still))
    assert any(differs)


def test_leiden_cannot_be_asked_for_no_pass():
    with pytest.raises(ForensicsError, match="leiden_passes: must be at least 1"):
        LinkParams(leiden_passes=0)


def test_two_card_holding_teams_are_not_one_community_by_what_each_shares_inside():
    """Must not link: a member is tied to its community by accounts other than its card's
    (card holders are joined afterwards anyway), so two enterprises that Leiden put
    together, each tight inside and sharing nothing with the other, come apart; without
    the cards the same sharing holds each member in."""
    apart = two_teams(cards=True)
    assert apart.filter(pl.col("label") == 0).is_empty()
    together_ = two_teams(cards=False)
    assert together_.filter(pl.col("account_id").str.starts_with("m"))["label"].eq(0).all()


def card_rows(cards: list[list[str]]) -> pl.DataFrame:
    """Evidence rows of shared cards, as linking writes them: a star on each card's first."""
    return pl.DataFrame([(c[0], a) for c in cards for a in c[1:]],
                        schema=["account_a", "account_b"], orient="row").with_columns(
        key_type=pl.lit("payment_fingerprint"))


def test_a_payer_that_leiden_cut_in_three_is_one_cluster_again_by_its_cards():
    """Must join: thirty accounts on ten cards of three, which Leiden left as three
    communities of ten; each card has holders in every part."""
    accounts = [f"p{i:02d}" for i in range(30)]
    parts = {a: i % 3 for i, a in enumerate(accounts)}
    cards = [accounts[3 * k:3 * k + 3] for k in range(10)]
    joined = join_card_holders(labels(parts), card_rows(cards))
    assert joined["label"].n_unique() == 1


def test_a_stray_card_holder_does_not_bridge_two_campaigns():
    """Must not join: a campaign of twenty without cards, and in its community two
    accounts of another payer whose card's other four holders are that payer's community.
    The two go home to their payer; the campaign stays whole and apart."""
    campaign = {f"c{i:02d}": 0 for i in range(20)}
    payer = {f"q{i}": 1 for i in range(12)}
    strays = {"q12": 0, "q13": 0}
    cards = [["q0", "q1", "q2", "q12", "q13", "q3"]] + [
        [f"q{i}", f"q{i + 1}"] for i in range(4, 12, 2)]
    joined = dict(join_card_holders(labels({**campaign, **payer, **strays}),
                                    card_rows(cards)).iter_rows())
    assert len({joined[a] for a in campaign}) == 1
    assert {joined[a] for a in [*payer, *strays]} == {joined["q0"]}
    assert joined["c00"] != joined["q0"]


def wave_rows(holders: list[str]) -> pl.DataFrame:
    """Evidence rows of one creation wave, as linking writes them: a star on its first."""
    return card_rows([holders]).with_columns(key_type=pl.lit("creation_wave"))


def test_another_operators_batch_in_a_wave_does_not_take_a_campaign_in():
    """Must not join: a campaign of 21 the member test confirmed, 3 of them made in the
    hours another operator made 40 accounts that no community holds (sweep AS's
    1650387480). The 40 are one group when the wave's home is chosen, not 40 of one, so
    the campaign is neither the wave's home nor its fragment: it stays whole and apart,
    and the 40 are one cluster."""
    campaign = {f"c{i:02d}": 0 for i in range(21)}
    batch = {f"w{i:02d}": -1 - i for i in range(40)}
    joined = dict(join_card_holders(labels({**campaign, **batch}),
                                    wave_rows(["c00", "c01", "c02", *batch])).iter_rows())
    assert len({joined[a] for a in campaign}) == 1
    assert len({joined[a] for a in batch}) == 1
    assert joined["c00"] != joined["w00"]


def test_a_team_member_made_in_a_campaigns_wave_stays_with_its_team():
    """Must not join: one account of a confirmed team of eight was made in the ten
    minutes a confirmed campaign of fifty made its accounts. A wave is one registrant's
    batch only most likely; the member test put the account with its team, and the wave
    does not take it (nor the team) into the campaign."""
    campaign = {f"c{i:02d}": 0 for i in range(50)}
    team = {f"t{i}": 1 for i in range(8)}
    joined = dict(join_card_holders(labels({**campaign, **team}),
                                    wave_rows([*campaign, "t0"])).iter_rows())
    assert {joined[a] for a in team} == {joined["t1"]}
    assert joined["t0"] != joined["c00"]
    assert len({joined[a] for a in campaign}) == 1


def test_an_account_with_a_card_and_a_wave_has_one_payer_whatever_the_rows_order():
    """An account that holds a card (first holder k1) and a wave (first holder w0) is paid
    for by the smaller first account, however the star rows come: kept at random, its
    payer changed the member test from run to run (sweep AU's 1752545399 linked into three
    partitions in three runs)."""
    stars = pl.concat([card_rows([["k1", "x", "y"]]), wave_rows(["w0", "x", "z"])])
    payers = {tuple(sorted(_payers(stars.sample(fraction=1.0, shuffle=True, seed=seed),
                                   pl.Series(["k1", "w0", "x", "y", "z", "q"])).iter_rows()))
              for seed in range(8)}
    assert payers == {(("k1", "k1"), ("q", "q"), ("w0", "w0"), ("x", "k1"), ("y", "k1"),
                       ("z", "w0"))}


def test_a_wave_joins_its_unconfirmed_holders_and_the_communities_cut_from_it():
    """Must join: a wave of 60 whose accounts share nothing else (30 left alone by the
    member test) and of which Leiden made two communities of 15 (every member holds it):
    both communities are its fragments, and all 60 are one cluster."""
    strays = {f"s{i:02d}": -1 - i for i in range(30)}
    parts = {f"p{i:02d}": i % 2 for i in range(30)}
    joined = join_card_holders(labels({**strays, **parts}), wave_rows([*parts, *strays]))
    assert joined["label"].n_unique() == 1


def wave_window(inside: int, outside: int) -> duckdb.DuckDBPyConnection:
    """A window linking put in one cluster: 40 accounts made in one wave (w00-w39) that
    each share evidence with the next 20 of them and with 2 of 200 outsiders, a holder
    ``b`` of the wave sharing evidence with ``inside`` of the 40 and ``outside`` of the
    outsiders, and a holder ``q`` that shares nothing else; the outsiders (o000-o199) are
    clusters of one, each sharing with the next 3 of them."""
    campaign = [f"w{i:02d}" for i in range(40)]
    outsiders = [f"o{i:03d}" for i in range(200)]
    pairs = [(a, campaign[(i + k) % 40]) for i, a in enumerate(campaign) for k in range(1, 11)]
    pairs += [(a, outsiders[(7 * i + k) % 200]) for i, a in enumerate(campaign) for k in (0, 1)]
    pairs += [(a, outsiders[(i + k) % 200]) for i, a in enumerate(outsiders) for k in (1, 2, 3)]
    pairs += [("b", a) for a in campaign[:inside]]
    pairs += [("b", a) for a in outsiders[:outside]]
    pairs += [("b", "w00"), ("q", "w01")]
    kinds = ["sync_start"] * (len(pairs) - 2) + ["creation_wave", "created_burst"]
    db = duckdb.connect()
    db.register("rows", pl.DataFrame({
        "account_a": [min(a, b) for a, b in pairs], "account_b": [max(a, b) for a, b in pairs],
        "key_type": kinds}).to_arrow())
    db.execute("CREATE TABLE account_link_evidence AS SELECT * FROM rows")
    holders = [*campaign, "b", "q"]
    db.register("keys", pl.DataFrame({"account_id": holders, "key_type": "creation_wave",
                                      "key_value": "2026-03-01T10:00"}).to_arrow())
    db.execute("CREATE TABLE account_link_key AS SELECT * FROM keys")
    return db


def wave_labels() -> pl.DataFrame:
    return labels({**{f"w{i:02d}": 0 for i in range(40)}, "b": 0, "q": 0,
                   **{f"o{i:03d}": 1 + i for i in range(200)}})


def test_a_wave_holder_whose_ties_fall_as_an_outsiders_leaves_the_wave():
    """Must fire: b signed up in the wave's minutes (sweep BB's 590037408) and shares
    evidence with 3 of the cluster's 40 accounts and 60 outsiders, as an outsider's ties
    fall on the cluster; the wave's accounts, and q, which shares nothing but its
    creation time, stay."""
    db = wave_window(inside=3, outside=60)
    assert weigh_wave_holders(db, wave_labels(), alpha=0.01).to_list() == ["b"]
    tested = db.sql("SELECT * FROM wave_holder").pl()
    assert tested.filter(pl.col("account_id") == "q")["log10_ratio"].is_null().all()
    assert tested.height == 42


def test_a_wave_holder_tied_inside_as_members_are_stays_in_its_wave():
    """Must not fire: a holder sharing with 30 of the cluster's 40 accounts and 5
    outsiders ties inside as the wave's own accounts do."""
    db = wave_window(inside=30, outside=5)
    assert weigh_wave_holders(db, wave_labels(), alpha=0.01).is_empty()


def test_a_holder_out_of_its_wave_leaves_the_star_and_the_rest_stay_one():
    """The first holder of a wave's star leaving does not break the star: the wave is
    drawn again from its next holder, and cards are untouched."""
    evidence = pl.concat([wave_rows(["a", "b", "c", "d"]), card_rows([["a", "e"]])])
    kept = without_waves_of(evidence, pl.Series(["a", "c"]))
    assert sorted(kept.select("account_a", "account_b", "key_type").iter_rows()) == [
        ("a", "e", "payment_fingerprint"), ("b", "d", "creation_wave")]


def paired_world(pairs: int, shares: dict[str, list[tuple[str, str, float]]]
                 ) -> dict[str, object]:
    """``cluster_accounts`` on a window of ``pairs`` card pairs m0-m1, m2-m3, .. and 300
    other accounts o0.., the keys of ``member_frames``, and a graph edge of weight 0.1 for
    each pair that shares something (too sparse for the first pass's resolution):
    account -> its cluster's label."""
    campaign = [f"m{i}" for i in range(2 * pairs)]
    names = campaign + [f"o{i}" for i in range(300)]
    cards = [(campaign[i], campaign[i + 1], 1.0) for i in range(0, len(campaign), 2)]
    evidence, null, shared = member_frames(names, {**shares, "payment_fingerprint": cards})
    edges = (pl.DataFrame([{"account_a": min(a, b), "account_b": max(a, b), "weight": 0.1}
                           for rows in shares.values() for a, b, _ in rows])
             .unique(["account_a", "account_b"]).sort("account_a", "account_b"))
    threshold = edge_threshold(len(names), 0.01)

    def confirm(grouping: pl.DataFrame) -> pl.DataFrame:
        return confirm_members(grouping, evidence, strong_pairs([]), key_codes(shared, null),
                               threshold, families=FAMILY)

    accounts = pl.Series("account_id", sorted(names))
    return dict(cluster_accounts(accounts, edges, evidence, confirm, LinkParams()).iter_rows())


def test_card_pairs_the_first_pass_left_apart_are_grouped_again_as_one_campaign():
    """Must link: forty accounts on twenty cards of two, each sharing a prompt and a
    synchronized start with eight others of them (the campaign's accounts live a day
    each, so every pair shares little): too sparse for the first pass, each pair held only
    by its card. Pairs none of whose accounts the member test kept are strays, grouped
    again with the others and confirmed; one cluster."""
    shares = {"same_prompt": ring("m", 40, 4), "sync_start": ring("m", 40, 4)}
    clusters = paired_world(20, shares)
    assert len({clusters[f"m{i}"] for i in range(40)}) == 1
    assert clusters["o0"] != clusters["m0"]


def test_card_pairs_sharing_one_kind_among_themselves_stay_pairs():
    """Must not link: the same forty sharing prompts only (one explanation, a corpus) are
    grouped again and fail the member test: twenty clusters of a card's two holders."""
    clusters = paired_world(20, {"same_prompt": ring("m", 40, 4)})
    assert len({clusters[f"m{i}"] for i in range(40)}) == 20
    assert all(clusters[f"m{i}"] == clusters[f"m{i + 1}"] for i in range(0, 40, 2))


def cohort_world(fragments: list[str], shares: list[tuple[str, str, float]],
                 others: int = 300) -> pl.DataFrame:
    """harvest_cohorts on a window of the ``fragments`` (each a cluster of its own, on
    watch) and ``others`` accounts o0.. (not on watch), each holding 10 prompts: every
    (account, other, n) of ``shares`` is n prompts the two hold and nobody else, and a
    graph edge of weight 1.5 (p about 0.03: alone, chance)."""
    names = fragments + [f"o{i}" for i in range(others)]
    null = pl.DataFrame([
        {"account_id": name, "key_type": "same_prompt", "stratum": 0, "key_count": 10,
         "coholder_count": 1, "type_incidences": 10 * len(names)} for name in names])
    shared = pl.DataFrame([
        {"account_id": holder, "key_type": "same_prompt", "key_value": f"{a} {b} {i}",
         "unit": f"{a} {b} {i}", "unit_weight": 1.0, "locale": None}
        for a, b, n in shares for i in range(int(n)) for holder in (a, b)])
    edges = pl.DataFrame([{"account_a": min(a, b), "account_b": max(a, b), "weight": 1.5}
                          for a, b, _ in shares]).unique(["account_a", "account_b"])
    cards = pl.DataFrame(schema={"account_a": pl.String, "account_b": pl.String,
                                 "key_type": pl.String})
    frame = pl.DataFrame({"account_id": fragments, "cluster_id": [f"C{a}" for a in fragments]})
    return harvest_cohorts(frame, edges, key_codes(shared, null), cards, len(names), LinkParams(),
                           min_accounts=3, rounds=2)


def test_watch_fragments_sharing_one_family_among_themselves_are_one_cohort():
    """Must group: thirty fragments on watch, each sharing a prompt with eight others of
    them and nothing else (a pool harvested through residential proxies, no shared
    registration): one family, which linking alone does not confirm
    (``test_one_kind_of_evidence_however_concentrated_does_not_confirm_a_member``), but
    their behaviour is the second explanation."""
    campaign = [f"c{i:02d}" for i in range(30)]
    cohorts = cohort_world(campaign, [(f"c{int(a[1:]):02d}", f"c{int(b[1:]):02d}", n)
                                      for a, b, n in ring("c", 30, 4)])
    assert cohorts["cluster_id"].to_list() == [f"C{a}" for a in campaign]
    assert cohorts["cohort"].unique().to_list() == ["Cc00"]


def test_watch_fragments_sharing_with_everyone_are_no_cohort():
    """Must not group: five fragments on watch (heavy users with harvest-like habits),
    each sharing sixty prompts with the window's other accounts and one with each of its
    neighbours among the five: two of sixty-two is what their appetite predicts at the
    five's share of the window (1.3%)."""
    users = [f"w{i}" for i in range(5)]
    shares = [(w, f"o{j}", 1.0) for k, w in enumerate(users) for j in range(60 * k, 60 * k + 60)]
    shares += [(a, b, 1.0) for a, b in itertools.pairwise(users)]
    assert cohort_world(users, shares).is_empty()


def test_two_fragments_are_no_cohort_however_much_they_share():
    """A cohort is judged as a cluster, and under ``min_accounts_flagged`` (3) accounts a
    cluster cannot be flagged: two fragments stay as they are (the join rule is theirs)."""
    assert cohort_world(["a", "b"], [("a", "b", 40.0)]).is_empty()


def test_binomial_surprise_is_the_upper_tail_and_survives_underflow():
    assert binomial_surprise(np.array([6.0]), np.array([6.0]), np.array([0.5]))[0] \
        == pytest.approx(6 * np.log10(2))
    assert binomial_surprise(np.array([0.0]), np.array([5.0]), np.array([0.1]))[0] == 0.0
    deep = binomial_surprise(np.array([2000.0]), np.array([2000.0]), np.array([1e-3]))[0]
    assert deep == pytest.approx(6000.0)


def test_a_cluster_keeps_its_id_as_it_grows():
    previous, _ = assign_cluster_ids(labels({"a": 0, "b": 0, "c": 1}), None)
    old = dict(previous.select("account_id", "cluster_id").iter_rows())
    grown, lineage = assign_cluster_ids(labels({"a": 5, "b": 5, "d": 5, "c": 6}),
                                        previous.select("cluster_id", "account_id"))
    new = dict(grown.select("account_id", "cluster_id").iter_rows())
    assert new["a"] == new["d"] == old["a"]
    assert new["c"] == old["c"]
    events = dict(lineage.select("cluster_id", "event").iter_rows())
    assert events[old["a"]] == "grew"
    assert events[old["c"]] == "continued"


def test_merges_and_splits_are_recorded():
    previous, _ = assign_cluster_ids(labels({"a": 0, "b": 0, "c": 1, "d": 1, "e": 1}), None)
    old = dict(previous.select("account_id", "cluster_id").iter_rows())
    merged, lineage = assign_cluster_ids(labels({"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}),
                                         previous.select("cluster_id", "account_id"))
    assert merged["cluster_id"].n_unique() == 1
    assert merged["cluster_id"][0] == old["c"]
    assert ("merged", old["a"]) in lineage.select("event", "previous_id").rows()
    split, lineage = assign_cluster_ids(labels({"a": 0, "b": 0, "c": 1, "d": 2, "e": 2}),
                                        previous.select("cluster_id", "account_id"))
    ids = dict(split.select("account_id", "cluster_id").iter_rows())
    assert ids["d"] == ids["e"] == old["c"]
    assert ids["c"] != old["c"]
    assert ("split", old["c"]) in lineage.select("event", "previous_id").rows()


def test_a_cluster_whose_accounts_all_left_the_window_has_ended():
    previous, _ = assign_cluster_ids(labels({"a": 0, "b": 0, "c": 1}), None)
    old = dict(previous.select("account_id", "cluster_id").iter_rows())
    _, lineage = assign_cluster_ids(labels({"c": 0, "x": 1}),
                                    previous.select("cluster_id", "account_id"))
    assert ("ended", old["a"], 0) in lineage.select("event", "cluster_id", "n_accounts").rows()
    assert ("continued", old["c"]) in lineage.select("event", "cluster_id").rows()
    assert not lineage.filter((pl.col("event") == "ended")
                              & (pl.col("cluster_id") == old["c"])).height


@pytest.mark.parametrize("lookback,expected_start", [(30, date(2026, 3, 3)),
                                                     (1, date(2026, 4, 1))])
def test_the_window_covers_the_range_and_the_lookback(lookback, expected_start):
    from pipeline.linking.linking import link_window

    first, last = link_window(date(2026, 4, 1), date(2026, 4, 1),
                              LinkParams(lookback_days=lookback))
    assert (first, last) == (expected_start, date(2026, 4, 1))


def buckets(counts: dict[int, tuple[int, float]], span_buckets: int = 100_000) -> pl.DataFrame:
    """creation_wave.sql's rows: ten-minute buckets (by index from a day's midnight) with
    their count and chance count."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    at = [start + timedelta(minutes=10 * i) for i in counts]
    return pl.DataFrame({
        "bucket": [t.strftime("%Y-%m-%dT%H:%M") for t in at],
        "bucket_at": at,
        "account_count": [n for n, _ in counts.values()],
        "expected_count": [e for _, e in counts.values()],
        "span_buckets": [span_buckets] * len(counts),
    })


def test_adjacent_buckets_past_the_bar_are_one_wave_and_a_gap_starts_another():
    # the bar: -log10(0.01 / 100,000) = 7; 40 accounts where 0.05 are expected pass it,
    # 3 do not (P(X >= 3) = 2e-5): 10:30 breaks the run, and 10:40 starts another
    waves = creation_waves(buckets({60: (40, 0.05), 61: (38, 0.05), 62: (45, 0.05),
                                    63: (3, 0.05), 64: (41, 0.05), 90: (2, 0.05)}),
                           alpha=0.01, burst_minutes=10)
    assert waves["required_surprise"].to_list() == pytest.approx([7.0] * 6)
    assert dict(waves.select("bucket", "wave").iter_rows()) == {
        "2026-03-01T10:00": "2026-03-01T10:00", "2026-03-01T10:10": "2026-03-01T10:00",
        "2026-03-01T10:20": "2026-03-01T10:00", "2026-03-01T10:30": None,
        "2026-03-01T10:40": "2026-03-01T10:40", "2026-03-01T15:00": None}


def test_a_bucket_is_a_wave_against_its_chance_count_not_its_size():
    # the same 40 accounts: a wave where 0.05 are expected, none where the clock or the day
    # predicts 25 (a busy hour, a launch day)
    waves = creation_waves(buckets({0: (40, 0.05), 6 * 144: (40, 25.0)}), alpha=0.01,
                           burst_minutes=10)
    assert waves["wave"].to_list() == ["2026-03-01T00:00", None]
    assert waves["surprise"].to_list() == pytest.approx(
        poisson_surprise(np.array([40.0, 40.0]), np.array([0.05, 25.0])).tolist())


def test_the_poisson_tail_is_exact_and_deep():
    from scipy.stats import poisson

    counts, means = np.array([1.0, 2.0, 5.0, 100.0]), np.array([0.04, 0.04, 3.0, 8.0])
    assert poisson_surprise(counts, means) == pytest.approx(
        -np.log10(poisson.sf(counts - 1, means)))
    assert poisson_surprise(np.array([0.0]), np.array([3.0])) == pytest.approx([0.0])
    # far past a float's smallest p the count's own probability takes over
    assert poisson_surprise(np.array([400.0]), np.array([0.01]))[0] > 1000


LINK_CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "payment_fingerprint": (
        ("test_a_card_three_hundred_accounts_share_links_them_all",
         "test_a_payer_that_leiden_cut_in_three_is_one_cluster_again_by_its_cards"),
        ("test_two_card_holding_teams_are_not_one_community_by_what_each_shares_inside",
         "test_a_stray_card_holder_does_not_bridge_two_campaigns")),
    "email_domain": (
        ("test_a_private_mail_domain_moving_between_rare_prefixes_together_links",),
        ("test_a_consumer_mail_domain_of_many_unrelated_accounts_links_nobody",
         "test_one_course_worked_through_on_different_days_links_nobody")),
    "created_burst": (
        ("test_a_creation_burst_started_together_links_and_a_burst_alone_does_not",),
        ("test_a_creation_burst_started_together_links_and_a_burst_alone_does_not",)),
    "creation_wave": (
        ("test_a_wave_of_accounts_that_share_nothing_else_links_them_all",),
        ("test_a_launch_day_and_a_busy_hour_of_sign_ups_make_no_wave",)),
    "system_hash": (
        ("test_client_evidence_adds_to_a_pair_but_not_to_the_graph",),
        ("test_an_sdk_user_agent_and_default_prompt_link_nobody_even_when_rare",)),
    "user_agent": (
        ("test_client_evidence_adds_to_a_pair_but_not_to_the_graph",),
        ("test_an_sdk_user_agent_and_default_prompt_link_nobody_even_when_rare",)),
    "ip_prefix_hour": (
        ("test_a_private_mail_domain_moving_between_rare_prefixes_together_links",),
        ("test_a_busy_cloud_prefix_links_nobody",)),
    "same_prompt": (
        ("test_forty_rare_prompts_shared_within_minutes_link_two_accounts",),
        ("test_one_homework_prompt_forty_students_behind_one_nat_share_links_nobody",)),
    "prompt_band": (
        ("test_paraphrases_of_rare_tasks_with_synchronized_starts_link",),
        ("test_paraphrases_of_a_popular_prompt_link_nobody",
         "test_one_course_worked_through_on_different_days_links_nobody")),
    "failover": (
        ("test_a_key_pool_that_fails_over_repeatedly_links",),
        ("test_a_chance_failover_between_busy_apps_sharing_public_prompts_does_not_link",)),
    "sync_start": (
        ("test_synchronized_starts_and_shared_prompts_over_days_link_a_behaviour_only_pair",),
        ("test_one_day_of_a_shared_start_and_a_shared_prompt_does_not_link",)),
}
"""Each evidence kind's worlds where it must link (or, for the client family, must add to
a pair) and where it must not: the hard negatives it exists to spare."""


WORLDS = Path(__file__).resolve().parents[1] / "integration" / "test_linking_integration.py"
"""Where the worlds that run the linking stage are; the tests above need no stage."""


def test_every_evidence_kind_has_a_world_to_link_and_one_to_spare():
    """A new kind without both is untested in one direction; a renamed test is caught."""
    tests = {name for name, value in globals().items() if callable(value)} | {
        node.name for node in ast.parse(WORLDS.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef)}
    assert set(LINK_CASES) == {t.key_type for t in LinkParams().link_types}
    for must_link, must_not in LINK_CASES.values():
        assert must_link and must_not
        assert set(must_link + must_not) <= tests, set(must_link + must_not) - tests


@pytest.mark.parametrize(("surprises", "bar"), [
    ([5.0, 3.0, 2.5, 0.1], 2.0 - math.log10(3 / 4)),
    ([5.0], 2.0),
    ([1.0, 0.5], math.inf),
    ([], math.inf),
], ids=["three of four", "one", "none", "no candidate"])
def test_the_second_family_bar_is_benjamini_hochberg_over_the_tests(surprises, bar):
    assert hochberg_bar(np.array(surprises), 0.01) == pytest.approx(bar)


def test_tests_known_to_fail_raise_the_bar_to_bonferroni_when_one_passes():
    # one test of 1,000 passing needs Bonferroni's -log10(0.01 / 1000) = 5
    assert hochberg_bar(np.array([5.5, 0.2]), 0.01, tests=1000) == pytest.approx(5.0)
    assert hochberg_bar(np.array([4.9, 0.2]), 0.01, tests=1000) == math.inf
    # three hundred at 3.0 of 1,000 pass together: k = 300 gives -log10(0.003) = 2.52
    assert hochberg_bar(np.full(300, 3.0), 0.01, tests=1000) == pytest.approx(
        -math.log10(300 * 0.01 / 1000))
