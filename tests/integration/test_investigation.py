"""The investigator's commands (case, account, changes) on the shared sample run: each
answer agrees with the tables it claims to read, and reading never changes the run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import ForensicsError
from pipeline.publish.reports.format import fmt_num
from pipeline.run.investigation import account, case, changes
from pipeline.settings import StatisticsParams

from conftest import pdf_text, query


def forensics(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.run.cli", *args], capture_output=True,
                          text=True, timeout=300, check=False,
                          env={**os.environ, "COLUMNS": "80"})


def flagged_case(out: Path) -> str:
    rows = query(out / "forensics.duckdb", "SELECT cluster_id FROM cluster_findings "
                 "WHERE verdict = 'flagged' ORDER BY n_accounts DESC, cluster_id LIMIT 1")
    assert rows, "the sample has a flagged case"
    return rows[0][0]


def test_a_case_gives_the_rules_its_signals_name_and_its_report(sample_run):
    cid = flagged_case(sample_run)
    answer = case(sample_run, cid[:7])
    assert answer.record["cluster_id"] == cid
    assert answer.record["verdict"] == "flagged"
    assert Path(answer.record["report"]).is_file()
    held = {r["rule_id"] for r in answer.tables["rules"]}
    assert held == set(answer.record["signals"].split(","))
    alpha = StatisticsParams().alpha
    assert all(r["p_adjusted"] <= alpha for r in answer.tables["rules"])


def test_a_case_evidence_is_counted_over_pairs_of_its_own_accounts(sample_run):
    cid = flagged_case(sample_run)
    answer = case(sample_run, cid)
    n = answer.record["n_accounts"]
    assert answer.tables["evidence"], "a flagged case of many accounts is linked by evidence"
    for row in answer.tables["evidence"]:
        assert 1 <= row["pairs"] <= n * (n - 1) // 2
        assert row["shared_count"] > row["expected_count"]
    weights = [r["held_weight"] for r in answer.tables["keys"]]
    assert weights == sorted(weights, reverse=True)
    assert all(2 <= r["cluster_account_count"] <= min(n, r["window_account_count"])
               for r in answer.tables["keys"])


def test_a_joined_piece_and_its_case_list_the_same_pieces(sample_run):
    joined = query(sample_run / "forensics.duckdb", "SELECT cluster_id, joined_case FROM "
                   "cluster_findings WHERE joined_case IS NOT NULL ORDER BY cluster_id")
    assert joined, "the sample has a flagged piece joined to a case"
    piece, root = joined[0]
    from_piece = case(sample_run, piece).tables["pieces"]
    from_root = case(sample_run, root).tables["pieces"]
    assert from_piece == from_root
    assert from_piece[0]["cluster_id"] == from_piece[0]["case_id"]
    assert from_piece[0]["joined_case"] is None
    members = {r["cluster_id"] for r in from_piece}
    assert {piece, root} <= members
    assert all(r["joined_case"] in members for r in from_piece[1:])
    assert {r["case_id"] for r in from_piece} == {from_piece[0]["cluster_id"]}
    tested = case(sample_run, piece).tables["join_test"]
    assert [(t["tested_case"], t["joined"], t["tie_short_by"]) for t in tested] == [
        (root, True, 0.0)]


def test_a_joined_pieces_report_gives_the_numbers_of_its_join_test(sample_run):
    """The report says the piece passed the join rule with the numbers of its case_test row,
    formatted as the report formats numbers, so a reader can find them in the table."""
    rows = query(sample_run / "forensics.duckdb", "SELECT cluster_id, tie_surprise, "
                 "tie_without_infrastructure, required_surprise, tie_families "
                 "FROM case_test WHERE joined ORDER BY cluster_id")
    assert rows, "the sample has a cluster that joined a case"
    cid, tie, bare, required, families = rows[0]
    text = " ".join(" ".join(page.split()) for page in pdf_text(
        sample_run / "reports" / f"{cid}.pdf"))
    without = ("" if bare is None
               else f", {fmt_num(bare)} without infrastructure (one family of its own),")
    assert f"tie {fmt_num(tie)}{without} against {fmt_num(required)}" in text
    assert f"by family: {families}" in text


def test_an_account_reports_its_case_and_every_request_by_day(sample_run):
    cid = flagged_case(sample_run)
    db = sample_run / "forensics.duckdb"
    member = query(db, "SELECT min(account_id) FROM clusters WHERE cluster_id = $c",
                   {"c": cid})[0][0]
    answer = account(sample_run, member)
    assert answer.record["cluster_id"] == cid
    assert answer.record["verdict"] == "flagged"
    requests = query(db, "SELECT count(*) FROM requests WHERE account_id = $a", {"a": member})
    assert sum(d["request_count"] for d in answer.tables["days"]) == requests[0][0]
    assert answer.tables["keys"]


def test_changes_of_a_first_run_are_all_new(sample_run):
    answer = changes(sample_run)
    clusters = query(sample_run / "forensics.duckdb",
                     "SELECT count(DISTINCT cluster_id) FROM clusters")[0][0]
    assert answer.record["events"] == {"new": clusters}
    verdicts = {r["verdict"] for r in answer.tables["lineage"]}
    assert verdicts <= {"flagged", "watch"} and "flagged" in verdicts
    assert len(changes(sample_run, all_clusters=True).tables["lineage"]) == clusters


@pytest.mark.parametrize("ask,message", [
    (lambda out: case(out, "Cnothing"), "no case Cnothing"),
    (lambda out: case(out, "C"), "names several cases"),
    (lambda out: account(out, "acct_nobody"), "sent no request"),
    (lambda out: changes(out / "nowhere"), "no forensics.duckdb"),
])
def test_a_question_about_nothing_is_a_clear_error(sample_run, ask, message):
    with pytest.raises(ForensicsError, match=message):
        ask(sample_run)


def test_the_commands_print_tables_and_json_and_change_nothing(sample_run):
    db = sample_run / "forensics.duckdb"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    cid = flagged_case(sample_run)
    shown = forensics("case", cid, "--out", str(sample_run))
    assert shown.returncode == 0, shown.stderr
    assert "evidence" in shown.stdout and "rules" in shown.stdout
    assert max(len(line) for line in shown.stdout.splitlines()) <= 80
    framed = [line.rstrip() for line in shown.stdout.splitlines() if line[:1] in "┏┃┡│┌├└"]
    assert framed and all(line[-1] in "┓┃┩│┐┤┘" for line in framed), "a table was cropped"
    for column in ("source_table", "p_adjusted", "joined_case"):
        assert column in shown.stdout or column.replace("_", " ") in shown.stdout
    scripted = forensics("case", cid, "--out", str(sample_run), "--json")
    assert json.loads(scripted.stdout) == case(sample_run, cid).as_json()
    missing = forensics("account", "acct_nobody", "--out", str(sample_run))
    assert missing.returncode == 2 and "sent no request" in missing.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before

