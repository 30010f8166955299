"""The period of an assurance report: ``[date_from, date_to)`` in Europe/London
calendar days, its months and their edges as moments, the default period,
and the working-day deadlines of referrals made in it."""


from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.dates import add_working_days, local_midnight


def check_period(date_from: date, date_to: date) -> None:
    """``[date_from, date_to)`` must hold at least one day."""
    if date_to <= date_from:
        raise ValueError(
            f"the period {date_from.isoformat()} to {date_to.isoformat()} is empty: the 'to' "
            "date is the first day not counted, so it must be after the 'from' date"
        )


def period_months(date_from: date, date_to: date) -> tuple[date, ...]:
    """The first day of each calendar month that overlaps ``[date_from, date_to)``."""
    check_period(date_from, date_to)
    months: list[date] = []
    current = date(date_from.year, date_from.month, 1)
    while current < date_to:
        months.append(current)
        current = _next_month(current)
    return tuple(months)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_edges(date_from: date, date_to: date) -> tuple[datetime, ...]:
    """UTC instants bounding each month of the period: month ``i`` of
    :func:`period_months` is ``[edges[i], edges[i+1])``; ``edges[0]`` is the
    start of the period and ``edges[-1]`` its (exclusive) end."""
    months = period_months(date_from, date_to)
    days = [date_from, *months[1:], date_to]
    return tuple(local_midnight(d) for d in days)


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of the period as UTC instants (Europe/London midnights)."""
    check_period(date_from, date_to)
    return local_midnight(date_from), local_midnight(date_to)


def month_index(moment: datetime, edges: Sequence[datetime]) -> int | None:
    """Which month of the period ``moment`` falls in (None: outside the period)."""
    if moment < edges[0] or moment >= edges[-1]:
        return None
    for index in range(len(edges) - 1):
        if moment < edges[index + 1]:
            return index
    return None  # pragma: no cover - unreachable


def shift_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months (day clipped to the month's length)."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    last = (_next_month(date(year, month, 1)) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def default_period(today: date, months: int = 12) -> tuple[date, date]:
    """The last ``months`` full calendar months before ``today``'s month."""
    end = date(today.year, today.month, 1)
    return shift_months(end, -months), end


@dataclass(frozen=True)
class DeadlineStep:
    """Cases reported from ``starts_at`` (until the next step) have this
    referral deadline; ``deadline`` is None while it has not yet passed."""

    starts_at: datetime
    deadline: datetime | None


def referral_deadline_steps(date_from: date, date_to: date, *, working_days: int,
                            holidays: frozenset[date], now: datetime) -> tuple[DeadlineStep, ...]:
    """The Victims' Code referral deadline of a report made on each day of the
    period (end of the ``working_days``-th working day after the day of the
    report), merged where consecutive days share a deadline (a Friday, Saturday
    and Sunday report share Tuesday's). Deadlines after ``now`` are None: those
    cases are not yet due."""
    check_period(date_from, date_to)
    steps: list[DeadlineStep] = []
    day = date_from
    while day < date_to:
        start = local_midnight(day)
        deadline: datetime | None = add_working_days(start, working_days, holidays)
        if deadline is not None and deadline > now:
            deadline = None
        if not steps or steps[-1].deadline != deadline:
            steps.append(DeadlineStep(start, deadline))
        day += timedelta(days=1)
    return tuple(steps)
