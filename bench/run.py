"""``make bench``: the pipeline's speed against references measured in the same run.

In: a simulator scenario (generated once, cached under bench/.cache). Out: a table on the
terminal and the same figures in docs/benchmarks.md with the machine and the date. Each
measured step runs in its own process so its peak RSS is its own; figures are ratios to a
reference run in the same command, never absolute times compared with a constant.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

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
    seconds, rss, rows = queue.get()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"{name} failed with exit code {proc.exitcode}")
    return Measure(name, seconds, rss, rows)


def scenario_logs(scenario: str, seed: int) -> Path:
    """The scenario's simulated logs, generated once per (scenario, seed) and cached."""
    from pipeline.simulate import simulate

    folder = CACHE / f"{scenario}-seed{seed}"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        simulate(scenario, folder, seed=seed)
        (folder / ".complete").touch()
    return folder


def scenario_range(folder: Path) -> tuple[date, date]:
    days = sorted(date.fromisoformat(p.name.split("-", 1)[1].split(".")[0])
                  for p in (folder / "logs").glob("requests-*.jsonl*"))
    return days[0], days[-1]


def run_floor(logs: Path, target: Path) -> int:
    """DuckDB's bare read_json of the same files written to Parquet, same columns, typed."""
    from pipeline.schema import DUCKDB_TYPE, LOG_FIELDS
    from pipeline.warehouse import connect

    con = connect()
    columns = {f.name: DUCKDB_TYPE[f.kind] for f in LOG_FIELDS}
    target.mkdir(parents=True, exist_ok=True)
    rel = con.read_json(str(logs / "*.jsonl*"), format="newline_delimited", columns=columns)
    rel.write_parquet(str(target / "floor.parquet"), compression="zstd")
    return con.execute("SELECT count(*) FROM read_parquet($p)",
                       {"p": str(target / "floor.parquet")}).fetchall()[0][0]


def run_ingest(logs: Path, out: Path, start: date, end: date) -> int:
    from pipeline.ingest import ingest

    result = ingest(logs, out, start, end, run_id="bench", accounts=None)
    return result.rows_read


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def bench_ingest(scenario: str, seed: int) -> list[str]:
    folder = scenario_logs(scenario, seed)
    start, end = scenario_range(folder)
    size = sum(p.stat().st_size for p in (folder / "logs").iterdir())
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        floor = measure("floor: read_json -> parquet", run_floor, folder / "logs",
                        Path(tmp) / "floor")
        ours = measure("ingest (quarantine, ledger, partitions)", run_ingest,
                       folder / "logs", Path(tmp) / "out", start, end)
    ratio = ours.rows_per_second / floor.rows_per_second
    lines = [
        f"### Ingest, `{scenario}` scenario (seed {seed}): {ours.rows:,} rows, "
        f"{size / 2**20:.0f} MiB of gzip JSONL, {start} to {end + timedelta(days=0)}",
        "",
        "| step | wall s | rows/s | peak RSS MiB |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {m.name} | {m.seconds:.1f} | {m.rows_per_second:,.0f} | {m.peak_rss_mb:,.0f} |"
          for m in (floor, ours)),
        "",
        f"Ingest keeps **{ratio:.2f}** of the floor's throughput (target ≥ 0.5).",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} by `make bench` on {machine()}.",
        "",
        *bench_ingest(args.scenario, args.seed),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
