"""The regression guard of ``make bench``: each measured ratio against its target.

In: the checks the sections measured (a name, a value, the bound it must stay within).
Out: one line per check for the report and the terminal, a summary table, and the exit
status: non-zero when any check falls short, so that a change that makes the pipeline
slower or bigger is seen before it lands rather than in the next night's run. Every
value is a ratio to a reference measured in the same command (or a figure that already
is one, such as a peak RSS on this machine), so a busy machine slows both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Check:
    """One measured figure and the bound it must stay within (``at_least`` or
    ``at_most`` ``target``), shown with ``unit`` (``x``, ``GB``, ``s``, ``h``)."""

    name: str
    value: float
    bound: Literal["at_least", "at_most"]
    target: float
    unit: str = ""

    @property
    def met(self) -> bool:
        """Whether the value is within its target (the bound itself counts as met)."""
        if self.bound == "at_least":
            return self.value >= self.target
        return self.value <= self.target

    @property
    def target_text(self) -> str:
        """The target as the report writes it: ``≥ 0.70`` or ``≤ 4.00 GB``."""
        sign = "≥" if self.bound == "at_least" else "≤"
        return f"{sign} {self.target:,.2f}{self.unit}"

    def line(self) -> str:
        """The check as a report line: value, target, verdict."""
        verdict = "met" if self.met else "**NOT MET**"
        return (f"- {self.name}: **{self.value:,.2f}{self.unit}** "
                f"(target {self.target_text}): {verdict}")


def summary(checks: list[Check]) -> list[str]:
    """Every check of the run as a table, and how many fell short."""
    if not checks:
        return ["The sections run have no targets."]
    rows = ["| measure | value | target | verdict |", "| --- | ---: | ---: | --- |"]
    for c in checks:
        rows.append(f"| {c.name} | {c.value:,.2f}{c.unit} | {c.target_text} | "
                    f"{'met' if c.met else 'NOT MET'} |")
    short = sum(not c.met for c in checks)
    return [*rows, "", f"{len(checks) - short} of {len(checks)} targets met"
            + (f"; {short} fell short." if short else ".")]


def exit_status(checks: list[Check]) -> int:
    """0 when every check is met, else 1: what ``make bench`` exits with."""
    return 0 if all(c.met for c in checks) else 1
