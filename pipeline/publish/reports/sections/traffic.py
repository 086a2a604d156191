"""The traffic shape section: when and how fast the cluster sends.

In: the cluster's daily volume, hours of the day and pacing, and the population's. Out:
the charts and statistics, with the shares behind the charts attached.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from pipeline.publish import charts
from pipeline.publish.reports.data import RunData
from pipeline.publish.reports.document import CHART_KEEP, Attach, EvidencePDF
from pipeline.publish.reports.sections.evidence import behaviour_table, family_statistics


def traffic_section(pdf: EvidencePDF, data: RunData, cid: str, stats: pl.DataFrame | None,
                    attach: Attach) -> None:
    """When and how fast the cluster sends, each against the population: one scheduler
    driving many accounts shows in time, not in content."""
    pdf.h1("Traffic shape")
    pdf.para("When and how fast the cluster sends: pacing just under each account's rate "
             "limit, flat activity around the clock and accounts that start and stop "
             "together are the marks of one scheduler driving many accounts.")
    daily = data.of("daily", cid)
    pdf.h2("Daily volume and active accounts", keep=CHART_KEEP)
    if daily.height:
        svg = charts.daily_volume(daily["date"].to_list(), daily["request_count"].to_list(),
                                  daily["active_account_count"].to_list())
        pdf.chart(svg, "A steady daily volume from a steady pool of accounts is scheduled "
                  "work; organic use rises and falls with the week.",
                  "account_day (request_count summed, accounts counted, per day)")
    else:
        pdf.note("No account_day row of the cluster's accounts in the window.")
    pdf.h2("Hour of day against the population", keep=CHART_KEEP)
    hours = data.of("hours", cid)
    if hours.height:
        c = _shares(hours, "hour", "request_count", range(24))
        p = _shares(data.population_hours, "hour", "request_count", range(24))
        svg = charts.compare_bars([str(h) for h in range(24)], c, p,
                                  title="Requests by hour of day (UTC)",
                                  xlabel="hour of day (UTC)", ylabel="share of requests (%)")
        pdf.chart(svg, "A flat red profile against the population's daily rhythm means the "
                  "accounts never sleep.",
                  "account_hour (request_count by hour of hour_at; population: every "
                  "account of the window)")
        attach("hour-of-day.csv", pl.DataFrame({"hour": list(range(24)), "cluster_share": c,
                                                "population_share": p}),
               "account_hour", "share of requests per UTC hour (percent)")
    else:
        pdf.note("No account_hour row of the cluster's accounts in the window.")
    pdf.h2("Pacing against rate limits", keep=CHART_KEEP)
    pacing = data.of("pacing", cid)
    if pacing.height:
        labels = [f"{10 * b}\u2013{10 * b + 10}%" for b in range(10)] + ["≥100%"]
        c = _shares(pacing, "bin", "account_day_count", range(11))
        p = _shares(data.population_pacing, "bin", "account_day_count", range(11))
        svg = charts.compare_bars(labels, c, p, title="Busiest minute against the "
                                  "requests-per-minute limit",
                                  xlabel="peak requests per minute / the account's limit",
                                  ylabel="share of account-days (%)")
        pdf.chart(svg, "Account-days piled just under 100% are paced to stay below the limit; "
                  "ordinary use rarely comes near it.",
                  "account_day.peak_rpm_limit_ratio (account-days with a known limit)")
        attach("pacing.csv", pl.DataFrame({"bin": labels, "cluster_share": c,
                                           "population_share": p}),
               "account_day", "share of account-days per pacing bin (percent)")
    else:
        pdf.note("Pacing is not available: no rate limit is known for the cluster's accounts "
                 "(account_day.rpm_limit is empty).")
    pdf.h2("Statistics")
    family_statistics(pdf, stats, "traffic_shape")
    behaviour_table(pdf, data, cid, ("rate_limited_share", "active_hours_per_account_day"))


def _shares(frame: pl.DataFrame, key: str, value: str, keys: Iterable[int]) -> list[float]:
    counts = dict(zip(frame[key].to_list(), frame[value].to_list(), strict=True))
    total = sum(counts.values()) or 1
    return [round(100.0 * counts.get(k, 0) / total, 6) for k in keys]
