"""A window task's result built in code: what the tests of the Airflow task functions, unit and
integration, hand the code that reports a window (its log lines and its asset event)
without running the window stages."""

from __future__ import annotations

from datetime import date

from pipeline.linking.linking import LinkResult
from pipeline.run.runner import WindowResult

WINDOW = WindowResult(
    linking=LinkResult(window_start=date(2026, 3, 30), window_end=date(2026, 4, 1),
                       account_count=5, edge_count=1, cluster_count=4,
                       linked_cluster_count=1, largest_cluster=2),
    verdicts={"flagged": 1, "clear": 3})
