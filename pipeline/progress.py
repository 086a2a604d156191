"""How a long step says how far it is: the stages call a ``Progress``, the terminal draws it.

In: a stage's name, what it is doing now and how much of it is done. Out: calls of the
caller's ``Progress(step, done, total)``, where ``step`` reads ``"stage: detail"``. The
terminal keeps one row per stage (the text before the colon) and shows the detail on it,
so a stage's bar advances through its parts while it runs and never takes the row of
another stage; a DAG task or a test passes nothing and nothing is drawn. Standard library
only: the CLI imports it to print its help.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
"""``(step, done, total)``: ``step`` is ``"stage: detail"``, ``done`` of ``total`` parts."""


def ignore(_step: str, _done: int, _total: int) -> None:
    """The progress of a caller that draws none (a DAG task, a test, ``verify``)."""


def stage_of(step: str) -> str:
    """The stage a step belongs to: the row it advances."""
    return step.split(": ", 1)[0]


class Steps:
    """A stage made of parts known in advance (the SQL tables it builds, the reports it
    writes): each ``next`` says which part is running and moves the bar past the ones
    done, so a stage of one long call per part moves while it runs, not only at its end."""

    def __init__(self, progress: Progress | None, stage: str, total: int) -> None:
        self.progress = progress or ignore
        self.stage = stage
        self.total = max(total, 1)
        self.done = 0

    def next(self, detail: str) -> None:
        """Part ``detail`` starts; the ones before it are done."""
        self.progress(f"{self.stage}: {detail}", min(self.done, self.total), self.total)
        self.done += 1

    def end(self, detail: str = "done") -> None:
        """Every part is done."""
        self.done = self.total
        self.progress(f"{self.stage}: {detail}", self.total, self.total)
