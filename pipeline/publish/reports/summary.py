"""The run's summary: the run at a glance, what changed, and every cluster by verdict.

In: the run's data (every cluster's findings, the inputs, the verdict changes) and the
run's context. Out: the bytes of ``reports/summary.pdf``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pipeline.detection.rules.rule import VERDICTS
from pipeline.publish import charts
from pipeline.publish.reports.data import RunContext, RunData
from pipeline.publish.reports.document import (
    FONT,
    INK,
    KEYWORDS,
    MUTED,
    Column,
    EvidencePDF,
    attach_csv,
    pdf_bytes,
    render_toc,
    table_rows,
)
from pipeline.publish.reports.format import (
    MISSING,
    families_text,
    fmt_day,
    fmt_int,
    fmt_time,
    plural,
)
from pipeline.publish.reports.sections.provenance import provenance_section

VERDICT_ORDER = {"flagged": 0, "watch": 1, "clear": 2}
SUMMARY_CHART_POINTS = 2000
"""Clusters the summary's score chart draws at most: tens of thousands of single accounts,
all clear, would only overprint each other (and pass the SVG size a PDF may embed)."""


def build_summary(data: RunData, ctx: RunContext) -> bytes:
    """The PDF bytes of ``reports/summary.pdf``: the run at a glance."""
    end = f"{data.window_end:%Y-%m-%d}" if data.window_end else "no window"
    pdf = EvidencePDF(title=f"Run summary, window ending {end}",
                      subject=f"The verdicts of every cluster of the window "
                              f"{fmt_day(data.window_start)} to {fmt_day(data.window_end)}",
                      keywords=(*(data.case_id(c) for c in data.flagged_ids()), "run summary",
                                *KEYWORDS),
                      author=ctx.producer,
                      running_head=f"Run summary · window {fmt_day(data.window_start)} to "
                                   f"{fmt_day(data.window_end)}",
                      generated_at=ctx.generated_at, version=ctx.version, invalid=ctx.invalid)
    findings = data.findings
    counts = {v: 0 for v in VERDICT_ORDER}
    if findings is not None:
        for row in findings.group_by("verdict").len().to_dicts():
            counts[row["verdict"]] = row["len"]
    _glance(pdf, data, ctx, counts)
    pdf.add_page()
    pdf.insert_toc_placeholder(render_toc, pages=1)
    _run_statistics(pdf, data, counts)
    _quarantine(pdf, data)
    _coverage(pdf, data)
    _changes_section(pdf, data, ctx)
    if findings is not None:
        _clusters_by_verdict(pdf, findings)
    provenance_section(pdf, data, ctx, None)
    return pdf_bytes(pdf)


def _glance(pdf: EvidencePDF, data: RunData, ctx: RunContext, counts: dict[str, int]) -> None:
    """The first page: the window, the verdicts and the run's validation in a few figures."""
    findings = data.findings
    pdf.add_page()
    pdf.start_section("The run at a glance", level=0)
    pdf.set_font(FONT, "", 10)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 6, "distill-forensics · run summary", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 20)
    pdf.multi_cell(0, 10, f"Window {fmt_day(data.window_start)} to {fmt_day(data.window_end)}",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    inputs = data.inputs
    pdf.figures([("flagged clusters", fmt_int(counts["flagged"]) if findings is not None
                  else MISSING),
                 ("watch", fmt_int(counts["watch"]) if findings is not None else MISSING),
                 ("accounts seen", fmt_int(data.run_figures.get("accounts"))),
                 ("requests kept", fmt_int(inputs["rows_kept"].sum() if inputs.height
                                           else None))])
    pdf.source("cluster_findings (verdicts); clusters (accounts); ingest_ledger (requests)")
    pdf.kv([
        ("Generated at", fmt_time(ctx.generated_at)),
        ("Version", ctx.version),
        ("Validation", _validation_line(data, ctx)),
    ], key_width=36)
    if findings is None:
        pdf.note("No verdict in this run: forensics.duckdb has no table cluster_findings (the "
                 "scoring stage did not run), so no evidence report was written.")


def _run_statistics(pdf: EvidencePDF, data: RunData, counts: dict[str, int]) -> None:
    inputs = data.inputs
    pdf.h2("Run statistics")
    figures = data.run_figures
    rows = [
        ("input files", fmt_int(inputs.height)),
        ("rows read", fmt_int(inputs["rows_read"].sum() if inputs.height else 0)),
        ("rows kept", fmt_int(inputs["rows_kept"].sum() if inputs.height else 0)),
        ("rows quarantined", fmt_int(inputs["rows_quarantined"].sum() if inputs.height else 0)),
        ("rows outside the range", fmt_int(inputs["rows_out_of_range"].sum()
                                           if inputs.height else 0)),
        ("accounts seen in the window", fmt_int(figures.get("accounts"))),
        ("links between accounts", fmt_int(figures.get("links"))),
        ("clusters", fmt_int(figures.get("clusters"))),
        ("clusters of two or more accounts", fmt_int(figures.get("linked_clusters"))),
        ("largest cluster (accounts)", fmt_int(figures.get("largest_cluster"))),
    ]
    if data.findings is not None:
        rows += [(f"clusters {v}", fmt_int(counts[v])) for v in VERDICT_ORDER]
    pdf.data_table([Column("measure", 90, "k"), Column("value", 40, "v", str, "RIGHT")],
                   [{"k": k, "v": v} for k, v in rows])
    pdf.source("ingest_ledger (the window's input files), clusters, account_link, "
               "cluster_findings")


def _quarantine(pdf: EvidencePDF, data: RunData) -> None:
    pdf.h2("Quarantine")
    if data.quarantine.height:
        pdf.data_table([Column("reason", 90, "reason"),
                        Column("rows", 40, "row_count", fmt_int, "RIGHT")],
                       table_rows(data.quarantine))
    else:
        pdf.para("No row of the window's input files was quarantined.")
    pdf.source("quarantine (rows of the window's input files, by reason)")


def _coverage(pdf: EvidencePDF, data: RunData) -> None:
    """Which evidence the logs could carry: an input no account of the window carries turns
    its evidence off for every cluster (a format without the field, or logs without it),
    which a reader must not take for evidence that was looked for and not found."""
    pdf.h2("Evidence coverage")
    coverage = data.coverage
    if coverage is None or not coverage.height:
        pdf.para("Not measured: the window has no per-day tables.")
        return
    pdf.data_table([Column("input", 52, "input"), Column("evidence it feeds", 88, "evidence"),
                    Column("accounts", 22, "accounts_with", fmt_int, "RIGHT"),
                    Column("", 14, lambda r: "on" if r["is_on"] else "OFF")],
                   table_rows(coverage))
    if off := data.inputs_off():
        pdf.note("Off for this window (no account's logs carry it): " + "; ".join(off)
                 + ". The evidence these feed was not looked for, so its absence from a "
                 "report says nothing about a cluster.")
    pdf.source("evidence_coverage (account_day, account_capability_day, accounts over the "
               "window)")


def _clusters_by_verdict(pdf: EvidencePDF, findings: pl.DataFrame) -> None:
    """Every cluster not clear, and the clear ones of two or more accounts: the thousands of
    clear single accounts would bury them, and are in the attached CSV."""
    pdf.h1("Clusters by verdict and score")
    shown = (findings.filter((pl.col("n_accounts") >= 2) | (pl.col("verdict") != "clear"))
             .sort(["risk_score", "n_accounts", "cluster_id"],
                   descending=[True, True, False])
             .head(SUMMARY_CHART_POINTS))
    svg = charts.verdict_scores(list(zip(shown["verdict"].to_list(),
                                         shown["risk_score"].to_list(),
                                         shown["n_accounts"].to_list(), strict=True)))
    pdf.chart(svg, "Flagged clusters sit at the top; large linked clusters that stay clear "
              "are enterprises or shared infrastructure. Shown: "
              f"{fmt_int(shown.height)} of {fmt_int(findings.height)} clusters, those of "
              f"two or more accounts or not clear, at most "
              f"{fmt_int(SUMMARY_CHART_POINTS)} by score.", "cluster_findings")
    columns = [
        Column("cluster", 26, "cluster_id"),
        Column("verdict", 16, "verdict"),
        Column("score", 14, "risk_score", lambda v: f"{v:.3f}", "RIGHT"),
        Column("accounts", 18, "n_accounts", fmt_int, "RIGHT"),
        Column("requests", 22, "n_requests", fmt_int, "RIGHT"),
        Column("first seen", 20, "first_seen", fmt_day),
        Column("last seen", 20, "last_seen", fmt_day),
        Column("families", 42, lambda r: families_text(r["strong_families"]) + (
            f"; joined {r['joined_case']}" if r.get("joined_case") else ""), wrap=True),
    ]
    for verdict in VERDICTS[:2]:
        rows_v = findings.filter(pl.col("verdict") == verdict)
        pdf.h2(f"{verdict.capitalize()} ({fmt_int(rows_v.height)})")
        if rows_v.height:
            pdf.data_table(columns, table_rows(rows_v), size=7, mono=(0,))
        else:
            pdf.para(f"No cluster is {verdict}.")
    clear = findings.filter(pl.col("verdict") == "clear")
    pdf.h2(f"Clear ({fmt_int(clear.height)})")
    linked = clear.filter(pl.col("n_accounts") > 1)
    pdf.para(f"{plural(clear.height, 'cluster')} are clear, {fmt_int(linked.height)} of "
             "them with two or more accounts (listed below, highest score first); every "
             "cluster is in the attached cluster-findings.csv.", size=8.5)
    if linked.height:
        pdf.data_table(columns, table_rows(linked), size=7, mono=(0,))
    pdf.source("cluster_findings")
    attach_csv(pdf, "cluster-findings.csv", findings, "every cluster's findings row "
               "(from cluster_findings)")


CHANGE_ROWS = 100
"""Rows of ``verdict_change`` printed in the summary; all of them are attached."""


def _changes_section(pdf: EvidencePDF, data: RunData, ctx: RunContext) -> None:
    """What moved since the previous publication: the nightly reader's first question."""
    pdf.h2("Changes since the previous publication")
    if ctx.previous is None or data.changes is None:
        pdf.para("No earlier valid publication in this output folder has a window ending "
                 "before this one's, so there is nothing to compare with.")
        return
    changes = data.changes
    moves = (changes.group_by("change", "previous_verdict", "verdict").len()
             .sort("change", "previous_verdict", "verdict", nulls_last=True))
    told = "; ".join(f"{plural(r['len'], 'cluster')} {_move_text(r)}" for r in moves.to_dicts())
    pdf.para(f"Compared with publication {ctx.previous} (the last valid one whose window ends "
             f"before this one's): " + (told + "." if told else
                                        "no cluster changed verdict."), size=8.5)
    if changes.height:
        pdf.data_table([
            Column("cluster", 24, "cluster_id"),
            Column("change", 15, "change"),
            Column("before", 15, "previous_verdict"),
            Column("now", 15, "verdict"),
            Column("score before", 18, "previous_risk_score", _score, "RIGHT"),
            Column("score now", 16, "risk_score", _score, "RIGHT"),
            Column("accounts before", 18, "previous_n_accounts", fmt_int, "RIGHT"),
            Column("accounts now", 16, "n_accounts", fmt_int, "RIGHT"),
            Column("accounts now in", 40, lambda r: r["now_in"] and
                   f"{r['now_in']} ({r['now_in_verdict']})"),
        ], table_rows(changes.head(CHANGE_ROWS)), size=7, mono=(0,))
        if changes.height > CHANGE_ROWS:
            pdf.note(f"The first {fmt_int(CHANGE_ROWS)} of {fmt_int(changes.height)} changes; "
                     "all are in the attached verdict-changes.csv.")
        attach_csv(pdf, "verdict-changes.csv", changes,
                   "every verdict that changed since the previous publication (verdict_change)")
    pdf.source(f"verdict_change (this run's cluster_findings against publications/"
               f"{ctx.previous}/findings/cluster_findings.parquet)")


def _score(value: Any) -> str:
    return MISSING if value is None else f"{value:.3f}"


def _move_text(row: dict[str, Any]) -> str:
    if row["change"] == "new":
        return f"new and {row['verdict']}"
    if row["change"] == "ended":
        return f"ended ({row['previous_verdict']} before)"
    return f"{row['change']} from {row['previous_verdict']} to {row['verdict']}"


def _validation_line(data: RunData, ctx: RunContext) -> str:
    if data.validation is None:
        base = "no validation result recorded (table validation_result absent)"
    else:
        failed = int((~data.validation["success"]).sum())
        base = (f"{plural(data.validation.height, 'check')}, "
                f"{plural(failed, 'failed', 'failed')}")
    return f"FAILED: {base}" if ctx.invalid else base
