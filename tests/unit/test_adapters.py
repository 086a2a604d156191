"""Adapters on real-shaped files: each format's golden rows, what each refuses and why, how
a file's format is told, and the settings that choose it.

The inputs under ``tests/golden/formats/`` are small files in each project's published shape:
``LiteLLM_SpendLogs`` exported as CSV (every column of LiteLLM's schema.prisma model), an
OpenAI-style gateway's JSONL (the Chat Completions request and response objects in the
gateway's envelope) and an OTLP/JSON trace export (one ExportTraceServiceRequest a line).
Each has ``<file>.expected.json``: the contract rows it must give and the quarantine rows.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline import PROJECT_DIR
from pipeline.errors import ForensicsError
from pipeline.ingest.adapters import ADAPTERS, detect, redact_url, resolve
from pipeline.ingest.ingest import IngestParams, discover_files, ingest
from pipeline.settings import LogFormat, PipelineParams, param_spec

from conftest import DAY, query, record, write_logs

FORMATS = PROJECT_DIR / "tests" / "golden" / "formats"


GOLDEN = {"litellm": "litellm_spendlogs.csv", "openai": "openai_gateway.jsonl",
          "otel": "otel_spans.jsonl"}


LENIENT = {"max_bad_share": 1.0, "allow_empty": True}


def adapted(name: str, logs: Path, out: Path, log_format: str) -> tuple[list[dict], list[dict]]:
    """The kept rows (without the derived prompt hash and prefix) and the quarantine rows of
    one file ingested with ``log_format``."""
    logs.mkdir(exist_ok=True)
    shutil.copy(FORMATS / name, logs / name)
    ingest(logs, out, DAY, DAY, run_id="test",
           params=IngestParams(format=log_format, **LENIENT))
    kept = (pl.read_parquet(out / "requests" / f"date={DAY}" / "part-0.parquet")
            .sort("source_line")
            .with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
            .drop("prompt_hash", "ip_prefix", "source_file").to_dicts())
    bad = query(out / "forensics.duckdb",
                "SELECT source_line, reason, reason_fields, request_id FROM quarantine "
                "ORDER BY source_line")
    return kept, [dict(zip(("source_line", "reason", "reason_fields", "request_id"), row,
                           strict=True)) for row in bad]


@pytest.mark.parametrize("log_format", sorted(GOLDEN))
def test_each_adapter_gives_its_golden_rows_and_quarantine(logs, out, log_format):
    """Every mapped field, exactly; and every record the adapter cannot map is in the
    quarantine with the contract field it lacks, none dropped."""
    name = GOLDEN[log_format]
    kept, bad = adapted(name, logs, out, log_format)
    expected = json.loads((FORMATS / f"{name}.expected.json").read_text(encoding="utf-8"))
    assert kept == expected["kept"]
    assert bad == expected["quarantined"]
    ledger = query(out / "forensics.duckdb",
                   "SELECT format, rows_read, rows_kept, rows_quarantined FROM ingest_ledger")
    assert ledger == [(f"{Path(name).suffix[1:]}/{log_format}", len(kept) + len(bad),
                       len(kept), len(bad))]


def test_a_litellm_parquet_export_gives_the_csv_export_rows(logs, out, tmp_path):
    """Parquet keeps LiteLLM's types (timestamps, numbers); the rows are the CSV's."""
    frame = pl.read_csv(FORMATS / GOLDEN["litellm"], infer_schema_length=0)
    frame = frame.with_columns(
        pl.col("startTime", "endTime").str.to_datetime("%Y-%m-%d %H:%M:%S%.3f", strict=False),
        pl.col("prompt_tokens", "completion_tokens").cast(pl.Int64))
    logs.mkdir()
    frame.write_parquet(logs / "spend.parquet")
    ingest(logs, out, DAY, DAY, run_id="test", params=IngestParams(format="litellm", **LENIENT))
    got = pl.read_parquet(out / "requests" / f"date={DAY}" / "part-0.parquet")
    csv_kept, _ = adapted(GOLDEN["litellm"], tmp_path / "csv", tmp_path / "csv-out", "litellm")
    assert got.sort("source_line")["request_id"].to_list() == [
        r["request_id"] for r in csv_kept]
    assert got.sort("source_line")["input_tokens"].to_list() == [
        r["input_tokens"] for r in csv_kept]


@pytest.mark.parametrize("log_format", sorted(GOLDEN))
def test_auto_reads_each_golden_file_as_its_format(logs, log_format):
    logs.mkdir()
    shutil.copy(FORMATS / GOLDEN[log_format], logs / GOLDEN[log_format])
    files, _ = discover_files(logs)
    assert [f.log_format for f in resolve(files, "auto")] == [log_format]


def test_auto_reads_a_contract_file_as_the_contract(logs):
    write_logs(logs, "day", [record(1)], "csv", "gzip")
    files, _ = discover_files(logs)
    assert [f.log_format for f in resolve(files, "auto")] == ["contract"]


@pytest.mark.parametrize("keys,found", [
    ({"request_id", "ts", "account_id", "model"}, ["contract"]),
    ({"request_id", "startTime", "call_type", "prompt_tokens"}, ["litellm"]),
    ({"resourceSpans"}, ["otel"]),
    ({"request", "response", "status_code"}, ["openai"]),
    ({"request_id", "ts", "account_id", "startTime", "call_type"}, ["contract", "litellm"]),
    ({"id", "object"}, []),
])
def test_detection_names_every_format_a_first_record_fits(keys, found):
    assert detect(keys) == found


def test_auto_refuses_a_file_that_fits_two_formats_naming_the_choices(logs):
    write_logs(logs, "both", [record(1, startTime="2026-04-01T00:00:00Z", call_type="x")])
    files, _ = discover_files(logs)
    with pytest.raises(ForensicsError, match=r"fits contract and litellm.*contract, litellm, "
                       r"otel, openai"):
        resolve(files, "auto")


def test_auto_refuses_a_file_that_fits_none(logs):
    logs.mkdir()
    (logs / "odd.jsonl").write_text('{"id": 1, "object": "thing"}\n', encoding="utf-8")
    files, _ = discover_files(logs)
    with pytest.raises(ForensicsError, match=r"odd.jsonl: --format auto cannot tell.*fits none"):
        resolve(files, "auto")


def test_the_default_refuses_a_file_plainly_of_another_format(logs):
    """Read as the contract, a LiteLLM export would quarantine every row; the run stops
    with the option that reads it instead."""
    logs.mkdir()
    shutil.copy(FORMATS / GOLDEN["litellm"], logs / GOLDEN["litellm"])
    files, _ = discover_files(logs)
    with pytest.raises(ForensicsError, match=r"looks like a litellm log.*--format litellm"):
        resolve(files, "contract")


def test_a_file_whose_first_line_is_broken_stays_with_the_named_format(logs, out):
    """Detection only guards; the contract's quarantine still judges a broken file."""
    logs.mkdir()
    (logs / "a.jsonl").write_text("{broken\n" + json.dumps(record(1)) + "\n", encoding="utf-8")
    result = ingest(logs, out, DAY, DAY, run_id="test", params=IngestParams(**LENIENT))
    assert (result.rows_kept, result.by_reason) == (1, {"malformed record": 1})


def test_the_format_setting_is_refused_in_the_settings_words():
    with pytest.raises(ForensicsError, match=r"^format: must be one of contract, auto, "
                       r"litellm, otel or openai \(got 'csv'\)$"):
        PipelineParams.from_overrides({"format": "csv"})
    assert param_spec("format")["enum"] == ["contract", "auto", *ADAPTERS]
    assert set(ADAPTERS) == set(LogFormat.__args__) - {"contract", "auto"}


def test_every_adapter_says_which_evidence_its_logs_cannot_carry():
    for adapter in ADAPTERS.values():
        assert adapter.evidence_off, adapter.name
        assert any("payment" in kind for kind, _why in adapter.evidence_off)


def test_a_source_url_loses_its_password_wherever_it_is_shown():
    assert redact_url("postgresql://litellm:s3cret@db.internal:5432/litellm") == (
        "postgresql://litellm:***@db.internal:5432/litellm")
    assert redact_url("postgresql://litellm@db/litellm") == "postgresql://litellm@db/litellm"


def test_the_adapters_keep_days_outside_the_range_for_their_run(logs, out):
    logs.mkdir()
    shutil.copy(FORMATS / GOLDEN["openai"], logs / GOLDEN["openai"])
    day = date(2026, 4, 2)
    result = ingest(logs, out, day, day, run_id="test",
                    params=IngestParams(format="openai", **LENIENT))
    assert (result.rows_kept, result.rows_out_of_range) == (0, 5)


@pytest.mark.parametrize("args,message", [
    (["--logs", "XDIR", "--source", "postgresql://db/litellm"], "either --logs"),
    ([], "either --logs"),
    (["--source", "mysql://db/litellm"], "only postgresql:// URLs"),
    (["--source", "postgresql://db/litellm", "--format", "otel"],
     "--source reads LiteLLM_SpendLogs, which is --format litellm"),
    (["--logs", "XDIR", "--format", "csv"], "format: must be one of"),
])
def test_the_cli_refuses_a_source_or_format_that_cannot_be_right(tmp_path, args, message):
    """Refused before anything is locked, read or written, in one line, exit code 2."""
    from typer.testing import CliRunner

    from pipeline.run.cli import app

    args = [str(tmp_path) if a == "XDIR" else a for a in args]
    result = CliRunner().invoke(app, ["ingest", "--start", "2026-04-01", "--end", "2026-04-01",
                                      "--out", str(tmp_path / "out"), *args],
                                catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()

