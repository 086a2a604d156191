"""Generate labelled synthetic LLM API request logs for testing and benchmarking detection.

In: a scenario (a name from ``SCENARIOS`` or a ``Scenario``), a seed, optional window
overrides. Reads only the packaged corpora and templates under ``pipeline/data/``.
Out, under ``out/``:

- ``logs/requests-YYYY-MM-DD.jsonl.gz``: one gzip JSONL file per UTC day, fields and order of
  ``pipeline.schema.LOG_FIELD_NAMES`` (``prompt_text`` omitted when ``hashes_only``);
- ``accounts.csv``: the optional accounts table of the input contract;
- ``labels.csv``: ground truth per account (operator_id, population, is_campaign).

The same scenario, seed and options give byte-identical files: every random draw comes
from ``numpy.random.default_rng`` seeded by (seed, day, population, purpose), gzip headers
carry mtime 0, and nothing depends on set order or the clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.schema import ACCOUNT_COLUMNS
from pipeline.simulation import assets as A
from pipeline.simulation.accounts import POPULATIONS, US_PER_DAY, build_accounts, build_ip_world
from pipeline.simulation.render import CacheCarry, Renderer
from pipeline.simulation.scenarios import SCENARIOS, CampaignSpec, Scenario
from pipeline.simulation.traffic import Ctx, Day, generate_day

__all__ = ["SCENARIOS", "CampaignSpec", "Scenario", "SimulationSummary", "simulate"]

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
) -> SimulationSummary:
    """Write the scenario's logs, accounts and labels under ``out`` and summarize them.

    ``days`` / ``start`` override the scenario's window; campaign waves and the model release
    are placed relative to the window, so a shorter window still contains them.
    """
    sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
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
    active = np.zeros(len(acc), bool)
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
        active[rows["acct"]] = True
        del rows

    frame = acc.frame().with_columns(pl.col("created_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    accounts_csv, labels_csv = out / "accounts.csv", out / "labels.csv"
    frame.select([name for name, _ in ACCOUNT_COLUMNS]).write_csv(accounts_csv)
    frame.select(["account_id", "operator_id", "population", "is_campaign"]).write_csv(labels_csv)
    files += [accounts_csv, labels_csv]
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
