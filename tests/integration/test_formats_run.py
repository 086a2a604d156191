"""Each adapter's sample (data/sample/formats/) on real files: ingested, it gives the sample's
requests; ``forensics run --format X`` publishes end to end, and the summary says which
evidence the format left off."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pypdf import PdfReader

from pipeline import SAMPLE_DIR
from pipeline.ingest.ingest import IngestParams, ingest

from conftest import DAY, query

FORMATS = SAMPLE_DIR / "formats"


@pytest.mark.parametrize("log_format", ["litellm", "openai", "otel"])
def test_each_format_sample_carries_the_sample_requests(tmp_path, sample_run, log_format):
    """The format samples hold the sample's first eight hours in each format
    (``derive.py``): adapted back, they are the same requests, accounts and tokens as the
    sample run's first day."""
    out = tmp_path / log_format
    ingest(FORMATS / log_format, out, DAY, DAY, run_id="test",
           params=IngestParams(format=log_format))
    totals = ("SELECT count(*), count(DISTINCT account_id), sum(output_tokens), "
              "sum(input_tokens + cache_creation_input_tokens + cache_read_input_tokens), "
              "sum(cache_read_input_tokens), count(*) FILTER (WHERE status = 429), "
              "count(prompt_text) FROM read_parquet($path) "
              "WHERE ts < TIMESTAMPTZ '2026-04-01 08:00:00+00'")
    got = query(out / "forensics.duckdb", totals,
                {"path": str(out / "requests" / f"date={DAY}" / "part-0.parquet")})
    want = query(sample_run / "forensics.duckdb", totals,
                 {"path": str(sample_run / "requests" / f"date={DAY}" / "part-0.parquet")})
    assert got == want


@pytest.mark.parametrize("log_format", ["litellm", "openai", "otel"])
def test_run_publishes_on_each_format_sample(tmp_path, log_format):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.run.cli", "run", "--format", log_format, "--logs",
         str(FORMATS / log_format), "--start", "2026-04-01", "--end", "2026-04-01",
         "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    assert f"{log_format} logs limit account linkage" in done.stdout + done.stderr
    summary = PdfReader(out / "reports" / "summary.pdf")
    text = " ".join(page.extract_text() for page in summary.pages)
    assert "Evidence coverage" in text
    assert "account registration" in text and "OFF" in text

