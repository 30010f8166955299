"""Honest chart axes, shared by the assurance screen and the reports.

The value axis is scaled to the data (a share of 4–9 % is not drawn on a
0–100 % axis), starts at 0 and never goes below it (counts and rates cannot
be negative), and leaves a tenth of headroom above the highest point or the
target. A month not yet over is marked, so a partial month is not read as a
collapse.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

INCOMPLETE_MARK = "*"


def axis_top(unit: str, values: Iterable[float | None], target: float | None = None) -> float:
    """The top of the value axis, in the figure's own scale (shares 0–1).
    The bottom is always 0."""
    known = [v for v in values if v is not None and v > 0]
    top = max([*known, target or 0.0, 0.0])
    if top <= 0:
        return 1.0 if unit == "share" else 1.0
    top *= 1.1
    return min(top, 1.0) if unit == "share" else top


def month_incomplete(month: date, today: date) -> bool:
    """Is ``month`` (its first day) still running, or in the future, on ``today``?"""
    following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return following > today


def month_label(month: date, today: date) -> str:
    """``Feb``, or ``Feb*`` while February is not over."""
    return month.strftime("%b") + (INCOMPLETE_MARK if month_incomplete(month, today) else "")
