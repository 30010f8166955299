"""Dates as forces write them: ISO 8601 or UK day-first, Europe/London by default.

Also the working-day arithmetic the Victims' Code clocks need, and display in
local time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

_UK = re.compile(
    r"^(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)


class DateError(ValueError):
    """A date that cannot be read, or that cannot exist."""


def parse_datetime(text: str, *, tz: ZoneInfo = LONDON) -> datetime:
    """Read an ISO 8601 or UK day-first (`dd/mm/yyyy HH:MM`) date-time.

    A value without an offset is local time in ``tz`` (Europe/London). The
    result is aware UTC. Raises :class:`DateError` naming the problem.
    """
    raw = text.strip()
    if not raw:
        raise DateError("empty date")
    match = _UK.match(raw)
    try:
        if match:
            parts = match.groupdict()
            value = datetime(
                int(parts["y"]),
                int(parts["m"]),
                int(parts["d"]),
                int(parts["H"] or 0),
                int(parts["M"] or 0),
                int(parts["S"] or 0),
            )
        else:
            iso = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
            value = datetime.fromisoformat(iso)
    except ValueError as exc:
        raise DateError(f"'{raw}' is not a real date ({exc})") from None
    _in_range(raw, value.year)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def parse_date(text: str) -> date:
    """Read a calendar date, ISO (`2026-03-02`) or UK (`02/03/2026`)."""
    raw = text.strip()
    match = _UK.match(raw)
    try:
        day = date(int(match["y"]), int(match["m"]), int(match["d"])) if match \
            else date.fromisoformat(raw)
    except ValueError as exc:
        raise DateError(f"'{raw}' is not a real date ({exc})") from None
    _in_range(raw, day.year)
    return day


# Dates Vigil takes: a record of a crime, an order or a period in these years
# (an older or later one is a typing mistake, and arithmetic on it overflows).
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999


class DateOutOfRange(DateError):
    """A real date outside the years Vigil takes."""

    def __init__(self, raw: str, year: int) -> None:
        side = f"before {EARLIEST_YEAR}" if year < EARLIEST_YEAR else f"after {LATEST_YEAR}"
        super().__init__(f"'{raw}' is {side}")
        self.year = year


def _in_range(raw: str, year: int) -> None:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise DateOutOfRange(raw, year)


def local(moment: datetime, tz: ZoneInfo = LONDON) -> datetime:
    return moment.astimezone(tz)


def format_local(moment: datetime | None, fmt: str = "%d/%m/%Y %H:%M", tz: ZoneInfo = LONDON) -> str:
    return "" if moment is None else moment.astimezone(tz).strftime(fmt)


def local_midnight(day: date, tz: ZoneInfo = LONDON) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def add_working_days(start: datetime, days: int, holidays: frozenset[date] = frozenset(),
                     tz: ZoneInfo = LONDON) -> datetime:
    """The end of the ``days``-th working day after ``start`` (local calendar).

    A report on Friday afternoon with 2 working days is due by the end of
    Tuesday (a Monday bank holiday pushes it to Wednesday).
    """
    day = start.astimezone(tz).date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            remaining -= 1
    end = datetime.combine(day, time(23, 59, 59), tzinfo=tz)
    return end.astimezone(UTC)
