"""The run's manifest and its verification.

In: an output folder after the window stages, the run's input files (from
``ingest_ledger``), parameters and code version. Out: ``manifest.json`` with the sha256 of
every input file, every SQL file and every output file under the folder (except
``forensics.duckdb``, which DuckDB rewrites in place and is not byte-stable, the lock,
temporary files and the scheduler's ``task_failures.jsonl``); ``verify`` re-hashes the
folder against it (``pipeline.run.rederive`` recomputes the findings from the day
partitions and compares them with the published ones).

The manifest can be signed (Ed25519, a key the operator holds: ``forensics keygen``), so
that a file edited together with its hash no longer passes ``verify --public-key``. The
validation pages carry the run's id, so they have a manifest of their own,
``validation/manifest.json`` (rewritten by each run, signed with the same key), and
``verify`` checks it too.

Why this way: an auditor must be able to show that a report is the one the pipeline
produced from the logged inputs (hashes), and that the findings follow from the data
(re-derivation), without trusting the machine that produced them. The manifest holds no
clock and no run id (both change from run to run), and its keys are sorted, so the same
inputs and parameters give the same bytes. Partitions are hashed too: they are what
``--rederive`` recomputes from, so a tampered partition is caught by ``verify`` first.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from pipeline.errors import ForensicsError
from pipeline.publish.provenance import sql_hashes
from pipeline.publish.reports.data import existing_tables, read_inputs
from pipeline.validation.pages import write_landing
from pipeline.validation.validation import VALIDATION_DIR
from pipeline.warehouse import (
    DB_NAME,
    FAILURES_NAME,
    LOCK_NAME,
    STAGED_FOLDER,
    sha256_file,
    write_bytes_atomic,
)

MANIFEST_NAME = "manifest.json"
SIGNATURE_SUFFIX = ".sig"
MANIFEST_FORMAT = "distill-forensics manifest 1"
EXCLUDED = {DB_NAME, f"{DB_NAME}.wal", LOCK_NAME, MANIFEST_NAME,
            f"manifest{SIGNATURE_SUFFIX}", FAILURES_NAME}
EXCLUDED_DIRS = {VALIDATION_DIR, STAGED_FOLDER}
"""Folders the manifest does not cover: the validation pages are a per-run record (they
carry the run's id), listed in ``validation/manifest.json``; their
outcomes are in forensics.duckdb and in the reports' provenance section. The staged parts
of a DAG run's logs (``ingest.stage_part``) are work in progress, read by no report, and
left by a failed ingest for its retry."""


@dataclass(frozen=True)
class InputRecord:
    """One input file of the run, as ``ingest_ledger`` recorded it."""

    source_file: str
    sha256: str
    size_bytes: int


def ledger_inputs(db: Any, *, start: date | None = None,
                  end: date | None = None) -> list[InputRecord]:
    """The input files behind the window's partitions, from ``ingest_ledger`` (the same
    selection the reports print). ``start``/``end`` default to the clusters' window."""
    tables = existing_tables(db)
    if (start is None or end is None) and "clusters" in tables:
        start, end = db.execute("SELECT min(window_start), max(window_end) FROM clusters"
                                ).fetchall()[0]
    frame = read_inputs(db, start, end, tables)
    return [InputRecord(r["source_file"], r["sha256"], int(r["size_bytes"]))
            for r in frame.iter_rows(named=True)]


def output_files(out: Path, *, hidden: bool = False) -> list[Path]:
    """Every file under ``out`` the manifest covers, in path order; with ``hidden``, the
    hidden ones too (the manifest lists none, so ``verify`` names any it finds)."""
    found = []
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if path.is_symlink() or not path.is_file() or rel.as_posix() in EXCLUDED or \
                rel.parts[0] in EXCLUDED_DIRS:
            continue
        if not hidden and any(part.startswith(".") for part in rel.parts):
            continue
        found.append(path)
    return found


def output_links(out: Path) -> dict[str, str]:
    """Every link under ``out`` and where it points (``latest`` and the contract's
    ``findings``/``reports``): a link re-pointed at another publication changes what a
    reader sees without changing a byte of any file, so the manifest lists them too."""
    return {path.relative_to(out).as_posix(): os.readlink(path)
            for path in sorted(out.rglob("*")) if path.is_symlink()
            and path.relative_to(out).parts[0] not in EXCLUDED_DIRS}


def write_manifest(out: Path, *, inputs: Iterable[InputRecord], params: dict[str, Any],
                   code_version: str, publication: str | None = None,
                   signing_key: Path | None = None) -> Path:
    """Write ``out/manifest.json`` (atomically) and ``validation/manifest.json``, signed
    with ``signing_key`` when given, and return the first's path. ``publication`` names
    the run's folder under ``publications/`` (what ``rederive`` compares with).
    """
    document = {
        "format": MANIFEST_FORMAT,
        "code_version": code_version,
        "parameters": params,
        "inputs": [{"file": i.source_file, "sha256": i.sha256, "size_bytes": i.size_bytes}
                   for i in sorted(inputs, key=lambda i: (i.source_file, i.sha256))],
        "sql": sql_hashes(),
        "outputs": _listing(out, output_files(out)),
        "links": output_links(out),
        "publication": publication,
    }
    target = out / MANIFEST_NAME
    _write_json(target, document)
    documents = [target]
    validation = out / VALIDATION_DIR
    if validation.is_dir():
        listed = _validation_manifest(out)
        _write_json(listed, {"format": MANIFEST_FORMAT,
                             "outputs": _listing(validation, _validation_files(out))})
        documents.append(listed)
    for document_path in documents:
        signature = document_path.with_suffix(SIGNATURE_SUFFIX)
        if signing_key is None:
            signature.unlink(missing_ok=True)
        else:
            sign_file(document_path, signing_key)
    return target


def _listing(root: Path, files: Iterable[Path]) -> dict[str, dict[str, Any]]:
    return {p.relative_to(root).as_posix(): {"sha256": sha256_file(p),
                                             "size_bytes": p.stat().st_size}
            for p in files}


def _write_json(target: Path, document: dict[str, Any]) -> None:
    text = json.dumps(document, sort_keys=True, indent=2, default=str, ensure_ascii=False)
    write_bytes_atomic(target, (text + "\n").encode("utf-8"))


def _validation_manifest(out: Path) -> Path:
    return out / VALIDATION_DIR / MANIFEST_NAME


def _validation_files(out: Path) -> list[Path]:
    """Every file under ``validation/`` but its own manifest and signature, hidden ones
    included."""
    own = {MANIFEST_NAME, f"manifest{SIGNATURE_SUFFIX}"}
    root = out / VALIDATION_DIR
    return [p for p in sorted(root.rglob("*"))
            if p.is_file() and not (p.parent == root and p.name in own)]


def prune_validation(out: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest runs' folders under ``validation/`` (newest by
    modification time, then name), and rewrite the landing page so it links only to what
    is left; the folders removed are returned."""
    root = out / VALIDATION_DIR
    if not root.is_dir():
        return []
    runs = sorted((p for p in root.iterdir() if p.is_dir()),
                  key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old)
    write_landing(root)
    return runs[keep:]


def keygen(private_key: Path) -> Path:
    """Write a new Ed25519 key pair: ``private_key`` (PEM, readable by its owner only) and
    ``private_key`` + ``.pub``, which auditors get; the public key's path is returned."""
    if private_key.exists():
        raise ForensicsError(f"{private_key} exists; a signing key is never overwritten")
    key = Ed25519PrivateKey.generate()
    private_key.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    public = private_key.with_name(private_key.name + ".pub")
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return public


def sign_file(path: Path, private_key: Path) -> Path:
    """Write ``path``'s Ed25519 signature beside it (``.sig``, base64). Ed25519 signatures
    are deterministic: the same manifest and key give the same bytes."""
    try:
        key = serialization.load_pem_private_key(private_key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise ForensicsError(f"signing key {private_key}: {err}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ForensicsError(f"signing key {private_key}: not an Ed25519 private key")
    target = path.with_suffix(SIGNATURE_SUFFIX)
    write_bytes_atomic(target, base64.b64encode(key.sign(path.read_bytes())) + b"\n")
    return target


def check_signature(path: Path, public_key: Path) -> str | None:
    """None when ``path``'s signature is valid under ``public_key``, else what is wrong."""
    try:
        key = serialization.load_pem_public_key(public_key.read_bytes())
    except (OSError, ValueError, TypeError) as err:
        raise ForensicsError(f"public key {public_key}: {err}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ForensicsError(f"public key {public_key}: not an Ed25519 public key")
    signature = path.with_suffix(SIGNATURE_SUFFIX)
    if not signature.is_file():
        return f"not signed: {signature.name} is missing beside {path.name}"
    try:
        key.verify(base64.b64decode(signature.read_bytes(), validate=False),
                   path.read_bytes())
    except (InvalidSignature, binascii.Error, ValueError):
        return (f"bad signature: {signature.name} does not match {path.name} under this key "
                "(edited after signing, or signed with another key)")
    return None


@dataclass(frozen=True)
class VerifyResult:
    """What ``verify`` found: files whose bytes differ from the manifest, files the
    manifest lists that are missing, files present that it does not list, and signatures
    that do not hold."""

    checked: int
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    problem: str | None = None
    signed: bool = False
    """A signature is present (checked only when a public key is given)."""

    @property
    def ok(self) -> bool:
        return self.problem is None and not (self.changed or self.missing or self.unexpected
                                             or self.signatures)

    def lines(self) -> list[str]:
        """One line per finding, for the terminal."""
        if self.problem:
            return [self.problem]
        return ([f"changed: {p}" for p in self.changed] +
                [f"missing: {p}" for p in self.missing] +
                [f"not in the manifest: {p}" for p in self.unexpected] + self.signatures)


def read_manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))


def verify(out: Path, public_key: Path | None = None) -> VerifyResult:
    """Re-hash every output file against ``out/manifest.json`` and the validation pages
    against ``validation/manifest.json``; name every file that differs, is missing, or is
    present but not listed (a report slipped in later, hidden files included). With
    ``public_key``, both manifests must carry a valid signature."""
    if not (out / MANIFEST_NAME).is_file():
        return VerifyResult(0, problem=f"no {MANIFEST_NAME} in {out}")
    checks = [(out, out / MANIFEST_NAME, "", output_files(out, hidden=True))]
    validation = out / VALIDATION_DIR
    if validation.is_dir():
        checks.append((validation, _validation_manifest(out), f"{VALIDATION_DIR}/",
                       _validation_files(out)))
    checked, changed, missing, unexpected, signatures = 0, [], [], [], []
    for root, manifest, prefix, present in checks:
        if not manifest.is_file():
            unexpected += [prefix + p.relative_to(root).as_posix() for p in present]
            continue
        try:
            listed: dict[str, dict[str, Any]] = json.loads(
                manifest.read_text(encoding="utf-8"))["outputs"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            return VerifyResult(0, problem=f"{prefix}{MANIFEST_NAME} is unreadable: {err}")
        checked += len(listed)
        for rel, entry in sorted(listed.items()):
            path = root / rel
            if not path.is_file():
                missing.append(prefix + rel)
            elif path.stat().st_size != entry.get("size_bytes") or \
                    sha256_file(path) != entry.get("sha256"):
                changed.append(prefix + rel)
        unexpected += sorted(prefix + rel for rel in
                             {p.relative_to(root).as_posix() for p in present} - set(listed))
        if public_key is not None:
            problem = check_signature(manifest, public_key)
            if problem:
                signatures.append(f"{prefix}{MANIFEST_NAME}: {problem}")
    listed_links: dict[str, str] = read_manifest(out).get("links") or {}
    present_links = output_links(out)
    for rel, target in sorted(listed_links.items()):
        if rel not in present_links:
            missing.append(f"{rel} (link)")
        elif present_links[rel] != target:
            changed.append(f"{rel} (a link to {present_links[rel]}, listed to {target})")
    unexpected += [f"{rel} (link)" for rel in sorted(set(present_links) - set(listed_links))]
    signed = (out / MANIFEST_NAME).with_suffix(SIGNATURE_SUFFIX).is_file()
    return VerifyResult(checked, changed, missing, unexpected, signatures, signed=signed)


# ---------------------------------------------------------------------------------------
# Re-derivation.
