"""The provenance section, last in every report: how to verify and re-derive it.

In: the run's inputs, validation outcomes and context, and the report's attachments. Out:
the tables of inputs, checks, SQL files, parameters and data sources, and the steps.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from pipeline.publish.reports.data import OPTIONAL_TABLES, RunContext, RunData
from pipeline.publish.reports.document import INVALID_STAMP, RED, Column, EvidencePDF, table_rows
from pipeline.publish.reports.format import MISSING, fmt_int, plural
from pipeline.registry import TABLES


def provenance_section(pdf: EvidencePDF, data: RunData, ctx: RunContext,
                       attachments: list[tuple[str, str, str]] | None) -> None:
    """Where every figure came from and how to check it: the inputs, the validation, the
    code and parameters, and (for a cluster's report) the attached rows and their tables.
    The summary passes no attachments and gets no data sources."""
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
            grain = table.grain if table else (OPTIONAL_TABLES.get(name) or
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
