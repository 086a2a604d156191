"""Indicators another provider can match: each flagged case as a STIX 2.1 bundle.

In: a run's ``forensics.duckdb`` (flagged cases, their keys through
``sql/publish/indicators/indicator_key.sql``) and the case reports. Out: one STIX 2.1 bundle (an
``identity`` for the producer, a TLP marking, a ``campaign`` per flagged case,
``indicator``s with patterns and ``indicates`` relationships), as deterministic bytes:
every id is a UUIDv5 of what it names and every timestamp the run's, so the same run
gives the same file. Payment fingerprints and prompt hashes leave only as HMAC-SHA256
under a key the providers who share indicators agree on; without one they stay out.
Never a raw payment value, never prompt text.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import stix2

from pipeline.errors import ForensicsError
from pipeline.registry import VERDICTS
from pipeline.warehouse import records, sql_text

STIX_NAME = "indicators.stix.json"
"""The bundle's file name in a publication's ``findings/``."""
NAMESPACE = uuid.UUID("6f1c0a52-3d0e-5b8e-9a51-2d1f0c7b4e21")
"""UUIDv5 namespace of every object id this project writes."""
TLP = {"white": stix2.TLP_WHITE, "green": stix2.TLP_GREEN, "amber": stix2.TLP_AMBER,
       "red": stix2.TLP_RED}
KEYED = ("payment_fingerprint", "prompt_hash")
"""Kinds that leave only as keyed hashes (a peer with the same key can match them)."""


def _pattern(kind: str, value: str) -> str:
    """A STIX pattern another provider can run against its own logs."""
    text = value.replace("\\", "\\\\").replace("'", "\\'")
    if kind == "ip_prefix":
        address = "ipv6-addr" if ":" in value else "ipv4-addr"
        return f"[{address}:value ISSUBSET '{text}']"
    if kind == "user_agent":
        return ("[network-traffic:extensions.'http-request-ext'.request_header."
                f"'User-Agent' = '{text}']")
    if kind == "system_hash":
        return f"[artifact:hashes.'SHA-256' = '{text}']"
    return f"[x-llm-api-{kind.replace('_', '-')}:hmac_sha256 = '{text}']"


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, '|'.join((kind, *parts)))}"


def _keyed(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def window(db: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    """The run's window (its clusters'), or a clear error for a run without clusters."""
    start, end = db.execute("SELECT min(window_start), max(window_end) FROM clusters"
                            ).fetchone() or (None, None)
    if end is None:
        raise ForensicsError("no clusters in this run: nothing to export")
    return start, end


def indicator_rows(db: duckdb.DuckDBPyConnection, per_kind: int) -> list[dict[str, Any]]:
    """The shareable keys of every flagged case (``indicator_key.sql``)."""
    start, end = window(db)
    return records(db, sql_text("indicators/indicator_key"), {
        "verdict": VERDICTS[0], "per_kind": per_kind, "start": start, "end": end})


def case_rows(db: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The flagged cases, each a STIX campaign (``indicator_case.sql``)."""
    return records(db, sql_text("indicators/indicator_case"), {"verdict": VERDICTS[0]})


def build_bundle(cases: list[dict[str, Any]], keys: Iterable[dict[str, Any]], *,
                 reports: Path, generated_at: datetime, producer: str, tlp: str,
                 hmac_key: bytes | None = None) -> bytes:
    """The bundle's bytes: the same cases, keys, reports and settings give the same file."""
    marking = TLP[tlp]
    stamp = {"created": generated_at, "modified": generated_at}
    identity = stix2.Identity(id=_id("identity", producer), name=producer,
                              identity_class="organization", **stamp)
    common = {**stamp, "created_by_ref": identity.id, "object_marking_refs": [marking.id]}
    objects: list[Any] = [identity, marking]
    campaigns = {}
    for case in cases:
        cid = case["cluster_id"]
        report = reports / f"{cid}.pdf"
        reference: dict[str, Any] = {"source_name": producer, "external_id": cid,
                                     "description": "evidence report (PDF/A)"}
        if report.is_file():
            reference["hashes"] = {"SHA-256": hashlib.sha256(report.read_bytes()).hexdigest()}
        campaign = stix2.Campaign(
            id=_id("campaign", producer, cid), name=f"Model distillation campaign {cid}",
            description=(f"{case['n_accounts']} accounts, {case['n_requests']} requests; "
                         f"rules that hold: {case['signals'] or 'none'}; evidence families: "
                         f"{case['strong_families'] or 'none'}."),
            first_seen=case["first_seen"], last_seen=case["last_seen"],
            objective="harvest model outputs to train another model",
            external_references=[reference], **common)
        campaigns[cid] = campaign
        objects.append(campaign)
    for row in keys:
        cid, kind, value = row["cluster_id"], row["kind"], row["value"]
        if kind in KEYED:
            if hmac_key is None:
                continue
            value = _keyed(hmac_key, value)
        indicator = stix2.Indicator(
            id=_id("indicator", producer, cid, kind, value), pattern_type="stix",
            pattern=_pattern(kind, value), valid_from=generated_at,
            name=(f"keyed {kind.replace('_', ' ')} of case {cid}" if kind in KEYED
                  else f"{kind.replace('_', ' ')} {value} of case {cid}"),
            description=(f"held by {row['case_accounts']} of the case's accounts and "
                         f"{row['window_accounts']} of the window's"
                         + (" (HMAC-SHA256 under the sharing group's key)"
                            if kind in KEYED else "")),
            indicator_types=["attribution"], **common)
        relation = stix2.Relationship(
            id=_id("relationship", producer, cid, kind, value), relationship_type="indicates",
            source_ref=indicator.id, target_ref=campaigns[cid].id, **common)
        objects += [indicator, relation]
    names = ",".join(sorted(campaigns))
    bundle = stix2.Bundle(id=_id("bundle", producer, generated_at.isoformat(), names),
                          objects=objects)
    return (bundle.serialize(pretty=True) + "\n").encode("utf-8")

