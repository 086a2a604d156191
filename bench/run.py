"""``make bench``: the pipeline's speed and memory against references measured in the same run.

In: simulator scenarios (generated once per scenario, days and seed; cached under
bench/.cache). Out: tables on the terminal and the same figures in docs/benchmarks.md,
with the machine and the date. Each measured step runs in a process of its own, so its
peak RSS is its own; every target is a ratio to a reference measured in the same command
(DuckDB's bare read_json, a plain pandas script) or a per-day cost compared across
lengths, never an absolute time compared with a constant.

Sections (all by default; ``--only`` picks some):
- ``ingest``: ingest of the default scenario against read_json of the same files.
- ``smallfiles``: the ``seedday`` rows cut into 1,000 and 10,000 files (and 10,000 files
  of one row), one gateway file per host and minute: ingest against read_json of the same
  files.
- ``parts``: the ``seedday`` rows in 64 files ingested whole, and staged in 2 and 4
  parts (a process each, as workers run them) then ingested from the parts.
- ``peer``: the per-day tables against the pandas script, on one day of ``default``.
- ``profile``: each per-day table's query alone on the ``seedday`` day, then each of
  linking's queries alone on that day's window, with DuckDB's profile: its time, memory
  and heaviest operators (``bench/profile.py``).
- ``seedday``: the public case's daily volume end to end, per stage; the validation share.
- ``scaling``: the whole pipeline over 1, 7 and 28 days of the default scenario's per-day
  volume; per-day cost at each length and the 91-day extrapolation.
- ``reports``: evidence reports for the 100 largest clusters of the default scenario, all
  marked flagged (the scenario has only a few), against the 2-minute target.
- ``linking``: linking alone over the ``wide`` scenario's 30 days (about 100,000 accounts)
  and over the 7-day ``default`` one (about 19,000): peak RSS per 1,000 accounts at both
  sizes, whose ratio says whether memory grows at most linearly in accounts (issue 3).

The report keeps the sections of earlier runs that this run did not repeat, so
``--only`` refreshes some figures without erasing the others. Each section's ratios are
checked against their targets (``bench/verdict.py``): the run ends with a table of them
and exits non-zero when one falls short, so a slower change is seen before it lands.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from queue import Empty

import numpy as np

from bench.verdict import Check, exit_status, summary

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
REPORT = ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Measure:
    """One measured step: wall time, its process's peak RSS, rows handled."""

    name: str
    seconds: float
    peak_rss_mb: float
    rows: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def row(self) -> str:
        return (f"| {self.name} | {self.seconds:.1f} | {self.rows:,} | "
                f"{self.rows_per_second:,.0f} | {self.peak_rss_mb:,.0f} |")


@dataclass(frozen=True)
class Section:
    """One section's report lines and the checks of its figures against their targets."""

    lines: list[str]
    checks: list[Check]


def with_checks(lines: list[str], checks: list[Check]) -> Section:
    """The section with a line per check after its figures."""
    return Section([*lines, *(c.line() for c in checks), ""], checks)


HEADER = ["| step | wall s | rows | rows/s | peak RSS MiB |", "| --- | ---: | ---: | ---: | ---: |"]


def _child(fn: Callable[..., int], args: tuple, queue: mp.Queue) -> None:
    started = time.perf_counter()
    rows = fn(*args)
    seconds = time.perf_counter() - started
    queue.put((seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rows))


def measure(name: str, fn: Callable[..., int], *args: object) -> Measure:
    """Run ``fn(*args)`` (returning a row count) in a fresh process and measure it."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    while True:
        try:
            seconds, rss, rows = queue.get(timeout=1)
            break
        except Empty:
            if not proc.is_alive():
                raise RuntimeError(f"{name} failed with exit code {proc.exitcode}") from None
    proc.join()
    return Measure(name, seconds, rss, rows)


def mean_measure(name: str, runs: list[Measure]) -> Measure:
    """One step measured several times as one: the mean wall time, the largest peak RSS.
    A floor run once swings by a quarter between quiet runs of this machine (13.8 to
    17.9 s for ``seedday``'s), and every ratio against it with it; run before and after
    the steps it is the reference for, its mean also follows a load that changes during
    the run."""
    rows = {m.rows for m in runs}
    if len(rows) != 1:
        raise ValueError(f"{name}: the runs handled different row counts {sorted(rows)}")
    return Measure(name, sum(m.seconds for m in runs) / len(runs),
                   max(m.peak_rss_mb for m in runs), rows.pop())


def scenario_logs(scenario: str, seed: int, days: int | None = None) -> Path:
    """The scenario's simulated logs, generated once per (scenario, days, seed), cached."""
    from simulator.simulate import simulate

    folder = CACHE / (f"{scenario}-seed{seed}" + (f"-{days}d" if days else ""))
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        simulate(scenario, folder, seed=seed, days=days)
        (folder / ".complete").touch()
    return folder


def scenario_range(folder: Path) -> tuple[date, date]:
    days = sorted(date.fromisoformat(p.name.split("-", 1)[1].split(".")[0])
                  for p in (folder / "logs").glob("requests-*.jsonl*"))
    return days[0], days[-1]


def run_floor(logs: Path, target: Path) -> int:
    """DuckDB's bare read_json of the same files written to Parquet, same columns, typed."""
    from pipeline.registry import DUCKDB_TYPE, LOG_FIELDS
    from pipeline.warehouse import connect

    con = connect()
    columns = {f.name: DUCKDB_TYPE[f.kind] for f in LOG_FIELDS}
    target.mkdir(parents=True, exist_ok=True)
    rel = con.read_json(str(logs / "*.jsonl*"), format="newline_delimited", columns=columns)
    rel.write_parquet(str(target / "floor.parquet"), compression="zstd")
    return con.execute("SELECT count(*) FROM read_parquet($p)",
                       {"p": str(target / "floor.parquet")}).fetchall()[0][0]


def run_ingest(logs: Path, out: Path, start: date, end: date, accounts: Path | None) -> int:
    from pipeline.ingest.ingest import ingest

    return ingest(logs, out, start, end, run_id="bench", accounts=accounts).rows_read


def run_features(out: Path, days: list[date]) -> int:
    import pyarrow.parquet as pq

    from pipeline.features.features import build_day_features
    from pipeline.warehouse import partition_path

    for day in days:
        build_day_features(out, day)
    return sum(pq.read_metadata(partition_path(out, "requests", d)).num_rows for d in days)


def run_window(out: Path, logs: Path, start: date, end: date,
               steps: Path | None = None) -> int:
    """The window stage; with ``steps``, each of its steps' time and peak RSS go there."""
    from bench.profile import StepClock
    from pipeline.run.runner import PipelineParams, RunRequest, window_task

    clock = StepClock() if steps else None
    result = window_task(RunRequest(logs=logs, out=out, start=start, end=end),
                         PipelineParams(), progress=clock)
    if clock and steps:
        clock.finish(steps)
    return result.linking.account_count


def step_rows(steps: Path, least_seconds: float = 1.0) -> list[str]:
    """The window's steps as table rows, those shorter than ``least_seconds`` summed into
    one, so the table says where the time and the memory went."""
    found = json.loads(steps.read_text(encoding="utf-8"))
    rows = [f"| {s['step']} | {s['seconds']:.1f} | {s['peak_rss_mb']:,.0f} |"
            for s in found if s["seconds"] >= least_seconds]
    short = [s for s in found if s["seconds"] < least_seconds]
    if short:
        rows.append(f"| {len(short)} shorter steps | {sum(s['seconds'] for s in short):.1f} | "
                    f"{max(s['peak_rss_mb'] for s in short):,.0f} |")
    return ["| window step | wall s | peak RSS MiB while it ran |", "| --- | ---: | ---: |",
            *rows]


def run_linking(out: Path, start: date, end: date) -> int:
    """Linking alone, called as ``window_task`` calls it (the output's database, the per-day
    views, the nightly parameters), so its process's peak RSS is linking's own. The counts
    go to ``linking.json`` beside the database: a measured step returns one number."""
    from pipeline.features.features import create_feature_views
    from pipeline.linking.linking import link_accounts
    from pipeline.run.runner import PipelineParams
    from pipeline.warehouse import DB_NAME, connect

    db = connect(out / DB_NAME)
    try:
        create_feature_views(db, out)
        linked = link_accounts(db, start, end, run_id="bench",
                               params=PipelineParams().linking)
        sizes = {table: db.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
                 for table in ("account_link_key", "account_link_evidence")}
    finally:
        db.close()
    (out / "linking.json").write_text(json.dumps({
        "keys": sizes["account_link_key"], "pairs": sizes["account_link_evidence"],
        "accounts": linked.account_count, "edges": linked.edge_count,
        "clusters": linked.cluster_count, "linked_clusters": linked.linked_cluster_count,
        "largest": linked.largest_cluster}), encoding="utf-8")
    return linked.account_count


def run_bare(out: Path) -> int:
    """What a linking process holds before it links: the imports, the open database and
    the per-day views. Subtracted from linking's peak, it leaves what linking itself used."""
    from pipeline.features.features import create_feature_views
    from pipeline.linking.linking import link_accounts  # noqa: F401  (the same imports as linking)
    from pipeline.warehouse import DB_NAME, connect

    db = connect(out / DB_NAME)
    try:
        create_feature_views(db, out)
    finally:
        db.close()
    return 0


def run_reports(out: Path, clusters: int) -> int:
    """Mark the ``clusters`` largest clusters flagged and build their reports."""
    from pipeline.features.features import create_feature_views
    from pipeline.publish.reports import write_reports
    from pipeline.warehouse import DB_NAME, connect

    db = connect(out / DB_NAME)
    try:
        create_feature_views(db, out)
        db.execute("UPDATE cluster_findings SET verdict = 'flagged' WHERE cluster_id IN ("
                   "SELECT cluster_id FROM cluster_findings ORDER BY n_accounts DESC, "
                   "cluster_id LIMIT $n)", {"n": clusters})
        paths = write_reports(db, out / "reports", params={},
                              generated_at=datetime(2026, 4, 8, tzinfo=UTC))
    finally:
        db.close()
    return len(paths) - 1


def run_pandas(logs: Path) -> int:
    from bench.pandas_features import account_day_features

    return len(account_day_features(logs))


def run_validation(out: Path, days: list[date]) -> int:
    from bench.validation import run_validate_raw

    return run_validate_raw(out, days, "bench")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def bench_ingest(seed: int) -> Section:
    folder = scenario_logs("default", seed)
    start, end = scenario_range(folder)
    size = sum(p.stat().st_size for p in (folder / "logs").iterdir())
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        floor = measure("floor: read_json -> parquet", run_floor, folder / "logs",
                        Path(tmp) / "floor")
        ours = measure("ingest (quarantine, ledger, partitions)", run_ingest,
                       folder / "logs", Path(tmp) / "out", start, end, None)
    ratio = ours.rows_per_second / floor.rows_per_second
    return with_checks([
        f"### Ingest: `default` scenario (seed {seed}), {ours.rows:,} rows, "
        f"{size / 2**20:.0f} MiB of gzip JSONL, {start} to {end}",
        "", *HEADER, floor.row(), ours.row(), "",
    ], [Check("ingest ÷ floor throughput, `default` (7 files)", ratio, "at_least", 0.7)])


SMALL_LAYOUTS = ((1_000, None), (10_000, None), (10_000, 10_000))
"""The ``smallfiles`` layouts: (files, rows), rows None for all of the day's."""


def split_logs(source: Path, target: Path, files: int, rows: int | None) -> Path:
    """The first ``rows`` (or all) rows of ``source``'s JSONL files cut into ``files``
    gzip files of consecutive rows, named as a gateway names them (host, then minute), in
    ``target``; made once, cached like the scenarios. The bytes are cut at line ends found
    with numpy, a block at a time, never parsed."""
    from pipeline.ingest.decompress import decompressed_blocks

    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    paths = sorted(source.glob("*.jsonl*"))

    def blocks() -> Iterator[bytes]:
        for path in paths:
            compression = "gzip" if path.suffix == ".gz" else "none"
            yield from decompressed_blocks(path, compression, path.name, 64 << 20)

    total = rows or sum(block.count(b"\n") for block in blocks())
    ends_at = np.arange(1, files + 1, dtype=np.int64) * total // files
    done, seen, parts = 0, 0, []
    for block in blocks():
        ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        start = 0
        while done < files and ends_at[done] <= seen + len(ends):
            cut = int(ends[ends_at[done] - seen - 1]) + 1
            name = f"gw{done % 50:02d}-{done // 50:04d}.jsonl.gz"
            (target / name).write_bytes(gzip.compress(b"".join([*parts, block[start:cut]]),
                                                      compresslevel=1, mtime=0))
            parts, start, done = [], cut, done + 1
        if done == files:
            break
        parts.append(block[start:])
        seen += len(ends)
    (target / ".complete").touch()
    return target


def cut_logs(source: Path, target: Path, files: int, rows: int | None) -> int:
    """``split_logs`` in a process of its own: the measured steps are spawned from this
    one, and Linux counts the RSS a process had when it was forked in its child's peak,
    so the cut's gigabytes must not stay in the parent."""
    split_logs(source, target, files, rows)
    return 0


def bench_smallfiles(seed: int) -> Section:
    """Issue 16: ingest keeps pace with the floor when a day comes as many small files (one
    per gateway host and minute), not only as one large file. The floor reads the same
    files with one read_json over their glob."""
    folder = scenario_logs("seedday", seed)
    start, end = scenario_range(folder)
    rows, checks = [], []
    for files, count in SMALL_LAYOUTS:
        label = f"{files:,} files" + (f" of {count // files} row" if count else "")
        logs = CACHE / f"seedday-seed{seed}-split{files}-{count}"
        measure(f"{label}: cut", cut_logs, folder / "logs", logs, files, count)
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            floor = measure(f"{label}: floor: read_json -> parquet", run_floor, logs,
                            Path(tmp) / "floor")
            ours = measure(f"{label}: ingest", run_ingest, logs, Path(tmp) / "out", start,
                           end, None)
        rows += [floor.row(), ours.row()]
        checks.append(Check(f"ingest ÷ floor throughput, `seedday` rows in {label}",
                            ours.rows_per_second / floor.rows_per_second, "at_least", 0.7))
    return with_checks([
        f"### Small files: `seedday` (seed {seed}) cut into many gzip files, {start}", "",
        *HEADER, *rows, ""], checks)


def bench_profile(seed: int) -> Section:
    """Issue 16, part 1: which per-day query, and which of linking's queries, takes the
    time and the memory, on the ``seedday`` day, each query alone in a process with
    DuckDB's profiling on (linking's on the window the day's run made)."""
    from bench.profile import WINDOW_TABLES, run_table, run_window_table
    from pipeline.registry import FEATURE_TABLES

    folder = scenario_logs("seedday", seed)
    start, end = scenario_range(folder)
    days: dict[str, tuple[Measure, Path]] = {}
    linking: dict[str, tuple[Measure, Path]] = {}
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        out = Path(tmp) / "out"
        measure("ingest", run_ingest, folder / "logs", out, start, end, folder / "accounts.csv")
        for table in FEATURE_TABLES:
            path = Path(tmp) / f"{table.name}.json"
            days[table.name] = (measure(table.name, run_table, out, start, table.name, path),
                                path)
        measure("window", run_window, out, folder / "logs", start, end)
        for name in WINDOW_TABLES:
            path = Path(tmp) / f"window-{name}.json"
            linking[name] = (measure(name, run_window_table, out, start, end, name, path),
                             path)
        day_rows, day_lines = _profile_rows(days, with_rows=False)
        link_rows, link_lines = _profile_rows(linking, with_rows=True)
    columns = ["| wall s | CPU s | peak RSS MiB | DuckDB peak MiB | spilled MiB | "
               "heaviest operators |", "| ---: | ---: | ---: | ---: | ---: | --- |"]
    requests = next(iter(days.values()))[0].rows
    return with_checks([
        f"### Profile of the per-day tables: `seedday` (seed {seed}), {start}, "
        f"{requests:,} requests", "",
        "Each table's query alone in a process (wall time and peak RSS of the process; "
        "CPU time, DuckDB's peak buffer memory and bytes spilled from its JSON profile; "
        "the two operators with the most time, as shares of all operators' time).", "",
        "| table " + columns[0], "| --- " + columns[1], *day_rows, "", *day_lines, "",
        "Linking's SQL on the window of that day, each query alone in a process on the "
        "finished window's database, with the window's parameters and memory ceiling "
        "(`account_link_evidence` is the pairs' query that linking then scores in Polars; "
        "rows: what each query made).", "",
        "| query | rows " + columns[0], "| --- | ---: " + columns[1], *link_rows, "",
        *link_lines,
    ], [])


def _profile_rows(found: dict[str, tuple[Measure, Path]], *, with_rows: bool
                  ) -> tuple[list[str], list[str]]:
    """Table rows of profiled queries (``bench/profile.py``'s ``summary``: DuckDB's CPU,
    peak buffers, spill and heaviest operators), ``with_rows`` the rows each made, and a
    line on the slowest and the largest."""
    from bench.profile import summary

    rows = []
    for name, (ran, path) in found.items():
        p = summary(path)
        heaviest = "; ".join(f"{op} {share:.0%} ({what})" for op, what, share in p["heaviest"])
        counted = f"{ran.rows:,} | " if with_rows else ""
        rows.append(f"| {name} | {counted}{ran.seconds:.1f} | {p['cpu_seconds']:.1f} | "
                    f"{ran.peak_rss_mb:,.0f} | {p['peak_buffer_mb']:,.0f} | "
                    f"{p['spilled_mb']:,.0f} | {heaviest} |")
    total = sum(ran.seconds for ran, _ in found.values())
    slowest = max(found, key=lambda n: found[n][0].seconds)
    biggest = max(found, key=lambda n: found[n][0].peak_rss_mb)
    return rows, [
        f"- All {len(found)} queries: **{total:.0f} s**; the slowest is `{slowest}` "
        f"({found[slowest][0].seconds:.0f} s, {found[slowest][0].seconds / total:.0%}), the "
        f"largest `{biggest}` ({found[biggest][0].peak_rss_mb:,.0f} MiB peak RSS)."]


PART_FILES = 64
"""The ``parts`` layout: the ``seedday`` rows in this many gzip files, so that its text
can be staged in parts (a part never splits a file)."""
PART_COUNTS = (2, 4)


def run_stage_part(logs: Path, out: Path, part: int, parts: int, part_bytes: int) -> int:
    import pyarrow.parquet as pq

    from pipeline.ingest.ingest import stage_part

    written = stage_part(logs, out, "bench", part, parts, part_bytes)
    return sum(pq.ParquetFile(p).metadata.num_rows for p in written
               if p.parent.name == "records")


def run_staged_ingest(logs: Path, out: Path, start: date, end: date, parts: int) -> int:
    from pipeline.ingest.ingest import ingest

    return ingest(logs, out, start, end, run_id="bench", staged=("bench", parts)).rows_read


def bench_parts(seed: int) -> Section:
    """Issue 17: ingest split for several workers. The ``seedday`` rows in
    ``PART_FILES`` files, ingested whole in one process, then staged in 2 and 4 parts,
    each part in a process of its own (as a worker would run it) and the ingest from the
    parts; on as many workers as parts the ingest takes the slowest part and the finish."""
    from math import ceil

    from pipeline.ingest.ingest import listed_files, log_parts
    from pipeline.ingest.staging import expected_text
    from pipeline.settings import IngestParams
    from pipeline.warehouse import partition_path

    folder = scenario_logs("seedday", seed)
    start, end = scenario_range(folder)
    logs = CACHE / f"seedday-seed{seed}-split{PART_FILES}-None"
    measure(f"{PART_FILES} files: cut", cut_logs, folder / "logs", logs, PART_FILES, None)
    files = listed_files(logs, IngestParams(), hash_files=False)[0]
    text, largest = expected_text(files), max(expected_text([f]) for f in files)
    rows, notes = [], []
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        whole_out = Path(tmp) / "whole"
        whole = measure(f"{PART_FILES} files: ingest whole", run_ingest, logs, whole_out,
                        start, end, None)
        rows.append(whole.row())
        for wanted in PART_COUNTS:
            # A part closes before the file that would pass its size, so a size of one
            # share plus the largest file makes ``wanted`` parts, none of them a remainder.
            part_bytes = ceil(text / wanted) + largest
            n = len(log_parts(logs, IngestParams(), part_bytes))
            out = Path(tmp) / f"parts{n}"
            staged = [measure(f"{n} parts: stage part {i + 1}", run_stage_part, logs, out, i,
                              n, part_bytes) for i in range(n)]
            finish = measure(f"{n} parts: ingest from the parts", run_staged_ingest, logs,
                             out, start, end, n)
            rows += [*(m.row() for m in staged), finish.row()]
            same = all(partition_path(out, "requests", day).read_bytes()
                       == partition_path(whole_out, "requests", day).read_bytes()
                       for day in (start + timedelta(days=i)
                                   for i in range((end - start).days + 1)))
            wall = max(m.seconds for m in staged) + finish.seconds
            notes.append(
                f"- {n} parts on {n} workers: slowest part {max(m.seconds for m in staged):.1f}"
                f" s + ingest from the parts {finish.seconds:.1f} s = **{wall:.1f} s**, "
                f"**{whole.seconds / wall:.2f}x** the whole ingest's speed, for "
                f"{(sum(m.seconds for m in staged) + finish.seconds) / whole.seconds:.2f} "
                f"times its work; partitions byte-identical to the whole ingest's: "
                f"**{'yes' if same else 'NO'}**.")
    return Section([
        f"### Ingest in parts: `seedday` (seed {seed}) in {PART_FILES} gzip files, {start}",
        "", *HEADER, *rows, "", *notes, ""], [])


def bench_seedday(seed: int) -> Section:
    folder = scenario_logs("seedday", seed)
    start, end = scenario_range(folder)
    days = [start]
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        out = Path(tmp) / "out"
        floors = [measure("floor: read_json -> parquet, before the steps", run_floor,
                          folder / "logs", Path(tmp) / "floor")]
        steps = [measure("ingest", run_ingest, folder / "logs", out, start, end,
                         folder / "accounts.csv")]
        validation = measure("validate raw (Great Expectations)", run_validation, out, days)
        steps.append(validation)
        steps.append(measure("per-day tables", run_features, out, days))
        steps.append(measure("window: link, statistics, score, validate, reports",
                             run_window, out, folder / "logs", start, end,
                             Path(tmp) / "steps.json"))
        window_steps = step_rows(Path(tmp) / "steps.json")
        floors.append(measure("floor: read_json -> parquet, after the steps", run_floor,
                              folder / "logs", Path(tmp) / "floor-after"))
    floor = mean_measure("floor: their mean, the reference", floors)
    total = sum(m.seconds for m in steps)
    peak = max(m.peak_rss_mb for m in steps)
    lines = [
        f"### `seedday` (seed {seed}): one day at the public case's volume, {start}", "",
        *HEADER, *(m.row() for m in steps), *(m.row() for m in floors), floor.row(), "",
        f"- End to end: **{total / 60:.1f} min**, largest process **{peak / 1024:.2f} GiB**.",
        "", "The window's steps (issue 16, part 1), as the stage announces them:", "",
        *window_steps, "",
    ]
    checks = [
        Check("`seedday` ingest ÷ floor throughput (one file)",
              steps[0].rows_per_second / floor.rows_per_second, "at_least", 0.7),
        Check("`seedday` end to end ÷ floor time", total / floor.seconds, "at_most", 8, "x"),
        Check("`seedday` largest process's peak RSS", peak * 2**20 / 1e9, "at_most", 4, " GB"),
    ]
    checks.append(Check("`seedday` raw validation's share of the run, %",
                        100 * validation.seconds / total, "at_most", 20))
    return with_checks(lines, checks)


def bench_scaling(seed: int) -> Section:
    rows = []
    costs = {}
    for length in (1, 7, 28):
        folder = scenario_logs("default", seed, days=length)
        start, end = scenario_range(folder)
        days = _days(start, end)
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            out = Path(tmp) / "out"
            steps = [measure(f"{length} d: ingest", run_ingest, folder / "logs", out, start,
                             end, folder / "accounts.csv"),
                     measure(f"{length} d: per-day tables", run_features, out, days),
                     measure(f"{length} d: window", run_window, out, folder / "logs", start,
                             end)]
        costs[length] = sum(m.seconds for m in steps) / length
        rows += [m.row() for m in steps]
    return with_checks([
        "### Scaling: the default scenario's per-day volume over 1, 7 and 28 days", "",
        *HEADER, *rows, "",
        *(f"- {n} days: **{c:.1f} s per day**" for n, c in costs.items()),
    ], [Check("per-day cost at 28 days ÷ at 1 day", costs[28] / costs[1], "at_most", 1.5),
        Check("91-day re-run, extrapolated from the 28-day per-day cost",
              costs[28] * 91 / 3600, "at_most", 2, " h")])


def bench_peer(seed: int) -> Section:
    """Our per-day tables against the pandas script, on one day of the default scenario
    (pandas holds the whole day in memory: on seedday's 3 million long rows it is killed
    for memory on this machine, which is a finding of its own)."""
    folder = scenario_logs("default", seed)
    day_file = sorted((folder / "logs").glob("requests-*.jsonl*"))[1]
    day = date.fromisoformat(day_file.name.split("-", 1)[1].split(".")[0])
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        logs = Path(tmp) / "logs"
        logs.mkdir()
        (logs / day_file.name).symlink_to(day_file)
        out = Path(tmp) / "out"
        run_ingest(logs, out, day, day, folder / "accounts.csv")
        ours = measure("per-day tables (all 14, from the partition)", run_features, out, [day])
        peer = measure("peer: pandas account-day script (from the JSONL)", run_pandas, logs)
    return with_checks([
        f"### Per-day tables against pandas: one day of `default` (seed {seed}), {day}", "",
        *HEADER, ours.row(), peer.row(), "",
        "Ours computes every per-day table, pandas one.", "",
    ], [Check("per-day tables' speed ÷ the pandas script's", peer.seconds / ours.seconds,
              "at_least", 20, "x")])


def bench_reports(seed: int) -> Section:
    folder = scenario_logs("default", seed)
    start, end = scenario_range(folder)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        out = Path(tmp) / "out"
        run_ingest(folder / "logs", out, start, end, folder / "accounts.csv")
        run_features(out, _days(start, end))
        run_window(out, folder / "logs", start, end)
        built = measure("reports: 100 clusters marked flagged, and the summary", run_reports,
                        out, 100)
    return with_checks([
        f"### Reports: the 100 largest clusters of `default` (seed {seed})", "", *HEADER,
        built.row().replace(f"| {built.rows:,} |", f"| {built.rows} reports |"), "",
        f"- {built.seconds / max(built.rows, 1):.2f} s a report.",
    ], [Check(f"reports for {built.rows} clusters", built.seconds, "at_most", 120, " s")])


def _link_one(scenario: str, seed: int, tmp: Path) -> tuple[list[Measure], Measure, dict]:
    """Ingest and the per-day tables (measured as context), then linking alone over the
    scenario's whole range; returns the steps, the bare process and linking's counts."""
    folder = scenario_logs(scenario, seed)
    start, end = scenario_range(folder)
    out = tmp / scenario
    label = f"{scenario} ({(end - start).days + 1} d)"
    steps = [measure(f"{label}: ingest", run_ingest, folder / "logs", out, start, end,
                     folder / "accounts.csv"),
             measure(f"{label}: per-day tables", run_features, out, _days(start, end))]
    bare = measure(f"{label}: bare process (imports, database, views)", run_bare, out)
    steps.append(measure(f"{label}: linking (accounts)", run_linking, out, start, end))
    counts = json.loads((out / "linking.json").read_text(encoding="utf-8"))
    return steps, bare, {**counts, "rows": steps[0].rows, "days": (end - start).days + 1}


def bench_linking(seed: int) -> Section:
    """Issue 3: a 30-day window of about 100,000 accounts linked in bounded memory. The
    reference is the 7-day default scenario in the same command; memory is bounded in the
    sense that matters if RSS per account does not grow with the number of accounts."""
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        wide, wide_bare, w = _link_one("wide", seed, Path(tmp))
        ref, ref_bare, r = _link_one("default", seed, Path(tmp))
    w_link, r_link = wide[-1], ref[-1]
    per_k = {name: (link.peak_rss_mb / c["accounts"] * 1000,
                    (link.peak_rss_mb - bare.peak_rss_mb) / c["accounts"] * 1000)
             for name, link, bare, c in (("wide", w_link, wide_bare, w),
                                         ("default", r_link, ref_bare, r))}
    lines = [
        f"### Linking: `wide` (seed {seed}), {w['accounts']:,} accounts over {w['days']} days, "
        f"against `default` ({r['accounts']:,} accounts, {r['days']} days)", "",
        *HEADER, *(m.row() for m in (*wide, wide_bare, *ref, ref_bare)), "",
    ]
    for name, link, bare, c in (("wide", w_link, wide_bare, w), ("default", r_link, ref_bare, r)):
        lines.append(
            f"- `{name}`: {c['accounts']:,} accounts linked from {c['rows']:,} rows over "
            f"{c['days']} days in **{link.seconds:.1f} s**, peak RSS **{link.peak_rss_mb:,.0f} "
            f"MiB** ({bare.peak_rss_mb:,.0f} MiB of it the bare process); {c['keys']:,} "
            f"account keys, {c['pairs']:,} pair-type evidence rows, {c['edges']:,} edges, "
            f"{c['clusters']:,} clusters ({c['linked_clusters']:,} of several accounts, the "
            f"largest {c['largest']:,}); **{per_k[name][0]:.1f} MiB per 1,000 accounts** "
            f"({per_k[name][1]:.1f} above the bare process).")
    lines += [
        f"- Peak RSS per 1,000 accounts at {w['accounts']:,} ÷ at {r['accounts']:,}: "
        f"**{per_k['wide'][0] / per_k['default'][0]:.2f}** "
        f"({per_k['wide'][1] / per_k['default'][1]:.2f} above the bare process); "
        "at most 1 is memory growing no faster than the accounts (target: bounded). "
        "What grows with memory is the keys and pairs more than the accounts: `default`'s "
        "accounts are active on more days each, so they hold more keys.",
        f"- From `default` to `wide`: accounts {w['accounts'] / r['accounts']:.1f}x, "
        f"linking's peak RSS {w_link.peak_rss_mb / r_link.peak_rss_mb:.2f}x, its wall time "
        f"{w_link.seconds / r_link.seconds:.2f}x.", "",
    ]
    return with_checks(lines, [Check(
        "linking's peak RSS per 1,000 accounts, `wide` ÷ `default`",
        per_k["wide"][0] / per_k["default"][0], "at_most", 1)])


def merge_report(old: str, header: list[str], parts: list[list[str]]) -> str:
    """The report with the sections just run in place of their earlier figures (matched by
    heading up to its colon), new ones appended, and every other section kept: a run of
    some sections (``--only``) must not erase the figures of the rest. The header's date
    line is the new one; other lines before the first section are kept."""
    preamble: list[str] = []
    blocks: list[list[str]] = []
    for line in old.splitlines():
        if line.startswith("### "):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        else:
            preamble.append(line)
    date_line = next(line for line in header if line.startswith("Measured "))
    preamble = ([date_line if line.startswith("Measured ") else line for line in preamble]
                if preamble else header)

    def key(heading: str) -> str:
        return heading.split(":", 1)[0]

    for part in parts:
        same = [i for i, block in enumerate(blocks) if key(block[0]) == key(part[0])]
        if same:
            blocks[same[0]] = part
        else:
            if blocks and blocks[-1][-1] != "":
                blocks[-1].append("")
            blocks.append(part)
    text = "\n".join([*preamble, *(line for block in blocks for line in block)])
    return text.rstrip("\n") + "\n"


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*",
                        choices=[*SECTIONS], default=[*SECTIONS])
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    header = ["# Benchmarks", "",
              f"Measured {datetime.now(UTC):%Y-%m-%d} by `make bench` on {machine()}.", ""]
    parts, checks = [], []
    for name in args.only:
        part = SECTIONS[name](args.seed)
        print("\n".join(part.lines), flush=True)
        parts.append(part.lines)
        checks += part.checks
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    old = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
    REPORT.write_text(merge_report(old, header, parts), encoding="utf-8")
    print("\n".join(["", "### Targets", "", *summary(checks)]), flush=True)
    raise SystemExit(exit_status(checks))


SECTIONS: dict[str, Callable[[int], Section]] = {
    "ingest": bench_ingest, "smallfiles": bench_smallfiles, "peer": bench_peer,
    "seedday": bench_seedday, "profile": bench_profile, "scaling": bench_scaling,
    "reports": bench_reports, "linking": bench_linking, "parts": bench_parts}


if __name__ == "__main__":
    main()
