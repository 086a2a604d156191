"""Statistics and scoring on small hand-built cases with known answers, rules that must fire
and rules that must not, and the sample end to end against its labels."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import NormalDist

import duckdb
import polars as pl
import pytest

from pipeline.detection.cohorts import group_cohorts, watch_fragments
from pipeline.detection.consistency import coactive_pairs, cross_consistency
from pipeline.detection.scoring import (
    ScoringParams,
    case_roots,
    record_verdicts,
    score_clusters,
    verdicts,
)
from pipeline.detection.statistics import (
    RULES,
    StatisticsParams,
    adjust_benjamini_hochberg,
    binomial_statistics,
    judge,
    own_profiles,
    with_accounts_above_baseline,
)
from pipeline.features.features import build_day_features
from pipeline.linking.linking import LinkResult
from pipeline.registry import CLUSTER_STATISTIC, REQUESTS_COLUMNS
from pipeline.settings import LinkParams
from pipeline.warehouse import POLARS_TYPE, connect, empty_frame, partition_path, sql_text
from simulator.evaluation import roc_auc

from stand_ins import build_stand_ins

DAY = date(2026, 4, 1)


def at(seconds: float) -> datetime:
    return datetime(2026, 4, 1, 12, tzinfo=UTC) + timedelta(seconds=seconds)


def cached(account: str, seconds: float, *, read: int = 0, written: int = 2000,
           system: str = "sys-a", n: int = 0) -> dict[str, object]:
    return {
        "request_id": f"{account}-{seconds}-{n}", "ts": at(seconds), "account_id": account,
        "api_key_id": None, "source_ip": None, "user_agent": None, "model": "m",
        "status": 200, "input_tokens": 50, "output_tokens": 10,
        "cache_creation_input_tokens": written, "cache_read_input_tokens": read,
        "max_tokens": 100, "temperature": 0.0, "stop_reason": "end_turn", "latency_ms": 500,
        "system_hash": system, "prompt_hash": None, "prompt_text": None, "ip_prefix": None,
        "source_file": "t", "source_line": n,
    }


def day_table(tmp_path: Path, rows: list[dict[str, object]], table: str) -> pl.DataFrame:
    target = partition_path(tmp_path, "requests", DAY)
    target.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows, schema={n: POLARS_TYPE[t] for n, t in REQUESTS_COLUMNS}) \
        .write_parquet(target)
    build_day_features(tmp_path, DAY)
    return pl.read_parquet(partition_path(tmp_path, table, DAY))


def test_one_prefix_on_three_accounts_within_the_ttl_is_two_handoffs(tmp_path):
    rows = [cached("a", 0), cached("b", 60), cached("c", 120), cached("c", 1000, n=1)]
    handoffs = day_table(tmp_path, rows, "prefix_handoff_day")
    assert handoffs.select("account_id", "previous_account_id", "handoff_count").rows() == [
        ("b", "a", 1), ("c", "b", 1)]


def test_a_prefix_reused_after_the_ttl_is_no_handoff(tmp_path):
    rows = [cached("a", 0), cached("b", 301)]
    assert day_table(tmp_path, rows, "prefix_handoff_day").height == 0


def test_own_repetition_predicts_hits_and_a_nonce_busts_them(tmp_path):
    rows = [cached("honest", 0), cached("honest", 100, read=2000, written=0, n=1),
            cached("honest", 200, read=2000, written=0, n=2),
            cached("buster", 0), cached("buster", 100, n=1), cached("buster", 200, n=2),
            cached("buster", 200.5, n=3)]
    prefixes = day_table(tmp_path, rows, "account_prefix_day").sort("account_id")
    assert prefixes.select("account_id", "cacheable_count", "predicted_hit_count",
                           "observed_read_count", "busted_count").rows() == [
        ("buster", 4, 2, 0, 2), ("honest", 3, 2, 2, 0)]


def test_a_short_prefix_is_never_cacheable(tmp_path):
    rows = [cached("a", 0, written=0), cached("a", 10, written=0, n=1)]
    rows[0]["input_tokens"] = rows[1]["input_tokens"] = 300
    assert day_table(tmp_path, rows, "account_prefix_day").height == 0


@pytest.fixture(scope="module")
def macros() -> Iterator[duckdb.DuckDBPyConnection]:
    """One connection with the shared macros for the tests that only call them (a
    connection costs tens of milliseconds, most of it creating the macros)."""
    con = connect()
    yield con
    con.close()


@pytest.mark.parametrize("text,capability", [
    ("Write a Python function that reverses a linked list", "code"),
    ("Solve for x: 3x + 5 = 20", "math"),
    ("Translate into French: the weather is nice today", "translation"),
    ("请解释量子纠缠", "translation"),
    ('{"type": "function", "name": "get_weather", "parameters": {}} call the tool', "tool_use"),
    ("Extract all named entities from the text below", "data_extraction"),
    ("I want you to act as a travel guide", "roleplay_chat"),
    ("If all bloops are razzies, which of the following must be true?", "reasoning"),
    ("Write a poem about autumn leaves", "writing"),
    ("Who was the first emperor of Rome?", "knowledge_qa"),
    ("banana", "other"),
])
def test_the_capability_lexicon(macros, text, capability):
    assert macros.execute("SELECT prompt_capability($t)", {"t": text}).fetchall() == [
        (capability,)]


@pytest.mark.parametrize("text,elicits", [
    ("Solve step by step: 2 + 2", True),
    ("Think carefully and show your reasoning.", True),
    ("Let's think about it", True),
    ("What is the capital of France?", False),
    ("Write a step in the recipe", False),
])
def test_reasoning_elicitation(macros, text, elicits):
    assert macros.execute("SELECT prompt_elicits_reasoning($t)", {"t": text}).fetchall() == [
        (elicits,)]


def test_templates_mask_slots_but_not_openings(macros):
    rows = macros.execute("""SELECT prompt_template($a) = prompt_template($b),
                                 prompt_template($a) = prompt_template($c)""",
                       {"a": 'Solve step by step: "Ann has 3 apples" [id a8f3k29x]',
                        "b": 'Solve step by step: "Bob has 17 pears" [id 77ab12cd9]',
                        "c": "Please help me with my homework about apples"}).fetchall()
    assert rows == [(True, False)]


@pytest.mark.parametrize(("text", "template"), [
    (" A  b\tc\n\nd e f g h i j k ", "a b c d e f g h"),
    ("Converting 85 F to Celsius.", "converting \u2039n\u203a f to celsius."),
    ('Say "hi there" to token abc12345 now', "say \u2039q\u203a to token \u2039x\u203a now"),
    ("x", "x"),
    ("   ", ""),
    ("", ""),
])
def test_a_template_is_the_first_eight_masked_words_folded(macros, text, template):
    assert macros.execute("SELECT prompt_template($t)", {"t": text}).fetchall() == [(template,)]


def test_benjamini_hochberg_matches_the_hand_computation():
    frame = pl.DataFrame({"cluster_id": ["a", "b", "c", "d"], "statistic": ["s"] * 4,
                          "p_value": [0.01, 0.04, 0.03, 0.5]})
    adjusted = dict(adjust_benjamini_hochberg(frame).select("cluster_id", "p_adjusted")
                    .iter_rows())
    assert adjusted == pytest.approx({"a": 0.04, "b": 0.04 * 4 / 3, "c": 0.04 * 4 / 3,
                                      "d": 0.5})


def statistic(cluster: str, rule_id: str, p: float, effect: float) -> dict[str, object]:
    rule = next(r for r in RULES if r.rule_id == rule_id)
    return {"cluster_id": cluster, "family": rule.family, "rule_id": rule_id,
            "statistic": rule.statistic, "p_adjusted": p, "effect_size": effect,
            "is_strong": p <= 0.01 and effect >= rule.min_effect}


PROFILE = pl.DataFrame({
    "cluster_id": ["two", "one", "none", "quiet"], "n_accounts": [50, 9, 4, 1],
    "request_count": [600, 90, 40, 3],
    "first_seen": [at(0)] * 4, "last_seen": [at(60)] * 4,
    "text_request_count": [600, 90, 40, 0],
})


def test_traffic_shape_alone_does_not_put_a_cluster_on_watch():
    """Night hours and pacing are how a crowd of night owls or a busy app send; a cluster
    needs a harvest family (query distribution or caching) to be watched."""
    stats = pl.DataFrame([
        statistic("one", "TS-01", 1e-12, 0.5), statistic("one", "TS-02", 1e-12, 0.5),
        statistic("two", "TS-01", 1e-12, 0.5), statistic("two", "QD-06", 1e-12, 0.5),
        statistic("two", "QD-05", 1e-12, 0.5),
    ])
    got = dict(verdicts(PROFILE, stats, ScoringParams()).select("cluster_id", "verdict")
               .iter_rows())
    assert got["one"] == "clear"
    assert got["two"] == "flagged"


@pytest.mark.parametrize("how_it_sends", [
    ["QD-04", "TS-01", "TS-02"],   # a lab's benchmark run: its own items, overnight, at the limit
    ["QD-03", "TS-01", "TS-03"],   # an enterprise's agents: shared wrappers, cron starts
    ["QD-03", "QD-04", "CM-02", "TS-04"],  # one org's pool: wrappers, shared prefixes, retries
])
def test_two_families_of_how_requests_are_sent_do_not_flag(how_it_sends):
    """Must not fire: novelty, shared wrappers, hours, pacing, synchronized starts, shared
    prefixes and failovers hold two families for an app or a lab; without a statistic of
    what is harvested the cluster is clear."""
    stats = pl.DataFrame([statistic("two", r, 1e-12, 0.9) for r in how_it_sends])
    row = verdicts(PROFILE, stats, ScoringParams()).filter(pl.col("cluster_id") == "two")
    assert row["strong_families"].item().count(",") >= 1
    assert row["verdict"].item() == "clear"


@pytest.mark.parametrize(("harvest", "verdict"), [
    (["QD-05"], "watch"),            # a benchmark run with chain-of-thought prompts
    (["QD-06"], "watch"),            # a low max_tokens
    (["CM-01"], "watch"),
    (["QD-05", "QD-06"], "flagged"),  # reasoning harvested at full length
    (["QD-01", "CM-01"], "flagged"),
    (["QD-08"], "flagged"),          # one prompt sampled across the pool's accounts
])
def test_flagged_needs_the_harvest_shown_twice_or_across_accounts(harvest, verdict):
    """Must fire and must not: with the sending habits of a second family, one
    single-account harvest statistic is a habit some labs and people have (watch); two,
    or one measured across accounts, flag."""
    stats = pl.DataFrame([statistic("two", r, 1e-12, 0.9) for r in [*harvest, "TS-01"]])
    row = verdicts(PROFILE, stats, ScoringParams()).filter(pl.col("cluster_id") == "two")
    assert row["verdict"].item() == verdict


HASHES = pl.DataFrame({
    "cluster_id": ["hashes", "text"], "n_accounts": [50, 50], "request_count": [600, 600],
    "first_seen": [at(0)] * 2, "last_seen": [at(60)] * 2, "text_request_count": [0, 600],
})


@pytest.mark.parametrize(("harvest", "hashes", "text"), [
    (["QD-06"], "flagged", "watch"),  # output saturation, the one harvest shown
    (["CM-01"], "flagged", "watch"),  # cache busting
    ([], "clear", "clear"),           # two families of how it sends, nothing harvested
])
def test_a_hashes_only_cluster_is_flagged_on_one_harvest_statistic(harvest, hashes, text):
    """Must fire and must not: without prompt text QD-01, QD-02 and QD-05 cannot be
    measured, so a hashes-only cluster with two families is flagged on one harvest
    statistic; a text cluster with the same statistics stays on watch, and a hashes-only
    cluster with no harvest statistic stays clear."""
    rows = [statistic(c, r, 1e-12, 0.9) for c in ("hashes", "text")
            for r in [*harvest, "TS-01", "QD-04"]]
    got = dict(verdicts(HASHES, pl.DataFrame(rows), ScoringParams())
               .select("cluster_id", "verdict").iter_rows())
    assert got == {"hashes": hashes, "text": text}


def test_a_hashes_only_cluster_still_needs_two_families():
    rows = [statistic("hashes", r, 1e-12, 0.9) for r in ("QD-06", "QD-04")]
    got = verdicts(HASHES, pl.DataFrame(rows), ScoringParams())
    assert got.filter(pl.col("cluster_id") == "hashes")["verdict"].item() == "watch"


@pytest.mark.parametrize(("showing", "harvest", "verdict"), [
    (2, "CM-01", "watch"),     # two cloud apps that never read the cache, four riders
    (3, "CM-01", "flagged"),
    (None, "CM-01", "flagged"),  # not counted (a table stored before the count)
    (1, "QD-08", "flagged"),   # one prompt sampled across the pool: shown together
])
def test_the_harvest_must_be_shown_by_three_of_the_clusters_accounts(showing, harvest,
                                                                     verdict):
    """Must fire and must not: a hashes-only cluster of 50 whose cache busting (its one
    harvest statistic) comes from two of its accounts is those two accounts, and two are
    under ``min_accounts_flagged``; three flag it. A harvest measured across accounts
    counts as the whole cluster."""
    rows = [statistic("hashes", r, 1e-12, 0.9) | {"accounts_above_baseline": n}
            for r, n in ((harvest, showing), ("TS-01", 50), ("QD-04", None))]
    stats = pl.DataFrame(rows, schema_overrides={"accounts_above_baseline": pl.Int64})
    found = verdicts(HASHES, stats, ScoringParams())
    assert found.filter(pl.col("cluster_id") == "hashes")["verdict"].item() == verdict


def own_statistics(baseline: float, strong: str = "cache_busting_share",
                   weak: str = "max_tokens_saturation_share") -> pl.DataFrame:
    """cluster_statistic rows of cluster ``c``: ``strong`` strong against ``baseline``,
    ``weak`` tested and not strong."""
    columns = [c.name for c in CLUSTER_STATISTIC.columns]
    rows = [{"cluster_id": "c", "statistic": statistic_name, "baseline_median": baseline,
             "is_strong": is_strong} | {k: None for k in columns
                                        if k not in ("cluster_id", "statistic",
                                                     "baseline_median", "is_strong")}
            for statistic_name, is_strong in ((strong, True), (weak, False))]
    return pl.DataFrame(rows, schema=empty_frame(CLUSTER_STATISTIC).schema)


def test_accounts_above_baseline_counts_the_accounts_of_a_strong_statistic():
    """Must count: the accounts whose own busted share is above the baseline's median
    (0.3 and 0.9 against 0.1; 0.1 itself is not above; an account with nothing cacheable
    cannot show it). Must not: a statistic that is not strong."""
    rule = next(r for r in RULES if r.statistic == "cache_busting_share")
    saturation = next(r for r in RULES if r.statistic == "max_tokens_saturation_share")
    accounts = pl.DataFrame({
        "cluster_id": ["a1", "a2", "a3", "a4"], "member_of": ["c"] * 4,
        "n_accounts": [1] * 4, "request_count": [10] * 4, "text_request_count": [40] * 4,
        "member_hashes_only": [False] * 4,
        rule.numerator: [3, 9, 1, 0], rule.denominator: [10, 10, 10, 0],
        saturation.numerator: [9] * 4, saturation.denominator: [10] * 4,
    })
    got = with_accounts_above_baseline(own_statistics(0.1), accounts)
    assert dict(got.select("statistic", "accounts_above_baseline").iter_rows()) == {
        "cache_busting_share": 2, "max_tokens_saturation_share": None}
    assert got.columns == [c.name for c in CLUSTER_STATISTIC.columns]


def test_each_account_is_measured_on_its_own_prompts_not_its_clusters(tmp_path):
    """Must count: forty accounts of one cluster, each asking for the reasoning in 5 of its
    10 prompts (0.5 against a baseline of 0.05), are forty accounts above it. Measured on
    the cluster's 400 prompts, as they were, each showed 5 in 400 and none was above: the
    window gate stopped a 429-account cluster of a fresh seed (44723695) on that."""
    db = build_stand_ins(tmp_path).run
    day = date(2026, 4, 1)
    accounts = [f"a{i:02d}" for i in range(40)]
    db.register("_members", pl.DataFrame({"cluster_id": "c", "account_id": accounts}))
    db.execute("INSERT INTO clusters BY NAME SELECT * FROM _members")
    db.execute("INSERT INTO account_day BY NAME SELECT account_id, $day AS date, "
               "10 AS request_count, 10 AS ok_count FROM _members", {"day": day})
    db.execute("INSERT INTO account_capability_day BY NAME SELECT account_id, $day AS date, "
               "'math' AS capability, 10 AS request_count, 5 AS reasoning_elicited_count "
               "FROM _members", {"day": day})
    window = {"start": day, "end": day, "night_start_hour": 0, "night_end_hour": 6,
              "pacing_low": 0.5, "pacing_high": 1.0, "edge_margin_minutes": 5}
    profile = db.sql(sql_text("cluster_profile"), params=window).pl()
    assert profile.select("reasoning_elicited_count", "text_request_count").row(0) == (200, 400)
    statistics = own_statistics(0.05, strong="reasoning_elicitation_share")
    got = with_accounts_above_baseline(statistics, own_profiles(db, window, profile,
                                                                statistics))
    assert dict(got.select("statistic", "accounts_above_baseline").iter_rows()) == {
        "reasoning_elicitation_share": 40, "max_tokens_saturation_share": None}


def test_two_strong_families_flag_one_watches_none_clears():
    stats = pl.DataFrame([
        statistic("two", "QD-05", 1e-12, 0.5), statistic("two", "CM-01", 1e-9, 0.9),
        statistic("one", "QD-05", 1e-12, 0.5), statistic("one", "QD-06", 1e-12, 0.5),
        statistic("none", "QD-05", 0.2, 0.5), statistic("none", "CM-01", 1e-9, 0.01),
    ])
    found = verdicts(PROFILE, stats, ScoringParams())
    got = dict(found.select("cluster_id", "verdict").iter_rows())
    assert got == {"two": "flagged", "one": "watch", "none": "clear", "quiet": "clear"}
    row = found.filter(pl.col("cluster_id") == "two").row(0, named=True)
    assert row["strong_families"] == "caching_mismatch,query_distribution"
    assert row["signals"] == "CM-01,QD-05"
    assert found.filter(pl.col("cluster_id") == "quiet")["hashes_only"].item()
    assert found["risk_score"].is_between(0, 1).all()


def test_the_risk_score_never_falls_when_evidence_grows():
    base = [statistic("two", "QD-05", 1e-4, 0.2), statistic("two", "TS-01", 0.5, 0.0)]
    scores = []
    for p in (1e-4, 1e-8, 1e-20):
        stats = pl.DataFrame([statistic("two", "QD-05", p, 0.2), base[1]])
        scores.append(verdicts(PROFILE, stats, ScoringParams())
                      .filter(pl.col("cluster_id") == "two")["risk_score"].item())
    assert scores == sorted(scores)
    assert scores[0] < scores[-1]


def profile_of(clusters: dict[str, tuple[int, float, float]]) -> pl.DataFrame:
    """A cluster_profile where every ratio is 0 of 100 except template reuse and novelty:
    cluster -> (accounts, template reuse share, novel prompt share)."""
    columns = {c for r in RULES if r.test == "binomial"
               for c in (r.numerator, r.denominator, *(r.hashes_fallback or ()))}
    rows = []
    for cluster, (accounts, reuse, novelty) in clusters.items():
        row: dict[str, object] = {c: 100 if c in {r.denominator for r in RULES} else 0
                                  for c in columns}
        row.update(cluster_id=cluster, first_account=f"{cluster}-0", n_accounts=accounts,
                   text_request_count=100,
                   request_count=100, reused_template_count=round(100 * reuse),
                   novel_prompt_count=round(100 * novelty))
        rows.append(row)
    return pl.DataFrame(rows)


def test_what_accounts_do_together_is_compared_with_clusters_of_several_accounts():
    """A single account reuses no template across accounts by construction: were the 30
    singletons in its baseline, a team sharing its openings as much as every other team
    would look like a sweep. Novelty, which a single account can show, keeps them."""
    clusters = {f"s{i:02d}": (1, 0.0, 0.1) for i in range(30)}
    clusters |= {f"e{i:02d}": (5, 0.6, 0.1) for i in range(25)}
    clusters["t"] = (5, 0.7, 0.6)
    stats = binomial_statistics(profile_of(clusters), StatisticsParams())
    reuse = stats.filter(pl.col("rule_id") == "QD-03")
    assert set(reuse["cluster_id"]) == {c for c in clusters if not c.startswith("s")}
    target = reuse.filter(pl.col("cluster_id") == "t").row(0, named=True)
    assert target["baseline_median"] == pytest.approx(0.6)
    assert target["baseline_count"] == 25
    assert target["effect_size"] < next(r.min_effect for r in RULES if r.rule_id == "QD-03")
    novelty = stats.filter((pl.col("rule_id") == "QD-04") & (pl.col("cluster_id") == "t"))
    assert novelty.row(0, named=True)["baseline_count"] == 50
    assert novelty.row(0, named=True)["baseline_median"] == pytest.approx(0.1)


def shares_world(clusters: dict[str, tuple]) -> pl.DataFrame:
    """A cluster_profile: cluster -> (accounts, reasoning share, cache-busting share[,
    requests]): that many text requests and predicted cache hits (100 unless given), or
    no predicted hit at all where the busting share is None."""
    rows = []
    for cluster, (accounts, reasoning, busting, *more) in clusters.items():
        n = more[0] if more else 100
        row = profile_of({cluster: (accounts, 0.0, 0.0)}).row(0, named=True)
        row.update(text_request_count=n, reasoning_elicited_count=round(n * reasoning),
                   predicted_hit_count=0 if busting is None else n,
                   busted_count=0 if busting is None else round(n * busting))
        rows.append(row)
    return pl.DataFrame(rows)


def strong(stats: pl.DataFrame, rule_id: str) -> set[str]:
    return set(stats.filter((pl.col("rule_id") == rule_id) & pl.col("is_strong"))["cluster_id"])


SHARDS = {f"shard{i:02d}": (60, 0.5, None) for i in range(30)}


"""A campaign that linking left in thirty card-sized clusters, eliciting reasoning."""


def test_the_nearest_clusters_in_size_do_not_depend_on_the_clusters_names():
    """Two hundred single accounts, the first hundred (by account) novel in 90% of their
    prompts, the rest in 10%: named so that the two kinds alternate in id order (as
    lineage may name them on a re-run), each must get the baseline it gets when names
    follow accounts, since its neighbours in size are drawn in account order."""
    clusters = {f"c{i:03d}": (1, 0.0, 0.9 if i < 100 else 0.1) for i in range(200)}
    profile = profile_of(clusters)
    interleaved = {f"c{i:03d}": f"x{2 * i if i < 100 else 2 * (i - 100) + 1:03d}"
                   for i in range(200)}
    renamed = profile.with_columns(pl.col("cluster_id").replace_strict(interleaved))

    def by_account(frame: pl.DataFrame) -> pl.DataFrame:
        stats = binomial_statistics(frame, StatisticsParams())
        return (stats.join(frame.select("cluster_id", "first_account"), on="cluster_id")
                .filter(pl.col("rule_id") == "QD-04")
                .select("first_account", "baseline_median", "p_value").sort("first_account"))

    named, again = by_account(profile), by_account(renamed)
    assert named.height == 200
    assert named.filter(pl.col("first_account") == "c050-0")["baseline_median"].item() \
        == pytest.approx(0.9)
    assert again.to_dicts() == named.to_dicts()


def test_a_campaign_split_into_same_size_clusters_is_not_its_own_baseline():
    """Each shard's nearest clusters in size are the other shards: compared with them, the
    campaign's reasoning share is ordinary. The window's other accounts are the null."""
    world = {f"s{i:04d}": (1, 0.03, None) for i in range(4000)} | SHARDS
    world |= {f"team{i}": (60, 0.05, None) for i in range(3)}
    stats = judge(shares_world(world), pl.DataFrame(), StatisticsParams())
    assert strong(stats, "QD-05") == set(SHARDS)
    shard = stats.filter((pl.col("cluster_id") == "shard00") & (pl.col("rule_id") == "QD-05"))
    assert shard["baseline_median"].item() == pytest.approx(0.03)
    # The other shards, strong on a harvest rule in the first pass, are left out.
    assert shard["baseline_count"].item() == 4000 + 3 * 60


def test_a_campaign_that_is_most_of_the_measurable_accounts_is_not_its_own_null():
    """Only 500 ordinary accounts have cache hits to bust; the campaign's 1,800 accounts all
    do. Its reasoning share makes it a suspect in the first pass, and the second pass
    leaves it out of cache busting's baseline."""
    world = {f"s{i:04d}": (1, 0.03, 0.02 if i < 500 else None) for i in range(4000)}
    world |= {name: (60, 0.5, 0.9) for name in SHARDS}
    stats = judge(shares_world(world), pl.DataFrame(), StatisticsParams())
    assert strong(stats, "CM-01") == set(SHARDS)
    busting = stats.filter((pl.col("cluster_id") == "shard00") & (pl.col("rule_id") == "CM-01"))
    assert busting["baseline_median"].item() == pytest.approx(0.02)


def test_a_campaign_that_is_most_of_the_window_by_accounts_and_requests_is_its_own_null():
    """Must not fire: a cluster's accounts that are most of those with cache hits and send
    most of their requests, with nothing else to single them out, set cache busting's
    null themselves. The first test of this pair fires because they are a minority of
    the requests."""
    world = {f"s{i:04d}": (1, 0.03, 0.02 if i < 500 else None) for i in range(4000)}
    world |= {name: (60, 0.03, 0.9, 10_000) for name in SHARDS}
    stats = judge(shares_world(world), pl.DataFrame(), StatisticsParams())
    assert strong(stats, "CM-01") == set()
    assert strong(stats, "QD-05") == set()


def test_a_campaign_that_is_most_of_the_accounts_but_few_of_the_requests_stands_out():
    """Thousands of accounts at a dozen requests a day: most of the accounts, a minority
    of the requests; weighed by requests, the rest of the window is the null."""
    world = {f"s{i:04d}": (1, 0.03, 0.02 if i < 500 else None) for i in range(4000)}
    world |= {name: (300, 0.03, 0.9) for name in SHARDS}
    stats = judge(shares_world(world), pl.DataFrame(), StatisticsParams())
    assert strong(stats, "CM-01") == set(SHARDS)


def test_every_rule_is_documented_and_unique():
    assert len({r.rule_id for r in RULES}) == len(RULES)
    assert {r.family for r in RULES} == {"query_distribution", "caching_mismatch",
                                         "traffic_shape"}
    assert all(r.rationale and r.runbook and r.min_effect > 0 for r in RULES)


def test_roc_auc_from_ranks():
    assert roc_auc(pl.Series([0.9, 0.8, 0.1, 0.2]),
                   pl.Series([True, True, False, False])) == 1.0
    assert roc_auc(pl.Series([0.5, 0.5]), pl.Series([True, False])) == 0.5


def test_single_accounts_are_tested_on_their_own_behaviour_only():
    """A singleton gets the rules of one account's behaviour (novelty here) against other
    singletons, and never the rules of what accounts do together (template reuse)."""
    clusters = {f"s{i:02d}": (1, 0.0, 0.1) for i in range(30)}
    clusters["lone"] = (1, 0.0, 0.9)
    stats = binomial_statistics(profile_of(clusters), StatisticsParams())
    assert stats.filter(pl.col("rule_id") == "QD-03").is_empty()
    lone = stats.filter((pl.col("cluster_id") == "lone") & (pl.col("rule_id") == "QD-04"))
    assert lone.row(0, named=True)["baseline_median"] == pytest.approx(0.1)
    assert lone.row(0, named=True)["p_value"] < 1e-10


CASE = [f"f{i}" for i in range(4)]


"""The accounts of the flagged case F in the join tests."""


CROWD = [f"u{i:02d}" for i in range(36)]
"""Unrelated accounts of the join tests' window: with F's four and the candidates, F holds
40 of the window's 420 key incidences of each kind (q about 0.1)."""


def small_world(singleton: list[dict[str, object]],
                others: dict[str, list[dict[str, object]]] | None = None,
                size: int = 1) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A flagged four-account cluster F and a cluster S of ``size`` accounts with the given
    statistics (and more singletons, by cluster id, with theirs)."""
    others = others or {}
    singles = ["S", *others]
    profile = pl.DataFrame({
        "cluster_id": ["F", *singles], "n_accounts": [4, size] + [1] * len(others),
        "request_count": [400] + [80] * len(singles),
        "first_seen": [at(0)] * (1 + len(singles)), "last_seen": [at(60)] * (1 + len(singles)),
        "text_request_count": [400] + [80] * len(singles),
    })
    stats = pl.DataFrame([statistic("F", "QD-05", 1e-12, 0.5),
                          statistic("F", "CM-01", 1e-9, 0.9), *singleton,
                          *(row for rows in others.values() for row in rows)],
                         schema_overrides={"p_adjusted": pl.Float64,
                                           "effect_size": pl.Float64})
    return profile, stats


SWEEP = [statistic("S", "QD-01", 1e-4, 0.3), statistic("S", "QD-02", 1e-4, 0.2),
         statistic("S", "QD-06", 1e-8, 0.4)]


NIGHT_OWL = [statistic("S", "TS-01", 1e-12, 0.5)]


ORDINARY = [statistic("S", "QD-06", 0.3, 0.02)]


def verdict_of(found: pl.DataFrame, cluster: str) -> str:
    return found.filter(pl.col("cluster_id") == cluster)["verdict"].item()


def test_a_singleton_sweeping_capabilities_and_saturating_output_is_watched():
    found = verdicts(*small_world(SWEEP), ScoringParams())
    assert verdict_of(found, "S") == "watch"
    assert verdict_of(found, "F") == "flagged"


@pytest.mark.parametrize("habits", [
    NIGHT_OWL,
    [statistic("S", "QD-06", 1e-8, 0.4)],
    [statistic("S", "QD-06", 1e-8, 0.4), statistic("S", "TS-01", 1e-12, 0.5)],
    [statistic("S", "TS-01", 1e-12, 0.5), statistic("S", "TS-02", 1e-12, 0.5)],
], ids=["night owl", "low max_tokens", "both", "a busy app: night and pacing"])
def test_one_or_two_habits_of_a_single_account_stay_clear(habits):
    found = verdicts(*small_world(habits), ScoringParams())
    assert verdict_of(found, "S") == "clear"


def join_db(tmp_path: Path, singleton: list[dict[str, object]],
            shared: list[tuple[str, str, str]] | None,
            params: ScoringParams | None = None,
            others: dict[str, list[dict[str, object]]] | None = None,
            size: int = 1) -> tuple[pl.DataFrame, object]:
    """A DuckDB with the tables scoring reads: F's accounts f0-f3, S's account s (s, s1,
    s2, ... with ``size``; and one lower-case account per cluster of ``others``), and
    ``shared`` (account, key type, key)
    filling linking's ``account_shared_key``, with ``account_link_null`` (10 keys of each
    kind an account), ``account_link_evidence`` (each pair of a key's holders, counted per
    kind; no card) and ``link_threshold`` (alpha 0.01); when ``shared`` is None,
    linking's tables do not exist (linking has not run)."""
    profile, stats = small_world(singleton, others, size)
    db = connect(tmp_path / "t.duckdb")
    db.register("p", profile.to_arrow())
    db.register("s", stats.to_arrow())
    db.execute("CREATE TABLE cluster_profile AS SELECT * FROM p")
    db.execute("CREATE TABLE cluster_statistic AS SELECT * FROM s")
    community = ["s", *(f"s{i}" for i in range(1, size))]
    singles = {c: c.lower() for c in (others or {})}
    members = pl.DataFrame({"cluster_id": ["F"] * 4 + ["S"] * size + list(singles),
                            "account_id": [*CASE, *community, *singles.values()]})
    db.register("m", members.to_arrow())
    db.execute("CREATE TABLE clusters AS SELECT * FROM m")
    if shared is not None:
        keys = pl.DataFrame(shared, schema=["account_id", "key_type", "key_value"],
                            orient="row")
        db.register("k", keys.with_columns(unit=pl.col("key_value"), unit_weight=1.0,
                                           locale=pl.lit(None, pl.String)).to_arrow())
        db.execute("CREATE TABLE account_shared_key AS SELECT * FROM k")
        accounts = [*CASE, *community, *singles.values(), *CROWD][:42]
        null = pl.DataFrame({"account_id": accounts}).join(
            pl.DataFrame({"key_type": ["same_prompt", "sync_start", "ip_prefix_hour"]}),
            how="cross"
        ).with_columns(key_count=10, type_incidences=10 * 42)
        db.register("n", null.to_arrow())
        db.execute("CREATE TABLE account_link_null AS SELECT * FROM n")
        holders = keys.select("account_id", "key_type", "key_value")
        pairs = (holders.join(holders, on=["key_type", "key_value"], suffix="_b")
                 .filter(pl.col("account_id") < pl.col("account_id_b"))
                 .group_by(account_a="account_id", account_b="account_id_b",
                           key_type="key_type")
                 .agg(shared_count=pl.len().cast(pl.Float64)))
        db.register("e", pairs.to_arrow())
        db.execute("CREATE TABLE account_link_evidence AS SELECT * FROM e")
        db.execute("CREATE TABLE link_threshold AS SELECT 42::BIGINT AS account_count, "
                   "861.0::DOUBLE AS pair_count, 0.01::DOUBLE AS alpha, "
                   "11.0::DOUBLE AS edge_surprise, $day AS window_start, $day AS window_end",
                   {"day": DAY})
        db.execute("CREATE TABLE account_day AS SELECT account_id, $day AS date FROM n "
                   "GROUP BY account_id", {"day": DAY})
    found = score_clusters(db, params or ScoringParams())
    return found, db


def tie(account: str, prompts: int, starts: int, case: list[str] = CASE,
        prefixes: int = 0) -> list[tuple[str, str, str]]:
    """``account`` sharing ``prompts`` distinct prompts, ``starts`` synchronized starts
    and ``prefixes`` prefix-hours, each with one of ``case``'s accounts in turn."""
    rows = []
    for kind, n in (("same_prompt", prompts), ("sync_start", starts),
                    ("ip_prefix_hour", prefixes)):
        for i in range(n):
            key = f"{account}-{kind}-{i}"
            rows += [(account, kind, key), (case[i % len(case)], kind, key)]
    return rows


Q = 40 / 410
"""F's share of the window's keys of a kind, without the tested account's own ten."""


def test_a_singleton_with_a_harvest_and_a_strong_tie_joins_the_case(tmp_path):
    """Six prompts and three starts, every co-holder of F: 6 x 0.99 and 3 x 0.99 past
    the 2 one test needs (alpha 0.01)."""
    found, db = join_db(tmp_path, SWEEP, tie("s", 6, 3))
    row = found.filter(pl.col("cluster_id") == "S").row(0, named=True)
    assert row["verdict"] == "flagged"
    assert row["joined_case"] == "F"
    assert "joined:F" in row["signals"].split(",")
    joined = db.sql("SELECT * FROM case_join").pl().row(0, named=True)
    assert (joined["account_id"], joined["cluster_id"], joined["joined_case"]) == (
        "s", "S", "F")
    prompts, starts = -6 * math.log10(Q), -3 * math.log10(Q)
    assert joined["second_surprise"] == pytest.approx(starts)
    assert joined["tie_surprise"] > prompts
    assert joined["required_surprise"] == pytest.approx(2.0)
    assert joined["required_second"] == pytest.approx(2.0)
    assert (joined["coholders"], joined["round"]) == (4, 1)
    assert joined["families_held"] == "query_distribution"
    content, timing = (f.rsplit(" ", 1) for f in joined["tie_families"].split(", "))
    assert (content[0], timing[0]) == ("content", "timing")
    assert float(timing[1]) == pytest.approx(starts, abs=0.05)
    assert found.filter(pl.col("cluster_id") == "F")["joined_case"].item() is None


@pytest.mark.parametrize(("ties", "joins"), [
    (tie("s2", 6, 3), True), (tie("s2", 6, 0), False), (tie("s2", 1, 1), False)],
    ids=["strong tie of one member", "one family", "weak tie"])
def test_a_watched_community_cut_off_from_its_case_joins_it_whole_on_a_strong_tie(
        tmp_path, ties, joins):
    """S is three accounts with one family of its own (``SWEEP``): watched, not flagged by
    itself. When one of its accounts passes the member test against F, with a second
    family and over the three accounts' tests, the whole community joins F; linking put
    the three together, and says whom the verdict covers."""
    found, db = join_db(tmp_path, SWEEP, ties, size=3)
    assert verdict_of(found, "S") == ("flagged" if joins else "watch")
    joined = db.sql("SELECT account_id, cluster_id, joined_case, required_surprise "
                    "FROM case_join ORDER BY account_id").fetchall()
    if joins:
        bar = 2.0  # alpha 0.01, one test: the community against F
        assert joined == [(a, "S", "F", pytest.approx(bar)) for a in ("s", "s1", "s2")]
    else:
        assert joined == []


def test_a_community_joins_on_what_its_accounts_share_together(tmp_path):
    """Each of S's three accounts shares two prompts and one start with F: alone, its
    second family (one start, about 1) is short of the bar of 2, but the community's
    three starts together pass it. The whole community is the test, as it is what joins."""
    ties = tie("s", 2, 1) + tie("s1", 2, 1) + tie("s2", 2, 1)
    found, db = join_db(tmp_path, SWEEP, ties, size=3)
    assert verdict_of(found, "S") == "flagged"
    row = db.execute("SELECT second_surprise, coholders FROM case_join LIMIT 1").fetchone()
    # F's share of the window's keys without the community's own thirty
    assert row[0] == pytest.approx(-3 * math.log10(40 / 390))
    assert row[1] == 2  # f0 and f1


def test_one_key_all_of_a_communitys_accounts_share_counts_once(tmp_path):
    """S's three accounts all hold the same prompt and the same start as F's f0: one
    coincidence for the community, not three (about 1 each, under the bar of 2)."""
    ties = [(a, kind, f"one-{kind}") for a in ("s", "s1", "s2", "f0")
            for kind in ("same_prompt", "sync_start")]
    found, db = join_db(tmp_path, SWEEP, ties, size=3)
    assert verdict_of(found, "S") == "watch"
    assert db.execute("SELECT count(*) FROM case_join").fetchall() == [(0,)]


def test_one_family_of_ties_is_one_explanation_and_does_not_join(tmp_path):
    """The same six prompts without a second family (a heavy user of the corpus a
    campaign harvests): watched, not joined."""
    found, db = join_db(tmp_path, SWEEP, tie("s", 6, 0))
    assert verdict_of(found, "S") == "watch"
    assert db.execute("SELECT count(*) FROM case_join").fetchall() == [(0,)]


FRAGMENTS = {f"T{i:02d}": [{**row, "cluster_id": f"T{i:02d}"} for row in SWEEP]
             for i in range(19)}
"""Nineteen fragments of F's campaign beside S, each tied to F by six prompts and three
starts: twenty tests in the round put the tie's bar at 2 + log10(20) = 3.3, while the
second family's Benjamini-Hochberg bar over twenty passing ties stays at 2."""


@pytest.mark.parametrize(("own", "without", "joins"), [
    ([statistic("S", "QD-06", 1e-8, 0.4)], True, False),
    ([statistic("S", "QD-06", 1e-8, 0.4)], False, True),
    ([statistic("S", "QD-06", 1e-8, 0.4), statistic("S", "TS-01", 1e-12, 0.5)], True, True),
], ids=["one habit", "the rule off", "two families of its own"])
def test_a_habit_and_the_carriers_prefixes_do_not_join(tmp_path, own, without, joins):
    """Must not join: one habit of its own (a low max_tokens), eight prefix-hours and
    three starts shared with F (3.0, past the second family's bar of 2 but short of the
    tie's 3.3 without the prefixes): a mobile user on the carrier a campaign's proxies
    use, among the campaign's fragments. Must join: the same ties with two families of
    its own behaviour, or with the rule off (``habit_ties_without_infrastructure``). One
    round, so the test read is the one of the round with the fragments."""
    ties = tie("s", 0, 3, prefixes=8) + [
        row for i in range(19) for row in tie(f"t{i:02d}", 6, 3)]
    found, db = join_db(tmp_path, own, ties,
                        ScoringParams(habit_ties_without_infrastructure=without,
                                      join_rounds=1),
                        others=FRAGMENTS)
    assert (verdict_of(found, "S") == "flagged") == joins
    assert found.filter(pl.col("cluster_id").str.starts_with("T"))["verdict"].to_list() \
        == ["flagged"] * 19
    test = db.execute("SELECT tie_surprise, required_surprise, tie_without_infrastructure, "
                      "second_surprise, required_second FROM case_test "
                      "WHERE cluster_id = 'S'").fetchone()
    tied, bar, bare, second, second_bar = test
    assert tied > bar == pytest.approx(2 + math.log10(20))
    assert second >= second_bar == pytest.approx(2.0)
    if without and len(own) == 1:
        assert bare == pytest.approx(-3 * math.log10(Q), abs=0.1)
        assert bare < bar
    else:
        assert bare is None


def test_a_habit_tied_by_what_it_did_joins_with_its_prefixes_second(tmp_path):
    """Must join: one habit, six prompts and eight prefix-hours shared with F; without
    the prefixes the prompts pass the tie, and the prefixes are its second family (a
    campaign's card pairs on shared proxies join so)."""
    found, db = join_db(tmp_path, [statistic("S", "QD-06", 1e-8, 0.4)],
                        tie("s", 6, 0, prefixes=8))
    assert verdict_of(found, "S") == "flagged"
    families = db.execute("SELECT tie_families FROM case_join").fetchone()[0]
    assert [f.split()[0] for f in families.split(", ")] == ["infrastructure", "content"]


def test_one_harvest_statistic_is_enough_to_join_with_a_strong_tie(tmp_path):
    found, _ = join_db(tmp_path, [statistic("S", "QD-06", 1e-8, 0.4)], tie("s", 6, 3))
    assert verdict_of(found, "S") == "flagged"


def test_the_same_harvest_without_a_tie_is_watched_not_flagged(tmp_path):
    """One prompt and one start shared with F: about 1 each, under the bar of 2."""
    found, db = join_db(tmp_path, SWEEP, tie("s", 1, 1))
    assert verdict_of(found, "S") == "watch"
    assert db.execute("SELECT count(*) FROM case_join").fetchall() == [(0,)]


@pytest.mark.parametrize(("ties", "joins"), [
    (tie("s", 6, 3), True), (tie("s", 1, 1), False), (tie("s", 6, 0), False)],
    ids=["joined", "weak tie", "one family"])
def test_every_test_of_the_join_rule_is_on_record_joined_or_not(tmp_path, ties, joins):
    """``case_test`` keeps the test of a fragment that stayed on watch too, with what it
    lacked: an investigator asking why it did not join reads the numbers, not an absence."""
    found, db = join_db(tmp_path, SWEEP, ties)
    test = db.sql("SELECT * FROM case_test").pl()
    assert test["cluster_id"].to_list() == ["S"]
    row = test.row(0, named=True)
    assert (row["tested_case"], row["joined"]) == ("F", joins)
    assert row["joined"] == (verdict_of(found, "S") == "flagged")
    passed = (row["tie_surprise"] >= row["required_surprise"]
              and row["second_surprise"] >= row["required_second"])
    assert passed == joins
    joined = db.sql("SELECT DISTINCT cluster_id, joined_case, tie_surprise FROM case_join")
    expected = [("S", "F", pytest.approx(row["tie_surprise"]))] if joins else []
    assert joined.fetchall() == expected


def test_no_key_tables_from_linking_means_no_tie(tmp_path):
    found, db = join_db(tmp_path, SWEEP, None)
    assert verdict_of(found, "S") == "watch"
    assert found["joined_case"].is_null().all()
    assert db.execute("SELECT count(*) FROM case_join").fetchall() == [(0,)]
    assert db.execute("SELECT count(*) FROM case_test").fetchall() == [(0,)]


@pytest.mark.parametrize("behaviour", [ORDINARY, NIGHT_OWL],
                         ids=["ordinary", "night owl: traffic shape only"])
def test_a_strong_tie_without_a_harvest_does_not_join(tmp_path, behaviour):
    found, _ = join_db(tmp_path, behaviour, tie("s", 6, 3))
    assert verdict_of(found, "S") == "clear"
    assert found["joined_case"].is_null().all()


@pytest.mark.parametrize("rounds", [1, 2])
def test_a_fragment_tied_only_to_a_joined_fragment_joins_in_the_next_round(tmp_path, rounds):
    """T shares nothing with F, only with S, which joins F in round 1 (its ties to T are
    co-holders outside F, so it needs more than six prompts and three starts); in round 2 S
    counts among F's accounts and T's tie to it is tested: the run's ``join_rounds``
    decides."""
    found, db = join_db(tmp_path, SWEEP, tie("s", 8, 6) + tie("t", 6, 3, case=["s"]),
                        ScoringParams(join_rounds=rounds),
                        others={"T": [{**row, "cluster_id": "T"} for row in SWEEP]})
    assert verdict_of(found, "S") == "flagged"
    assert verdict_of(found, "T") == ("flagged" if rounds == 2 else "watch")
    if rounds == 2:
        assert db.sql("SELECT round FROM case_join WHERE account_id = 't'").fetchall() == [(2,)]


FLAGGED = [statistic("S", "QD-05", 1e-12, 0.5), statistic("S", "CM-01", 1e-9, 0.9)]
"""S's own statistics as strong as F's: flagged on its own behaviour."""

PIECES = ["s", "s1", "s2"]


def mesh(accounts: list[str], prompts: int, starts: int) -> list[tuple[str, str, str]]:
    """Every pair of ``accounts`` sharing ``prompts`` distinct prompts and ``starts``
    synchronized starts of its own."""
    rows = []
    for a, b in itertools.combinations(accounts, 2):
        for kind, n in (("same_prompt", prompts), ("sync_start", starts)):
            rows += [(x, kind, f"{a}-{b}-{kind}-{i}") for i in range(n) for x in (a, b)]
    return rows


ONE_OPERATOR = mesh(PIECES + CASE, 2, 1) + [
    (a, "same_prompt", key) for key, pair in (("more-across", ("s", "f0")),
                                              ("more-inside", ("s1", "s2"))) for a in pair]
"""S's three accounts and F's four share alike, whichever piece they are in (one more
prompt across, one more inside): one operator that Leiden cut in two."""

TWO_OPERATORS = mesh(PIECES, 6, 3) + mesh(CASE, 6, 3) + tie("s2", 6, 3)
"""Each piece shares much inside, and across only what s2 shares with F (two operators
renting one proxy pool): the same strong tie as a one-operator piece would have."""


@pytest.mark.parametrize(("ties", "merges"), [
    (ONE_OPERATOR, True), (TWO_OPERATORS, False), (tie("s2", 6, 3), False),
    (mesh(PIECES + CASE, 2, 0), False), (mesh(PIECES + CASE, 0, 0) + tie("s2", 1, 1), False)],
    ids=["one operator", "two operators on one pool", "nothing inside", "one family",
         "weak tie"])
def test_a_flagged_community_tied_to_a_larger_flagged_case_is_one_case_with_it(
        tmp_path, ties, merges):
    """S (three accounts) and F (four) are each flagged on their own behaviour. When S's
    accounts pass the join rule's test against F and share with F's accounts as much as
    each piece shares inside (Leiden cut one operator in two), S is part of F's case (the
    larger one); F never joins the smaller S, though their ties are the same both ways.
    A tie with far less across than inside is two operators (the cross rate is below one
    operator's at alpha), and pieces that share nothing inside have no rate to compare: both
    stay cases of their own. Verdicts do not move: both are flagged either way."""
    found, db = join_db(tmp_path, FLAGGED, ties, ScoringParams(merge_rounds=2), size=3)
    assert verdict_of(found, "S") == verdict_of(found, "F") == "flagged"
    assert found.filter(pl.col("cluster_id") == "F")["joined_case"].item() is None
    joined = db.sql("SELECT account_id, cluster_id, joined_case, round "
                    "FROM case_join ORDER BY account_id").fetchall()
    case = found.filter(pl.col("cluster_id") == "S").row(0, named=True)
    tested = db.sql("SELECT cluster_id, tested_case, joined FROM case_test").fetchall()
    assert tested == [("S", "F", merges)]
    if merges:
        assert case["joined_case"] == "F"
        assert "joined:F" in case["signals"].split(",")
        first = ScoringParams().join_rounds + 1
        assert joined == [(a, "S", "F", first) for a in PIECES]
    else:
        assert case["joined_case"] is None
        assert joined == []


def test_the_consistency_of_two_pieces_is_their_cross_rate_against_their_own(tmp_path):
    """``case_test`` keeps the merge test's numbers. One operator: every pair shares three
    things, across as inside (and one pair of each four), a ratio of about 1. Two
    operators: 9 things across 12
    pairs (0.75 a pair) against 9 a pair inside each, a ratio of 1/12; by hand, the
    accounts' influences (y/X - z/Z) square to 2/3 on S's side (-1/3, -1/3, 2/3) and
    11/324 on F's (1/12, 1/12, -1/36, -5/36), so z = log(1/12) / sqrt(2/3 + 11/324)."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    _, db = join_db(tmp_path / "one", FLAGGED, ONE_OPERATOR, ScoringParams(merge_rounds=2),
                    size=3)
    ratio, z, required = db.sql("SELECT cross_ratio, cross_z, required_z "
                                "FROM case_test").fetchall()[0]
    inside = (3 * 3 + 1) / 3 * (3 * 6) / 6  # S: 10 over 3 pairs, F: 18 over 6 pairs
    assert ratio == pytest.approx((37 / 12) / math.sqrt(inside))
    assert required == pytest.approx(NormalDist().inv_cdf(0.01))
    assert required < z < 0
    _, db = join_db(tmp_path / "two", FLAGGED, TWO_OPERATORS, ScoringParams(merge_rounds=2),
                    size=3)
    two = db.sql("SELECT cross_ratio, cross_z FROM case_test").fetchall()
    assert two == [(pytest.approx(1 / 12),
                    pytest.approx(math.log(1 / 12) / math.sqrt(2 / 3 + 11 / 324)))]
    assert two[0][1] < NormalDist().inv_cdf(0.01)


def two_batches(across: float) -> dict[str, pl.DataFrame]:
    """cross_consistency's inputs: case C of an early batch (e00-e09, days 1 to 2) and a
    late one (l00-l09, days 3 to 4) and piece P (p00-p09, days 3 to 4). Accounts active
    together share 2 things a pair inside each side, ``across`` a pair between P and the
    late batch; the early and the late batch never share (never active together)."""
    day = [DAY + timedelta(days=d) for d in range(4)]
    early, late, piece = ([f"{x}{i:02d}" for i in range(10)] for x in "elp")
    spans = pl.DataFrame({"account_id": early + late + piece,
                          "first_day": [day[0]] * 10 + [day[2]] * 20,
                          "last_day": [day[1]] * 10 + [day[3]] * 20})
    pairs = ([(a, b, 2.0) for side in (early, late, piece)
              for a, b in itertools.combinations(side, 2)]
             + [(a, b, across) for a in late for b in piece])
    return {"shared": pl.DataFrame(pairs, schema=["account_a", "account_b", "shared"],
                                   orient="row"),
            "tests": pl.DataFrame({"cluster_id": ["P"], "joined_case": ["C"]}),
            "cases": pl.DataFrame({"cluster_id": ["C"] * 20 + ["P"] * 10,
                                   "account_id": early + late + piece}),
            "spans": spans}


def test_a_later_batch_of_one_operator_is_measured_on_the_pairs_active_with_it():
    """Must merge: P shares with C's late batch what each batch shares inside (2 a pair),
    and nothing with the early batch, which it never overlapped: per pair active
    together the rates are all 2, a ratio of exactly 1. Per pair of all accounts C's rate
    is 180 / 190 and the cross rate 1, a ratio of 0.73 (sweep AX's 1651227967: 0.72, and
    two waves of one campaign stayed two cases). The coactive pairs: P with the late
    batch only (100), P's own 90 ordered pairs, C's 180."""
    world = two_batches(across=2.0)
    got = cross_consistency(world["shared"], world["tests"], world["cases"], 0.01,
                            world["spans"]).row(0, named=True)
    assert got["cross_ratio"] == pytest.approx(1.0)
    assert got["cross_z"] == pytest.approx(0.0, abs=1e-9)
    active = world["spans"].join(world["cases"].select("account_id", group="cluster_id"),
                                 on="account_id")
    tests = pl.DataFrame({"group": ["P", "P", "C"], "other": ["C", "P", "C"]})
    assert sorted(coactive_pairs(active, tests).iter_rows()) == [
        ("C", "C", 180), ("P", "C", 100), ("P", "P", 90)]


def test_a_case_tested_by_two_pieces_counts_its_pairs_once():
    """The same world with a second piece Q (q00-q09, days 3 to 4, tied like P) tested
    against C too: each ratio is still exactly 1. Counted once per piece (74f83e2), C's
    early and late batches were apart twice over: 400 - 2 x 200 - 20 = -20 pairs, and a
    ratio of 4,885."""
    world = two_batches(across=2.0)
    late = [f"l{i:02d}" for i in range(10)]
    second = [f"q{i:02d}" for i in range(10)]
    shared = pl.concat([world["shared"], pl.DataFrame(
        [(a, b, 2.0) for a, b in itertools.combinations(second, 2)]
        + [(a, b, 2.0) for a in late for b in second],
        schema=["account_a", "account_b", "shared"], orient="row")])
    day = world["spans"]["first_day"].max()
    spans = pl.concat([world["spans"], pl.DataFrame(
        {"account_id": second, "first_day": day, "last_day": world["spans"]["last_day"].max()})])
    cases = pl.concat([world["cases"], pl.DataFrame({"cluster_id": "Q", "account_id": second})])
    tests = pl.DataFrame({"cluster_id": ["P", "Q"], "joined_case": ["C", "C"]})
    got = cross_consistency(shared, tests, cases, 0.01, spans)
    assert got["cross_ratio"].to_list() == [pytest.approx(1.0), pytest.approx(1.0)]


def test_a_second_operator_active_with_the_case_stays_apart_whatever_the_days():
    """Must not merge: P shares 0.2 a pair with C's late batch, active with it, against 2
    inside: a tenth of one operator's rate, below it at alpha; the days it was active
    change nothing."""
    world = two_batches(across=0.2)
    got = cross_consistency(world["shared"], world["tests"], world["cases"], 0.01,
                            world["spans"]).row(0, named=True)
    assert got["cross_ratio"] == pytest.approx(0.1)
    assert got["cross_z"] < got["required_z"]


def test_the_consistency_is_the_same_bytes_whatever_order_the_pairs_come_in():
    """Float sums in another order differ in their last digits; the evidence rows come from
    hash joins in no fixed order, and the report must not change with them. (Eight pieces
    of 120 accounts: unsorted, three of six shuffles gave another cross_z.)"""
    accounts = [f"a{i:03d}" for i in range(120)]
    pairs = pl.DataFrame({"account_a": a, "account_b": b}
                         for a, b in itertools.combinations(accounts, 2))
    shared = pairs.with_columns(
        shared=(pl.col("account_a").hash(7) % 13 + pl.col("account_b").hash(3) % 5)
        .cast(pl.Int64))
    groups = [f"P{i % 8}" if i % 3 else "C" for i in range(len(accounts))]
    cases = pl.DataFrame({"cluster_id": groups, "account_id": accounts})
    tests = pl.DataFrame({"cluster_id": [f"P{i}" for i in range(8)], "joined_case": "C"})
    spans = pl.DataFrame({"account_id": accounts, "first_day": DAY, "last_day": DAY})
    runs = [cross_consistency(shared.sample(fraction=1.0, shuffle=True, seed=seed), tests,
                              cases, 0.01, spans) for seed in range(6)]
    assert runs[0]["cross_z"].is_not_null().all()
    assert all(run.equals(runs[0]) for run in runs)


@pytest.mark.parametrize("params", [ScoringParams(), ScoringParams(merge_rounds=0)],
                         ids=["default", "no merge rounds"])
def test_one_operators_pieces_are_one_case_by_default_and_not_without_merge_rounds(
        tmp_path, params):
    """The nightly default merges (sweep AF's pre-registered rule); ``merge_rounds=0``
    leaves both pieces flagged, S naming no case and nothing tested."""
    found, db = join_db(tmp_path, FLAGGED, ONE_OPERATOR, params, size=3)
    assert verdict_of(found, "S") == verdict_of(found, "F") == "flagged"
    if params.merge_rounds:
        assert found.filter(pl.col("cluster_id") == "S")["joined_case"].to_list() == ["F"]
    else:
        assert found["joined_case"].is_null().all()
        assert db.execute("SELECT count(*) FROM case_test").fetchall() == [(0,)]


def test_a_case_that_joins_another_in_the_same_round_takes_its_joiners_along():
    roots = case_roots(pl.DataFrame({"cluster_id": ["A", "B", "D"],
                                      "joined_case": ["B", "C", "C"]}))
    assert sorted(roots.iter_rows()) == [("A", "C"), ("B", "C"), ("D", "C")]


def test_each_runs_verdicts_are_kept_and_a_retry_replaces_its_own():
    db = connect()
    db.execute("CREATE TABLE clusters AS SELECT 'C1' AS cluster_id, DATE '2026-04-03' "
               "AS window_end")
    db.execute("CREATE TABLE cluster_findings AS SELECT 'C1' AS cluster_id, 'watch' AS "
               "verdict, 0.4 AS risk_score, 3::BIGINT AS n_accounts, NULL AS joined_case")
    record_verdicts(db, "night-1")
    db.execute("UPDATE cluster_findings SET verdict = 'flagged'")
    db.execute("UPDATE clusters SET window_end = DATE '2026-04-04'")
    record_verdicts(db, "night-2")
    record_verdicts(db, "night-2")
    assert db.execute("SELECT run_id, window_end, verdict FROM verdict_history "
                      "ORDER BY run_id").fetchall() == [
        ("night-1", date(2026, 4, 3), "watch"), ("night-2", date(2026, 4, 4), "flagged")]



POOL = [f"p{i}" for i in range(6)]
"""Six accounts linking left alone, each on watch by its own behaviour (``SWEEP``)."""


def cohort_db(ring_prompts: int, reach: int, previous: pl.DataFrame | None = None,
              ) -> tuple[duckdb.DuckDBPyConnection, LinkResult]:
    """A window as scoring's first pass leaves it: the flagged case F (f0-f3), the ``POOL``
    singletons P0-P5 on watch and the ``CROWD``, each account holding 10 prompts; each of
    the pool shares ``ring_prompts`` prompts with each of its next ``reach`` in a ring and
    nothing with anyone else (a graph edge of weight 1.5 each). ``previous``: the last
    run's clusters."""
    singles = {f"P{i}": [statistic(f"P{i}", s["rule_id"], s["p_adjusted"], s["effect_size"])
                         for s in SWEEP] for i in range(6)}
    profile, stats = small_world([], singles)
    profile = profile.filter(pl.col("cluster_id") != "S")
    db = connect()
    for name, frame in {
        "cluster_profile": profile, "cluster_statistic": stats,
        "clusters": pl.DataFrame({"cluster_id": ["F"] * 4 + list(singles),
                                  "account_id": CASE + POOL}),
        "account_link": pl.DataFrame(
            [{"account_a": a, "account_b": POOL[(i + k) % 6], "weight": 1.5}
             for i, a in enumerate(POOL) for k in range(1, reach + 1)]),
        "account_shared_key": pl.DataFrame(
            [{"account_id": holder, "key_type": "same_prompt", "key_value": key, "unit": key,
              "unit_weight": 1.0, "locale": None}
             for i, a in enumerate(POOL) for k in range(1, reach + 1)
             for n in range(ring_prompts)
             for key in [f"{a}-{k}-{n}"] for holder in (a, POOL[(i + k) % 6])]),
        "account_link_null": pl.DataFrame(
            [{"account_id": a, "key_type": "same_prompt", "stratum": 0, "key_count": 10,
              "coholder_count": 1, "type_incidences": 10 * 46} for a in CASE + POOL + CROWD]),
        "prior_clusters": previous if previous is not None else pl.DataFrame(
            schema={"cluster_id": pl.String, "account_id": pl.String}),
    }.items():
        db.register("frame", frame.to_arrow())
        db.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        db.unregister("frame")
    db.execute("CREATE TABLE account_link_evidence AS SELECT 'a' AS account_a, "
               "'b' AS account_b, 'payment_fingerprint' AS key_type WHERE false")
    db.execute("CREATE TABLE account_link_key AS SELECT 'a' AS account_id, "
               "'k' AS key_type, 'v' AS key_value WHERE false")
    db.execute("CREATE TABLE link_key AS SELECT 'k' AS key_type, 'v' AS key_value, "
               "1::BIGINT AS account_count, 1.0 AS weight WHERE false")
    db.execute("CREATE TABLE link_threshold AS SELECT 46::BIGINT AS account_count, "
               "1035.0::DOUBLE AS pair_count, 0.01::DOUBLE AS alpha, 5.0::DOUBLE AS edge_surprise")
    linked = LinkResult(window_start=date(2026, 4, 1), window_end=date(2026, 4, 3),
                        account_count=46, edge_count=12, cluster_count=7,
                        linked_cluster_count=1, largest_cluster=4)
    return db, linked


def test_watch_fragments_tied_among_themselves_are_one_cluster_judged_as_one():
    """Must merge: each of the pool shares three prompts with each of its two neighbours
    on either side, and nothing else: all twelve co-holders of its prompts are of the pool,
    where chance puts one in nine (the pool's other 50 of the window's other 450 key
    incidences): 11.5, far past the -log10(0.01 / 6) = 2.8 six tests need."""
    db, linked = cohort_db(3, 2)
    found = score_clusters(db, ScoringParams())
    merged = group_cohorts(db, found, linked, "night-1", LinkParams(), ScoringParams())
    assert merged is not None
    assert (merged.cluster_count, merged.linked_cluster_count, merged.largest_cluster) == (
        2, 2, 6)
    cohort = db.sql("SELECT * FROM cluster_cohort ORDER BY account_id").pl()
    assert cohort["account_id"].to_list() == POOL
    assert cohort["cluster_id"].n_unique() == 1
    assert (cohort["tie_surprise"] >= cohort["required_surprise"]).all()
    assert cohort["required_surprise"].to_list() == [pytest.approx(2 + math.log10(6))] * 6
    assert db.sql("SELECT count(*) FROM cluster_lineage WHERE run_id = 'night-1'"
                  ).fetchall() == [(2,)]
    tomorrow, linked = cohort_db(3, 2, db.sql("SELECT cluster_id, account_id FROM clusters").pl())
    group_cohorts(tomorrow, score_clusters(tomorrow, ScoringParams()), linked, "night-2",
                  LinkParams(), ScoringParams())
    assert tomorrow.sql("SELECT DISTINCT cluster_id FROM clusters WHERE account_id LIKE 'p%'"
                        ).fetchall() == [(cohort["cluster_id"][0],)]


def test_watch_fragments_sharing_one_prompt_by_chance_stay_apart():
    """Must not merge: one prompt with each neighbour, against the one in nine chance
    gives: two of two is 1.9, under the 2.8 six tests need. The table is written empty and
    the clusters are as linking left them."""
    db, linked = cohort_db(1, 1)
    found = score_clusters(db, ScoringParams())
    assert group_cohorts(db, found, linked, "night-1", LinkParams(), ScoringParams()) is None
    assert db.sql("SELECT count(*) FROM cluster_cohort").fetchall() == [(0,)]
    assert db.sql("SELECT count(DISTINCT cluster_id) FROM clusters").fetchall() == [(7,)]


def test_only_fragments_on_watch_are_grouped_into_cohorts():
    """A cluster of three on watch is a community linking kept and was judged as one; a
    flagged fragment (a joined one) and a clear one are no cohort's."""
    findings = pl.DataFrame({"cluster_id": ["W1", "W3", "F1", "C1"],
                             "verdict": ["watch", "watch", "flagged", "clear"],
                             "n_accounts": [1, 3, 1, 2]})
    assert watch_fragments(findings, ScoringParams())["cluster_id"].to_list() == ["W1"]
