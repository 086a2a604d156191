"""What every account of the simulator is made of, whatever its population.

In: a numpy Generator, a population's name and size, the window start (microseconds).
Out: the population codes (``POPULATIONS``, ``POP``), the local hour-of-day profiles and
rate-limit tiers the traffic generators read, and ``base_columns``: one population's column
arrays at their defaults (``simulator.benign`` and ``simulator.campaigns`` override what
differs), with the random hex ids and e-mail domains they draw.

The defaults are drawn in one fixed order from the population's own Generator, so a change
to one population's overrides never moves another's draws.
"""

from __future__ import annotations

import numpy as np

from simulator import assets as A

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
_PERSONAL = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.5, 3.5, 4, 4.2,
                      4, 4.2, 4.4, 4.3, 4.2, 4.2, 4.3, 4.6, 4.8, 4.4, 3.2, 2.0])
_OFFICE = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.8, 4, 8, 8.5, 8,
                    5, 7.5, 8, 7.5, 6, 3, 1, 0.6, 0.4, 0.3, 0.2, 0.1])
PROFILES = np.stack([_PERSONAL, _OFFICE, _PERSONAL + 2.0, _PERSONAL + 8.0, np.ones(24)])
PROFILE_CDF = np.cumsum(PROFILES / PROFILES.sum(axis=1, keepdims=True), axis=1)
P_PERSONAL, P_OFFICE, P_APP, P_CLOUD, P_FLAT = range(5)

# (rpm_limit, itpm_limit) per tier
TIERS = np.array([[50, 30_000], [1_000, 450_000], [2_000, 800_000], [4_000, 2_000_000]])


def hex_ids(rng: np.random.Generator, n: int, bits: int = 48) -> np.ndarray:
    """Unique random hex strings (regenerated on the rare collision)."""
    while True:
        vals = rng.integers(0, 1 << bits, n, dtype=np.int64)
        if len(np.unique(vals)) == n:
            break
    width = bits // 4
    return np.array([f"{v:0{width}x}" for v in vals.tolist()])


WORDS = ("north", "blue", "pixel", "river", "maple", "orbit", "quill", "ember", "lumen",
         "cedar", "atlas", "nova", "fable", "harbor", "willow", "copper", "zen", "summit",
         "delta", "iris")
"""Words of personal, university and lab domain names."""
_TLDS = ("com", "net", "io", "dev", "org", "co", "me", "xyz", "app")


def email_domains(rng: np.random.Generator, n: int, webmail_share: float) -> np.ndarray:
    """Webmail for most people, a personal domain (word+number.tld) for the rest."""
    w = A.WEBMAIL_W / A.WEBMAIL_W.sum()
    web = np.array(A.WEBMAIL)[rng.choice(len(A.WEBMAIL), n, p=w)]
    words = np.array(WORDS)[rng.integers(0, len(WORDS), n)]
    nums = rng.integers(1, 9999, n).astype(str)
    tlds = np.array(_TLDS)[rng.integers(0, len(_TLDS), n)]
    own = np.char.add(np.char.add(np.char.add(words, nums), "."), tlds)
    return np.where(rng.random(n) < webmail_share, web, own)


def isp_domains(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The scenario's consumer ISP mail domains and their shares of customers (Zipf-like:
    the first is the largest ISP). Benign customers and ISP-registered campaigns draw from
    the same list, so a shared ISP domain is never a private registrant's mark."""
    rng = np.random.default_rng([seed, 7_100])
    names = np.char.add(np.char.add("isp-", hex_ids(rng, max(1, n), 24)), ".net")
    weights = 1.0 / np.arange(1, len(names) + 1) ** 0.8
    return names, weights / weights.sum()


def base_columns(rng: np.random.Generator, n: int, pop: str,
                 start_us: int) -> dict[str, np.ndarray]:
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
        "email_domain": email_domains(rng, n, 0.8),
        "payment_fp": np.char.add("pf_", hex_ids(rng, n, 60)),
    }
