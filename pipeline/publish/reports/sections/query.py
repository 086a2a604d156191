"""The query distribution section: what the cluster asks, against everybody else.

In: the cluster's capability mix, statistics, behaviour measures and prompt excerpts.
Out: the chart, the tables and the (redacted) excerpts, with their rows attached.
"""

from __future__ import annotations

import polars as pl

from pipeline.publish import charts
from pipeline.publish.redaction import redact
from pipeline.publish.reports.data import POPULATION, RunContext, RunData
from pipeline.publish.reports.document import (
    CHART_KEEP,
    MUTED,
    Attach,
    Column,
    EvidencePDF,
    table_rows,
)
from pipeline.publish.reports.format import fmt_int
from pipeline.publish.reports.sections.evidence import behaviour_table, family_statistics

EXCERPT_CHARS = 300
"""Characters of a prompt an excerpt prints at most (after redaction)."""


def query_section(pdf: EvidencePDF, data: RunData, cid: str, stats: pl.DataFrame | None,
                  attach: Attach, ctx: RunContext) -> None:
    """What the cluster asks, against everybody else: the family whose evidence is in the
    prompts themselves, with redacted excerpts only when the run asked for them."""
    pdf.h1("Query distribution")
    pdf.para("What the cluster asks, against everybody else: a sweep across capabilities, "
             "templates re-used with varying slots, chain-of-thought elicitation and long "
             "outputs are what a distillation harvest looks like; one product's traffic is "
             "narrow and conversational.")
    pdf.h2("Capability mix", keep=CHART_KEEP)
    mix = data.of("cluster_capability", cid)
    if "cluster_capability" not in data.optional:
        pdf.note("Capability mix not available in this run: forensics.duckdb has no table "
                 "cluster_capability.")
    elif not mix.height:
        pdf.note("No capability was recorded for this cluster (cluster_capability has no "
                 "row: its logs carried no prompt text).")
    else:
        mix = mix.sort(["share", "capability"], descending=[True, False])
        svg = charts.compare_bars(mix["capability"].to_list(),
                                  (mix["share"] * 100).to_list(),
                                  (mix["population_share"] * 100).to_list(),
                                  title="Capability mix: cluster against population",
                                  xlabel="capability", ylabel="share of requests (%)",
                                  horizontal=True)
        pdf.chart(svg, "A cluster that covers every capability evenly, unlike the population's "
                  "skewed mix, is sweeping the model rather than using it.",
                  "cluster_capability (share: the cluster's requests per capability over its "
                  "requests with text; population: every cluster of the window)")
        attach("capability-mix.csv", mix, "cluster_capability", "capability shares")
    pdf.h2("Template reuse, chain-of-thought elicitation, output harvesting")
    family_statistics(pdf, stats, "query_distribution")
    behaviour_table(pdf, data, cid, ("max_tokens_saturated_share", "output_input_ratio",
                                      "output_tokens_per_ok_request",
                                      "distinct_prompts_per_request",
                                      "temperature_positive_share"))
    attach("behaviour.csv", pl.concat([data.of("behaviour", cid),
                                       data.population_behaviour.with_columns(
                                           cluster_id=pl.lit(POPULATION))
                                       .select(data.behaviour.columns)]),
           "account_day", "descriptive measures of the cluster and of the population")
    if ctx.excerpts > 0:
        pdf.h2("Prompt excerpts (redacted)")
        rows = data.of("excerpts", cid) if data.excerpts is not None else pl.DataFrame()
        if not rows.height:
            pdf.note("No prompt text was logged for the cluster's requests.")
        else:
            pdf.para(f"Up to {ctx.excerpts} prompts the most accounts of the cluster sent, "
                     "with e-mail addresses, phone numbers, API keys and long digit runs "
                     "replaced.", size=8.5, colour=MUTED)
            pdf.data_table([
                Column("accounts", 16, "account_count", fmt_int, "RIGHT"),
                Column("requests", 16, "request_count", fmt_int, "RIGHT"),
                Column("prompt (redacted)", 146,
                       lambda r: redact(r["prompt_text"], max_chars=EXCERPT_CHARS), wrap=True),
            ], table_rows(rows))
            pdf.source("requests.prompt_text of the cluster's accounts, redacted by "
                       "pipeline.publish.redaction")
