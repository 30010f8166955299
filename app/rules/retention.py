"""MoPI review dates (pure): when a case comes up for a retention review.

A case still open is not reviewed (it is a live investigation). A closed case
is reviewed ``review_years`` after it closed, or ``serious_review_years`` for
stalking (principal classification) or a case last assessed high risk; after
a reviewer decided to retain it, at the next review date that decision set.
:func:`review_due_sql` is the same rule in SQL, for the review list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_

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


def serious_sql(principal_code: Any, risk_level: Any, stalking_codes: list[str]) -> Any:
    """The twin of :func:`is_serious` (a case never assessed is not high risk)."""
    return or_(principal_code.in_(stalking_codes), func.coalesce(risk_level, "") == "high")


def closed_before_sql(closed_at: Any, serious: Any, now: datetime,
                      policy: RetentionPolicy) -> Any:
    """``closed_at`` far enough back for the case to be due now (the twin of
    :func:`review_due` without a retain decision)."""
    return and_(
        closed_at.is_not(None),
        or_(and_(serious, closed_at <= add_years(now, -policy.serious_review_years)),
            and_(~serious, closed_at <= add_years(now, -policy.review_years))),
    )
