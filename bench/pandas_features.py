"""The peer: account-day features as a data scientist would write them with pandas.

In: a folder of JSONL logs. Out: one row per account and UTC day with the counts of
``account_day`` that a plain script would compute. Written plainly on purpose (read the
JSONL with pandas, group by account and day); ``make bench`` times it against the
pipeline's ``sql/features/account_day.sql`` and tests/test_bench_peer.py checks it gives the same
numbers on a small day.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["request_count", "ok_count", "rate_limited_count", "input_tokens_sum",
           "output_tokens_sum", "cache_creation_input_tokens_sum",
           "cache_read_input_tokens_sum", "active_minute_count", "peak_rpm",
           "distinct_source_ip_count", "distinct_prompt_hash_count"]


def account_day_features(logs: Path) -> pd.DataFrame:
    frames = [pd.read_json(path, lines=True, dtype=False) for path in sorted(logs.glob("*.jsonl*"))]
    df = pd.concat(frames, ignore_index=True)
    df["ts"] = pd.to_datetime(df["ts"], utc=True, format="ISO8601")
    df["day"] = df["ts"].dt.date
    df["minute"] = df["ts"].dt.floor("min")
    for col in ["cache_creation_input_tokens", "cache_read_input_tokens"]:
        df[col] = df[col].fillna(0)
    df["ok"] = df["status"].between(200, 299)
    df["rate_limited"] = df["status"] == 429
    grouped = df.groupby(["account_id", "day"])
    out = pd.DataFrame({
        "request_count": grouped.size(),
        "ok_count": grouped["ok"].sum(),
        "rate_limited_count": grouped["rate_limited"].sum(),
        "input_tokens_sum": grouped["input_tokens"].sum(),
        "output_tokens_sum": grouped["output_tokens"].sum(),
        "cache_creation_input_tokens_sum": grouped["cache_creation_input_tokens"].sum(),
        "cache_read_input_tokens_sum": grouped["cache_read_input_tokens"].sum(),
        "active_minute_count": grouped["minute"].nunique(),
        "peak_rpm": df.groupby(["account_id", "day", "minute"]).size()
        .groupby(level=[0, 1]).max(),
        "distinct_source_ip_count": grouped["source_ip"].nunique(),
        "distinct_prompt_hash_count": grouped["prompt_hash"].nunique(),
    })
    return out.reset_index().sort_values(["account_id", "day"]).reset_index(drop=True)
