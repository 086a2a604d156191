"""Tables that every behavioural family's section prints: its statistics, and descriptive
measures of the cluster against the population.

In: the document and the run's data. Out: the tables, each with its source line.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.publish.reports.data import RunData
from pipeline.publish.reports.document import Column, EvidencePDF, table_rows
from pipeline.publish.reports.format import FAMILY_TITLES, fmt_int, fmt_num, fmt_p, fmt_share

TOP_KEYS = 20
"""Rows a "strongest first" table prints; the attachment beside it has every row."""


def stat_columns(wide: bool = False) -> list[Column]:
    """The columns of a statistics table; ``wide`` adds the test, the raw p-value and the
    baseline's size, for the appendix that has the room."""
    cols = [
        Column("rule", 13, "rule_id"),
        Column("statistic", 48 if not wide else 42, lambda r: r["statistic"].replace("_", " "),
               wrap=True),
        Column("value", 17, "value", fmt_num, "RIGHT"),
        Column("baseline median [q1, q3]", 36, lambda r: (
            f"{fmt_num(r['baseline_median'])} [{fmt_num(r['baseline_q1'])}, "
            f"{fmt_num(r['baseline_q3'])}]"), str, "RIGHT"),
        Column("effect", 15, "effect_size", fmt_num, "RIGHT"),
        Column("p adj.", 16, "p_adjusted", fmt_p, "RIGHT"),
        Column("strong", 13, lambda r: "yes" if r["is_strong"] else "no", str, "CENTER"),
    ]
    if wide:
        widths = {"rule": 12, "statistic": 34, "value": 15, "baseline median [q1, q3]": 32,
                  "effect": 14, "p adj.": 15, "strong": 11}
        cols = [Column(c.heading, widths[c.heading], c.key, c.fmt, c.align, c.wrap)
                for c in cols]
        cols.insert(5, Column("test", 19, "test"))
        cols.insert(6, Column("p", 15, "p_value", fmt_p, "RIGHT"))
        cols.insert(4, Column("n base", 11, "baseline_count", fmt_int, "RIGHT"))
    return cols


def family_statistics(pdf: EvidencePDF, stats: pl.DataFrame | None, family: str) -> None:
    """One family's statistics, or a line saying why there are none: a missing table is
    said, never shown as the absence of evidence."""
    if stats is None:
        pdf.note("Statistics not available in this run: forensics.duckdb has no table "
                 "cluster_statistic.")
        return
    rows = stats.filter(pl.col("family") == family)
    if not rows.height:
        pdf.note(f"No {FAMILY_TITLES[family].lower()} statistic was tested for this cluster "
                 "(cluster_statistic has no row of this family).")
        return
    pdf.data_table(stat_columns(), table_rows(rows))
    pdf.source("cluster_statistic (family = " + family + "); baseline: clusters of similar "
               "size; p adj.: Benjamini-Hochberg across the clusters tested")


BEHAVIOUR = (
    ("max_tokens_saturated_share", "answers cut at max_tokens (share of 2xx)", fmt_share),
    ("output_input_ratio", "output tokens per input token", fmt_num),
    ("output_tokens_per_ok_request", "output tokens per 2xx request", fmt_num),
    ("distinct_prompts_per_request", "distinct prompts per request (per account-day)",
     fmt_num),
    ("temperature_positive_share", "requests with temperature > 0", fmt_share),
    ("cache_read_share", "input tokens read from the cache", fmt_share),
    ("rate_limited_share", "requests answered 429", fmt_share),
    ("active_hours_per_account_day", "active hours per account-day", fmt_num),
)


def behaviour_table(pdf: EvidencePDF, data: RunData, cid: str, names: Sequence[str]) -> None:
    """Measures of the cluster beside the population's, so a reader sees how far from
    ordinary use it is; descriptive, not a test."""
    cluster = data.of("behaviour", cid)
    population = data.population_behaviour
    if not cluster.height:
        pdf.note("No account_day row of the cluster's accounts in the window.")
        return
    c, p = cluster.to_dicts()[0], population.to_dicts()[0]
    rows = [{"measure": label, "cluster": fmt(c[name]), "population": fmt(p[name])}
            for name, label, fmt in BEHAVIOUR if name in names]
    pdf.data_table([Column("measure", 90, "measure"),
                    Column("cluster", 30, "cluster", str, "RIGHT"),
                    Column("population", 30, "population", str, "RIGHT")], rows)
    pdf.source("account_day over the window: sums over the cluster's accounts, and over "
               "every account (population); descriptive, not a test")
