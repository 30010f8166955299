"""The daily management meeting (DMM): meeting calendar, agenda reasons and priority.

Pure functions over plain facts. The service gathers the facts for an area
command's candidate cases in SQL; these rules decide why each case is on the
agenda (a stable code and a one-line explanation) and how it ranks. Every
threshold and weight comes from the policy (``[dmm]``, ``[victims_code]``,
``[allocation]``, ``[calendar]``).

A meeting on date D starts at D ``dmm.meeting_time`` local time and covers what
was reported since the previous meeting started (Monday's covers from Friday
08:00; bank holidays are skipped). Deadlines ("past the policy's days") are
measured at the meeting's start, so the agenda of a meeting does not depend on
the minute at which it is looked at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.dates import add_working_days
from app.policy import CalendarPolicy, Policy
from app.rules.allocation import AllocationFacts, check_allocation

# ---------------------------------------------------------------------------
# Meeting calendar
# ---------------------------------------------------------------------------


class CalendarError(ValueError):
    """The policy's meeting calendar has no meeting day to find."""


def _zone(policy: Policy) -> ZoneInfo:
    return ZoneInfo(policy.calendar.timezone)


def is_meeting_day(day: date, policy: Policy) -> bool:
    """A meeting weekday of the policy that is not a bank holiday."""
    return day.weekday() in policy.dmm.meeting_weekdays and day not in policy.calendar.holidays


def meeting_start(day: date, policy: Policy) -> datetime:
    """When the meeting on ``day`` starts, as aware UTC (08:00 local by default)."""
    local = datetime.combine(day, policy.dmm.meeting_time, tzinfo=_zone(policy))
    return local.astimezone(UTC)


def _step(day: date, policy: Policy, direction: int) -> date:
    candidate = day
    for _ in range(400):
        candidate += timedelta(days=direction)
        if is_meeting_day(candidate, policy):
            return candidate
    raise CalendarError("policy key 'dmm.meeting_weekdays': no meeting day within a year")


def previous_meeting_date(day: date, policy: Policy) -> date:
    """The meeting day before ``day`` (Friday for a Monday; bank holidays skipped)."""
    return _step(day, policy, -1)


def next_meeting_date(day: date, policy: Policy) -> date:
    """The meeting day after ``day``."""
    return _step(day, policy, +1)


def meeting_window(day: date, policy: Policy) -> tuple[datetime, datetime]:
    """(from, to) covered by the meeting on ``day``: from the previous meeting's
    start up to this meeting's start, aware UTC."""
    return meeting_start(previous_meeting_date(day, policy), policy), meeting_start(day, policy)


def upcoming_meeting_date(now: datetime, policy: Policy) -> date:
    """The first meeting that has not started at ``now``: today's before its
    start time, else the next meeting day (what an overnight job prepares)."""
    day = meeting_date_for(now, policy)
    if meeting_start(day, policy) <= now:
        return next_meeting_date(day, policy)
    return day


def meeting_date_for(now: datetime, policy: Policy) -> date:
    """The meeting a supervisor works on at ``now``: today's if today is a
    meeting day, else the next one."""
    today = now.astimezone(_zone(policy)).date()
    if is_meeting_day(today, policy):
        return today
    return next_meeting_date(today, policy)


# ---------------------------------------------------------------------------
# Reasons
# ---------------------------------------------------------------------------
#
# Two kinds of reason put a case in front of supervisors.
#
# * **Meeting items** (``AGENDA_REASONS``) are events that need this morning's
#   decision: a new crime, a breach, new or raised high risk, a level set below
#   the checklist's suggestion, a repeat victim-suspect pair, a PIN, allocation
#   contrary to policy on a new case, a DMM action due, an item carried over.
#   An event at time T stays on every meeting's agenda from its first until a
#   meeting records a decision on the case at T or later (``needs_decision``).
#   Breaches stay until acknowledged; actions until completed.
# * **Standing gaps** (``STANDING_REASONS``) are compliance gaps of older cases
#   (no assessment, review overdue, no plan, SPO not considered, victim not
#   referred). They live on the team's work queue; a gap reaches the meeting
#   when it crosses its first threshold and again only when it crosses its
#   second, stricter one, each time until a meeting decides on the case.
#
# Thresholds and events before the database's first import (``frame.epoch``)
# do not reach the meeting, except events inside the meeting's own window, so
# a first import does not flood it.


class Reason(StrEnum):
    NEW_CRIME = "NEW_CRIME"
    BREACH = "BREACH"
    HIGH_RISK = "HIGH_RISK"
    NO_RISK_ASSESSMENT = "NO_RISK_ASSESSMENT"
    RISK_REVIEW_DUE = "RISK_REVIEW_DUE"
    SPO_NOT_CONSIDERED = "SPO_NOT_CONSIDERED"
    VICTIM_NOT_REFERRED = "VICTIM_NOT_REFERRED"
    ALLOCATION_CONTRARY_TO_POLICY = "ALLOCATION_CONTRARY_TO_POLICY"
    REPEAT_PAIR = "REPEAT_PAIR"
    PIN_RECORDED = "PIN_RECORDED"
    ACTION_OVERDUE = "ACTION_OVERDUE"
    CARRIED_OVER = "CARRIED_OVER"
    RISK_BELOW_SUGGESTION = "RISK_BELOW_SUGGESTION"
    NO_RISK_PLAN = "NO_RISK_PLAN"
    SPO_NOTIFICATION_OVERDUE = "SPO_NOTIFICATION_OVERDUE"


# The bit each reason is stored as on a DMM item (``dmm_item.mask``). Fixed by
# code, never by the order of the enum: a stored agenda keeps its meaning.
REASON_BITS: dict[str, int] = {
    Reason.NEW_CRIME: 1 << 0,
    Reason.BREACH: 1 << 1,
    Reason.HIGH_RISK: 1 << 2,
    Reason.NO_RISK_ASSESSMENT: 1 << 3,
    Reason.RISK_REVIEW_DUE: 1 << 4,
    Reason.SPO_NOT_CONSIDERED: 1 << 5,
    Reason.VICTIM_NOT_REFERRED: 1 << 6,
    Reason.ALLOCATION_CONTRARY_TO_POLICY: 1 << 7,
    Reason.REPEAT_PAIR: 1 << 8,
    Reason.PIN_RECORDED: 1 << 9,
    Reason.ACTION_OVERDUE: 1 << 10,
    Reason.CARRIED_OVER: 1 << 11,
    Reason.RISK_BELOW_SUGGESTION: 1 << 12,
    Reason.NO_RISK_PLAN: 1 << 13,
    Reason.SPO_NOTIFICATION_OVERDUE: 1 << 14,
}

AGENDA_REASONS: frozenset[str] = frozenset({
    Reason.NEW_CRIME, Reason.BREACH, Reason.HIGH_RISK, Reason.RISK_BELOW_SUGGESTION,
    Reason.ALLOCATION_CONTRARY_TO_POLICY, Reason.REPEAT_PAIR, Reason.PIN_RECORDED,
    Reason.ACTION_OVERDUE, Reason.CARRIED_OVER, Reason.SPO_NOTIFICATION_OVERDUE,
})
STANDING_REASONS: frozenset[str] = frozenset({
    Reason.NO_RISK_ASSESSMENT, Reason.RISK_REVIEW_DUE, Reason.NO_RISK_PLAN,
    Reason.SPO_NOT_CONSIDERED, Reason.VICTIM_NOT_REFERRED,
})

# What each code means, in words (minutes, help, items whose explanation was not kept).
REASON_TITLES: dict[str, str] = {
    Reason.NEW_CRIME: "new stalking, harassment, malicious communications or breach crime",
    Reason.BREACH: "breach of an order reported since the last meeting, or not acknowledged",
    Reason.HIGH_RISK: "new or raised high risk, or high risk without a plan in its first days",
    Reason.RISK_BELOW_SUGGESTION: "risk level below the checklist's suggestion, or lowered "
                                  "from high, not yet approved",
    Reason.NO_RISK_ASSESSMENT: "stalking or harassment case with no risk assessment",
    Reason.RISK_REVIEW_DUE: "risk review or re-assessment overdue",
    Reason.NO_RISK_PLAN: "high risk without a risk management plan",
    Reason.SPO_NOT_CONSIDERED: "stalking case with no Stalking Protection Order decision",
    Reason.VICTIM_NOT_REFERRED: "victim not needs-assessed or referred in Victims' Code time",
    Reason.ALLOCATION_CONTRARY_TO_POLICY: "allocated contrary to the allocation policy",
    Reason.REPEAT_PAIR: "repeat crimes for the same victim and suspect",
    Reason.PIN_RECORDED: "Police Information Notice recorded",
    Reason.ACTION_OVERDUE: "DMM action due or overdue",
    Reason.CARRIED_OVER: "on an earlier agenda, no decision yet",
    Reason.SPO_NOTIFICATION_OVERDUE: "Stalking Protection Order served, the subject has not "
                                     "notified name and address in time (SPA 2019 s9)",
}

# Short labels for the chips on the queue.
REASON_SHORT: dict[str, str] = {
    Reason.NEW_CRIME: "NEW",
    Reason.BREACH: "BREACH",
    Reason.HIGH_RISK: "HIGH",
    Reason.RISK_BELOW_SUGGESTION: "BELOW",
    Reason.NO_RISK_ASSESSMENT: "NO RA",
    Reason.RISK_REVIEW_DUE: "REVIEW",
    Reason.NO_RISK_PLAN: "NO PLAN",
    Reason.SPO_NOT_CONSIDERED: "SPO",
    Reason.VICTIM_NOT_REFERRED: "VCOP",
    Reason.ALLOCATION_CONTRARY_TO_POLICY: "ALLOC",
    Reason.REPEAT_PAIR: "REPEAT",
    Reason.PIN_RECORDED: "PIN",
    Reason.ACTION_OVERDUE: "ACTION",
    Reason.CARRIED_OVER: "CARRIED",
    Reason.SPO_NOTIFICATION_OVERDUE: "NOTIFY",
}

# Names people read, where a reason heads a line (the side panel, minutes).
REASON_NAMES: dict[str, str] = {
    Reason.NEW_CRIME: "New crime",
    Reason.BREACH: "Breach",
    Reason.HIGH_RISK: "High risk",
    Reason.RISK_BELOW_SUGGESTION: "Risk below the checklist",
    Reason.NO_RISK_ASSESSMENT: "No risk assessment",
    Reason.RISK_REVIEW_DUE: "Risk review due",
    Reason.NO_RISK_PLAN: "No risk plan",
    Reason.SPO_NOT_CONSIDERED: "SPO not considered",
    Reason.VICTIM_NOT_REFERRED: "Victim not referred",
    Reason.ALLOCATION_CONTRARY_TO_POLICY: "Allocation against policy",
    Reason.REPEAT_PAIR: "Repeat victim and suspect",
    Reason.PIN_RECORDED: "PIN recorded",
    Reason.ACTION_OVERDUE: "Action overdue",
    Reason.CARRIED_OVER: "Carried over",
    Reason.SPO_NOTIFICATION_OVERDUE: "SPO notification overdue",
}

_REASON_CODE = re.compile(r"\b[A-Z][A-Z_]+[A-Z]\b")


def in_words(text: str) -> str:
    """``text`` with each reason code named as people read it:
    ``BREACH +40, HIGH_RISK +35, high risk +30 = 105`` →
    ``Breach +40, High risk +35, high risk +30 = 105`` (stored text keeps codes)."""
    return _REASON_CODE.sub(lambda m: REASON_NAMES.get(m.group(0), m.group(0)), text)


# Display order of reasons of equal weight.
REASON_ORDER: tuple[str, ...] = (
    Reason.NEW_CRIME, Reason.BREACH, Reason.SPO_NOTIFICATION_OVERDUE, Reason.HIGH_RISK,
    Reason.RISK_BELOW_SUGGESTION, Reason.NO_RISK_ASSESSMENT, Reason.RISK_REVIEW_DUE, Reason.NO_RISK_PLAN,
    Reason.SPO_NOT_CONSIDERED, Reason.VICTIM_NOT_REFERRED,
    Reason.ALLOCATION_CONTRARY_TO_POLICY, Reason.REPEAT_PAIR, Reason.PIN_RECORDED,
    Reason.ACTION_OVERDUE, Reason.CARRIED_OVER,
)

UNASSESSED = "unassessed"
LEVEL_RANK: dict[str, int] = {"standard": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class ReasonHit:
    """Why a case is on the agenda: a stable code and one line in words."""

    code: str
    explanation: str


@dataclass(frozen=True)
class StandingGap:
    """A compliance gap open on a case: when it crossed its first threshold,
    when it crosses (or crossed) its second, and what it is in words."""

    code: str
    crossed_at: datetime
    second_at: datetime
    explanation: str


@dataclass(frozen=True)
class AssessmentFact:
    assessed_at: datetime
    level: str
    suggested_level: str | None = None
    review_due: datetime | None = None
    has_plan: bool = False
    approved: bool = False
    approval_required: bool = False  # four-eyes: below the suggestion or lowered from high
    plan_review_due: datetime | None = None  # the risk management plan's own review date


@dataclass(frozen=True)
class BreachFact:
    """A breach whose breach crime is this case."""

    breach_ref: str
    reported_at: datetime
    acknowledged_at: datetime | None = None
    order_kind: str | None = None
    order_ref: str | None = None
    original_crime_ref: str | None = None
    original_status: str | None = None
    arrested_at: datetime | None = None  # the suspect arrested for the breach


@dataclass(frozen=True)
class NotificationFact:
    """A Stalking Protection Order (or interim order) of the case, in force and
    served, with its notification clock (SPA 2019 s9: the subject notifies
    name and address within the policy's days of service)."""

    order_ref: str
    kind: str
    served_at: datetime
    due_at: datetime
    notified_at: datetime | None = None


@dataclass(frozen=True)
class PairCrimeFact:
    """Another crime of the same victim and suspect (never the case itself)."""

    crime_ref: str
    reported_at: datetime
    family: str


@dataclass(frozen=True)
class ActionFact:
    text: str
    owner: str
    due_at: datetime


@dataclass(frozen=True)
class CaseFacts:
    """What the rules look at for one case, as it stands now. Events are
    timed; deadlines are measured at the meeting's start, so the agenda of a
    meeting does not depend on the minute at which it is looked at."""

    crime_ref: str
    reported_at: datetime
    principal_code: str
    principal_family: str
    families: frozenset[str]  # principal and included classifications
    status: str = "open"
    risk_level: str | None = None
    risk_assessed_at: datetime | None = None
    risk_review_due: datetime | None = None
    reassessment_due_at: datetime | None = None
    spo_status: str = "not_considered"
    pin_issued: bool = False
    team: str | None = None
    original_team: str | None = None
    domestic_abuse: bool = False
    has_suspect: bool = True
    assessments: tuple[AssessmentFact, ...] = ()  # oldest first
    breaches: tuple[BreachFact, ...] = ()  # breaches whose breach crime this case is
    pair_crimes: tuple[PairCrimeFact, ...] = ()
    needs_assessed_at: datetime | None = None
    first_referral_at: datetime | None = None  # referrals proper (signposting is none)
    consent_refused: bool = False  # asked and declined a referral: nothing outstanding
    open_actions: tuple[ActionFact, ...] = ()  # DMM actions not done at the clock
    notifications: tuple[NotificationFact, ...] = ()  # SPO/ISPO served, in force
    carried_from: date | None = None  # an earlier meeting listed it and decided nothing
    last_decided_at: datetime | None = None  # latest decision on the case, earlier meetings
    pair_decided_at: datetime | None = None  # latest decision on any crime of the pair


@dataclass(frozen=True)
class MeetingFrame:
    """The meeting the reasons are computed for.

    ``epoch``: when the database took its first extract; standing gaps that
    crossed a threshold before it stay on the work queue. ``events_from``: the
    earliest event a meeting item can rest on, the start of the window of the
    first meeting after the epoch (so the first meeting after a first import
    sees its whole window, and what it leaves undecided carries on). None:
    everything counts.
    """

    meeting_date: date
    covers_from: datetime
    starts_at: datetime
    next_starts_at: datetime
    epoch: datetime | None = None
    events_from: datetime | None = None

    @classmethod
    def for_date(cls, day: date, policy: Policy, epoch: datetime | None = None) -> MeetingFrame:
        start, end = meeting_window(day, policy)
        following = meeting_start(next_meeting_date(day, policy), policy)
        return cls(meeting_date=day, covers_from=start, starts_at=end,
                   next_starts_at=following, epoch=epoch,
                   events_from=events_reach(epoch, policy) if epoch is not None else None)


def events_reach(epoch: datetime, policy: Policy) -> datetime:
    """The start of the window of the first meeting starting at or after ``epoch``."""
    first = upcoming_meeting_date(epoch - timedelta(microseconds=1), policy)
    return min(epoch, meeting_window(first, policy)[0])


def _when(moment: datetime, policy: Policy, frame: MeetingFrame | None = None) -> str:
    """``Sat 28/02 14:10``; with the year when it is not the meeting's year."""
    local = moment.astimezone(_zone(policy))
    if frame is not None and local.year != frame.meeting_date.year:
        return local.strftime("%a %d/%m/%Y %H:%M")
    return local.strftime("%a %d/%m %H:%M")


def _day(moment: datetime, policy: Policy, frame: MeetingFrame | None = None) -> str:
    local = moment.astimezone(_zone(policy))
    if frame is not None and local.year != frame.meeting_date.year:
        return local.strftime("%a %d/%m/%Y")
    return local.strftime("%a %d/%m")


def _days_old(facts: CaseFacts, frame: MeetingFrame) -> int:
    return (frame.starts_at - facts.reported_at) // timedelta(days=1)


def _in_window(moment: datetime, frame: MeetingFrame) -> bool:
    return frame.covers_from <= moment < frame.starts_at


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _family_label(facts: CaseFacts) -> str:
    return f"{facts.principal_family} ({facts.principal_code})"


def needs_decision(at: datetime, decided_at: datetime | None, frame: MeetingFrame, *,
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


def crossing_on_agenda(gap: StandingGap, decided_at: datetime | None,
                       frame: MeetingFrame) -> datetime | None:
    """The threshold of ``gap`` that brings it to this meeting (the second if
    crossed, else the first), or None: not crossed before the meeting, crossed
    before the first import, or decided on since."""
    for at in (gap.second_at, gap.crossed_at):
        if at >= frame.starts_at:
            continue
        if frame.epoch is not None and at < frame.epoch:
            return None
        if decided_at is not None and decided_at >= at:
            return None
        return at
    return None


def _latest(facts: CaseFacts, frame: MeetingFrame) -> tuple[AssessmentFact | None,
                                                           AssessmentFact | None]:
    before = [a for a in facts.assessments if a.assessed_at < frame.starts_at]
    before.sort(key=lambda a: a.assessed_at)
    latest = before[-1] if before else None
    previous = before[-2] if len(before) > 1 else None
    return latest, previous


# --- meeting items -----------------------------------------------------------


def new_crime(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    if not facts.families & set(policy.dmm.new_crime_families):
        return None
    if not needs_decision(facts.reported_at, facts.last_decided_at, frame):
        return None
    text = f"{_family_label(facts)} reported {_when(facts.reported_at, policy, frame)}"
    if not _in_window(facts.reported_at, frame):
        text += ", no decision yet"
    return ReasonHit(Reason.NEW_CRIME, text)


def _unacknowledged(item: BreachFact, frame: MeetingFrame) -> bool:
    return item.acknowledged_at is None or item.acknowledged_at >= frame.starts_at


def breach(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    """A breach whose breach crime this case is, reported since the previous
    meeting or not acknowledged when the meeting started, whatever the state
    of the original case."""
    parts: list[str] = []
    for item in sorted(facts.breaches, key=lambda b: (b.reported_at, b.breach_ref)):
        if item.reported_at >= frame.starts_at:
            continue
        if not (_in_window(item.reported_at, frame) or _unacknowledged(item, frame)):
            continue
        order = f" of {item.order_kind}" if item.order_kind else ""
        if item.order_ref:
            order += f" {item.order_ref}"
        text = f"breach {item.breach_ref}{order} reported {_when(item.reported_at, policy, frame)}"
        if item.original_crime_ref:
            state = f", {item.original_status}" if item.original_status else ""
            text += f" (original crime {item.original_crime_ref}{state})"
        if item.acknowledged_at is None:
            text += "; not acknowledged"
        elif item.acknowledged_at >= frame.starts_at:
            text += "; acknowledged since the meeting began"
        if item.arrested_at is None or item.arrested_at >= frame.starts_at:
            text += "; suspect not arrested for it (outstanding?)"
        parts.append(text)
    if not parts:
        return None
    if facts.reassessment_due_at is not None:
        parts.append(f"re-assessment due by {_when(facts.reassessment_due_at, policy, frame)}")
    return ReasonHit(Reason.BREACH, "; ".join(parts))


def high_risk(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    if facts.risk_level != "high":
        return None
    latest, previous = _latest(facts, frame)
    if latest is None or latest.level != "high":
        return None
    if not needs_decision(latest.assessed_at, facts.last_decided_at, frame):
        return None
    when = _when(latest.assessed_at, policy, frame)
    parts: list[str] = []
    if previous is None:
        parts.append(f"new high risk, assessed {when}")
    elif previous.level != "high":
        parts.append(f"risk raised to high from {previous.level}, {when}")
    first_days = latest.assessed_at + timedelta(days=policy.dmm.high_risk_plan_days)
    if not latest.has_plan and first_days > frame.starts_at:
        parts.append(f"high risk without a risk management plan (assessed {when})")
    if not parts:
        return None
    return ReasonHit(Reason.HIGH_RISK, "; ".join(parts))


def risk_below_suggestion(facts: CaseFacts, frame: MeetingFrame,
                          policy: Policy) -> ReasonHit | None:
    """The latest assessment set a level below the checklist's suggestion (or
    lowered it from high) and no second supervisor has approved it: the
    meeting sees it once, and the approval stays listed until given."""
    if facts.risk_assessed_at is None:
        return None
    latest, _previous = _latest(facts, frame)
    if latest is None or latest.approved:
        return None
    below = (latest.suggested_level is not None and
             LEVEL_RANK.get(latest.level, 0) < LEVEL_RANK.get(latest.suggested_level, 0))
    if not (below or latest.approval_required):
        return None
    if not needs_decision(latest.assessed_at, facts.last_decided_at, frame):
        return None
    when = _when(latest.assessed_at, policy, frame)
    if below:
        text = (f"level set {latest.level} below the checklist's suggested "
                f"{latest.suggested_level}, {when}")
    else:
        text = f"level lowered to {latest.level}, {when}"
    if latest.approval_required:
        text += "; waiting for a second supervisor's approval"
    return ReasonHit(Reason.RISK_BELOW_SUGGESTION, text)


def allocation_contrary(facts: CaseFacts, frame: MeetingFrame,
                        policy: Policy) -> ReasonHit | None:
    """Allocation contrary to policy, while the case is new (until a meeting
    decides on it)."""
    if not needs_decision(facts.reported_at, facts.last_decided_at, frame):
        return None
    verdict = check_allocation(
        AllocationFacts(
            families=facts.families,
            risk_level=facts.risk_level,
            domestic_abuse=facts.domestic_abuse,
            team=facts.team,
            original_team=facts.original_team,
        ),
        policy.allocation,
    )
    if verdict.compliant:
        return None
    return ReasonHit(Reason.ALLOCATION_CONTRARY_TO_POLICY, verdict.explanation)


def repeat_pair(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    """Two or more crimes of the pair (breach crimes included) within the
    window, listed on the pair's latest crime until a meeting has recorded a
    decision on any crime of the pair since that crime was reported."""
    if not facts.has_suspect or facts.reported_at >= frame.starts_at:
        return None
    own = (facts.reported_at, facts.crime_ref)
    earlier = [c for c in facts.pair_crimes if c.reported_at < frame.starts_at]
    if any((c.reported_at, c.crime_ref) > own for c in earlier):
        return None  # a later crime of the pair carries it
    if not needs_decision(facts.reported_at, facts.pair_decided_at, frame):
        return None
    days = policy.dmm.repeat_pair_window_days
    since = frame.starts_at - timedelta(days=days)
    refs: dict[str, datetime] = {facts.crime_ref: facts.reported_at} \
        if facts.reported_at >= since else {}
    for crime in earlier:
        if crime.reported_at >= since:
            refs[crime.crime_ref] = crime.reported_at
    if len(refs) < policy.dmm.repeat_pair_min_crimes:
        return None
    ordered = sorted(refs, key=lambda ref: (refs[ref], ref))
    shown = ", ".join(ordered[:4]) + (f" and {len(ordered) - 4} more" if len(ordered) > 4 else "")
    text = f"{len(ordered)} crimes for this victim and suspect in {days} days ({shown})"
    if facts.pair_decided_at is None:
        text += "; no meeting has decided on the pair"
    return ReasonHit(Reason.REPEAT_PAIR, text)


def pin_recorded(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    if not facts.pin_issued or not needs_decision(facts.reported_at, facts.last_decided_at,
                                                  frame):
        return None
    return ReasonHit(Reason.PIN_RECORDED,
                     "a Police Information Notice is recorded instead of an investigation")


def action_overdue(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    """DMM actions not done and due before the next meeting (due or overdue)."""
    due = sorted((a for a in facts.open_actions if a.due_at < frame.next_starts_at),
                 key=lambda a: (a.due_at, a.text))
    if not due:
        return None
    parts = []
    for action in due[:3]:
        state = "was due" if action.due_at < frame.starts_at else "due"
        parts.append(f"'{_short(action.text)}' ({action.owner}) {state} "
                     f"{_when(action.due_at, policy, frame)}")
    text = "; ".join(parts)
    if len(due) > 3:
        text += f" and {len(due) - 3} more"
    overdue = sum(1 for a in due if a.due_at < frame.starts_at)
    if len(due) > 1:
        text = f"{len(due)} actions ({overdue} overdue): {text}"
    return ReasonHit(Reason.ACTION_OVERDUE, text)


def spo_notification_overdue(facts: CaseFacts, frame: MeetingFrame,
                             policy: Policy) -> ReasonHit | None:
    """An SPO or interim SPO served whose subject had not notified name and
    address when the notification fell due (failing to is an offence): from
    the due time until the subject notifies or a meeting decides on it."""
    parts = []
    for order in sorted(facts.notifications, key=lambda n: (n.due_at, n.order_ref)):
        if order.notified_at is not None and order.notified_at < frame.starts_at:
            continue
        if not needs_decision(order.due_at, facts.last_decided_at, frame):
            continue
        parts.append(f"{order.kind} {order.order_ref} served {_day(order.served_at, policy, frame)}: "
                     f"the subject has not notified name and address (due "
                     f"{_when(order.due_at, policy, frame)}; failing to notify is an offence)")
    if not parts:
        return None
    return ReasonHit(Reason.SPO_NOTIFICATION_OVERDUE, "; ".join(parts))


def carried_over(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    if facts.carried_from is None:
        return None
    return ReasonHit(Reason.CARRIED_OVER,
                     f"on the agenda of {facts.carried_from.strftime('%a %d/%m/%Y')}, "
                     "no decision recorded since")


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- standing gaps -----------------------------------------------------------


def _case_family(facts: CaseFacts, policy: Policy) -> str | None:
    for family in policy.dmm.case_families:
        if family in facts.families:
            return family
    return None


def no_risk_assessment_gap(facts: CaseFacts, frame: MeetingFrame,
                           policy: Policy) -> StandingGap | None:
    family = _case_family(facts, policy)
    if family is None or facts.risk_assessed_at is not None or facts.assessments:
        return None
    first = facts.reported_at + timedelta(days=policy.dmm.risk_assessment_days)
    if first >= frame.starts_at:
        return None
    return StandingGap(
        Reason.NO_RISK_ASSESSMENT, first,
        facts.reported_at + timedelta(days=policy.dmm.risk_assessment_second_days),
        f"{family} case {_plural(_days_old(facts, frame), 'day')} old with no risk assessment "
        f"(policy: {_plural(policy.dmm.risk_assessment_days, 'day')})",
    )


def risk_review_gap(facts: CaseFacts, frame: MeetingFrame,
                    policy: Policy) -> StandingGap | None:
    parts: list[str] = []
    passed: list[datetime] = []
    if facts.risk_review_due is not None and facts.risk_review_due < frame.starts_at:
        parts.append(f"review was due {_day(facts.risk_review_due, policy, frame)}")
        passed.append(facts.risk_review_due)
    if facts.reassessment_due_at is not None and facts.reassessment_due_at < frame.starts_at:
        parts.append(f"re-assessment after a breach was due "
                     f"{_when(facts.reassessment_due_at, policy, frame)}")
        passed.append(facts.reassessment_due_at)
    latest, _previous = _latest(facts, frame)
    plan_due = latest.plan_review_due if latest is not None and latest.has_plan else None
    if plan_due is not None and plan_due < frame.starts_at:
        parts.append(f"risk management plan review was due {_day(plan_due, policy, frame)}")
        passed.append(plan_due)
    if not passed:
        return None
    # a re-assessment falling due after a breach is a new crossing, even when
    # the review was already overdue
    first = max(passed)
    days = policy.dmm.risk_review_second_days.get(facts.risk_level or UNASSESSED, 14)
    return StandingGap(Reason.RISK_REVIEW_DUE, first, first + timedelta(days=days),
                       "; ".join(parts))


def no_risk_plan_gap(facts: CaseFacts, frame: MeetingFrame,
                     policy: Policy) -> StandingGap | None:
    if facts.risk_level != "high":
        return None
    latest, _previous = _latest(facts, frame)
    if latest is not None and (latest.level != "high" or latest.has_plan):
        return None
    since = latest.assessed_at if latest is not None else (facts.risk_assessed_at
                                                           or facts.reported_at)
    first = since + timedelta(days=policy.dmm.high_risk_plan_days)
    if first >= frame.starts_at:
        return None
    return StandingGap(
        Reason.NO_RISK_PLAN, first, first + timedelta(days=policy.dmm.risk_plan_second_days),
        f"high risk since {_day(since, policy, frame)} without a risk management plan",
    )


def spo_not_considered_gap(facts: CaseFacts, frame: MeetingFrame,
                           policy: Policy) -> StandingGap | None:
    if "stalking" not in facts.families or facts.spo_status != "not_considered":
        return None
    limit = policy.dmm.spo_consideration_days
    first = facts.reported_at + timedelta(days=limit)
    if first >= frame.starts_at:
        return None
    return StandingGap(
        Reason.SPO_NOT_CONSIDERED, first,
        facts.reported_at + timedelta(days=policy.dmm.spo_second_days),
        f"stalking case {_plural(_days_old(facts, frame), 'day')} old with no SPO decision "
        f"(policy: {_plural(limit, 'day')})",
    )


def victim_not_referred_gap(facts: CaseFacts, frame: MeetingFrame,
                            policy: Policy) -> StandingGap | None:
    if _case_family(facts, policy) is None:
        return None
    code = policy.victims_code
    reported = facts.reported_at.astimezone(_zone(policy)).date()
    parts: list[str] = []
    passed: list[datetime] = []
    needs_due = _working_deadline(reported, code.needs_assessment_working_days, policy.calendar)
    if needs_due < frame.starts_at and facts.needs_assessed_at is None:
        parts.append(f"no victim needs assessment (due by {_day(needs_due, policy, frame)})")
        passed.append(needs_due)
    referral_due = _working_deadline(reported, code.referral_working_days, policy.calendar)
    if (referral_due < frame.starts_at and facts.first_referral_at is None
            and not facts.consent_refused):
        parts.append(f"no referral to support services (due by {_day(referral_due, policy, frame)})")
        passed.append(referral_due)
    if not passed:
        return None
    first = min(passed)
    return StandingGap(Reason.VICTIM_NOT_REFERRED, first,
                       first + timedelta(days=policy.dmm.victim_care_second_days),
                       "; ".join(parts))


def working_deadline_cutoff(starts_at: datetime, days: int, policy: Policy) -> datetime:
    """The instant X such that a crime reported before X is past a deadline of
    ``days`` working days at ``starts_at`` (and one reported at X or later is
    not): lets SQL test the Victims' Code clock with one comparison."""
    zone = _zone(policy)
    day = starts_at.astimezone(zone).date()
    for _ in range(400):
        if _working_deadline(day, days, policy.calendar) < starts_at:
            return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone).astimezone(UTC)
        day -= timedelta(days=1)
    raise CalendarError("no working day found within a year")  # pragma: no cover


@lru_cache(maxsize=8192)
def _working_deadline(day: date, days: int, calendar: CalendarPolicy) -> datetime:
    """End of the ``days``-th working day after local date ``day`` (cached: a
    queue asks for the same few dates thousands of times)."""
    zone = ZoneInfo(calendar.timezone)
    return add_working_days(datetime.combine(day, time(12, 0), tzinfo=zone), days,
                            calendar.holidays, zone)


AGENDA_RULES = {
    Reason.NEW_CRIME: new_crime,
    Reason.BREACH: breach,
    Reason.HIGH_RISK: high_risk,
    Reason.RISK_BELOW_SUGGESTION: risk_below_suggestion,
    Reason.ALLOCATION_CONTRARY_TO_POLICY: allocation_contrary,
    Reason.REPEAT_PAIR: repeat_pair,
    Reason.PIN_RECORDED: pin_recorded,
    Reason.ACTION_OVERDUE: action_overdue,
    Reason.CARRIED_OVER: carried_over,
    Reason.SPO_NOTIFICATION_OVERDUE: spo_notification_overdue,
}
GAP_RULES = {
    Reason.NO_RISK_ASSESSMENT: no_risk_assessment_gap,
    Reason.RISK_REVIEW_DUE: risk_review_gap,
    Reason.NO_RISK_PLAN: no_risk_plan_gap,
    Reason.SPO_NOT_CONSIDERED: spo_not_considered_gap,
    Reason.VICTIM_NOT_REFERRED: victim_not_referred_gap,
}


def standing_gaps(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> list[StandingGap]:
    """Every enabled standing gap open on the case at the frame's start (the
    work queue evaluates them at the current time)."""
    enabled = set(policy.dmm.enabled_reasons)
    return [gap for code, rule in GAP_RULES.items()
            if code in enabled and (gap := rule(facts, frame, policy)) is not None]


def reasons_for(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> list[ReasonHit]:
    """Every enabled reason the case is on the meeting's agenda for, heaviest first."""
    enabled = set(policy.dmm.enabled_reasons)
    hits = [ReasonHit(code.value, hit.explanation) for code, rule in AGENDA_RULES.items()
            if code in enabled and (hit := rule(facts, frame, policy)) is not None]
    for gap in standing_gaps(facts, frame, policy):
        crossed = crossing_on_agenda(gap, facts.last_decided_at, frame)
        if crossed is None:
            continue
        which = "second" if crossed == gap.second_at else "first"
        hits.append(ReasonHit(str(gap.code), f"{gap.explanation}; crossed its {which} threshold "
                                        f"{_day(crossed, policy, frame)}"))
    return order_reasons(hits, policy)


def order_reasons(hits: Iterable[ReasonHit], policy: Policy) -> list[ReasonHit]:
    weights = policy.dmm.weights
    return sorted(hits, key=lambda h: (-weights.get(h.code, 0), _order_index(h.code)))


def _order_index(code: str) -> int:
    try:
        return REASON_ORDER.index(code)
    except ValueError:
        return len(REASON_ORDER)


# ---------------------------------------------------------------------------
# Priority
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Priority:
    score: int
    explanation: str
    contributions: tuple[tuple[str, int], ...] = field(default=())


def priority(codes: Iterable[str], risk_level: str | None, policy: Policy) -> Priority:
    """Sum of the reasons' weights and the risk weight, with each contribution named:
    ``BREACH +40, HIGH_RISK +35, high risk +30 = 105``."""
    weights = policy.dmm.weights
    unique = list(dict.fromkeys(codes))
    ordered = sorted(unique, key=lambda c: (-weights.get(c, 0), _order_index(c)))
    parts: list[tuple[str, int]] = [(code, weights.get(code, 0)) for code in ordered]
    risk = risk_level or UNASSESSED
    parts.append((f"{risk} risk", policy.dmm.risk_weights.get(risk, 0)))
    total = sum(value for _label, value in parts)
    text = ", ".join(f"{label} +{value}" for label, value in parts) + f" = {total}"
    return Priority(score=total, explanation=text, contributions=tuple(parts))


def rank_key(score: int, reported_at: datetime, crime_ref: str) -> tuple[int, datetime, str]:
    """Sort key: highest priority first; ties by earliest report, then crime reference."""
    return (-score, reported_at, crime_ref)
