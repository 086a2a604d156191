"""QD-05, reasoning elicitation share: the rule, a world where it must fire and the hard
negative it spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, window

NUMERATOR, DENOMINATOR = "reasoning_elicited_count", "text_request_count"

RULE = Rule("QD-05", "query_distribution", "reasoning_elicitation_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.15,
            "Share of prompts that ask for step-by-step reasoning: distillation harvests the "
            "reasoning, not only the answer.",
            "Check the excerpts for chain-of-thought instructions.", needs_text=True, harvest=True)

POPULATION = window(NUMERATOR, DENOMINATOR, per_hundred=3)

FIRES = (Case('Half the prompts ask for step-by-step reasoning, against 3 in 100 in the '
              'window.',
              Group(1, 5, {NUMERATOR: 250, DENOMINATOR: 500}), POPULATION),)

QUIET = (Case('A large tutoring customer asking for steps a little more often (12 in 100): '
              'the p-value of its 5,000 requests is tiny, the effect is not.',
              Group(1, 50, {NUMERATOR: 600, DENOMINATOR: 5000}), POPULATION),)
