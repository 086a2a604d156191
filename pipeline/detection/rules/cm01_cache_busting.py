"""CM-01, cache busting share: the rule, a world where it must fire and the hard negative
it spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, window

NUMERATOR, DENOMINATOR = "busted_count", "predicted_hit_count"

RULE = Rule("CM-01", "caching_mismatch", "cache_busting_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.30,
            "Share of the cache hits the accounts' own repetition predicts that wrote the "
            "prefix again instead of reading it: a nonce in the prefix busts the cache the "
            "operator would otherwise hit (a client that asks for no caching busts nothing).",
            "Compare predicted and observed cache reads over time.", harvest=True)

POPULATION = window(NUMERATOR, DENOMINATOR, per_hundred=3)

FIRES = (Case("Nine in ten of the cache hits the accounts' own repetition predicts write "
              'the prefix again: a nonce in the prefix.',
              Group(1, 5, {NUMERATOR: 450, DENOMINATOR: 500}), POPULATION),)

QUIET = (Case('A large app whose prompts vary naturally, missing a quarter of its predicted'
              ' hits.',
              Group(1, 50, {NUMERATOR: 1250, DENOMINATOR: 5000}), POPULATION),)
