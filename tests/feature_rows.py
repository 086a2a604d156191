"""Requests and accounts snapshots built in code for the per-day tables: what the tests of
``pipeline.features`` (unit and integration) and the per-day golden cases (``tests/golden/``)
start from.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from pipeline import warehouse
from pipeline.ingest.accounts import ACCOUNTS_SNAPSHOT
from pipeline.registry import ACCOUNT_COLUMNS, REQUESTS_COLUMNS

from conftest import DAY


def at(text: str, day: date = DAY) -> datetime:
    """A UTC time: a full ISO 8601 timestamp, or a time of day ("10:00:04") on ``day``."""
    if "T" not in text:
        text = f"{day.isoformat()}T{text}+00:00"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def request_row(n: int, ts: str, account_id: str, **overrides: object) -> dict[str, object]:
    """One request as ingest writes it; unset fields get plain defaults, unique by ``n``."""
    row: dict[str, object] = {
        "request_id": f"req-{n:06d}",
        "ts": at(ts),
        "account_id": account_id,
        "api_key_id": "key-1",
        "source_ip": "203.0.113.7",
        "user_agent": "sdk/1.0",
        "model": "model-a",
        "status": 200,
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "max_tokens": 1024,
        "temperature": 0.7,
        "stop_reason": "end_turn",
        "latency_ms": 900,
        "system_hash": "sys-1",
        "prompt_hash": f"prompt-{n}",
        "prompt_text": None,
        "source_file": "golden.jsonl",
        "source_line": n,
    }
    row.update(overrides)
    if "ip_prefix" not in overrides:
        ip = row["source_ip"]
        row["ip_prefix"] = ip.rsplit(".", 1)[0] + ".0/24" if isinstance(ip, str) else None
    return row


def write_requests(out: Path, rows: list[dict[str, object]], day: date = DAY) -> Path:
    """A requests partition with exactly the schema of ``REQUESTS_COLUMNS``."""
    schema = {name: warehouse.POLARS_TYPE[kind] for name, kind in REQUESTS_COLUMNS}
    frame = pl.DataFrame([{n: r.get(n) for n in schema} for r in rows], schema=schema)
    path = warehouse.partition_path(out, "requests", day)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.sort("ts", "request_id").write_parquet(path)
    return path


def write_accounts(out: Path, rows: list[dict[str, object]]) -> None:
    """The accounts snapshot ingest exports, from partial rows."""
    schema = {name: warehouse.POLARS_TYPE[kind] for name, kind in ACCOUNT_COLUMNS}
    out.mkdir(parents=True, exist_ok=True)
    pl.DataFrame([{n: r.get(n) for n in schema} for r in rows], schema=schema).write_parquet(
        out / ACCOUNTS_SNAPSHOT)


def read(out: Path, table: str, day: date = DAY) -> list[dict[str, object]]:
    return pl.read_parquet(warehouse.partition_path(out, table, day)).to_dicts()


def synthetic_day(out: Path, n: int, day: date = DAY) -> Path:
    """``n`` varied requests of ``day`` made with DuckDB ``range()``: many accounts share
    prompts, prefixes and minutes, with 429s, so every table has rows. One request in ten
    is a 429 whose prompt the next request sends 3 s later on another account."""
    target = warehouse.partition_path(out, "requests", day)
    con = warehouse.connect()
    try:
        warehouse.atomic_copy(con, SYNTHETIC_SQL, {"n": n, "day": day}, target)
    finally:
        con.close()
    return target


SYNTHETIC_SQL = """
SELECT
    'req-' || i AS request_id,
    $day::DATE::TIMESTAMPTZ + to_microseconds(CASE WHEN i % 10 < 2
        THEN (hash(i // 10, 1) % 86000000000 + i % 10 * 3000000)::BIGINT
        ELSE (hash(i, 1) % 86400000000)::BIGINT END) AS ts,
    'acct-' || (hash(i, 2) % 300) AS account_id,
    'key-' || (hash(i, 3) % 400) AS api_key_id,
    '10.0.' || (hash(i, 4) % 20) || '.' || (hash(i, 5) % 250) AS source_ip,
    'ua-' || (hash(i, 7) % 5) AS user_agent,
    'model-' || (hash(i, 8) % 3) AS model,
    CASE WHEN i % 10 = 0 OR hash(i, 9) % 10 = 0 THEN 429 WHEN hash(i, 9) % 50 = 1 THEN 503
        ELSE 200 END::BIGINT AS status,
    (hash(i, 10) % 3000)::BIGINT AS input_tokens,
    (hash(i, 11) % 4000)::BIGINT AS output_tokens,
    (hash(i, 12) % 100)::BIGINT AS cache_creation_input_tokens,
    (hash(i, 13) % 1000)::BIGINT AS cache_read_input_tokens,
    2048::BIGINT AS max_tokens,
    (hash(i, 14) % 11) / 10.0::DOUBLE AS temperature,
    'end_turn' AS stop_reason,
    900::BIGINT AS latency_ms,
    'sys-' || (hash(i, 15) % 20) AS system_hash,
    CASE WHEN i % 10 < 2 THEN 'f-' || i // 10 ELSE 'p-' || (hash(i, 16) % 2000) END
        AS prompt_hash,
    'please solve task ' || (hash(i, 16) % 2000) || ' carefully and show every step'
        AS prompt_text,
    '10.0.' || (hash(i, 4) % 20) || '.0/24' AS ip_prefix,
    'synthetic.jsonl' AS source_file,
    i::BIGINT AS source_line
FROM range(0, $n) AS t(i)
ORDER BY ts, request_id
"""
