"""Evaluation: the pipeline's clusters (and later verdicts) against the simulator's labels.

In: ``findings/clusters.parquet`` of a run and a labels file (account_id, operator_id,
population, is_campaign). Out: the linking figures of issue 3 (adjusted Rand index of the
campaign accounts' clusters against their operators, per campaign; benign accounts placed
in a campaign's cluster, by population). Labels are never read by the pipeline itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import ForensicsError


@dataclass(frozen=True)
class LinkingScore:
    """How well clusters recover operators."""

    campaign_ari: float
    """ARI of the campaign accounts' clusters against their operators (all campaigns)."""
    per_campaign: dict[str, dict[str, float]]
    """Per campaign operator: accounts, clusters they fall in, share in the largest one."""
    benign_in_campaign_clusters: int
    """Benign accounts whose cluster holds a campaign account (target 0)."""
    benign_in_campaign_by_population: dict[str, int]
    hard_negative_merges: dict[str, int]
    """Per benign population: clusters that join accounts of different operators."""


def adjusted_rand_index(truth: pl.Series, predicted: pl.Series) -> float:
    """The adjusted Rand index of two labelings of the same items (Hubert and Arabie).

    Written out from the contingency table, with Polars, because the formula is short and
    scikit-learn would be a large dependency for one function.
    """
    frame = pl.DataFrame({"t": truth, "p": predicted})
    n = frame.height
    if n < 2:
        return 1.0

    def pairs(counts: pl.Series) -> float:
        return float((counts.cast(pl.Float64) * (counts.cast(pl.Float64) - 1) / 2).sum())

    index = pairs(frame.group_by("t", "p").len()["len"])
    rows = pairs(frame.group_by("t").len()["len"])
    cols = pairs(frame.group_by("p").len()["len"])
    total = n * (n - 1) / 2
    expected = rows * cols / total
    maximum = (rows + cols) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def read_labels(path: Path) -> pl.DataFrame:
    """The labels file, with a clear error when it is not one."""
    if not path.is_file():
        raise ForensicsError(f"labels file not found: {path}")
    labels = pl.read_csv(path, schema_overrides={"account_id": pl.String,
                                                 "operator_id": pl.String})
    missing = {"account_id", "operator_id", "population", "is_campaign"} - set(labels.columns)
    if missing:
        raise ForensicsError(f"{path}: not a labels file (missing {', '.join(sorted(missing))})")
    return labels.with_columns(pl.col("is_campaign").cast(pl.String).str.to_lowercase() == "true")


def score_linking(clusters: pl.DataFrame, labels: pl.DataFrame) -> LinkingScore:
    """Score clusters (cluster_id, account_id) against labels, over accounts in both."""
    joined = clusters.join(labels, on="account_id", how="inner")
    campaign = joined.filter(pl.col("is_campaign"))
    campaign_clusters = campaign["cluster_id"].unique().implode()
    benign_inside = joined.filter(~pl.col("is_campaign")
                                  & pl.col("cluster_id").is_in(campaign_clusters))
    per_campaign = {}
    for operator, group in campaign.group_by("operator_id", maintain_order=True):
        sizes = group.group_by("cluster_id").len()
        per_campaign[str(operator[0])] = {
            "accounts": float(group.height),
            "clusters": float(sizes.height),
            "largest_share": float(sizes["len"].max() / group.height),
        }
    merges = (joined.filter(~pl.col("is_campaign"))
              .group_by("population", "cluster_id").agg(pl.col("operator_id").n_unique())
              .filter(pl.col("operator_id") > 1)
              .group_by("population").len())
    return LinkingScore(
        campaign_ari=adjusted_rand_index(campaign["operator_id"], campaign["cluster_id"]),
        per_campaign=dict(sorted(per_campaign.items())),
        benign_in_campaign_clusters=benign_inside.height,
        benign_in_campaign_by_population=dict(
            benign_inside.group_by("population").len().sort("population").iter_rows()),
        hard_negative_merges=dict(merges.sort("population").iter_rows()),
    )
