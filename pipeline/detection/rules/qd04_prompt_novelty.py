"""QD-04, prompt novelty share: the rule, a world where it must fire and the hard negative
it spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, window

NUMERATOR, DENOMINATOR = "novel_prompt_count", "distinct_prompt_count"

RULE = Rule("QD-04", "query_distribution", "prompt_novelty_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.25,
            "Share of the cluster's distinct prompts no other cluster sent: generated task "
            "streams and nonces make every prompt new.",
            "High novelty with template reuse means generated prompts in fixed wrappers.",
            by_partition=True)

POPULATION = window(NUMERATOR, DENOMINATOR, per_hundred=20)

FIRES = (Case('Generated task streams: 90 of 100 distinct prompts that no other cluster '
              'sent, against 20.',
              Group(1, 5, {NUMERATOR: 90, DENOMINATOR: 100}), POPULATION),)

QUIET = (Case('A research group whose prompts are its own more often than most (40 in 100 '
              'against 20): new work, not a stream.',
              Group(1, 5, {NUMERATOR: 40, DENOMINATOR: 100}), POPULATION),)
