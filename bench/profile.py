"""The per-query profile of the per-day tables and of linking's SQL (``make bench``'s
``profile`` section) and the per-step profile of the window stage (its ``seedday`` section).

In: an output folder with a day's requests partition (and, for linking's queries, a
finished window). Out, per per-day table and per linking query: its query run alone, as a
build runs it (``features.open_day``, the nightly settings, written to Parquet; linking's
on the window's database), with DuckDB's JSON profiling on; what ``summary`` reads from
the profile: the query's wall and CPU time, DuckDB's peak buffer memory and the operators
that took the most time. One query per process (``bench.run.measure``), so each query's
peak RSS is its own: the build runs them one after another on one connection, and its
peak is the largest of theirs, which is what this profile has to explain.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any


def run_table(out: Path, day: date, table: str, profile: Path) -> int:
    """Write ``table``'s partition of ``day`` under ``out`` with profiling to ``profile``;
    returns the day's requests (the rows the query read)."""
    from pipeline.features.features import open_day
    from pipeline.settings import FeatureParams
    from pipeline.warehouse import atomic_copy, partition_path, sql_text

    params = FeatureParams()
    with open_day(out, day, params) as con:
        query = sql_text(table)
        values = {k: v for k, v in params.sql_parameters(day).items() if f"${k}" in query}
        con.execute("SET enable_profiling = 'json'")
        con.execute("SET profiling_output = $path", {"path": str(profile)})
        atomic_copy(con, query, values, partition_path(out, table, day))
        con.execute("SET enable_profiling = 'no_output'")
        return con.execute("SELECT count(*) FROM requests").fetchall()[0][0]


WINDOW_TABLES = ("account_link_key", "link_key", "account_link_null", "account_shared_key",
                 "account_link_count", "account_link_evidence")
"""Linking's SQL, in the order it runs: its key tables, then the pairs' query that linking
scores in Polars (``account_link_evidence``)."""


def run_window_table(out: Path, start: date, end: date, table: str, profile: Path) -> int:
    """Run linking's query of ``table`` again on a finished window's database under
    ``out``, as ``link_accounts`` runs it (the window's parameters and memory ceiling, the
    per-day views), with profiling to ``profile``; returns the rows it made. The tables
    it reads are the window's own, so each query sees what it saw in the run."""
    from pipeline.features.features import create_feature_views
    from pipeline.linking.linking import key_tables, link_window, register_link_types
    from pipeline.settings import PipelineParams, memory_ceiling
    from pipeline.warehouse import DB_NAME, bounded_connection, sql_text

    params = PipelineParams()
    first, last = link_window(start, end, params.linking)
    window = {"start": first, "end": last}
    values = dict(key_tables(window, params.linking, params.features)).get(table, window)
    with bounded_connection(out, "spill-profile", memory_ceiling(params.linking.memory_limit),
                            database=out / DB_NAME) as con:
        create_feature_views(con, out)
        register_link_types(con, params.linking)
        con.execute("SET enable_progress_bar = false")
        con.execute("SET enable_profiling = 'json'")
        con.execute("SET profiling_output = $path", {"path": str(profile)})
        con.execute(f"CREATE OR REPLACE TEMP TABLE profiled AS {sql_text(table)}", values)
        con.execute("SET enable_profiling = 'no_output'")
        return con.execute("SELECT count(*) FROM profiled").fetchall()[0][0]


def _operators(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for child in node.get("children", node.get("operator", [])):
        found += [child, *_operators(child)]
    return found


def summary(profile: Path, top: int = 2) -> dict[str, Any]:
    """The query's times, DuckDB's peak buffer memory, and its ``top`` operators by time
    (name, what it computes in a few words, share of the operators' time)."""
    data = json.loads(profile.read_text(encoding="utf-8"))
    operators = _operators(data)
    total = sum(o.get("timing", 0.0) for o in operators) or 1.0
    heaviest = sorted(operators, key=lambda o: o.get("timing", 0.0), reverse=True)[:top]
    return {
        "seconds": data["query"]["total_time"],
        "cpu_seconds": data["query"]["cpu_time"],
        "peak_buffer_mb": data["system"]["peak_buffer_memory"] / 2**20,
        "spilled_mb": data["system"].get("total_bytes_spilled", 0) / 2**20,
        "heaviest": [(o["name"], _what(o), o.get("timing", 0.0) / total) for o in heaviest],
    }


def _what(operator: dict[str, Any]) -> str:
    """A few words of the operator's extra info: its function, aggregates or keys."""
    info = operator.get("extra_info", {})
    for key in ("Function", "Aggregates", "Groups", "Conditions", "Projections", "Table",
                "Order By", "Partition By"):
        if key in info:
            value = info[key]
            text = ", ".join(value) if isinstance(value, list) else str(value)
            return f"{key}: {text[:70]}" + ("…" if len(text) > 70 else "")
    return ""


class StepClock:
    """A ``Progress`` that times each step a stage announces and keeps the largest RSS of
    the process seen while it ran (sampled every 20 ms by a thread): the window stage is
    one call of many steps, and the step that sets its peak is the one to shrink."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._open("start")
        self._sampler.start()

    def _rss_mb(self) -> float:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * self._page / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            rss = self._rss_mb()
            with self._lock:
                self.steps[-1]["peak_rss_mb"] = max(self.steps[-1]["peak_rss_mb"], rss)

    def _open(self, step: str) -> None:
        now = time.perf_counter()
        with self._lock:
            if self.steps:
                self.steps[-1]["seconds"] = now - self.steps[-1]["started"]
            self.steps.append({"step": step, "started": now, "seconds": 0.0,
                               "peak_rss_mb": self._rss_mb()})

    def __call__(self, step: str, _done: int, _total: int) -> None:
        if step != self.steps[-1]["step"]:
            self._open(step)

    def finish(self, path: Path) -> None:
        """Stop sampling and write the steps (name, seconds, peak RSS MiB) to ``path``."""
        self._open("end")
        self._stop.set()
        self._sampler.join()
        rows = [{k: s[k] for k in ("step", "seconds", "peak_rss_mb")} for s in self.steps[:-1]]
        path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
