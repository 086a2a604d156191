"""Scoring: the statistics of each cluster turned into a verdict, a risk score and signals,
and the clusters whose behaviour and ties put them in a flagged case.

In: ``cluster_statistic``, ``cluster_profile`` and ``clusters`` (``forensics.duckdb``);
``account_link_pair`` and ``link_threshold`` from linking when they exist. Out:
``cluster_findings`` (one row per cluster of the window, the output contract's columns
and ``joined_case``), ``case_join`` (one row per account of a cluster that joined a
flagged case, with the numbers that decided it) and ``case_test`` (one row per cluster
the join rule tested, joined or not).

A family of evidence (query distribution, caching mismatch, traffic shape) holds when at
least ``min_strong_per_family`` of its statistics are strong (corrected p-value and effect
size both past their thresholds). A statistic is a harvest statistic when it shows what is
harvested (``Rule.harvest``: a capability sweep, reasoning elicitation, output saturation,
one prompt sampled across the pool, cache busting); novel prompts, shared wrappers, night
hours, pacing, synchronized starts, failovers and shared cache prefixes are how an app, a
lab's benchmark run or an enterprise's agents send too. Every verdict but ``clear`` needs
a strong harvest statistic. A cluster of ``min_accounts_flagged`` accounts or more is
``flagged`` with ``min_families_flagged`` families and the harvest shown twice
(``flagged_harvest``: two harvest statistics, or one measured across accounts; one for a
cluster whose requests carry no prompt text, ``flagged_harvest_hashes_only``) shown by
``min_accounts_flagged`` of its accounts (``accounts_above_baseline`` of
``cluster_statistic``: two accounts that harvest, linked to riders that do not, are two
accounts), and ``watch`` otherwise. A smaller
cluster (one or two accounts: a fragment linking left behind, or a person) is ``watch``
with ``small_watch_strong`` (three) strong statistics: one or two odd habits (a night
owl, a low max_tokens) are never enough. Anything else is ``clear``. Linkage says whom
the verdict covers and is not a family here.

Joining: a cluster that is not flagged and holds a harvest statistic (a fragment linking
left behind, or a community it cut off from its case) joins the flagged case it is most
tied to when its accounts together pass linking's member test against the case's accounts
(``sql/detection/case_tie.sql`` finds the cases it shares keys with; ``tie_round``), by a
Bonferroni bound over the round's tests and with a second family of ties (a cluster whose
own behaviour holds one family, a habit, must pass the tie without infrastructure too); it
is then ``flagged`` with the case's id in ``joined_case`` and ``joined:<case>`` among its signals.
The behaviour is evidence the edge did not have, and linking says whom the verdict covers:
the whole cluster joins (README, Statistics and verdicts). Then each flagged cluster is
tested the same way against the larger flagged cases (``case_merges``): pieces of one
operator that Leiden cut apart, each flagged on its own, become one case (``joined_case``
names the larger one); no verdict changes.

The risk score is the mean over the three families of each family's strongest statistic's
strength, strength being min(1, -log10(p_adjusted) / 10) times min(1, effect / the rule's
minimum effect): it grows with every statistic's evidence and never shrinks when one
grows. A join does not change it: it is the cluster's own evidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import duckdb
import polars as pl

from pipeline.detection.consistency import active_spans, cross_consistency, pair_shared
from pipeline.detection.rules import RULES
from pipeline.detection.statistics import OWN_RULES, hashes_only
from pipeline.linking.members import REGISTRANT_KINDS, KeyCodes, cluster_ties, key_codes
from pipeline.linking.surprise import hochberg_bar
from pipeline.registry import (
    CASE_JOIN,
    CASE_TEST,
    CASE_TIE,
    DEFAULT_LINK_TYPES,
    FAMILIES,
    VERDICT_HISTORY,
)
from pipeline.settings import ScoringParams
from pipeline.warehouse import empty_frame, publish_frame, sql_text, table_ddl

LINK_TABLES = ("account_shared_key", "account_link_null", "account_link_evidence",
               "link_threshold")
"""Linking's key tables, evidence and threshold; without them no cluster joins a case."""


def score_clusters(db: duckdb.DuckDBPyConnection, params: ScoringParams | None = None,
                   tables: LinkingTables | None = None) -> pl.DataFrame:
    """Build ``cluster_findings``, ``case_join`` and ``case_test``
    (``pipeline.publish.publication`` publishes the findings once they pass validation).
    ``tables``: linking's, when the caller has read them (``linking_tables``), so that a
    window scored again after its cohorts were merged does not read and encode them again;
    read here otherwise."""
    params = params or ScoringParams()
    profile = db.sql("SELECT cluster_id, n_accounts, request_count, first_seen, last_seen, "
                     "text_request_count FROM cluster_profile").pl()
    statistics = db.sql("SELECT * FROM cluster_statistic").pl()
    findings = verdicts(profile, statistics, params)
    members = db.sql("SELECT cluster_id, account_id FROM clusters").pl()
    linking = tables if tables is not None else linking_tables(db)
    ties = case_ties(db, linking, members, findings, statistics, params)
    findings, joined = join_cases(findings, ties, members)
    merges = case_merges(db, linking, members, findings, params)
    findings, merged = join_cases(findings, merges, members)
    publish_frame(db, "case_join", pl.concat([joined, merged]), "account_id")
    publish_frame(db, "case_test", case_tests(pl.concat([ties, merges])), "cluster_id")
    publish_frame(db, "cluster_findings", findings, "cluster_id")
    return findings


def record_verdicts(db: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Append this run's verdicts to ``verdict_history`` (replacing an earlier attempt of
    the same run): ``cluster_findings`` holds only the last run, and "which cases became
    flagged tonight?" or "what did we flag on the 3rd?" need every run's. A row is one
    cluster of one run: run_id, window_end, cluster_id, verdict, risk_score, n_accounts,
    joined_case; the ``runs`` table says how the run ended."""
    db.execute(table_ddl(VERDICT_HISTORY))
    db.execute("DELETE FROM verdict_history WHERE run_id = $run_id", {"run_id": run_id})
    db.execute(f"INSERT INTO verdict_history {sql_text('verdict_history')}",
               {"run_id": run_id})


def verdicts(profile: pl.DataFrame, statistics: pl.DataFrame,
             params: ScoringParams) -> pl.DataFrame:
    """The findings of every cluster from its own statistics (pure: frames in, frame out);
    ``joined_case`` is null here, ``join_cases`` fills it."""
    min_effect = {r.statistic: r.min_effect for r in RULES}
    strength = statistics.with_columns(
        strength=(
            (-pl.col("p_adjusted").clip(1e-300, 1.0).log10() / 10).clip(0.0, 1.0)
            * (pl.col("effect_size") / pl.col("statistic").replace_strict(
                min_effect, return_dtype=pl.Float64)).clip(0.0, 1.0)
        ),
    )
    families = strength.sort("cluster_id", "family", "statistic").group_by(
        "cluster_id", "family", maintain_order=True).agg(
        strong=pl.col("is_strong").sum(),
        strength=pl.col("strength").max(),
    )
    per_cluster = families.group_by("cluster_id", maintain_order=True).agg(
        strong_families=pl.col("family")
        .filter(pl.col("strong") >= params.min_strong_per_family).sort().str.join(","),
        family_count=(pl.col("strong") >= params.min_strong_per_family).sum(),
        risk_score=pl.col("strength").sum() / len(FAMILIES),
    )
    signals = strength.filter(pl.col("is_strong")).group_by("cluster_id").agg(
        signals=pl.col("rule_id").unique().sort().str.join(","))
    small = pl.col("n_accounts") < params.min_accounts_flagged
    shown_by = (pl.when(pl.col("harvest_together") | pl.col("harvest_accounts").is_null())
                .then(pl.col("n_accounts")).otherwise(pl.col("harvest_accounts")))
    return (
        profile.join(per_cluster, on="cluster_id", how="left")
        .join(signals, on="cluster_id", how="left")
        .join(strong_counts(statistics), on="cluster_id", how="left")
        .with_columns(
            pl.col("family_count", "strong_count", "harvest_count", "harvest_weight")
            .fill_null(0),
            pl.col("harvest_together").fill_null(False),
            risk_score=pl.col("risk_score").fill_null(0.0).clip(0.0, 1.0),
            strong_families=pl.col("strong_families").fill_null(""),
            signals=pl.col("signals").fill_null(""),
        )
        .with_columns(hashes_only=hashes_only())
        .with_columns(
            verdict=pl.when(pl.col("harvest_count") < params.min_harvest_strong)
            .then(pl.lit("clear"))
            .when(~small & (pl.col("family_count") >= params.min_families_flagged)
                  & (pl.col("harvest_weight") >= pl.when(pl.col("hashes_only"))
                     .then(params.flagged_harvest_hashes_only)
                     .otherwise(params.flagged_harvest))
                  & (shown_by >= params.min_accounts_flagged))
            .then(pl.lit("flagged"))
            .when(~small & (pl.col("family_count") >= 1)).then(pl.lit("watch"))
            .when(small & (pl.col("strong_count") >= params.small_watch_strong))
            .then(pl.lit("watch"))
            .otherwise(pl.lit("clear")),
        )
        .select(
            "cluster_id", "verdict", "risk_score",
            pl.col("n_accounts").cast(pl.Int64), pl.col("request_count").cast(pl.Int64)
            .alias("n_requests"),
            "first_seen", "last_seen", "strong_families", "signals", "hashes_only",
            pl.lit(None, pl.String).alias("joined_case"),
        )
        .sort("cluster_id")
    )


def strong_counts(statistics: pl.DataFrame) -> pl.DataFrame:
    """Per cluster: its strong statistics, those of them that are harvest statistics, and
    their weight for ``flagged_harvest`` (an across-accounts one counts twice); and how
    many of its accounts show the harvest: the most accounts above the baseline on one
    strong harvest statistic (``harvest_accounts``), unless one is measured on the accounts
    together (across accounts, or a capability mix by permutation: ``harvest_together``),
    which counts as the whole cluster. Statistics stored before
    ``accounts_above_baseline`` existed count as the whole cluster too."""
    harvest = [r.statistic for r in RULES if r.harvest]
    together = [r.statistic for r in RULES if r.harvest and r.across_accounts]
    own = [r.statistic for r in OWN_RULES]
    if "accounts_above_baseline" not in statistics.columns:
        statistics = statistics.with_columns(accounts_above_baseline=pl.lit(None, pl.Int64))
    is_harvest = pl.col("statistic").is_in(harvest)
    return statistics.filter(pl.col("is_strong")).group_by("cluster_id").agg(
        strong_count=pl.len().cast(pl.Int64),
        harvest_count=is_harvest.sum().cast(pl.Int64),
        harvest_weight=(is_harvest.sum()
                        + pl.col("statistic").is_in(together).sum()).cast(pl.Int64),
        harvest_accounts=pl.col("accounts_above_baseline").filter(is_harvest).max(),
        harvest_together=(is_harvest & ~pl.col("statistic").is_in(own)).any(),
    )


def join_candidates(findings: pl.DataFrame, statistics: pl.DataFrame,
                    params: ScoringParams) -> pl.DataFrame:
    """The clusters that may join a case (cluster_id, n_accounts): not flagged, a harvest
    statistic strong. Of any size: Leiden cuts a large campaign into communities, and one
    whose statistics fell short of the flagged rule (a harvest shown once, not twice) is
    still the case's operator when its accounts are tied to the case's. Every account
    tested counts in the round's Bonferroni bound, so a large candidate pays for its
    size."""
    return (findings.join(strong_counts(statistics), on="cluster_id")
            .filter((pl.col("verdict") != "flagged")
                    & (pl.col("harvest_count") >= params.min_harvest_strong))
            .select("cluster_id", "n_accounts"))


def linking_wrote_keys(db: duckdb.DuckDBPyConnection) -> bool:
    """Whether linking's key tables, evidence and threshold (``LINK_TABLES``) exist: a
    window scored without them (linking has not run) joins and groups nothing."""
    present = {r[0] for r in db.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
    return set(LINK_TABLES) <= present


def card_rows(db: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The evidence rows of cards and creation waves (account_a, account_b, key_type): the
    member test leaves what an account shares with its own registrant's holders out."""
    return db.sql("SELECT account_a, account_b, key_type FROM account_link_evidence "
                  "WHERE list_contains($registrant, key_type)",
                  params={"registrant": list(REGISTRANT_KINDS)}).pl()


class LinkingTables(NamedTuple):
    """What the join rule reads of linking: its keys encoded once for every tie test of
    the joins and the merges (``key_codes``), the card rows and linking's alpha."""

    keys: KeyCodes
    cards: pl.DataFrame
    alpha: float


def linking_tables(db: duckdb.DuckDBPyConnection) -> LinkingTables | None:
    """Linking's key tables the join rule reads (read once for the joins and the merges),
    with its alpha; None when linking wrote none (``linking_wrote_keys``)."""
    if not linking_wrote_keys(db):
        return None
    return LinkingTables(
        key_codes(db.sql("SELECT * FROM account_shared_key").pl(),
                  db.sql("SELECT * FROM account_link_null").pl()),
        card_rows(db),
        float(db.execute("SELECT max(alpha) FROM link_threshold").fetchall()[0][0]))


def case_ties(db: duckdb.DuckDBPyConnection, linking: LinkingTables | None,
              members: pl.DataFrame, findings: pl.DataFrame,
              statistics: pl.DataFrame, params: ScoringParams) -> pl.DataFrame:
    """Each candidate's strongest test against the flagged cases it shares a key with
    (``sql/detection/case_tie.sql``, ``tie_round``), ``join_rounds`` times, a candidate
    that joined in one round counting among its case's accounts in the next: the columns
    of ``CASE_TIE``, one row per candidate tested (the round it joined in, or its last).
    Empty when linking wrote no key tables or nothing is flagged (then no cluster joins: a
    missing tie is no tie)."""
    waiting = join_candidates(findings, statistics, params)
    if linking is None or waiting.is_empty():
        return empty_frame(CASE_TIE)
    cases = (findings.filter(pl.col("verdict") == "flagged").select("cluster_id")
             .join(members, on="cluster_id"))
    habits = (findings.filter(~pl.col("strong_families").str.contains(","))
              .join(waiting, on="cluster_id", how="semi")["cluster_id"]
              if params.habit_ties_without_infrastructure else None)
    waiting = waiting.select("cluster_id").join(members, on="cluster_id")
    return _tie_rounds(db, linking, waiting, cases, range(1, params.join_rounds + 1),
                       habits=habits)


def case_merges(db: duckdb.DuckDBPyConnection, linking: LinkingTables | None,
                members: pl.DataFrame, findings: pl.DataFrame,
                params: ScoringParams) -> pl.DataFrame:
    """Flagged clusters that are one case with a larger flagged case: the join rule's test
    (``tie_round``) of each flagged cluster that joined nothing against the flagged cases
    larger than it (more accounts, its joined clusters counted; ties: the smaller id), in
    ``merge_rounds`` rounds of its own after the joins (its own Bonferroni bound, so the
    joins are not changed by it). Leiden cuts a large campaign into communities that are
    each flagged on their own behaviour; their ties say they are one operator, so they are
    one case (one ``joined_case`` chain) rather than a case per piece. Verdicts do not
    change: every cluster tested is flagged already. Columns of ``CASE_TIE``, rounds
    numbered after the joins'."""
    flagged = findings.filter(pl.col("verdict") == "flagged")
    if flagged.height < 2 or linking is None or params.merge_rounds == 0:
        return empty_frame(CASE_TIE)
    cases = (flagged.select("cluster_id", label=pl.coalesce("joined_case", "cluster_id"))
             .join(members, on="cluster_id")
             .select(cluster_id="label", account_id="account_id"))
    waiting = (flagged.filter(pl.col("joined_case").is_null()).select("cluster_id")
               .join(members, on="cluster_id"))
    order = (cases.group_by("cluster_id").len()
             .sort(["len", "cluster_id"], descending=[True, False])
             .with_row_index("rank").select("cluster_id", "rank"))
    first = params.join_rounds + 1
    shared, spans = pair_shared(db), active_spans(db)
    alpha = linking.alpha

    def consistent(tied: pl.DataFrame, counted: pl.DataFrame) -> pl.DataFrame:
        return cross_consistency(shared, tied, counted, alpha, spans)

    return _tie_rounds(db, linking, waiting, cases, range(first, first + params.merge_rounds),
                       order, consistent)


def _tie_rounds(db: duckdb.DuckDBPyConnection, linking: LinkingTables,
                waiting: pl.DataFrame, cases: pl.DataFrame, rounds: range,
                order: pl.DataFrame | None = None,
                consistent: Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame] | None = None,
                habits: pl.Series | None = None) -> pl.DataFrame:
    """The join rule's rounds: each cluster of ``waiting`` (cluster_id, account_id) tested
    against the cases (``cases``: cluster_id naming the case, account_id) it shares keys
    with; a cluster that joins counts for its case's root in the next round. With
    ``order`` (cluster_id, rank) a cluster is tested only against cases ranked before its
    own, so no two cases join each other; ``consistent`` adds the merge rule's
    consistency test to each round's strongest tests (``cross_consistency``; without it
    the columns are null and do not hold a join back); the clusters of ``habits`` must
    pass their tie without infrastructure too (``tie_round``). One ``CASE_TIE`` row per
    cluster tested (the round it joined in, or its last)."""
    empty = empty_frame(CASE_TIE)
    if waiting.is_empty() or cases.is_empty():
        return empty
    alpha = linking.alpha
    decided, tied = [], empty
    for round_ in rounds:
        roles = pl.concat([waiting.with_columns(role=pl.lit("candidate")),
                           cases.with_columns(role=pl.lit("case"))])
        db.register("_tie_role", roles.select("account_id", "cluster_id", "role").to_arrow())
        try:
            coholders = db.sql(sql_text("case_tie")).pl()
        finally:
            db.unregister("_tie_role")
        if order is not None:
            coholders = (coholders
                         .join(order, on="cluster_id")
                         .join(order, left_on="joined_case", right_on="cluster_id",
                               suffix="_case")
                         .filter(pl.col("rank_case") < pl.col("rank"))
                         .drop("rank", "rank_case"))
        if coholders.is_empty():
            break
        tied = tie_round(coholders, waiting, cases, linking, alpha, habits).with_columns(
            round=pl.lit(round_, pl.Int64))
        tied = (consistent(tied, cases) if consistent is not None else tied.with_columns(
            cross_ratio=pl.lit(None, pl.Float64), cross_z=pl.lit(None, pl.Float64),
            required_z=pl.lit(None, pl.Float64))).select(empty.columns)
        joins = tied.filter(joins_case())
        if joins.is_empty():
            break
        decided.append(joins)
        root = case_roots(joins.select("cluster_id", "joined_case"))
        moved = (waiting.join(root, on="cluster_id")
                 .select(cluster_id="root", account_id="account_id"))
        cases = pl.concat([
            cases.join(moved, on="account_id", how="anti")
            .join(root, on="cluster_id", how="left")
            .select(cluster_id=pl.coalesce("root", "cluster_id"), account_id="account_id"),
            moved])
        waiting = waiting.join(joins, on="cluster_id", how="anti")
        tied = tied.join(joins, on="cluster_id", how="anti")
    return pl.concat([*decided, tied]).sort("cluster_id")


def case_roots(joins: pl.DataFrame) -> pl.DataFrame:
    """(cluster_id, root): the case each cluster that joined (``joins``: cluster_id,
    joined_case) ends in, following a case that itself joined another in the same round.
    A chain never loops (a case joins only one ranked before it) and is at most as long as
    the joins."""
    root = joins.select("cluster_id", root="joined_case")
    for _ in range(joins.height):
        step = root.join(root.select(pl.col("cluster_id").alias("root"), next="root"),
                         on="root", how="left")
        if step["next"].is_null().all():
            break
        root = step.select("cluster_id", root=pl.coalesce("next", "root"))
    return root


def joins_case() -> pl.Expr:
    """The join rule on a ``CASE_TIE`` row: both the tie and its second family pass, a
    habit's tie without infrastructure (when set) too, and a merge's consistency test
    (``required_z`` set) does too."""
    return ((pl.col("tie_surprise") >= pl.col("required_surprise"))
            & (pl.col("tie_without_infrastructure").is_null()
               | (pl.col("tie_without_infrastructure") >= pl.col("required_surprise")))
            & (pl.col("second_surprise") >= pl.col("required_second"))
            & (pl.col("required_z").is_null()
               | (pl.col("cross_z") >= pl.col("required_z")).fill_null(False)))


def tie_round(coholders: pl.DataFrame, waiting: pl.DataFrame, cases: pl.DataFrame,
              linking: LinkingTables, alpha: float,
              habits: pl.Series | None = None) -> pl.DataFrame:
    """One round of the join rule (pure): each candidate cluster (``waiting``: cluster_id,
    account_id) tested against every case (``cases``: cluster_id, account_id) it shares a
    key with (``coholders``, from ``case_tie.sql``); its row is its strongest test.

    A test is linking's member test of the cluster's accounts together against one case's
    accounts (``cluster_ties``: of the co-holders of its keys outside it, a key counted
    once for the whole cluster, how many are the case's, against the case's share of the
    window): linking put the cluster's accounts together and the whole cluster joins, so
    the whole cluster's sharing is the evidence, not its best account's. It must reach
    -log10(alpha / tests), Bonferroni over this round's tests (a cluster and a case). One
    family of evidence can be one explanation (a mobile user on the carrier prefixes a
    campaign's proxies also use; a researcher on the benchmark a campaign also harvests),
    so the tie's second family must pass too, by the Benjamini-Hochberg procedure at alpha
    over the candidates whose tie passed: when many of them are a campaign's fragments, a
    modest second family suffices; when few pass, it must be as strong as a Bonferroni
    bound over them.

    A candidate of ``habits`` (its own strong statistics hold one family: a habit such as
    a low max_tokens, which some people have) must also pass the tie with the
    infrastructure family left out (``tie_without_infrastructure``): such a person on the
    mobile carrier whose prefixes a campaign's proxies also use shares the campaign's
    prefix-hours by where they connect from, and with the campaign's many fragments
    passing beside them, a modest second family passes too. The tie must rest on
    something it did or registered (prompts, timing, a card); infrastructure may still be
    its second family, as it is for a fragment of card pairs on shared proxies."""
    case_label = coholders.select("joined_case").unique().sort("joined_case") \
        .with_row_index("label").with_columns(pl.col("label").cast(pl.Int64))
    counted = cases.join(case_label, left_on="cluster_id", right_on="joined_case") \
        .select("account_id", "label")
    tested = (waiting.join(coholders.select("cluster_id", "joined_case"), on="cluster_id")
              .join(case_label, on="joined_case"))
    families = {t.key_type: t.family for t in DEFAULT_LINK_TYPES}
    ties = cluster_ties(linking.keys, linking.cards, counted,
                        tested.select("account_id", "cluster_id", "label"), families)
    habit = (pl.col("cluster_id").is_in(habits.implode()) if habits is not None
             else pl.lit(False))
    infrastructure = [k for k, family in families.items() if family == "infrastructure"]
    habit_tested = tested.filter(habit).select("account_id", "cluster_id", "label")
    bare = (cluster_ties(linking.keys.without(infrastructure), linking.cards, counted,
                         habit_tested, families)
            if not habit_tested.is_empty() else ties.clear()).select(
        "cluster_id", "label", tie_without_infrastructure="tie_surprise")
    required = math.log10(max(coholders.height, 1)) - math.log10(alpha)
    rows = (coholders.join(case_label, on="joined_case")
            .join(ties, on=["cluster_id", "label"], how="left")
            .join(bare, on=["cluster_id", "label"], how="left")
            .with_columns(pl.col("tie_surprise", "second_surprise").fill_null(0.0),
                          tie_without_infrastructure=pl.when(habit).then(
                              pl.col("tie_without_infrastructure").fill_null(0.0)))
            .sort("cluster_id", "tie_surprise", "joined_case",
                  descending=[False, True, False])
            .unique("cluster_id", keep="first", maintain_order=True)
            .select("cluster_id", "joined_case", "coholders", "tie_surprise",
                    "tie_without_infrastructure", "second_surprise", "tie_families",
                    required_surprise=pl.lit(required)))
    return rows.with_columns(required_second=pl.lit(
        hochberg_bar(rows.filter(pl.col("tie_surprise") >= required)["second_surprise"]
                     .to_numpy(), alpha)))


def case_tests(ties: pl.DataFrame) -> pl.DataFrame:
    """``case_test`` from the ``CASE_TIE`` rows of the joins and the merges: every test,
    passed or not, so an investigator can read how far a watched fragment fell short of
    its case rather than find nothing (a cluster is tested in one of the two: a candidate
    that did not join is not flagged, one that joined is not tested again)."""
    return (ties.with_columns(joined=joins_case())
            .rename({"joined_case": "tested_case"})
            .select([c.name for c in CASE_TEST.columns])
            .sort("cluster_id"))


def join_cases(findings: pl.DataFrame, ties: pl.DataFrame,
               members: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply the join rule (pure): each candidate whose tie and its second family pass
    (``joins_case``) joins the case it was tested against. Returns the findings (joined
    clusters ``flagged``, ``joined_case`` set, ``joined:<case>`` in signals) and
    ``case_join``: one row per account of a joined cluster."""
    joins = ties.filter(joins_case()).unique("cluster_id", keep="first", maintain_order=True)
    case_join = (joins.join(members, on="cluster_id")
                 .join(findings.select("cluster_id", families_held="strong_families"),
                       on="cluster_id")
                 .select([c.name for c in CASE_JOIN.columns])
                 .sort("account_id"))
    joined = joins.select("cluster_id", case=pl.col("joined_case"))
    findings = (findings.join(joined, on="cluster_id", how="left")
                .with_columns(
                    verdict=pl.when(pl.col("case").is_not_null()).then(pl.lit("flagged"))
                    .otherwise(pl.col("verdict")),
                    signals=pl.when(pl.col("case").is_null()).then(pl.col("signals"))
                    .otherwise(pl.concat_str(pl.col("signals"), pl.lit("joined:") + pl.col("case"),
                                             separator=",").str.strip_chars(",")),
                    joined_case=pl.coalesce("case", "joined_case"))
                .drop("case"))
    return findings, case_join
