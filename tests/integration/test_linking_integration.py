"""Linking on tiny worlds built in code: rules that must link, rules that must not, stable ids."""

from __future__ import annotations

import polars as pl

from pipeline import SAMPLE_DIR
from simulator.evaluation import read_labels, score_linking

SAMPLE = SAMPLE_DIR


"""Unrelated accounts, so that the window's null has a population to measure chance in."""


def test_on_the_sample_hard_negatives_stay_apart_and_campaigns_stay_whole(sample_run):
    """The simulator's labels: an enterprise's accounts link (rightly), NAT students, VPN
    users, cloud apps and default-prompt users link to nobody of another operator, no
    benign account joins a campaign's cluster, and the loud campaign is one cluster."""
    labels = read_labels(SAMPLE / "labels.csv")
    clusters = pl.read_parquet(sample_run / "findings" / "clusters.parquet")
    score = score_linking(clusters, labels)
    assert score.benign_in_campaign_clusters == 0
    for population in ("shared_nat", "vpn", "cloud_app", "default_prompt", "app"):
        assert score.hard_negative_merges.get(population, 0) == 0, population
    enterprises = (clusters.join(labels, on="account_id")
                   .filter(pl.col("population") == "enterprise")
                   .group_by("operator_id").agg(pl.col("cluster_id").n_unique()))
    assert enterprises.height >= 2
    assert enterprises["cluster_id"].to_list() == [1] * enterprises.height
    assert score.per_campaign["op-harvest-1"]["clusters"] == 1.0


"""Each evidence kind's worlds where it must link (or, for the client family, must add to
a pair) and where it must not: the hard negatives it exists to spare."""

