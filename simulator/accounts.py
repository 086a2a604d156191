"""Who exists: every account of a scenario, benign and campaign, in one table.

In: a ``Scenario``, the seed, the window start and length, and the ``IPWorld``. Out: an
``AccountTable`` (one row per account: the public ``accounts.csv`` columns, the
``labels.csv`` columns, and the hidden behaviour parameters the traffic generators read:
activity rates, hour-of-day profile, time zone, keys, user agent, system prompt, IP
assignment) and the ``SystemPromptTable`` filled with the prompts those accounts use.

The populations are built by ``simulator.benign`` and ``simulator.campaigns`` from the
defaults of ``simulator.population``, vectorized in numpy; the only Python loops run over
populations, companies and the few hundred system prompts. Account ids and key prefixes
are drawn last, over the whole table, from a Generator of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator import assets as A
from simulator.benign import benign_accounts
from simulator.campaigns import campaign_accounts
from simulator.network import IPWorld
from simulator.population import POP, POPULATIONS, TIERS, hex_ids, isp_domains
from simulator.scenarios import Scenario


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


def build_accounts(
    sc: Scenario, seed: int, start: dt.date, days: int, world: IPWorld
) -> tuple[AccountTable, A.SystemPromptTable]:
    """All accounts of the scenario, with the system prompts they use registered."""
    tpl = A.load_templates()
    sys_table = A.SystemPromptTable()
    start_us = int(
        dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp() * 1_000_000
    )
    parts, fewshot = benign_accounts(sc, seed, start_us, world, sys_table, tpl)
    isp = isp_domains(seed, sc.n_isp_domains)
    for k, spec in enumerate(sc.campaigns):
        parts.append(
            campaign_accounts(spec, k, seed, start_us, days, world, sys_table, tpl, isp)
        )

    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    rng = np.random.default_rng([seed, 8_888])
    cols["account_id"] = np.char.add("acct_", hex_ids(rng, len(cols["pop"])))
    cols["key_prefix"] = np.char.add(np.char.add("key_", hex_ids(rng, len(cols["pop"]), 40)), "_")
    return AccountTable(cols, fewshot), sys_table
