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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.errors import ForensicsError
from pipeline.progress import Progress as ProgressCallback
from pipeline.progress import stage_of

if TYPE_CHECKING:
    from pipeline.run.investigation import Answer

console = Console(stderr=True)
out_console = Console()


STAGE_WIDTH = 26
"""The stage column: as wide as the longest stage name, so every row's bar starts alike."""
DETAIL_WIDTH = 34
"""What a stage is doing, cut to this: a longer text would squeeze every row's bar."""


@contextmanager
def progress_bar() -> Iterator[ProgressCallback]:
    """Rich progress bars driven by the stages' ``(step, done, total)`` calls: one row per
    stage (``progress.stage_of``), its bar and percentage, the time it has taken, and what
    it is doing now. A stage reports each part as it starts, so its bar moves during the
    step; the elapsed time ticks even inside one long part."""
    with Progress(TextColumn(f"{{task.description:<{STAGE_WIDTH}}}"), BarColumn(bar_width=24),
                  TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  TextColumn("[dim]{task.fields[detail]}", markup=True),
                  console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def report(step: str, done: int, total: int) -> None:
            stage = stage_of(step)
            detail = step[len(stage) + 2:]
            if len(detail) > DETAIL_WIDTH:
                detail = detail[:DETAIL_WIDTH - 1] + "…"
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage[:STAGE_WIDTH], total=max(total, 1),
                                            detail="")
            task = tasks[stage]
            bar.update(task, completed=done, total=max(total, 1), detail=escape(detail))
            if done >= total:
                bar.stop_task(task)

        yield report


DISK_FULL_EXIT = 9


@contextmanager
def user_errors(on_failure: Callable[[int, str], None] | None = None) -> Iterator[None]:
    """Turn a user's mistake, or a full disk, into one red line and its exit code; tell
    ``on_failure`` the code and the line too (``--json`` prints them for a scheduler)."""
    try:
        yield
    except ForensicsError as err:
        _fail(err.exit_code, str(err), on_failure)
    except Exception as err:
        denied = _caused_by(err, PermissionError)
        if denied is not None:
            _fail(ForensicsError.exit_code, f"permission denied: {denied.filename}; {STOPPED}",
                  on_failure)
        where = _disk_full(err)
        if where is None:
            raise
        _fail(DISK_FULL_EXIT, f"out of disk space{where}; {STOPPED}", on_failure)


STOPPED = ("the run stopped, and files are replaced only whole, so what it had not rewritten "
           "is as the last run left it")


def _fail(code: int, message: str, on_failure: Callable[[int, str], None] | None) -> NoReturn:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if on_failure is not None:
        on_failure(code, message)
    raise typer.Exit(code) from None


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
    out_console.print(_record(title, answer.record))
    for name, rows in answer.tables.items():
        if not rows:
            out_console.print(f"[bold]{name}[/]: none")
            continue
        if len(rows) > 1 and _fits(table := _rows_table(name, rows)):
            out_console.print(table)
            continue
        for i, row in enumerate(rows, 1):
            out_console.print(_record(name if len(rows) == 1 else f"{name} {i} of {len(rows)}",
                                      row))


def _rows_table(name: str, rows: list[dict[str, object]]) -> Table:
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
    return table


def _fits(table: Table) -> bool:
    """Whether the table's narrowest layout fits the terminal: rich crops a wider one at
    the right edge, and the columns past it (a rule's source table, a piece's case) would
    be lost without a sign."""
    lines = out_console.render_lines(table, out_console.options, pad=False)
    bottom = "".join(segment.text for segment in lines[-1]).rstrip()
    return table.box is not None and bottom.endswith(table.box.bottom_right)


def _record(title: str, record: dict[str, object]) -> Table:
    """One row as name and value lines: a wide row (a join test's ten numbers) stays
    readable in an 80-column terminal, where its columns would be cut to ellipses."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in record.items():
        table.add_row(name, cell(value))
    return table
