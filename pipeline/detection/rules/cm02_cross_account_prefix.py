"""CM-02, cross account prefix share: the rule, a world where it must fire and the hard
negative it spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, teams

NUMERATOR, DENOMINATOR = "handoff_count", "cacheable_count"

RULE = Rule("CM-02", "caching_mismatch", "cross_account_prefix_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.25,
            "Share of cacheable requests whose prefix another account of the cluster used "
            "within the TTL: hits one operator would have had, lost by spreading over accounts. "
            "An organisation whose people share a system prompt hands some off too, whenever "
            "two of them work within minutes; a pool rotating requests over accounts hands "
            "off most of them, hence the high minimum effect.",
            "List the prefixes shared across accounts in the caching section.",
            across_accounts=True)

POPULATION = teams(NUMERATOR, DENOMINATOR, per_team=10)

FIRES = (Case('Eight in ten cacheable requests on a prefix another account of the pool used'
              ' within the TTL.',
              Group(1, 5, {NUMERATOR: 80, DENOMINATOR: 100}), POPULATION),)

QUIET = (Case('An organisation whose people share one system prompt and sometimes work '
              "within minutes of each other (30 in 100 against the other teams' 10).",
              Group(1, 5, {NUMERATOR: 30, DENOMINATOR: 100}), POPULATION),)
