"""What accounts do together, tested against random groups of the window's accounts when the
window has too few clusters of several accounts (pipeline/detection/baselines.py and the
group baseline of statistics.binomial_statistics), on frames built in code."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.detection.baselines import needs_random_groups
from pipeline.detection.rules import RULES
from pipeline.detection.statistics import judge
from pipeline.settings import StatisticsParams

SAMPLING = next(r for r in RULES if r.rule_id == "QD-08")
"""Repeated sampling: one prompt sampled across a pool's accounts in the same hour."""


def profile(clusters: dict[str, tuple[int, int]], *, groups: int = 0) -> pl.DataFrame:
    """A cluster_profile: cluster -> (accounts, near-duplicate bands in 100 sent by two or
    more of its accounts in one hour); other ratios 0 of 100. ``groups`` > 0 adds the
    ``group_size`` column random groups carry."""
    columns = {c for r in RULES if r.test == "binomial"
               for c in (r.numerator, r.denominator, *(r.hashes_fallback or ()))}
    rows = []
    for cluster, (accounts, shared) in clusters.items():
        row: dict[str, object] = {c: 100 if c in {r.denominator for r in RULES} else 0
                                  for c in columns}
        row.update(cluster_id=cluster, first_account=f"{cluster}-0", n_accounts=accounts,
                   text_request_count=100,
                   request_count=100)
        row[SAMPLING.numerator] = shared
        if groups:
            row["group_size"] = groups
        rows.append(row)
    return pl.DataFrame(rows)


def random_groups(size: int, shared: list[int]) -> pl.DataFrame:
    return profile({f"G{size}-{i:04d}": (size, s) for i, s in enumerate(shared)}, groups=size)


def people(n: int) -> dict[str, tuple[int, int]]:
    return {f"p{i:04d}": (1, 0) for i in range(n)}


def sampling(stats: pl.DataFrame, cluster: str) -> dict[str, object]:
    return stats.filter((pl.col("cluster_id") == cluster)
                        & (pl.col("rule_id") == "QD-08")).row(0, named=True)


@pytest.mark.parametrize(("together", "needed"), [(0, False), (1, True), (20, True),
                                                   (21, False)])
def test_random_groups_are_drawn_only_when_clusters_of_several_accounts_are_too_few(
        together, needed):
    clusters = people(100) | {f"c{i:02d}": (3, 0) for i in range(together)}
    assert needs_random_groups(profile(clusters), StatisticsParams()) is needed


def test_a_pool_sampling_one_prompt_across_its_accounts_fires_against_random_groups():
    """Must fire: the only cluster of several accounts in a window of people, four bands in
    ten shared across its accounts, where random groups of as many accounts share one in a
    hundred at most. Without groups the rule is not tested at all."""
    world = profile(people(200) | {"pool": (5, 40)})
    groups = random_groups(5, [0, 1] * 25)
    stats = judge(world, pl.DataFrame(), StatisticsParams(), groups=groups)
    row = sampling(stats, "pool")
    assert row["is_strong"]
    assert row["baseline_median"] == pytest.approx(0.005)
    assert row["baseline_count"] == 50
    untested = judge(world, pl.DataFrame(), StatisticsParams())
    assert untested.filter(pl.col("rule_id") == "QD-08").is_empty()


def test_a_team_sharing_as_much_as_random_groups_stays_quiet():
    """Must not fire: a team whose accounts share bands as often as unrelated accounts of
    this window do (5 in 100 against a median of 5)."""
    world = profile(people(200) | {"team": (5, 5)})
    groups = random_groups(5, [4, 5, 6] * 17)
    row = sampling(judge(world, pl.DataFrame(), StatisticsParams(), groups=groups), "team")
    assert not row["is_strong"]
    assert row["baseline_median"] == pytest.approx(0.05)


def test_a_cluster_larger_than_every_group_is_compared_with_the_largest():
    """A campaign of 400 accounts in a window of 500: 20 groups of at most 25 fit, and the
    largest groups are its null; groups of other sizes are not."""
    world = profile(people(100) | {"campaign": (400, 40), "pair": (2, 0)})
    groups = pl.concat([random_groups(25, [2] * 20), random_groups(2, [0] * 50)])
    stats = judge(world, pl.DataFrame(), StatisticsParams(), groups=groups)
    assert sampling(stats, "campaign")["baseline_median"] == pytest.approx(0.02)
    assert sampling(stats, "campaign")["baseline_count"] == 20
    assert sampling(stats, "pair")["baseline_count"] == 50


def test_too_few_groups_of_a_size_leave_the_cluster_untested():
    world = profile(people(30) | {"pool": (5, 40)})
    groups = random_groups(5, [0] * 19)
    stats = judge(world, pl.DataFrame(), StatisticsParams(), groups=groups)
    assert stats.filter(pl.col("rule_id") == "QD-08").is_empty()
