"""QD-03, template reuse share: the rule, a world where it must fire and the hard negative
it spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, teams

NUMERATOR, DENOMINATOR = "reused_template_count", "templated_request_count"

RULE = Rule("QD-03", "query_distribution", "template_reuse_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.30,
            "Share of requests whose prompt opening (numbers, quotes, nonces masked) is shared "
            "by two or more of the cluster's accounts: one operator's wrappers. Needs text: "
            "without it, reuse is exact-prompt reuse, which QD-08 already counts.",
            "Pull excerpts (--excerpts) and check the shared openings.", needs_text=True,
            across_accounts=True)

POPULATION = teams(NUMERATOR, DENOMINATOR, per_team=60)

FIRES = (Case('Five accounts sending 90 of 100 templated prompts in an opening another of '
              'them used, where the other teams share 60.',
              Group(1, 5, {NUMERATOR: 90, DENOMINATOR: 100}), POPULATION),)

QUIET = (Case('A team sharing its openings a little more than the other teams (70 in 100 '
              'against 60).',
              Group(1, 5, {NUMERATOR: 70, DENOMINATOR: 100}), POPULATION),)
