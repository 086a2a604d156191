"""How the reports print values: one way for each kind of number, date and name.

In: a value read from a table (possibly None). Out: its text, a dash when it is missing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

MISSING = "\u2013"
"""What a missing value prints as (an en dash), never a zero."""

FAMILY_TITLES = {
    "linkage": "Account linkage",
    "query_distribution": "Query distribution",
    "caching_mismatch": "Caching mismatch",
    "traffic_shape": "Traffic shape",
}


def fmt_int(value: Any) -> str:
    """An integer with thousands separators; a dash for missing."""
    return MISSING if value is None else f"{int(value):,}"


def fmt_num(value: Any) -> str:
    """A real number with three significant digits (more for large values)."""
    if value is None:
        return MISSING
    x = float(value)
    if x != x:
        return MISSING
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    if x == 0:
        return "0"
    return f"{x:.3g}"


def fmt_share(value: Any) -> str:
    """A share as a percentage with one decimal."""
    return MISSING if value is None else f"{float(value):.1%}"


def fmt_p(value: Any) -> str:
    """A p-value: two significant digits, scientific below 0.001."""
    if value is None:
        return MISSING
    p = float(value)
    if p == 0:
        return "< 1e-300"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def fmt_day(value: Any) -> str:
    """A day as ISO text, in UTC: a report never depends on the reader's time zone."""
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d")
    return value.isoformat() if isinstance(value, date) else str(value)


def fmt_time(value: Any) -> str:
    """A time to the minute, in UTC and saying so."""
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def plural(n: int, word: str, words: str | None = None) -> str:
    """A count with its noun, so no sentence reads "1 accounts"."""
    return f"{fmt_int(n)} {word if n == 1 else (words or word + 's')}"


def families_text(value: Any) -> str:
    """A comma-separated list of families as the words a reader knows them by."""
    if not value:
        return "none"
    return ", ".join(FAMILY_TITLES.get(f.strip(), f.strip()).lower()
                     for f in str(value).split(",") if f.strip())
