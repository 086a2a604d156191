"""Which days the logs hold, against the days a run asked for: the empty- and short-day
check of ingest, and the hint that names the days the logs do cover.

In: the rows each day of the range kept, the ledger's totals, the partitions published
before the range and the first and last day of the rows read. Out: nothing when every day
is plausible, else ``ShortDay`` naming the day, where the rows read went and the days the
logs cover ("the logs cover 2026-04-01..03"), before any partition is replaced. A
log-shipping outage, or a range typed a month off, would otherwise publish an empty case
file over the last good one.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from pipeline.errors import ShortDay
from pipeline.settings import IngestParams
from pipeline.warehouse import partition_path


def span(first: date, last: date) -> str:
    """``2026-04-01..03``: a run of days as a person writes it, the end cut to what
    differs from the start."""
    if first == last:
        return first.isoformat()
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.isoformat()}..{last:%d}"
    if first.year == last.year:
        return f"{first.isoformat()}..{last:%m-%d}"
    return f"{first.isoformat()}..{last.isoformat()}"


def coverage_hint(covered: tuple[date, date] | None) -> str:
    """What the logs hold, for a range that matched too little of them."""
    if covered is None:
        return "no row of the logs has a readable time"
    return f"the logs cover {span(*covered)}"


def refuse_short_days(kept: dict[date, int], totals: dict[str, int], files: int, out: Path,
                      asked: tuple[date, date], covered: tuple[date, date] | None,
                      params: IngestParams) -> None:
    """Stop before anything is published when a day kept no rows, or fewer than
    ``min_day_share`` of the median of the days before it, naming the day, where the rows
    read went (``totals`` of the ledger's ``files``) and which days the logs cover."""
    start, end = asked

    def days_before(day: date) -> list[date]:
        return [day - timedelta(days=n) for n in range(1, params.trailing_days + 1)]

    published = {day: _published_rows(out, day) for day in days_before(start)}
    history = {day: rows for day, rows in published.items() if rows is not None} | kept
    short = []
    for day, rows in kept.items():
        before = [history[d] for d in days_before(day) if d in history]
        median = float(np.median(before)) if len(before) >= params.min_trailing_days else 0.0
        if rows == 0 or rows < params.min_day_share * median:
            short.append((day, rows, median))
    if not short:
        return
    day, rows, median = short[0]
    what = (f"{day} kept no rows" if rows == 0 else
            f"{day} kept {rows:,} rows, under {params.min_day_share:.0%} of the median of "
            f"the days before it ({median:,.0f})")
    others = f" (and {len(short) - 1} more day(s))" if len(short) > 1 else ""
    raise ShortDay(
        f"{what}{others}. Read {files} file(s), {totals['rows_read']:,} rows: "
        f"{totals['rows_kept']:,} kept, {totals['rows_quarantined']:,} quarantined, "
        f"{totals['rows_out_of_range']:,} outside {start}..{end} ({coverage_hint(covered)}). "
        "Nothing was published; the last publication is in place. --allow-empty publishes "
        "it anyway.")


def _published_rows(out: Path, day: date) -> int | None:
    """Rows of a day's published partition, from its footer; None when there is none."""
    path = partition_path(out, "requests", day)
    return pq.ParquetFile(path).metadata.num_rows if path.is_file() else None
