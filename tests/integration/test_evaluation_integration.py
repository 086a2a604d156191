"""Tests of the evaluation sweep: one seed's record from a run's findings, the aggregate
over seeds (median, worst case, campaigns reported apart, failures kept), the files a sweep
leaves after each seed, and one real sweep end to end (slow), re-scored."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.run.cli import full_app


def test_evaluate_sweep_end_to_end(tmp_path: Path) -> None:
    """One seed at a tiny row budget: simulate, run the whole pipeline, score, report."""
    out = tmp_path / "eval"
    result = CliRunner().invoke(full_app(), ["evaluate", "--seeds", "13", "--row-budget", "15000",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    sweep = json.loads((out / "sweep.json").read_text())
    assert sweep["seeds"] == [13] and len(sweep["results"]) == 1
    record = sweep["results"][0]
    if record["status"] != "ok":  # the report says why; the sweep itself worked
        assert record["error"] and sweep["aggregate"]["failed"][0]["seed"] == 13
        return
    assert (out / "seed-13" / "sim" / "scenario.json").is_file()
    assert (out / "seed-13" / "out" / "findings" / "cluster_findings.parquet").is_file()
    assert len(record["campaigns"]) == 3
    # the seed's process held at least the data stack it imported, and said so
    assert record["peak_rss_mib"] > 100
    assert "# Evaluation sweep: 1 of 1 seeds ran" in (out / "sweep.md").read_text()
    rescored = tmp_path / "rescored"
    again = CliRunner().invoke(full_app(), ["evaluate", "--rescore", str(out),
                                            "--out", str(rescored)])
    assert again.exit_code == 0, again.output
    redone = json.loads((rescored / "sweep.json").read_text())
    assert redone["rescored_from"] == str(out)
    # the same code scores the same database the same: every measure before = after
    assert all(pair[0] == pair[1] for c in redone["compared"] for k, pair in c.items()
               if k != "seed")
    assert redone["results"][0]["flagged"] == record["flagged"]
    assert redone["results"][0]["campaigns"] == record["campaigns"]
    assert redone["results"][0]["peak_rss_mib"] == record["peak_rss_mib"]
    assert "## Before and after re-scoring" in (rescored / "sweep.md").read_text()
