"""TS-01, night activity share: the rule, a world where it must fire and the hard negative
it spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, window

NUMERATOR, DENOMINATOR = "night_request_count", "hourly_request_count"

RULE = Rule("TS-01", "traffic_shape", "night_activity_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.10,
            "Share of requests between 00:00 and 06:00 in the accounts' own countries: "
            "automation runs around the clock, people sleep.",
            "Compare the hour-of-day chart with the population's.")

POPULATION = window(NUMERATOR, DENOMINATOR, per_hundred=3)

FIRES = (Case('Automation around the clock: 30 in 100 requests between midnight and six.',
              Group(1, 5, {NUMERATOR: 150, DENOMINATOR: 500}), POPULATION),)

QUIET = (Case('A large customer with some night owls (9 in 100).',
              Group(1, 50, {NUMERATOR: 450, DENOMINATOR: 5000}), POPULATION),)
