"""Evaluation: the pipeline's clusters and verdicts against the simulator's labels.

In: ``findings/clusters.parquet`` and ``findings/cluster_findings.parquet`` of a run, a
labels file (account_id, operator_id, population, is_campaign) and, for the sweep, the
simulation's ``scenario.json``. Out: the linking figures (adjusted Rand index of the
campaign accounts' clusters against their operators, per campaign; benign accounts placed
in a campaign's cluster, by population), account-level verdict accuracy, one seed's record
of both (``score_seed``) and a sweep's aggregate over seeds (``aggregate_sweep``,
``sweep_markdown``). Labels are never read by the pipeline itself.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.detection.scoring import case_roots
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

    NaN when the truth has one class (a window with one campaign): the index is then 0 for
    every partition but the trivial one, so one stray account out of 193 scores as badly
    as 193 clusters of one; there is nothing to tell apart, and the campaign's pieces and
    largest share (``score_linking``) say how whole it is.
    """
    frame = pl.DataFrame({"t": truth, "p": predicted})
    n = frame.height
    if frame["t"].n_unique() < 2:
        return math.nan

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


def case_ari(clusters: pl.DataFrame, findings: pl.DataFrame, labels: pl.DataFrame) -> float:
    """ARI of the campaign accounts' cases against their operators. A case is a cluster and
    every cluster that joined it (``joined_case``, followed to its end): one report per
    cluster, but one operator per case, so this is the grouping an investigator is handed;
    the clusters' ARI (``score_linking``) is what linking alone found."""
    roots = case_roots(findings.filter(pl.col("joined_case").is_not_null())
                       .select("cluster_id", "joined_case"))
    campaign = (clusters.join(roots, on="cluster_id", how="left")
                .with_columns(case=pl.coalesce("root", "cluster_id"))
                .join(labels.filter(pl.col("is_campaign")), on="account_id"))
    return adjusted_rand_index(campaign["operator_id"], campaign["case"])


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
    per_campaign_recall_flagged_or_watch: dict[str, float] = field(default_factory=dict)


def _confusion(predicted: pl.Series, truth: pl.Series) -> dict[str, float]:
    tp = int((predicted & truth).sum())
    fp = int((predicted & ~truth).sum())
    fn = int((~predicted & truth).sum())
    tn = int((~predicted & ~truth).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else float("nan")  # no campaign: nothing to find
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
    per_campaign = joined.filter(pl.col("is_campaign")).group_by("operator_id").agg(
        flagged=(pl.col("verdict") == "flagged").mean(),
        flagged_or_watch=pl.col("verdict").is_in(["flagged", "watch"]).mean(),
    ).with_columns(pl.col("operator_id").cast(pl.String))
    recall = dict(per_campaign.select("operator_id", "flagged").iter_rows())
    recall_watch = dict(per_campaign.select("operator_id", "flagged_or_watch").iter_rows())
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
        per_campaign_recall_flagged_or_watch=dict(sorted(recall_watch.items())),
    )


FINDABLE_MIN_ACCOUNTS = 3
"""A campaign with fewer accounts that sent two or more requests in the window cannot be
flagged on its own: a verdict of ``flagged`` needs a cluster of three or more accounts
(``ScoringParams.min_accounts_flagged``) whose behaviour passes two families, and an
account with one request in the window shows no behaviour over time (no rate, no
repetition, no synchrony across batches), so one or two such accounts are at most
``watch``, and three accounts of one request each have nothing to score. The sweep reports
such campaigns apart (never drops them) and leaves their accounts out of the seed's
account-level figures instead of counting them as misses. Sweeps written before the
simulator recorded ``accounts_two_requests`` fall back to the accounts active."""


def _findable(active: int, realized: dict[str, int]) -> bool:
    repeat = realized.get("accounts_two_requests", active)
    return min(active, repeat) >= FINDABLE_MIN_ACCOUNTS


_DESIGN_KEYS = ("size", "registration", "accounts_per_card", "proxies", "retries",
                "failover_share", "schedule", "requests_per_account_day", "nonce_share",
                "paraphrase_share", "public_share", "repeat_share", "activity",
                "lifetime_days")


def score_seed(seed: int, sim: Path, out: Path) -> dict[str, Any]:
    """One sweep seed's record: the design, account-level accuracy, linking, and per
    campaign its design, accounts active in the window, requests and recall."""
    return score_frames(seed, sim, pl.read_parquet(out / "findings" / "clusters.parquet"),
                        pl.read_parquet(out / "findings" / "cluster_findings.parquet"))


def score_frames(seed: int, sim: Path, clusters: pl.DataFrame,
                 findings: pl.DataFrame) -> dict[str, Any]:
    """``score_seed`` on clusters and findings in hand: a published run's, or those a
    re-scoring of its database gave (``simulator.sweep.rescore_sweep``)."""
    labels = read_labels(sim / "labels.csv")
    design = json.loads((sim / "scenario.json").read_text(encoding="utf-8"))
    realized = design["realized"]["campaigns"]
    every = score_linking(clusters, labels)
    per_campaign = score_verdicts(clusters, findings, labels)
    apart = [op for op, seen in every.per_campaign.items()
             if not _findable(int(seen["accounts"]), realized.get(op, {}))]
    scored = labels.filter(~(pl.col("is_campaign") & pl.col("operator_id").is_in(apart)))
    link, verdicts = score_linking(clusters, scored), score_verdicts(clusters, findings, scored)
    campaigns = []
    for spec in design["campaigns"]:
        op = spec["operator_id"]
        seen = every.per_campaign.get(op, {})
        active = int(seen.get("accounts", 0))
        campaigns.append({
            "operator_id": op,
            **{k: spec.get(k) for k in _DESIGN_KEYS},  # a knob newer than the sweep: None
            "active_accounts": active,
            "active_accounts_simulated": realized.get(op, {}).get("active_accounts", 0),
            "requests": realized.get(op, {}).get("requests", 0),
            "clusters": int(seen.get("clusters", 0)),
            "largest_share": seen.get("largest_share"),
            "accounts_two_requests": realized.get(op, {}).get("accounts_two_requests"),
            "recall": per_campaign.per_campaign_recall.get(op),
            "recall_flagged_or_watch": per_campaign.per_campaign_recall_flagged_or_watch.get(op),
            "findable": _findable(active, realized.get(op, {})),
        })
    keep = ("precision", "recall", "f1", "false_positive_rate")
    return {
        "seed": seed,
        "status": "ok",
        "days": design["days"],
        "hashes_only": design["hashes_only"],
        "rows": design["realized"]["rows"],
        "accounts_seen": clusters["account_id"].n_unique(),
        "accounts_apart": int(sum(every.per_campaign[op]["accounts"] for op in apart)),
        "flagged": {k: verdicts.flagged[k] for k in keep},
        "flagged_or_watch": {k: verdicts.flagged_or_watch[k] for k in keep},
        "campaign_ari": link.campaign_ari,
        "case_ari": case_ari(clusters, findings, scored),
        "roc_auc": verdicts.roc_auc,
        "benign_flagged_by_population": verdicts.false_positives_by_population,
        "benign_in_campaign_clusters": link.benign_in_campaign_clusters,
        "campaigns": campaigns,
    }


# (name, where in a seed's record, which direction is worse)
SWEEP_MEASURES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("flagged F1", ("flagged", "f1"), "low"),
    ("flagged precision", ("flagged", "precision"), "low"),
    ("flagged recall", ("flagged", "recall"), "low"),
    ("false-positive rate (benign, flagged)", ("flagged", "false_positive_rate"), "high"),
    ("false-positive rate (benign, flagged or watch)",
     ("flagged_or_watch", "false_positive_rate"), "high"),
    ("campaign ARI (clusters vs operators)", ("campaign_ari",), "low"),
    ("campaign ARI (cases vs operators)", ("case_ari",), "low"),
    ("peak RSS of a seed's process, MiB", ("peak_rss_mib",), "high"),
)


def value_at(record: dict, path: tuple[str, ...]) -> float:
    """A seed's measure by its path in the record (``("flagged", "f1")``): the aggregate
    and a re-scoring's before-and-after read the same places. NaN when the record has no
    such measure (a sweep written before it was recorded): nothing to measure."""
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return math.nan if value is None else float(value)


def aggregate_sweep(results: list[dict]) -> dict[str, Any]:
    """Median and worst case over the seeds that ran; campaigns pooled over seeds, those
    findable in principle (``FINDABLE_MIN_ACCOUNTS``) apart from the rest; failures kept
    with their errors."""
    ok = [r for r in results if r.get("status") == "ok"]
    measures = {}
    for name, path, worse in SWEEP_MEASURES:
        values = [(value_at(r, path), r["seed"]) for r in ok]
        values = [(v, s) for v, s in values if v == v]  # NaN: nothing to measure
        if not values:
            measures[name] = {"median": None, "worst": None, "worst_seed": None}
            continue
        pick = min if worse == "low" else max
        value, seed = pick(values, key=lambda vs: vs[0])
        measures[name] = {"median": statistics.median(v for v, _ in values),
                          "worst": value, "worst_seed": seed}
    pooled = [{"seed": r["seed"], **c} for r in ok for c in r["campaigns"]]
    findable = [c for c in pooled if c["findable"]]
    recalls = [c["recall"] or 0.0 for c in findable]
    worst = min(findable, key=lambda c: c["recall"] or 0.0) if findable else None
    by_population: dict[str, int] = {}
    for r in ok:
        for population, n in r["benign_flagged_by_population"].items():
            by_population[population] = by_population.get(population, 0) + int(n)
    return {
        "seeds": len(results),
        "succeeded": len(ok),
        "failed": [{"seed": r["seed"], "error": r.get("error", "")} for r in results
                   if r.get("status") != "ok"],
        "measures": measures,
        "campaign_recall": {
            "findable_campaigns": len(findable),
            "median": statistics.median(recalls) if recalls else None,
            "worst": min(recalls) if recalls else None,
            "worst_campaign": worst,
        },
        "apart": [c for c in pooled if not c["findable"]],
        "benign_flagged_by_population": dict(sorted(by_population.items())),
    }


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _campaign_row(c: dict) -> str:
    cells = (c["seed"], c["operator_id"], c["size"], c["active_accounts"], f"{c['requests']:,}",
             c["registration"], c["accounts_per_card"], c["proxies"],
             "yes" if c["retries"] else "no", c["schedule"],
             _fmt(c["requests_per_account_day"], 1), _fmt(c["recall"], 3),
             _fmt(c["recall_flagged_or_watch"], 3))
    return "| " + " | ".join(str(x) for x in cells) + " |"


_CAMPAIGN_HEAD = ("| seed | operator | size | active in window | requests | registration | "
                  "accounts per card | proxies | retries | schedule | requests per "
                  "account-day | recall (flagged) | recall (flagged or watch) |\n"
                  "| ---: | --- | ---: | ---: | ---: | --- | ---: | --- | --- | --- | ---: "
                  "| ---: | ---: |")


def sweep_markdown(sweep: dict) -> str:
    """The sweep as markdown: overall (median, worst), per seed, per campaign, the
    campaigns reported apart, benign accounts flagged by population, and failures."""
    agg = sweep["aggregate"]
    ok = [r for r in sweep["results"] if r.get("status") == "ok"]
    lines = [f"# Evaluation sweep: {agg['succeeded']} of {agg['seeds']} seeds ran",
             "", "Seeds: " + ", ".join(str(s) for s in sweep["seeds"])
             + (" (hashes only forced)" if sweep.get("hashes_only") else ""), "",
             "| measure | median | worst | worst seed |", "| --- | ---: | ---: | ---: |"]
    for name, m in agg["measures"].items():
        lines.append(f"| {name} | {_fmt(m['median'])} | {_fmt(m['worst'])} | "
                     f"{_fmt(m['worst_seed'])} |")
    cr = agg["campaign_recall"]
    lines.append(f"| campaign recall (findable campaigns: {cr['findable_campaigns']}) | "
                 f"{_fmt(cr['median'])} | {_fmt(cr['worst'])} | "
                 f"{_fmt(cr['worst_campaign']['seed'] if cr['worst_campaign'] else None)} |")
    if sweep.get("rescored_from"):
        lines[1:1] = ["", f"Re-scored from {sweep['rescored_from']}: the scoring stage alone, "
                      "on each seed's database (linking, statistics and cohorts as the run "
                      "left them)."]
        names = [k for k in sweep["compared"][0] if k != "seed"] if sweep["compared"] else []
        lines += ["", "## Before and after re-scoring", "",
                  "| seed | " + " | ".join(names) + " |",
                  "| ---: | " + " | ".join("---:" for _ in names) + " |"]
        lines += [f"| {c['seed']} | " + " | ".join(
            f"{_fmt(c[n][0])} → {_fmt(c[n][1])}" for n in names) + " |"
            for c in sweep["compared"]]
    lines += ["", "## Per seed", "",
              "| seed | days | prompts | rows | campaigns (findable) | F1 | precision | recall "
              "| FPR | FPR flagged or watch | ARI (clusters) | ARI (cases) | run s "
              "| peak RSS MiB |",
              "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
              "| ---: | ---: | ---: |"]
    for r in ok:
        n_find = sum(c["findable"] for c in r["campaigns"])
        lines.append(
            f"| {r['seed']} | {r['days']} | {'hashes' if r['hashes_only'] else 'text'} | "
            f"{r['rows']:,} | {len(r['campaigns'])} ({n_find}) | {_fmt(r['flagged']['f1'])} | "
            f"{_fmt(r['flagged']['precision'])} | {_fmt(r['flagged']['recall'])} | "
            f"{_fmt(r['flagged']['false_positive_rate'])} | "
            f"{_fmt(r['flagged_or_watch']['false_positive_rate'])} | "
            f"{_fmt(r['campaign_ari'], 3)} | {_fmt(r['case_ari'], 3)} | "
            f"{_fmt((r.get('seconds') or {}).get('run'), 1)} | {_fmt(r.get('peak_rss_mib'))} |")
    lines += ["", "## Campaigns", "", _CAMPAIGN_HEAD]
    lines += [_campaign_row({"seed": r["seed"], **c}) for r in ok for c in r["campaigns"]
              if c["findable"]]
    lines += ["", f"## Reported apart: fewer than {FINDABLE_MIN_ACCOUNTS} accounts with two "
              "or more requests in the window (cannot be flagged in principle)", ""]
    lines += [_CAMPAIGN_HEAD, *(_campaign_row(c) for c in agg["apart"])] if agg["apart"] \
        else ["none"]
    lines += ["", "## Benign accounts flagged, by population (all seeds)", ""]
    lines += [f"- {p}: {n}" for p, n in agg["benign_flagged_by_population"].items()] or ["none"]
    lines += ["", "## Failures", ""]
    lines += [f"- seed {f['seed']}: {f['error']}" for f in agg["failed"]] or ["none"]
    return "\n".join(lines) + "\n"
