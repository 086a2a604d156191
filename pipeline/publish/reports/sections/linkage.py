"""The account linkage section: why the cluster's accounts are treated as one operator.

In: the cluster's linking keys, links and accounts. Out: the keys by type, the strongest
keys, the account graph and the creation waves, with the keys and links attached.
"""

from __future__ import annotations

import polars as pl

from pipeline.publish import charts
from pipeline.publish.reports.data import RunData
from pipeline.publish.reports.document import CHART_KEEP, Attach, Column, EvidencePDF, table_rows
from pipeline.publish.reports.format import fmt_day, fmt_int, fmt_num
from pipeline.publish.reports.sections.evidence import TOP_KEYS

LINK_PRIORITY = ("registry", "timing", "infrastructure", "content")
GRAPH_MAX_ACCOUNTS = 300
"""The account graph draws at most this many accounts (the most connected); the caption
says so when the cluster is larger. The attached links.csv has every edge."""


def linkage_section(pdf: EvidencePDF, data: RunData, cid: str, attach: Attach) -> None:
    """Whom the verdict covers: linkage is not itself evidence of distillation, so this
    section only shows how strongly the accounts are tied."""
    pdf.h1("Account linkage")
    pdf.para("Why these accounts are treated as one operator. Two accounts are linked by "
             "what they share measured against chance in this window: for each kind of key "
             "(card, mail domain, network prefix, prompt, synchronized start and the rest), "
             "how many distinct keys the pair shares against how many two unrelated "
             "accounts of the window would share, given how many accounts hold each key and "
             "how active the two are (account_link_evidence). A public NAT, a popular VPN "
             "exit or an SDK's default prompt is held by many unrelated accounts, so "
             "sharing it is expected and weighs almost nothing. Shared keys are listed "
             "by rarity weight, log10((window accounts - 1) / (key holders - 1)) "
             "(link_key.weight: 0 for a key every account holds, about 4 for one "
             "two accounts of 10,000 share); it orders them for the reader and is not "
             "summed into the evidence.")
    keys = data.of("keys", cid)
    links = data.of("links", cid)
    accounts = data.of("accounts", cid)
    _keys(pdf, keys, attach)
    _graph(pdf, links, accounts.height, attach)
    _creation_waves(pdf, accounts)


def _keys(pdf: EvidencePDF, keys: pl.DataFrame, attach: Attach) -> None:
    """The shared keys by type, then the rarest ones: what ties the accounts."""
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


def _graph(pdf: EvidencePDF, links: pl.DataFrame, n_total: int, attach: Attach) -> None:
    """The links as a graph: many independent ties read differently from a chain."""
    pdf.h2("The account graph", keep=CHART_KEEP)
    if links.height:
        degree = (pl.concat([links.select(pl.col("account_a").alias("account_id"), "weight"),
                             links.select(pl.col("account_b").alias("account_id"), "weight")])
                  .group_by("account_id").agg(pl.col("weight").sum().alias("strength"))
                  .sort(["strength", "account_id"], descending=[True, False]))
        shown = degree.head(GRAPH_MAX_ACCOUNTS)["account_id"]
        drawn = links.filter(pl.col("account_a").is_in(shown.implode()),
                             pl.col("account_b").is_in(shown.implode()))
        edges = [(a, b, weight, _primary_family(families)) for a, b, weight, families
                 in drawn.select("account_a", "account_b", "weight", "families").iter_rows()]
        nodes = sorted(shown.to_list())
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


def _creation_waves(pdf: EvidencePDF, accounts: pl.DataFrame) -> None:
    """When the accounts were created: accounts made in waves are made by one hand."""
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
