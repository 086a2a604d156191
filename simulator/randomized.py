"""The randomized scenario: every campaign's design and every benign quirk drawn per seed.

In: a seed (and optionally a row budget). Out: a ``Scenario`` for ``simulate`` and the drawn
design as a plain dict (what ``simulate`` writes to ``scenario.json`` and the sweep reports
next to each campaign's recall).

Why: the named scenarios were tuned against; a detector that is only right on them may be
right by accident. Here each seed draws one to four operators from wide ranges (size 10 to
10,000 accounts, 1 to 300 accounts per card, five registration styles, retries or none,
nonce and paraphrase shares, synchronized batches or a 24/7 trickle, datacenter,
residential or mobile proxies, 3 to 200 requests per account-day, repeat share 0.05 to 0.5)
among benign populations whose sizes are drawn too, over a window of 2 to 30 days, with
prompt text or hashes only.

Row budget: the design is drawn from the full ranges first; then, so that a sweep stays
affordable on a small machine, the *volume* is scaled, never the design. Benign traffic is
held to a third of the budget (population counts and daily activity each scaled by the
square root of the needed factor; apps' daily volume by the factor itself). Each campaign is
held to a sixth (its account lifetimes shortened, down to 6 hours for a trickle and one day
for synchronized batches, then its accounts' daily chance of working lowered), so four
campaigns and the benign traffic together stay under the budget. The estimate is analytic
(mean requests per account-day of each population; a fixed Monte Carlo of the campaign's
account lifetimes against the window); ``tests/integration/test_simulate_integration.py``
checks it against a real
simulation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np

from simulator.scenarios import CampaignSpec, Scenario

ROW_BUDGET = 600_000
"""Upper bound on a randomized scenario's estimated rows (a sweep seed runs in minutes)."""
BENIGN_SHARE = 1 / 3
CAMPAIGN_SHARE = 1 / 6
MIN_LIFETIME_DAYS = {"trickle": 0.25, "sync": 1.0}

REGISTRATIONS = ("private", "webmail", "isp", "mixed", "none")
SCHEDULES = ("sync", "trickle")
PROXIES = ("datacenter", "residential", "mobile")
_START = dt.date(2026, 4, 1)

# Mean requests per account-day at activity 1 (from the generators' distributions; see the
# module docstring). Session populations: P(active) 0.44 x 2.6 sessions x 4.2 requests,
# weekends slightly busier.
_PER_ACCOUNT_DAY = {
    "individual": 5.0, "shared_nat": 5.0, "vpn": 5.0, "default_prompt": 5.0,
    "isp_customer": 5.0, "mobile": 5.0, "campus": 5.6, "agent_framework": 23.0,
    "enterprise": 26.5, "benchmark_researcher": 157.0, "research_lab": 390.0,
    "cloud_app": 110.0,
}
_APP_FACTOR = 1.08  # lognormal(0, 0.4) around the app's daily volume


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def estimate_benign_rows(sc: Scenario) -> float:
    """Expected benign requests over the scenario's window."""
    per = _PER_ACCOUNT_DAY
    act = sc.benign_activity
    mean_enterprise = sum(sc.enterprise_accounts) / 2
    mean_campus = sum(sc.campus_students) / 2
    mean_lab = sum(sc.lab_accounts) / 2
    daily = (
        act * per["individual"] * (sc.n_individual + sc.n_shared_nat + sc.n_vpn
                                   + sc.n_default_prompt + sc.n_isp_customers + sc.n_mobile)
        + act * per["campus"] * sc.n_campuses * mean_campus
        + act * per["agent_framework"] * sc.n_agent_users
        + act * per["enterprise"] * sc.n_enterprises * mean_enterprise
        + act * per["research_lab"] * sc.n_labs * mean_lab
        + per["benchmark_researcher"] * sc.n_researchers
        + per["cloud_app"] * sc.n_cloud_apps
        + _APP_FACTOR * sc.app_requests_per_day * sc.n_apps
    )
    return daily * sc.days


def _lifetimes(spec: CampaignSpec, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sampled account's alive days inside the window and the days it touches (a fixed
    Monte Carlo of the account builder's creation and lifetime draws)."""
    rng = np.random.default_rng(12_345)
    m = 4_000
    lo, hi = spec.wave_span_days
    waves = np.linspace(lo, min(hi, days - 0.05), max(1, spec.n_waves))
    created = waves[rng.integers(0, len(waves), m)] + rng.uniform(0, 2, m) / 24
    first = created + rng.uniform(0.1, 6, m) / 24
    last = first + rng.uniform(*spec.lifetime_days, m)
    alive = np.clip(np.minimum(last, days) - np.maximum(first, 0), 0, None)
    touched = np.where(alive > 0, np.ceil(np.minimum(last, days)) - np.floor(np.maximum(first, 0)),
                       0)
    return alive, touched


def estimate_campaign(spec: CampaignSpec, days: int) -> tuple[float, float]:
    """Expected requests (429 retries included) and expected accounts active in the window."""
    alive, touched = _lifetimes(spec, days)
    rows = (spec.n_accounts * float(alive.mean()) * spec.activity
            * spec.requests_per_account_day * (1 + spec.failover_share))
    active = spec.n_accounts * float(np.mean(1 - (1 - spec.activity) ** touched))
    return rows, active


def _fit_campaign(spec: CampaignSpec, days: int, cap: float) -> CampaignSpec:
    """Shorten lifetimes, then lower daily activity, until the expected rows fit ``cap``."""
    rows, _ = estimate_campaign(spec, days)
    if rows <= cap:
        return spec
    lo, hi = spec.lifetime_days
    floor = MIN_LIFETIME_DAYS[spec.schedule]
    shrink = max(cap / rows, min(1.0, floor / lo))
    spec = dataclasses.replace(spec, lifetime_days=(_r(lo * shrink), _r(hi * shrink)))
    rows, _ = estimate_campaign(spec, days)
    if rows > cap:
        spec = dataclasses.replace(spec, activity=_r(spec.activity * cap / rows * 0.98, 6))
    return spec


def _draw_campaign(rng: np.random.Generator, k: int, days: int) -> CampaignSpec:
    size = round(_loguniform(rng, 10, 10_000))
    per_card = min(size, round(_loguniform(rng, 1, 300)))
    schedule = SCHEDULES[int(rng.integers(0, len(SCHEDULES)))]
    life_lo = _loguniform(rng, 0.5, 20.0)
    start = rng.uniform(-5.0, 0.0)
    end = rng.uniform(0.3, 1.0) * days
    return CampaignSpec(
        operator_id=f"op-random-{k + 1}",
        kind="campaign",
        n_accounts=size,
        requests_per_account_day=_r(_loguniform(rng, 3, 200)),
        wave_span_days=(_r(start), _r(end)),
        n_waves=int(rng.integers(1, 9)),
        lifetime_days=(_r(life_lo), _r(life_lo * rng.uniform(1.2, 3.0))),
        group_size=round(_loguniform(rng, 2, 50)),
        failover_share=0.0 if rng.random() < 0.5 else _r(_loguniform(rng, 0.003, 0.05)),
        repeat_share=_r(rng.uniform(0.05, 0.5)),
        next_turn_share=_r(rng.uniform(0.0, 0.15)),
        registration=REGISTRATIONS[int(rng.integers(0, len(REGISTRATIONS)))],
        accounts_per_card=per_card,
        schedule=schedule,
        proxies=PROXIES[int(rng.integers(0, len(PROXIES)))],
        nonce_share=_r(rng.uniform(0.0, 1.0)),
        paraphrase_share=_r(rng.uniform(0.0, 1.0)),
    )


def _draw_benign(rng: np.random.Generator, days: int) -> dict[str, Any]:
    lo_campus = int(rng.integers(10, 41))
    return {
        "n_individual": int(_loguniform(rng, 2_000, 20_000)),
        "n_enterprises": int(rng.integers(3, 41)),
        "enterprise_accounts": (5, int(rng.integers(10, 61))),
        "n_researchers": int(rng.integers(2, 21)),
        "n_apps": int(rng.integers(1, 7)),
        "app_requests_per_day": int(_loguniform(rng, 500, 8_000)),
        "n_shared_nat": int(_loguniform(rng, 200, 3_000)),
        "n_vpn": int(_loguniform(rng, 100, 2_000)),
        "n_cloud_apps": int(rng.integers(4, 121)),
        "n_default_prompt": int(_loguniform(rng, 100, 2_000)),
        "n_isp_customers": int(_loguniform(rng, 300, 5_000)),
        "n_isp_domains": int(rng.integers(2, 13)),
        "n_mobile": int(_loguniform(rng, 200, 4_000)),
        "n_campuses": int(rng.integers(1, 13)),
        "campus_students": (lo_campus, lo_campus + int(rng.integers(5, 61))),
        "n_labs": int(rng.integers(0, 7)),
        "lab_accounts": (2, int(rng.integers(3, 11))),
        "n_agent_users": int(_loguniform(rng, 50, 1_500)),
        "new_model_day": int(rng.integers(0, days)),
    }


_COUNTS = ("n_individual", "n_shared_nat", "n_vpn", "n_default_prompt", "n_isp_customers",
           "n_mobile", "n_agent_users", "n_enterprises", "n_campuses", "n_labs",
           "n_researchers", "n_cloud_apps")


def _fit_benign(sc: Scenario, budget: float) -> Scenario:
    """Scale benign counts and activity by the square root of the needed factor each (and
    apps' volume by the factor), keeping at least one of every population drawn."""
    rows = estimate_benign_rows(sc)
    if rows <= budget:
        return sc
    f = budget / rows * 0.97
    root = float(np.sqrt(f))
    counts = {name: max(1, int(getattr(sc, name) * root)) if getattr(sc, name) else 0
              for name in _COUNTS}
    sc = dataclasses.replace(sc, **counts, benign_activity=_r(root, 6),
                             app_requests_per_day=max(1, int(sc.app_requests_per_day * f)))
    rows = estimate_benign_rows(sc)
    if rows > budget:  # floors of one account held some counts up: thin activity further
        fixed = estimate_benign_rows(dataclasses.replace(sc, benign_activity=0.0))
        room = max(budget * 0.97 - fixed, 0.01 * (rows - fixed))
        sc = dataclasses.replace(sc, benign_activity=_r(sc.benign_activity * room
                                                        / (rows - fixed), 6))
    return sc


def randomized_scenario(seed: int, row_budget: int = ROW_BUDGET) -> tuple[Scenario, dict]:
    """Draw one randomized scenario and its design (a JSON-ready dict) from ``seed``.

    The same seed and budget give the same scenario; ``row_budget`` only scales volume (a
    test passes a small one for a quick simulation of the same design)."""
    rng = np.random.default_rng([seed, 31_337])
    days = int(rng.integers(2, 31))
    hashes_only = bool(rng.random() < 0.25)
    n_campaigns = int(rng.integers(1, 5))
    drawn = tuple(_draw_campaign(rng, k, days) for k in range(n_campaigns))
    public = np.random.default_rng([seed, 4_242])  # drawn apart: the other draws stay
    drawn = tuple(dataclasses.replace(c, public_share=_r(public.uniform(0.0, 0.8)))
                  for c in drawn)
    benign = _draw_benign(rng, days)
    sc = Scenario(name="randomized", days=days, start=_START, campaigns=drawn,
                  hashes_only=hashes_only, **benign)
    fitted = _fit_benign(sc, row_budget * BENIGN_SHARE)
    campaigns = tuple(_fit_campaign(c, days, row_budget * CAMPAIGN_SHARE) for c in drawn)
    fitted = dataclasses.replace(fitted, campaigns=campaigns)
    return fitted, describe(fitted, sc, seed, row_budget)


def describe(sc: Scenario, drawn: Scenario, seed: int, row_budget: int) -> dict:
    """The design as drawn and as simulated (after the row budget), with estimates."""
    campaigns = []
    for spec, orig in zip(sc.campaigns, drawn.campaigns, strict=True):
        rows, active = estimate_campaign(spec, sc.days)
        campaigns.append({
            "operator_id": spec.operator_id,
            "size": spec.n_accounts,
            "accounts_per_card": 1 if spec.registration == "none" else spec.accounts_per_card,
            "registration": spec.registration,
            "mail_group_size": spec.group_size,
            "retries": spec.failover_share > 0,
            "failover_share": spec.failover_share,
            "nonce_share": spec.nonce_share,
            "paraphrase_share": spec.paraphrase_share,
            "public_share": spec.public_share,
            "repeat_share": spec.repeat_share,
            "next_turn_share": spec.next_turn_share,
            "schedule": spec.schedule,
            "proxies": spec.proxies,
            "requests_per_account_day": spec.requests_per_account_day,
            "wave_span_days": list(spec.wave_span_days),
            "n_waves": spec.n_waves,
            "lifetime_days_drawn": list(orig.lifetime_days),
            "lifetime_days": list(spec.lifetime_days),
            "activity": spec.activity,
            "estimated_rows": int(rows),
            "estimated_active_accounts": round(active),
        })
    benign_keys = (*_COUNTS, "enterprise_accounts", "campus_students", "lab_accounts",
                   "n_isp_domains", "n_apps", "app_requests_per_day", "benign_activity",
                   "new_model_day")
    value = {k: getattr(sc, k) for k in benign_keys}
    benign = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
    drawn_counts = {k: getattr(drawn, k) for k in (*_COUNTS, "app_requests_per_day")}
    benign_rows = estimate_benign_rows(sc)
    campaign_rows = sum(c["estimated_rows"] for c in campaigns)
    return {
        "scenario": "randomized",
        "seed": seed,
        "start": sc.start.isoformat(),
        "days": sc.days,
        "hashes_only": sc.hashes_only,
        "row_budget": row_budget,
        "benign": benign,
        "benign_drawn": drawn_counts,
        "campaigns": campaigns,
        "estimated_rows": {"benign": int(benign_rows), "campaigns": int(campaign_rows),
                           "total": int(benign_rows + campaign_rows)},
    }
