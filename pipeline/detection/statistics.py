"""Statistics: every cluster's query-distribution, caching-mismatch and traffic-shape
statistics against the population, each with its baseline, effect size and p-value.

In: ``clusters`` and the window's per-day tables, through ``forensics.duckdb``
(``sql/detection/cluster_profile.sql`` and ``sql/detection/cluster_capability.sql`` fold
them into counts per cluster). Out: the ``cluster_profile``, ``cluster_capability``,
``cluster_cache_day`` and ``cluster_cache_collision`` tables (the last two for the reports'
caching section), ``baseline_group`` and ``baseline_group_profile``, and
``cluster_statistic``: one row per tested cluster and statistic. A
single account is tested too, on the rules that measure an account's own behaviour, so a
fragment linking left alone is judged by what it does; the rules of what accounts do
together (``Rule.across_accounts``) need two or more.

Every statistic is a rule of ``RULES`` (``pipeline/detection/rules/``, one module per rule with the
worlds where it must fire and must not): an id, a family, what it measures (a ratio of two
``cluster_profile`` columns, so an auditor can re-derive it) and the test behind it. The
baseline of a rule of an account's own behaviour (reasoning, saturation, cache busting,
hours, pacing) is the rest of the window, weighed by accounts or by requests, whichever
median is lower, without the clusters a first pass found strong on a harvest rule
(``judge``). The
baseline of a size-dependent rule (``Rule.by_size``: what accounts do together, and
novelty) is the ``baseline_clusters`` clusters nearest in size (its own value excluded);
for what accounts do together, other clusters of several accounts only, or, where the
window has ``min_baseline_clusters`` or fewer of them, random groups of its accounts
(``baselines``). Tests, one-sided in the suspicious direction:

- ``binomial``: the cluster's count k of n against the baseline's median rate
  (``scipy.stats.binom.sf``). Requests of one account are not independent, so the p-value
  is optimistic; the effect-size threshold of each rule is what guards against a large
  cluster turning a small difference into a tiny p-value.
- ``permutation``: the statistic of the cluster's capability mix against the same
  statistic of ``permutations`` random sets of as many accounts, drawn from the window's
  accounts (with replacement); p = (1 + draws at least as extreme) / (1 + draws).

p-values are adjusted with Benjamini-Hochberg across the clusters tested, per statistic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import duckdb
import numpy as np
import polars as pl
from scipy.stats import binom

from pipeline.detection.baselines import (
    needs_random_groups,
    profile_of,
    publish_no_groups,
    random_group_profiles,
)
from pipeline.detection.rules import RULES
from pipeline.detection.rules.rule import Rule
from pipeline.progress import Progress, Steps
from pipeline.registry import CAPABILITIES, CLUSTER_STATISTIC
from pipeline.settings import StatisticsParams
from pipeline.warehouse import publish_frame, sql_text


def compute_statistics(db: duckdb.DuckDBPyConnection, start: date, end: date,
                       params: StatisticsParams | None = None,
                       progress: Progress | None = None) -> pl.DataFrame:
    """Build ``cluster_profile``, ``cluster_capability`` and ``cluster_statistic``.

    ``start``..``end`` is the window the clusters were linked over: the statistics judge
    the same days the linkage was found in.
    """
    params = params or StatisticsParams()
    window = {"start": start, "end": end}
    tables = ("cluster_capability", "cluster_cache_day", "cluster_cache_collision")
    steps = Steps(progress, "statistics", len(tables) + 3)
    steps.next("cluster_profile")
    profile_params = {**window, "night_start_hour": params.night_start_hour,
                      "night_end_hour": params.night_end_hour, "pacing_low": params.pacing_low,
                      "pacing_high": params.pacing_high,
                      "edge_margin_minutes": params.edge_margin_minutes}
    db.execute(f"CREATE OR REPLACE TABLE cluster_profile AS {sql_text('cluster_profile')}",
               profile_params)
    for table in tables:
        steps.next(table)
        db.execute(f"CREATE OR REPLACE TABLE {table} AS {sql_text(table)}", window)
    profile = db.sql("SELECT * FROM cluster_profile ORDER BY cluster_id").pl()
    capability = db.sql("SELECT * FROM cluster_capability").pl()
    accounts = db.sql(
        "SELECT account_id, capability, sum(request_count)::BIGINT AS request_count "
        "FROM account_capability_day WHERE date BETWEEN $start AND $end "
        "AND capability <> 'unknown' GROUP BY ALL ORDER BY account_id, capability",
        params=window).pl()
    steps.next("cluster_statistic")
    permuted = capability_statistics(profile, capability, accounts, params)
    suspected = suspects(profile, permuted, params)
    if needs_random_groups(profile, params):
        groups = random_group_profiles(db, profile_params, profile, suspected, params)
    else:
        groups = None
        publish_no_groups(db)
    judged = judge(profile, permuted, params, suspected, groups)
    steps.next("accounts_above_baseline")
    statistics = with_accounts_above_baseline(
        judged, own_profiles(db, profile_params, profile, judged))
    publish_frame(db, "cluster_statistic", statistics, "cluster_id, statistic")
    steps.end()
    return statistics


def judge(profile: pl.DataFrame, permuted: pl.DataFrame, params: StatisticsParams,
          suspected: Sequence[str] | None = None,
          groups: pl.DataFrame | None = None) -> pl.DataFrame:
    """Test every cluster on every rule, the ``suspects`` left out of the baselines of each
    account's own behaviour, so the null is what the other accounts do. ``groups``
    (``baselines.random_group_profiles``), when given, are the null of what accounts do
    together."""
    if suspected is None:
        suspected = suspects(profile, permuted, params)
    return _strong(binomial_statistics(profile, params, suspected, groups=groups),
                   permuted, params)


def suspects(profile: pl.DataFrame, permuted: pl.DataFrame,
             params: StatisticsParams) -> list[str]:
    """The clusters a first pass on the harvest rules alone finds strong (p-values are
    adjusted per statistic, so the other rules cannot change it)."""
    harvest = [r for r in RULES if r.harvest]
    first = _strong(binomial_statistics(profile, params, rules=harvest), permuted, params)
    return sorted(first.filter(pl.col("is_strong") & pl.col("rule_id").is_in(
        [r.rule_id for r in harvest]))["cluster_id"].unique().to_list())


def _strong(binomial: pl.DataFrame, permuted: pl.DataFrame,
            params: StatisticsParams) -> pl.DataFrame:
    """Adjust the p-values and mark the strong statistics."""
    statistics = pl.concat([p for p in (binomial, permuted) if p.width],
                           how="vertical_relaxed")
    return adjust_benjamini_hochberg(statistics).with_columns(
        is_strong=(pl.col("p_adjusted") <= params.alpha)
        & (pl.col("effect_size") >= pl.col("statistic").replace_strict(
            {r.statistic: r.min_effect for r in RULES}, return_dtype=pl.Float64)),
        accounts_above_baseline=pl.lit(None, pl.Int64),
    ).sort("cluster_id", "statistic").select([c.name for c in CLUSTER_STATISTIC.columns])


OWN_RULES = tuple(r for r in RULES if r.test == "binomial" and not r.by_size)
"""The ratio rules of an account's own behaviour: the ones an account's own requests can
show, and so the ones whose evidence can be counted account by account."""


def own_profiles(db: duckdb.DuckDBPyConnection, profile_params: Mapping[str, object],
                 profile: pl.DataFrame, statistics: pl.DataFrame) -> pl.DataFrame:
    """``cluster_profile`` of each account alone (cluster_id is the account; ``member_of``
    its cluster), for the accounts of every cluster of two or more (``profile``) with a
    strong statistic of ``OWN_RULES``. ``member_hashes_only`` is the cluster's, so that an
    account is measured on the columns its cluster was (prompt text or its hashes-only
    fallback); its counts, ``text_request_count`` among them, stay its own, since one is
    reasoning elicitation's denominator."""
    strong = statistics.filter(pl.col("is_strong") & pl.col("statistic").is_in(
        [r.statistic for r in OWN_RULES])).select("cluster_id").unique()
    tested = (profile.filter(pl.col("n_accounts") >= 2)
              .join(strong, on="cluster_id")
              .select(member_of="cluster_id", member_hashes_only=hashes_only()))
    if tested.is_empty():
        return pl.DataFrame(schema={"cluster_id": pl.String, "member_of": pl.String})
    members = (db.sql("SELECT cluster_id AS member_of, account_id FROM clusters "
                      "ORDER BY account_id").pl()
               .join(tested.select("member_of"), on="member_of"))
    alone = profile_of(db, members.select(cluster_id="account_id", account_id="account_id"),
                       profile_params)
    return (alone.join(members, left_on="cluster_id", right_on="account_id")
            .join(tested, on="member_of"))


def with_accounts_above_baseline(statistics: pl.DataFrame,
                                 accounts: pl.DataFrame) -> pl.DataFrame:
    """``accounts_above_baseline`` of every strong statistic of ``OWN_RULES``: the accounts
    whose own value is above the baseline's median. A cluster's value is the mean of its
    accounts' values weighed by their n, so a strong one has at least one; how many says
    whether the cluster's accounts do this or a couple of them do and the rest ride along
    on their links (``scoring``: the harvest must be shown by ``min_accounts_flagged``)."""
    strong = statistics.filter(pl.col("is_strong")).select(
        "cluster_id", "statistic", "baseline_median")
    rules = [r for r in OWN_RULES if r.statistic in set(strong["statistic"])]
    if accounts.is_empty() or not rules:
        return statistics
    own = pl.concat([
        _ratios(accounts, rule, pl.col("member_hashes_only"))
        .join(accounts.select("cluster_id", "member_of"),
                                     on="cluster_id")
        .select("member_of", pl.lit(rule.statistic).alias("statistic"), "value")
        for rule in rules])
    counted = (strong
               .join(own, left_on=["cluster_id", "statistic"],
                     right_on=["member_of", "statistic"])
               .group_by("cluster_id", "statistic")
               .agg(above=(pl.col("value") > pl.col("baseline_median")).sum().cast(pl.Int64)))
    return (statistics.join(counted, on=["cluster_id", "statistic"], how="left")
            .with_columns(accounts_above_baseline=pl.col("above"))
            .sort("cluster_id", "statistic")
            .select([c.name for c in CLUSTER_STATISTIC.columns]))


def hashes_only() -> pl.Expr:
    """Whether a cluster's (or group's) requests carry no prompt text: the rules that need
    text are measured on their fallbacks or not at all, and scoring asks less of it."""
    return (pl.col("text_request_count") == 0) & (pl.col("request_count") > 0)


def binomial_statistics(profile: pl.DataFrame, params: StatisticsParams,
                        suspects: Sequence[str] = (),
                        rules: Sequence[Rule] = RULES,
                        groups: pl.DataFrame | None = None) -> pl.DataFrame:
    """The ratio statistics: value, baseline, binomial test.

    ``suspects`` are clusters a first pass found strong on a harvest rule; they are left
    out of the baselines of the rules of each account's own behaviour. Without that, a
    campaign that is most of the accounts a statistic can be measured on (the few with
    cache hits to bust) would be its own null. ``groups``, when given, replace the
    clusters nearest in size as the baseline of what accounts do together.
    """
    frames = []
    for rule in (r for r in rules if r.test == "binomial"):
        frame = _ratios(profile, rule)
        if rule.across_accounts:
            frame = frame.filter(pl.col("n_accounts") >= params.min_together_accounts)
        if rule.across_accounts and groups is not None:
            frame = _with_group_baseline(frame, _ratios(groups, rule), params)
        elif rule.by_size:
            frame = _with_baseline(frame, params)
        else:
            frame = _with_window_baseline(frame, params, suspects)
        p0 = np.clip(frame["baseline_median"].to_numpy(), params.rate_floor,
                     1 - params.rate_floor)
        k = frame["k"].to_numpy()
        n = frame["n"].to_numpy()
        frames.append(frame.with_columns(
            p_value=pl.Series(np.clip(binom.sf(k - 1, n, p0), 0.0, 1.0)),
            effect_size=pl.col("value") - pl.col("baseline_median"),
        ).select(_output_columns(rule, "cluster_profile")))
    return pl.concat(frames)


def _with_window_baseline(frame: pl.DataFrame, params: StatisticsParams,
                          suspects: Sequence[str]) -> pl.DataFrame:
    """Add the baseline of each tested cluster on a rule of each account's own behaviour:
    the statistic's quartiles over the rest of the window, weighing each other account
    once (with its cluster's value) or each of their requests once, whichever median is
    lower. A campaign can be most of a window's accounts (thousands of accounts at a dozen
    requests a day) or send most of its requests (a few hundred accounts at the rate
    limit), rarely both; and it can only raise these shares, since a rule is tested in the
    direction a harvest moves it, so the lower median is the less contaminated one.
    ``baseline_count`` is the other accounts."""
    ordered = frame.sort("value", "cluster_id")
    tested = np.flatnonzero(ordered["n_accounts"].to_numpy() >= params.min_cluster_accounts)
    if frame.height - 1 < params.min_baseline_clusters or tested.size == 0:
        return _no_baseline(ordered)
    values = ordered["value"].to_numpy()
    reference = ~ordered["cluster_id"].is_in(list(suspects)).to_numpy()
    accounts, others = _weighted_quartiles(
        values, np.where(reference, ordered["n_accounts"].to_numpy(), 0), tested)
    requests, _ = _weighted_quartiles(
        values, np.where(reference, ordered["n"].to_numpy(), 0), tested)
    lower = requests[1] < accounts[1]
    q1, median, q3 = (np.where(lower, r, a) for r, a in zip(requests, accounts, strict=True))
    return ordered.with_row_index("position").filter(
        pl.col("position").is_in(tested.tolist())).drop("position").with_columns(
        baseline_median=pl.Series(median), baseline_q1=pl.Series(q1),
        baseline_q3=pl.Series(q3), baseline_count=pl.Series(others.astype(np.int64)),
    ).filter(pl.col("baseline_count") >= params.min_baseline_clusters)


def _ratios(profile: pl.DataFrame, rule: Rule,
            hashes: pl.Expr | None = None) -> pl.DataFrame:
    """Each cluster's count k of n for ``rule`` and their ratio, from its fallback columns
    when its logs carry no prompt text (``hashes``: by default its own ``hashes_only``;
    an account is measured as its cluster was); a rule that needs text and has no fallback
    leaves such clusters out. ``first_account`` and ``group_size`` are kept when the
    profile has them (a cluster's profile has the first, a random group of accounts the
    second)."""
    hashes = hashes_only() if hashes is None else hashes
    fallback = rule.hashes_fallback or (rule.numerator, rule.denominator)
    frame = profile.filter(~(hashes & rule.needs_text & (rule.hashes_fallback is None)))
    return frame.select(
        pl.col("cluster_id", "n_accounts",
               *(c for c in ("first_account", "group_size") if c in profile.columns)),
        k=pl.when(hashes).then(pl.col(fallback[0])).otherwise(pl.col(rule.numerator)),
        n=pl.when(hashes).then(pl.col(fallback[1])).otherwise(pl.col(rule.denominator)),
    ).filter(pl.col("n") > 0).with_columns(value=pl.col("k") / pl.col("n"))


def _with_group_baseline(frame: pl.DataFrame, groups: pl.DataFrame,
                         params: StatisticsParams) -> pl.DataFrame:
    """Add the baseline of each tested cluster from random groups of the window's accounts
    (``baselines``): the groups of its size, or of the largest size drawn when it is
    larger, as median and quartiles (linear, as ``np.percentile``); clusters with fewer
    than ``min_baseline_clusters`` such groups are dropped, untested."""
    if groups.is_empty():
        return _no_baseline(frame)
    largest = groups["group_size"].max()
    quartiles = groups.group_by("group_size").agg(
        baseline_median=pl.col("value").quantile(0.5, "linear"),
        baseline_q1=pl.col("value").quantile(0.25, "linear"),
        baseline_q3=pl.col("value").quantile(0.75, "linear"),
        baseline_count=pl.len().cast(pl.Int64))
    return (frame.with_columns(group_size=pl.min_horizontal(
        pl.col("n_accounts").cast(pl.Int64), pl.lit(largest, pl.Int64)))
        .join(quartiles, on="group_size").drop("group_size")
        .filter(pl.col("baseline_count") >= params.min_baseline_clusters)
        .sort("cluster_id"))


def _no_baseline(frame: pl.DataFrame) -> pl.DataFrame:
    """No row tested: the frame emptied, with the baseline columns typed."""
    return frame.clear().with_columns(
        baseline_median=pl.lit(None, pl.Float64), baseline_q1=pl.lit(None, pl.Float64),
        baseline_q3=pl.lit(None, pl.Float64), baseline_count=pl.lit(None, pl.Int64))


def _weighted_quartiles(values: np.ndarray, weights: np.ndarray, tested: np.ndarray,
                        ) -> tuple[list[np.ndarray], np.ndarray]:
    """Quartiles of ``values`` (sorted) under ``weights``, for each tested position with its
    own weight left out; and the weight left for each."""
    cumulative = np.cumsum(weights.astype(np.float64))
    own = weights[tested].astype(np.float64)
    others = cumulative[-1] - own
    quartiles = []
    for q in (0.25, 0.5, 0.75):
        target = q * others
        below = np.searchsorted(cumulative, target, side="left")
        above = np.searchsorted(cumulative, target + own, side="left")
        position = np.where(below < tested, below, np.maximum(above, tested + 1))
        quartiles.append(values[np.minimum(position, len(values) - 1)])
    return quartiles, others


def _with_baseline(frame: pl.DataFrame, params: StatisticsParams) -> pl.DataFrame:
    """Add the baseline of each tested cluster: the nearest clusters in size, itself left
    out, as median and quartiles; untested and under-populated rows are dropped. Clusters
    of one size are in the order of their first account: thousands of single accounts
    share a size, and ordered by id the neighbours drawn (and so the verdicts) would
    depend on the names lineage gave them, which a re-run inherits from the run before."""
    ordered = frame.sort("n_accounts", "first_account")
    values = ordered["value"].to_numpy()
    total = len(values)
    size = min(params.baseline_clusters, total - 1)
    tested = np.flatnonzero(ordered["n_accounts"].to_numpy() >= params.min_cluster_accounts)
    if size < params.min_baseline_clusters or tested.size == 0:
        return _no_baseline(ordered)
    low = np.clip(tested - size // 2, 0, total - size - 1)
    window = low[:, None] + np.arange(size + 1)[None, :]
    keep = window != tested[:, None]
    neighbours = window[keep].reshape(len(tested), size)
    baseline = values[neighbours]
    q1, median, q3 = np.percentile(baseline, [25, 50, 75], axis=1)
    return ordered.with_row_index("position").filter(
        pl.col("position").is_in(tested.tolist())).drop("position").with_columns(
        baseline_median=pl.Series(median), baseline_q1=pl.Series(q1),
        baseline_q3=pl.Series(q3), baseline_count=pl.lit(size, pl.Int64))


def capability_statistics(profile: pl.DataFrame, capability: pl.DataFrame,
                           accounts: pl.DataFrame, params: StatisticsParams) -> pl.DataFrame:
    """Coverage entropy and divergence from the population's mix, by permutation: the
    cluster against random sets of as many of the window's accounts. The accounts are in
    account order, so the seeded draws pick the same accounts on every run."""
    rules = {r.statistic: r for r in RULES if r.test == "permutation"}
    matrix = (accounts.pivot(on="capability", index="account_id", values="request_count",
                             aggregate_function="sum")
              .fill_null(0).sort("account_id"))
    for name in CAPABILITIES:
        if name not in matrix.columns:
            matrix = matrix.with_columns(pl.lit(0, pl.Int64).alias(name))
    counts = matrix.select(CAPABILITIES).to_numpy().astype(np.float64)
    tested = (profile.filter((pl.col("n_accounts") >= params.min_cluster_accounts)
                             & (pl.col("text_request_count") > 0))
              .select("cluster_id", "n_accounts"))
    if counts.shape[0] < 2 or tested.height == 0:
        return pl.DataFrame()
    population = counts.sum(axis=0)
    mixes = (capability.pivot(on="capability", index="cluster_id", values="request_count",
                              aggregate_function="sum").fill_null(0))
    for name in CAPABILITIES:
        if name not in mixes.columns:
            mixes = mixes.with_columns(pl.lit(0, pl.Int64).alias(name))
    mixes = tested.join(mixes, on="cluster_id", how="inner").sort("cluster_id")
    observed = mixes.select(CAPABILITIES).to_numpy().astype(np.float64)
    stats = {"capability_coverage_entropy": _entropy(observed),
             "capability_divergence": _divergence(observed, population)}
    rng = np.random.default_rng(params.seed)
    sizes = mixes["n_accounts"].to_numpy()
    # One null per cluster size, not per cluster: thousands of single accounts share one.
    summary = {name: np.empty((len(sizes), 4)) for name in stats}
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        draws = _random_mixes(counts, int(size), params.permutations, rng)
        nulls = {"capability_coverage_entropy": _entropy(draws),
                 "capability_divergence": _divergence(draws, population)}
        for name, null in nulls.items():
            ordered = np.sort(null)
            below = np.searchsorted(ordered, stats[name][rows] - 1e-12, side="left")
            summary[name][rows, :3] = np.percentile(null, [25, 50, 75])
            summary[name][rows, 3] = len(ordered) - below
    frames = []
    for name, value in stats.items():
        q1, median, q3, extreme = summary[name].T
        frame = mixes.select("cluster_id").with_columns(
            value=pl.Series(value), baseline_median=pl.Series(median),
            baseline_q1=pl.Series(q1), baseline_q3=pl.Series(q3),
            baseline_count=pl.lit(params.permutations, pl.Int64),
            p_value=pl.Series((1 + extreme) / (1 + params.permutations)),
            effect_size=pl.Series(value - median))
        frames.append(frame.select(_output_columns(rules[name], "cluster_capability")))
    return pl.concat(frames)


def _random_mixes(counts: np.ndarray, size: int, draws: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Capability mixes of ``draws`` random sets of ``size`` accounts, in chunks that keep
    the index block under about 8 million entries."""
    chunk = max(1, 8_000_000 // max(size, 1))
    parts = []
    for first in range(0, draws, chunk):
        n = min(chunk, draws - first)
        picks = rng.integers(0, counts.shape[0], size=(n, size))
        parts.append(counts[picks].sum(axis=1))
    return np.vstack(parts)


def _entropy(mixes: np.ndarray) -> np.ndarray:
    """Normalized Shannon entropy of each row's distribution, in [0, 1]."""
    totals = mixes.sum(axis=-1, keepdims=True)
    p = np.divide(mixes, totals, out=np.zeros_like(mixes), where=totals > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)
    return h / np.log(mixes.shape[-1])


def _divergence(mixes: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of each row from the population."""
    q = population / population.sum()
    totals = mixes.sum(axis=-1, keepdims=True)
    p = np.divide(mixes, totals, out=np.zeros_like(mixes), where=totals > 0)
    m = (p + q) / 2

    def kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 0, a * np.log2(a / b), 0.0).sum(axis=-1)

    return np.clip((kl(p, m) + kl(q, m)) / 2, 0.0, 1.0)


def _output_columns(rule: Rule, source: str) -> list[pl.Expr]:
    return [
        pl.col("cluster_id"),
        pl.lit(rule.family).alias("family"),
        pl.lit(rule.statistic).alias("statistic"),
        pl.lit(rule.rule_id).alias("rule_id"),
        pl.col("value").cast(pl.Float64),
        pl.col("baseline_median").cast(pl.Float64),
        pl.col("baseline_q1").cast(pl.Float64),
        pl.col("baseline_q3").cast(pl.Float64),
        pl.col("baseline_count").cast(pl.Int64),
        pl.col("effect_size").cast(pl.Float64),
        pl.lit(rule.test).alias("test"),
        pl.col("p_value").cast(pl.Float64),
        pl.lit(source).alias("source_table"),
    ]


def adjust_benjamini_hochberg(statistics: pl.DataFrame) -> pl.DataFrame:
    """Add ``p_adjusted``: Benjamini-Hochberg across the clusters tested, per statistic."""
    if statistics.is_empty():
        return statistics.with_columns(p_adjusted=pl.lit(None, pl.Float64))
    ranked = statistics.sort("statistic", "p_value", "cluster_id").with_columns(
        rank=pl.int_range(1, pl.len() + 1).over("statistic"),
        tests=pl.len().over("statistic"),
    ).with_columns(scaled=pl.col("p_value") * pl.col("tests") / pl.col("rank"))
    return ranked.with_columns(
        p_adjusted=pl.col("scaled").reverse().cum_min().reverse().over("statistic")
        .clip(0.0, 1.0),
    ).drop("rank", "tests", "scaled")
