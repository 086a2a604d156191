"""Scoring: the statistics of each cluster turned into a verdict, a risk score and signals.

In: ``cluster_statistic`` and ``cluster_profile`` (``forensics.duckdb``). Out:
``cluster_findings`` (one row per cluster of the window, the output contract's columns)
and ``findings/cluster_findings.parquet``.

A family of evidence (query distribution, caching mismatch, traffic shape) holds when at
least ``min_strong_per_family`` of its statistics are strong (corrected p-value and effect
size both past their thresholds). ``flagged`` needs ``min_families_flagged`` families,
``watch`` one (or more, in a cluster under ``min_accounts_flagged`` accounts), anything
else is ``clear``: one odd habit is never an accusation. Linkage
says whom the verdict covers and is not a family here. The risk score is the mean over
the three families of each family's strongest statistic's strength, strength being
min(1, -log10(p_adjusted) / 10) times min(1, effect / the rule's minimum effect): it grows
with every statistic's evidence and never shrinks when one grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.statistics import FAMILIES, RULES
from pipeline.warehouse import publish_frame


@dataclass(frozen=True)
class ScoringParams:
    """Verdict thresholds; the defaults are the nightly run's."""

    min_strong_per_family: int = 1
    """Strong statistics a family needs to hold."""
    min_families_flagged: int = 2
    """Families that must hold for ``flagged`` (DESIGN: at least two)."""
    min_accounts_flagged: int = 3
    """Clusters smaller than this are at most ``watch``. The case is one operator behind
    many accounts; a researcher's two accounts running a benchmark overnight, or an app and
    its staging key, behave oddly but are not that case, and one or two accounts leave the
    cluster-level statistics resting on one account's habits."""


def score_clusters(db: duckdb.DuckDBPyConnection, out: Path,
                   params: ScoringParams | None = None) -> pl.DataFrame:
    """Build ``cluster_findings`` and write ``findings/cluster_findings.parquet``."""
    params = params or ScoringParams()
    profile = db.sql("SELECT cluster_id, n_accounts, request_count, first_seen, last_seen, "
                     "text_request_count FROM cluster_profile").pl()
    statistics = db.sql("SELECT cluster_id, family, rule_id, statistic, p_adjusted, "
                        "effect_size, is_strong FROM cluster_statistic").pl()
    findings = verdicts(profile, statistics, params)
    publish_frame(db, "cluster_findings", findings, "cluster_id",
                  out / "findings" / "cluster_findings.parquet")
    return findings


def verdicts(profile: pl.DataFrame, statistics: pl.DataFrame,
             params: ScoringParams) -> pl.DataFrame:
    """The findings of every cluster from its statistics (pure: frames in, frame out)."""
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
    return (
        profile.join(per_cluster, on="cluster_id", how="left")
        .join(signals, on="cluster_id", how="left")
        .with_columns(
            family_count=pl.col("family_count").fill_null(0),
            risk_score=pl.col("risk_score").fill_null(0.0).clip(0.0, 1.0),
            strong_families=pl.col("strong_families").fill_null(""),
            signals=pl.col("signals").fill_null(""),
        )
        .with_columns(
            verdict=pl.when((pl.col("family_count") >= params.min_families_flagged)
                            & (pl.col("n_accounts") >= params.min_accounts_flagged))
            .then(pl.lit("flagged"))
            .when(pl.col("family_count") >= 1).then(pl.lit("watch"))
            .otherwise(pl.lit("clear")),
            hashes_only=(pl.col("text_request_count") == 0) & (pl.col("request_count") > 0),
        )
        .select(
            "cluster_id", "verdict", "risk_score",
            pl.col("n_accounts").cast(pl.Int64), pl.col("request_count").cast(pl.Int64)
            .alias("n_requests"),
            "first_seen", "last_seen", "strong_families", "signals", "hashes_only",
        )
        .sort("cluster_id")
    )
