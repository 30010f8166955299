"""The small readings the DMM rules share: a moment or a day in words (in
the meeting's time zone, with the year when it is not the meeting's), a
case's age, family and latest assessments, whether an event is inside the
meeting's window or still needs its decision, and working-day deadlines.
They read only the meeting's times (:class:`FrameTimes`, which
:class:`app.rules.dmm.MeetingFrame` has)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from app.dates import add_working_days
from app.policy import CalendarPolicy, Policy
from app.rules.dmm_facts import AssessmentFact, CaseFacts


class FrameTimes(Protocol):
    """The times of the meeting a rule reads."""

    meeting_date: date
    covers_from: datetime
    starts_at: datetime
    epoch: datetime | None
    events_from: datetime | None


def meeting_zone(policy: Policy) -> ZoneInfo:
    return ZoneInfo(policy.calendar.timezone)


def moment_words(moment: datetime, policy: Policy, frame: FrameTimes | None = None) -> str:
    """``Sat 28/02 14:10``; with the year when it is not the meeting's year."""
    local = moment.astimezone(meeting_zone(policy))
    if frame is not None and local.year != frame.meeting_date.year:
        return local.strftime("%a %d/%m/%Y %H:%M")
    return local.strftime("%a %d/%m %H:%M")


def day_words(moment: datetime, policy: Policy, frame: FrameTimes | None = None) -> str:
    local = moment.astimezone(meeting_zone(policy))
    if frame is not None and local.year != frame.meeting_date.year:
        return local.strftime("%a %d/%m/%Y")
    return local.strftime("%a %d/%m")


def days_old(facts: CaseFacts, frame: FrameTimes) -> int:
    return (frame.starts_at - facts.reported_at) // timedelta(days=1)


def in_window(moment: datetime, frame: FrameTimes) -> bool:
    return frame.covers_from <= moment < frame.starts_at


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def family_label(facts: CaseFacts) -> str:
    return f"{facts.principal_family} ({facts.principal_code})"


def needs_decision(at: datetime, decided_at: datetime | None, frame: FrameTimes, *,
                   horizon: bool = True) -> bool:
    """An event at ``at`` is a meeting item: it happened before the meeting,
    no earlier meeting has decided on the case since, and (with ``horizon``)
    it is inside the meeting's window or within reach of the first import."""
    if at >= frame.starts_at:
        return False
    if decided_at is not None and decided_at >= at:
        return False
    if not horizon or frame.events_from is None:
        return True
    return at >= frame.events_from or at >= frame.covers_from


def latest_assessments(facts: CaseFacts, frame: FrameTimes) -> tuple[AssessmentFact | None,
                                                           AssessmentFact | None]:
    before = [a for a in facts.assessments if a.assessed_at < frame.starts_at]
    before.sort(key=lambda a: a.assessed_at)
    latest = before[-1] if before else None
    previous = before[-2] if len(before) > 1 else None
    return latest, previous


def shortened(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def case_family(facts: CaseFacts, policy: Policy) -> str | None:
    for family in policy.dmm.case_families:
        if family in facts.families:
            return family
    return None


@lru_cache(maxsize=8192)
def working_deadline(day: date, days: int, calendar: CalendarPolicy) -> datetime:
    """End of the ``days``-th working day after local date ``day`` (cached: a
    queue asks for the same few dates thousands of times)."""
    zone = ZoneInfo(calendar.timezone)
    return add_working_days(datetime.combine(day, time(12, 0), tzinfo=zone), days,
                            calendar.holidays, zone)
