"""``forensics run --format X`` end to end on each adapter's sample (data/sample/formats/):
the whole pipeline publishes, and the summary says which evidence the format left off."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pypdf import PdfReader

from pipeline import SAMPLE_DIR

FORMATS = SAMPLE_DIR / "formats"


@pytest.mark.slow
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

