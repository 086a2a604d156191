"""STIX 2.1 indicators: the same bytes for the same run, and no raw payment value or prompt
hash without the sharing key (their validity against the specification, by the OASIS
validator whose import alone takes seconds, is checked in
``tests/integration/test_indicators_integration.py``)."""

from __future__ import annotations

import hashlib

import pytest

from conftest import objects
from stix_cases import KEYS, bundle


def test_the_bundle_is_the_same_bytes_twice_and_names_its_reports(tmp_path):
    (tmp_path / "Cabc.pdf").write_bytes(b"%PDF-1.7 report")
    first = bundle(tmp_path, hmac_key=b"k")
    assert first == bundle(tmp_path, hmac_key=b"k")
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
