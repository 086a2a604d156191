"""The validation pages open offline: headless Chromium with no network finds their rows.

The pages are written from outcomes built in code (the gates' own runs check that they
write them: ``test_validation.py``). Chromium runs in a network namespace of its own
(``unshare --net``: no interface but a loopback that is down) where the machine allows
it, and always with every host name unresolvable and a proxy that does not exist; a probe
page with an image on a public address shows that this browser reaches nothing, so a page
that renders its rows there needs nothing from outside. Chromium is a test dependency:
``.ci/run`` installs it from the distribution's packages, and its absence fails here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest

from pipeline.publish.manifest import prune_validation
from pipeline.validation.outcomes import ExpectationOutcome
from pipeline.validation.pages import gate_summary, safe_name, write_gate_page

RUN = "manual__2026-04-04T02:00:00+00:00:window"


NO_NETWORK = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
              "--no-proxy-server-bypass"]


def outcome(suite: str, batch: str, expectation: str, column: str | None, success: bool,
            **extra: object) -> dict[str, object]:
    """A gate's result as the gates hand it to the pages."""
    return asdict(ExpectationOutcome(suite, batch, expectation, column, success, None, None,
                                     **extra))


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: .ci/run installs it (apt-get install chromium)"
    return found


def isolated() -> list[str]:
    """``unshare --net`` when this machine lets a process leave the network (root, or user
    namespaces); the Chromium flags alone otherwise."""
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False) \
        if shutil.which("unshare") else None
    return ["unshare", "--net"] if probe is not None and probe.returncode == 0 else []


def dump_dom(page: Path, profile: Path) -> str:
    """The page's DOM after loading, as offline Chromium renders it."""
    result = subprocess.run(
        [*isolated(), chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         f"--user-data-dir={profile}", *NO_NETWORK, "--virtual-time-budget=5000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture
def site(tmp_path: Path) -> Path:
    validation = tmp_path / "out" / "validation"
    raw = [outcome("raw.requests", "2026-04-01", "expect_column_values_to_be_unique",
                   "request_id", False, failing_values=("request_id=req-000000",)),
           outcome("raw.requests", "2026-04-01", "expect_column_values_to_not_be_null",
                   "ts", True)]
    window = [outcome("window.clusters", "2026-03-03..2026-04-01 (30 days)",
                      "expect_column_pair_values_to_be_equal", "cluster_size,n", True)]
    write_gate_page(validation / safe_name("20260404T020000Z-1") / "raw",
                    "20260404T020000Z-1", "raw", raw)
    write_gate_page(validation / safe_name(RUN) / "window", RUN, "window", window)
    return validation


def test_the_landing_page_and_a_gate_page_show_their_rows_offline(site, tmp_path):
    probe = tmp_path / "probe.html"
    probe.write_text('<html><body data-net="waiting"><img src="http://198.51.100.7/x.png" '
                     'onload="document.body.dataset.net=\'reached\'" '
                     'onerror="document.body.dataset.net=\'unreachable\'"></body></html>')
    assert 'data-net="unreachable"' in dump_dom(probe, tmp_path / "profile")

    landing = dump_dom(site / "index.html", tmp_path / "profile")
    gates = re.findall(r'<tr class="result (passed|failed)">.*?href="([^"]+)"', landing)
    assert sorted(gates) == [("failed", "20260404T020000Z-1/raw/index.html"),
                             ("passed", f"{safe_name(RUN)}/window/index.html")]
    page = dump_dom(site / dict(gates)["failed"], tmp_path / "profile")
    rows = re.findall(r'<tr class="result (passed|failed)">(.*?)</tr>', page, re.S)
    assert [status for status, _ in rows] == ["failed", "passed"], "failures come first"
    assert "expect_column_values_to_be_unique" in rows[0][1]
    assert "request_id=req-000000" in rows[0][1]


def test_no_page_refers_to_anything_outside_the_site(site):
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), page
        assert "<script" not in text, page


def test_folder_names_have_no_colon_or_space_and_the_summary_reads_back(site):
    for path in site.rglob("*"):
        assert not re.search(r"[: ]", path.name), path
    summary = gate_summary(site, RUN, "window")
    assert summary is not None
    assert (summary["success"], summary["expectations"], summary["failed"]) == (True, 1, 0)
    assert Path(summary["page"]).is_file()
    assert gate_summary(site, RUN, "raw") is None


def test_the_same_results_give_the_same_page(site, tmp_path):
    page = site / safe_name(RUN) / "window" / "index.html"
    before = page.read_bytes()
    write_gate_page(page.parent, RUN, "window", [outcome(
        "window.clusters", "2026-03-03..2026-04-01 (30 days)",
        "expect_column_pair_values_to_be_equal", "cluster_size,n", True)])
    assert page.read_bytes() == before


def test_pruning_old_runs_leaves_the_landing_page_linking_only_what_is_left(site):
    old = site / "20260404T020000Z-1"
    os.utime(old, ns=(0, 0))
    prune_validation(site.parent, 1)
    landing = (site / "index.html").read_text(encoding="utf-8")
    assert not old.exists()
    assert re.findall(r'href="([^"]+)"', landing) == [f"{safe_name(RUN)}/window/index.html"]

