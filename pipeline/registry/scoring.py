"""What scoring writes and runs: the findings (the output contract), the clusters that
joined a flagged case and their ties to it, and every run's verdicts.
"""

from __future__ import annotations

from pipeline.registry.columns import (
    _ACCOUNT,
    _CLUSTER,
    _FIRST_SEEN,
    _LAST_SEEN,
    _N_ACCOUNTS,
    _RUN,
    _WINDOW_END,
)
from pipeline.registry.shape import VERDICTS, Table, _c, _either

CLUSTER_FINDING = Table(
    name="cluster_findings",
    grain="one row per cluster of the window",
    key=("cluster_id",),
    layer="scoring",
    kind="table",
    meaning="the output contract's findings: each cluster's verdict, risk score and signals",
    made_by="pipeline/detection/scoring.py",
    files=("findings/cluster_findings.parquet",),
    columns=(
        _CLUSTER,
        _c("verdict", "VARCHAR",
           "flagged (three or more accounts, strong evidence in two or more behavioural "
           "families and two harvest statistics or one across accounts; or a cluster not "
           "flagged by its own statistics that joined a flagged case), watch (a harvest "
           "statistic and less than that; under three accounts, three strong statistics, "
           "one of them a harvest) or "
           "clear"),
        _c("risk_score", "DOUBLE", "in [0, 1], monotone in the evidence"),
        _N_ACCOUNTS,
        _c("n_requests", "BIGINT", "requests of the cluster's accounts in the window"),
        _FIRST_SEEN,
        _LAST_SEEN,
        _c("strong_families", "VARCHAR",
           "the behavioural families with strong evidence, comma-separated, sorted"),
        _c("signals", "VARCHAR", "the rule ids that fired, comma-separated, sorted"),
        _c("hashes_only", "BOOLEAN",
           "true when the cluster's logs carried no prompt text, so query-distribution "
           "statistics came from hashes and token counts only"),
        _c("joined_case", "VARCHAR",
           "the flagged cluster this cluster joined (its behaviour and its ties to "
           "that case's accounts passed the join rule; rows in case_join), else NULL; "
           "a flagged cluster names the larger flagged cluster it is one case with, so a "
           "case is a chain of joined_case"),
    ),
)

_TIE_COLUMNS = (
    _c("joined_case", "VARCHAR", "the flagged case of the cluster's strongest test (one "
       "test per account of the cluster and case it shares a key with; ties: the smaller "
       "case id)"),
    _c("coholders", "BIGINT",
       "the case's accounts that share a key (account_shared_key) with the cluster's"),
    _c("tie_surprise", "DOUBLE",
       "linking's member test of the cluster's accounts together against the case's "
       "accounts (pipeline/linking/members.py: cluster_ties; a key counted once for the "
       "cluster), -log10 p, Fisher over kinds"),
    _c("required_surprise", "DOUBLE",
       "what tie_surprise had to reach: -log10(link_threshold.alpha / tests in the round, "
       "a test being a cluster and a case it shares a key with)"),
    _c("tie_without_infrastructure", "DOUBLE",
       "for a cluster whose own strong statistics hold one family (a habit), the same "
       "test with the infrastructure family left out, which must reach required_surprise "
       "too (ScoringParams.habit_ties_without_infrastructure); NULL for other clusters"),
    _c("second_surprise", "DOUBLE",
       "the tie's second strongest evidence family on its own, -log10 p"),
    _c("tie_families", "VARCHAR",
       "each evidence family of the tie with its surprise on its own, strongest first "
       "('content 12.3, infrastructure 2.1'): what the decision rested on (NULL: the "
       "cluster shares no key the test counts)"),
    _c("required_second", "DOUBLE",
       "what second_surprise had to reach: the Benjamini-Hochberg bar at "
       "link_threshold.alpha over the round's candidates whose tie passed (infinite when "
       "none passes it)"),
    _c("cross_ratio", "DOUBLE",
       "a merge's consistency (rounds past join_rounds; NULL for a join, or when either "
       "side shares nothing inside or the two nothing across): the rate per pair of what "
       "the cluster's and the case's accounts share across (account_link_evidence without "
       "cards) over the geometric mean of the rates inside each (pipeline/detection/"
       "consistency.py); about 1 for pieces of one operator"),
    _c("cross_z", "DOUBLE",
       "log(cross_ratio) over its standard error, accounts as units (the delta method); "
       "NULL when cross_ratio is"),
    _c("required_z", "DOUBLE",
       "what cross_z had to reach for a merge: the normal quantile at link_threshold.alpha "
       "(below it the cross rate is lower than one operator's); NULL for a join, which "
       "has no such test"),
    _c("round", "BIGINT", "the round of the join rule the test is from (ScoringParams."
       "join_rounds: a joined cluster counts for its case in the next round); rounds past "
       "join_rounds are flagged clusters joining a larger flagged case (one operator cut "
       "by Leiden: one case)"),
)

CASE_JOIN = Table(
    name="case_join",
    grain="one row per account of a cluster that joined a flagged case",
    key=("account_id",),
    layer="scoring",
    kind="table",
    meaning="the clusters (fragments, communities cut off from a case, or flagged pieces "
            "of a larger flagged case) whose behaviour and ties put them in a flagged case, "
            "with the numbers that decided it",
    made_by="pipeline/detection/scoring.py",
    columns=(
        _ACCOUNT,
        _CLUSTER,
        *_TIE_COLUMNS,
        _c("families_held", "VARCHAR",
           "the behavioural families the account's cluster holds on its own, comma-separated"),
    ),
)

CASE_TIE = Table(
    name="case_tie",
    grain="one row per candidate cluster and flagged case its accounts share a key with "
          "(from the SQL); the join rule keeps, per candidate, the case of its strongest "
          "test with the test's numbers",
    key=("cluster_id", "joined_case"),
    layer="scoring",
    kind="query",
    meaning="how strongly a cluster (not flagged; or flagged, against larger flagged cases) "
            "is tied to a flagged case, for the join rule (case_join)",
    made_by="pipeline/detection/scoring.py",
    columns=(_CLUSTER, *_TIE_COLUMNS),
)

CASE_TEST = Table(
    name="case_test",
    grain="one row per cluster the join rule tested: its strongest test, in the round it "
          "joined in or its last",
    key=("cluster_id",),
    layer="scoring",
    kind="table",
    meaning="every test of the join rule, passed or not: why a watched fragment did not "
            "join a case is read here (case_join holds the accounts of the tests that "
            "passed)",
    made_by="pipeline/detection/scoring.py",
    columns=(
        _CLUSTER,
        _c("tested_case", "VARCHAR", "the flagged case of the cluster's strongest test "
           "(the case it joined when joined is true)"),
        *_TIE_COLUMNS[1:],
        _c("joined", "BOOLEAN", "whether the tie and its second family both reached their "
           "bars (and, for a merge, cross_z its bar), so the cluster joined tested_case"),
    ),
)

CLUSTER_COHORT = Table(
    name="cluster_cohort",
    grain="one row per account of a cohort: fragments on watch that linking's member test "
          "confirms among themselves, merged into one cluster and judged as one",
    key=("account_id",),
    layer="scoring",
    kind="table",
    meaning="why a cluster is a cohort: each account's test against the rest of its cohort "
            "(empty when the window has none)",
    made_by="pipeline/detection/cohorts.py",
    columns=(
        _CLUSTER,
        _ACCOUNT,
        _c("tie_surprise", "DOUBLE",
           "the account's member test against the rest of its cohort (pipeline/linking/"
           "members.py: fragment_ties), -log10 p, Fisher over kinds; NULL: not tested, "
           "merged with its fragment"),
        _c("required_surprise", "DOUBLE",
           "what tie_surprise had to reach: -log10(LinkParams.alpha / accounts tested in "
           "the round)"),
        _c("round", "BIGINT", "the round of the test (ScoringParams.join_rounds)"),
    ),
)

VERDICT_HISTORY = Table(
    name="verdict_history",
    grain="one row per cluster of one run",
    key=("run_id", "cluster_id"),
    layer="scoring",
    kind="table",
    meaning="every run's verdicts (cluster_findings holds only the last): which cases "
            "became flagged, and what was flagged on a given night",
    columns=(
        _RUN,
        _WINDOW_END,
        _CLUSTER,
        _c("verdict", "VARCHAR", _either(VERDICTS)),
        _c("risk_score", "DOUBLE", "in [0, 1] (cluster_findings.risk_score)"),
        _N_ACCOUNTS,
        _c("joined_case", "VARCHAR", "the flagged case it joined, else NULL"),
    ),
)
