"""One flagged cluster's evidence report: cover, summary, the sections, the appendices.

In: the run's data, the cluster's row of ``cluster_findings`` and the run's context. Out:
the PDF's bytes, with the rows behind every section attached.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pipeline.detection.rules.rule import FAMILIES
from pipeline.publish.reports.data import RunContext, RunData
from pipeline.publish.reports.document import (
    FONT,
    INK,
    KEYWORDS,
    MUTED,
    RED,
    ZEBRA,
    Attach,
    EvidencePDF,
    attach_csv,
    pdf_bytes,
    render_toc,
)
from pipeline.publish.reports.format import (
    FAMILY_TITLES,
    MISSING,
    families_text,
    fmt_day,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_time,
    plural,
)
from pipeline.publish.reports.sections.appendices import accounts_appendix, statistics_appendix
from pipeline.publish.reports.sections.caching import caching_section
from pipeline.publish.reports.sections.linkage import linkage_section
from pipeline.publish.reports.sections.provenance import provenance_section
from pipeline.publish.reports.sections.query import query_section
from pipeline.publish.reports.sections.traffic import traffic_section


def build_cluster_report(data: RunData, finding: dict[str, Any], ctx: RunContext) -> bytes:
    """The PDF bytes of one flagged cluster's evidence report."""
    cid = finding["cluster_id"]
    case_id = data.case_id(cid)
    accounts = data.of("accounts", cid)
    daily = data.of("daily", cid)
    stats = data.of("statistics", cid) if data.statistics is not None else None
    tokens = int(accounts["input_tokens"].sum() + accounts["output_tokens"].sum()) \
        if accounts.height else 0
    active_days = daily.height
    pdf = EvidencePDF(title=f"Evidence report {case_id}",
                      subject=f"Evidence that cluster {cid} ran an adversarial-distillation "
                              f"campaign: verdict {finding['verdict']}, window "
                              f"{fmt_day(data.window_start)} to {fmt_day(data.window_end)}",
                      keywords=(case_id, cid, str(finding["verdict"]), *KEYWORDS),
                      author=ctx.producer,
                      running_head=f"Evidence report · case {case_id} · cluster {cid} · "
                                   f"verdict {finding['verdict']}",
                      generated_at=ctx.generated_at, version=ctx.version, invalid=ctx.invalid)
    attachments: list[tuple[str, str, str]] = []

    def attach(name: str, frame: pl.DataFrame, table: str, what: str) -> str:
        attachments.append((attach_csv(pdf, name, frame, f"{what} (from {table})"), table, what))
        return name

    _cover(pdf, data, finding, ctx, case_id)
    pdf.add_page()
    pdf.insert_toc_placeholder(render_toc, pages=1)
    _summary(pdf, data, finding, stats, tokens, active_days, attach)
    linkage_section(pdf, data, cid, attach)
    query_section(pdf, data, cid, stats, attach, ctx)
    caching_section(pdf, data, cid, stats, attach)
    traffic_section(pdf, data, cid, stats, attach)
    statistics_appendix(pdf, stats, attach)
    accounts_appendix(pdf, accounts, attach)
    attach("daily.csv", daily, "account_day", "the cluster's requests, accounts and tokens "
           "per day")
    provenance_section(pdf, data, ctx, attachments)
    return pdf_bytes(pdf)


def _cover(pdf: EvidencePDF, data: RunData, finding: dict[str, Any], ctx: RunContext,
           case_id: str) -> None:
    """Whom the report is about and its verdict, before any evidence."""
    cid = finding["cluster_id"]
    pdf.add_page()
    pdf.start_section("Cover", level=0)
    pdf.ln(14)
    pdf.set_font(FONT, "", 10)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 6, "distill-forensics · evidence report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 24)
    pdf.multi_cell(0, 12, f"Cluster {cid}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 12)
    pdf.multi_cell(0, 6.5, "Suspected adversarial distillation: accounts one operator "
                   "plausibly controls, harvesting model outputs.", new_x="LMARGIN",
                   new_y="NEXT")
    pdf.ln(8)
    verdict = str(finding["verdict"])
    pdf.set_fill_color(*RED)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(FONT, "B", 13)
    pdf.cell(70, 10, f"Verdict: {verdict}", fill=True, align="C")
    pdf.cell(6, 10, "")
    pdf.set_fill_color(*ZEBRA)
    pdf.set_text_color(*INK)
    pdf.cell(70, 10, f"Risk score: {finding['risk_score']:.3f}", fill=True, align="C",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.kv([
        ("Case id", case_id),
        ("Cluster id", cid),
        ("Date range", f"{fmt_day(finding['first_seen'])} to {fmt_day(finding['last_seen'])} "
                       "(first and last request)"),
        ("Window analysed", f"{fmt_day(data.window_start)} to {fmt_day(data.window_end)}"),
        ("Verdict", verdict),
        ("Risk score", f"{finding['risk_score']:.3f} (0 to 1)"),
        ("Evidence families", families_text(finding.get("strong_families"))),
        ("Rules that fired", finding.get("signals") or MISSING),
        ("Generated at", fmt_time(ctx.generated_at)),
        ("Version", ctx.version),
    ], key_width=44, size=10)
    pdf.ln(4)
    pdf.para("This report is built only from the tables of forensics.duckdb named in each "
             "section and in the Data sources appendix; the rows behind every section are "
             "attached to this PDF as CSV files. The Provenance section says how to verify "
             "that this file is the one the pipeline produced and how to re-derive it.",
             size=8.5, colour=MUTED)


def _summary(pdf: EvidencePDF, data: RunData, finding: dict[str, Any],
             stats: pl.DataFrame | None, tokens: int, active_days: int, attach: Attach) -> None:
    """Plain words first: the figures and the strong statistics, before the sections."""
    pdf.h1("Summary", new_page=False)
    pdf.figures([("accounts", fmt_int(finding["n_accounts"])),
                 ("requests", fmt_int(finding["n_requests"])),
                 ("tokens (input + output)", fmt_int(tokens)),
                 ("active days", fmt_int(active_days))])
    pdf.source("cluster_findings (accounts, requests); account_day over the window "
               "(tokens: total_input_tokens_sum + output_tokens_sum; active days: days with "
               "a row)")
    for text in _summary_paragraphs(data, finding, stats, tokens, active_days):
        pdf.para(text, markdown=True)
    if off := data.inputs_off():
        pdf.note("The window's logs carry no " + "; ".join(off) + ": the evidence these feed "
                 "was not looked for (the run summary's Evidence coverage), so its absence "
                 "here says nothing about this cluster.")
    if finding.get("hashes_only"):
        pdf.note("The cluster's logs carried no prompt text: query-distribution statistics "
                 "were computed from prompt hashes and token counts only.")
    attach("findings.csv", pl.DataFrame([finding]), "cluster_findings",
           "the cluster's findings row")


def _summary_paragraphs(data: RunData, finding: dict[str, Any], stats: pl.DataFrame | None,
                        tokens: int, active_days: int) -> list[str]:
    cid = finding["cluster_id"]
    n_accounts = int(finding["n_accounts"])
    families = [f.strip() for f in str(finding.get("strong_families") or "").split(",")
                if f.strip()]
    text = [
        f"Between {fmt_day(finding['first_seen'])} and {fmt_day(finding['last_seen'])}, "
        f"{plural(n_accounts, 'account')} that the linking stage attributes to one operator "
        f"sent {plural(int(finding['n_requests']), 'request')} ({fmt_int(tokens)} tokens) on "
        f"{plural(active_days, 'day')}. The pipeline's verdict is **{finding['verdict']}** "
        f"with a risk score of {finding['risk_score']:.3f}.",
    ]
    keys = data.of("keys", cid)
    if keys.height:
        counts = keys.group_by("key_type").agg(pl.len().alias("n")).sort(
            ["n", "key_type"], descending=[True, False])
        parts = [f"{r['n']} {r['key_type'].replace('_', ' ')}" for r in counts.head(4).to_dicts()]
        text.append("**Why one operator.** The accounts share " + ", ".join(parts) +
                    " keys (section Account linkage). Linkage says whom the verdict covers; "
                    "it is not itself evidence of distillation.")
    cohort = data.of("cluster_cohort", cid)
    if cohort.height:
        row = cohort.row(0, named=True)
        rest = int(row["account_count"]) - int(row["passed_count"])
        text.append(f"**A cohort.** Linking left these accounts in fragments, and each "
                    "fragment's own behaviour put it on watch. "
                    f"{plural(int(row['passed_count']), 'account')} share keys with the rest "
                    "far more often than chance (table cluster_cohort: the weakest tie "
                    f"{row['weakest_tie']:.1f} against {row['required_surprise']:.1f})"
                    + (f", {plural(rest, 'account')} came with their fragments" if rest else "")
                    + ", so they are judged as one cluster.")
    joined = finding.get("joined_case")
    if joined:
        text.append(f"**Joined case {joined}.** Linking left these accounts outside case "
                    f"{joined}, but their own behaviour holds "
                    f"{families_text(','.join(families))} and their shared evidence with "
                    f"that case's accounts passes the join rule{join_numbers(data, cid)}, "
                    "so they are flagged as part of it.")
    elif families:
        text.append(f"**What they did.** A flagged verdict needs strong evidence in at least "
                    f"two behavioural families; here {len(families)} hold: "
                    f"{families_text(','.join(families))}.")
    if stats is not None and stats.height:
        strong = stats.filter(pl.col("is_strong")).sort(["family", "p_adjusted", "statistic"])
        for family in FAMILIES:
            rows = strong.filter(pl.col("family") == family).to_dicts()
            if not rows:
                continue
            items = "; ".join(
                f"{r['rule_id']} {r['statistic'].replace('_', ' ')}: {fmt_num(r['value'])} "
                f"against a baseline median of {fmt_num(r['baseline_median'])} "
                f"(adjusted p {fmt_p(r['p_adjusted'])}{above_in(r, n_accounts)})"
                for r in rows[:4])
            text.append(f"**{FAMILY_TITLES[family]}.** {items}.")
    elif stats is None:
        text.append("The per-statistic evidence (table cluster_statistic) is not available "
                    "in this run.")
    return text


def above_in(row: dict[str, Any], n_accounts: int) -> str:
    """How many of the cluster's accounts are above the baseline on their own, where
    statistics counted it (``accounts_above_baseline``): a harvest is flagged only when
    enough of them show it, and an auditor reading one pooled share cannot see that."""
    above = row.get("accounts_above_baseline")
    return "" if above is None else f"; {fmt_int(above)} of {fmt_int(n_accounts)} accounts above it"


def join_numbers(data: RunData, cid: str) -> str:
    """The join's decisive numbers as a parenthesis (table case_test, which scoring writes
    with every ``joined_case``), so the sentence can be checked against the table."""
    row = data.of("case_test", cid).row(0, named=True)
    bare = row.get("tie_without_infrastructure")
    without = ("" if bare is None
               else f", {fmt_num(bare)} without infrastructure (one family of its own),")
    return (f" (table case_test: tie {fmt_num(row['tie_surprise'])}{without} against "
            f"{fmt_num(row['required_surprise'])}, second family "
            f"{fmt_num(row['second_surprise'])} against {fmt_num(row['required_second'])}; "
            f"by family: {row['tie_families']})")
