"""The caching mismatch section: the prompt cache against one operator's traffic.

In: the cluster's cache replay (counts, days, shared prefixes), statistics and behaviour.
Out: the tables and chart, with the replay's rows attached.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pipeline.publish import charts
from pipeline.publish.reports.data import POPULATION, RunData
from pipeline.publish.reports.document import CHART_KEEP, Attach, Column, EvidencePDF, table_rows
from pipeline.publish.reports.format import MISSING, fmt_int, fmt_share
from pipeline.publish.reports.sections.evidence import TOP_KEYS, behaviour_table, family_statistics


def caching_section(pdf: EvidencePDF, data: RunData, cid: str, stats: pl.DataFrame | None,
                    attach: Attach) -> None:
    """The cache a cluster forfeits by spreading one operator's requests over accounts:
    evidence that does not depend on what the prompts say."""
    pdf.h1("Caching mismatch")
    pdf.para("What the prompt cache saw against what it would have seen had one account "
             "sent all of the cluster's requests. Prompts spread over many accounts miss a "
             "cache that one operator's traffic would have hit: excess cache writes, and "
             "cache reads far below what the cluster's own repetition predicts.")
    _expected_hits(pdf, data, cid, attach)
    _hits_over_time(pdf, data, cid, attach)
    _collisions(pdf, data, cid, attach)
    pdf.h2("Statistics")
    family_statistics(pdf, stats, "caching_mismatch")
    behaviour_table(pdf, data, cid, ("cache_read_share",))


def _expected_hits(pdf: EvidencePDF, data: RunData, cid: str, attach: Attach) -> None:
    pdf.h2("Expected against observed cache hits")
    profile = data.optional.get("cluster_profile")
    if profile is None:
        pdf.note("The cache replay's counts are not available in this run: forensics.duckdb "
                 "has no table cluster_profile.")
    else:
        mine = profile.filter(pl.col("cluster_id") == cid).to_dicts()
        everyone = profile.filter(pl.col("cluster_id") == POPULATION).to_dicts()
        if mine:
            c, p = mine[0], everyone[0]
            rows = []
            for name, label in CACHE_COUNTS:
                rows.append({"measure": label, "cluster": fmt_int(c[name]),
                             "cluster_share": _ratio(c[name], c["cacheable_count"]),
                             "population_share": _ratio(p[name], p["cacheable_count"])})
            pdf.data_table([Column("requests", 80, "measure", wrap=True),
                            Column("cluster", 26, "cluster", str, "RIGHT"),
                            Column("share of cacheable", 34, "cluster_share", str, "RIGHT"),
                            Column("population share", 34, "population_share", str,
                                   "RIGHT")], rows)
            pdf.source("cluster_profile (the cache replay's counts over the window; "
                       "population: every cluster)")
            attach("cache-counts.csv", profile.filter(pl.col("cluster_id").is_in(
                [cid, POPULATION])), "cluster_profile", "the cache replay's counts")
        else:
            pdf.note("The cluster has no row in cluster_profile.")


def _hits_over_time(pdf: EvidencePDF, data: RunData, cid: str, attach: Attach) -> None:
    pdf.h2("Cache hits over time", keep=CHART_KEEP)
    cache = data.of("cluster_cache_day", cid)
    if "cluster_cache_day" not in data.optional:
        pdf.note("The cache replay is not available in this run: forensics.duckdb has no "
                 "table cluster_cache_day.")
    elif not cache.height:
        pdf.note("The cache replay has no day for this cluster (cluster_cache_day).")
    else:
        cache = cache.sort("date")
        svg = charts.lines_over_time(
            cache["date"].to_list(),
            [("predicted (one account)", cache["predicted_hit_count"].to_list(),
              charts.POPULATION),
             ("observed", cache["observed_read_count"].to_list(), charts.CLUSTER)],
            title="Cache hits per day", ylabel="requests per day")
        pdf.chart(svg, "The gap between the grey and the red line is cache the operator "
                  "forfeits by spreading its requests over accounts.",
                  "cluster_cache_day (predicted_hit_count, observed_read_count)")
        attach("cache-day.csv", cache, "cluster_cache_day", "the cache replay per day")


def _collisions(pdf: EvidencePDF, data: RunData, cid: str, attach: Attach) -> None:
    pdf.h2("Cache collisions across accounts")
    collisions = data.of("cluster_cache_collision", cid)
    if "cluster_cache_collision" not in data.optional:
        pdf.note("Cache collisions are not available in this run: forensics.duckdb has no "
                 "table cluster_cache_collision.")
    elif not collisions.height:
        pdf.note("No cacheable prefix was written to the cache by two or more of the "
                 "cluster's accounts (cluster_cache_collision).")
    else:
        top = collisions.sort(["handoff_count", "account_count", "prefix_hash"],
                              descending=[True, True, False]).head(TOP_KEYS)
        pdf.data_table([
            Column("prefix", 44, "prefix_hash"),
            Column("accounts", 20, "account_count", fmt_int, "RIGHT"),
            Column("requests", 22, "request_count", fmt_int, "RIGHT"),
            Column("cache writes", 24, "write_count", fmt_int, "RIGHT"),
            Column("writes one account needs", 36, "expected_write_count", fmt_int, "RIGHT"),
            Column("handoffs", 22, "handoff_count", fmt_int, "RIGHT"),
        ], table_rows(top), mono=(0,))
        pdf.source(f"cluster_cache_collision (top {top.height} of "
                   f"{fmt_int(collisions.height)} prefixes by cross-account handoffs)")
        attach("cache-collisions.csv", collisions, "cluster_cache_collision",
               "every shared cacheable prefix")


CACHE_COUNTS = (
    ("cacheable_count", "cacheable (long enough to cache)"),
    ("predicted_hit_count", "predicted hits: the account's own earlier request within the TTL"),
    ("observed_read_count", "observed cache reads"),
    ("busted_count", "predicted hits that wrote the prefix again (cache busted)"),
    ("handoff_count", "prefix used by another account of the cluster within the TTL"),
    ("read_without_write_count", "reads of a prefix the account never wrote"),
)


def _ratio(part: Any, whole: Any) -> str:
    return fmt_share(part / whole) if part is not None and whole else MISSING
