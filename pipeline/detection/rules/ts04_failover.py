"""TS-04, failover share: the rule, a world where it must fire and the hard negative it
spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, teams

NUMERATOR, DENOMINATOR = "failover_count", "request_count"

RULE = Rule("TS-04", "traffic_shape", "failover_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.005,
            "Share of requests that are a 429 failed over to another account of the cluster "
            "within seconds: a key-pool proxy retrying.",
            "List the failover pairs in the linkage section.", across_accounts=True)

POPULATION = teams(NUMERATOR, DENOMINATOR, per_team=20, requests=20_000)

FIRES = (Case('One request in twenty a 429 failed over to another account within seconds: a'
              ' key pool.',
              Group(1, 5, {NUMERATOR: 1000, DENOMINATOR: 20_000}), POPULATION),)

QUIET = (Case('A large team whose members sometimes retry a limited request on a '
              "colleague's key (3 in 1,000 against the other teams' 1).",
              Group(1, 5, {NUMERATOR: 60, DENOMINATOR: 20_000}), POPULATION),)
