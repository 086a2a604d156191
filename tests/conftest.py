"""Shared test helpers: request records built in code and written in every input format,
the ``forensics`` command run in this process, and the session's run of the sample.

The CLI and the pipeline's runner are imported inside the helpers that use them: every
session imports this module, and a session of light tests alone need not pay for the data stack."""

from __future__ import annotations

import fcntl
import gzip
import io
import json
import math
import os
import pickle
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl
import pypdf
import pytest
import zstandard

from pipeline.settings import IngestParams

if TYPE_CHECKING:
    from click.testing import Result

    from pipeline.run.runner import RunResult

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

DAY = date(2026, 4, 1)

TESTS = Path(__file__).resolve().parent
FAST_TIERS = ("unit", "golden", "rules")
"""The folders ``make test-fast`` runs: tiny inputs built in code, in seconds. The others,
``integration`` (the sample pipeline, whole stages on real files, a real PostgreSQL server
and Chromium) and ``airflow`` (real ``airflow dags test`` runs), are marked ``slow``."""
STAGE_FIXTURES = frozenset({"sample_demo", "sample_run", "clean_run", "nights", "sample",
                            "tiny_random", "airflow_env", "shared_tmp"})
"""Fixtures that run whole stages (the sample pipeline, a simulation, an Airflow home, a
tmpfs): a test that needs one, directly or through another fixture, is not a fast test."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--cluster", action="store_true",
                     help="also collect tests/cluster: the multi-worker Airflow of make "
                          "cluster-up, started and stopped for real (make test-cluster)")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``tests/cluster`` starts a whole cluster (PostgreSQL, Redis, Airflow's services and
    two Celery workers): only ``make test-cluster`` (``--cluster``) collects it."""
    if collection_path == TESTS / "cluster" and not config.getoption("--cluster"):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow tiers, and refuse a fast-tier test that runs a whole stage: it would
    slow every edit's loop, so it belongs in ``tests/integration``. A cluster test named
    on the command line without ``--cluster`` is skipped, not run."""
    for item in items:
        tier = Path(str(item.fspath)).resolve().relative_to(TESTS).parts[0]
        if tier == "cluster" and not config.getoption("--cluster"):
            item.add_marker(pytest.mark.skip(reason="starts a cluster: make test-cluster"))
        if tier not in FAST_TIERS:
            item.add_marker(pytest.mark.slow)
        elif stages := STAGE_FIXTURES & set(getattr(item, "fixturenames", ())):
            raise pytest.UsageError(f"{item.nodeid} uses {sorted(stages)}, which run whole "
                                    "stages: move it to tests/integration")


def record(i: int, **overrides: object) -> dict[str, object]:
    """A valid request on 2026-04-01, unique by ``i``; overrides replace or add fields."""
    base: dict[str, object] = {
        "request_id": f"req-{i:06d}",
        "ts": f"2026-04-01T{(i // 60) % 24:02d}:{i % 60:02d}:00Z",
        "account_id": f"acct-{i % 7}",
        "api_key_id": f"key-{i % 3}",
        "source_ip": f"203.0.113.{i % 250}",
        "user_agent": "anthropic-sdk-python/0.40",
        "model": "model-a",
        "status": 200,
        "input_tokens": 100 + i,
        "output_tokens": 50,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "max_tokens": 1024,
        "temperature": 0.7,
        "stop_reason": "end_turn",
        "latency_ms": 900,
        "system_hash": None,
        "prompt_text": f"Question number {i}: what is {i} + {i}?",
    }
    base.update(overrides)
    return base


def jsonl_bytes(records: Iterable[dict[str, object] | str | bytes]) -> bytes:
    """JSONL from records; a str or bytes item is written as the line itself (bad lines)."""
    lines = []
    for r in records:
        if isinstance(r, bytes):
            lines.append(r)
        elif isinstance(r, str):
            lines.append(r.encode())
        else:
            lines.append(json.dumps({k: v for k, v in r.items() if v is not None}).encode())
    return b"\n".join(lines) + b"\n"


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


SUFFIX = {"none": "", "gzip": ".gz", "zstd": ".zst"}


def write_logs(folder: Path, name: str, records: list[dict[str, object]], fmt: str = "jsonl",
               compression: str = "none") -> Path:
    """Write records as one log file in the given format and compression."""
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        path = folder / f"{name}.parquet"
        pl.DataFrame(records, infer_schema_length=None).write_parquet(path)
        return path
    if fmt == "csv":
        buf = io.BytesIO()
        pl.DataFrame(records, infer_schema_length=None).write_csv(buf)
        data = buf.getvalue()
    else:
        data = jsonl_bytes(records)
    path = folder / f"{name}.{fmt}{SUFFIX[compression]}"
    path.write_bytes(compress(data, compression))
    return path


def open_db(db: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A written forensics.duckdb opened as the README tells an investigator to: paths in its
    views resolve against its own folder."""
    return duckdb.connect(str(db), read_only=read_only,
                          config={"file_search_path": str(db.resolve().parent)})


def query(db: Path, sql: str, params: dict[str, object] | None = None) -> list[tuple]:
    """Rows of a query on a written forensics.duckdb, read-only like an investigator."""
    con = open_db(db)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


@dataclass(frozen=True)
class SampleDemo:
    """The session's run of the sample: its output folder and what ``run_pipeline`` returned."""

    out: Path
    result: RunResult


def cli(*args: str) -> Result:
    """``forensics ARGS`` in this process, through typer's ``CliRunner`` on the app as ``main``
    builds it: its exit code, standard output and standard error apart. An exception the
    command does not turn into an exit code fails the test."""
    from typer.testing import CliRunner  # with the CLI: see the module's docstring

    from pipeline.run.cli import full_app  # with the CLI: see the module's docstring

    return CliRunner().invoke(full_app(), list(args), prog_name="forensics",
                              catch_exceptions=False)


@pytest.fixture(scope="session")
def sample_demo(tmp_path_factory: pytest.TempPathFactory) -> SampleDemo:
    """``forensics demo --json`` on the committed sample, once per test session, read-only;
    what it printed is kept beside the folder, in ``demo.json``, and what the pipeline
    returned is kept with the folder, so that the demo's printed summary is tested on this
    run too (its test hands the result to the command rather than run the sample again).

    Under pytest-xdist the workers share one run: the first to ask makes it in the folder
    above their own temporary folders, under a lock, and the others read it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / "sample-demo"
    with open(root / "sample-demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "result.pickle").exists():
            result = _run_demo(folder / "out")
            (folder / "result.pickle").write_bytes(pickle.dumps(result))
    return SampleDemo(folder / "out", pickle.loads((folder / "result.pickle").read_bytes()))


def _run_demo(out: Path) -> RunResult:
    from pipeline.run import runner  # the data stack: see the module's docstring

    results: list[RunResult] = []
    run_pipeline = runner.run_pipeline

    def run_and_keep(*args: object, **kwargs: object) -> RunResult:
        results.append(run_pipeline(*args, **kwargs))
        return results[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "run_pipeline", run_and_keep)
        done = cli("demo", "--out", str(out), "--json")
    assert done.exit_code == 0, done.stderr
    (out.parent / "demo.json").write_text(done.stdout, encoding="utf-8")
    [result] = results
    return result


@pytest.fixture(scope="session")
def sample_run(sample_demo: SampleDemo) -> Path:
    """The session's sample run's output folder, read-only (a test that changes it works on
    a copy)."""
    return sample_demo.out


def comparable(value: object) -> object:
    """A value as a golden case spells it: times as ISO 8601 in UTC, dates as ISO dates."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def assert_golden_rows(table: str, got: list[dict[str, object]],
                       want: list[dict[str, object]]) -> None:
    """``got`` equals a golden case's expected rows, in order, on the columns the rows name
    (floats to 12 digits); a missing or extra row fails as surely as a wrong value."""
    columns = list(want[0]) if want else []
    assert all(list(w) == columns for w in want), "expected rows must name the same columns"
    rows = [{c: comparable(g[c]) for c in columns} for g in got]
    assert len(rows) == len(want), f"{table}: {len(rows)} rows, expected {len(want)}: {rows}"
    for i, (g, w) in enumerate(zip(rows, want, strict=True)):
        wrong = {c: (g[c], w[c]) for c in columns if not _same(g[c], w[c])}
        assert not wrong, f"{table} row {i}: (got, expected) {wrong}"


def _same(got: object, want: object) -> bool:
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)
    return got == want


def forensics(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.run.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, check=False)


def objects(data: bytes, kind: str) -> list[dict]:
    return [o for o in json.loads(data)["objects"] if o["type"] == kind]


LENIENT = IngestParams(max_bad_share=1.0, allow_empty=True)


def partition(out: Path, day: date = DAY) -> Path:
    return out / "requests" / f"date={day.isoformat()}" / "part-0.parquet"


def labels(pairs: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame({"account_id": list(pairs), "label": list(pairs.values())},
                        schema={"account_id": pl.String, "label": pl.Int64})


def pdf_text(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def read_logs(out: Path) -> pl.DataFrame:
    files = sorted((out / "logs").glob("requests-*.jsonl.gz"))
    return pl.concat(
        [pl.read_ndjson(f, infer_schema_length=None) for f in files], how="diagonal_relaxed"
    ).with_columns(t=pl.col("ts").str.to_datetime(time_zone="UTC"))
