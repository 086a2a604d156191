"""Tests of the traffic simulator: determinism, the log contract, labels, the cache replay,
and the campaign properties later detection stages rely on."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from simulator.assets import WEBMAIL
from simulator.randomized import (
    BENIGN_SHARE,
    CAMPAIGN_SHARE,
    PROXIES,
    REGISTRATIONS,
    ROW_BUDGET,
    randomized_scenario,
)
from simulator.scenarios import CampaignSpec
from simulator.simulate import SCENARIOS, SimulationSummary, simulate, tiny_scenario

from conftest import read_logs


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


def test_scenarios_are_declared() -> None:
    assert {"sample", "default", "seedday"} <= set(SCENARIOS)
    assert SCENARIOS["sample"].days == 3 and SCENARIOS["default"].days == 7
    assert SCENARIOS["seedday"].days == 1
    kinds = {c.kind for c in SCENARIOS["sample"].campaigns}
    assert kinds == {"campaign", "stealth_campaign"}


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


def test_randomized_same_seed_same_design() -> None:
    sc_a, design_a = randomized_scenario(4242)
    sc_b, design_b = randomized_scenario(4242)
    assert sc_a == sc_b
    assert json.dumps(design_a, sort_keys=True) == json.dumps(design_b, sort_keys=True)
    assert randomized_scenario(4243)[1] != design_a


def test_randomized_designs_cover_the_ranges() -> None:
    designs = [randomized_scenario(seed)[1] for seed in range(60)]
    campaigns = [c for d in designs for c in d["campaigns"]]
    sizes = [c["size"] for c in campaigns]
    assert min(sizes) >= 10 and max(sizes) <= 10_000 and max(sizes) / min(sizes) >= 100
    assert {len(d["campaigns"]) for d in designs} == {1, 2, 3, 4}
    assert {c["registration"] for c in campaigns} == set(REGISTRATIONS)
    assert {c["proxies"] for c in campaigns} == set(PROXIES)
    assert {c["schedule"] for c in campaigns} == {"sync", "trickle"}
    assert {c["retries"] for c in campaigns} == {True, False}
    cards = [c["accounts_per_card"] for c in campaigns]
    assert min(cards) == 1 and max(cards) >= 100
    assert all(c["accounts_per_card"] <= c["size"] for c in campaigns)
    rates = [c["requests_per_account_day"] for c in campaigns]
    assert min(rates) < 10 and max(rates) > 100 and min(rates) >= 3 and max(rates) <= 200
    for key, lo, hi in (("nonce_share", 0, 1), ("paraphrase_share", 0, 1),
                        ("repeat_share", 0.05, 0.5)):
        values = [c[key] for c in campaigns]
        assert lo <= min(values) < lo + (hi - lo) / 4 and hi - (hi - lo) / 4 < max(values) <= hi
    days = [d["days"] for d in designs]
    assert min(days) <= 4 and max(days) >= 27 and min(days) >= 2 and max(days) <= 30
    assert {d["hashes_only"] for d in designs} == {True, False}
    individuals = [d["benign_drawn"]["n_individual"] for d in designs]
    assert max(individuals) / min(individuals) > 3


def test_randomized_row_budget_scales_volume_not_design() -> None:
    for seed in range(60):
        sc, design = randomized_scenario(seed)
        est = design["estimated_rows"]
        assert est["total"] <= ROW_BUDGET, seed
        assert est["benign"] <= ROW_BUDGET * BENIGN_SHARE * 1.01, seed
        for spec, c in zip(sc.campaigns, design["campaigns"], strict=True):
            assert c["estimated_rows"] <= ROW_BUDGET * CAMPAIGN_SHARE * 1.01, seed
            # the design as drawn is what runs: only lifetimes and activity may shrink
            assert spec.n_accounts == c["size"] and spec.registration == c["registration"]
            assert c["lifetime_days"][1] <= c["lifetime_days_drawn"][1]
            assert 0 < spec.activity <= 1
    # a smaller budget draws the same design at a smaller volume
    big, small = randomized_scenario(7)[1], randomized_scenario(7, row_budget=20_000)[1]
    assert [c["size"] for c in big["campaigns"]] == [c["size"] for c in small["campaigns"]]
    assert small["estimated_rows"]["total"] < big["estimated_rows"]["total"]


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

