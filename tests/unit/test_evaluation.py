"""Tests of the evaluation sweep: one seed's record from a run's findings, the aggregate
over seeds (median, worst case, campaigns reported apart, failures kept), the files a sweep
leaves after each seed, and one real sweep end to end (slow)."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.run.cli import full_app
from simulator import sweep as sweep_module
from simulator.evaluation import (
    FINDABLE_MIN_ACCOUNTS,
    adjusted_rand_index,
    aggregate_sweep,
    case_ari,
    score_linking,
    score_seed,
    sweep_markdown,
)


def _campaign(op: str, active: int, recall: float | None, **design: object) -> dict:
    return {"operator_id": op, "size": design.get("size", 100), "registration": "none",
            "accounts_per_card": 1, "proxies": "mobile", "retries": False,
            "schedule": "sync", "requests_per_account_day": 12.0, "active_accounts": active,
            "requests": 500, "recall": recall, "recall_flagged_or_watch": recall,
            "findable": active >= FINDABLE_MIN_ACCOUNTS}


def _seed(seed: int, f1: float, fpr: float, ari: float, campaigns: list[dict],
          benign: dict[str, int] | None = None) -> dict:
    return {"seed": seed, "status": "ok", "days": 5, "hashes_only": False, "rows": 1000,
            "flagged": {"f1": f1, "precision": f1, "recall": f1, "false_positive_rate": fpr},
            "flagged_or_watch": {"f1": f1, "precision": f1, "recall": f1,
                                 "false_positive_rate": 2 * fpr},
            "campaign_ari": ari, "case_ari": ari, "benign_flagged_by_population": benign or {},
            "campaigns": campaigns}


RESULTS = [
    _seed(1, 0.9, 0.001, 0.8, [_campaign("op-a", 50, 0.9), _campaign("op-b", 2, 0.0)],
          {"campus": 3}) | {"peak_rss_mib": 3100},
    _seed(2, 0.5, 0.004, 0.95, [_campaign("op-a", 400, 0.4)], {"campus": 1, "mobile": 2})
    | {"seconds": {"simulate": 3.0, "run": 41.5}, "peak_rss_mib": 2900},
    _seed(3, 0.7, 0.0, 1.0, [_campaign("op-a", 3, 1.0), _campaign("op-b", 0, None)]),
    {"seed": 4, "status": "failed", "error": "MemoryError: out of memory"},
]


def test_aggregate_median_worst_apart_and_failures() -> None:
    agg = aggregate_sweep(RESULTS)
    assert agg["seeds"] == 4 and agg["succeeded"] == 3
    assert agg["failed"] == [{"seed": 4, "error": "MemoryError: out of memory"}]
    f1 = agg["measures"]["flagged F1"]
    assert f1 == {"median": 0.7, "worst": 0.5, "worst_seed": 2}
    fpr = agg["measures"]["false-positive rate (benign, flagged)"]
    assert fpr == {"median": 0.001, "worst": 0.004, "worst_seed": 2}
    assert agg["measures"]["false-positive rate (benign, flagged or watch)"]["worst"] == 0.008
    assert agg["measures"]["campaign ARI (clusters vs operators)"]["worst_seed"] == 1
    # seed 3's record predates the peak's: the two that have one make the measure
    rss = agg["measures"]["peak RSS of a seed's process, MiB"]
    assert rss == {"median": 3000.0, "worst": 3100.0, "worst_seed": 1}
    recall = agg["campaign_recall"]
    assert recall["findable_campaigns"] == 3  # exactly 3 active accounts is findable
    assert recall["median"] == 0.9 and recall["worst"] == 0.4
    assert recall["worst_campaign"]["seed"] == 2
    assert recall["worst_campaign"]["registration"] == "none"
    # too small to be found in principle: reported apart, never dropped
    assert [(c["seed"], c["operator_id"]) for c in agg["apart"]] == [(1, "op-b"), (3, "op-b")]
    assert agg["benign_flagged_by_population"] == {"campus": 4, "mobile": 2}


def test_aggregate_of_nothing_but_failures() -> None:
    agg = aggregate_sweep([RESULTS[-1]])
    assert agg["succeeded"] == 0 and agg["campaign_recall"]["median"] is None
    assert agg["measures"]["flagged F1"]["worst"] is None
    assert "seed 4: MemoryError" in sweep_markdown({"seeds": [4], "results": [RESULTS[-1]],
                                                     "aggregate": agg})


def test_markdown_has_every_table() -> None:
    md = sweep_markdown({"seeds": [1, 2, 3, 4], "results": RESULTS,
                         "aggregate": aggregate_sweep(RESULTS)})
    assert md.startswith("# Evaluation sweep: 3 of 4 seeds ran")
    assert "| flagged F1 | 0.7000 | 0.5000 | 2 |" in md
    assert "## Reported apart" in md and "| 3 | op-b | 100 | 0 |" in md
    assert "- campus: 4" in md and "- seed 4: MemoryError" in md
    rows = [line for line in md.splitlines() if line.startswith("| 2 | op-a |")]
    assert len(rows) == 1 and "| 0.400 |" in rows[0]
    assert any(line.startswith("| 2 | 5 | text |") and line.endswith("| 41.5 | 2900 |")
               for line in md.splitlines())


def test_score_seed_from_a_run_built_in_code(tmp_path: Path) -> None:
    sim, out = tmp_path / "sim", tmp_path / "out"
    (out / "findings").mkdir(parents=True)
    sim.mkdir()
    accounts = [f"a{i}" for i in range(10)]
    pl.DataFrame({
        "account_id": accounts,
        "operator_id": ["op-1"] * 4 + ["op-2"] * 2 + [f"ind-{i}" for i in range(4)],
        "population": ["campaign"] * 6 + ["individual", "individual", "campus", "mobile"],
        "is_campaign": [True] * 6 + [False] * 4,
    }).write_csv(sim / "labels.csv")
    pl.DataFrame({"account_id": accounts,
                  "cluster_id": ["c1", "c1", "c1", "c2", "c3", "c3", "c4", "c5", "c1", "c6"]}
                 ).write_parquet(out / "findings" / "clusters.parquet")
    pl.DataFrame({"cluster_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
                  "verdict": ["flagged", "clear", "watch", "clear", "clear", "watch"],
                  "risk_score": [0.9, 0.1, 0.5, 0.0, 0.0, 0.4],
                  "joined_case": [None, "c1", None, None, None, None]}
                 ).write_parquet(out / "findings" / "cluster_findings.parquet")
    design_keys = {"registration": "isp", "accounts_per_card": 3, "proxies": "datacenter",
                   "retries": True, "failover_share": 0.01, "schedule": "trickle",
                   "requests_per_account_day": 20.0, "nonce_share": 0.5,
                   "paraphrase_share": 0.2, "repeat_share": 0.3, "activity": 1.0,
                   "lifetime_days": [1.0, 2.0]}
    design = {"days": 3, "hashes_only": False,
              "campaigns": [{"operator_id": "op-1", "size": 40, **design_keys},
                            {"operator_id": "op-2", "size": 12, **design_keys},
                            {"operator_id": "op-3", "size": 10, **design_keys}],
              "realized": {"rows": 999, "campaigns": {
                  "op-1": {"active_accounts": 4, "requests": 300},
                  "op-2": {"active_accounts": 2, "requests": 50},
                  "op-3": {"active_accounts": 0, "requests": 0}}}}
    (sim / "scenario.json").write_text(json.dumps(design))
    record = score_seed(9, sim, out)
    assert record["status"] == "ok" and record["rows"] == 999
    assert record["flagged"]["precision"] == pytest.approx(3 / 4)
    # op-2's two accounts are reported apart: out of the seed's account-level figures
    assert record["accounts_apart"] == 2
    assert record["flagged"]["recall"] == pytest.approx(3 / 4)
    assert record["flagged"]["false_positive_rate"] == pytest.approx(1 / 4)
    assert record["flagged_or_watch"]["false_positive_rate"] == pytest.approx(2 / 4)
    assert record["benign_flagged_by_population"] == {"campus": 1}
    by_op = {c["operator_id"]: c for c in record["campaigns"]}
    assert by_op["op-1"]["recall"] == pytest.approx(0.75) and by_op["op-1"]["findable"]
    assert by_op["op-1"]["registration"] == "isp" and by_op["op-1"]["requests"] == 300
    assert by_op["op-2"]["recall_flagged_or_watch"] == 1.0 and not by_op["op-2"]["findable"]
    assert by_op["op-3"]["active_accounts"] == 0 and by_op["op-3"]["recall"] is None
    # op-2 apart, op-1 is the one operator left: nothing for an index to tell apart
    assert math.isnan(record["campaign_ari"]) and math.isnan(record["case_ari"])
    # c2 joined case c1: with op-2 counted, op-1 is one case though in two clusters
    clusters = pl.read_parquet(out / "findings" / "clusters.parquet")
    findings = pl.read_parquet(out / "findings" / "cluster_findings.parquet")
    labels = pl.read_csv(sim / "labels.csv")
    assert case_ari(clusters, findings, labels) == pytest.approx(1.0)
    assert score_linking(clusters, labels).campaign_ari < 1.0
    json.dumps(record)  # the record is what result.json holds
    # op-1's four accounts, only two of them with a second request: nothing is findable,
    # so the seed has no recall or F1 to give, and its false-positive rates stay
    design["realized"]["campaigns"]["op-1"]["accounts_two_requests"] = 2
    (sim / "scenario.json").write_text(json.dumps(design))
    record = score_seed(9, sim, out)
    assert not any(c["findable"] for c in record["campaigns"])
    assert record["accounts_apart"] == 6 and record["campaigns"][0]["recall"] == 0.75
    assert math.isnan(record["flagged"]["recall"]) and math.isnan(record["flagged"]["f1"])
    assert record["flagged"]["false_positive_rate"] == pytest.approx(1 / 4)


def test_sweep_saves_each_seed_and_reports_a_crash(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The child of seed 1 writes its result; the child of seed 2 dies without one."""
    seen: list[list[str]] = []

    def fake_run(command: list[str], **_: object) -> subprocess.CompletedProcess:
        seen.append(command)
        folder = Path(command[command.index("--folder") + 1])
        seed = int(command[command.index("--seed") + 1])
        if seed == 1:
            (folder / "result.json").write_text(json.dumps(RESULTS[0]))
            return subprocess.CompletedProcess(command, 0, "ok", "")
        assert json.loads((tmp_path / "sweep.json").read_text())["aggregate"]["succeeded"] == 1
        return subprocess.CompletedProcess(command, -9, "", "line\nKilled")

    monkeypatch.setattr(sweep_module.subprocess, "run", fake_run)
    result = sweep_module.run_sweep([1, 2], tmp_path, hashes_only=True, row_budget=5_000)
    assert json.loads((tmp_path / "seeds.json").read_text())["seeds"] == [1, 2]
    assert all("--hashes-only" in c and "5000" in c for c in seen)
    assert result["aggregate"]["failed"] == [{"seed": 2, "error": (
        "killed by SIGKILL (the kernel's out-of-memory killer sends it), exit code -9: "
        "line | Killed")}]
    assert json.loads((tmp_path / "sweep.json").read_text()) == result
    assert "seed 2: killed by SIGKILL" in (tmp_path / "sweep.md").read_text()
    assert (tmp_path / "seed-2" / "log.txt").read_text() == "line\nKilled"


def test_a_crashing_seed_writes_its_error(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object) -> dict:
        raise RuntimeError("the pipeline broke")

    monkeypatch.setattr(sweep_module, "run_seed", boom)
    assert sweep_module.main(["--seed", "5", "--folder", str(tmp_path)]) == 1
    written = json.loads((tmp_path / "result.json").read_text())
    assert written["status"] == "failed" and written["error"] == "RuntimeError: the pipeline broke"
    assert "Traceback" in written["traceback"]


def test_an_ablation_is_passed_to_every_seed_and_recorded(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(command: list[str], **_: object) -> subprocess.CompletedProcess:
        seen.append(command)
        return subprocess.CompletedProcess(command, 1, "", "no result")

    monkeypatch.setattr(sweep_module.subprocess, "run", fake_run)
    sweep_module.run_sweep([3, 4], tmp_path, without=("sync_start", "failover"))
    assert all(c[c.index("--without") + 1] == "sync_start,failover" for c in seen)
    assert json.loads((tmp_path / "seeds.json").read_text())["without"] == ["sync_start",
                                                                          "failover"]


def test_evaluate_refuses_an_unknown_evidence_kind() -> None:
    result = CliRunner().invoke(full_app(), ["evaluate", "--seeds", "1", "--without", "horoscope"])
    assert result.exit_code != 0 and "horoscope" in result.output


def test_evaluate_needs_labels_or_a_sweep() -> None:
    result = CliRunner().invoke(full_app(), ["evaluate"])
    assert result.exit_code != 0 and "--labels" in result.output
    result = CliRunner().invoke(full_app(), ["evaluate", "--seeds", "1,x"])
    assert result.exit_code != 0 and "--seeds" in result.output



def test_rescore_needs_a_folder_a_sweep_wrote(tmp_path: Path) -> None:
    result = CliRunner().invoke(full_app(), ["evaluate", "--rescore", str(tmp_path)])
    assert result.exit_code != 0 and "no sweep.json" in result.output
    assert not (tmp_path / "rescored").exists()


def test_the_adjusted_rand_index_needs_two_operators() -> None:
    """Must score: two operators, one stray account. Must not: one operator, where the
    index is 0 for any split and 1 only for one cluster, whatever the split's size."""
    two = adjusted_rand_index(pl.Series(["a"] * 4 + ["b"] * 4),
                              pl.Series(["x"] * 4 + ["y"] * 3 + ["z"]))
    assert 0.5 < two < 1.0
    assert adjusted_rand_index(pl.Series(["a", "b"]), pl.Series(["x", "y"])) == 1.0
    assert math.isnan(adjusted_rand_index(pl.Series(["a"] * 8), pl.Series(["x"] * 7 + ["y"])))
    assert math.isnan(adjusted_rand_index(pl.Series(["a"] * 8), pl.Series(["x"] * 8)))
