"""One UTC day of request skeletons for every population.

In: the ``AccountTable``, the prompt bank, the IP world and a ``Day`` (seed, date, release time
of the new model). Out: a dict of equal-length numpy arrays, one entry per request, holding
only integers and floats (account index, timestamp in microseconds, key, IP, user agent,
model, status, sampling parameters, system prompt id, prompt parts as indices into the prompt
bank, nonce, conversation history tokens, output demand). ``render`` turns them into log rows.

Each population has its own generator because each has its own rhythm: sessions in local
time for people, office hours for enterprises, bursts of benchmark items for researchers,
steady load for apps, flat 24/7 pacing with failover and cross-account sampling for the
campaigns. All of them are vectorized over accounts and requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulator import assets as A
from simulator.accounts import AccountTable
from simulator.network import IPWorld
from simulator.population import POP, PROFILE_CDF, US_PER_DAY, US_PER_H
from simulator.scenarios import CampaignSpec, Scenario

US_PER_S = 1_000_000

# Prompt category mix per benign population (weights over assets.CATEGORIES).
_MIX = {
    "individual": {
        "chat": 70,
        "code": 9,
        "writing": 5,
        "multilingual": 6,
        "knowledge_qa": 3,
        "math": 2,
        "extraction": 2,
        "roleplay": 3,
    },
    "enterprise": {
        "chat": 40,
        "extraction": 20,
        "writing": 12,
        "code": 15,
        "tool_use": 8,
        "multilingual": 5,
    },
    "app": {"chat": 72, "tool_use": 14, "multilingual": 9, "writing": 5},
    "shared_nat": {
        "chat": 52,
        "math": 14,
        "code": 14,
        "writing": 10,
        "knowledge_qa": 6,
        "multilingual": 4,
    },
    "vpn": {"chat": 72, "code": 10, "writing": 6, "multilingual": 8, "roleplay": 4},
    "cloud_app": {"chat": 45, "extraction": 22, "writing": 15, "tool_use": 18},
    "default_prompt": {"chat": 45, "tool_use": 35, "code": 20},
    "isp_customer": {"chat": 72, "code": 7, "writing": 7, "multilingual": 6, "knowledge_qa": 4,
                     "roleplay": 4},
    "mobile": {"chat": 78, "writing": 6, "multilingual": 8, "knowledge_qa": 4, "roleplay": 4},
    "campus": {"chat": 44, "math": 18, "code": 16, "writing": 10, "knowledge_qa": 8,
               "reasoning": 4},
    "agent_framework": {"tool_use": 50, "code": 28, "extraction": 12, "chat": 10},
}


@dataclass(frozen=True)
class Day:
    """Where one day sits: its index in the window, UTC start, weekday, model release."""

    seed: int
    index: int
    start_us: int
    weekday: int
    release_us: int

    def rng(self, pop: str, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.index, POP[pop], salt])


@dataclass(frozen=True)
class Ctx:
    """Everything a generator reads."""

    acc: AccountTable
    bank: A.PromptBank
    world: IPWorld
    sys_tokens: np.ndarray


Rows = dict[str, np.ndarray]


def _mix_probs(pop: str) -> np.ndarray:
    p = np.zeros(len(A.CATEGORIES))
    for name, w in _MIX[pop].items():
        p[A.CAT[name]] = w
    return p / p.sum()


def sample_tasks(rng: np.random.Generator, bank: A.PromptBank, cats: np.ndarray) -> np.ndarray:
    """A uniformly drawn text of each requested category."""
    sizes = np.array([len(ix) for ix in bank.by_category])
    flat = np.concatenate(bank.by_category)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pick = (rng.random(len(cats)) * sizes[cats]).astype(np.int64)
    return flat[offsets[cats] + pick]


def _hour_seconds(rng: np.random.Generator, profile: np.ndarray, tz_s: np.ndarray) -> np.ndarray:
    """UTC second of day for events whose local hour follows the account's profile."""
    cdf = PROFILE_CDF[profile]
    hour = (rng.random(len(profile))[:, None] > cdf).sum(axis=1)
    local = hour * 3600 + rng.random(len(profile)) * 3600
    return np.mod(local - tz_s, 86_400)


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cheap deterministic integer hash of two int64 arrays (for per-hour/day choices)."""
    x = (a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ (
        b.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
    )
    x ^= x >> np.uint64(31)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(29)
    return x


def _empty_prompt_parts(n: int) -> Rows:
    return {
        "opener": np.zeros(n, np.int16),
        "wrap": np.zeros(n, np.int16),
        "nonce_fmt": np.zeros(n, np.int8),
        "nonce": np.zeros(n, np.int64),
        "hist": np.zeros(n, np.int32),
        "bust": np.zeros(n, bool),
    }


def _finish(ctx: Ctx, day: Day, rng: np.random.Generator, r: Rows, adopt: float) -> Rows:
    """Fill account-derived fields: key, UA, model (with new-model adoption), sampling, IP."""
    acc = ctx.acc
    a = r["acct"]
    n = len(a)
    r.setdefault("key", (rng.random(n) * acc["n_keys"][a]).astype(np.int16))
    r.setdefault("ua", acc["ua"][a].astype(np.int16))
    model = acc["model"][a].astype(np.int8)
    after = r["ts"] >= day.release_us
    days_since = np.maximum(0, r["ts"] - day.release_us) / US_PER_DAY
    p_new = np.where(
        after, np.minimum(adopt, 0.03 + 0.05 * days_since) if adopt < 0.5 else adopt, 0.0
    )
    r["model"] = np.where(rng.random(n) < p_new, A.NEW_MODEL, model).astype(np.int8)
    r.setdefault("temperature", acc["temp"][a].astype(np.float32))
    r.setdefault("max_tokens", acc["max_tokens"][a].astype(np.int32))
    r.setdefault("sys", acc["sys_id"][a].astype(np.int32))
    r.setdefault("status", np.full(n, 200, np.int16))
    if "ip4" not in r:
        r["ip4"], r["ip6"] = _ips(ctx, day, rng, a, r["ts"])
    r["tool"] = ctx.bank.category[r["task"]] == A.CAT["tool_use"]
    return r


def _ips(
    ctx: Ctx, day: Day, rng: np.random.Generator, a: np.ndarray, ts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    acc, world = ctx.acc, ctx.world
    n = len(a)
    kind = acc["ip_kind"][a]
    base, hosts = acc["ip_base"][a], acc["ip_hosts"][a]
    in_block = base + 1 + (rng.random(n) * (hosts - 2)).astype(np.int64)
    roaming = rng.random(n) < 0.15
    ip = np.where(roaming, in_block, acc["home_ip"][a])  # kind 0: home line, sometimes away
    ip = np.where((kind == 1) | (kind == 3), in_block, ip)
    hour = ts // US_PER_H
    exit_ = world.vpn[(_mix(a, hour // 2) % np.uint64(len(world.vpn))).astype(np.int64)]
    ip = np.where(kind == 2, exit_ + 1 + (rng.random(n) * 62).astype(np.int64), ip)
    daily = _mix(a, np.full(n, day.start_us // US_PER_DAY))
    resid = world.residential[acc["country"][a], (daily % np.uint64(4)).astype(np.int64)]
    resid = resid + 256 + ((daily >> np.uint64(8)) % np.uint64(65000)).astype(np.int64)
    ip = np.where(kind == 5, resid, ip)
    v6 = np.where((kind == 0) & ~roaming, acc["v6"][a], 0)
    return ip.astype(np.int64), v6.astype(np.int64)


def _sessions(
    rng: np.random.Generator, ctx: Ctx, accts: np.ndarray, scale: float, gap_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """People work in sessions: (account, ts, session id, position in session) per request."""
    acc = ctx.acc
    active = accts[rng.random(len(accts)) < acc["p_active"][accts] * scale]
    n_sess = 1 + rng.poisson(np.maximum(acc["sessions"][active] - 1, 0))
    s_acct = np.repeat(active, n_sess)
    tz = A.COUNTRY_TZ_S[acc["country"][s_acct]]
    s_start = _hour_seconds(rng, acc["profile"][s_acct], tz)
    n_req = 1 + rng.poisson(np.maximum(acc["per_session"][s_acct] - 1, 0))
    sid = np.repeat(np.arange(len(s_acct)), n_req)
    first = np.concatenate([[0], np.cumsum(n_req)[:-1]])
    pos = np.arange(len(sid)) - first[sid]
    gaps = np.where(pos == 0, 0.0, rng.exponential(gap_s, len(sid)) + 3.0)
    cum = np.cumsum(gaps)
    offset = cum - cum[first[sid]]
    sec = np.mod(s_start[sid] + offset, 86_400)
    return s_acct[sid], (sec * US_PER_S).astype(np.int64), sid, pos


def _conversation_prompts(
    rng: np.random.Generator,
    ctx: Ctx,
    pop: str,
    sid: np.ndarray,
    pos: np.ndarray,
    follow_share: float,
) -> Rows:
    """New prompt per request, or the next turn of the session's conversation (same first turn,
    history growing), which is what most chat traffic looks like."""
    n = len(sid)
    cats = rng.choice(len(A.CATEGORIES), n, p=_mix_probs(pop))
    task = sample_tasks(rng, ctx.bank, cats)
    follow = (pos > 0) & (rng.random(n) < follow_share)
    conv_start = np.where(follow, -1, np.arange(n))
    conv_start = np.maximum.accumulate(conv_start)  # rows are session-ordered
    task = task[conv_start]
    turn = np.arange(n) - conv_start
    parts = _empty_prompt_parts(n)
    parts["hist"] = (turn * rng.integers(250, 900, n)).astype(np.int32)
    parts["task"] = task
    return parts


def _benign_sessions(
    ctx: Ctx, day: Day, pop: str, gap_s: float, follow: float, activity: float = 1.0
) -> Rows:
    """People's sessions; ``activity`` (the scenario's ``benign_activity``) thins the days
    each account is active (times 1.0 is exact, so other scenarios draw the same bytes)."""
    rng = day.rng(pop)
    accts = ctx.acc.indices(pop)
    weekend = day.weekday >= 5
    scale = {"enterprise": 0.15 if weekend else 1.0}.get(pop, 1.1 if weekend else 1.0)
    scale *= activity
    a, ts, sid, pos = _sessions(rng, ctx, accts, scale, gap_s)
    r = _conversation_prompts(rng, ctx, pop, sid, pos, follow)
    r["acct"], r["ts"] = a, day.start_us + ts
    r["demand"] = rng.lognormal(np.log(380), 0.9, len(a)).astype(np.int32) + 1
    return _finish(ctx, day, rng, r, adopt=0.3)


def _steady(ctx: Ctx, day: Day, pop: str) -> Rows:
    """Apps: Poisson volume per account, hours from the account's profile, many end users."""
    rng = day.rng(pop)
    acc = ctx.acc
    accts = ctx.acc.indices(pop)
    accts = accts[rng.random(len(accts)) < acc["p_active"][accts]] if pop != "app" else accts
    n = rng.poisson(acc["rate"][accts])
    a = np.repeat(accts, n)
    tz = A.COUNTRY_TZ_S[acc["country"][a]]
    sec = _hour_seconds(rng, acc["profile"][a], tz)
    ts = day.start_us + (sec * US_PER_S).astype(np.int64)
    cats = rng.choice(len(A.CATEGORIES), len(a), p=_mix_probs(pop))
    r = _empty_prompt_parts(len(a))
    r["task"] = sample_tasks(rng, ctx.bank, cats)
    r["acct"], r["ts"] = a, ts
    r["demand"] = rng.lognormal(np.log(260), 0.8, len(a)).astype(np.int32) + 1
    order = np.lexsort((ts, a))
    rank = np.arange(len(a)) - np.searchsorted(a[order], a[order])
    key = np.empty(len(a), np.int16)
    key[order] = rank % acc["n_keys"][a[order]]  # round-robin over the app's key pool
    r["key"] = key
    return _finish(ctx, day, rng, r, adopt=0.0 if pop == "app" else 0.25)


def _researchers(
    ctx: Ctx,
    day: Day,
    pop: str = "benchmark_researcher",
    items: float = 250.0,
    step_s: tuple[float, float] = (0.6, 2.0),
    activity: float = 1.0,
) -> Rows:
    """Evaluation runs: a contiguous slice of one benchmark, fast, temperature 0, repeated.
    Research labs (``research_lab``) run longer slices paced at their rate limit."""
    rng = day.rng(pop)
    acc, bank = ctx.acc, ctx.bank
    accts = acc.indices(pop)
    runs_acct = accts[rng.random(len(accts)) < acc["p_active"][accts] * activity]
    runs_acct = np.concatenate([runs_acct, runs_acct[rng.random(len(runs_acct)) < 0.3]])
    names = np.array(sorted(bank.bench))
    bench = rng.integers(0, len(names), len(runs_acct))
    sizes = np.array([len(bank.bench[b]) for b in names])
    n_items = np.minimum(sizes[bench],
                         rng.lognormal(np.log(items), 0.5, len(runs_acct)).astype(int))
    run = np.repeat(np.arange(len(runs_acct)), n_items)
    first = np.concatenate([[0], np.cumsum(n_items)[:-1]])
    item = np.arange(len(run)) - first[run]
    a = runs_acct[run]
    # every run of an account starts at the same item: the same prompts again and again
    start_item = (_mix(a, bench[run]) % np.uint64(10_000)).astype(np.int64)
    flat = np.concatenate([bank.bench[b] for b in names])
    offs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    task = flat[offs[bench[run]] + (start_item + item) % sizes[bench[run]]]
    run_start = rng.uniform(0, 86_400 - 3_600, len(runs_acct))
    step = rng.uniform(*step_s, len(runs_acct))
    sec = run_start[run] + item * step[run] + rng.uniform(0, 0.5, len(run))
    r = _empty_prompt_parts(len(run))
    r["task"] = task
    r["wrap"] = bank.researcher_wraps[a % len(bank.researcher_wraps)].astype(np.int16)
    r["acct"] = a
    r["ts"] = day.start_us + (np.minimum(sec, 86_399.9) * US_PER_S).astype(np.int64)
    fewshot = np.array([ctx.acc.fewshot[b] for b in names])
    r["sys"] = fewshot[bench[run]].astype(np.int32)
    r["demand"] = rng.lognormal(np.log(200), 0.6, len(run)).astype(np.int32) + 1
    return _finish(ctx, day, rng, r, adopt=0.6)


def _account_day_counts(
    rng: np.random.Generator, ctx: Ctx, accts: np.ndarray, day: Day
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Requests per account for the part of the day each account is alive."""
    acc = ctx.acc
    lo = np.maximum(acc["active_first_us"][accts], day.start_us)
    hi = np.minimum(acc["active_last_us"][accts], day.start_us + US_PER_DAY)
    frac = np.clip((hi - lo) / US_PER_DAY, 0, 1)
    alive = (frac > 0) & (rng.random(len(accts)) < acc["p_active"][accts])
    n = np.where(alive, rng.poisson(acc["rate"][accts] * frac), 0)
    return n, lo, hi


def _sweep_prompts(rng: np.random.Generator, ctx: Ctx, n: int) -> Rows:
    cats = rng.choice(A.SWEEP_CATEGORIES, n)
    r = _empty_prompt_parts(n)
    r["task"] = sample_tasks(rng, ctx.bank, cats)
    return r


_COPY = ("task", "wrap", "opener", "nonce_fmt", "nonce")


def _copy_from_recent(
    rng: np.random.Generator, r: Rows, share: float, back: int, fields: tuple[str, ...]
) -> np.ndarray:
    """Rows (time-ordered) that re-send a prompt sent a few requests earlier, usually by
    another account of the pool. Returns the source row of each copying row, or -1."""
    n = len(r["ts"])
    src = np.arange(n) - rng.integers(1, back + 1, n)
    mask = (rng.random(n) < share) & (src >= 0)
    src = np.where(mask, src, -1)
    idx = np.flatnonzero(mask)
    for f in fields:
        r[f][idx] = r[f][src[idx]]
    return src


def _campaign(ctx: Ctx, day: Day, spec: CampaignSpec, k: int, accts: np.ndarray) -> Rows:
    """Loud operator: 24/7 flat pacing, IP rotation, round-robin keys, nonce busting,
    re-sampling and conversations spread over accounts, 429 failover to another account."""
    rng = day.rng("campaign", 100 + k)
    acc, bank = ctx.acc, ctx.bank
    n, lo, hi = _account_day_counts(rng, ctx, accts, day)
    if spec.schedule == "sync":
        a, ts = _work_windows(rng, ctx, day, accts, n)
        alive = (ts >= acc["active_first_us"][a]) & (ts < acc["active_last_us"][a])
        a, ts = a[alive], ts[alive]
    else:
        a = np.repeat(accts, n)
        ts = np.repeat(lo, n) + (rng.random(len(a)) * np.repeat(hi - lo, n)).astype(np.int64)
    order = np.argsort(ts, kind="stable")
    a, ts = a[order], ts[order]
    r = _sweep_prompts(rng, ctx, len(a))
    r["acct"], r["ts"] = a, ts
    fmts = np.array([1 + k % 5, 1 + (k + 1) % 5])
    r["nonce_fmt"] = fmts[rng.integers(0, 2, len(a))].astype(np.int8)
    r["nonce"] = rng.integers(10**9, 10**12, len(a))
    r["wrap"] = rng.choice(bank.campaign_wraps, len(a)).astype(np.int16)
    if spec.nonce_share < 1.0:
        plain = rng.random(len(a)) >= spec.nonce_share
        r["nonce_fmt"][plain], r["nonce"][plain] = 0, 0
    if spec.public_share > 0:  # the bare public prompt: the text benign users send too
        bare = rng.random(len(a)) < spec.public_share
        r["wrap"][bare], r["nonce_fmt"][bare], r["nonce"][bare] = 0, 0, 0
    own_nonce = r["nonce"].copy()
    src = _copy_from_recent(rng, r, spec.repeat_share, 40, _COPY)
    if spec.paraphrase_share > 0:  # a re-sent prompt reworded: new opener, its own nonce
        para = (src >= 0) & (rng.random(len(a)) < spec.paraphrase_share)
        r["opener"][para] = rng.integers(1, len(bank.openers), int(para.sum()))
        r["nonce"][para] = np.where(r["nonce_fmt"][para] > 0, own_nonce[para], 0)
    turn_src = _copy_from_recent(rng, r, spec.next_turn_share, 20, _COPY)
    is_turn = turn_src >= 0
    src_tok = bank.tokens[r["task"]]
    r["hist"] = np.where(is_turn, src_tok + rng.integers(800, 4000, len(a)), 0).astype(np.int32)
    r["bust"] = r["nonce_fmt"] > 0 if spec.nonce_share < 1.0 else np.ones(len(a), bool)
    mt = acc["max_tokens"][a]
    r["demand"] = (mt * rng.lognormal(np.log(0.7), 0.8, len(a))).astype(np.int32) + 1
    # key rotation: round-robin over the account's keys through the day
    o2 = np.lexsort((ts, a))
    rank = np.arange(len(a)) - np.searchsorted(a[o2], a[o2])
    key = np.empty(len(a), np.int16)
    key[o2] = rank % acc["n_keys"][a[o2]]
    r["key"] = key
    if spec.proxies != "residential":  # residential: _finish gives the day's home IP
        r["ip4"], r["ip6"] = _campaign_ips(rng, ctx, day, spec, k, a, ts)
    r = _finish(ctx, day, rng, r, adopt=0.85)
    return _failover(rng, ctx, r, spec.failover_share, spec, k, day)


def _campaign_ips(
    rng: np.random.Generator,
    ctx: Ctx,
    day: Day,
    spec: CampaignSpec,
    k: int,
    a: np.ndarray,
    ts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each account-hour lands on one of the operator's /24s, several accounts per /24-hour."""
    world = ctx.world
    pool = world.cgnat if spec.proxies == "mobile" else np.concatenate([world.proxy, world.cloud])
    n_pref = min(len(pool), spec.n_ip_prefixes or max(8, spec.n_accounts // 25))
    prefixes = np.random.default_rng([day.seed, 9_500 + k]).choice(pool, n_pref, replace=False)
    pick = (_mix(a, ts // US_PER_H) % np.uint64(n_pref)).astype(np.int64)
    ip = prefixes[pick] + rng.integers(2, 254, len(a))
    return ip, np.zeros(len(a), np.int64)


def _failover(
    rng: np.random.Generator,
    ctx: Ctx,
    r: Rows,
    share: float,
    spec: CampaignSpec,
    k: int,
    day: Day,
) -> Rows:
    """Prepend a 429 on a neighbouring (recently active) account seconds before some rows."""
    n = len(r["ts"])
    pick = np.flatnonzero(rng.random(n) < share)
    other = np.where(pick > 0, pick - 1, pick + 1)
    ok = other < n
    pick, other = pick[ok], other[ok]
    new_acct = r["acct"][other]
    ts = r["ts"][pick] - (rng.uniform(0.3, 4.0, len(pick)) * US_PER_S).astype(np.int64)
    ok = (
        (new_acct != r["acct"][pick])
        & (ts >= ctx.acc["active_first_us"][new_acct])
        & (ts >= day.start_us)
    )
    pick, new_acct, ts = pick[ok], new_acct[ok], ts[ok]
    extra = {f: v[pick].copy() for f, v in r.items()}
    extra["acct"], extra["ts"] = new_acct, ts
    extra["status"] = np.full(len(pick), 429, np.int16)
    if spec.proxies == "residential":
        extra["ip4"], _ = _ips(ctx, day, rng, new_acct, ts)
    else:
        extra["ip4"], _ = _campaign_ips(rng, ctx, day, spec, k, new_acct, ts)
    extra["key"] = (rng.random(len(pick)) * ctx.acc["n_keys"][new_acct]).astype(np.int16)
    return {f: np.concatenate([r[f], extra[f]]) for f in r}


def _work_windows(
    rng: np.random.Generator, ctx: Ctx, day: Day, accts: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(account, ts) of ``n`` requests per account inside the operator's two work windows of
    the day, every account's first request at the first window's start and its last at the
    second window's end: the synchronized batches of an operator driving all its accounts."""
    w_start = np.array([rng.uniform(0.5, 3.0), rng.uniform(12.0, 15.0)]) * 3600
    w_len = np.array([rng.uniform(5.0, 8.0), rng.uniform(4.0, 7.0)]) * 3600
    a = np.repeat(accts, n)
    m = len(a)
    win = (rng.random(m) < w_len[1] / w_len.sum()).astype(int)
    sec = w_start[win] + rng.random(m) * w_len[win]
    first = np.concatenate([[0], np.cumsum(n)[:-1]])[n > 0]
    last = np.cumsum(n)[n > 0] - 1
    sec[first] = w_start[0] + rng.uniform(0, 90, len(first))  # synchronized start ...
    sec[last] = w_start[1] + w_len[1] - rng.uniform(0, 90, len(last))  # ... and stop
    ts = day.start_us + (sec * US_PER_S).astype(np.int64)
    return a, np.maximum(ts, ctx.acc["active_first_us"][a])


def _campus(ctx: Ctx, day: Day, activity: float) -> Rows:
    """Students' own sessions, plus homework: on each day every campus has one assignment
    (a math, code or reasoning prompt) and about half its students paste it, word for word,
    within the same local hour, from behind the campus's one /24."""
    sessions = _benign_sessions(ctx, day, "campus", 90.0, 0.45, activity)
    rng = day.rng("campus", 1)
    acc = ctx.acc
    accts = acc.indices("campus")
    campus = acc["group"][accts]
    n_campus = int(campus.max()) + 1
    kinds = np.array([A.CAT["math"], A.CAT["code"], A.CAT["reasoning"]])
    homework = sample_tasks(rng, ctx.bank, rng.choice(kinds, n_campus))
    hour = rng.integers(9, 22, n_campus)
    weekday = 1.0 if day.weekday < 5 else 0.4
    doing = accts[rng.random(len(accts)) < 0.5 * weekday * min(1.0, 2 * activity)]
    a = np.repeat(doing, 1 + rng.poisson(0.4, len(doing)))
    c = acc["group"][a]
    local = hour[c] * 3600 + rng.random(len(a)) * 3600
    sec = np.mod(local - A.COUNTRY_TZ_S[acc["country"][a]], 86_400)
    r = _empty_prompt_parts(len(a))
    r["task"] = homework[c]
    r["acct"], r["ts"] = a, day.start_us + (sec * US_PER_S).astype(np.int64)
    r["demand"] = rng.lognormal(np.log(380), 0.9, len(a)).astype(np.int32) + 1
    r = _finish(ctx, day, rng, r, adopt=0.3)
    return {f: np.concatenate([sessions[f], r[f]]) for f in sessions}


def _stealth(ctx: Ctx, day: Day, spec: CampaignSpec, k: int, accts: np.ndarray) -> Rows:
    """Careful operator: independent-looking accounts, but all start and stop together in the
    operator's work windows, and send near-duplicates of the same sweep within minutes."""
    rng = day.rng("stealth_campaign", 200 + k)
    acc, bank = ctx.acc, ctx.bank
    n, _, _ = _account_day_counts(rng, ctx, accts, day)
    a, ts = _work_windows(rng, ctx, day, accts, n)
    m = len(a)
    order = np.argsort(ts, kind="stable")
    a, ts = a[order], ts[order]
    r = _sweep_prompts(rng, ctx, m)
    r["acct"], r["ts"] = a, ts
    r["opener"] = rng.integers(1, len(bank.openers), m).astype(np.int16)
    r["wrap"] = rng.choice(bank.stealth_wraps, m).astype(np.int16)
    with_nonce = rng.random(m) < 0.7
    r["nonce_fmt"] = np.where(with_nonce, 5, 0).astype(np.int8)
    r["nonce"] = np.where(with_nonce, rng.integers(1000, 99_999, m), 0)
    exact = rng.random(m) < 0.3
    saved = {f: r[f].copy() for f in ("opener", "nonce_fmt", "nonce")}
    _copy_from_recent(rng, r, 0.35, 12, _COPY)
    for f, v in saved.items():  # most copies are paraphrased: new opener and nonce
        r[f] = np.where(exact, r[f], v)
    r["demand"] = (acc["max_tokens"][a] * rng.lognormal(np.log(0.45), 0.8, m)).astype(np.int32)
    r["demand"] += 1
    return _finish(ctx, day, rng, r, adopt=0.7)


def generate_day(ctx: Ctx, day: Day, sc: Scenario) -> list[Rows]:
    """All populations' requests for one day (unsorted, one ``Rows`` per population)."""
    act = sc.benign_activity
    gens: list[Callable[[], Rows]] = [
        lambda: _benign_sessions(ctx, day, "individual", 90.0, 0.45, act),
        lambda: _benign_sessions(ctx, day, "enterprise", 60.0, 0.35, act),
        lambda: _researchers(ctx, day),
        lambda: _steady(ctx, day, "app"),
        lambda: _benign_sessions(ctx, day, "shared_nat", 90.0, 0.45, act),
        lambda: _benign_sessions(ctx, day, "vpn", 90.0, 0.45, act),
        lambda: _steady(ctx, day, "cloud_app"),
        lambda: _benign_sessions(ctx, day, "default_prompt", 45.0, 0.6, act),
    ]
    # the randomized scenario's populations; absent ones generate (and draw) nothing
    present = set(np.unique(ctx.acc["pop"]).tolist())
    added: list[tuple[str, Callable[[], Rows]]] = [
        ("isp_customer", lambda: _benign_sessions(ctx, day, "isp_customer", 90.0, 0.45, act)),
        ("mobile", lambda: _benign_sessions(ctx, day, "mobile", 60.0, 0.4, act)),
        ("campus", lambda: _campus(ctx, day, act)),
        ("research_lab", lambda: _researchers(ctx, day, "research_lab", 500.0, (1.2, 1.45), act)),
        ("agent_framework",
         lambda: _benign_sessions(ctx, day, "agent_framework", 8.0, 0.85, act)),
    ]
    gens += [g for pop, g in added if POP[pop] in present]
    out = [g() for g in gens]
    camp_pop = ctx.acc["pop"]
    op = ctx.acc["operator_id"]
    for k, spec in enumerate(sc.campaigns):
        accts = np.flatnonzero((camp_pop == POP[spec.kind]) & (op == spec.operator_id))
        gen = _campaign if spec.kind == "campaign" else _stealth
        out.append(gen(ctx, day, spec, k, accts))
    return out
