"""Evidence reports, the manifest and verification, on the committed sample.

The session's sample run (``conftest.sample_run``) is copied once for the module, and the
copy's statistics and scoring tables are replaced by ``window_tables.plant_window_tables``,
which creates ``cluster_findings``, ``cluster_statistic`` and the optional per-cluster
tables with plausible rows. The PDFs are read back with pypdf and checked against the tables.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pypdf
import pytest

from pipeline import PROJECT_DIR
from pipeline.features.features import create_feature_views
from pipeline.publish.manifest import MANIFEST_NAME, keygen, verify
from pipeline.publish.publication import REPORTS_DIR
from pipeline.publish.reports import write_reports
from pipeline.publish.reports.document import INVALID_STAMP
from pipeline.run.rederive import rederive
from pipeline.run.runner import PipelineParams, RunRequest, publish_run
from pipeline.warehouse import DB_NAME, connect, sha256_file

from conftest import open_db, pdf_text
from window_tables import plant_window_tables

GENERATED_AT = datetime(2026, 4, 4, tzinfo=UTC)


FLAGGED = 2


OPTIONAL = ("cluster_capability", "cluster_profile", "cluster_cache_day",
            "cluster_cache_collision", "validation_result")


def _params(db: duckdb.DuckDBPyConnection) -> dict:
    return json.loads(db.execute("SELECT parameters FROM runs ORDER BY run_id").fetchall()[-1][0])


def build(out: Path, *, excerpts: int = 0, invalid: bool = False,
          signing_key: Path | None = None) -> list[Path]:
    """What ``window_task`` does after scoring (the publication, then the manifest), with
    the run's recorded parameters; returns the publication's PDFs."""
    db = connect(out / DB_NAME)
    try:
        create_feature_views(db, out)
        recorded = _params(db)
        request = replace(RunRequest.from_dict(recorded), out=out, signing_key=signing_key)
        params = PipelineParams.from_nested(recorded)
        params = params.model_copy(
            update={"reports": params.reports.model_copy(update={"excerpts": excerpts})})
        published = publish_run(db, request, params, "test", invalid=invalid)
    finally:
        db.close()
    return sorted((published.folder / REPORTS_DIR).glob("*.pdf"))


@pytest.fixture(scope="module")
def planted(sample_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample run with planted window tables in its database; its publication is still
    the run's own. A copy, since the session's run is shared and read-only."""
    out = tmp_path_factory.mktemp("planted") / "out"
    shutil.copytree(sample_run, out, symlinks=True)
    db = connect(out / DB_NAME)
    try:
        create_feature_views(db, out)
        plant_window_tables(db, flagged=FLAGGED)
    finally:
        db.close()
    return out


@pytest.fixture(scope="module")
def built(planted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "out"
    shutil.copytree(planted, out, symlinks=True)
    build(out)
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(src, out, symlinks=True)
    return out


def _query(out: Path, sql: str) -> list[tuple]:
    con = open_db(out / DB_NAME)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _listed(out: Path, path: Path) -> str:
    """How the manifest names a file reached through the contract's links: by the path
    of the publication that holds it."""
    return path.parent.resolve().relative_to(out.resolve()).joinpath(path.name).as_posix()


def _flagged(out: Path) -> list[tuple]:
    return _query(out, "SELECT cluster_id, n_accounts, n_requests FROM cluster_findings "
                       "WHERE verdict = 'flagged' ORDER BY cluster_id")


def test_one_report_per_flagged_cluster_and_a_summary(built: Path):
    names = sorted(p.name for p in (built / "reports").iterdir())
    flagged = [r[0] for r in _flagged(built)]
    assert len(flagged) == FLAGGED
    assert names == sorted([f"{c}.pdf" for c in flagged] + ["summary.pdf"])


def test_report_figures_match_the_tables(built: Path):
    for cid, n_accounts, n_requests in _flagged(built):
        pages = pdf_text(built / "reports" / f"{cid}.pdf")
        reader = pypdf.PdfReader(built / "reports" / f"{cid}.pdf")
        assert len(pages) >= 10
        assert all(f"page {i} of {len(pages)}" in t for i, t in enumerate(pages, 1))
        assert cid in pages[0]
        assert "Contents" in pages[1] and "Appendix B: every account" in pages[1]
        tokens, days = _query(built, f"""
            SELECT sum(total_input_tokens_sum + output_tokens_sum), count(DISTINCT date)
            FROM account_day JOIN clusters USING (account_id)
            WHERE cluster_id = '{cid}'""")[0]
        summary = next(t for t in pages if "Summary" in t and "active days" in t)
        for figure in (n_accounts, n_requests, tokens, days):
            assert f"{figure:,}" in summary, figure
        attached = reader.attachments
        accounts = pl.read_csv(attached["accounts.csv"][0])
        assert accounts.height == n_accounts
        assert accounts["request_count"].sum() == n_requests
        statistics = pl.read_csv(attached["statistics.csv"][0])
        assert statistics.height == _query(
            built, f"SELECT count(*) FROM cluster_statistic WHERE cluster_id = '{cid}'")[0][0]
        appendix = "\n".join(pages)
        for rule in statistics["rule_id"].to_list():
            assert rule in appendix


def test_the_summary_says_how_many_accounts_are_above_each_baseline(sample_run: Path):
    """Each strong statistic the summary names with a count of accounts says it as
    cluster_statistic holds it; the sample's loud campaign busts the cache on some of its
    accounts, so at least one count is below the cluster's size."""
    rows = _query(sample_run, """
        SELECT s.cluster_id, s.rule_id, s.accounts_above_baseline, f.n_accounts
        FROM cluster_statistic AS s JOIN cluster_findings AS f USING (cluster_id)
        WHERE f.verdict = 'flagged' AND s.is_strong AND s.accounts_above_baseline IS NOT NULL
        ORDER BY ALL""")
    assert any(above < n for _, _, above, n in rows)
    said = 0
    for cid, rule, above, n in rows:
        text = " ".join(" ".join(pdf_text(sample_run / "reports" / f"{cid}.pdf")[:4]).split())
        said += f"{above:,} of {n:,} accounts above it" in text
        assert rule in text
    assert said >= 1


def test_reports_are_pdfa_3b_with_the_run_date_in_their_metadata(built: Path):
    for path in sorted((built / "reports").glob("*.pdf")):
        raw = path.read_bytes()
        xmp = raw[raw.index(b"<x:xmpmeta"):raw.index(b"</x:xmpmeta>")].decode()
        assert "<pdfaid:part>3</pdfaid:part>" in xmp
        assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
        dates = re.findall(r'xmp:(\w+Date)="([^"]+)"', xmp)
        assert {d for _k, d in dates} == {"2026-04-04T00:00:00+00:00"}
        assert {k for k, _d in dates} == {"CreateDate", "ModifyDate", "MetadataDate"}
        stamps = set(re.findall(rb"/(?:CreationDate|ModDate) \(D:(\d+)", raw))
        assert stamps <= {b"20260404000000"}, stamps
        assert b"/Type /Font" in raw and b"DejaVu" in raw
        assert b"/Helvetica" not in raw


def test_the_document_information_matches_the_xmp_packet_and_names_the_case(built: Path):
    """What a viewer's document properties, ``pdfinfo`` or a document store show (the
    information dictionary) and what a PDF/A validator reads (the XMP packet) say the
    same, and a report's title and keywords name the case it is about."""
    window_end = _query(built, "SELECT max(window_end) FROM clusters")[0][0]
    cases = {cid: f"{cid}-{window_end:%Y%m%d}" for cid, _n, _r in _flagged(built)}
    for path in sorted((built / "reports").glob("*.pdf")):
        reader = pypdf.PdfReader(path)
        info, xmp = reader.metadata, reader.xmp_metadata
        assert info is not None and xmp is not None, path.name
        assert info.title == xmp.dc_title["x-default"]
        assert info.subject == xmp.dc_description["x-default"]
        assert [info.author] == xmp.dc_creator == ["distill-forensics"]
        assert info.creator == xmp.xmp_creator_tool
        assert info.creator.startswith("distill-forensics ")
        assert info.producer == xmp.pdf_producer
        assert info["/Keywords"] == xmp.pdf_keywords
        assert info.creation_date == xmp.xmp_create_date.replace(tzinfo=UTC) == GENERATED_AT
        keywords = info["/Keywords"].split(", ")
        if path.name == "summary.pdf":
            assert set(keywords[:len(cases)]) == set(cases.values())
        else:
            case = cases[path.stem]
            assert info.title == f"Evidence report {case}"
            assert keywords[:3] == [case, path.stem, "flagged"]
            assert path.stem in info.subject


def test_two_builds_are_byte_identical(built: Path, tmp_path: Path):
    out = _copy(built, tmp_path)
    build(out)
    for path in [*sorted((built / "reports").glob("*.pdf")), built / MANIFEST_NAME]:
        rel = path.relative_to(built)
        assert (out / rel).read_bytes() == path.read_bytes(), rel


def test_no_prompt_text_unless_excerpts_are_asked_for(built: Path, tmp_path: Path):
    cid = _flagged(built)[0][0]
    assert "Prompt excerpts" not in "\n".join(pdf_text(built / "reports" / f"{cid}.pdf"))
    out = _copy(built, tmp_path)
    build(out, excerpts=2)
    text = "\n".join(pdf_text(out / "reports" / f"{cid}.pdf"))
    assert "Prompt excerpts (redacted)" in text
    assert not re.search(r"[\w.]+@[\w-]+\.[a-z]{2,}", text)


def test_invalid_data_stamps_every_page_and_leaves_latest_alone(built: Path, tmp_path: Path):
    out = _copy(built, tmp_path)
    latest = os.readlink(out / "publications" / "latest")
    summary = (out / "reports" / "summary.pdf").read_bytes()
    paths = build(out, invalid=True)
    assert {p.parent.parent.name for p in paths} == {"2026-04-03.invalid"}
    for path in paths:
        pages = pdf_text(path)
        assert all(INVALID_STAMP in t for t in pages), path.name
    assert (out / "reports" / "summary.pdf").read_bytes() == summary
    assert os.readlink(out / "publications" / "latest") == latest


def test_stale_reports_are_removed_and_missing_tables_say_so(built: Path, tmp_path: Path):
    out = _copy(built, tmp_path)
    dropped, kept = (r[0] for r in _flagged(out))
    con = open_db(out / DB_NAME, read_only=False)
    con.execute(f"UPDATE cluster_findings SET verdict = 'clear' WHERE cluster_id = '{dropped}'")
    for table in OPTIONAL:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.close()
    build(out)
    assert not (out / "reports" / f"{dropped}.pdf").exists()
    text = "\n".join(pdf_text(out / "reports" / f"{kept}.pdf"))
    for table in OPTIONAL:
        assert f"no table {table}" in text.replace("\n", " "), table


def test_without_findings_only_the_summary_is_written(planted: Path, tmp_path: Path):
    out = _copy(planted, tmp_path)
    db = connect(out / DB_NAME)
    try:
        db.execute("DROP TABLE cluster_findings")
        db.execute("DROP TABLE cluster_statistic")
        create_feature_views(db, out)
        paths = write_reports(db, tmp_path / "reports", generated_at=GENERATED_AT,
                              params=_params(db))
    finally:
        db.close()
    assert [p.name for p in paths] == ["summary.pdf"]
    assert "No verdict in this run" in "\n".join(pdf_text(paths[0]))


def test_summary_lists_every_flagged_cluster_and_the_run_figures(built: Path):
    text = "\n".join(pdf_text(built / "reports" / "summary.pdf"))
    for cid, _n, _r in _flagged(built):
        assert cid in text
    rows_read = _query(built, "SELECT sum(rows_read) FROM ingest_ledger")[0][0]
    assert f"{rows_read:,}" in text
    assert "cluster-findings.csv" in pypdf.PdfReader(built / "reports" / "summary.pdf"
                                                     ).attachments


def test_manifest_lists_inputs_outputs_and_sql(built: Path):
    manifest = json.loads((built / MANIFEST_NAME).read_text())
    ledger = _query(built, "SELECT source_file, sha256 FROM ingest_ledger ORDER BY 1")
    assert [(i["file"], i["sha256"]) for i in manifest["inputs"]] == ledger
    assert _listed(built, built / "reports" / "summary.pdf") in manifest["outputs"]
    assert _listed(built, built / "findings" / "clusters.parquet") in manifest["outputs"]
    assert manifest["links"]["reports"] == "publications/latest/reports"
    assert manifest["links"]["publications/latest"] == manifest["publication"]
    assert DB_NAME not in manifest["outputs"]
    sql = PROJECT_DIR / "sql"
    tables_sql = {"macros.sql", *(p.relative_to(sql).as_posix() for p in sql.glob("*/*.sql"))}
    assert set(manifest["sql"]) == tables_sql
    assert "features/account_day.sql" in tables_sql
    assert manifest["code_version"].startswith("0.")
    assert verify(built).ok


def test_verify_names_a_changed_missing_or_added_file(built: Path, tmp_path: Path):
    out = _copy(built, tmp_path)
    report = next(p for p in sorted((out / "reports").glob("C*.pdf")))
    data = bytearray(report.read_bytes())
    data[len(data) // 2] ^= 0x01
    report.write_bytes(bytes(data))
    clusters = _listed(out, out / "findings" / "clusters.parquet")
    (out / "findings" / "clusters.parquet").unlink()
    (out / "reports" / "extra.pdf").write_bytes(b"%PDF-1.4\n")
    result = verify(out)
    assert not result.ok
    assert result.changed == [_listed(out, report)]
    assert result.missing == [clusters]
    assert result.unexpected == [_listed(out, out / "reports" / "extra.pdf")]


def test_verify_sees_hidden_files_and_the_validation_docs(built: Path, tmp_path: Path):
    out = _copy(built, tmp_path)
    (out / "reports" / ".x.pdf").write_bytes(b"%PDF-1.4\n")
    page = next(p for p in sorted((out / "validation").rglob("index.html")))
    page.write_text(page.read_text() + "<!-- edited -->")
    (page.parent / "added.html").write_text("<html></html>")
    (out / "task_failures.jsonl").write_text('{"task_id": "window"}\n')  # the scheduler's
    staged = out / ".staged" / "failed_run" / "part-1-of-2" / "files.parquet"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"PAR1")  # a failed ingest's parts, kept for its retry
    result = verify(out)
    rel = page.relative_to(out).as_posix()
    assert result.unexpected == [_listed(out, out / "reports" / ".x.pdf"),
                                 rel.replace("index.html", "added.html")]
    assert result.changed == [rel]


def test_a_signed_manifest_catches_a_file_edited_together_with_its_hash(built: Path,
                                                                        tmp_path: Path):
    """Hashes alone only show that files match the manifest: whoever edits a report can
    re-hash it. The signature shows that the manifest is the signer's."""
    key = tmp_path / "keys" / "signer"
    public = keygen(key)
    other = keygen(tmp_path / "keys" / "other")
    out = _copy(built, tmp_path / "a")
    build(out, signing_key=key)
    signature = (out / "manifest.sig").read_bytes()
    build(out, signing_key=key)
    assert (out / "manifest.sig").read_bytes() == signature
    assert verify(out, public).ok
    assert not verify(out, other).ok

    report = next(p for p in sorted((out / "reports").glob("C*.pdf")))
    report.write_bytes(report.read_bytes() + b"%% appended\n")
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    rel = _listed(out, report)
    manifest["outputs"][rel] = {"sha256": sha256_file(report),
                                "size_bytes": report.stat().st_size}
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, sort_keys=True, indent=2) + "\n")
    assert verify(out).ok
    result = verify(out, public)
    assert not result.ok
    assert result.signatures == [f"{MANIFEST_NAME}: bad signature: manifest.sig does not "
                                 "match manifest.json under this key (edited after signing, "
                                 "or signed with another key)"]


def test_an_unsigned_folder_fails_a_verify_that_expects_a_signature(built: Path,
                                                                    tmp_path: Path):
    public = keygen(tmp_path / "signer")
    result = verify(built, public)
    assert any("not signed: manifest.sig is missing" in line for line in result.lines())


def test_rederive_names_cases_from_the_clusters_the_run_started_from(sample_run: Path,
                                                                    tmp_path: Path):
    """The database's ``clusters`` are the run's own (or a later run's) by the time an
    auditor re-derives; the run named its cases against what was there before it
    (``prior_clusters``: nothing, for the sample's first run). Ids the run never saw must
    not rename the re-derived cases."""
    out = _copy(sample_run, tmp_path / "a")
    db = connect(out / DB_NAME)
    try:
        assert db.execute("SELECT count(*) FROM prior_clusters").fetchall() == [(0,)]
        db.execute("UPDATE clusters SET cluster_id = 'Clater' || cluster_id")
    finally:
        db.close()
    result = rederive(out)
    assert result.ok, result.differences


def test_rederive_passes_on_a_clean_run_and_fails_on_edited_findings(sample_run: Path,
                                                                     tmp_path: Path):
    """On the run itself (``built`` publishes planted findings, which the pipeline would
    not derive)."""
    out = _copy(sample_run, tmp_path / "a")
    files = sorted(p for p in out.rglob("*") if p.is_file())
    result = rederive(out)
    assert result.ok, result.differences
    assert sorted(p for p in out.rglob("*") if p.is_file()) == files
    assert "clusters.parquet" in result.compared
    findings = out / "findings" / "clusters.parquet"
    edited = pl.read_parquet(findings).with_columns(
        cluster_id=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("Cforged00000"))
        .otherwise(pl.col("cluster_id")))
    edited.write_parquet(findings)
    result = rederive(out)
    assert not result.ok
    assert any("clusters.parquet" in d and "cluster_id" in d for d in result.differences)

