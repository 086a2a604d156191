"""The validation pages: every gate's results as static HTML, and one landing page.

In: a finished gate (its run id, name and ``ExpectationOutcome`` rows, as
``pipeline.validation.gx`` gives them) and the ``validation/`` folder of an output folder.
Out, under ``<out>/validation/``:

- ``<run>/<gate>/index.html``: one row per expectation and batch (suite, batch,
  expectation, column, passed or failed, observed value, unexpected count, failing
  values), failures first;
- ``<run>/<gate>/outcome.json``: the same rows as data, which the landing page and the
  Airflow task logs read (``gate_summary``);
- ``index.html``: the landing page, one row per run and gate (newest run first, in the
  order ``prune_validation`` keeps them), each linking to its gate's page.

Why the project's own HTML rather than Great Expectations' Data Docs: the Data Docs load
16 scripts, style sheets and icon fonts from CDNs, so on the offline machines this
pipeline runs on they open as an empty, unstyled page, and shipping copies of those assets
would mean patching GX's templates at every GX upgrade. These pages are plain HTML with
one inline style sheet: no script, no external reference, readable in any browser, by
``--dump-dom`` and by ``grep``. They hold no clock: a gate's page depends only on its
run id and results. Folder names come from ``safe_name`` (letters, digits, ``.``, ``_``
and ``-``), so no colon or space from an Airflow run id reaches a path.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.warehouse import write_bytes_atomic

PAGE_NAME = "index.html"
OUTCOME_NAME = "outcome.json"

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.3em; } table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left;
         vertical-align: top; }
th { background: #eee; } td.num { text-align: right; }
tr.failed td.status { background: #f8d7da; color: #842029; font-weight: bold; }
tr.passed td.status { background: #d1e7dd; color: #0f5132; }
code { font-size: 0.9em; overflow-wrap: anywhere; }
"""


def safe_name(text: str) -> str:
    """A run id or batch label as a file or folder name: no colon, space or slash."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def write_gate_page(root: Path, run_id: str, gate: str,
                    results: Sequence[Mapping[str, Any]]) -> Path:
    """Write the gate's page and data under ``root`` (``<out>/validation/<run>/<gate>``),
    then the landing page above it; the gate's page is returned. ``results`` are the
    gate's ``ExpectationOutcome`` records as mappings (``dataclasses.asdict``), so this
    module needs nothing from the gates that call it."""
    rows = [_row(r) for r in sorted(results, key=lambda r: (
        r["success"], r["suite"], r["batch"], r["expectation"], r["column"] or ""))]
    failed = sum(not r["success"] for r in rows)
    document = {"run_id": run_id, "gate": gate, "success": failed == 0,
                "expectations": len(rows), "failed": failed, "rows": rows}
    _write(root / OUTCOME_NAME, json.dumps(document, indent=1, sort_keys=True) + "\n")
    body = _table(("suite", "batch", "expectation", "column", "result", "observed",
                   "unexpected", "failing values"),
                  [_result_cells(r) for r in rows], [_status(r["success"]) for r in rows])
    title = f"{gate} validation of run {run_id}"
    verdict = "passed" if failed == 0 else f"failed: {failed} of {len(rows)} expectations"
    page = root / PAGE_NAME
    _write(page, _page(title, f"<p>{_e(verdict)}. <a href=\"../../{PAGE_NAME}\">All runs "
                              f"and gates</a></p>{body}"))
    write_landing(root.parent.parent)
    return page


def write_landing(validation: Path) -> Path | None:
    """The landing page over every gate page under ``validation`` (rewritten when a gate
    ends and when old runs are pruned); None when there is none."""
    runs = sorted((p for p in validation.iterdir() if p.is_dir()),
                  key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True) \
        if validation.is_dir() else []
    gates = [(run, json.loads(o.read_text(encoding="utf-8")))
             for run in runs for o in sorted(run.glob(f"*/{OUTCOME_NAME}"))]
    if not gates:
        return None
    cells = [[("text", _e(g["run_id"])),
              ("text", f"<a href=\"{run.name}/{g['gate']}/{PAGE_NAME}\">{_e(g['gate'])}</a>"),
              ("status", _status(g["success"])), ("num", f"{g['expectations']:,}"),
              ("num", f"{g['failed']:,}")] for run, g in gates]
    body = _table(("run", "gate", "result", "expectations", "failed"), cells,
                  [_status(g["success"]) for _, g in gates])
    page = validation / PAGE_NAME
    _write(page, _page("Validation results", body))
    return page


def gate_summary(validation: Path, run_id: str, gate: str) -> dict[str, Any] | None:
    """What a finished gate's page says (success, counts, rows) and where the page is;
    None when the gate did not write one."""
    folder = validation / safe_name(run_id) / gate
    if not (folder / OUTCOME_NAME).is_file():
        return None
    document = json.loads((folder / OUTCOME_NAME).read_text(encoding="utf-8"))
    return {**document, "page": str(folder / PAGE_NAME)}


def _row(result: Mapping[str, Any]) -> dict[str, Any]:
    """What the page and ``outcome.json`` keep of a result (not GX's raw details)."""
    shown = ("suite", "batch", "expectation", "column", "success", "observed_value",
             "unexpected_count")
    return {**{k: result[k] for k in shown}, "failing_values": list(result["failing_values"])}


def _result_cells(row: dict[str, Any]) -> list[tuple[str, str]]:
    unexpected = row["unexpected_count"]
    return [("text", _e(row["suite"])), ("text", _e(row["batch"])),
            ("text", f"<code>{_e(row['expectation'])}</code>"),
            ("text", _e(row["column"] or "")), ("status", _status(row["success"])),
            ("text", f"<code>{_e(row['observed_value'] or '')}</code>"),
            ("num", "" if unexpected is None else f"{unexpected:,}"),
            ("text", "<br>".join(_e(v) for v in row["failing_values"]))]


def _status(success: bool) -> str:
    return "passed" if success else "failed"


def _table(headers: Sequence[str], rows: Sequence[Sequence[tuple[str, str]]],
           classes: Sequence[str]) -> str:
    """A table whose rows carry the class ``result`` and their status (what the tests and
    a reader's eye look for); each cell is its class and its HTML, escaped by the caller."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "\n".join(
        f"<tr class=\"result {cls}\">"
        + "".join(f"<td class=\"{kind}\">{cell}</td>" for kind, cell in cells) + "</tr>"
        for cells, cls in zip(rows, classes, strict=True))
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{_e(title)}</h1>\n{body}\n</body>\n</html>\n")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, text.encode("utf-8"))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
