"""The simulator's commands of ``forensics``: ``simulate`` (labelled synthetic logs) and
``evaluate`` (a run scored against the labels, or a sweep of fresh randomized scenarios).

In: command-line options. Out: the simulation's files, or the scores on the terminal and
under the sweep's folder. They join the command through the ``forensics.commands`` entry
point (pyproject.toml), so the pipeline never imports the simulator. As in
``pipeline.run.cli``, the data stack is imported inside the commands that run it, so
``forensics --help`` answers at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.errors import ForensicsError
from pipeline.run.cli import OutOpt, parse_day
from pipeline.run.terminal import console, out_console, user_errors
from pipeline.settings import LinkParams


def register(app: typer.Typer) -> None:
    """Add the simulator's commands to ``app`` (the ``forensics.commands`` entry point)."""
    app.command()(simulate)
    app.command()(evaluate)


def simulate(
    scenario: Annotated[str, typer.Option(
        help="Scenario: sample, default, seedday, wide (a month of ~100k accounts), "
             "webmail (default, its campaigns registered with free mail) or randomized "
             "(every campaign's design and benign quirk drawn from the seed; writes "
             "scenario.json).")] = "sample",
    out: OutOpt = Path("sim"),
    days: Annotated[int | None, typer.Option(help="Days to simulate (scenario's default).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same bytes.")] = 7,
    start: Annotated[str | None, typer.Option(help="First day (scenario's default).")] = None,
    hashes_only: Annotated[bool, typer.Option(help="Prompt hashes but no prompt text.")] = False,
) -> None:
    """Write labelled synthetic request logs, an accounts table and labels."""
    from simulator.simulate import (  # the data stack: see the module's docstring
        RANDOMIZED,
        SCENARIOS,
    )
    from simulator.simulate import (
        simulate as run_simulation,  # the data stack: see the module's docstring
    )

    with user_errors():
        if scenario not in SCENARIOS and scenario != RANDOMIZED:
            raise ForensicsError(f"--scenario: unknown '{scenario}' (one of: "
                                 f"{', '.join(sorted([*SCENARIOS, RANDOMIZED]))})")
        if days is not None and days < 1:
            raise ForensicsError("--days: must be at least 1")
        first = parse_day(start, "--start") if start else None
        with console.status(f"simulating {scenario}"):
            summary = run_simulation(scenario, out, seed=seed, days=days, start=first,
                                     hashes_only=hashes_only)
    out_console.print(f"{summary.n_requests:,} requests from {summary.n_accounts:,} accounts "
                      f"({summary.n_campaign_accounts:,} in campaigns) over {summary.days} "
                      f"days from {summary.start}; written to {out}")


def evaluate(
    labels: Annotated[Path | None, typer.Option("--labels", help="Labels file of a simulation "
                                                "(account_id, operator_id, population, "
                                                "is_campaign); scores the run in --out.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="The run to score (default out), or the sweep's folder (default "
        "eval).")] = None,
    sweep: Annotated[int, typer.Option(
        "--sweep", help="Draw this many fresh seeds from the clock; simulate the randomized "
        "scenario, run the pipeline and score each.")] = 0,
    seeds: Annotated[str | None, typer.Option(
        "--seeds", help="Sweep these seeds instead (comma-separated).")] = None,
    hashes_only: Annotated[bool, typer.Option(
        "--hashes-only", help="Sweep: simulate every seed without prompt text.")] = False,
    row_budget: Annotated[int | None, typer.Option(
        "--row-budget", help="Sweep: scale each scenario's volume to about this many rows "
        "(default 600,000; the design is drawn the same).")] = None,
    without: Annotated[str | None, typer.Option(
        "--without", help="Sweep: leave these linking evidence kinds out (comma-separated, "
        "e.g. payment_fingerprint,sync_start): an ablation.")] = None,
    rescore: Annotated[Path | None, typer.Option(
        "--rescore", help="A finished sweep's folder: score its seeds again with this code's "
        "scoring stage alone (into --out, default <folder>/rescored) and compare.")] = None,
) -> None:
    """Score a run's clusters against a simulation's labels, or sweep fresh randomized
    scenarios (--sweep K or --seeds) and report per seed and overall, or score a stored
    sweep again (--rescore)."""
    if rescore is not None:
        _evaluate_rescore(rescore, out or rescore / "rescored")
    elif sweep or seeds:
        _evaluate_sweep(out or Path("eval"), sweep, seeds, hashes_only, row_budget, without)
    else:
        _evaluate_run(labels, out or Path("out"))


def _evaluate_run(labels: Path | None, out: Path) -> None:
    """One run's clusters and verdicts against a simulation's labels, as two tables."""
    import polars as pl  # the data stack: see the module's docstring

    from simulator.evaluation import (  # the data stack: see the module's docstring
        case_ari,
        read_labels,
        score_linking,
        score_verdicts,
    )

    with user_errors():
        if labels is None:
            raise ForensicsError("--labels: required unless --sweep or --seeds is given")
        clusters_file = out / "findings" / "clusters.parquet"
        findings_file = out / "findings" / "cluster_findings.parquet"
        if not clusters_file.is_file() or not findings_file.is_file():
            raise ForensicsError(f"no findings under {out}: run `forensics run` first")
        truth = read_labels(labels)
        clusters = pl.read_parquet(clusters_file)
        findings = pl.read_parquet(findings_file)
        score, cases = score_linking(clusters, truth), case_ari(clusters, findings, truth)
        verdicts = score_verdicts(clusters, findings, truth)
    table = Table(title=f"linking: {out}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("campaign ARI (clusters vs operators)", f"{score.campaign_ari:.3f}")
    table.add_row("campaign ARI (cases vs operators)", f"{cases:.3f}")
    for operator, figures in score.per_campaign.items():
        table.add_row(f"  {operator}: accounts / clusters / largest share",
                      f"{figures['accounts']:.0f} / {figures['clusters']:.0f} / "
                      f"{figures['largest_share']:.3f}")
    table.add_row("benign accounts in campaign clusters", f"{score.benign_in_campaign_clusters}")
    for population, n in score.benign_in_campaign_by_population.items():
        table.add_row(f"  {population}", f"{n}")
    merges = sum(score.hard_negative_merges.values())
    table.add_row("benign clusters joining operators", f"{merges}")
    for population, n in score.hard_negative_merges.items():
        table.add_row(f"  {population}", f"{n}")
    out_console.print(table)
    accuracy = Table(title="verdicts (account level; an account takes its cluster's verdict)")
    accuracy.add_column("measure")
    accuracy.add_column("flagged", justify="right")
    accuracy.add_column("flagged or watch", justify="right")
    for name in ("precision", "recall", "f1", "false_positive_rate"):
        accuracy.add_row(name, f"{verdicts.flagged[name]:.4f}",
                         f"{verdicts.flagged_or_watch[name]:.4f}")
    for operator, value in verdicts.per_campaign_recall.items():
        accuracy.add_row(f"recall of {operator}", f"{value:.3f}", "")
    for population, n in verdicts.false_positives_by_population.items():
        clusters_flagged = verdicts.flagged_benign_clusters.get(population, 0)
        accuracy.add_row(f"benign flagged: {population}",
                         f"{n} accounts, {clusters_flagged} clusters", "")
    accuracy.add_row("ROC AUC of risk_score", f"{verdicts.roc_auc:.4f}", "")
    out_console.print(accuracy)


def _evaluate_sweep(out: Path, k: int, seeds: str | None, hashes_only: bool,
                    row_budget: int | None, without: str | None) -> None:
    """The sweep: seeds first (printed and recorded), a line per seed as it ends, then the
    aggregate table; the files under ``out`` are rewritten after every seed."""
    from simulator.randomized import ROW_BUDGET  # the data stack: see the module's docstring
    from simulator.sweep import draw_seeds, run_sweep  # the data stack: see the module's docstring

    with user_errors():
        if seeds:
            try:
                chosen = [int(s) for s in seeds.split(",") if s.strip()]
            except ValueError:
                raise ForensicsError(f"--seeds: '{seeds}' is not a list of integers") from None
        elif k < 1:
            raise ForensicsError("--sweep: must be at least 1")
        else:
            chosen = draw_seeds(k)
        budget = ROW_BUDGET if row_budget is None else row_budget
        if budget < 1_000:
            raise ForensicsError("--row-budget: must be at least 1,000")
        left_out = tuple(k.strip() for k in (without or "").split(",") if k.strip())
        kinds = {t.key_type for t in LinkParams().link_types}
        if unknown := sorted(set(left_out) - kinds):
            raise ForensicsError(f"--without: unknown evidence kind {', '.join(unknown)} "
                                 f"(one of: {', '.join(sorted(kinds))})")
    out_console.print(f"seeds: {', '.join(str(s) for s in chosen)} (recorded in "
                      f"{out / 'seeds.json'})")

    def report(result: dict) -> None:
        if result.get("status") != "ok":
            console.print(f"[red]seed {result['seed']} failed:[/] {result.get('error')}",
                          highlight=False, soft_wrap=True)
            return
        flagged = result["flagged"]
        out_console.print(
            f"seed {result['seed']}: {result['rows']:,} rows, {result['days']} days, "
            f"F1 {flagged['f1']:.3f}, precision {flagged['precision']:.3f}, recall "
            f"{flagged['recall']:.3f}, FPR {flagged['false_positive_rate']:.4f} "
            f"({result['seconds']['simulate']:.0f} s simulate, "
            f"{result['seconds']['run']:.0f} s run)")

    with console.status(f"sweeping {len(chosen)} seeds into {out}"):
        result = run_sweep(chosen, out, hashes_only=hashes_only, on_result=report,
                           row_budget=budget, without=left_out)
    _print_aggregate(result["aggregate"], out)


def _evaluate_rescore(sweep: Path, out: Path) -> None:
    """A stored sweep scored again: a line per seed, before → after, then the aggregate."""
    from simulator.evaluation import value_at  # the data stack: see the module's docstring
    from simulator.sweep import (  # the data stack: see the module's docstring
        RESCORED,
        rescore_sweep,
    )

    with user_errors():
        if not (sweep / "sweep.json").is_file():
            raise ForensicsError(f"--rescore: no sweep.json in {sweep}: give the folder a "
                                 "sweep wrote")

    def report(old: dict, new: dict) -> None:
        moved = ", ".join(f"{name} {value_at(old, p):.4f} → {value_at(new, p):.4f}"
                          for name, p in RESCORED.items())
        out_console.print(f"seed {old['seed']}: {moved}", highlight=False)

    with console.status(f"re-scoring {sweep} into {out}"):
        result = rescore_sweep(sweep, out, on_result=report)
    _print_aggregate(result["aggregate"], out)


def _print_aggregate(agg: dict, out: Path) -> None:
    table = Table(title=f"sweep: {agg['succeeded']} of {agg['seeds']} seeds ran ({out})")
    table.add_column("measure")
    table.add_column("median", justify="right")
    table.add_column("worst", justify="right")
    table.add_column("worst seed", justify="right")

    def cell(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    for name, m in agg["measures"].items():
        table.add_row(name, cell(m["median"]), cell(m["worst"]), str(m["worst_seed"] or ""))
    recall = agg["campaign_recall"]
    worst = recall["worst_campaign"]
    table.add_row(f"campaign recall ({recall['findable_campaigns']} findable)",
                  cell(recall["median"]), cell(recall["worst"]),
                  str(worst["seed"]) if worst else "")
    table.add_row("campaigns reported apart (< 3 active accounts)", str(len(agg["apart"])),
                  "", "")
    for population, n in agg["benign_flagged_by_population"].items():
        table.add_row(f"benign flagged: {population}", str(n), "", "")
    for failure in agg["failed"]:
        table.add_row(f"[red]failed seed {failure['seed']}[/]", "", "", "")
    out_console.print(table)
    out_console.print(f"wrote {out / 'sweep.json'} and {out / 'sweep.md'}")
