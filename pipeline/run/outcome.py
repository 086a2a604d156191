"""What ``run``, ``demo`` and ``ingest`` tell their caller when they end: a summary for the
person at the terminal, or one JSON object for a scheduler.

In: the ``RunResult`` or ``IngestResult`` of the command, its output folder and the seconds
it took; or, for a run that stopped, its exit code and message. Out: on standard output,
either the ingest's table and a summary that ends with what a morning starts from (the
verdicts, the flagged case ids, where ``summary.pdf`` is, the validation outcome, the
elapsed time), the file listing only with ``--verbose``; or one JSON object whose keys
are the same for every command and outcome (``RECORD_KEYS``; null where a command has no
such part), so a scheduler reads one shape. Light to import like the CLI: the stages'
modules are loaded by the time anything here runs.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from pipeline.registry import VERDICTS
from pipeline.run.terminal import console, out_console

if TYPE_CHECKING:
    from pipeline.ingest.ingest import IngestResult
    from pipeline.run.runner import RunResult, WindowResult
    from pipeline.validation.outcomes import ValidationOutcome

RECORD_KEYS = ("command", "status", "exit_code", "error", "run_id", "out", "start", "end",
               "elapsed_seconds", "ingest", "linking", "verdicts", "flagged", "summary_pdf",
               "publication", "validation")
"""The keys of the JSON object, in order, whatever the command and however it ended."""

FLAGGED_SHOWN = 12
"""Flagged case ids the terminal names; the JSON and the summary PDF have all of them."""


def elapsed_text(seconds: float) -> str:
    """``4.2 s``, ``3 min 07 s``, ``1 h 02 min``: as long as the run, as short as it reads."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def print_ingest(result: IngestResult, out: Path) -> None:
    """The ingest's account of every row: where it went, and why when it was kept out."""
    from pipeline.ingest.adapters import ADAPTERS  # light to import: see the docstring
    from pipeline.ingest.coverage import coverage_hint  # light to import: see the docstring

    table = Table(title=f"ingest {result.run_id}", show_header=True)
    table.add_column("rows")
    table.add_column("count", justify="right")
    table.add_row("read", f"{result.rows_read:,}")
    table.add_row("kept", f"{result.rows_kept:,}")
    table.add_row("quarantined", f"{result.rows_quarantined:,}")
    for reason, n in result.by_reason.items():
        table.add_row(f"  {reason}", f"{n:,}")
    table.add_row("outside the range", f"{result.rows_out_of_range:,}")
    out_console.print(table)
    out_console.print(f"{len(result.files)} files, {len(result.partitions)} day partitions "
                      f"under {out / 'requests'}", highlight=False, soft_wrap=True)
    if result.rows_kept == 0:
        out_console.print(f"[yellow]the range kept no rows:[/] "
                          f"{coverage_hint(result.covered)}", highlight=False)
    for entry in result.skipped_files:
        console.print(f"[yellow]skipped[/] {entry}", highlight=False)
    for log_format in sorted({f.log_format for f in result.files} & set(ADAPTERS)):
        for evidence, why in ADAPTERS[log_format].evidence_off:
            console.print(f"[yellow]{log_format} logs limit[/] {evidence}: {why}",
                          highlight=False)


def print_run(result: RunResult, out: Path, seconds: float, *, verbose: bool) -> None:
    """A run's account: the ingest's rows, the clusters, the files with ``verbose``, then
    the lines a reader looks for last."""
    print_ingest(result.ingest, out)
    window = result.window
    linked = window.linking
    out_console.print(
        f"{linked.account_count:,} accounts seen {linked.window_start} to "
        f"{linked.window_end}: {linked.edge_count:,} links, {linked.cluster_count:,} clusters, "
        f"{linked.linked_cluster_count:,} of them with more than one account (largest "
        f"{linked.largest_cluster:,})", highlight=False)
    published = window.published
    if published is not None and published.previous is not None:
        out_console.print(f"{published.changes:,} verdict changes since publication "
                          f"{published.previous} (the summary's Changes section)")
    if verbose:
        print_outputs(out)
    flagged = list(window.flagged[:FLAGGED_SHOWN])
    if len(window.flagged) > FLAGGED_SHOWN:
        flagged.append(f"and {len(window.flagged) - FLAGGED_SHOWN:,} more (in the summary)")
    lines = [
        ("verdicts", ", ".join(f"{window.verdicts.get(v, 0):,} {v}" for v in VERDICTS)),
        ("flagged", ", ".join(flagged) or "none"),
        ("summary", escape(str(summary_pdf(window, out) or "not written"))),
        ("validation", validation_text(result.ingest.validation, window.validation)),
        ("elapsed", elapsed_text(seconds)),
    ]
    print_lines(lines)


def print_ingest_end(result: IngestResult, seconds: float) -> None:
    """The end of ``forensics ingest``: the raw gate's outcome and the time it took."""
    print_lines([("validation", validation_text(result.validation, None)),
                 ("elapsed", elapsed_text(seconds))])


def print_lines(lines: list[tuple[str, str]]) -> None:
    """Label and value lines, the labels in bold and aligned. Never wrapped by the console
    (a log file is 80 columns to it): a path or a case id is copied whole from one line."""
    width = max(len(label) for label, _ in lines) + 2
    for label, value in lines:
        out_console.print(f"[bold]{label:<{width}}[/]{value}", highlight=False,
                          soft_wrap=True)


def summary_pdf(window: WindowResult, out: Path) -> Path | None:
    """Where the run's summary.pdf is: the contract's path when the publication became
    the latest, its dated folder's when it did not (data that failed validation)."""
    from pipeline.publish.publication import (
        REPORTS_DIR,  # light to import: see the module's docstring
    )
    from pipeline.publish.reports.write import (
        SUMMARY_NAME,  # light to import: see the module's docstring
    )

    published = window.published
    if published is None:
        return None
    valid = window.validation is None or window.validation.success
    return (out if valid else published.folder) / REPORTS_DIR / SUMMARY_NAME


def validation_text(raw: ValidationOutcome | None, window: ValidationOutcome | None) -> str:
    """Each gate that ran, passed or failed, with its expectation counts."""
    parts = []
    for outcome in (raw, window):
        if outcome is None:
            continue
        n = len(outcome.results)
        if outcome.success:
            parts.append(f"{outcome.gate} passed ({n:,} expectations)")
        else:
            where = f"; results in {escape(str(outcome.docs))}" if outcome.docs else ""
            parts.append(f"[bold red]{outcome.gate} FAILED[/] ({len(outcome.failures):,} of "
                         f"{n:,} expectations; published stamped invalid{where})")
    return ", ".join(parts) or "not run"


def print_outputs(out: Path) -> None:
    """The files under ``out``, of the publications only the one the manifest names (the
    others are earlier runs', unchanged)."""
    from pipeline.publish.manifest import (  # light to import: see the module's docstring
        MANIFEST_NAME,
        read_manifest,
    )
    from pipeline.publish.publication import (
        PUBLICATIONS_DIR,  # light to import: see the module's docstring
    )

    ours = (read_manifest(out).get("publication") if (out / MANIFEST_NAME).is_file()
            else None)
    out_console.print(f"[bold]wrote[/] under {out}:", highlight=False, soft_wrap=True)
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if path.is_symlink() or not path.is_file() or path.name.startswith(".") or (
                "validation" in rel.parts and path.name != "index.html") or (
                rel.parts[0] == PUBLICATIONS_DIR and rel.parts[1] != ours):
            continue
        out_console.print(f"  {rel}  ({path.stat().st_size:,} bytes)", highlight=False,
                          soft_wrap=True)
    if ours:
        out_console.print(f"published: {out / PUBLICATIONS_DIR / ours} (findings/ and "
                          f"reports/ lead to {PUBLICATIONS_DIR}/latest)", highlight=False,
                          soft_wrap=True)


# --- the JSON object ---------------------------------------------------------------------


def write_record(record: dict[str, Any]) -> None:
    """The one JSON object on standard output, its keys in ``RECORD_KEYS`` order."""
    ordered = {key: record.get(key) for key in RECORD_KEYS}
    sys.stdout.write(json.dumps(ordered, indent=2, allow_nan=False, default=str) + "\n")
    sys.stdout.flush()


def base_record(command: str, out: Path | str, start: str | None, end: str | None,
                seconds: float) -> dict[str, Any]:
    """What every record says, however the command ended."""
    return {"command": command, "out": str(out), "start": start, "end": end,
            "elapsed_seconds": round(seconds, 3)}


def failed_record(base: dict[str, Any], exit_code: int, message: str) -> dict[str, Any]:
    """A command that stopped: its exit code and its one-line error; nothing else holds."""
    return {**base, "status": "failed", "exit_code": exit_code, "error": message}


def ingest_record(base: dict[str, Any], result: IngestResult) -> dict[str, Any]:
    """``forensics ingest --json``."""
    return {**base, "status": "succeeded", "exit_code": 0, "run_id": result.run_id,
            "ingest": _ingest_part(result),
            "validation": _validation_part(result.validation, None)}


def run_record(base: dict[str, Any], result: RunResult, out: Path) -> dict[str, Any]:
    """``forensics run --json`` and ``forensics demo --json``."""
    window = result.window
    linked = window.linking
    published = window.published
    pdf = summary_pdf(window, out)
    return {
        **base, "status": "succeeded", "exit_code": 0, "run_id": result.run_id,
        "ingest": _ingest_part(result.ingest),
        "linking": {"window_start": _day(linked.window_start),
                    "window_end": _day(linked.window_end),
                    "accounts": linked.account_count, "links": linked.edge_count,
                    "clusters": linked.cluster_count,
                    "linked_clusters": linked.linked_cluster_count,
                    "largest_cluster": linked.largest_cluster},
        "verdicts": {v: window.verdicts.get(v, 0) for v in VERDICTS},
        "flagged": list(window.flagged),
        "summary_pdf": str(pdf) if pdf else None,
        "publication": None if published is None else {
            "folder": str(published.folder), "previous": published.previous,
            "changes": published.changes, "reused": published.reused},
        "validation": _validation_part(result.ingest.validation, window.validation),
    }


def _ingest_part(result: IngestResult) -> dict[str, Any]:
    covered = result.covered
    return {"files": len(result.files), "days": [_day(d) for d in result.days],
            "rows_read": result.rows_read, "rows_kept": result.rows_kept,
            "rows_quarantined": result.rows_quarantined,
            "rows_out_of_range": result.rows_out_of_range,
            "quarantined_by_reason": dict(result.by_reason),
            "skipped_files": list(result.skipped_files),
            "logs_cover": None if covered is None else [_day(covered[0]), _day(covered[1])]}


def _validation_part(raw: ValidationOutcome | None,
                     window: ValidationOutcome | None) -> dict[str, Any]:
    def gate(outcome: ValidationOutcome | None) -> dict[str, Any] | None:
        if outcome is None:
            return None
        return {"passed": outcome.success, "expectations": len(outcome.results),
                "failed": len(outcome.failures),
                "results": str(outcome.docs) if outcome.docs else None}

    gates = [g for g in (raw, window) if g is not None]
    return {"passed": all(g.success for g in gates), "raw": gate(raw), "window": gate(window)}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
