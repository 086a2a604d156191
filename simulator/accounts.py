"""Accounts of every population, and the IP space they send from.

In: a ``Scenario``, the seed and the window start. Out: an ``AccountTable`` (one row per
account: the public ``accounts.csv`` columns, the ``labels.csv`` columns, and the hidden
behaviour parameters the traffic generators read: activity rates, hour-of-day profile,
time zone, keys, user agent, system prompt, IP assignment) and the ``SystemPromptTable``
filled with the prompts those accounts use.

Account attributes are drawn per population in vectorized numpy; the only Python loops run
over populations, companies and the few hundred system prompts. Populations a scenario does
not ask for (count 0) draw nothing, so adding populations leaves older scenarios' bytes alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator import assets as A
from simulator.scenarios import CampaignSpec, Scenario

US_PER_DAY = 86_400_000_000
US_PER_H = 3_600_000_000

POPULATIONS: tuple[str, ...] = (
    "individual",
    "enterprise",
    "benchmark_researcher",
    "app",
    "shared_nat",
    "vpn",
    "cloud_app",
    "default_prompt",
    "campaign",
    "stealth_campaign",
    # added for the randomized scenario; appended so that older population codes stay put
    "isp_customer",
    "mobile",
    "campus",
    "research_lab",
    "agent_framework",
)
POP = {p: i for i, p in enumerate(POPULATIONS)}

# Local hour-of-day activity profiles (weights), indexed by AccountTable.profile.
_PERSONAL = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.3,
        0.4,
        0.8,
        1.5,
        2.5,
        3.5,
        4,
        4.2,
        4,
        4.2,
        4.4,
        4.3,
        4.2,
        4.2,
        4.3,
        4.6,
        4.8,
        4.4,
        3.2,
        2.0,
    ]
)
_OFFICE = np.array(
    [
        0.1,
        0.1,
        0.1,
        0.1,
        0.1,
        0.1,
        0.2,
        0.8,
        4,
        8,
        8.5,
        8,
        5,
        7.5,
        8,
        7.5,
        6,
        3,
        1,
        0.6,
        0.4,
        0.3,
        0.2,
        0.1,
    ]
)
PROFILES = np.stack([_PERSONAL, _OFFICE, _PERSONAL + 2.0, _PERSONAL + 8.0, np.ones(24)])
PROFILE_CDF = np.cumsum(PROFILES / PROFILES.sum(axis=1, keepdims=True), axis=1)
P_PERSONAL, P_OFFICE, P_APP, P_CLOUD, P_FLAT = range(5)

# (rpm_limit, itpm_limit) per tier
TIERS = np.array([[50, 30_000], [1_000, 450_000], [2_000, 800_000], [4_000, 2_000_000]])


@dataclass(frozen=True)
class IPWorld:
    """/16 and /24 bases (as uint32) of each kind of network."""

    residential: np.ndarray  # (n_countries, 4) /16 bases
    cloud: np.ndarray  # /24 bases of cloud providers
    proxy: np.ndarray  # /24 bases of datacenter proxy providers
    vpn: np.ndarray  # /24 bases of one popular VPN's exits
    nat: np.ndarray  # /24 bases of university and mobile-carrier NAT
    cgnat: np.ndarray  # /24 bases of mobile carriers' CGNAT (drawn last: older draws unchanged)


def _bases24(rng: np.random.Generator, firsts: list[int], n: int) -> np.ndarray:
    a = rng.choice(np.array(firsts, dtype=np.int64), n)
    b = rng.integers(0, 256, n)
    c = rng.integers(0, 256, n)
    return np.unique((a << 24) | (b << 16) | (c << 8))


def build_ip_world(seed: int) -> IPWorld:
    """Disjoint first octets per kind, so a /24 means the same kind of network everywhere."""
    rng = np.random.default_rng([seed, 999])
    resid_firsts = np.array(
        [
            24,
            50,
            67,
            68,
            71,
            73,
            76,
            77,
            79,
            81,
            82,
            84,
            86,
            88,
            90,
            92,
            95,
            98,
            99,
            109,
            112,
            115,
            118,
            121,
            122,
            124,
            151,
            177,
            179,
            186,
            187,
            189,
            190,
            200,
            201,
        ]
    )
    n_c = len(A.COUNTRIES)
    a = rng.choice(resid_firsts, (n_c, 4))
    b = rng.integers(0, 256, (n_c, 4))
    return IPWorld(
        residential=(a << 24) | (b << 16),
        cloud=_bases24(rng, [3, 13, 18, 20, 34, 35, 52, 54, 104, 143], 400),
        proxy=_bases24(rng, [45, 89, 91, 146, 185, 193, 194, 212], 400),
        vpn=_bases24(rng, [138, 156], 14),
        nat=_bases24(rng, [128, 129, 130, 131, 141, 172, 174], 24),
        cgnat=_bases24(rng, [39, 41, 102, 105, 117], 16),
    )


@dataclass
class AccountTable:
    """Column arrays, one entry per account (index = global account number)."""

    cols: dict[str, np.ndarray]
    fewshot: dict[str, int]  # benchmark name -> system prompt id of its few-shot prefix

    def __getitem__(self, key: str) -> np.ndarray:
        return self.cols[key]

    def __len__(self) -> int:
        return len(self.cols["pop"])

    def indices(self, pop: str) -> np.ndarray:
        return np.flatnonzero(self.cols["pop"] == POP[pop])

    def frame(self) -> pl.DataFrame:
        c = self.cols
        return pl.DataFrame(
            {
                "account_id": c["account_id"],
                "created_at": pl.Series(c["created_us"]).cast(pl.Datetime("us", "UTC")),
                "email_domain": c["email_domain"],
                "payment_fingerprint": c["payment_fp"],
                "country": A.COUNTRY_CODES[c["country"]],
                "rpm_limit": TIERS[c["tier"], 0],
                "itpm_limit": TIERS[c["tier"], 1],
                "operator_id": c["operator_id"],
                "population": np.array(POPULATIONS)[c["pop"]],
                "is_campaign": c["is_campaign"],
            }
        )


def _hex(rng: np.random.Generator, n: int, bits: int = 48) -> np.ndarray:
    """Unique random hex strings (regenerated on the rare collision)."""
    while True:
        vals = rng.integers(0, 1 << bits, n, dtype=np.int64)
        if len(np.unique(vals)) == n:
            break
    width = bits // 4
    return np.array([f"{v:0{width}x}" for v in vals.tolist()])


_WORDS = (
    "north",
    "blue",
    "pixel",
    "river",
    "maple",
    "orbit",
    "quill",
    "ember",
    "lumen",
    "cedar",
    "atlas",
    "nova",
    "fable",
    "harbor",
    "willow",
    "copper",
    "zen",
    "summit",
    "delta",
    "iris",
)
_TLDS = ("com", "net", "io", "dev", "org", "co", "me", "xyz", "app")


def _domains(rng: np.random.Generator, n: int, webmail_share: float) -> np.ndarray:
    """Webmail for most people, a personal domain (word+number.tld) for the rest."""
    w = A.WEBMAIL_W / A.WEBMAIL_W.sum()
    web = np.array(A.WEBMAIL)[rng.choice(len(A.WEBMAIL), n, p=w)]
    words = np.array(_WORDS)[rng.integers(0, len(_WORDS), n)]
    nums = rng.integers(1, 9999, n).astype(str)
    tlds = np.array(_TLDS)[rng.integers(0, len(_TLDS), n)]
    own = np.char.add(np.char.add(np.char.add(words, nums), "."), tlds)
    return np.where(rng.random(n) < webmail_share, web, own)


def isp_domains(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The scenario's consumer ISP mail domains and their shares of customers (Zipf-like:
    the first is the largest ISP). Benign customers and ISP-registered campaigns draw from
    the same list, so a shared ISP domain is never a private registrant's mark."""
    rng = np.random.default_rng([seed, 7_100])
    names = np.char.add(np.char.add("isp-", _hex(rng, max(1, n), 24)), ".net")
    weights = 1.0 / np.arange(1, len(names) + 1) ** 0.8
    return names, weights / weights.sum()


def _base(rng: np.random.Generator, n: int, pop: str, start_us: int) -> dict[str, np.ndarray]:
    """Defaults shared by all populations; builders override what differs."""
    return {
        "pop": np.full(n, POP[pop], dtype=np.int8),
        "is_campaign": np.zeros(n, dtype=bool),
        "created_us": start_us - (rng.uniform(2, 700, n) * US_PER_DAY).astype(np.int64),
        "country": rng.choice(len(A.COUNTRIES), n, p=A.COUNTRY_W),
        "tier": rng.choice(2, n, p=[0.85, 0.15]),
        "n_keys": rng.choice([1, 1, 1, 2, 3], n),
        "ua": rng.choice(len(A.UA_POOL_W), n, p=A.UA_POOL_W),
        "sys_id": np.zeros(n, dtype=np.int32),
        "profile": np.full(n, P_PERSONAL, dtype=np.int8),
        "p_active": rng.beta(2.0, 2.5, n),
        "sessions": rng.gamma(2.0, 0.8, n) + 1.0,
        "per_session": rng.gamma(2.0, 1.6, n) + 1.0,
        "rate": np.zeros(n),
        "temp": rng.choice(
            np.array([np.nan, 1.0, 0.7, 0.5, 0.0]), n, p=[0.45, 0.2, 0.2, 0.1, 0.05]
        ),
        "max_tokens": rng.choice(np.array([1024, 2048, 4096, 8192]), n, p=[0.35, 0.3, 0.25, 0.1]),
        "model": rng.choice(3, n, p=[0.3, 0.6, 0.1]),
        "ip_kind": np.zeros(n, dtype=np.int8),  # 0 residential, 1 nat, 2 vpn, 3 cloud
        "ip_base": np.zeros(n, dtype=np.int64),
        "ip_hosts": np.full(n, 65536, dtype=np.int64),
        "home_ip": np.zeros(n, dtype=np.int64),
        "group": np.full(n, -1, dtype=np.int64),
        "v6": np.zeros(n, dtype=np.int64),
        "active_first_us": np.full(n, np.iinfo(np.int64).min, dtype=np.int64),
        "active_last_us": np.full(n, np.iinfo(np.int64).max, dtype=np.int64),
        "operator_id": np.array([f"{pop}-{i:06d}" for i in range(n)]),
        "email_domain": _domains(rng, n, 0.8),
        "payment_fp": np.char.add("pf_", _hex(rng, n, 60)),
    }


def _residential(acc: dict[str, np.ndarray], rng: np.random.Generator, world: IPWorld) -> None:
    n = len(acc["pop"])
    block = world.residential[acc["country"], rng.integers(0, 4, n)]
    acc["ip_kind"][:] = 0
    acc["ip_base"] = block
    acc["ip_hosts"] = np.full(n, 65536, dtype=np.int64)
    acc["home_ip"] = block + rng.integers(256, 65280, n)
    acc["v6"] = np.where(rng.random(n) < 0.07, rng.integers(1, 10**12, n), 0)


def build_accounts(
    sc: Scenario, seed: int, start: dt.date, days: int, world: IPWorld
) -> tuple[AccountTable, A.SystemPromptTable]:
    """All accounts of the scenario, with the system prompts they use registered."""
    tpl = A.load_templates()
    sys_table = A.SystemPromptTable()
    start_us = int(
        dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp() * 1_000_000
    )
    parts: list[dict[str, np.ndarray]] = []

    def rng_for(pop: str, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([seed, POP[pop], 7_000 + salt])

    # individuals: personal rhythm, some with a personal long system prompt
    rng = rng_for("individual")
    acc = _base(rng, sc.n_individual, "individual", start_us)
    _residential(acc, rng, world)
    personal = rng.random(sc.n_individual) < 0.12
    n_personal = int(personal.sum())
    ids = [
        sys_table.add(A.long_system_prompt(tpl, "a personal assistant", int(t), i), "personal")
        for i, t in enumerate(rng.integers(300, 2200, n_personal))
    ]
    acc["sys_id"][personal] = ids
    parts.append(acc)

    # enterprises: 5..50 accounts on one fingerprint, domain, country, system prompt
    rng = rng_for("enterprise")
    for c in range(sc.n_enterprises):
        lo, hi = sc.enterprise_accounts
        n = int(rng.integers(lo, hi + 1))
        acc = _base(rng, n, "enterprise", start_us)
        org = tpl["orgs"][c % len(tpl["orgs"])] + ("" if c < len(tpl["orgs"]) else f" {c}")
        slug = org.lower().replace(" ", "")
        country = rng.choice(len(A.COUNTRIES), p=A.COUNTRY_W)
        acc["country"][:] = country
        acc["operator_id"] = np.full(n, f"enterprise-{c:04d}")
        acc["email_domain"] = np.full(n, f"{slug}.com")
        acc["payment_fp"][:] = acc["payment_fp"][0]
        acc["created_us"] = acc["created_us"].min() + (rng.uniform(0, 40, n) * US_PER_DAY).astype(
            np.int64
        )
        acc["tier"][:] = rng.choice([2, 3])
        acc["ua"][:] = rng.choice([0, 1, 3, 12])
        acc["profile"][:] = P_OFFICE
        acc["p_active"] = rng.uniform(0.75, 0.98, n)
        acc["sessions"] = rng.uniform(3, 6, n)
        acc["per_session"] = rng.uniform(6, 12, n)
        acc["temp"][:] = rng.choice([0.2, 0.5, 1.0])
        acc["max_tokens"][:] = rng.choice([2048, 4096])
        acc["sys_id"][:] = sys_table.add(
            A.long_system_prompt(tpl, org, int(rng.integers(1200, 3500)), c), "enterprise"
        )
        blocks = world.residential[country, rng.integers(0, 4, 2)]  # business ISP lines
        offices = blocks + (rng.integers(0, 256, 2) << 8)
        acc["ip_kind"][:] = 3
        acc["ip_base"] = rng.choice(offices, n)
        acc["ip_hosts"][:] = 32
        acc["group"][:] = c
        parts.append(acc)

    # benchmark researchers: one or two accounts, university NAT or cloud GPU egress
    rng = rng_for("benchmark_researcher")
    bank = A.load_prompt_bank()
    fewshot = {}
    for bench, idx in bank.bench.items():
        shots = "\n\n".join(
            f"Q: {bank.texts[i]}\nA: Let's think step by step. (worked solution {j + 1})"
            for j, i in enumerate(idx[-24:].tolist())
        )
        text = f"The following are example {bench} problems with worked answers.\n\n{shots}"
        fewshot[bench] = sys_table.add(text, f"fewshot_{bench}")
    per = rng.choice([1, 1, 2], sc.n_researchers)
    n = int(per.sum())
    acc = _base(rng, n, "benchmark_researcher", start_us)
    owner = np.repeat(np.arange(sc.n_researchers), per)
    acc["operator_id"] = np.array([f"benchmark_researcher-{o:04d}" for o in owner])
    uni = np.array([f"cs.{w}.edu" for w in _WORDS])[owner % len(_WORDS)]
    acc["email_domain"] = uni
    acc["payment_fp"] = acc["payment_fp"][np.searchsorted(owner, owner)]
    acc["tier"][:] = 1
    acc["ua"] = rng.choice([A.UA_EVAL, 9, 7], n)
    acc["temp"][:] = 0.0
    acc["max_tokens"] = rng.choice([512, 1024], n)
    acc["p_active"][:] = rng.uniform(0.25, 0.5, n)
    on_nat = rng.random(n) < 0.6
    acc["ip_kind"] = np.where(on_nat, 1, 3).astype(np.int8)
    acc["ip_base"] = np.where(on_nat, rng.choice(world.nat, n), rng.choice(world.cloud, n))
    acc["ip_hosts"][:] = 16
    acc["group"] = owner
    parts.append(acc)

    # apps: one big account each, long system prompt, several keys, cloud egress
    rng = rng_for("app")
    acc = _base(rng, sc.n_apps, "app", start_us)
    acc["tier"][:] = 3
    acc["n_keys"] = rng.integers(2, 9, sc.n_apps)
    acc["ua"] = rng.choice([3, 0, 10], sc.n_apps)
    acc["profile"][:] = P_APP
    acc["rate"] = sc.app_requests_per_day * rng.lognormal(0, 0.4, sc.n_apps)
    acc["temp"] = rng.choice([0.3, 0.7, 1.0], sc.n_apps)
    acc["max_tokens"] = rng.choice([1024, 2048], sc.n_apps)
    acc["model"] = rng.choice([0, 1], sc.n_apps)
    acc["sys_id"] = np.array(
        [
            sys_table.add(
                A.long_system_prompt(tpl, f"app {i}", int(rng.integers(2000, 4500)), 100 + i), "app"
            )
            for i in range(sc.n_apps)
        ]
    )
    acc["ip_kind"][:] = 3
    acc["ip_base"] = rng.choice(world.cloud, sc.n_apps)
    acc["ip_hosts"][:] = 8
    parts.append(acc)

    # shared NAT: unrelated students and phone users behind a few /24s
    rng = rng_for("shared_nat")
    acc = _base(rng, sc.n_shared_nat, "shared_nat", start_us)
    acc["ip_kind"][:] = 1
    nat = rng.choice(world.nat, sc.n_shared_nat)
    acc["ip_base"] = nat
    acc["ip_hosts"][:] = 24
    acc["country"][:] = 0
    parts.append(acc)

    # VPN: unrelated users behind one popular VPN's exits (exit changes per session)
    rng = rng_for("vpn")
    acc = _base(rng, sc.n_vpn, "vpn", start_us)
    acc["ip_kind"][:] = 2
    acc["ip_hosts"][:] = 64
    parts.append(acc)

    # cloud apps: small apps in shared cloud /24s, 24/7 with a mild daily rhythm
    rng = rng_for("cloud_app")
    acc = _base(rng, sc.n_cloud_apps, "cloud_app", start_us)
    acc["profile"][:] = P_CLOUD
    acc["p_active"] = rng.uniform(0.85, 1.0, sc.n_cloud_apps)
    acc["rate"] = rng.lognormal(np.log(100), 0.6, sc.n_cloud_apps)
    acc["ua"] = rng.choice([0, 3, 9, 10, 11, 14], sc.n_cloud_apps)
    acc["ip_kind"][:] = 3
    shared = world.cloud[: max(4, sc.n_cloud_apps // 8)]
    acc["ip_base"] = rng.choice(shared, sc.n_cloud_apps)
    acc["ip_hosts"][:] = 254
    acc["sys_id"] = np.array(
        [
            sys_table.add(
                A.long_system_prompt(tpl, f"cloud app {i}", int(rng.integers(200, 2000)), 300 + i),
                "cloud_app",
            )
            for i in range(sc.n_cloud_apps)
        ]
    )
    parts.append(acc)

    # default prompt: unrelated customers of one SDK, same UA and default system prompt
    rng = rng_for("default_prompt")
    acc = _base(rng, sc.n_default_prompt, "default_prompt", start_us)
    _residential(acc, rng, world)
    acc["ua"][:] = A.UA_DEFAULT_SDK
    acc["temp"][:] = np.nan
    acc["max_tokens"][:] = 4096
    sdk = tpl["default_sdk_prompt"] + "\n\n" + A.long_system_prompt(tpl, "the user", 1200, 0)
    acc["sys_id"][:] = sys_table.add(sdk, "default_sdk")
    parts.append(acc)

    parts += _added_populations(sc, seed, start_us, world, sys_table, tpl, rng_for)

    isp = isp_domains(seed, sc.n_isp_domains)
    for k, spec in enumerate(sc.campaigns):
        parts.append(
            _campaign_accounts(spec, k, seed, start_us, days, world, sys_table, tpl, isp)
        )

    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    rng = np.random.default_rng([seed, 8_888])
    cols["account_id"] = np.char.add("acct_", _hex(rng, len(cols["pop"])))
    cols["key_prefix"] = np.char.add(np.char.add("key_", _hex(rng, len(cols["pop"]), 40)), "_")
    return AccountTable(cols, fewshot), sys_table


def _added_populations(
    sc: Scenario,
    seed: int,
    start_us: int,
    world: IPWorld,
    sys_table: A.SystemPromptTable,
    tpl: dict,
    rng_for: Callable[[str], np.random.Generator],
) -> list[dict[str, np.ndarray]]:
    """The randomized scenario's hard negatives: ISP-mail customers, CGNAT phone users,
    campuses, research labs and an agent framework's customers (only those with a count)."""
    parts: list[dict[str, np.ndarray]] = []
    if sc.n_isp_customers:
        rng = rng_for("isp_customer")
        n = sc.n_isp_customers
        acc = _base(rng, n, "isp_customer", start_us)
        _residential(acc, rng, world)
        names, weights = isp_domains(seed, sc.n_isp_domains)
        acc["email_domain"] = names[rng.choice(len(names), n, p=weights)]
        parts.append(acc)
    if sc.n_mobile:
        # a few carriers' CGNAT /24s, each carrier in one country: hundreds of strangers each
        rng = rng_for("mobile")
        n = sc.n_mobile
        acc = _base(rng, n, "mobile", start_us)
        carrier = rng.integers(0, len(world.cgnat), n)
        carrier_country = rng.choice(len(A.COUNTRIES), len(world.cgnat), p=A.COUNTRY_W)
        acc["country"] = carrier_country[carrier]
        acc["ip_kind"][:] = 1
        acc["ip_base"] = world.cgnat[carrier]
        acc["ip_hosts"][:] = 254
        acc["ua"] = rng.choice([15, 3, 16, 17], n)  # okhttp, JS SDK, mobile browsers
        parts.append(acc)
    if sc.n_campuses:
        # students of one university behind its /24, who get the same homework (see traffic)
        rng = rng_for("campus")
        lo, hi = sc.campus_students
        size = rng.integers(lo, hi + 1, sc.n_campuses)
        campus = np.repeat(np.arange(sc.n_campuses), size)
        n = len(campus)
        acc = _base(rng, n, "campus", start_us)
        nat = rng.choice(world.nat, sc.n_campuses, replace=False)
        where = rng.choice(len(A.COUNTRIES), sc.n_campuses, p=A.COUNTRY_W)
        acc["country"] = where[campus]
        acc["ip_kind"][:] = 1
        acc["ip_base"] = nat[campus]
        acc["ip_hosts"][:] = 254
        acc["group"] = campus
        parts.append(acc)
    if sc.n_labs:
        # labs: several accounts on one card and domain, benchmark runs at the rate limit
        rng = rng_for("research_lab")
        lo, hi = sc.lab_accounts
        size = rng.integers(lo, hi + 1, sc.n_labs)
        lab = np.repeat(np.arange(sc.n_labs), size)
        n = len(lab)
        acc = _base(rng, n, "research_lab", start_us)
        acc["operator_id"] = np.array([f"research_lab-{i:04d}" for i in lab])
        acc["email_domain"] = np.array([f"{_WORDS[i % len(_WORDS)]}-lab{i}.org" for i in lab])
        acc["payment_fp"] = acc["payment_fp"][np.searchsorted(lab, lab)]
        acc["tier"][:] = 0  # 50 requests a minute: the runs pace themselves just under it
        acc["ua"][:] = A.UA_EVAL
        acc["temp"][:] = 0.0
        acc["max_tokens"] = rng.choice([512, 1024], n)
        acc["p_active"] = rng.uniform(0.5, 0.9, n)
        on_nat = rng.random(n) < 0.5
        acc["ip_kind"] = np.where(on_nat, 1, 3).astype(np.int8)
        acc["ip_base"] = np.where(on_nat, rng.choice(world.nat, n), rng.choice(world.cloud, n))
        acc["ip_hosts"][:] = 16
        acc["group"] = lab
        parts.append(acc)
    if sc.n_agent_users:
        # one agent framework's customers: its UA and long default prompt, loops all day
        rng = rng_for("agent_framework")
        n = sc.n_agent_users
        acc = _base(rng, n, "agent_framework", start_us)
        _residential(acc, rng, world)
        in_cloud = rng.random(n) < 0.4
        acc["ip_kind"] = np.where(in_cloud, 3, 0).astype(np.int8)
        acc["ip_base"] = np.where(in_cloud, rng.choice(world.cloud[:40], n), acc["ip_base"])
        acc["ip_hosts"] = np.where(in_cloud, 254, acc["ip_hosts"])
        acc["ua"][:] = A.UA_AGENT_FRAMEWORK
        acc["profile"][:] = P_APP
        acc["per_session"] = rng.gamma(2.0, 8.0, n) + 4.0
        acc["temp"][:] = np.nan
        acc["max_tokens"][:] = 8192
        prompt = tpl["default_sdk_prompt"] + "\n\n" + A.long_system_prompt(
            tpl, "the agent framework", 2600, 7)
        acc["sys_id"][:] = sys_table.add(prompt, "agent_framework")
        parts.append(acc)
    return parts


def _campaign_accounts(
    spec: CampaignSpec,
    k: int,
    seed: int,
    start_us: int,
    days: int,
    world: IPWorld,
    sys_table: A.SystemPromptTable,
    tpl: dict,
    isp: tuple[np.ndarray, np.ndarray],
) -> dict[str, np.ndarray]:
    pop = spec.kind
    rng = np.random.default_rng([seed, POP[pop], 9_000 + k])
    n = spec.n_accounts
    acc = _base(rng, n, pop, start_us)
    acc["is_campaign"][:] = True
    acc["operator_id"] = np.full(n, spec.operator_id)
    lo, hi = spec.wave_span_days
    end_day = days - 0.05
    if pop == "campaign":
        waves = np.linspace(lo, min(hi, end_day), max(1, spec.n_waves))
        wave = rng.integers(0, len(waves), n)
        created = waves[wave] * US_PER_DAY + rng.uniform(0, 2, n) * US_PER_H
        acc["tier"][:] = 0
        acc["n_keys"] = rng.integers(2, 4, n)
        acc["ua"] = rng.choice([9, 0, A.UA_AIOHTTP], n, p=[0.5, 0.35, 0.15])
        acc["country"] = rng.choice([0, 16, 7, 2, 12], n)
        order = rng.permutation(n)
        g_mail = order // max(1, spec.group_size)
        g_pay = rng.permutation(n) // max(1, spec.group_size // 2 + 1)
        mails = np.char.add(np.char.add("mbx-", _hex(rng, int(g_mail.max()) + 1, 24)), ".xyz")
        acc["email_domain"] = mails[g_mail]
        if spec.registration == "webmail":
            own = np.random.default_rng([seed, POP[pop], 9_500 + k])
            acc["email_domain"] = _domains(own, n, 1.0)
        pays = np.char.add("pf_", _hex(rng, int(g_pay.max()) + 1, 60))
        acc["payment_fp"] = pays[g_pay]
        acc["group"] = g_pay
        acc["temp"] = rng.choice([0.7, 0.8, 1.0], n)
        acc["max_tokens"] = rng.choice([8192, 16384], n)
        sys_ids = [
            sys_table.add(
                A.long_system_prompt(tpl, "the operator", 1500, 900 + k)
                + "\n\n"
                + tpl["campaign_system_prompts"][0],
                "campaign",
            ),
            sys_table.add(tpl["campaign_system_prompts"][1], "campaign"),
        ]
        acc["sys_id"] = np.array([sys_ids[0], sys_ids[0], sys_ids[1], 0])[rng.integers(0, 4, n)]
        acc["ip_kind"][:] = 4  # rotating through the operator's proxy and cloud /24s
        _registration_and_proxies(acc, spec, k, seed, world, isp)
    else:
        created = rng.uniform(lo, hi, n) * US_PER_DAY
        _residential(acc, rng, world)
        acc["ip_kind"][:] = 5  # residential proxy: a new residential IP every day
        acc["temp"] = rng.choice([0.6, 0.8, 1.0], n)
        acc["max_tokens"] = rng.choice([4096, 8192], n)
        acc["tier"] = rng.choice(2, n, p=[0.7, 0.3])
    acc["created_us"] = start_us + created.astype(np.int64)
    first = acc["created_us"] + (rng.uniform(0.1, 6, n) * US_PER_H).astype(np.int64)
    acc["active_first_us"] = first
    life = rng.uniform(*spec.lifetime_days, n) * US_PER_DAY
    acc["active_last_us"] = first + life.astype(np.int64)
    acc["rate"][:] = spec.requests_per_account_day
    acc["p_active"][:] = spec.activity if pop == "campaign" else 0.9
    acc["model"] = rng.choice([1, 2], n, p=[0.7, 0.3])
    return acc


def _registration_and_proxies(
    acc: dict[str, np.ndarray],
    spec: CampaignSpec,
    k: int,
    seed: int,
    world: IPWorld,
    isp: tuple[np.ndarray, np.ndarray],
) -> None:
    """The randomized knobs of a loud campaign's accounts. Each draws from its own stream,
    and only when set, so the named scenarios' draws are untouched."""
    n = len(acc["pop"])
    pop = POP[spec.kind]
    names, weights = isp
    if spec.registration in ("isp", "mixed", "none"):
        rng = np.random.default_rng([seed, pop, 9_600 + k])
        on_isp = names[rng.choice(len(names), n, p=weights)]
        web = _domains(rng, n, 1.0)
        how = rng.integers(0, 3, n) if spec.registration == "mixed" else None
        if spec.registration == "isp":
            acc["email_domain"] = on_isp
        elif spec.registration == "mixed":  # 0 private, 1 free mail, 2 ISP mail
            acc["email_domain"] = np.where(how == 1, web, np.where(how == 2, on_isp,
                                                                   acc["email_domain"]))
        else:
            acc["email_domain"] = np.where(rng.random(n) < 0.5, web, on_isp)
    if spec.registration == "none" or spec.accounts_per_card > 0:
        rng = np.random.default_rng([seed, pop, 9_700 + k])
        per_card = 1 if spec.registration == "none" else spec.accounts_per_card
        g_pay = rng.permutation(n) // per_card
        acc["payment_fp"] = np.char.add("pf_", _hex(rng, int(g_pay.max()) + 1, 60))[g_pay]
        acc["group"] = g_pay
    if spec.proxies == "residential":
        _residential(acc, np.random.default_rng([seed, pop, 9_800 + k]), world)
        acc["ip_kind"][:] = 5  # a new home IP of the account's country every day
