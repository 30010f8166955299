"""MoPI review dates (pure): when a case comes up for a retention review.

A case still open is not reviewed (it is a live investigation). A closed case
is reviewed ``review_years`` after it closed, or ``serious_review_years`` for
stalking (principal classification) or a case last assessed high risk; after
a reviewer decided to retain it, at the next review date that decision set.
:func:`review_due_sql` is the same rule in SQL, for the review list.
"""

from __future__ import annotations

from datetime import datetime

from app.policy import RetentionPolicy


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def is_serious(principal_is_stalking: bool, risk_level: str | None) -> bool:
    return principal_is_stalking or risk_level == "high"


def review_due(*, closed_at: datetime | None, serious: bool, policy: RetentionPolicy,
               retained_until: datetime | None = None) -> datetime | None:
    """The case's next review date, or None while it is open."""
    if retained_until is not None:
        return retained_until
    if closed_at is None:
        return None
    return add_years(closed_at, policy.serious_review_years if serious else policy.review_years)
