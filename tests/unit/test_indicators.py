"""STIX 2.1 indicators: valid against the specification (the OASIS validator), the same
bytes for the same run, and no raw payment value or prompt hash without the sharing key."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_string

from pipeline.publish.indicators import build_bundle

from conftest import objects

STAMP = datetime(2026, 4, 4, tzinfo=UTC)


CASE = {"cluster_id": "Cabc", "n_accounts": 40, "n_requests": 900,
        "first_seen": datetime(2026, 4, 1, 3, tzinfo=UTC),
        "last_seen": datetime(2026, 4, 3, 22, tzinfo=UTC),
        "strong_families": "query_distribution,traffic_shape", "signals": "QD-04,TS-01"}


KEYS = [
    {"cluster_id": "Cabc", "kind": "ip_prefix", "value": "203.0.113.0/24",
     "case_accounts": 30, "window_accounts": 31},
    {"cluster_id": "Cabc", "kind": "ip_prefix", "value": "2001:db8:1::/48",
     "case_accounts": 12, "window_accounts": 12},
    {"cluster_id": "Cabc", "kind": "user_agent", "value": "harvester/1.0 'fast'",
     "case_accounts": 40, "window_accounts": 41},
    {"cluster_id": "Cabc", "kind": "system_hash", "value": "ab" * 32,
     "case_accounts": 40, "window_accounts": 40},
    {"cluster_id": "Cabc", "kind": "payment_fingerprint", "value": "pf_secretcard01",
     "case_accounts": 20, "window_accounts": 20},
    {"cluster_id": "Cabc", "kind": "prompt_hash", "value": "cd" * 32,
     "case_accounts": 7, "window_accounts": 7},
]


def bundle(tmp_path: Path, **overrides: object) -> bytes:
    kwargs: dict = {"reports": tmp_path, "generated_at": STAMP, "producer": "ExampleAI",
                    "tlp": "amber", **overrides}
    return build_bundle([CASE], KEYS, **kwargs)


def test_the_bundle_is_valid_stix_21_and_the_same_bytes_twice(tmp_path):
    (tmp_path / "Cabc.pdf").write_bytes(b"%PDF-1.7 report")
    first = bundle(tmp_path, hmac_key=b"k")
    assert first == bundle(tmp_path, hmac_key=b"k")
    result = validate_string(first.decode(), ValidationOptions(version="2.1"))
    assert result.is_valid, [e.message for r in result.object_results for e in r.errors]
    campaign = objects(first, "campaign")[0]
    assert campaign["external_references"][0]["hashes"]["SHA-256"] == \
        hashlib.sha256(b"%PDF-1.7 report").hexdigest()
    assert len(objects(first, "indicator")) == len(KEYS)
    assert {r["target_ref"] for r in objects(first, "relationship")} == {campaign["id"]}


def test_without_the_sharing_key_cards_and_prompts_stay_out(tmp_path):
    data = bundle(tmp_path)
    patterns = [o["pattern"] for o in objects(data, "indicator")]
    assert len(patterns) == 4
    assert not any("x-llm-api" in p for p in patterns)
    assert b"pf_secretcard01" not in data and b"cd" * 32 not in data


def test_with_the_key_they_leave_only_as_keyed_hashes(tmp_path):
    data = bundle(tmp_path, hmac_key=b"group-secret")
    assert b"pf_secretcard01" not in data and b"cd" * 32 not in data
    keyed = [o["pattern"] for o in objects(data, "indicator") if "hmac_sha256" in o["pattern"]]
    assert len(keyed) == 2
    assert bundle(tmp_path, hmac_key=b"another-key") != data


def test_patterns_say_what_another_provider_matches(tmp_path):
    patterns = [o["pattern"] for o in objects(bundle(tmp_path), "indicator")]
    assert "[ipv4-addr:value ISSUBSET '203.0.113.0/24']" in patterns
    assert "[ipv6-addr:value ISSUBSET '2001:db8:1::/48']" in patterns
    assert any("'User-Agent' = 'harvester/1.0 \\'fast\\''" in p for p in patterns)


@pytest.mark.parametrize("tlp,name", [("amber", "TLP:AMBER"), ("green", "TLP:GREEN")])
def test_every_object_carries_the_chosen_marking(tmp_path, tlp, name):
    data = bundle(tmp_path, tlp=tlp)
    marking = objects(data, "marking-definition")[0]
    assert marking["name"] == name
    for kind in ("campaign", "indicator", "relationship"):
        assert all(o["object_marking_refs"] == [marking["id"]] for o in objects(data, kind))

