"""A case and its keys built in code, one key of every kind, and the STIX bundle made of
them: what the tests of ``pipeline.publish.indicators`` (unit, and the specification's own
validator in integration) start from."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pipeline.publish.indicators import build_bundle

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
