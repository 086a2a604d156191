"""The traffic simulator's declared scenarios and randomized designs, drawn without simulating
a day (what the simulations write, their determinism and their knobs are tested in
``tests/integration/test_simulate_integration.py``)."""

from __future__ import annotations

import json

from simulator.randomized import (
    BENIGN_SHARE,
    CAMPAIGN_SHARE,
    PROXIES,
    REGISTRATIONS,
    ROW_BUDGET,
    randomized_scenario,
)
from simulator.simulate import SCENARIOS


def test_scenarios_are_declared() -> None:
    assert {"sample", "default", "seedday"} <= set(SCENARIOS)
    assert SCENARIOS["sample"].days == 3 and SCENARIOS["default"].days == 7
    assert SCENARIOS["seedday"].days == 1
    kinds = {c.kind for c in SCENARIOS["sample"].campaigns}
    assert kinds == {"campaign", "stealth_campaign"}


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
                        ("repeat_share", 0.05, 0.5), ("public_share", 0, 0.8)):
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
