"""QD-02, capability divergence: the rule, a world where it must fire and the hard negative
it spares."""

from pipeline.detection.rules.rule import CAPABILITY_POPULATION, Case, Group, Rule
from pipeline.registry import CAPABILITIES

RULE = Rule("QD-02", "query_distribution", "capability_divergence", "permutation",
            "capability mix", "population mix", 0.05,
            "Jensen-Shannon divergence of the cluster's capability mix from the population's: "
            "a sweep follows the operator's curriculum, not what customers ask.",
            "Look at which categories are over-represented against the population.",
            needs_text=True, harvest=True)

POPULATION = CAPABILITY_POPULATION

FIRES = (Case('A sweep following its curriculum: every capability, most of which the '
              'population never asks about.',
              Group(1, 5, mix=dict.fromkeys(CAPABILITIES, 2)), POPULATION),)

QUIET = (Case('A busy general-purpose app whose users ask what everyone asks, in the '
              "population's proportions.",
              Group(1, 10, mix={"code": 24, "writing": 32, "knowledge_qa": 6, "translation": 6,
                                "roleplay_chat": 12}), POPULATION),)
