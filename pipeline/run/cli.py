"""The ``forensics`` command: ingest, run, demo, verify, the investigator's case, account
and changes, export-stix and keygen (and the simulator's simulate and evaluate, added
through an entry point when it is installed).

In: command-line options (the same names as the DAGs' params). Out: the stages' files under
``--out`` and a short account of them on the terminal (``pipeline.run.outcome``), or one JSON
object for a scheduler (``--json``). A user's mistake (a missing folder, a bad date, a range
that ends before it starts) is one red line and a non-zero exit code; a traceback means a
bug.

The data stack (polars, DuckDB, igraph, the stages) is imported inside the commands that
run it, never at the top: ``forensics --help``, ``--version`` and a mistake in an option
answer at once (``tests/unit/test_cli.py`` checks the imports).
"""

from __future__ import annotations

import sys
import time
from datetime import date
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline import SAMPLE_DIR, settings
from pipeline.errors import ForensicsError
from pipeline.run.outcome import (
    base_record,
    failed_record,
    ingest_record,
    print_ingest,
    print_ingest_end,
    print_run,
    run_record,
    write_record,
)
from pipeline.run.terminal import console, out_console, print_answer, progress_bar, user_errors
from pipeline.settings import IngestParams, PipelineParams

if TYPE_CHECKING:
    from pipeline.run.runner import RunRequest, RunResult

MAX_BAD_SHARE: float = settings.default("max_bad_share")
LOOKBACK_DAYS: int = settings.default("lookback_days")
FORMAT: str = settings.default("format")

app = typer.Typer(
    help="Find adversarial-distillation campaigns in LLM API request logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)



def _print_version(value: bool) -> None:
    """``--version``: what a bug report or an auditor's question starts from."""
    if value:
        from pipeline.version import code_version  # light: see the module's docstring

        sys.stdout.write(f"forensics {code_version()}\n")
        raise typer.Exit()


@app.callback()
def options(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the version (the package's, and the git commit it runs) and exit.")]
        = False) -> None:
    """Find adversarial-distillation campaigns in LLM API request logs."""

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
OutOpt = Annotated[str, typer.Option("--out", help="Output folder, or s3://bucket/prefix "
                                     "(through a local working folder; see the README).")]
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
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", "-v", help="Also list every file written.")]
RecordOpt = Annotated[bool, typer.Option(
    "--json", help="Print one JSON object (the same keys on success and failure) and "
    "nothing else on standard output, for schedulers; progress stays on standard error.")]


def parse_day(value: str, option: str) -> date:
    """A YYYY-MM-DD day, or a one-line error naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ForensicsError(f"{option}: '{value}' is not a date (YYYY-MM-DD)") from None


def _request(logs: Path | None, out: str | Path, start: str, end: str,
             accounts: Path | None, signing_key: Path | None = None,
             source: str | None = None) -> RunRequest:
    from pipeline.publish.storage import locate  # the data stack: see the module's docstring
    from pipeline.run.runner import RunRequest, source_folder  # the data stack: see the docstring

    if signing_key is not None and not signing_key.is_file():
        raise ForensicsError(f"--signing-key: {signing_key} not found")
    if (logs is None) == (source is None):
        raise ForensicsError("give either --logs (a folder of log files) or --source "
                             "(postgresql://...), not both")
    if source is not None and not source.startswith(("postgresql://", "postgres://")):
        raise ForensicsError("--source: only postgresql:// URLs are read (LiteLLM's database)")
    folder, remote = locate(out)
    return RunRequest(logs=logs or source_folder(folder), out=folder, remote=remote,
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




@app.command("ingest")
def ingest_command(
    start: StartOpt,
    end: EndOpt,
    logs: LogsOpt = None,
    out: OutOpt = "out",
    accounts: AccountsOpt = None,
    max_bad_share: BadShareOpt = MAX_BAD_SHARE,
    allow_empty: AllowEmptyOpt = False,
    as_json: RecordOpt = False,
    log_format: FormatOpt = FORMAT,
    source: SourceOpt = None,
) -> None:
    """Load request logs into day partitions, with a quarantine for bad rows."""
    from pipeline.run.runner import run_ingest  # the data stack: see the module's docstring

    clock = _Clock("ingest", out, start, end, as_json)
    with user_errors(clock.failed):
        request = clock.located(_request(logs, out, start, end, accounts, source=source))
        params = IngestParams(max_bad_share=max_bad_share, allow_empty=allow_empty,
                              format=_log_format(log_format, source))
        with progress_bar() as report:
            result = run_ingest(request, params, report)
    if as_json:
        write_record(ingest_record(clock.base(), result))
        return
    print_ingest(result, clock.folder)
    print_ingest_end(result, clock.seconds())


@app.command()
def run(
    start: StartOpt,
    end: EndOpt,
    logs: LogsOpt = None,
    out: OutOpt = "out",
    accounts: AccountsOpt = None,
    max_bad_share: BadShareOpt = MAX_BAD_SHARE,
    lookback_days: LookbackOpt = LOOKBACK_DAYS,
    excerpts: ExcerptsOpt = 0,
    allow_empty: AllowEmptyOpt = False,
    allow_invalid: AllowInvalidOpt = False,
    signing_key: SigningKeyOpt = None,
    verbose: VerboseOpt = False,
    as_json: RecordOpt = False,
    log_format: FormatOpt = FORMAT,
    source: SourceOpt = None,
) -> None:
    """Run the whole pipeline over a date range."""
    from pipeline.run.runner import run_pipeline  # the data stack: see the module's docstring

    clock = _Clock("run", out, start, end, as_json)
    with user_errors(clock.failed):
        request = clock.located(_request(logs, out, start, end, accounts, signing_key,
                                         source))
        params = PipelineParams.from_overrides({"max_bad_share": max_bad_share,
                                                "lookback_days": lookback_days,
                                                "excerpts": excerpts,
                                                "allow_empty": allow_empty,
                                                "allow_invalid": allow_invalid,
                                                "format": _log_format(log_format, source)})
        with progress_bar() as report:
            result = run_pipeline(request, params, report)
    clock.finish(result, verbose)


@app.command()
def demo(out: OutOpt = "out", excerpts: ExcerptsOpt = 0, verbose: VerboseOpt = False,
         as_json: RecordOpt = False) -> None:
    """Run the pipeline on the bundled sample (data/sample) and say what it found."""
    from pipeline.run.runner import run_pipeline  # the data stack: see the module's docstring

    clock = _Clock("demo", out, *SAMPLE_RANGE, as_json)
    with user_errors(clock.failed):
        if not (SAMPLE_DIR / "logs").is_dir():
            raise ForensicsError(f"the sample is missing: {SAMPLE_DIR / 'logs'}")
        request = clock.located(_request(SAMPLE_DIR / "logs", out, *SAMPLE_RANGE,
                                         SAMPLE_DIR / "accounts.csv"))
        params = PipelineParams.from_overrides({"excerpts": excerpts})
        with progress_bar() as report:
            result = run_pipeline(request, params, progress=report)
    clock.finish(result, verbose)


class _Clock:
    """A pipeline command from its first line: how long it took and, with ``--json``, the
    one object that says how it ended (on success or on a mistake alike)."""

    def __init__(self, command: str, out: str, start: str, end: str, as_json: bool) -> None:
        self.command, self.start, self.end = command, start, end
        self.out: str | Path = out
        self.folder = Path(out)
        self.as_json = as_json
        self.started = time.monotonic()

    def located(self, request: RunRequest) -> RunRequest:
        """Where the command writes: the output (a folder, or the bucket's URL) for the
        record, and the folder the files are in (a bucket's working folder) for the
        terminal."""
        self.out, self.folder = request.remote or request.out, request.out
        return request

    def seconds(self) -> float:
        return time.monotonic() - self.started

    def base(self) -> dict[str, Any]:
        return base_record(self.command, self.out, self.start, self.end, self.seconds())

    def failed(self, exit_code: int, message: str) -> None:
        if self.as_json:
            write_record(failed_record(self.base(), exit_code, message))

    def finish(self, result: RunResult, verbose: bool) -> None:
        if self.as_json:
            write_record(run_record(self.base(), result, self.folder))
        else:
            print_run(result, self.folder, self.seconds(), verbose=verbose)


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
    from pipeline.publish.manifest import (
        verify as verify_outputs,  # the data stack: see the module's docstring
    )
    from pipeline.run.rederive import (
        rederive as rederive_findings,  # the data stack: see the module's docstring
    )

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
    from pipeline.run.investigation import case  # the data stack: see the module's docstring

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
    from pipeline.run.investigation import account  # the data stack: see the module's docstring

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
    from pipeline.run.investigation import changes  # the data stack: see the module's docstring

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
    from pipeline.run.investigation import (
        export_indicators,  # the data stack: see the module's docstring
    )
    from pipeline.warehouse import write_bytes_atomic  # the data stack: see the module's docstring

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
    from pipeline.publish.manifest import (
        keygen as make_keys,  # the data stack: see the module's docstring
    )

    with user_errors():
        public = make_keys(private_key)
    out_console.print(f"wrote {private_key} (private, mode 600) and {public} (public)")


PLUGINS = "forensics.commands"
"""The entry-point group through which another installed package adds commands (the
simulator adds ``simulate`` and ``evaluate``): the pipeline names no such package, so it
never imports one."""


@cache
def full_app() -> typer.Typer:
    """The ``forensics`` command with every installed package's commands added."""
    for entry in sorted(entry_points(group=PLUGINS), key=lambda e: e.name):
        entry.load()(app)
    return app


def main() -> None:
    """Entry point of the ``forensics`` script and ``python -m pipeline.run.cli``."""
    full_app()(prog_name="forensics")


if __name__ == "__main__":
    sys.exit(main())
