"""CM-03, read without write share: the rule, a world where it must fire and the hard
negative it spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, window

NUMERATOR, DENOMINATOR = "read_without_write_count", "observed_read_count"

RULE = Rule("CM-03", "caching_mismatch", "read_without_write_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.30,
            "Share of cache reads of prefixes the account never wrote: a cache warmed by "
            "another account (a shared key pool behind a proxy).",
            "Check which accounts wrote the prefixes these accounts read.")

POPULATION = window(NUMERATOR, DENOMINATOR, per_hundred=3)

FIRES = (Case('Seven in ten cache reads of prefixes the account never wrote: a cache warmed'
              ' elsewhere.',
              Group(1, 5, {NUMERATOR: 350, DENOMINATOR: 500}), POPULATION),)

QUIET = (Case('A large customer reading a prefix it did not write now and then (20 in 100).',
              Group(1, 50, {NUMERATOR: 1000, DENOMINATOR: 5000}), POPULATION),)
