"""What a validation gate found: one record per expectation and batch, and the gate's
outcome over them.

In: the results the Great Expectations adapter (``pipeline.validation.gx``) converts, and the
gates' own records of absent data (``pipeline.validation.validation``). Out:
``ExpectationOutcome`` and ``ValidationOutcome``, plain frozen records: the runner, the
terminal, the manifest and the reports read them without importing Great Expectations,
pandas or pyarrow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation evaluated on one batch (a day, a table, a join)."""

    suite: str
    batch: str
    expectation: str
    column: str | None
    success: bool
    observed_value: str | None
    unexpected_count: int | None
    failing_values: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def message(self) -> str:
        """One line: suite, batch, expectation and the failing values."""
        target = f"({self.column})" if self.column else ""
        parts = [f"{self.suite} [{self.batch}]: {self.expectation}{target} failed"]
        if self.unexpected_count:
            parts.append(f"{self.unexpected_count:,} unexpected")
        if self.failing_values:
            parts.append("e.g. " + ", ".join(self.failing_values))
        elif self.observed_value is not None:
            parts.append(f"observed {self.observed_value}")
        if self.details.get("exception"):
            parts.append(f"error: {self.details['exception']}")
        return "; ".join(parts)


@dataclass(frozen=True)
class ValidationOutcome:
    """Every expectation result of one gate of one run."""

    run_id: str
    gate: str
    results: tuple[ExpectationOutcome, ...]
    docs: Path | None = None

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    @property
    def failures(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(r for r in self.results if not r.success)

    @property
    def suites(self) -> dict[str, bool]:
        """Each suite and whether all its batches passed (the reports' provenance appendix)."""
        out: dict[str, bool] = {}
        for r in self.results:
            out[r.suite] = out.get(r.suite, True) and r.success
        return out

    def message(self) -> str:
        """One line per failure; empty when the gate passed."""
        return "\n".join(r.message() for r in self.failures)
