"""What an investigator asks of a finished run, answered from the run's own tables.

In: an output folder (its ``forensics.duckdb``, opened read-only, and ``reports/``). Out:
``Answer``s for a case, an account and the last run's changes, in plain JSON-ready values
(the CLI prints them as tables or as JSON), and the run's flagged cases as STIX bytes.
Every figure is a row of a table the reports read, through ``sql/run/investigation/``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipeline.errors import ForensicsError
from pipeline.publish.indicators import build_bundle, case_rows, indicator_rows, window
from pipeline.publish.manifest import MANIFEST_NAME, read_manifest
from pipeline.publish.publication import PUBLICATIONS_DIR, REPORTS_DIR, run_stamp
from pipeline.registry import VERDICTS
from pipeline.settings import PipelineParams
from pipeline.warehouse import DB_NAME, connect, records, sql_text

CASE_VERDICTS = list(VERDICTS[:2])
"""The verdicts that make a cluster a case (flagged, watch), in order of concern."""
PREFIX_MATCHES_SHOWN = 5


@dataclass(frozen=True)
class Answer:
    """A headline record and named tables of rows, every value JSON-ready."""

    record: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {**self.record, **self.tables}


def _plain(value: Any) -> Any:
    """JSON's own types: ISO text for times, null for a float that is not a number."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _rows(db: duckdb.DuckDBPyConnection, query: str,
          params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{n: _plain(v) for n, v in row.items()}
            for row in records(db, sql_text(f"investigation/{query}"), params)]


def open_run(out: Path) -> duckdb.DuckDBPyConnection:
    """The run's database, read-only: an investigator's question must never change what
    the nightly run wrote, nor hold the write lock it needs."""
    database = out / DB_NAME
    if not database.is_file():
        raise ForensicsError(f"no {DB_NAME} in {out}: give --out the folder a run wrote")
    db = connect(database, read_only=True)
    done = db.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name IN "
                      "('cluster_findings', 'cluster_lineage', 'runs')").fetchone()
    if not done or done[0] < 3:
        db.close()
        raise ForensicsError(f"{out} holds no finished run (no findings yet): run "
                             "'forensics run' over it first")
    return db


def resolve_case(db: duckdb.DuckDBPyConnection, cluster_id: str, out: Path) -> str:
    """The case id, from a unique prefix too: ids are long and read off a PDF."""
    found = [r[0] for r in db.execute(
        "SELECT cluster_id FROM cluster_findings WHERE starts_with(cluster_id, $prefix) "
        "ORDER BY cluster_id LIMIT $shown",
        {"prefix": cluster_id, "shown": PREFIX_MATCHES_SHOWN + 1}).fetchall()]
    if cluster_id in found:
        return cluster_id
    if len(found) == 1:
        return found[0]
    if not found:
        raise ForensicsError(f"no case {cluster_id} in {out}: 'forensics changes --all' "
                             "and reports/summary.pdf list the cases")
    shown = ", ".join(found[:PREFIX_MATCHES_SHOWN])
    more = ", ..." if len(found) > PREFIX_MATCHES_SHOWN else ""
    raise ForensicsError(f"{cluster_id} names several cases ({shown}{more}): give more of "
                         "the id")


def case(out: Path, cluster_id: str, *, keys: int = 20) -> Answer:
    """A case's verdict, the pieces of its operator's case (scoring joins the flagged
    pieces Leiden cut apart: an investigator handed one must see the rest), the join
    rule's test of it (a watched fragment that did not join shows by how much), why its
    accounts are linked (the rarest keys they hold together and the evidence of their
    pairs against the null) and the rules that hold for it."""
    with open_run(out) as db:
        cluster_id = resolve_case(db, cluster_id, out)
        record = _rows(db, "case_finding", {"cluster_id": cluster_id})[0]
        report = out / "reports" / f"{cluster_id}.pdf"
        record["report"] = str(report) if report.is_file() else None
        return Answer(record, {
            "pieces": _rows(db, "case_pieces", {"cluster_id": cluster_id}),
            "join_test": _rows(db, "join_test", {"cluster_id": cluster_id}),
            "keys": _rows(db, "case_keys", {"cluster_id": cluster_id, "limit": keys}),
            "evidence": _rows(db, "case_evidence", {"cluster_id": cluster_id}),
            "rules": _rows(db, "case_rules", {"cluster_id": cluster_id}),
        })


def account(out: Path, account_id: str, *, keys: int = 20) -> Answer:
    """An account's case, its cluster's join test (why it did or did not join a flagged
    case), the linking keys it holds (rarest first) and its days."""
    with open_run(out) as db:
        found = _rows(db, "account_case", {"account_id": account_id})
        if not found:
            raise ForensicsError(f"account {account_id} sent no request in the window of "
                                 f"the run in {out}")
        return Answer(found[0], {
            "join_test": _rows(db, "join_test", {"cluster_id": found[0]["cluster_id"]}),
            "keys": _rows(db, "account_keys", {"account_id": account_id, "limit": keys}),
            "days": _rows(db, "account_days", {"account_id": account_id}),
        })


def changes(out: Path, *, all_clusters: bool = False) -> Answer:
    """What the last run changed: its lineage events (new, grew, merged, split, ended
    cases; every cluster's with ``all_clusters``) and the verdicts that moved against the
    previous publication."""
    with open_run(out) as db:
        last = _rows(db, "last_run")
        if not last:
            raise ForensicsError(f"{out} holds no succeeded run with clusters")
        run = last[0]
        events = {r["event"]: r["clusters"]
                  for r in _rows(db, "run_events", {"run_id": run["run_id"]})}
        return Answer({**run, "events": events}, {
            "lineage": _rows(db, "run_lineage", {
                "run_id": run["run_id"], "cases_only": not all_clusters,
                "case_verdicts": CASE_VERDICTS}),
            "verdict_changes": _rows(db, "verdict_changes"),
        })


def export_indicators(out: Path, *, cluster: str | None = None,
                      hmac_key: bytes | None = None) -> bytes:
    """The bundle of a finished run's flagged cases (or of one), with the run's settings
    and reports, and keyed hashes when a sharing key is given."""
    if not (out / MANIFEST_NAME).is_file():
        raise ForensicsError(f"no {MANIFEST_NAME} in {out}: give --out the folder a run wrote")
    manifest = read_manifest(out)
    settings = PipelineParams.from_nested(manifest.get("parameters") or {}).reports
    reports = out / PUBLICATIONS_DIR / str(manifest.get("publication")) / REPORTS_DIR
    with open_run(out) as db:
        cases = case_rows(db)
        keys = indicator_rows(db, settings.indicators_per_kind)
        if cluster is not None:
            cluster = resolve_case(db, cluster, out)
            cases = [c for c in cases if c["cluster_id"] == cluster]
            if not cases:
                raise ForensicsError(f"{cluster} is not flagged: only flagged cases are "
                                     "exported as indicators")
            keys = [k for k in keys if k["cluster_id"] == cluster]
        stamp = run_stamp(window(db)[1])
    return build_bundle(cases, keys, reports=reports, generated_at=stamp,
                        producer=settings.producer, tlp=settings.tlp, hmac_key=hmac_key)
