"""The benign populations' accounts: the people, companies and services a campaign hides
among, and the hard negatives that look like one.

In: a ``Scenario`` (how many of each population), the seed, the window start, the
``IPWorld``, the prompt templates and the ``SystemPromptTable``. Out: one dict of column
arrays per population (or per company), in the order ``build_accounts`` concatenates them,
the system prompts they use registered in the table, and the few-shot prefix of each
benchmark (``AccountTable.fewshot``).

Each population draws from a Generator of its own (seed, population), and one that the
scenario does not ask for (count 0) draws nothing, so adding a population leaves the other
populations' bytes alone. The system prompts are registered in a fixed order, since a
prompt's id is its place in the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import assets as A
from simulator.network import IPWorld, residential
from simulator.population import (
    P_APP,
    P_CLOUD,
    P_OFFICE,
    POP,
    US_PER_DAY,
    WORDS,
    base_columns,
    isp_domains,
)
from simulator.scenarios import Scenario

Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class _Draw:
    """What every population's builder draws from."""

    sc: Scenario
    seed: int
    start_us: int
    world: IPWorld
    sys_table: A.SystemPromptTable
    tpl: dict

    def rng(self, pop: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, POP[pop], 7_000])

    def long_prompt(self, who: str, tokens: int, variant: int, label: str) -> int:
        """Register a long system prompt written for ``who``; its id."""
        return self.sys_table.add(A.long_system_prompt(self.tpl, who, tokens, variant), label)


def benign_accounts(sc: Scenario, seed: int, start_us: int, world: IPWorld,
                    sys_table: A.SystemPromptTable,
                    tpl: dict) -> tuple[list[Columns], dict[str, int]]:
    """Every benign population's accounts, and the few-shot prefix of each benchmark."""
    d = _Draw(sc, seed, start_us, world, sys_table, tpl)
    parts = [_individuals(d), *_enterprises(d)]
    researchers, fewshot = _researchers(d)
    parts += [researchers, _apps(d), _shared_nat(d), _vpn(d), _cloud_apps(d),
              _default_prompt(d)]
    parts += [builder(d) for count, builder in (
        (sc.n_isp_customers, _isp_customers), (sc.n_mobile, _mobile),
        (sc.n_campuses, _campuses), (sc.n_labs, _labs), (sc.n_agent_users, _agent_users),
    ) if count]
    return parts, fewshot


def _individuals(d: _Draw) -> Columns:
    """Personal rhythm, some with a personal long system prompt."""
    rng = d.rng("individual")
    acc = base_columns(rng, d.sc.n_individual, "individual", d.start_us)
    residential(acc, rng, d.world)
    personal = rng.random(d.sc.n_individual) < 0.12
    n_personal = int(personal.sum())
    ids = [
        d.long_prompt("a personal assistant", int(t), i, "personal")
        for i, t in enumerate(rng.integers(300, 2200, n_personal))
    ]
    acc["sys_id"][personal] = ids
    return acc


def _enterprises(d: _Draw) -> list[Columns]:
    """5..50 accounts each on one fingerprint, domain, country and system prompt."""
    rng = d.rng("enterprise")
    orgs = d.tpl["orgs"]
    parts = []
    for c in range(d.sc.n_enterprises):
        lo, hi = d.sc.enterprise_accounts
        n = int(rng.integers(lo, hi + 1))
        acc = base_columns(rng, n, "enterprise", d.start_us)
        org = orgs[c % len(orgs)] + ("" if c < len(orgs) else f" {c}")
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
        acc["sys_id"][:] = d.long_prompt(org, int(rng.integers(1200, 3500)), c, "enterprise")
        blocks = d.world.residential[country, rng.integers(0, 4, 2)]  # business ISP lines
        offices = blocks + (rng.integers(0, 256, 2) << 8)
        acc["ip_kind"][:] = 3
        acc["ip_base"] = rng.choice(offices, n)
        acc["ip_hosts"][:] = 32
        acc["group"][:] = c
        parts.append(acc)
    return parts


def _researchers(d: _Draw) -> tuple[Columns, dict[str, int]]:
    """Benchmark researchers: one or two accounts, university NAT or cloud GPU egress; and
    each benchmark's few-shot prefix, registered before any of them draws."""
    rng = d.rng("benchmark_researcher")
    bank = A.load_prompt_bank()
    fewshot = {}
    for bench, idx in bank.bench.items():
        shots = "\n\n".join(
            f"Q: {bank.texts[i]}\nA: Let's think step by step. (worked solution {j + 1})"
            for j, i in enumerate(idx[-24:].tolist())
        )
        text = f"The following are example {bench} problems with worked answers.\n\n{shots}"
        fewshot[bench] = d.sys_table.add(text, f"fewshot_{bench}")
    per = rng.choice([1, 1, 2], d.sc.n_researchers)
    n = int(per.sum())
    acc = base_columns(rng, n, "benchmark_researcher", d.start_us)
    owner = np.repeat(np.arange(d.sc.n_researchers), per)
    acc["operator_id"] = np.array([f"benchmark_researcher-{o:04d}" for o in owner])
    uni = np.array([f"cs.{w}.edu" for w in WORDS])[owner % len(WORDS)]
    acc["email_domain"] = uni
    acc["payment_fp"] = acc["payment_fp"][np.searchsorted(owner, owner)]
    acc["tier"][:] = 1
    acc["ua"] = rng.choice([A.UA_EVAL, 9, 7], n)
    acc["temp"][:] = 0.0
    acc["max_tokens"] = rng.choice([512, 1024], n)
    acc["p_active"][:] = rng.uniform(0.25, 0.5, n)
    on_nat = rng.random(n) < 0.6
    acc["ip_kind"] = np.where(on_nat, 1, 3).astype(np.int8)
    acc["ip_base"] = np.where(on_nat, rng.choice(d.world.nat, n), rng.choice(d.world.cloud, n))
    acc["ip_hosts"][:] = 16
    acc["group"] = owner
    return acc, fewshot


def _apps(d: _Draw) -> Columns:
    """One big account each, long system prompt, several keys, cloud egress."""
    rng = d.rng("app")
    n = d.sc.n_apps
    acc = base_columns(rng, n, "app", d.start_us)
    acc["tier"][:] = 3
    acc["n_keys"] = rng.integers(2, 9, n)
    acc["ua"] = rng.choice([3, 0, 10], n)
    acc["profile"][:] = P_APP
    acc["rate"] = d.sc.app_requests_per_day * rng.lognormal(0, 0.4, n)
    acc["temp"] = rng.choice([0.3, 0.7, 1.0], n)
    acc["max_tokens"] = rng.choice([1024, 2048], n)
    acc["model"] = rng.choice([0, 1], n)
    acc["sys_id"] = np.array([d.long_prompt(f"app {i}", int(rng.integers(2000, 4500)), 100 + i,
                                            "app") for i in range(n)])
    acc["ip_kind"][:] = 3
    acc["ip_base"] = rng.choice(d.world.cloud, n)
    acc["ip_hosts"][:] = 8
    return acc


def _shared_nat(d: _Draw) -> Columns:
    """Unrelated students and phone users behind a few /24s."""
    rng = d.rng("shared_nat")
    acc = base_columns(rng, d.sc.n_shared_nat, "shared_nat", d.start_us)
    acc["ip_kind"][:] = 1
    acc["ip_base"] = rng.choice(d.world.nat, d.sc.n_shared_nat)
    acc["ip_hosts"][:] = 24
    acc["country"][:] = 0
    return acc


def _vpn(d: _Draw) -> Columns:
    """Unrelated users behind one popular VPN's exits (the exit changes per session)."""
    acc = base_columns(d.rng("vpn"), d.sc.n_vpn, "vpn", d.start_us)
    acc["ip_kind"][:] = 2
    acc["ip_hosts"][:] = 64
    return acc


def _cloud_apps(d: _Draw) -> Columns:
    """Small apps in shared cloud /24s, 24/7 with a mild daily rhythm."""
    rng = d.rng("cloud_app")
    n = d.sc.n_cloud_apps
    acc = base_columns(rng, n, "cloud_app", d.start_us)
    acc["profile"][:] = P_CLOUD
    acc["p_active"] = rng.uniform(0.85, 1.0, n)
    acc["rate"] = rng.lognormal(np.log(100), 0.6, n)
    acc["ua"] = rng.choice([0, 3, 9, 10, 11, 14], n)
    acc["ip_kind"][:] = 3
    shared = d.world.cloud[: max(4, n // 8)]
    acc["ip_base"] = rng.choice(shared, n)
    acc["ip_hosts"][:] = 254
    acc["sys_id"] = np.array([d.long_prompt(f"cloud app {i}", int(rng.integers(200, 2000)),
                                            300 + i, "cloud_app") for i in range(n)])
    return acc


def _default_prompt(d: _Draw) -> Columns:
    """Unrelated customers of one SDK: the same user agent and default system prompt."""
    rng = d.rng("default_prompt")
    acc = base_columns(rng, d.sc.n_default_prompt, "default_prompt", d.start_us)
    residential(acc, rng, d.world)
    acc["ua"][:] = A.UA_DEFAULT_SDK
    acc["temp"][:] = np.nan
    acc["max_tokens"][:] = 4096
    sdk = d.tpl["default_sdk_prompt"] + "\n\n" + A.long_system_prompt(d.tpl, "the user", 1200, 0)
    acc["sys_id"][:] = d.sys_table.add(sdk, "default_sdk")
    return acc


# The randomized scenario's hard negatives, built only when the scenario asks for them.


def _isp_customers(d: _Draw) -> Columns:
    """Customers registered with their consumer ISP's mail domain."""
    rng = d.rng("isp_customer")
    n = d.sc.n_isp_customers
    acc = base_columns(rng, n, "isp_customer", d.start_us)
    residential(acc, rng, d.world)
    names, weights = isp_domains(d.seed, d.sc.n_isp_domains)
    acc["email_domain"] = names[rng.choice(len(names), n, p=weights)]
    return acc


def _mobile(d: _Draw) -> Columns:
    """A few carriers' CGNAT /24s, each carrier in one country: hundreds of strangers each."""
    rng = d.rng("mobile")
    n = d.sc.n_mobile
    cgnat = d.world.cgnat
    acc = base_columns(rng, n, "mobile", d.start_us)
    carrier = rng.integers(0, len(cgnat), n)
    carrier_country = rng.choice(len(A.COUNTRIES), len(cgnat), p=A.COUNTRY_W)
    acc["country"] = carrier_country[carrier]
    acc["ip_kind"][:] = 1
    acc["ip_base"] = cgnat[carrier]
    acc["ip_hosts"][:] = 254
    acc["ua"] = rng.choice([15, 3, 16, 17], n)  # okhttp, JS SDK, mobile browsers
    return acc


def _campuses(d: _Draw) -> Columns:
    """Students of one university behind its /24, who get the same homework (see
    ``simulator.traffic``)."""
    rng = d.rng("campus")
    lo, hi = d.sc.campus_students
    size = rng.integers(lo, hi + 1, d.sc.n_campuses)
    campus = np.repeat(np.arange(d.sc.n_campuses), size)
    acc = base_columns(rng, len(campus), "campus", d.start_us)
    nat = rng.choice(d.world.nat, d.sc.n_campuses, replace=False)
    where = rng.choice(len(A.COUNTRIES), d.sc.n_campuses, p=A.COUNTRY_W)
    acc["country"] = where[campus]
    acc["ip_kind"][:] = 1
    acc["ip_base"] = nat[campus]
    acc["ip_hosts"][:] = 254
    acc["group"] = campus
    return acc


def _labs(d: _Draw) -> Columns:
    """Several accounts on one card and domain, benchmark runs at the rate limit."""
    rng = d.rng("research_lab")
    lo, hi = d.sc.lab_accounts
    size = rng.integers(lo, hi + 1, d.sc.n_labs)
    lab = np.repeat(np.arange(d.sc.n_labs), size)
    n = len(lab)
    acc = base_columns(rng, n, "research_lab", d.start_us)
    acc["operator_id"] = np.array([f"research_lab-{i:04d}" for i in lab])
    acc["email_domain"] = np.array([f"{WORDS[i % len(WORDS)]}-lab{i}.org" for i in lab])
    acc["payment_fp"] = acc["payment_fp"][np.searchsorted(lab, lab)]
    acc["tier"][:] = 0  # 50 requests a minute: the runs pace themselves just under it
    acc["ua"][:] = A.UA_EVAL
    acc["temp"][:] = 0.0
    acc["max_tokens"] = rng.choice([512, 1024], n)
    acc["p_active"] = rng.uniform(0.5, 0.9, n)
    on_nat = rng.random(n) < 0.5
    acc["ip_kind"] = np.where(on_nat, 1, 3).astype(np.int8)
    acc["ip_base"] = np.where(on_nat, rng.choice(d.world.nat, n), rng.choice(d.world.cloud, n))
    acc["ip_hosts"][:] = 16
    acc["group"] = lab
    return acc


def _agent_users(d: _Draw) -> Columns:
    """One agent framework's customers: its user agent and long default prompt, loops all
    day."""
    rng = d.rng("agent_framework")
    n = d.sc.n_agent_users
    acc = base_columns(rng, n, "agent_framework", d.start_us)
    residential(acc, rng, d.world)
    in_cloud = rng.random(n) < 0.4
    acc["ip_kind"] = np.where(in_cloud, 3, 0).astype(np.int8)
    acc["ip_base"] = np.where(in_cloud, rng.choice(d.world.cloud[:40], n), acc["ip_base"])
    acc["ip_hosts"] = np.where(in_cloud, 254, acc["ip_hosts"])
    acc["ua"][:] = A.UA_AGENT_FRAMEWORK
    acc["profile"][:] = P_APP
    acc["per_session"] = rng.gamma(2.0, 8.0, n) + 4.0
    acc["temp"][:] = np.nan
    acc["max_tokens"][:] = 8192
    prompt = d.tpl["default_sdk_prompt"] + "\n\n" + A.long_system_prompt(
        d.tpl, "the agent framework", 2600, 7)
    acc["sys_id"][:] = d.sys_table.add(prompt, "agent_framework")
    return acc
