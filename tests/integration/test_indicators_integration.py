"""STIX 2.1 indicators valid against the specification (the OASIS validator): a bundle of one
key of every kind, and the sample run's, which export gives again byte for byte."""

from __future__ import annotations

import subprocess
import sys

from stix2validator import ValidationOptions, validate_string

from pipeline.publish.indicators import STIX_NAME

from conftest import objects
from stix_cases import bundle


def test_the_nightly_run_publishes_the_bundle_that_export_gives(sample_run):
    published = (sample_run / "findings" / STIX_NAME).read_bytes()
    assert validate_string(published.decode(), ValidationOptions(version="2.1")).is_valid
    exported = subprocess.run([sys.executable, "-m", "pipeline.run.cli", "export-stix", "--out",
                               str(sample_run)], capture_output=True, check=True, timeout=300)
    assert exported.stdout == published
    assert objects(published, "campaign"), "the sample has a flagged case"


def test_a_bundle_of_every_key_kind_is_valid_stix_21(tmp_path):
    (tmp_path / "Cabc.pdf").write_bytes(b"%PDF-1.7 report")
    for key in (None, b"k"):
        result = validate_string(bundle(tmp_path, hmac_key=key).decode(),
                                 ValidationOptions(version="2.1"))
        assert result.is_valid, [e.message for r in result.object_results for e in r.errors]
