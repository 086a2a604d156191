"""What the terminal shows: progress, a user's mistake as one red line, and answers as
tables.

In: the stages' progress callbacks, exceptions, ``investigation.Answer``s. Out: rich output
on standard error (progress, errors) and standard output (answers, JSON), and the exit
code of a mistake. Kept apart from the commands so that each command reads as what it
does; light to import, like the CLI.
"""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.errors import ForensicsError

if TYPE_CHECKING:
    from pipeline.ingest.ingest import Progress as ProgressCallback
    from pipeline.run.investigation import Answer

console = Console(stderr=True)
out_console = Console()


@contextmanager
def progress_bar() -> Iterator[ProgressCallback]:
    """A rich progress bar driven by the stages' ``(step, done, total)`` callbacks."""
    with Progress(TextColumn("{task.description:<40}"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def report(step: str, done: int, total: int) -> None:
            stage = step.split(" ", 1)[0]
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], description=step[:40], completed=done,
                       total=max(total, 1))

        yield report


DISK_FULL_EXIT = 9


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a user's mistake, or a full disk, into one red line and its exit code."""
    try:
        yield
    except ForensicsError as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(err.exit_code) from None
    except Exception as err:
        denied = _caused_by(err, PermissionError)
        if denied is not None:
            console.print(f"[bold red]error:[/] permission denied: {denied.filename}; the run "
                          "stopped, and files are replaced only whole, so what it had not "
                          "rewritten is as the last run left it", highlight=False,
                          soft_wrap=True)
            raise typer.Exit(ForensicsError.exit_code) from None
        where = _disk_full(err)
        if where is None:
            raise
        console.print(f"[bold red]error:[/] out of disk space{where}; the run stopped, and "
                      "files are replaced only whole, so what it had not rewritten is as "
                      "the last run left it", highlight=False, soft_wrap=True)
        raise typer.Exit(DISK_FULL_EXIT) from None


def _causes(err: BaseException | None) -> Iterator[BaseException]:
    """``err`` and the exceptions that caused it, outermost first."""
    while err is not None:
        yield err
        err = err.__cause__ or err.__context__


def _caused_by(err: BaseException | None, kind: type[OSError]) -> OSError | None:
    """``err``, or the exception that caused it, when it is a ``kind``; else None."""
    return next((e for e in _causes(err) if isinstance(e, kind)), None)


def _disk_full(err: BaseException | None) -> str | None:
    """`` (writing PATH)`` or ``""`` when ``err`` or what caused it is a full disk (an
    ``OSError`` ENOSPC or EDQUOT, or DuckDB's I/O error saying so); None otherwise."""
    for cause in _causes(err):
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return f" (writing {cause.filename})" if cause.filename else ""
        if "No space left on device" in str(cause):
            return ""
    return None


TEXT_WIDTH = 24
"""Text columns are cut to this in a table (hashes, key values); --json has them whole."""
TEXT_MIN = 10


def cell(value: object) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {cell(v)}" for k, v in value.items())
    return str(value)


def print_answer(answer: Answer, as_json: bool, title: str) -> None:
    """JSON on stdout for scripts, or the record and each table as rich tables."""
    if as_json:
        sys.stdout.write(json.dumps(answer.as_json(), indent=2, allow_nan=False) + "\n")
        return
    head = Table(title=title, show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    for name, value in answer.record.items():
        head.add_row(name, cell(value))
    out_console.print(head)
    for name, rows in answer.tables.items():
        if not rows:
            out_console.print(f"[bold]{name}[/]: none")
            continue
        cells = [[cell(v) for v in row.values()] for row in rows]
        table = Table(title=name, title_justify="left")
        for i, (column, value) in enumerate(rows[0].items()):
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            widest = max(len(row[i]) for row in cells)
            table.add_column(column.replace("_", " "), justify="right" if numeric else "left",
                             overflow="ellipsis", max_width=None if numeric else TEXT_WIDTH,
                             min_width=widest if numeric else min(widest, TEXT_MIN))
        for row in cells:
            table.add_row(*row)
        out_console.print(table)
