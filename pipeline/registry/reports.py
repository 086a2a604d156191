"""The reports' own queries (``sql/publish/reports/``): what each returns, declared beside the
tables so that every SQL file of the project has an entry.

In: nothing (declarations). Out: ``REPORT_QUERIES``, name to what one row is. They read
the window's tables and the temporary ``_report_member`` and ``_report_account`` the
reports make; they store nothing, so they have no columns to declare here (the report
tests read their rows on real runs).
"""

from __future__ import annotations

REPORT_QUERIES: dict[str, str] = {
    "account_attribute": (
        "one row per account of the accounts table, with what the account appendix prints of it"),
    "account_attribute_none": (
        "no row, with the columns of account_attribute.sql: without the accounts table, no "
        "account's attributes are known"),
    "behaviour": (
        "one row per flagged cluster, and one whose cluster_id is 'population' for every "
        "account of the window, with descriptive measures over the window's account-days "
        "(ratios of sums, so busy accounts weigh more)"),
    "cache_collision": (
        "one row per flagged cluster and cacheable prefix that two or more of its accounts "
        "sent, with the cache writes it took against those one account needs"),
    "cache_day": (
        "one row per flagged cluster and UTC day with a cacheable request: the cache replay's "
        "counts per day"),
    "cache_profile": (
        "one row per flagged cluster, and one whose cluster_id is 'population' summed over "
        "every cluster of the window, with the cache replay's counts"),
    "capability_mix": (
        "one row per flagged cluster and capability category, with its share of the cluster's "
        "requests with text and the share of every cluster of the window"),
    "changes": (
        "one row per cluster whose verdict changed since the previous publication, the most "
        "serious first"),
    "cluster_figures": (
        "one row: the accounts of the window, its clusters, those of two or more accounts, and "
        "the largest cluster's accounts"),
    "cohort": (
        "one row per flagged cluster that is a cohort, with its accounts, how many passed "
        "their test and the weakest passing tie against what it had to reach"),
    "join": (
        "one row per flagged cluster of the reports that joined a case by the join rule, with "
        "the test that decided it and each evidence family's surprise"),
    "daily": (
        "one row per flagged cluster and day of the window on which one of its accounts sent a "
        "request: requests, active accounts and tokens summed over the accounts"),
    "evidence_coverage": (
        "one row per input that some evidence needs, with how many of the window's accounts "
        "carry it"),
    "excerpts": (
        "one row per flagged cluster and logged prompt, at most $n a cluster: those the most of"
        " its accounts sent, then the most requests"),
    "findings": (
        "one row per cluster of the window with its verdict, flagged first, then by risk score"),
    "flagged_member": "one row per account of a flagged cluster",
    "flagged_member_none": (
        "no row, with the columns of flagged_member.sql: without cluster_findings no cluster is"
        " flagged"),
    "hours": (
        "one row per flagged cluster and UTC hour of the day in which its accounts sent a "
        "request in the window, with the requests of that hour over all days"),
    "inputs": (
        "one row per input file behind the window's partitions: for each day of the window the "
        "latest ingest run that covered it, and that run's files (a file a later run read again"
        " is shown as that run read it)"),
    "keys": (
        "one row per flagged cluster and piece of linkage evidence (a shared key, or a pair "
        "type), the rarest keys first within each type"),
    "link_count": "one row: the links between accounts of the window",
    "links": (
        "one row per link between two accounts of the same flagged cluster, with its weight and"
        " families (comma-separated, sorted)"),
    "member_accounts": (
        "one row per account of a flagged cluster, busiest first, with its attributes and its "
        "figures summed over the window's days (an account without a day in the window has zero"
        " requests, not none)"),
    "members": "one row per account of a flagged cluster",
    "pacing": (
        "one row per flagged cluster and pacing bin (0 to 9: the busiest minute's tenth of the "
        "account's rate limit; 10: at or over it), with its account-days of the window"),
    "population_hours": (
        "one row per UTC hour of the day, with every account's requests of that hour over the "
        "window: what hours.sql is compared with"),
    "population_pacing": (
        "one row per pacing bin of pacing.sql, with every account's account-days of the window:"
        " what pacing.sql is compared with"),
    "quarantine_reasons": (
        "one row per reason a row of the window's input files was quarantined for, with the "
        "rows (a row of no known day counts too)"),
    "statistics": "one row per flagged cluster and statistic tested",
    "tables": (
        "one row per table or view of the main database (temporary ones left out): a section "
        "whose source table is not among them says so instead of failing"),
    "validation": (
        "one row per validation check (gate, suite, table, expectation and column), its latest "
        "outcome"),
    "window": "one row, the first and last day of the clusters' window",
}
"""Every query of ``sql/publish/reports/``, by file name, and what one row of it is."""
