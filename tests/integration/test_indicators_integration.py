"""STIX 2.1 indicators: valid against the specification (the OASIS validator), the same
bytes for the same run, and no raw payment value or prompt hash without the sharing key."""

from __future__ import annotations

import subprocess
import sys

from stix2validator import ValidationOptions, validate_string

from pipeline.publish.indicators import STIX_NAME

from conftest import objects


def test_the_nightly_run_publishes_the_bundle_that_export_gives(sample_run):
    published = (sample_run / "findings" / STIX_NAME).read_bytes()
    assert validate_string(published.decode(), ValidationOptions(version="2.1")).is_valid
    exported = subprocess.run([sys.executable, "-m", "pipeline.run.cli", "export-stix", "--out",
                               str(sample_run)], capture_output=True, check=True, timeout=300)
    assert exported.stdout == published
    assert objects(published, "campaign"), "the sample has a flagged case"

