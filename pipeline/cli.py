"""The ``forensics`` command: simulate, ingest, run, demo, evaluate, verify, the
investigator's case, account and changes, and export-stix.

In: command-line options (the same names as the DAGs' params). Out: the stages' files under
``--out`` and a short account of them on the terminal. A user's mistake (a missing folder, a
bad date, a range that ends before it starts) is one red line and a non-zero exit code; a
traceback means a bug.

The data stack (polars, DuckDB, igraph, the stages) is imported inside the commands that
run it, never at the top: ``forensics --help`` and a mistake in an option answer at once.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pipeline import settings
from pipeline.errors import ForensicsError
from pipeline.registry import VERDICTS
from pipeline.settings import IngestParams, LinkParams, PipelineParams
from pipeline.terminal import console, out_console, print_answer, progress_bar, user_errors

if TYPE_CHECKING:
    from pipeline.ingest import IngestResult
    from pipeline.runner import RunRequest, RunResult

MAX_BAD_SHARE: float = settings.default("max_bad_share")
LOOKBACK_DAYS: int = settings.default("lookback_days")
FORMAT: str = settings.default("format")

app = typer.Typer(
    help="Find adversarial-distillation campaigns in LLM API request logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"
SAMPLE_RANGE = ("2026-04-01", "2026-04-03")

LogsOpt = Annotated[Path | None, typer.Option("--logs", help="Folder of request logs (JSONL, "
                                              "CSV or Parquet; plain, .gz or .zst).")]
SourceOpt = Annotated[str | None, typer.Option(
    "--source", help="Read LiteLLM's spend logs from its PostgreSQL database instead of "
    "--logs: postgresql://user@host/db (read-only; the password from PGPASSWORD or "
    "~/.pgpass keeps it out of the process list).")]
FormatOpt = Annotated[str, typer.Option(
    "--format", help="What the logs are: contract, litellm, otel, openai, or auto (each "
    "file by its first record).")]
AccountsOpt = Annotated[Path | None, typer.Option("--accounts", help="Accounts table (CSV or "
                                                  "Parquet), optional.")]
StartOpt = Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD (UTC).")]
EndOpt = Annotated[str, typer.Option("--end", help="Last day, YYYY-MM-DD (UTC), inclusive.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Output folder.")]
BadShareOpt = Annotated[float, typer.Option(
    "--max-bad-share", help="Stop when a day's quarantined share of rows passes this.")]
LookbackOpt = Annotated[int, typer.Option(
    "--lookback-days", help="Days of history the accounts are linked over.")]
ExcerptsOpt = Annotated[int, typer.Option(
    "--excerpts", help="Prompt excerpts per flagged cluster in its report (redacted).")]
AllowEmptyOpt = Annotated[bool, typer.Option(
    "--allow-empty", help="Publish a day that kept no rows, or far fewer than the days "
    "before it (a deliberate run; otherwise the run stops with exit code 6).")]
SigningKeyOpt = Annotated[Path | None, typer.Option(
    "--signing-key", envvar="FORENSICS_SIGNING_KEY",
    help="Ed25519 private key (PEM, from 'forensics keygen') to sign the manifests with.")]
AllowInvalidOpt = Annotated[bool, typer.Option(
    "--allow-invalid", help="Publish even when validation fails; every report page says so "
    "(for investigators, never the nightly run).")]


def parse_day(value: str, option: str) -> date:
    """A YYYY-MM-DD day, or a one-line error naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ForensicsError(f"{option}: '{value}' is not a date (YYYY-MM-DD)") from None


def _request(logs: Path | None, out: Path, start: str, end: str, accounts: Path | None,
             signing_key: Path | None = None, source: str | None = None) -> RunRequest:
    from pipeline.runner import RunRequest, source_folder  # the data stack: see the docstring

    if signing_key is not None and not signing_key.is_file():
        raise ForensicsError(f"--signing-key: {signing_key} not found")
    if (logs is None) == (source is None):
        raise ForensicsError("give either --logs (a folder of log files) or --source "
                             "(postgresql://...), not both")
    if source is not None and not source.startswith(("postgresql://", "postgres://")):
        raise ForensicsError("--source: only postgresql:// URLs are read (LiteLLM's database)")
    return RunRequest(logs=logs or source_folder(out), out=out,
                      start=parse_day(start, "--start"), end=parse_day(end, "--end"),
                      accounts=accounts, signing_key=signing_key, source=source)


def _log_format(log_format: str, source: str | None) -> str:
    """The format a run reads: a database source is LiteLLM's table, whatever the default."""
    if source is None or log_format == "litellm":
        return log_format
    if log_format != settings.default("format"):
        raise ForensicsError(f"--format {log_format}: --source reads LiteLLM_SpendLogs, "
                             "which is --format litellm")
    return "litellm"


def print_ingest(result: IngestResult, out: Path) -> None:
    """The ingest's account of every row: where it went, and why when it was kept out."""
    table = Table(title=f"ingest {result.run_id}", show_header=True)
    table.add_column("rows")
    table.add_column("count", justify="right")
    table.add_row("read", f"{result.rows_read:,}")
    table.add_row("kept", f"{result.rows_kept:,}")
    table.add_row("quarantined", f"{result.rows_quarantined:,}")
    for reason, n in result.by_reason.items():
        table.add_row(f"  {reason}", f"{n:,}")
    table.add_row("outside the range", f"{result.rows_out_of_range:,}")
    out_console.print(table)
    out_console.print(f"{len(result.files)} files, {len(result.partitions)} day partitions "
                      f"under {out / 'requests'}")
    for entry in result.skipped_files:
        console.print(f"[yellow]skipped[/] {entry}", highlight=False)
    from pipeline.adapters import ADAPTERS  # only once a run has read its files

    for log_format in sorted({f.log_format for f in result.files} & set(ADAPTERS)):
        for evidence, why in ADAPTERS[log_format].evidence_off:
            console.print(f"[yellow]{log_format} logs limit[/] {evidence}: {why}",
                          highlight=False)


@app.command()
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
    from pipeline.simulate import RANDOMIZED, SCENARIOS
    from pipeline.simulate import simulate as run_simulation

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


@app.command("ingest")
def ingest_command(
    start: StartOpt,
    end: EndOpt,
    logs: LogsOpt = None,
    out: OutOpt = Path("out"),
    accounts: AccountsOpt = None,
    max_bad_share: BadShareOpt = MAX_BAD_SHARE,
    allow_empty: AllowEmptyOpt = False,
    log_format: FormatOpt = FORMAT,
    source: SourceOpt = None,
) -> None:
    """Load request logs into day partitions, with a quarantine for bad rows."""
    from pipeline.runner import run_ingest  # the data stack: see the module's docstring

    with user_errors():
        request = _request(logs, out, start, end, accounts, source=source)
        params = IngestParams(max_bad_share=max_bad_share, allow_empty=allow_empty,
                              format=_log_format(log_format, source))
        with progress_bar() as report:
            result = run_ingest(request, params, report)
    print_ingest(result, out)


@app.command()
def run(
    start: StartOpt,
    end: EndOpt,
    logs: LogsOpt = None,
    out: OutOpt = Path("out"),
    accounts: AccountsOpt = None,
    max_bad_share: BadShareOpt = MAX_BAD_SHARE,
    lookback_days: LookbackOpt = LOOKBACK_DAYS,
    excerpts: ExcerptsOpt = 0,
    allow_empty: AllowEmptyOpt = False,
    allow_invalid: AllowInvalidOpt = False,
    signing_key: SigningKeyOpt = None,
    log_format: FormatOpt = FORMAT,
    source: SourceOpt = None,
) -> None:
    """Run the whole pipeline over a date range."""
    from pipeline.runner import run_pipeline  # the data stack: see the module's docstring

    with user_errors():
        request = _request(logs, out, start, end, accounts, signing_key, source)
        params = PipelineParams.from_overrides({"max_bad_share": max_bad_share,
                                                "lookback_days": lookback_days,
                                                "excerpts": excerpts,
                                                "allow_empty": allow_empty,
                                                "allow_invalid": allow_invalid,
                                                "format": _log_format(log_format, source)})
        with progress_bar() as report:
            result = run_pipeline(request, params, report)
    print_run(result, out)


@app.command()
def demo(out: OutOpt = Path("out"), excerpts: ExcerptsOpt = 0) -> None:
    """Run the pipeline on the bundled sample (data/sample) and list what it wrote."""
    from pipeline.runner import run_pipeline  # the data stack: see the module's docstring

    with user_errors():
        if not (SAMPLE_DIR / "logs").is_dir():
            raise ForensicsError(f"the sample is missing: {SAMPLE_DIR / 'logs'}")
        request = _request(SAMPLE_DIR / "logs", out, *SAMPLE_RANGE, SAMPLE_DIR / "accounts.csv")
        params = PipelineParams.from_overrides({"excerpts": excerpts})
        with progress_bar() as report:
            result = run_pipeline(request, params, progress=report)
    print_run(result, out)


def print_run(result: RunResult, out: Path) -> None:
    """A run's account: the ingest's rows, the clusters, and every file written."""
    print_ingest(result.ingest, out)
    linked = result.window.linking
    out_console.print(
        f"{linked.account_count:,} accounts seen {linked.window_start} to "
        f"{linked.window_end}: {linked.edge_count:,} links, {linked.cluster_count:,} clusters, "
        f"{linked.linked_cluster_count:,} of them with more than one account (largest "
        f"{linked.largest_cluster:,})")
    verdicts = result.window.verdicts
    out_console.print("verdicts: " + ", ".join(f"{verdicts.get(v, 0):,} {v}"
                                               for v in VERDICTS))
    published = result.window.published
    if published is not None and published.previous is not None:
        out_console.print(f"{published.changes:,} verdict changes since publication "
                          f"{published.previous} (the summary's Changes section)")
    _print_outputs(out)


@app.command()
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
) -> None:
    """Score a run's clusters against a simulation's labels, or sweep fresh randomized
    scenarios (--sweep K or --seeds) and report per seed and overall."""
    import polars as pl  # the data stack: see the module's docstring

    from pipeline.evaluation import read_labels, score_linking, score_verdicts

    if sweep or seeds:
        _evaluate_sweep(out or Path("eval"), sweep, seeds, hashes_only, row_budget, without)
        return
    out = out or Path("out")
    with user_errors():
        if labels is None:
            raise ForensicsError("--labels: required unless --sweep or --seeds is given")
        clusters_file = out / "findings" / "clusters.parquet"
        findings_file = out / "findings" / "cluster_findings.parquet"
        if not clusters_file.is_file() or not findings_file.is_file():
            raise ForensicsError(f"no findings under {out}: run `forensics run` first")
        truth = read_labels(labels)
        clusters = pl.read_parquet(clusters_file)
        score = score_linking(clusters, truth)
        verdicts = score_verdicts(clusters, pl.read_parquet(findings_file), truth)
    table = Table(title=f"linking: {out}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("campaign ARI (clusters vs operators)", f"{score.campaign_ari:.3f}")
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
    from pipeline.simulation.randomized import ROW_BUDGET
    from pipeline.sweep import draw_seeds, run_sweep

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
    agg = result["aggregate"]
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


@app.command()
def verify(
    out: Annotated[Path, typer.Argument(help="An output folder with a manifest.json.")],
    rederive: Annotated[bool, typer.Option(
        "--rederive", help="Also recompute the findings from the partitions and compare.")]
        = False,
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", envvar="FORENSICS_PUBLIC_KEY",
        help="The signer's Ed25519 public key (PEM): the manifests must carry a valid "
        "signature.")] = None,
) -> None:
    """Check every output file against the manifest (and, with --rederive, the findings
    against a fresh computation); name every file that differs. Exit 7 when a file or a
    signature does not match, 8 when the findings do not re-derive."""
    from pipeline.manifest import rederive as rederive_findings
    from pipeline.manifest import verify as verify_outputs

    with user_errors():
        if not out.is_dir():
            raise ForensicsError(f"output folder not found: {out}")
        if public_key is not None and not public_key.is_file():
            raise ForensicsError(f"--public-key: {public_key} not found")
        checked = verify_outputs(out, public_key)
        for line in checked.lines():
            console.print(f"[red]{line}[/]", highlight=False)
        if not checked.ok:
            raise typer.Exit(7)
        signed = ("; the signatures hold" if public_key is not None else
                  "; signed, but not checked: give --public-key" if checked.signed else
                  "; not signed")
        out_console.print(f"{checked.checked} files match the manifests{signed}")
        if rederive:
            with console.status("recomputing the findings"):
                derived = rederive_findings(out)
            for line in derived.differences:
                console.print(f"[red]{line}[/]", highlight=False)
            if not derived.ok:
                raise typer.Exit(8)
            out_console.print(f"the findings re-derive: {', '.join(derived.compared)}")


RunOutOpt = Annotated[Path, typer.Option("--out", help="The output folder of the run to "
                                         "read (read-only).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts, not tables.")]
KeysOpt = Annotated[int, typer.Option("--keys", min=1, help="Linking keys to show, rarest "
                                      "first.")]


@app.command("case")
def case_command(
    cluster_id: Annotated[str, typer.Argument(help="A case id, or a unique prefix of one.")],
    out: RunOutOpt = Path("out"),
    keys: KeysOpt = 20,
    as_json: JsonOpt = False,
) -> None:
    """Why a case is what it is: its verdict, the keys and evidence that link its
    accounts, the rules that hold (effect, adjusted p) and its report."""
    from pipeline.investigation import case

    with user_errors():
        answer = case(out, cluster_id, keys=keys)
    print_answer(answer, as_json, f"case {answer.record['cluster_id']}")


@app.command("account")
def account_command(
    account_id: Annotated[str, typer.Argument(help="An account id.")],
    out: RunOutOpt = Path("out"),
    keys: KeysOpt = 20,
    as_json: JsonOpt = False,
) -> None:
    """One account: its case, the linking keys it holds and its requests by day."""
    from pipeline.investigation import account

    with user_errors():
        answer = account(out, account_id, keys=keys)
    print_answer(answer, as_json, f"account {account_id}")


@app.command("changes")
def changes_command(
    out: RunOutOpt = Path("out"),
    all_clusters: Annotated[bool, typer.Option(
        "--all", help="Every cluster's lineage, not only the cases'.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """What the last run changed: new, grown, merged, split and ended cases, and the
    verdicts that moved since the previous publication."""
    from pipeline.investigation import changes

    with user_errors():
        answer = changes(out, all_clusters=all_clusters)
    print_answer(answer, as_json, f"run {answer.record['run_id']}")


@app.command("export-stix")
def export_stix(
    out: RunOutOpt = Path("out"),
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="Only this flagged case (an id or a unique prefix).")] = None,
    hmac_key: Annotated[Path | None, typer.Option(
        "--hmac-key", envvar="FORENSICS_INDICATOR_KEY",
        help="File holding the key the sharing group agreed on: payment fingerprints and "
        "prompt hashes are exported as HMAC-SHA256 under it (left out without it).")] = None,
    to: Annotated[Path | None, typer.Option(
        "--to", help="Write the bundle to this file instead of standard output.")] = None,
) -> None:
    """The flagged cases as a STIX 2.1 bundle another provider can match: a campaign per
    case, indicators (network prefixes, user agents, system-prompt hashes, keyed hashes
    of cards and prompts), never raw payment values or prompt text."""
    from pipeline.investigation import export_indicators
    from pipeline.warehouse import write_bytes_atomic

    with user_errors():
        if hmac_key is not None and not hmac_key.is_file():
            raise ForensicsError(f"--hmac-key: {hmac_key} not found")
        key = hmac_key.read_bytes().strip() if hmac_key is not None else None
        bundle = export_indicators(out, cluster=cluster, hmac_key=key)
        if to is None:
            sys.stdout.buffer.write(bundle)
            return
        write_bytes_atomic(to, bundle)
    console.print(f"wrote {to} ({len(bundle):,} bytes)", highlight=False)


@app.command()
def keygen(
    private_key: Annotated[Path, typer.Argument(
        help="Where to write the private key (PEM); the public key goes beside it, .pub.")],
) -> None:
    """Create an Ed25519 key pair for signing manifests: keep the private key with the
    pipeline (--signing-key), hand the .pub to auditors (verify --public-key)."""
    from pipeline.manifest import keygen as make_keys

    with user_errors():
        public = make_keys(private_key)
    out_console.print(f"wrote {private_key} (private, mode 600) and {public} (public)")


def _print_outputs(out: Path) -> None:
    """The files under ``out``, of the publications only the one the manifest names (the
    others are earlier runs', unchanged)."""
    from pipeline.manifest import MANIFEST_NAME, read_manifest
    from pipeline.publication import PUBLICATIONS_DIR

    ours = (read_manifest(out).get("publication") if (out / MANIFEST_NAME).is_file()
            else None)
    out_console.print(f"[bold]wrote[/] under {out}:")
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if path.is_symlink() or not path.is_file() or path.name.startswith(".") or (
                "validation" in rel.parts and path.name != "index.html") or (
                rel.parts[0] == PUBLICATIONS_DIR and rel.parts[1] != ours):
            continue
        out_console.print(f"  {rel}  ({path.stat().st_size:,} bytes)", highlight=False)
    if ours:
        out_console.print(f"published: {out / PUBLICATIONS_DIR / ours} (findings/ and "
                          f"reports/ lead to {PUBLICATIONS_DIR}/latest)", highlight=False)


def main() -> None:
    """Entry point for ``python -m pipeline``."""
    app(prog_name="forensics")


if __name__ == "__main__":
    sys.exit(main())
