"""The appendices of a cluster's report: every statistic and every account.

In: the cluster's statistics and accounts. Out: full tables, and both attached.
"""

from __future__ import annotations

import polars as pl

from pipeline.detection.rules.rule import FAMILIES
from pipeline.publish.reports.document import Attach, Column, EvidencePDF, table_rows
from pipeline.publish.reports.format import FAMILY_TITLES, fmt_day, fmt_int, fmt_share, plural
from pipeline.publish.reports.sections.evidence import stat_columns


def statistics_appendix(pdf: EvidencePDF, stats: pl.DataFrame | None,
                        attach: Attach) -> None:
    """Every statistic with its test and baseline, so an auditor can check each one and
    not only the strong ones the sections pick."""
    pdf.h1("Appendix A: every statistic")
    if stats is None:
        pdf.note("Not available in this run: forensics.duckdb has no table cluster_statistic.")
        return
    pdf.para("Each statistic the scoring read, with the cluster's value, the baseline "
             "(median and quartiles of the statistic over the window's other accounts, or "
             "over the clusters nearest in size for what accounts do together, or, where "
             "the window has too few clusters of several accounts, over random groups of "
             "its accounts of the cluster's size, in baseline_group_profile; and how "
             "many), the effect size in the test's own scale, the test, its "
             "one-sided p-value and the p-value adjusted for the number of clusters tested "
             "(Benjamini-Hochberg). 'Strong' means both the adjusted p-value and the effect "
             "size pass the statistic's thresholds.", size=8.5)
    for family in FAMILIES:
        rows = stats.filter(pl.col("family") == family)
        if not rows.height:
            continue
        pdf.h2(FAMILY_TITLES[family])
        pdf.data_table(stat_columns(wide=True), table_rows(rows), size=6.5)
    others = stats.filter(~pl.col("family").is_in(FAMILIES))
    if others.height:
        pdf.h2("Other statistics")
        pdf.data_table(stat_columns(wide=True), table_rows(others), size=6.5)
    pdf.source("cluster_statistic; the source table of each statistic is in the attached "
               "statistics.csv (column source_table)")
    attach("statistics.csv", stats, "cluster_statistic", "every statistic of the cluster")


def accounts_appendix(pdf: EvidencePDF, accounts: pl.DataFrame, attach: Attach) -> None:
    """Every account the verdict covers, by name: the list a case is acted on."""
    pdf.h1("Appendix B: every account")
    pdf.para(f"The {plural(accounts.height, 'account')} of the cluster, busiest first, with "
             "their figures over the window.", size=8.5)
    pdf.data_table([
        Column("account", 34, "account_id"),
        Column("created", 19, "created_at", fmt_day),
        Column("country", 13, "country", str, "CENTER"),
        Column("days", 10, "active_day_count", fmt_int, "RIGHT"),
        Column("requests", 17, "request_count", fmt_int, "RIGHT"),
        Column("429s", 13, "rate_limited_count", fmt_int, "RIGHT"),
        Column("input tok.", 22, "input_tokens", fmt_int, "RIGHT"),
        Column("output tok.", 22, "output_tokens", fmt_int, "RIGHT"),
        Column("peak/limit", 16, "peak_rpm_limit_ratio_max", fmt_share, "RIGHT"),
        Column("last request", 20, "last_request_at", fmt_day),
    ], table_rows(accounts), size=6.8, mono=(0,))
    pdf.source("account_day over the window (sums; peak/limit: the highest "
               "peak_rpm_limit_ratio of a day) joined with accounts (created, country)")
    attach("accounts.csv", accounts, "account_day, accounts", "every account of the cluster")
