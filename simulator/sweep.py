"""The evaluation sweep: fresh randomized scenarios, the whole pipeline on each, scored.

In: seeds (drawn from the clock unless given), an output folder, whether to force hashes
only. Out, under the folder:

- ``seeds.json``: the seeds, written before anything runs (a sweep can be re-run exactly);
- ``seed-N/sim``: the simulation (logs, accounts, labels, ``scenario.json``);
- ``seed-N/out``: the pipeline's outputs for the scenario's whole window;
- ``seed-N/result.json``: that seed's scores (``simulator.evaluation.score_seed``), or its
  failure with the error, written as soon as the seed ends;
- ``sweep.json`` and ``sweep.md``: every seed and the aggregate (median and worst case),
  rewritten after each seed, so an interrupted sweep keeps what it measured.

Why a subprocess per seed: a seed's simulation and run hold a few GiB at their peak; a fresh
process returns it all to the system, and a crash (even one that kills the interpreter) is
one failed seed in the report, not a lost sweep.
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from simulator.evaluation import (
    aggregate_sweep,
    score_frames,
    score_seed,
    sweep_markdown,
    value_at,
)
from simulator.randomized import ROW_BUDGET

RESULT = "result.json"


def draw_seeds(k: int) -> list[int]:
    """``k`` distinct seeds from the operating system's randomness: seeds nobody tuned on."""
    seeds: list[int] = []
    while len(seeds) < k:
        seed = secrets.randbelow(2**31)
        if seed not in seeds:
            seeds.append(seed)
    return seeds


def run_seed(seed: int, folder: Path, hashes_only: bool = False,
             row_budget: int = ROW_BUDGET, without: tuple[str, ...] = ()) -> dict:
    """Simulate the randomized scenario of ``seed``, run the pipeline over its whole window,
    and score it. Returns the scores (also written to ``folder/result.json``). A smaller
    ``row_budget`` keeps the design and scales the volume (for a quick check); ``without``
    leaves linking evidence kinds out, to measure what each adds."""
    from pipeline.linking.linking import LinkParams  # the data stack, in the seed's own process
    from pipeline.run.runner import (  # the data stack, in the seed's own process
        PipelineParams,
        RunRequest,
        run_pipeline,
    )
    from simulator.randomized import (
        randomized_scenario,  # the data stack, in the seed's own process
    )
    from simulator.simulate import simulate  # the data stack, in the seed's own process

    sim, out = folder / "sim", folder / "out"
    scenario, design = randomized_scenario(seed, row_budget)
    began = time.perf_counter()
    summary = simulate(scenario, sim, seed=seed, hashes_only=hashes_only, design=design)
    simulated = time.perf_counter()
    end = summary.start + timedelta(days=summary.days - 1)
    request = RunRequest(logs=sim / "logs", out=out, start=summary.start, end=end,
                         accounts=sim / "accounts.csv")
    linking = LinkParams(link_types=tuple(t for t in LinkParams().link_types
                                          if t.key_type not in without))
    run_pipeline(request, PipelineParams(linking=linking))
    ran = time.perf_counter()
    result = score_seed(seed, sim, out)
    result["seconds"] = {"simulate": round(simulated - began, 1), "run": round(ran - simulated, 1)}
    # Linux reports KiB: the seed's whole process (simulation and run), as the OOM killer sees it.
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    _write_json(folder / RESULT, result)
    return result


def _exit(code: int) -> str:
    """How a seed's process ended, in words: a seed killed for want of memory leaves no
    traceback, only the signal the kernel's out-of-memory killer sends."""
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    hint = " (the kernel's out-of-memory killer sends it)" if -code == signal.SIGKILL else ""
    return f"killed by {name}{hint}, exit code {code}"


def _failure(seed: int, error: str) -> dict:
    return {"seed": seed, "status": "failed", "error": error}


def run_sweep(
    seeds: list[int],
    out: Path,
    hashes_only: bool = False,
    on_result: Callable[[dict], None] | None = None,
    row_budget: int = ROW_BUDGET,
    without: tuple[str, ...] = (),
) -> dict:
    """Run every seed in its own process, one after another; after each, rewrite
    ``sweep.json`` and ``sweep.md``. Returns the final ``sweep.json`` content."""
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "seeds.json", {"seeds": seeds, "hashes_only": hashes_only,
                                     "row_budget": row_budget, "without": list(without)})
    results: list[dict] = []
    sweep: dict = {}
    for seed in seeds:
        folder = out / f"seed-{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / RESULT).unlink(missing_ok=True)
        command = [sys.executable, "-m", "simulator.sweep", "--seed", str(seed),
                   "--folder", str(folder), "--row-budget", str(row_budget)]
        command += ["--hashes-only"] if hashes_only else []
        command += ["--without", ",".join(without)] if without else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        (folder / "log.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
        if (folder / RESULT).is_file():
            result = json.loads((folder / RESULT).read_text(encoding="utf-8"))
        else:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            result = _failure(seed, f"{_exit(done.returncode)}: " + " | ".join(tail))
        results.append(result)
        sweep = {"seeds": seeds, "hashes_only": hashes_only, "row_budget": row_budget,
                 "without": list(without), "results": results,
                 "aggregate": aggregate_sweep(results)}
        _write_json(out / "sweep.json", sweep)
        (out / "sweep.md").write_text(sweep_markdown(sweep), encoding="utf-8")
        if on_result is not None:
            on_result(result)
    return sweep


RESCORED: dict[str, tuple[str, ...]] = {
    "F1": ("flagged", "f1"), "FPR": ("flagged", "false_positive_rate"),
    "FPR flagged or watch": ("flagged_or_watch", "false_positive_rate"),
    "ARI (cases)": ("case_ari",)}
"""What a re-scoring compares per seed, before and after, by name and path in a record."""


def rescore_sweep(sweep: Path, out: Path,
                  on_result: Callable[[dict, dict], None] | None = None) -> dict:
    """Every finished seed of ``sweep`` scored again by this code's scoring stage alone
    (``score_clusters`` on a copy of the seed's database: linking, statistics and cohorts
    as the run left them; its per-day views made again over the seed's own partitions,
    which the merge rule reads for the accounts' days), under ``out``:
    ``seed-N/result.json``, and ``sweep.json`` and ``sweep.md`` with the aggregate and,
    per seed, each ``RESCORED`` measure before and after. A change to the join rule or the
    verdicts is measured on a stored sweep in minutes instead of hours of simulation and
    linking; the seeds it is measured on are no longer fresh for a choice made while
    looking at them."""
    from pipeline.detection.scoring import score_clusters  # the data stack, imported late
    from pipeline.features.features import create_feature_views  # the data stack, late
    from pipeline.warehouse import DB_NAME, connect  # the data stack, imported late

    done = json.loads((sweep / "sweep.json").read_text(encoding="utf-8"))
    before = [r for r in done["results"] if r.get("status") == "ok"]
    out.mkdir(parents=True, exist_ok=True)
    results, compared = [], []
    for old in before:
        folder = sweep / f"seed-{old['seed']}"
        target = out / f"seed-{old['seed']}"
        target.mkdir(parents=True, exist_ok=True)
        copy = target / DB_NAME
        shutil.copyfile(folder / "out" / DB_NAME, copy)
        with connect(copy) as db:
            create_feature_views(db, folder / "out")
            findings = score_clusters(db)
            clusters = db.sql("SELECT cluster_id, account_id FROM clusters").pl()
        copy.unlink()
        new = {**score_frames(old["seed"], folder / "sim", clusters, findings),
               "seconds": old.get("seconds"), "peak_rss_mib": old.get("peak_rss_mib")}
        _write_json(target / RESULT, new)
        results.append(new)
        compared.append({"seed": old["seed"], **{
            name: [value_at(old, path), value_at(new, path)]
            for name, path in RESCORED.items()}})
        if on_result is not None:
            on_result(old, new)
    rescored = {**{k: done[k] for k in ("hashes_only", "row_budget", "without")},
                "seeds": [r["seed"] for r in before], "rescored_from": str(sweep),
                "results": results, "compared": compared,
                "aggregate": aggregate_sweep(results)}
    _write_json(out / "sweep.json", rescored)
    (out / "sweep.md").write_text(sweep_markdown(rescored), encoding="utf-8")
    return rescored


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """One seed, in the sweep's child process: a failure is written down, not raised."""
    parser = argparse.ArgumentParser(prog="python -m simulator.sweep")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--hashes-only", action="store_true")
    parser.add_argument("--row-budget", type=int, default=ROW_BUDGET)
    parser.add_argument("--without", default="")
    args = parser.parse_args(argv)
    without = tuple(k for k in args.without.split(",") if k)
    try:
        run_seed(args.seed, args.folder, args.hashes_only, args.row_budget, without)
    except Exception as err:  # any crash is this seed's result, written down
        error = f"{type(err).__name__}: {err}"
        _write_json(args.folder / RESULT, {**_failure(args.seed, error),
                                           "traceback": traceback.format_exc()})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
