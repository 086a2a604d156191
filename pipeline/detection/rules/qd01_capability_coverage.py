"""QD-01, capability coverage entropy: the rule, a world where it must fire and the hard
negative it spares."""

from pipeline.detection.rules.rule import CAPABILITY_POPULATION, Case, Group, Rule
from pipeline.registry import CAPABILITIES

RULE = Rule("QD-01", "query_distribution", "capability_coverage_entropy", "permutation",
            "capability mix", "requests with text", 0.10,
            "A harvesting sweep covers every capability evenly; a team or a person asks about "
            "what it works on.",
            "Compare the capability chart with the population's; a flat bar chart is the sweep.",
            needs_text=True, harvest=True)

POPULATION = CAPABILITY_POPULATION

FIRES = (Case('A sweep: five accounts asking evenly across all ten capabilities.',
              Group(1, 5, mix=dict.fromkeys(CAPABILITIES, 2)), POPULATION),)

QUIET = (Case('A development team of twenty busy accounts asking about code and looking '
              'things up: many requests, a narrow mix.',
              Group(1, 20, mix={"code": 80, "knowledge_qa": 20}), POPULATION),)
