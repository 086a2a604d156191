"""TS-02, pacing share: the rule, a world where it must fire and the hard negative it
spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, window

NUMERATOR, DENOMINATOR = "paced_minute_count", "active_minute_count"

RULE = Rule("TS-02", "traffic_shape", "pacing_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.10,
            "Share of active minutes at 50% to 100% of the account's rate limit: pacing just "
            "under the limit.",
            "Check the pacing chart against the rate limits.")

POPULATION = window(NUMERATOR, DENOMINATOR, per_hundred=3)

FIRES = (Case('Eight in ten active minutes at 50 to 100% of the rate limit: paced just '
              'under it.',
              Group(1, 5, {NUMERATOR: 400, DENOMINATOR: 500}), POPULATION),)

QUIET = (Case('A large batch customer that reaches half its limit in 9 of 100 minutes.',
              Group(1, 50, {NUMERATOR: 450, DENOMINATOR: 5000}), POPULATION),)
