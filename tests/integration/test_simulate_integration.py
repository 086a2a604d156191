"""Tests of the traffic simulator: determinism, the log contract, labels, the cache replay,
and the campaign properties later detection stages rely on."""

from __future__ import annotations

import dataclasses
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
from simulator.assets import COUNTRIES, WEBMAIL
from simulator.population import POPULATIONS
from simulator.randomized import (
    randomized_scenario,
)
from simulator.scenarios import CampaignSpec
from simulator.simulate import SCENARIOS, SimulationSummary, simulate, tiny_scenario

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


def _tiny(tmp: Path, name: str, **kw: object) -> tuple[SimulationSummary, Path]:
    out = tmp / name
    return simulate(tiny_scenario(days=2), out, **kw), out


@pytest.fixture(scope="module")
def seed_five(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationSummary, Path]:
    """The tiny scenario's two days under seed 5, simulated once for the tests that only
    read it (the baseline each knob is compared with)."""
    return _tiny(tmp_path_factory.mktemp("simulated"), "seed5", seed=5)


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, seed_five) -> None:
    a, out_a = _tiny(tmp_path, "a", seed=11)
    b, out_b = _tiny(tmp_path, "b", seed=11)
    _, out_c = seed_five
    names = [p.relative_to(out_a) for p in a.files]
    assert names == [p.relative_to(out_b) for p in b.files]
    for rel in names:
        assert (out_a / rel).read_bytes() == (out_b / rel).read_bytes(), rel
    assert any((out_a / rel).read_bytes() != (out_c / rel).read_bytes() for rel in names)
    assert a.requests_by_population == b.requests_by_population


def test_window_override(tmp_path: Path) -> None:
    s, out = _tiny(tmp_path, "w", days=1, start=dt.date(2026, 5, 3))
    assert s.start == dt.date(2026, 5, 3) and s.days == 1
    assert [p.name for p in (out / "logs").iterdir()] == ["requests-2026-05-03.jsonl.gz"]
    ts = read_logs(out)["t"]
    assert ts.dt.date().unique().to_list() == [dt.date(2026, 5, 3)]


def test_hashes_only_drops_text_keeps_hash(tmp_path: Path) -> None:
    _, full = _tiny(tmp_path, "full", seed=5, days=1)
    _, bare = _tiny(tmp_path, "bare", seed=5, days=1, hashes_only=True)
    path = next((bare / "logs").iterdir())
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    assert "prompt_text" not in first and first["prompt_hash"]
    a, b = read_logs(full), read_logs(bare)
    assert "prompt_text" not in b.columns
    assert a["prompt_hash"].to_list() == b["prompt_hash"].to_list()


def test_benign_activity_thins_benign_days_only(tmp_path: Path, seed_five) -> None:
    base, out_a = seed_five
    thin = simulate(tiny_scenario(days=2, benign_activity=0.25), tmp_path / "thin", seed=5)
    # the same accounts; fewer benign requests; the campaigns' traffic untouched
    for name in ("accounts.csv", "labels.csv"):
        assert (out_a / name).read_bytes() == (tmp_path / "thin" / name).read_bytes()
    ratio = thin.requests_by_population["individual"] / base.requests_by_population["individual"]
    assert 0.1 < ratio < 0.45
    for pop in ("campaign", "stealth_campaign", "app", "cloud_app"):
        assert thin.requests_by_population[pop] == base.requests_by_population[pop]
    assert SCENARIOS["wide"].days == 30 and SCENARIOS["wide"].benign_activity < 1.0


def test_webmail_registration_changes_only_the_campaigns_mail(tmp_path: Path,
                                                              seed_five) -> None:
    _, private = seed_five
    sc = tiny_scenario(days=2)
    sc = dataclasses.replace(sc, campaigns=tuple(
        dataclasses.replace(c, registration="webmail") for c in sc.campaigns))
    simulate(sc, tmp_path / "webmail", seed=5)
    labels = pl.read_csv(private / "labels.csv").select("account_id", "population")
    mail = {name: pl.read_csv(out / "accounts.csv").join(labels, on="account_id")
            for name, out in (("private", private), ("webmail", tmp_path / "webmail"))}
    loud = pl.col("population") == "campaign"
    assert mail["private"].filter(loud)["email_domain"].str.starts_with("mbx-").all()
    webmail = mail["webmail"].filter(loud)["email_domain"]
    assert webmail.is_in(["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com",
                          "hotmail.com"]).all()
    assert mail["private"].filter(~loud).equals(mail["webmail"].filter(~loud))
    assert (mail["private"].drop("email_domain")).equals(mail["webmail"].drop("email_domain"))
    assert SCENARIOS["webmail"].campaigns[0].registration == "webmail"


def _knob_scenario(**campaign: object) -> object:
    spec = CampaignSpec("op-knobs", "campaign", n_accounts=60, requests_per_account_day=30.0,
                        wave_span_days=(-1.0, -0.5), n_waves=2, lifetime_days=(3.0, 4.0),
                        **campaign)
    return tiny_scenario(days=2, n_isp_customers=300, n_isp_domains=3, n_mobile=120,
                         n_campuses=2, campus_students=(20, 30), n_labs=1,
                         lab_accounts=(2, 3), n_agent_users=30, campaigns=(spec,))


def test_campaign_knobs(tmp_path: Path) -> None:
    """No shared registration, mobile proxies, synchronized batches, no retries, half the
    requests without a nonce: each knob shows in the logs as designed."""
    sc = _knob_scenario(registration="none", proxies="mobile", schedule="sync",
                        failover_share=0.0, nonce_share=0.5, paraphrase_share=0.8)
    simulate(sc, tmp_path, seed=3)
    labels = pl.read_csv(tmp_path / "labels.csv")
    accounts = pl.read_csv(tmp_path / "accounts.csv").join(labels, on="account_id")
    logs = read_logs(tmp_path).join(labels, on="account_id")
    camp = accounts.filter(pl.col("is_campaign"))
    assert camp["payment_fingerprint"].is_unique().all()
    isp = accounts.filter(pl.col("population") == "isp_customer")["email_domain"]
    assert isp.str.starts_with("isp-").all() and isp.value_counts()["count"].max() >= 80
    assert not set(isp) & set(WEBMAIL)
    assert camp["email_domain"].is_in([*WEBMAIL, *set(isp)]).all()
    c_logs = logs.filter(pl.col("is_campaign"))
    assert (c_logs["status"] != 429).all()
    prefix = pl.col("source_ip").str.replace(r"\.\d+$", "")
    mobile = set(logs.filter(pl.col("population") == "mobile").select(prefix).to_series())
    assert set(c_logs.select(prefix).to_series()) <= mobile
    first = c_logs.group_by("account_id", pl.col("t").dt.date().alias("d")).agg(pl.col("t").min())
    # accounts start together (those created that day start when they are created)
    together = first.with_columns(
        (pl.col("t") - pl.col("t").min().over("d") <= dt.timedelta(minutes=2)).alias("sync"))
    assert together["sync"].mean() > 0.95
    with_nonce = c_logs["prompt_text"].str.contains(r"\d{9,}")
    assert 0.3 < with_nonce.mean() < 0.7
    # a campus's homework: the same prompt from many students behind one /24 in one hour
    campus = logs.filter(pl.col("population") == "campus").with_columns(p=prefix)
    same = campus.group_by("p", "prompt_hash", pl.col("t").dt.truncate("1h")).agg(
        pl.col("account_id").n_unique().alias("n"))
    assert same["n"].max() >= 5
    lab = logs.filter(pl.col("population") == "research_lab")
    per_minute = lab.group_by("account_id", pl.col("t").dt.truncate("1m")).len()["len"]
    assert per_minute.max() <= 50 and per_minute.quantile(0.5) >= 35


@pytest.mark.parametrize("public_share", [0.0, 0.6])
def test_a_campaign_sending_public_prompts_bare_shares_hashes_with_benign_users(
        tmp_path: Path, public_share: float) -> None:
    """With ``public_share`` a campaign sends that share of its prompts as the bare public
    text (no wrapper, opener or nonce), so some of its hashes are benign users' too; without
    it every campaign prompt carries the operator's wrapper and none is."""
    simulate(_knob_scenario(public_share=public_share), tmp_path, seed=3)
    labels = pl.read_csv(tmp_path / "labels.csv")
    logs = read_logs(tmp_path).join(labels, on="account_id")
    hashes = {side: set(logs.filter(pl.col("is_campaign") == side)["prompt_hash"])
              for side in (True, False)}
    shared = hashes[True] & hashes[False]
    if public_share:
        assert len(shared) >= 10
    else:
        assert not shared


def test_isp_registration_and_residential_proxies(tmp_path: Path) -> None:
    sc = _knob_scenario(registration="isp", proxies="residential", accounts_per_card=20)
    simulate(sc, tmp_path, seed=4)
    labels = pl.read_csv(tmp_path / "labels.csv")
    accounts = pl.read_csv(tmp_path / "accounts.csv").join(labels, on="account_id")
    camp = accounts.filter(pl.col("is_campaign"))
    benign_isp = set(accounts.filter(pl.col("population") == "isp_customer")["email_domain"])
    assert set(camp["email_domain"]) <= benign_isp
    assert camp["payment_fingerprint"].value_counts()["count"].max() == 20
    logs = read_logs(tmp_path).join(labels, on="account_id").filter(pl.col("is_campaign"))
    assert (logs["status"] == 429).any()  # the default key pool retries
    per_day = logs.group_by("account_id", pl.col("t").dt.date()).agg(
        pl.col("source_ip").filter(pl.col("status") == 200).n_unique())
    assert per_day["source_ip"].max() == 1  # one home IP a day
