"""The campaigns' accounts: one operator's throwaway accounts, as a scenario designs them.

In: a ``CampaignSpec`` (kind, size, waves, registration, cards, proxies, lifetimes,
activity), its place among the scenario's campaigns, the seed, the window, the ``IPWorld``,
the prompt templates, the ``SystemPromptTable`` and the scenario's ISP mail domains. Out:
the campaign's column arrays, every account labelled with the campaign's operator.

A loud campaign (``campaign``) registers in waves with private or shared mail domains and
a few payment cards and rotates through proxy and cloud /24s; a stealth one
(``stealth_campaign``) looks like residential customers behind a residential proxy. Each
campaign draws from Generators of its own (seed, kind, its index), and the randomized
scenario's knobs only when they are set, so the named scenarios' bytes never moved.
"""

from __future__ import annotations

import numpy as np

from simulator import assets as A
from simulator.network import IPWorld, residential
from simulator.population import (
    POP,
    US_PER_DAY,
    US_PER_H,
    base_columns,
    email_domains,
    hex_ids,
)
from simulator.scenarios import CampaignSpec


def campaign_accounts(
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
    """One campaign's accounts; ``k``, its place among the scenario's campaigns, seeds its
    draws, so two campaigns of one design still differ."""
    pop = spec.kind
    rng = np.random.default_rng([seed, POP[pop], 9_000 + k])
    n = spec.n_accounts
    acc = base_columns(rng, n, pop, start_us)
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
        mails = np.char.add(np.char.add("mbx-", hex_ids(rng, int(g_mail.max()) + 1, 24)), ".xyz")
        acc["email_domain"] = mails[g_mail]
        if spec.registration == "webmail":
            own = np.random.default_rng([seed, POP[pop], 9_500 + k])
            acc["email_domain"] = email_domains(own, n, 1.0)
        pays = np.char.add("pf_", hex_ids(rng, int(g_pay.max()) + 1, 60))
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
        residential(acc, rng, world)
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
        web = email_domains(rng, n, 1.0)
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
        acc["payment_fp"] = np.char.add("pf_", hex_ids(rng, int(g_pay.max()) + 1, 60))[g_pay]
        acc["group"] = g_pay
    if spec.proxies == "residential":
        residential(acc, np.random.default_rng([seed, pop, 9_800 + k]), world)
        acc["ip_kind"][:] = 5  # a new home IP of the account's country every day
