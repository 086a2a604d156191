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


@dataclass(frozen=True)
class VerdictScore:
    """Account-level accuracy of the verdicts: an account inherits its cluster's verdict."""

    flagged: dict[str, float]
    """precision, recall, f1, false_positive_rate for verdict == flagged."""
    flagged_or_watch: dict[str, float]
    per_campaign_recall: dict[str, float]
    false_positives_by_population: dict[str, int]
    """Benign accounts flagged, by population."""
    flagged_benign_clusters: dict[str, int]
    """Benign clusters flagged, by population (a hard negative flagged is counted here)."""
    roc_auc: float
    """Probability that a random campaign account outranks a random benign one by risk."""


def _confusion(predicted: pl.Series, truth: pl.Series) -> dict[str, float]:
    tp = int((predicted & truth).sum())
    fp = int((predicted & ~truth).sum())
    fn = int((~predicted & truth).sum())
    tn = int((~predicted & ~truth).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
            "true_positives": float(tp), "false_positives": float(fp)}


def roc_auc(scores: pl.Series, truth: pl.Series) -> float:
    """Area under the ROC curve from ranks (ties count half): the Mann-Whitney statistic."""
    frame = pl.DataFrame({"s": scores, "t": truth}).with_columns(
        rank=pl.col("s").rank("average"))
    positives = int(frame["t"].sum())
    negatives = frame.height - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    rank_sum = float(frame.filter(pl.col("t"))["rank"].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def score_verdicts(clusters: pl.DataFrame, findings: pl.DataFrame,
                   labels: pl.DataFrame) -> VerdictScore:
    """Score the findings of a run against labels, over the accounts the run saw."""
    joined = (clusters.join(findings.select("cluster_id", "verdict", "risk_score"),
                            on="cluster_id")
              .join(labels, on="account_id", how="inner"))
    truth = joined["is_campaign"]
    flagged = joined["verdict"] == "flagged"
    flagged_or_watch = joined["verdict"].is_in(["flagged", "watch"])
    recall = {str(op[0]): float((g["verdict"] == "flagged").mean())
              for op, g in joined.filter(pl.col("is_campaign"))
              .group_by("operator_id", maintain_order=True)}
    benign_flagged = joined.filter(~pl.col("is_campaign") & (pl.col("verdict") == "flagged"))
    return VerdictScore(
        flagged=_confusion(flagged, truth),
        flagged_or_watch=_confusion(flagged_or_watch, truth),
        per_campaign_recall=dict(sorted(recall.items())),
        false_positives_by_population=dict(
            benign_flagged.group_by("population").len().sort("population").iter_rows()),
        flagged_benign_clusters=dict(
            benign_flagged.group_by("population").agg(pl.col("cluster_id").n_unique())
            .sort("population").iter_rows()),
        roc_auc=roc_auc(joined["risk_score"], truth),
    )
