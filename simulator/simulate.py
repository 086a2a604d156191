"""Generate labelled synthetic LLM API request logs for testing and benchmarking detection.

In: a scenario (a name from ``SCENARIOS``, ``randomized``, or a ``Scenario``), a seed,
optional window overrides. Reads only the packaged corpora and templates under ``simulator/data/``.
Out, under ``out/``:

- ``logs/requests-YYYY-MM-DD.jsonl.gz``: one gzip JSONL file per UTC day, fields and order of
  ``pipeline.registry.LOG_FIELD_NAMES`` (``prompt_text`` omitted when ``hashes_only``);
- ``accounts.csv``: the optional accounts table of the input contract;
- ``labels.csv``: ground truth per account (operator_id, population, is_campaign);
- ``scenario.json`` (``randomized`` only, or when a design is passed): the drawn design of
  ``simulator.randomized`` and what was realized (rows; per campaign, the accounts
  active in the window and their requests), sorted keys.

The same scenario, seed and options give byte-identical files: every random draw comes
from ``numpy.random.default_rng`` seeded by (seed, day, population, purpose), gzip headers
carry mtime 0, and nothing depends on set order or the clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.registry import ACCOUNT_COLUMNS
from simulator import assets as A
from simulator.accounts import AccountTable, build_accounts
from simulator.network import build_ip_world
from simulator.population import POPULATIONS, US_PER_DAY
from simulator.randomized import randomized_scenario
from simulator.render import CacheCarry, Renderer
from simulator.scenarios import SCENARIOS, CampaignSpec, Scenario
from simulator.traffic import Ctx, Day, generate_day

__all__ = ["RANDOMIZED", "SCENARIOS", "CampaignSpec", "Scenario", "SimulationSummary",
           "simulate"]

RANDOMIZED = "randomized"
"""The scenario name whose design is drawn from the seed (``randomized_scenario``)."""

_RELEASE_HOUR = 17


@dataclass(frozen=True)
class SimulationSummary:
    """What was generated: window, sizes, files, and requests per population."""

    scenario: str
    seed: int
    start: dt.date
    days: int
    n_requests: int
    n_accounts: int
    n_campaign_accounts: int
    files: list[Path]
    requests_by_population: dict[str, int]
    hashes_only: bool = False


def _epoch_us(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 1_000_000


def simulate(
    scenario: str | Scenario,
    out: Path,
    *,
    seed: int = 7,
    days: int | None = None,
    start: dt.date | None = None,
    hashes_only: bool = False,
    design: dict | None = None,
) -> SimulationSummary:
    """Write the scenario's logs, accounts and labels under ``out`` and summarize them.

    ``days`` / ``start`` override the scenario's window; campaign waves and the model release
    are placed relative to the window, so a shorter window still contains them. The
    ``randomized`` scenario is drawn from ``seed``; its design (or ``design``, passed with a
    ``Scenario`` built by ``randomized_scenario``) goes to ``scenario.json``. A scenario's
    ``hashes_only`` and the argument both drop the prompt text.
    """
    if scenario == RANDOMIZED:
        scenario, design = randomized_scenario(seed)
    sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    hashes_only = hashes_only or sc.hashes_only
    n_days = sc.days if days is None else days
    first = sc.start if start is None else start
    if n_days < 1:
        raise ValueError("days must be at least 1")
    out = Path(out)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    world = build_ip_world(seed)
    acc, sys_table = build_accounts(sc, seed, first, n_days, world)
    assets = sys_table.freeze(A.load_prompt_bank())
    ctx = Ctx(acc, assets.prompts, world, assets.system_tokens)
    renderer = Renderer(acc, assets, seed, hashes_only)
    start_us = _epoch_us(first)
    release_us = (
        start_us
        + min(sc.new_model_day, n_days - 1) * US_PER_DAY
        + _RELEASE_HOUR * (US_PER_DAY // 24)
    )

    carry = CacheCarry.empty()
    files: list[Path] = []
    by_pop = np.zeros(len(POPULATIONS), np.int64)
    per_account = np.zeros(len(acc), np.int64)
    for i in range(n_days):
        date = first + dt.timedelta(days=i)
        day = Day(seed, i, start_us + i * US_PER_DAY, date.weekday(), release_us)
        parts = generate_day(ctx, day, sc)
        rows, carry = renderer.numbers(parts, i, day.start_us + US_PER_DAY, carry)
        del parts
        path = logs / f"requests-{date.isoformat()}.jsonl.gz"
        renderer.write_day(rows, date, path)
        files.append(path)
        by_pop += np.bincount(acc["pop"][rows["acct"]], minlength=len(POPULATIONS))
        per_account += np.bincount(rows["acct"], minlength=len(acc))
        del rows

    files += _write_tables(out, acc)
    if design is not None:
        files.append(_write_design(out, design, hashes_only, acc, per_account))
    counts = {p: int(c) for p, c in zip(POPULATIONS, by_pop, strict=True)}
    return SimulationSummary(
        scenario=sc.name,
        seed=seed,
        start=first,
        days=n_days,
        n_requests=int(by_pop.sum()),
        n_accounts=len(acc),
        n_campaign_accounts=int(acc["is_campaign"].sum()),
        files=files,
        requests_by_population=counts,
        hashes_only=hashes_only,
    )


def _write_tables(out: Path, acc: AccountTable) -> list[Path]:
    """``accounts.csv`` (the input contract's optional table) and ``labels.csv`` (the
    ground truth), apart because the pipeline must never read the labels."""
    frame = acc.frame().with_columns(pl.col("created_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    accounts_csv, labels_csv = out / "accounts.csv", out / "labels.csv"
    frame.select([name for name, _ in ACCOUNT_COLUMNS]).write_csv(accounts_csv)
    frame.select(["account_id", "operator_id", "population", "is_campaign"]).write_csv(labels_csv)
    return [accounts_csv, labels_csv]


def _write_design(out: Path, design: dict, hashes_only: bool, acc: AccountTable,
                  per_account: np.ndarray) -> Path:
    """``scenario.json``: the drawn design and what was realized of it (sorted keys, so a
    re-run writes the same bytes)."""
    path = out / "scenario.json"
    realized = _realized(acc["operator_id"], acc["is_campaign"], per_account)
    body = {**design, "hashes_only": hashes_only, "realized": {
        "rows": int(per_account.sum()), "accounts": len(acc), **realized}}
    path.write_text(json.dumps(body, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return path


def _realized(operator: np.ndarray, is_campaign: np.ndarray, per_account: np.ndarray) -> dict:
    """Per campaign operator: accounts that sent anything in the window, those that sent two
    or more (what the sweep's findability asks), and requests."""
    out = {}
    for op in np.unique(operator[is_campaign]).tolist():
        mine = (operator == op) & is_campaign
        out[op] = {"active_accounts": int((per_account[mine] > 0).sum()),
                   "accounts_two_requests": int((per_account[mine] > 1).sum()),
                   "requests": int(per_account[mine].sum())}
    return {"campaigns": out, "benign_active_accounts": int((per_account[~is_campaign] > 0)
                                                            .sum())}


def tiny_scenario(name: str = "tiny", **overrides: object) -> Scenario:
    """A small variant of ``sample`` (for tests and quick experiments)."""
    base = dataclasses.replace(
        SCENARIOS["sample"],
        name=name,
        days=1,
        n_individual=150,
        n_shared_nat=40,
        n_vpn=30,
        n_default_prompt=30,
        n_cloud_apps=4,
        app_requests_per_day=400,
    )
    return dataclasses.replace(base, **overrides)
