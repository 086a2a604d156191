"""PDF evidence reports: one per flagged cluster, and the run's summary.

In: an open ``forensics.duckdb`` connection (the caller holds the output lock and owns the
database; this module only reads it, plus temporary tables it drops again) and the run's
parameters. Out: ``reports/<cluster_id>.pdf`` for every cluster whose verdict in
``cluster_findings`` is ``flagged``, and ``reports/summary.pdf``; each written under a
temporary name and renamed into place, and reports of clusters no longer flagged removed.

A report accuses a customer, so it is written for an auditor who never saw the code:
plain words first (what was found, the figures, the evidence families that hold), then
one section per evidence family with charts and tables, then appendices with every
statistic and every account, then provenance (input hashes, parameters, code version, SQL
hashes, validation) and how to re-derive and verify. Every figure is read from a table of
``forensics.duckdb``; every chart and table names that table, the "Data sources" appendix
maps each section to its tables, and the rows behind each section are attached to the PDF
as CSV files, so the report carries its own data.

Sections whose source table is missing in a run (the statistics stage's per-cluster
tables, a validation stage) print a "not available in this run" line naming the table;
they never print an invented number. The optional tables are listed in ``OPTIONAL_TABLES``
with the columns read.

The documents are PDF/A-3B (fpdf2 ``enforce_compliance``) with DejaVu Sans embedded, and
byte-identical for the same inputs and parameters: the creation date is the run's
``generated_at``, the XMP packet is written here (fpdf2 would put the clock in it), charts
are deterministic SVG (``pipeline.charts``), rows are always read in a total order, and
nothing prints the run id (it contains the clock).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline import charts
from pipeline.redaction import redact
from pipeline.reports.data import OPTIONAL_TABLES, RunContext, RunData, read_run
from pipeline.reports.document import (
    CHART_KEEP,
    FONT,
    INK,
    INVALID_STAMP,
    MUTED,
    RED,
    ZEBRA,
    Attach,
    Column,
    EvidencePDF,
    attach_csv,
    pdf_bytes,
    render_toc,
    table_rows,
)
from pipeline.reports.format import (
    FAMILY_TITLES,
    MISSING,
    families_text,
    fmt_day,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_share,
    fmt_time,
    plural,
)
from pipeline.rules.rule import FAMILIES, VERDICTS
from pipeline.schema import TABLES
from pipeline.warehouse import write_bytes_atomic

SUMMARY_NAME = "summary.pdf"
VERDICT_ORDER = {"flagged": 0, "watch": 1, "clear": 2}
SUMMARY_CHART_POINTS = 2000
"""Clusters the summary's score chart draws at most: tens of thousands of single accounts,
all clear, would only overprint each other (and pass the SVG size a PDF may embed)."""
LINK_PRIORITY = ("registry", "timing", "infrastructure", "content")
GRAPH_MAX_ACCOUNTS = 300
"""The account graph draws at most this many accounts (the most connected); the caption
says so when the cluster is larger. The attached links.csv has every edge."""
TOP_KEYS = 20
EXCERPT_CHARS = 300


def _flatten(values: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Parameters as dotted keys and JSON scalars, in key order."""
    if isinstance(values, dict):
        out: list[tuple[str, str]] = []
        for key in sorted(values):
            out += _flatten(values[key], f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(values, list | tuple) and values and all(isinstance(v, dict) for v in values):
        return [(prefix, f"{len(values)} entries (see manifest.json)")]
    return [(prefix, json.dumps(values, sort_keys=True, default=str))]


# ---------------------------------------------------------------------------------------
# One cluster's report.


def build_cluster_report(data: RunData, finding: dict[str, Any], ctx: RunContext) -> bytes:
    """The PDF bytes of one flagged cluster's evidence report."""
    cid = finding["cluster_id"]
    case_id = f"{cid}-{data.window_end:%Y%m%d}" if data.window_end else cid
    accounts = data.of("accounts", cid)
    daily = data.of("daily", cid)
    stats = data.of("statistics", cid) if data.statistics is not None else None
    tokens = int(accounts["input_tokens"].sum() + accounts["output_tokens"].sum()) \
        if accounts.height else 0
    active_days = daily.height
    pdf = EvidencePDF(title=f"Evidence report {cid}",
                      running_head=f"Evidence report · case {case_id} · cluster {cid} · "
                                   f"verdict {finding['verdict']}",
                      generated_at=ctx.generated_at, version=ctx.version, invalid=ctx.invalid)
    attachments: list[tuple[str, str, str]] = []

    def attach(name: str, frame: pl.DataFrame, table: str, what: str) -> str:
        attachments.append((attach_csv(pdf, name, frame, f"{what} (from {table})"), table, what))
        return name

    # cover ---------------------------------------------------------------------------
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
    pdf.add_page()
    pdf.insert_toc_placeholder(render_toc, pages=1)

    # summary -------------------------------------------------------------------------
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
    if finding.get("hashes_only"):
        pdf.note("The cluster's logs carried no prompt text: query-distribution statistics "
                 "were computed from prompt hashes and token counts only.")
    attach("findings.csv", pl.DataFrame([finding]), "cluster_findings",
           "the cluster's findings row")

    # linkage -------------------------------------------------------------------------
    _linkage_section(pdf, data, cid, attach)

    # behavioural families ------------------------------------------------------------
    _query_section(pdf, data, cid, stats, attach, ctx)
    _caching_section(pdf, data, cid, stats, attach)
    _traffic_section(pdf, data, cid, stats, attach)

    # appendices ----------------------------------------------------------------------
    _statistics_appendix(pdf, stats, attach)
    _accounts_appendix(pdf, accounts, attach)
    attach("daily.csv", daily, "account_day", "the cluster's requests, accounts and tokens "
           "per day")
    _provenance(pdf, data, ctx, attachments)
    return pdf_bytes(pdf)


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
    joined = finding.get("joined_case")
    if joined:
        text.append(f"**Joined case {joined}.** Linking left these accounts outside case "
                    f"{joined}, but their own behaviour holds "
                    f"{families_text(','.join(families))} and their shared evidence with "
                    f"that case's accounts passes the join rule (table case_join: tie "
                    "surprise against the threshold), so they are flagged as part of it.")
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
                f"(adjusted p {fmt_p(r['p_adjusted'])})" for r in rows[:4])
            text.append(f"**{FAMILY_TITLES[family]}.** {items}.")
    elif stats is None:
        text.append("The per-statistic evidence (table cluster_statistic) is not available "
                    "in this run.")
    return text


def _stat_columns(wide: bool = False) -> list[Column]:
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


def _family_statistics(pdf: EvidencePDF, stats: pl.DataFrame | None, family: str) -> None:
    if stats is None:
        pdf.note("Statistics not available in this run: forensics.duckdb has no table "
                 "cluster_statistic.")
        return
    rows = stats.filter(pl.col("family") == family)
    if not rows.height:
        pdf.note(f"No {FAMILY_TITLES[family].lower()} statistic was tested for this cluster "
                 "(cluster_statistic has no row of this family).")
        return
    pdf.data_table(_stat_columns(), table_rows(rows))
    pdf.source("cluster_statistic (family = " + family + "); baseline: clusters of similar "
               "size; p adj.: Benjamini-Hochberg across the clusters tested")


def _linkage_section(pdf: EvidencePDF, data: RunData, cid: str,
                     attach: Attach) -> None:
    pdf.h1("Account linkage")
    pdf.para("Why these accounts are treated as one operator. Each shared key is weighted by "
             "its rarity in the window (1 for a key two accounts share, 0 for one the whole "
             "population shares), so a public NAT, a popular VPN exit or an SDK's default "
             "prompt links nobody.")
    keys = data.of("keys", cid)
    links = data.of("links", cid)
    accounts = data.of("accounts", cid)
    if keys.height:
        summary = (keys.group_by("key_type")
                   .agg(pl.col("key_value").is_not_null().sum().alias("key_count"),
                        pl.col("cluster_account_count").max().alias("accounts_max"),
                        pl.col("weight").max().alias("weight_max"),
                        pl.col("weight").mean().alias("weight_mean"),
                        pl.col("pair_count").sum().alias("pair_count"))
                   .sort(["key_count", "key_type"], descending=[True, False]))
        pdf.h2("Linking keys by type")
        pdf.data_table([
            Column("key type", 36, lambda r: r["key_type"].replace("_", " ")),
            Column("shared keys", 22, "key_count", fmt_int, "RIGHT"),
            Column("most accounts on one key", 36, "accounts_max", fmt_int, "RIGHT"),
            Column("highest weight", 26, "weight_max", fmt_num, "RIGHT"),
            Column("mean weight", 24, "weight_mean", fmt_num, "RIGHT"),
            Column("account pairs", 24, lambda r: r["pair_count"] or None, fmt_int, "RIGHT"),
        ], table_rows(summary))
        pdf.source("cluster_key (grouped by key_type; pair types same_prompt and failover "
                   "count account pairs, not keys)")
        top = keys.filter(pl.col("key_value").is_not_null()).sort(
            ["weight", "cluster_account_count", "key_type", "key_value"],
            descending=[True, True, False, False], nulls_last=True).head(TOP_KEYS)
        if top.height:
            pdf.h2(f"Strongest shared keys (top {min(TOP_KEYS, top.height)} of "
                   f"{fmt_int(keys['key_value'].is_not_null().sum())})")
            pdf.data_table([
                Column("key type", 30, lambda r: r["key_type"].replace("_", " ")),
                Column("key value", 62, "key_value"),
                Column("accounts here", 22, "cluster_account_count", fmt_int, "RIGHT"),
                Column("in the window", 22, "window_account_count", fmt_int, "RIGHT"),
                Column("rarity weight", 22, "weight", fmt_num, "RIGHT"),
            ], table_rows(top), mono=(1,))
            pdf.source("cluster_key; every key is in the attached linking-keys.csv")
        attach("linking-keys.csv", keys, "cluster_key", "every linking key of the cluster")
    else:
        pdf.note("No linking key is recorded for this cluster (cluster_key has no row).")

    pdf.h2("The account graph", keep=CHART_KEEP)
    if links.height:
        degree = (pl.concat([links.select(pl.col("account_a").alias("account_id"), "weight"),
                             links.select(pl.col("account_b").alias("account_id"), "weight")])
                  .group_by("account_id").agg(pl.col("weight").sum().alias("strength"))
                  .sort(["strength", "account_id"], descending=[True, False]))
        shown = degree.head(GRAPH_MAX_ACCOUNTS)["account_id"].to_list()
        keep = set(shown)
        edges = [(r["account_a"], r["account_b"], r["weight"], _primary_family(r["families"]))
                 for r in links.iter_rows(named=True)
                 if r["account_a"] in keep and r["account_b"] in keep]
        nodes = sorted(keep)
        n_total = accounts.height
        partial = (f" It shows the {fmt_int(len(nodes))} most strongly linked of the "
                   f"{fmt_int(n_total)} accounts." if len(nodes) < n_total else "")
        svg = charts.account_graph(nodes, edges, title=f"Links between the cluster's "
                                   f"accounts ({fmt_int(links.height)} links)")
        pdf.chart(svg, "One dense, connected web means many independent ties between the "
                  "accounts; a chain or a star would rest on few keys." + partial,
                  "account_link (edges whose two accounts are in the cluster; colour: the "
                  "strongest family of the link)")
        attach("links.csv", links, "account_link", "every link between two of the "
               "cluster's accounts")
    else:
        pdf.note("No link between two of the cluster's accounts is recorded (account_link).")

    pdf.h2("Creation waves", keep=CHART_KEEP)
    created = accounts.filter(pl.col("created_at").is_not_null())
    if created.height:
        values = created["created_at"].to_list()
        span_days = (max(values) - min(values)).total_seconds() / 86400
        bins = int(min(60, max(10, span_days))) if span_days > 1 else 24
        svg = charts.histogram(values, bins=bins, title="When the cluster's accounts were "
                               "created", xlabel="account creation time (UTC)",
                               ylabel="accounts created", dates=True)
        first, last = min(values), max(values)
        pdf.chart(svg, "Tall narrow bars are accounts created in waves; an organic customer "
                  f"base spreads out. Created between {fmt_day(first)} and {fmt_day(last)} "
                  f"({fmt_int(created.height)} of {fmt_int(accounts.height)} accounts with a "
                  "known creation time).", "accounts.created_at of the cluster's accounts")
    else:
        pdf.note("Account creation times are not available in this run (the accounts table "
                 "has no created_at for these accounts).")


def _primary_family(families: str | None) -> str:
    present = set((families or "").split(","))
    for family in LINK_PRIORITY:
        if family in present:
            return family
    return "content"


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


def _behaviour_table(pdf: EvidencePDF, data: RunData, cid: str, names: Sequence[str]) -> None:
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


def _query_section(pdf: EvidencePDF, data: RunData, cid: str, stats: pl.DataFrame | None,
                   attach: Attach,
                   ctx: RunContext) -> None:
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
    _family_statistics(pdf, stats, "query_distribution")
    _behaviour_table(pdf, data, cid, ("max_tokens_saturated_share", "output_input_ratio",
                                      "output_tokens_per_ok_request",
                                      "distinct_prompts_per_request",
                                      "temperature_positive_share"))
    attach("behaviour.csv", pl.concat([data.of("behaviour", cid),
                                       data.population_behaviour.with_columns(
                                           cluster_id=pl.lit("population"))
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
                       "pipeline.redaction")


def _caching_section(pdf: EvidencePDF, data: RunData, cid: str, stats: pl.DataFrame | None,
                     attach: Attach) -> None:
    pdf.h1("Caching mismatch")
    pdf.para("What the prompt cache saw against what it would have seen had one account "
             "sent all of the cluster's requests. Prompts spread over many accounts miss a "
             "cache that one operator's traffic would have hit: excess cache writes, and "
             "cache reads far below what the cluster's own repetition predicts.")
    pdf.h2("Expected against observed cache hits")
    profile = data.optional.get("cluster_profile")
    if profile is None:
        pdf.note("The cache replay's counts are not available in this run: forensics.duckdb "
                 "has no table cluster_profile.")
    else:
        mine = profile.filter(pl.col("cluster_id") == cid).to_dicts()
        everyone = profile.filter(pl.col("cluster_id") == "population").to_dicts()
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
                [cid, "population"])), "cluster_profile", "the cache replay's counts")
        else:
            pdf.note("The cluster has no row in cluster_profile.")
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
    pdf.h2("Statistics")
    _family_statistics(pdf, stats, "caching_mismatch")
    _behaviour_table(pdf, data, cid, ("cache_read_share",))


def _traffic_section(pdf: EvidencePDF, data: RunData, cid: str, stats: pl.DataFrame | None,
                     attach: Attach) -> None:
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
    _family_statistics(pdf, stats, "traffic_shape")
    _behaviour_table(pdf, data, cid, ("rate_limited_share", "active_hours_per_account_day"))


CACHE_COUNTS = (
    ("cacheable_count", "cacheable (long enough to cache)"),
    ("predicted_hit_count", "predicted hits: the account's own earlier request within the TTL"),
    ("observed_read_count", "observed cache reads"),
    ("busted_count", "predicted hits that read nothing (cache busted)"),
    ("handoff_count", "prefix used by another account of the cluster within the TTL"),
    ("read_without_write_count", "reads of a prefix the account never wrote"),
)


def _ratio(part: Any, whole: Any) -> str:
    return fmt_share(part / whole) if part is not None and whole else MISSING


def _shares(frame: pl.DataFrame, key: str, value: str, keys: Iterable[int]) -> list[float]:
    counts = dict(zip(frame[key].to_list(), frame[value].to_list(), strict=True))
    total = sum(counts.values()) or 1
    return [round(100.0 * counts.get(k, 0) / total, 6) for k in keys]


def _statistics_appendix(pdf: EvidencePDF, stats: pl.DataFrame | None,
                         attach: Attach) -> None:
    pdf.h1("Appendix A: every statistic")
    if stats is None:
        pdf.note("Not available in this run: forensics.duckdb has no table cluster_statistic.")
        return
    pdf.para("Each statistic the scoring read, with the cluster's value, the baseline "
             "(median and quartiles of the statistic over the window's other accounts, or "
             "over the clusters nearest in size for what accounts do together, and how "
             "many), the effect size in the test's own scale, the test, its "
             "one-sided p-value and the p-value adjusted for the number of clusters tested "
             "(Benjamini-Hochberg). 'Strong' means both the adjusted p-value and the effect "
             "size pass the statistic's thresholds.", size=8.5)
    for family in FAMILIES:
        rows = stats.filter(pl.col("family") == family)
        if not rows.height:
            continue
        pdf.h2(FAMILY_TITLES[family])
        pdf.data_table(_stat_columns(wide=True), table_rows(rows), size=6.5)
    others = stats.filter(~pl.col("family").is_in(FAMILIES))
    if others.height:
        pdf.h2("Other statistics")
        pdf.data_table(_stat_columns(wide=True), table_rows(others), size=6.5)
    pdf.source("cluster_statistic; the source table of each statistic is in the attached "
               "statistics.csv (column source_table)")
    attach("statistics.csv", stats, "cluster_statistic", "every statistic of the cluster")


def _accounts_appendix(pdf: EvidencePDF, accounts: pl.DataFrame,
                       attach: Attach) -> None:
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


def _provenance(pdf: EvidencePDF, data: RunData, ctx: RunContext,
                attachments: list[tuple[str, str, str]] | None) -> None:
    pdf.h1("Provenance and verification")
    pdf.h2("Input files")
    if data.inputs.height:
        pdf.data_table([
            Column("file", 44, "source_file", wrap=True),
            Column("sha256", 98, "sha256"),
            Column("rows read", 18, "rows_read", fmt_int, "RIGHT"),
            Column("kept", 18, "rows_kept", fmt_int, "RIGHT"),
        ], table_rows(data.inputs), size=6.5, mono=(1,))
        quarantined = int(data.inputs["rows_quarantined"].sum())
        pdf.source("ingest_ledger (for each day of the window, the files of the latest ingest "
                   f"that covered it); {fmt_int(quarantined)} rows of these files quarantined")
    else:
        pdf.note("No input file is recorded (ingest_ledger is empty or absent).")
    pdf.h2("Validation")
    _validation(pdf, data, ctx)
    pdf.h2("Code version and SQL files")
    pdf.kv([("Code version", ctx.version)], key_width=36, size=8.5)
    pdf.data_table([Column("SQL file", 50, "file"), Column("sha256", 110, "sha256")],
                   [{"file": f, "sha256": h} for f, h in ctx.sql_hashes], size=6.5, mono=(1,))
    pdf.h2("Parameters")
    pdf.data_table([Column("parameter", 70, "key"), Column("value", 110, "value", wrap=True)],
                   [{"key": k, "value": v} for k, v in _flatten(ctx.params)], size=6.5)
    if attachments is not None:
        pdf.h2("Data sources")
        pdf.para("Every figure of this report is read from a table of forensics.duckdb. The "
                 "rows behind each section are attached to this PDF (open the attachments "
                 "panel of a PDF reader, or run `python -m pypdf` / `pdfdetach -list`).",
                 size=8.5)
        pdf.data_table([Column("attached file", 38, "name"),
                        Column("table in forensics.duckdb", 50, "table"),
                        Column("what it holds", 92, "what", wrap=True)],
                       [{"name": n, "table": t, "what": w} for n, t, w in attachments],
                       size=7)
        described = sorted({t.strip() for _n, t, _w in attachments for t in t.split(",")}
                           | {"cluster_key", "account_link", "account_hour", "ingest_ledger"})
        rows = []
        for name in described:
            table = TABLES.get(name)
            grain = table.grain if table else (OPTIONAL_TABLES.get(name, ("",))[0] or
                                               _CORE_GRAINS.get(name, ""))
            rows.append({"table": name, "grain": grain or MISSING})
        pdf.data_table([Column("table", 40, "table"),
                        Column("one row per", 140, "grain", wrap=True)], rows, size=7)
    pdf.h2("How to verify and re-derive")
    pdf.para(
        "1. Integrity: `forensics verify OUT` re-computes the sha256 of every file listed in "
        "OUT/manifest.json (this report included) and names any file that differs or is "
        "missing. A report whose hash matches the manifest is the one the pipeline wrote.\n"
        "2. Re-derivation: `forensics verify OUT --rederive` re-runs the window stages "
        "(linking, statistics, scoring) from the day partitions into a temporary copy and "
        "compares the findings (findings/*.parquet) row by row with the published ones.\n"
        "3. Re-run: `forensics run` with the parameters above on the input files above (same "
        "sha256) gives a byte-identical report.\n"
        "4. By hand: open OUT/forensics.duckdb read-only and query the tables named under "
        "each chart and table; the attached CSV files hold the same rows.", size=8.5)


_CORE_GRAINS = {
    "accounts": "account (the optional accounts table)",
    "cluster_key": "cluster and piece of linkage evidence (key, or pair type)",
    "account_link": "linked pair of accounts (an edge of the account graph)",
    "clusters": "account of the window, with its cluster",
    "ingest_ledger": "input file of an ingest run, with its sha256 and row counts",
    "quarantine": "rejected input row",
}


def _validation(pdf: EvidencePDF, data: RunData, ctx: RunContext) -> None:
    if ctx.invalid:
        pdf.para(f"**{INVALID_STAMP}.** The run's validation failed; every page of this "
                 "document carries that stamp.", colour=RED, markdown=True)
    if data.validation is None:
        pdf.note("Validation outcomes are not available in this run: forensics.duckdb has no "
                 "table validation_result." + ("" if ctx.invalid else
                                               " The caller did not mark the data invalid."))
        return
    failed = data.validation.filter(~pl.col("success"))
    pdf.para(f"{plural(data.validation.height, 'check')} ran, "
             f"{plural(failed.height, 'failed', 'failed')}.")
    if failed.height:
        pdf.data_table([Column("suite", 30, "suite"), Column("check", 50, "check_name"),
                        Column("table", 35, "table_name"),
                        Column("observed", 65, "observed", wrap=True)],
                       table_rows(failed), size=7)
    pdf.source("validation_result")


# ---------------------------------------------------------------------------------------
# The run's summary.


def build_summary(data: RunData, ctx: RunContext) -> bytes:
    """The PDF bytes of ``reports/summary.pdf``: the run at a glance."""
    end = f"{data.window_end:%Y-%m-%d}" if data.window_end else "no window"
    pdf = EvidencePDF(title=f"Run summary, window ending {end}",
                      running_head=f"Run summary · window {fmt_day(data.window_start)} to "
                                   f"{fmt_day(data.window_end)}",
                      generated_at=ctx.generated_at, version=ctx.version, invalid=ctx.invalid)
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
    findings = data.findings
    counts = {v: 0 for v in VERDICT_ORDER}
    if findings is not None:
        for row in findings.group_by("verdict").len().to_dicts():
            counts[row["verdict"]] = row["len"]
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
    pdf.add_page()
    pdf.insert_toc_placeholder(render_toc, pages=1)

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
    if findings is not None:
        rows += [(f"clusters {v}", fmt_int(counts[v])) for v in VERDICT_ORDER]
    pdf.data_table([Column("measure", 90, "k"), Column("value", 40, "v", str, "RIGHT")],
                   [{"k": k, "v": v} for k, v in rows])
    pdf.source("ingest_ledger (the window's input files), clusters, account_link, "
               "cluster_findings")
    pdf.h2("Quarantine")
    if data.quarantine.height:
        pdf.data_table([Column("reason", 90, "reason"),
                        Column("rows", 40, "row_count", fmt_int, "RIGHT")],
                       table_rows(data.quarantine))
    else:
        pdf.para("No row of the window's input files was quarantined.")
    pdf.source("quarantine (rows of the window's input files, by reason)")
    _changes_section(pdf, data, ctx)

    if findings is not None:
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
    _provenance(pdf, data, ctx, None)
    return pdf_bytes(pdf)


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


# ---------------------------------------------------------------------------------------
# The entry point.


def write_reports(db: duckdb.DuckDBPyConnection, folder: Path, *, generated_at: datetime,
                  params: dict[str, Any], excerpts: int = 0, invalid: bool = False,
                  previous: str | None = None) -> list[Path]:
    """Write ``<cluster_id>.pdf`` for every flagged cluster and ``summary.pdf`` into
    ``folder`` (a publication's ``reports``, which is new: nothing in it is replaced).
    Returns the paths written, the summary last.

    The reports describe the window and the inputs behind its partitions, never the run's
    id or the clock. ``generated_at`` is the creation date of every PDF and must come from
    the run's parameters; ``previous`` names the publication the summary's changes are
    measured against (``verdict_change``).
    """
    from pipeline.manifest import code_version, sql_hashes

    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    ctx = RunContext(generated_at=generated_at.astimezone(UTC), params=params,
                     version=code_version(), sql_hashes=tuple(sql_hashes().items()),
                     invalid=invalid, excerpts=max(0, int(excerpts)), previous=previous)
    data = read_run(db, excerpts=ctx.excerpts)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    flagged = (data.findings.filter(pl.col("verdict") == "flagged").to_dicts()
               if data.findings is not None else [])
    for finding in flagged:
        target = folder / f"{finding['cluster_id']}.pdf"
        write_bytes_atomic(target, build_cluster_report(data, finding, ctx))
        written.append(target)
    summary = folder / SUMMARY_NAME
    write_bytes_atomic(summary, build_summary(data, ctx))
    written.append(summary)
    return written
