"""QD-06, max tokens saturation share: the rule, a world where it must fire and the hard
negative it spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, window

NUMERATOR, DENOMINATOR = "saturated_count", "ok_count"

RULE = Rule("QD-06", "query_distribution", "max_tokens_saturation_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.15,
            "Share of answered requests that hit their max_tokens: long-output harvesting.",
            "Compare output/input ratios in the accounts appendix.", harvest=True)

POPULATION = window(NUMERATOR, DENOMINATOR, per_hundred=3)

FIRES = (Case('Six in ten answers cut at max_tokens: long outputs harvested.',
              Group(1, 5, {NUMERATOR: 300, DENOMINATOR: 500}), POPULATION),)

QUIET = (Case('A large app with a low max_tokens that cuts 12 in 100 answers.',
              Group(1, 50, {NUMERATOR: 600, DENOMINATOR: 5000}), POPULATION),)
