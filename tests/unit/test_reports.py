"""Evidence reports, the manifest and verification, on the committed sample.

The sample is run once per module (ingest, per-day tables, linking); the statistics and
scoring stages are stood in for by ``window_tables.plant_window_tables``, which creates
``cluster_findings``, ``cluster_statistic`` and the optional per-cluster tables with
plausible rows. The PDFs are read back with pypdf and checked against the tables.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipeline.publish.manifest import prune_validation
from pipeline.publish.redaction import redact
from pipeline.publish.reports.document import EvidencePDF, csv_bytes
from pipeline.run.rederive import compare_tables

from conftest import pdf_text


def test_validation_keeps_the_newest_runs(tmp_path: Path):
    root = tmp_path / "validation"
    for i in range(12):
        run = root / f"run-{i:02d}"
        run.mkdir(parents=True)
        os.utime(run, ns=(i * 10**9, i * 10**9))
    removed = prune_validation(tmp_path, 10)
    assert sorted(p.name for p in removed) == ["run-00", "run-01"]
    assert sorted(p.name for p in root.iterdir()) == [f"run-{i:02d}" for i in range(2, 12)]


def test_compare_tables_tolerates_float_noise_only():
    a = pl.DataFrame({"k": ["x", "y"], "v": [1.0, 2.0]})
    assert compare_tables(a, a.with_columns(pl.col("v") * (1 + 1e-13))) == []
    assert compare_tables(a, a.with_columns(pl.col("v") + 0.01))
    assert compare_tables(a, a.reverse()) == []


@pytest.mark.parametrize("secret", [
    "jane.doe+promo@example.co.uk",
    "sk-ant-api03-AbCdEf0123456789_xyz-QwErTy",
    "sk-proj-9f8e7d6c5b4a39281706",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_0123456789abcdefABCDEF0123456789ab",
    "+1 (555) 123-4567",
    "+44 20 7946 0958",
    "4111111111111111",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "jörg.müller@exämple.de",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
])
def test_redaction_removes_planted_identifiers(secret: str):
    text = f"Please summarise this for {secret} before the meeting."
    redacted = redact(text)
    assert secret not in redacted
    assert re.search(r"\[(email|key|phone|digits)\]", redacted)
    assert redacted.startswith("Please summarise this for ")


@pytest.mark.parametrize(("text", "redacted"), [
    ("call ?token=abc123&x=1 now", "call ?token=[key]&x=1 now"),
    ('with password: "hunter 2" then', "with password: [key] then"),
    ("DB_PASSWORD=correct-horse", "DB_PASSWORD=[key]"),
    ("the secret to success is work", "the secret to success is work"),
])
def test_redaction_removes_the_value_of_a_secret_assignment(text: str, redacted: str):
    assert redact(text) == redacted


def test_hidden_characters_never_reach_an_excerpt_or_a_page(tmp_path: Path):
    """A right-to-left override can make 'evil.exe' print as 'exe.live'; a control
    character can end a line or hide text. Excerpts and every PDF string drop them."""
    hostile = "agent\u202eexe.live\u202c/1.0\x07\u200b"
    assert redact(hostile) == "agentexe.live/1.0"
    pdf = EvidencePDF(title="t", subject="s", keywords=("k",), author="a", running_head="t",
                      generated_at=datetime(2026, 4, 1, tzinfo=UTC), version="test",
                      invalid=False)
    pdf.add_page()
    pdf.multi_cell(0, 5, f"user agent: {hostile}\nnext line")
    pdf.output(str(tmp_path / "hostile.pdf"))
    text = "\n".join(pdf_text(tmp_path / "hostile.pdf"))
    assert "user agent: agentexe.live/1.0" in text
    assert "next line" in text
    assert not any(ch in text for ch in "\u202e\u202c\x07\u200b")


def test_redaction_keeps_ordinary_text_and_numbers():
    text = "Solve 12 * 34 = ? Then explain step by step (version 3.11, 2 examples, 1.5 kg)."
    assert redact(text) == text
    assert redact("a " * 500, max_chars=20).endswith("…")
    assert len(redact("a " * 500, max_chars=20)) == 20


def test_attached_csv_text_that_a_spreadsheet_would_run_is_neutralized():
    """CSV formula injection (issue 13): a user agent or mail domain is whatever a client
    sent; in an attachment it must not start a formula. Numbers stay numbers."""
    frame = pl.DataFrame({"user_agent": ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)",
                                         "\tx", "curl/8.5", None],
                          "requests": [-5, 1, 2, 3, 4, 5, 6]})
    rows = pl.read_csv(csv_bytes(frame), schema_overrides={"user_agent": pl.String})
    assert rows["user_agent"].to_list() == ["'=HYPERLINK(\"x\")", "'+1", "'-2+3", "'@SUM(A1)",
                                            "'\tx", "curl/8.5", None]
    assert rows["requests"].to_list() == [-5, 1, 2, 3, 4, 5, 6]

