"""What a detection rule is: the statistic it reads and the cases that pin its behaviour.

In: nothing (declarations). Out: ``Rule`` (id, family, statistic, the ``cluster_profile``
columns it divides, its test and rationale) and ``Case``, a world of clusters in which the
rule must fire on the tested cluster, or must stay quiet on it: the hard negative the rule
exists to spare. ``tests/rules/test_rules.py`` runs every case through the real statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Re-exported: pipeline/reports.py reads the vocabulary from here; it is defined in the registry.
from pipeline.registry import FAMILIES as FAMILIES
from pipeline.registry import VERDICTS as VERDICTS


@dataclass(frozen=True)
class Rule:
    """One statistic and the evidence rule that reads it (detection as code)."""

    rule_id: str
    family: str
    statistic: str
    test: str
    numerator: str
    denominator: str
    min_effect: float
    """The smallest effect (share difference, or distance from the null median) that can
    count as strong, whatever the p-value."""
    rationale: str
    runbook: str
    needs_text: bool = False
    hashes_fallback: tuple[str, str] | None = None
    """(numerator, denominator) to use when the cluster's logs carry no prompt text."""
    across_accounts: bool = False
    """The statistic counts what two or more of the cluster's accounts do together, so a
    single account scores 0 by construction: its baseline is other clusters of two or
    more accounts only, or the smallest clusters would pass for ordinary by default."""
    by_partition: bool = False
    """The statistic depends on how the window's accounts are partitioned into clusters
    (novelty: what no other cluster sent), so, like what accounts do together, its
    baseline is the clusters nearest in size (``by_size``)."""
    harvest: bool = False
    """The statistic shows what is harvested (a capability sweep, reasoning elicitation,
    output saturation, one prompt sampled across the pool, cache busting), not only that
    requests are automated or spread over accounts. Novel prompts, shared wrappers, night
    hours, pacing, synchronized starts, failovers and shared cache prefixes are how an
    app, a lab's benchmark run or an enterprise's agents send too; a verdict needs one
    harvest statistic (scoring)."""

    @property
    def by_size(self) -> bool:
        """Baseline: the clusters nearest in size (what accounts do together, novelty).
        Otherwise the rule measures each account's own behaviour, and its baseline is the
        rest of the window (``_with_window_baseline``): nearest-size clusters make a poor
        null there, since a campaign that linking split into fifty card-sized clusters is
        its own nearest neighbour in size."""
        return self.across_accounts or self.by_partition


@dataclass(frozen=True)
class Group:
    """Clusters alike in a case's world. ``counts`` are ``cluster_profile`` columns per
    cluster (a column left out is 0; request_count and text_request_count default to 100
    per account); ``mix`` is each account's requests per capability, for the capability
    rules, which draw random sets of accounts."""

    clusters: int
    accounts: int
    counts: Mapping[str, int] = field(default_factory=dict)
    mix: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """A world in which the rule must fire on ``tested`` (a cluster of its own), or must
    not; ``why`` says what the world stands for."""

    why: str
    tested: Group
    population: tuple[Group, ...]


CAPABILITY_POPULATION = (Group(3, 10, mix={"code": 5, "writing": 3, "knowledge_qa": 2}),
                         Group(3, 10, mix={"writing": 5, "code": 3, "translation": 2}),
                         Group(2, 10, mix={"roleplay_chat": 6, "writing": 4}))
"""Eight teams whose people ask about what they work on: code, writing, chat. Eight, not
hundreds: with 999 permutations a capability rule's p-value is at least 0.001, so after
Benjamini-Hochberg over m tested clusters it cannot pass alpha 0.01 once m exceeds 10
(``tests/rules/test_rules.py`` keeps that limit in sight)."""


def window(numerator: str, denominator: str, per_hundred: int) -> tuple[Group, ...]:
    """Two hundred single accounts at ``per_hundred`` in 100: the rest of the window that
    a rule of an account's own behaviour is measured against."""
    return (Group(200, 1, {numerator: per_hundred, denominator: 100}),)


def teams(numerator: str, denominator: str, per_team: int,
          requests: int = 100) -> tuple[Group, ...]:
    """Twenty-five five-account teams at ``per_team`` of ``requests``, beside thirty single
    accounts that score 0 by construction on what accounts do together (and so must not
    be its baseline)."""
    return (Group(30, 1, {denominator: requests}),
            Group(25, 5, {numerator: per_team, denominator: requests}))
