"""The Great Expectations adapter: an ephemeral GX context that runs suites built from
the rules of ``pipeline.validation.expectations`` on pandas frames.

In: a gate's results folder (``<out>/validation/<run>/<gate>``), the run id and gate name,
and for each batch a suite name, a frame, its rules (or the registry's columns, for a
schema batch) and suite parameters. Out: an ``ExpectationOutcome`` per expectation and
batch (each failure naming its first failing rows by the index columns), every GX
validation result as JSON under ``results/``, and the gate's ``ValidationOutcome`` with
its offline page (``pipeline.validation.pages``).

Why an adapter: GX's API changes between versions and its import takes seconds, so it (and
pandas, which it reads) is imported here only, inside the functions that use it ("slow"),
and nothing else in the pipeline touches a GX object. The context is ephemeral: nothing in
a project folder, analytics off, progress bars off, no network, no Data Docs (their pages
need CDNs).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.progress import Steps
from pipeline.validation.expectations import Rule
from pipeline.validation.frames import expected_dtypes
from pipeline.validation.outcomes import ExpectationOutcome, ValidationOutcome
from pipeline.validation.pages import safe_name, write_gate_page

if TYPE_CHECKING:
    import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

SHOWN_VALUES = 10
"""Failing values named per failure in messages (all are in the stored details)."""


class Gx:
    """An ephemeral GX context whose results go under ``root`` (a gate's folder).

    Each suite is built once (from its rules) with its validation definition and a
    Checkpoint; batches differ only in their data frame and suite parameters (the day's
    bounds). ``outcome`` writes the gate's page once every batch has run.
    """

    def __init__(self, root: Path, run_id: str, gate: str, steps: Steps | None) -> None:
        self.root = root
        self.run_id = run_id
        self.gate = gate
        self.steps = steps or Steps(None, gate, 1)

    def __enter__(self) -> Gx:
        import great_expectations as gx  # slow: module docstring
        from great_expectations.data_context.types import base  # slow: module docstring

        self.gx = gx
        self.root.mkdir(parents=True, exist_ok=True)
        config = base.DataContextConfig(
            store_backend_defaults=base.InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites={},
            analytics_enabled=False,
            progress_bars=base.ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.source = self.context.data_sources.add_pandas("frames")
        self.checkpoints: dict[tuple[str, tuple[str, ...]], Any] = {}
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def outcome(self, results: list[ExpectationOutcome]) -> ValidationOutcome:
        """The gate's outcome, with its page written (and the landing page above it)."""
        page = write_gate_page(self.root, self.run_id, self.gate, [asdict(r) for r in results])
        return ValidationOutcome(self.run_id, self.gate, tuple(results), page)

    def validate_schema(self, suite: str, batch: str, frame: pd.DataFrame,
                        columns: tuple[tuple[str, str], ...], *,
                        ordered: bool = True) -> list[ExpectationOutcome]:
        """The frame's columns (in the registry's order for files, as a set for DuckDB
        tables, which are read by name), each with the registry's type."""
        import great_expectations.expectations as gxe  # slow: module docstring

        dtypes = expected_dtypes(columns)
        names = [name for name, _ in columns]

        def build() -> list[Any]:
            exps: list[Any] = [
                gxe.ExpectTableColumnsToMatchOrderedList(column_list=names) if ordered
                else gxe.ExpectTableColumnsToMatchSet(column_set=names, exact_match=True)]
            present = set(frame.columns)
            exps += [gxe.ExpectColumnTypeToBe(column=name, type_=dtypes[name],
                                              meta={"duckdb_type": kind})
                     for name, kind in columns if name in present]
            return exps

        # The type checks depend on which columns exist, so each column set has its own
        # GX suite (a missing column already fails the ordered-list expectation).
        return self._run(suite, batch, frame, build, {}, (), variant=tuple(frame.columns))

    def validate(self, suite: str, batch: str, frame: pd.DataFrame, rules: tuple[Rule, ...],
                 values: dict[str, Any], index: tuple[str, ...]) -> list[ExpectationOutcome]:
        """The value rules on the frame; failing rows are named by the ``index`` columns."""
        return self._run(suite, batch, frame, lambda: [_expectation(r) for r in rules],
                         values, index)

    def _run(self, suite: str, batch: str, frame: pd.DataFrame, build: Any,
             values: dict[str, Any], index: tuple[str, ...],
             variant: tuple[str, ...] = ()) -> list[ExpectationOutcome]:
        gx = self.gx
        self.steps.next(f"{suite.split('.', 1)[-1]} {batch}")
        checkpoint = self.checkpoints.get((suite, variant))
        if checkpoint is None:
            name = suite if not any(k[0] == suite for k in self.checkpoints) \
                else f"{suite}.{len(self.checkpoints)}"
            asset = self.source.add_dataframe_asset(name)
            definition = asset.add_batch_definition_whole_dataframe("frame")
            # Built whole before it is stored: once stored, each added expectation is a
            # round-trip through GX's store (a deep copy of the suite each time).
            expectation_suite = self.context.suites.add(
                gx.ExpectationSuite(name=name, expectations=build()))
            validation = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=definition, suite=expectation_suite))
            result_format: dict[str, Any] = {"result_format": "SUMMARY",
                                             "partial_unexpected_count": SHOWN_VALUES}
            if index:
                result_format["unexpected_index_column_names"] = list(index)
            checkpoint = self.context.checkpoints.add(gx.Checkpoint(
                name=name, validation_definitions=[validation], actions=[],
                result_format=result_format))
            self.checkpoints[(suite, variant)] = checkpoint
        run = gx.RunIdentifier(run_name=f"{self.run_id} {batch}",
                               run_time=datetime.now(UTC))
        result = checkpoint.run(batch_parameters={"dataframe": frame},
                                expectation_parameters=values, run_id=run)
        outcomes: list[ExpectationOutcome] = []
        for validation in result.run_results.values():
            evidence = self.root / "results" / f"{safe_name(suite)}--{safe_name(batch)}.json"
            evidence.parent.mkdir(parents=True, exist_ok=True)
            evidence.write_text(json.dumps(validation.to_json_dict(), indent=1, default=str,
                                           sort_keys=True), encoding="utf-8")
            outcomes += [_outcome(suite, batch, r, index) for r in validation.results]
        return outcomes


def _expectation(rule: Rule) -> Any:
    """The GX expectation of one rule; a string bound becomes a suite parameter."""
    import great_expectations.expectations as gxe  # slow: module docstring
    from great_expectations.expectations.row_conditions import Column  # slow: module docstring

    def bound(value: object) -> object:
        return {"$PARAMETER": value} if isinstance(value, str) else value

    common: dict[str, Any] = {"meta": {"why": rule.why}}
    if rule.when:
        condition = None
        for column, op, value in rule.when:
            part = Column(column) > value if op == ">" else Column(column) == value
            condition = part if condition is None else condition & part
        common["row_condition"] = condition
    if rule.check == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=rule.column, **common)
    if rule.check == "unique":
        if len(rule.columns) == 1:
            return gxe.ExpectColumnValuesToBeUnique(column=rule.column, **common)
        return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(rule.columns), **common)
    if rule.check == "between":
        return gxe.ExpectColumnValuesToBeBetween(
            column=rule.column, min_value=bound(rule.low), max_value=bound(rule.high),
            strict_max=rule.strict_high, **common)
    if rule.check == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=rule.column,
                                               value_set=list(rule.values), **common)
    if rule.check == "equal":
        return gxe.ExpectColumnPairValuesToBeEqual(column_A=rule.column, column_B=rule.other,
                                                   **common)
    if rule.check == "at_least":
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.column, column_B=rule.other, or_equal=True, **common)
    raise ValueError(f"unknown rule check {rule.check}")


def _outcome(suite: str, batch: str, result: Any, index: tuple[str, ...]) -> ExpectationOutcome:
    """A GX ExpectationValidationResult as a flat, JSON-able record."""
    config = result.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or ",".join(
        c for c in (kwargs.get("column_A"), kwargs.get("column_B")) if c) or (
        ",".join(kwargs.get("column_list") or []) if config.type.startswith(
            "expect_compound") else None)
    res = _plain(result.result or {})
    exception = (result.exception_info or {}) if hasattr(result, "exception_info") else {}
    raised = exception.get("raised_exception") if isinstance(exception, dict) else False
    details: dict[str, Any] = {"result": res, "kwargs": _plain(
        {k: v for k, v in kwargs.items() if k not in ("batch_id",)})}
    if raised:
        details["exception"] = str(exception.get("exception_message", "")).splitlines()[0]
    observed = res.get("observed_value")
    failing: tuple[str, ...] = ()
    if not result.success:
        failing = _failing_values(res, index, column)
    return ExpectationOutcome(
        suite=suite, batch=batch, expectation=config.type, column=column,
        success=bool(result.success) and not raised,
        observed_value=None if observed is None else json.dumps(observed, default=str),
        unexpected_count=res.get("unexpected_count"), failing_values=failing, details=details)


def _failing_values(res: dict[str, Any], index: tuple[str, ...],
                    column: str | None) -> tuple[str, ...]:
    """The first failing values, each with the index columns that name its row."""
    rows = res.get("partial_unexpected_index_list") or []
    shown: list[str] = []
    for row in rows[:SHOWN_VALUES]:
        if isinstance(row, dict):
            value_cols = [k for k in row if k not in index]
            names = ", ".join(f"{k}={row[k]}" for k in index if k in row)
            values = ", ".join(f"{k}={row[k]}" for k in value_cols)
            shown.append(f"{values} ({names})" if values and names else values or names)
    if not shown:
        shown = [str(v) for v in (res.get("partial_unexpected_list") or [])[:SHOWN_VALUES]]
    if not shown and res.get("observed_value") is not None and column is None:
        shown = [str(res["observed_value"])]
    return tuple(shown)


def _plain(value: Any) -> Any:
    """GX result values (pandas scalars, NA, timestamps, NaN) as JSON-safe Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    try:
        import pandas as pd  # slow: module docstring

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return _plain(value.item())
    return str(value)
