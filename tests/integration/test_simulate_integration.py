"""Tests of the traffic simulator: determinism, the log contract, labels, the cache replay,
and the campaign properties later detection stages rely on."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline import SAMPLE_DIR
from pipeline.ingest.ingest import IngestParams
from pipeline.registry import ACCOUNT_COLUMNS, LOG_FIELD_NAMES, LOG_FIELDS
from pipeline.run.runner import RunRequest, run_ingest
from simulator.assets import COUNTRIES
from simulator.population import POPULATIONS
from simulator.randomized import (
    randomized_scenario,
)
from simulator.simulate import SimulationSummary, simulate

from conftest import read_logs

SAMPLE_DIR = SAMPLE_DIR


# the populations of the named scenarios; the randomized scenario's come after them
NAMED_POPULATIONS = POPULATIONS[: POPULATIONS.index("stealth_campaign") + 1]


PY_TYPES = {"string": str, "int": int, "float": float, "timestamp": str}


TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationSummary, Path]:
    out = tmp_path_factory.mktemp("sample")
    return simulate("sample", out), out


@pytest.fixture(scope="module")
def sample_logs(sample: tuple[SimulationSummary, Path]) -> pl.DataFrame:
    labels = pl.read_csv(sample[1] / "labels.csv")
    return read_logs(sample[1]).join(labels, on="account_id", how="left")


def test_every_population_present_in_sample(
    sample: tuple[SimulationSummary, Path], sample_logs: pl.DataFrame
) -> None:
    summary, _ = sample
    present = set(sample_logs["population"].unique().to_list())
    assert present == set(NAMED_POPULATIONS)
    assert all(summary.requests_by_population[p] > 0 for p in NAMED_POPULATIONS)
    assert summary.n_requests == sample_logs.height
    camp = sample_logs.filter(pl.col("is_campaign"))
    per_op = camp.group_by("operator_id").agg(pl.col("account_id").n_unique().alias("n"))
    assert per_op.height >= 2 and per_op["n"].min() >= 40
    assert summary.n_campaign_accounts == pl.read_csv(sample[1] / "labels.csv")["is_campaign"].sum()


def test_sample_is_the_committed_data_byte_for_byte(
    sample: tuple[SimulationSummary, Path],
) -> None:
    """The randomized scenario's knobs and populations must not move a named scenario's
    bytes: `simulate --scenario sample --seed 7` still writes data/sample exactly."""
    summary, out = sample
    for path in summary.files:
        rel = path.relative_to(out)
        assert path.read_bytes() == (SAMPLE_DIR / rel).read_bytes(), rel
    assert not (out / "scenario.json").exists()


def test_labels_match_logs(
    sample: tuple[SimulationSummary, Path], sample_logs: pl.DataFrame
) -> None:
    out = sample[1]
    accounts = pl.read_csv(out / "accounts.csv")
    labels = pl.read_csv(out / "labels.csv")
    assert accounts.columns == [name for name, _ in ACCOUNT_COLUMNS]
    assert labels.columns == ["account_id", "operator_id", "population", "is_campaign"]
    assert accounts["account_id"].is_unique().all()
    assert set(accounts["account_id"]) == set(labels["account_id"])
    assert set(sample_logs["account_id"]) <= set(accounts["account_id"])
    assert sample_logs["population"].null_count() == 0
    # campaign truth is per operator, and matches the population label
    assert (
        labels["is_campaign"] == labels["population"].is_in(["campaign", "stealth_campaign"])
    ).all()
    # every account exists before its first request
    first = sample_logs.group_by("account_id").agg(pl.col("t").min())
    created = accounts.select("account_id", pl.col("created_at").str.to_datetime(time_zone="UTC"))
    joined = first.join(created, on="account_id")
    assert (joined["created_at"] <= joined["t"]).all()


def test_schema_and_token_semantics(
    sample: tuple[SimulationSummary, Path], sample_logs: pl.DataFrame
) -> None:
    path = sorted((sample[1] / "logs").iterdir())[0]
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for _, line in zip(range(3000), fh, strict=False)]
    for rec in records:
        assert list(rec) == list(LOG_FIELD_NAMES)
        for f in LOG_FIELDS:
            value = rec[f.name]
            if value is None:
                assert not f.required, f.name
            else:
                assert isinstance(value, PY_TYPES[f.kind]), (f.name, value)
        assert rec["ts"].endswith("Z")
    df = sample_logs
    assert df["request_id"].is_unique().all()
    for f in (*TOKEN_FIELDS, "max_tokens", "latency_ms"):
        assert df[f].min() >= 0, f
    ok = df.filter(pl.col("status") == 200)
    hit_max = ok["output_tokens"] == ok["max_tokens"]
    assert (hit_max == (ok["stop_reason"] == "max_tokens")).all()
    assert (ok["output_tokens"] <= ok["max_tokens"]).all()
    assert set(df["status"].unique()) <= {200, 429, 500, 529}
    assert (df["status"] == 200).mean() > 0.97
    assert df["model"].n_unique() >= 3
    assert df["source_ip"].str.contains(":").any()  # some IPv6
    for text, digest in zip(df["prompt_text"], df["prompt_hash"], strict=True):
        assert hashlib.sha256(" ".join(text.split()).encode()).hexdigest() == digest
    has_sys = df["system_hash"].is_not_null()
    assert df.filter(~has_sys)["cache_read_input_tokens"].max() == 0
    assert df.filter(~has_sys)["cache_creation_input_tokens"].max() == 0


def test_cache_replay_is_consistent(sample_logs: pl.DataFrame) -> None:
    ok = sample_logs.filter(pl.col("status") == 200).sort("account_id", "system_hash", "model", "t")
    cached = ok.filter(
        (pl.col("cache_read_input_tokens") > 0) | (pl.col("cache_creation_input_tokens") > 0)
    )
    # only prefixes of at least 1,024 tokens are cached, and a prefix always has one size
    assert (
        cached.select(pl.max_horizontal("cache_read_input_tokens", "cache_creation_input_tokens"))
        .min()
        .item()
        >= 1024
    )
    per_prefix = (
        ok.filter(pl.col("system_hash").is_not_null())
        .group_by("system_hash")
        .agg(
            any_cache=(
                (pl.col("cache_read_input_tokens") + pl.col("cache_creation_input_tokens")) > 0
            ).any(),
            all_cache=(
                (pl.col("cache_read_input_tokens") + pl.col("cache_creation_input_tokens")) > 0
            ).all(),
            sizes=pl.max_horizontal("cache_read_input_tokens", "cache_creation_input_tokens")
            .filter(pl.max_horizontal("cache_read_input_tokens", "cache_creation_input_tokens") > 0)
            .n_unique(),
        )
    )
    assert (per_prefix["any_cache"] == per_prefix["all_cache"]).all()
    assert per_prefix["sizes"].max() == 1
    # a read needs the same account, prefix and model within the previous five minutes
    prev = ok.with_columns(
        gap=(pl.col("t") - pl.col("t").shift(1)).over("account_id", "system_hash", "model")
    )
    reads = prev.filter(pl.col("cache_read_input_tokens") > 0)
    assert reads.height > 0
    assert reads["gap"].null_count() == 0
    assert (reads["gap"] <= dt.timedelta(minutes=5)).all()
    # heavy legitimate caching, none at all for campaigns (nonce busting)
    share = ok.group_by("population").agg((pl.col("cache_read_input_tokens") > 0).mean().alias("r"))
    r = dict(share.iter_rows())
    assert r["app"] > 0.6 and r["enterprise"] > 0.4
    assert r["campaign"] == 0 and r["stealth_campaign"] == 0


def _hour_cv(hours: pl.Series) -> float:
    counts = np.bincount(hours.to_numpy(), minlength=24)
    return float(counts.std() / counts.mean())


def test_campaign_traffic_shape(
    sample: tuple[SimulationSummary, Path], sample_logs: pl.DataFrame
) -> None:
    camp = sample_logs.filter(pl.col("population") == "campaign")
    per_day = camp.group_by("account_id", pl.col("t").dt.date()).len()["len"]
    assert 8 <= per_day.mean() <= 16
    # flat in UTC, whereas individuals follow their local clock
    assert _hour_cv(camp["t"].dt.hour()) < 0.25
    tz = {c: off for c, off, _ in COUNTRIES}
    accounts = pl.read_csv(sample[1] / "accounts.csv").select("account_id", "country")
    ind = sample_logs.filter(pl.col("population") == "individual").join(accounts, on="account_id")
    local = (
        ind["t"].dt.hour().cast(pl.Float64)
        + ind["country"].replace_strict(tz, return_dtype=pl.Float64)
    ).floor() % 24
    assert _hour_cv(local.cast(pl.Int64)) > 0.4
    # 429 failover: the same prompt follows within seconds on another account
    fails = camp.filter(pl.col("status") == 429)
    assert fails.height > 0
    follow = fails.join(camp.filter(pl.col("status") == 200), on="prompt_hash", suffix="_r")
    follow = follow.filter(
        (pl.col("account_id_r") != pl.col("account_id"))
        & (pl.col("t_r") > pl.col("t"))
        & (pl.col("t_r") - pl.col("t") < dt.timedelta(seconds=10))
    )
    assert follow["request_id"].n_unique() == fails.height
    # long-output harvesting and repeated sampling above the benign level
    ok = sample_logs.filter(pl.col("status") == 200)
    sat = dict(
        ok.group_by("population").agg((pl.col("stop_reason") == "max_tokens").mean()).iter_rows()
    )
    assert sat["campaign"] > 3 * sat["individual"]
    multi = camp.group_by("prompt_hash").agg(pl.col("account_id").n_unique().alias("n"))
    assert (multi["n"] > 1).mean() > 0.05
    assert (camp["temperature"] > 0).all()
    # IP rotation: many accounts share a /24 within the same hour
    pref = camp.with_columns(
        p=pl.col("source_ip").str.replace(r"\.\d+$", ""), h=pl.col("t").dt.truncate("1h")
    )
    shared = pref.group_by("p", "h").agg(pl.col("account_id").n_unique().alias("n"))
    assert shared["n"].mean() > 1.5


@pytest.fixture(scope="module")
def tiny_random(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationSummary, Path, dict]:
    out = tmp_path_factory.mktemp("randomized")
    sc, design = randomized_scenario(13, row_budget=15_000)
    return simulate(sc, out, seed=13, design=design), out, design


def test_tiny_randomized_simulation_writes_what_ingest_reads(
    tiny_random: tuple[SimulationSummary, Path, dict], tmp_path: Path
) -> None:
    summary, out, design = tiny_random
    written = json.loads((out / "scenario.json").read_text())
    assert list(written) == sorted(written)
    assert written["campaigns"] == design["campaigns"]
    realized = written["realized"]
    assert realized["rows"] == summary.n_requests
    # the estimate the budget rests on is close to what was simulated
    assert 0.7 < summary.n_requests / design["estimated_rows"]["total"] < 1.3
    labels = pl.read_csv(out / "labels.csv")
    assert labels.columns == ["account_id", "operator_id", "population", "is_campaign"]
    campaign = labels.filter(pl.col("is_campaign"))
    assert set(campaign["operator_id"]) == {c["operator_id"] for c in design["campaigns"]}
    assert set(labels["population"]) >= {"isp_customer", "mobile", "campus", "agent_framework"}
    for c in design["campaigns"]:
        active = realized["campaigns"][c["operator_id"]]["active_accounts"]
        assert 0.5 * c["estimated_active_accounts"] <= active <= c["size"]
    start = summary.start
    end = start + dt.timedelta(days=summary.days - 1)
    result = run_ingest(RunRequest(logs=out / "logs", out=tmp_path / "run", start=start, end=end,
                                   accounts=out / "accounts.csv"), IngestParams())
    assert result.rows_kept == summary.n_requests and result.rows_quarantined == 0

