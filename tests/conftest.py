"""Shared test helpers: request records built in code and written in every input format."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from datetime import date
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
    """``forensics demo --json`` on the committed sample, once per test session, read-only;
    what it printed is kept beside the folder, in ``demo.json``."""
    out = tmp_path_factory.mktemp("sample") / "out"
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "demo", "--out", str(out),
                           "--json"], check=True, capture_output=True, timeout=600)
    (out.parent / "demo.json").write_bytes(done.stdout)
    return out
