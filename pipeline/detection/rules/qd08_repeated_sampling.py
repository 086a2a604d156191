"""QD-08, repeated sampling share: the rule, a world where it must fire and the hard
negative it spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, teams

NUMERATOR, DENOMINATOR = "shared_band_hour_count", "band_hour_count"

RULE = Rule("QD-08", "query_distribution", "repeated_sampling_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.10,
            "Share of near-duplicate prompt bands sent by two or more of the cluster's accounts "
            "in the same hour: one prompt sampled several times across the pool.",
            "Look for the same task under different nonces on several accounts. Without "
            "text, exact prompts sent on two or more accounts at temperature > 0 that no other "
            "cluster sent (a prompt the whole population sends is not the operator's).",
            needs_text=True,
            hashes_fallback=("resampled_prompt_count", "distinct_prompt_count"),
            across_accounts=True, harvest=True)

POPULATION = teams(NUMERATOR, DENOMINATOR, per_team=2)

FIRES = (Case("Four in ten of the pool's near-duplicate bands sent by two or more of its "
              'accounts in one hour: one prompt sampled across the pool.',
              Group(1, 5, {NUMERATOR: 40, DENOMINATOR: 100}), POPULATION),)

QUIET = (Case('A class behind one NAT pasting one homework question now and then (8 in 100 '
              "against the other teams' 2).",
              Group(1, 5, {NUMERATOR: 40, DENOMINATOR: 500}), POPULATION),)
