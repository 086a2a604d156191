"""Shared test helpers: request records built in code and written in every input format."""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
import zstandard

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

DAY = date(2026, 4, 1)

# Fixtures that run whole stages (the sample pipeline, a simulation, an Airflow home, a
# tmpfs): a test that needs one, directly or through another fixture, is in the slow tier,
# so `make test-fast` (pytest -m "not slow") keeps to unit, golden and rule tests.
STAGE_FIXTURES = frozenset({"sample_run", "clean_run", "nights", "sample", "tiny_random",
                            "airflow_env", "shared_tmp"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if STAGE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``forensics demo`` on the committed sample, once per test session, read-only."""
    out = tmp_path_factory.mktemp("sample") / "out"
    subprocess.run([sys.executable, "-m", "pipeline.run.cli", "demo", "--out", str(out)],
                   check=True, capture_output=True, timeout=600)
    return out


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
