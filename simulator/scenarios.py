"""Scenario definitions: how many accounts of each population, for how long, which campaigns.

In: nothing (declarations). Out: the frozen ``Scenario`` / ``CampaignSpec`` dataclasses and the
named ``SCENARIOS`` the CLI exposes. Every number that shapes the synthetic traffic lives here,
so a test can build a tiny scenario with ``dataclasses.replace`` instead of monkeypatching.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class CampaignSpec:
    """One distillation operator (one ``operator_id``).

    kind: ``campaign`` (loud: waves, shared infrastructure, nonce cache busting) or
        ``stealth_campaign`` (every account looks independent; linked only by behaviour).
    n_accounts: accounts created over the scenario (not all active on one day).
    requests_per_account_day: mean requests of an account on a day it is active all day.
    wave_span_days: first and last wave's offset from the scenario start, in days
        (negative: created before the window). Loud campaigns create accounts in waves.
    n_waves: how many creation waves.
    lifetime_days: an account's active life is uniform in this range, then it is abandoned.
    n_ip_prefixes: /24 prefixes the operator rotates through (0: derive from n_accounts).
    group_size: accounts sharing one payment fingerprint / email domain (loud campaigns).
    failover_share: share of requests preceded by a 429 on another account of the pool.
    repeat_share: share of requests that re-sample a recent prompt on another account.
    next_turn_share: share of requests that continue a conversation begun on another account.
    registration: ``private`` (loud campaigns: throwaway private e-mail domains, one per
        ``group_size`` accounts), ``webmail`` (every account a free-mail address: the
        registry then ties accounts only through shared payment cards), ``isp`` (addresses
        on the consumer ISP domains benign customers also use), ``mixed`` (each account one
        of the three) or ``none`` (a free-mail or ISP address and a card of its own each:
        nothing shared in the registry at all).

    The knobs below were added for the randomized scenario; their defaults take the code
    path the named scenarios always took, so those scenarios keep their bytes.

    accounts_per_card: accounts sharing one payment card (loud campaigns; 0: derived from
        ``group_size`` as before).
    schedule: ``trickle`` (loud campaigns: 24/7 flat pacing) or ``sync`` (every account
        starts and stops with the others in the operator's two daily work windows, the
        ``stealth_campaign`` timing).
    proxies: ``datacenter`` (rotating through proxy and cloud /24s), ``residential`` (a new
        home IP of the account's country every day) or ``mobile`` (the carrier CGNAT /24s
        benign mobile users share).
    nonce_share: share of requests carrying a nonce in the cached block (busting the
        prompt cache); 1.0 for every request.
    paraphrase_share: share of re-sent prompts that get a new opener (a paraphrase rather
        than an exact copy).
    activity: daily chance that a live account works (1.0: every day of its life); the
        randomized scenario lowers it to keep a huge campaign inside the row budget.
    public_share: share of requests sent as the bare public prompt (no wrapper, opener or
        nonce): the very text benign users send, so not every hash of the campaign is its
        own (an operator harvesting a public corpus as it is).
    """

    operator_id: str
    kind: str
    n_accounts: int
    requests_per_account_day: float = 14.0
    wave_span_days: tuple[float, float] = (-2.0, 4.0)
    n_waves: int = 4
    lifetime_days: tuple[float, float] = (1.5, 4.5)
    n_ip_prefixes: int = 0
    group_size: int = 8
    failover_share: float = 0.015
    repeat_share: float = 0.25
    next_turn_share: float = 0.08
    registration: str = "private"
    accounts_per_card: int = 0
    schedule: str = "trickle"
    proxies: str = "datacenter"
    nonce_share: float = 1.0
    paraphrase_share: float = 0.0
    activity: float = 1.0
    public_share: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """A named synthetic data set.

    days / start: default window (``simulate`` may override both).
    n_individual, n_shared_nat, n_vpn, n_default_prompt: one-account operators of those kinds.
    n_enterprises: companies; each has ``enterprise_accounts`` (min, max) linked accounts.
    n_researchers: benchmark researchers (one or two accounts each).
    n_apps / app_requests_per_day: large single-account apps and their mean daily volume.
    n_cloud_apps: small apps hosted in shared cloud ranges.
    campaigns: the distillation operators.
    new_model_day: day offset (from the window start) when the new model is released;
        it is clamped into the window, so even a one-day run sees the release.
    benign_activity: multiplies the daily chance that a session-driven benign account
        (individual, enterprise, shared NAT, VPN, default prompt) is active. 1.0 leaves
        the traffic as drawn; below 1, each account is active on fewer days of a long
        window, so a month can hold 100,000 distinct accounts in a few million rows
        (the populations added below are session-driven too, and thinned the same way).

    Populations added for the randomized scenario (0: absent, as in the named scenarios):
    n_isp_customers: individuals registered on consumer ISP mail domains (``isp-<hex>.net``,
        ``n_isp_domains`` of them, hundreds of unrelated accounts per domain);
    n_mobile: unrelated phone users behind a few carrier CGNAT /24s;
    n_campuses: universities, each ``campus_students`` (min, max) students behind one /24
        who send the same homework prompt within the same hour;
    n_labs: research labs, ``lab_accounts`` (min, max) accounts on one card, running
        benchmarks at the rate limit;
    n_agent_users: unrelated customers of one agent framework (its default system prompt,
        its user agent, long tool-use loops around the clock);
    hashes_only: write prompt hashes but no prompt text (``simulate``'s flag forces it too).
    """

    name: str
    days: int
    start: dt.date
    n_individual: int
    n_enterprises: int
    enterprise_accounts: tuple[int, int]
    n_researchers: int
    n_apps: int
    app_requests_per_day: int
    n_shared_nat: int
    n_vpn: int
    n_cloud_apps: int
    n_default_prompt: int
    campaigns: tuple[CampaignSpec, ...] = field(default_factory=tuple)
    new_model_day: int = 2
    benign_activity: float = 1.0
    n_isp_customers: int = 0
    n_isp_domains: int = 0
    n_mobile: int = 0
    n_campuses: int = 0
    campus_students: tuple[int, int] = (20, 60)
    n_labs: int = 0
    lab_accounts: tuple[int, int] = (2, 6)
    n_agent_users: int = 0
    hashes_only: bool = False


_START = dt.date(2026, 4, 1)

SCENARIOS: dict[str, Scenario] = {
    "sample": Scenario(
        name="sample",
        days=3,
        start=_START,
        n_individual=380,
        n_enterprises=3,
        enterprise_accounts=(5, 10),
        n_researchers=3,
        n_apps=2,
        app_requests_per_day=700,
        n_shared_nat=90,
        n_vpn=60,
        n_cloud_apps=6,
        n_default_prompt=60,
        campaigns=(
            CampaignSpec(
                "op-harvest-1",
                "campaign",
                n_accounts=140,
                wave_span_days=(-1.5, 1.5),
                n_waves=3,
                lifetime_days=(1.5, 3.5),
            ),
            CampaignSpec(
                "op-quiet-1",
                "stealth_campaign",
                n_accounts=60,
                requests_per_account_day=14.0,
                wave_span_days=(-20.0, -1.0),
                lifetime_days=(30.0, 60.0),
            ),
        ),
        new_model_day=1,
    ),
    "default": Scenario(
        name="default",
        days=7,
        start=_START,
        n_individual=10_000,
        n_enterprises=20,
        enterprise_accounts=(5, 40),
        n_researchers=12,
        n_apps=4,
        app_requests_per_day=8_000,
        n_shared_nat=1_500,
        n_vpn=1_000,
        n_cloud_apps=100,
        n_default_prompt=1_000,
        campaigns=(
            CampaignSpec(
                "op-harvest-1",
                "campaign",
                n_accounts=5_000,
                wave_span_days=(-2.0, 5.5),
                n_waves=6,
            ),
            CampaignSpec(
                "op-harvest-2",
                "campaign",
                n_accounts=900,
                wave_span_days=(-1.0, 4.0),
                n_waves=3,
                group_size=12,
            ),
            CampaignSpec(
                "op-quiet-1",
                "stealth_campaign",
                n_accounts=150,
                requests_per_account_day=16.0,
                wave_span_days=(-40.0, -2.0),
                lifetime_days=(60.0, 90.0),
            ),
        ),
        new_model_day=3,
    ),
    # The public reference case's daily volume (about 315,000 campaign requests) concentrated
    # on about 2,500 active accounts, inside about 3 million benign requests.
    "seedday": Scenario(
        name="seedday",
        days=1,
        start=_START,
        n_individual=150_000,
        n_enterprises=220,
        enterprise_accounts=(5, 50),
        n_researchers=60,
        n_apps=30,
        app_requests_per_day=50_000,
        n_shared_nat=25_000,
        n_vpn=20_000,
        n_cloud_apps=2_000,
        n_default_prompt=20_000,
        campaigns=(
            CampaignSpec(
                "op-harvest-1",
                "campaign",
                n_accounts=2_560,
                requests_per_account_day=126.0,
                wave_span_days=(-3.0, -0.3),
                n_waves=5,
                lifetime_days=(3.5, 7.0),
            ),
            CampaignSpec(
                "op-quiet-1",
                "stealth_campaign",
                n_accounts=300,
                requests_per_account_day=16.0,
                wave_span_days=(-40.0, -2.0),
                lifetime_days=(60.0, 90.0),
            ),
        ),
        new_model_day=0,
    ),
    # A month of about 100,000 distinct accounts (bounded-memory linking, issue 3): the
    # default scenario's population mix at about ten times the accounts, each benign
    # account active on about one day in twenty-three (about 70% of them on at least one
    # day), so the month stays at a few million rows.
    "wide": Scenario(
        name="wide",
        days=30,
        start=_START,
        n_individual=108_000,
        n_enterprises=60,
        enterprise_accounts=(5, 40),
        n_researchers=12,
        n_apps=4,
        app_requests_per_day=2_000,
        n_shared_nat=16_000,
        n_vpn=10_800,
        n_cloud_apps=100,
        n_default_prompt=10_800,
        campaigns=(
            CampaignSpec(
                "op-harvest-1",
                "campaign",
                n_accounts=8_000,
                wave_span_days=(-2.0, 28.0),
                n_waves=12,
            ),
            CampaignSpec(
                "op-harvest-2",
                "campaign",
                n_accounts=1_500,
                wave_span_days=(3.0, 20.0),
                n_waves=5,
                group_size=12,
            ),
            CampaignSpec(
                "op-quiet-1",
                "stealth_campaign",
                n_accounts=150,
                requests_per_account_day=16.0,
                wave_span_days=(-40.0, -2.0),
                lifetime_days=(60.0, 90.0),
            ),
        ),
        new_model_day=12,
        benign_activity=0.1,
    ),
}

# The hard case for linking: the default scenario with its loud campaigns registering every
# account with a free-mail address, so that only cards, infrastructure, content and timing
# tie their churned waves together.
SCENARIOS["webmail"] = replace(
    SCENARIOS["default"], name="webmail",
    campaigns=tuple(replace(c, registration="webmail") if c.kind == "campaign" else c
                    for c in SCENARIOS["default"].campaigns))
