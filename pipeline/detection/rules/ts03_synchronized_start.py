"""TS-03, synchronized start share: the rule, a world where it must fire and the hard
negative it spares."""

from pipeline.detection.rules.rule import Case, Group, Rule, teams

NUMERATOR, DENOMINATOR = "synchronized_start_count", "account_day_count"

RULE = Rule("TS-03", "traffic_shape", "synchronized_start_share", "binomial",
            NUMERATOR, DENOMINATOR, 0.20,
            "Share of account-days that started in the same minute as another of the "
            "cluster's accounts: one scheduler behind many accounts.",
            "Look at the start times in the accounts appendix.", across_accounts=True)

POPULATION = teams(NUMERATOR, DENOMINATOR, per_team=10)

FIRES = (Case('Seven in ten account-days start in the same minute as another account of the'
              ' pool.',
              Group(1, 5, {NUMERATOR: 70, DENOMINATOR: 100}), POPULATION),)

QUIET = (Case('An office that starts at nine: 25 in 100 account-days start with a '
              "colleague's, against the other teams' 10.",
              Group(1, 5, {NUMERATOR: 25, DENOMINATOR: 100}), POPULATION),)
