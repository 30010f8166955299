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


# What each code means, in words (minutes, help, items whose explanation was not kept).
REASON_TITLES: dict[str, str] = {
    Reason.NEW_CRIME: "new stalking, harassment, malicious communications or breach crime",
    Reason.BREACH: "breach of an order reported since the last meeting, or not acknowledged",
    Reason.HIGH_RISK: "new or raised high risk, or high risk without a current plan",
    Reason.NO_RISK_ASSESSMENT: "stalking or harassment case with no risk assessment",
    Reason.RISK_REVIEW_DUE: "risk review or re-assessment due",
    Reason.SPO_NOT_CONSIDERED: "stalking case with no Stalking Protection Order decision",
    Reason.VICTIM_NOT_REFERRED: "victim not needs-assessed or referred in Victims' Code time",
    Reason.ALLOCATION_CONTRARY_TO_POLICY: "allocated contrary to the allocation policy",
    Reason.REPEAT_PAIR: "repeat crimes for the same victim and suspect",
    Reason.PIN_RECORDED: "Police Information Notice recorded",
    Reason.ACTION_OVERDUE: "action from an earlier meeting overdue",
    Reason.CARRIED_OVER: "not discussed at the previous meeting",
}

# Short labels for the chips on the queue.
REASON_SHORT: dict[str, str] = {
    Reason.NEW_CRIME: "NEW",
    Reason.BREACH: "BREACH",
    Reason.HIGH_RISK: "HIGH",
    Reason.NO_RISK_ASSESSMENT: "NO RA",
    Reason.RISK_REVIEW_DUE: "REVIEW",
    Reason.SPO_NOT_CONSIDERED: "SPO",
    Reason.VICTIM_NOT_REFERRED: "VCOP",
    Reason.ALLOCATION_CONTRARY_TO_POLICY: "ALLOC",
    Reason.REPEAT_PAIR: "REPEAT",
    Reason.PIN_RECORDED: "PIN",
    Reason.ACTION_OVERDUE: "OVERDUE",
    Reason.CARRIED_OVER: "CARRIED",
}

REASON_ORDER: tuple[str, ...] = tuple(r.value for r in Reason)

UNASSESSED = "unassessed"


@dataclass(frozen=True)
class ReasonHit:
    """Why a case is on the agenda: a stable code and one line in words."""

    code: str
    explanation: str


@dataclass(frozen=True)
class AssessmentFact:
    assessed_at: datetime
    level: str
    suggested_level: str | None = None
    review_due: datetime | None = None
    has_plan: bool = False


@dataclass(frozen=True)
class BreachFact:
    breach_ref: str
    reported_at: datetime
    acknowledged_at: datetime | None = None
    order_kind: str | None = None
    crime_ref: str | None = None  # the breach's own crime
    crime_reported_at: datetime | None = None  # when that crime was reported


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
    """What the rules look at for one case, as it stands now. Reasons about
    what is new look at the meeting's window; reasons about the state of the
    case (no assessment, no referral, no plan) look at the state now, so a gap
    filled during the meeting leaves the agenda; deadlines are measured at the
    meeting's start."""

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
    breaches: tuple[BreachFact, ...] = ()  # breaches of orders protecting this case
    pair_crimes: tuple[PairCrimeFact, ...] = ()
    needs_assessed_at: datetime | None = None
    first_referral_at: datetime | None = None
    overdue_actions: tuple[ActionFact, ...] = ()
    carried_from: date | None = None  # earlier meeting where the item was not discussed


@dataclass(frozen=True)
class MeetingFrame:
    """The meeting the reasons are computed for."""

    meeting_date: date
    covers_from: datetime
    starts_at: datetime

    @classmethod
    def for_date(cls, day: date, policy: Policy) -> MeetingFrame:
        start, end = meeting_window(day, policy)
        return cls(meeting_date=day, covers_from=start, starts_at=end)


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


def _before_start(moment: datetime | None, frame: MeetingFrame) -> bool:
    return moment is not None and moment < frame.starts_at


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _family_label(facts: CaseFacts) -> str:
    return f"{facts.principal_family} ({facts.principal_code})"


def new_crime(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    parts: list[str] = []
    wanted = set(policy.dmm.new_crime_families)
    if _in_window(facts.reported_at, frame) and facts.families & wanted:
        parts.append(f"{_family_label(facts)} reported {_when(facts.reported_at, policy, frame)}")
    if "breach" in wanted:
        for breach in facts.breaches:
            if _in_window(breach.reported_at, frame):
                crime = f" (crime {breach.crime_ref})" if breach.crime_ref else ""
                parts.append(f"breach {breach.breach_ref}{crime} reported "
                             f"{_when(breach.reported_at, policy, frame)}")
    if not parts:
        return None
    return ReasonHit(Reason.NEW_CRIME, "; ".join(parts))


def breach(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    parts: list[str] = []
    for item in facts.breaches:
        if not _before_start(item.reported_at, frame):
            continue
        recent = _in_window(item.reported_at, frame)
        unacknowledged = item.acknowledged_at is None
        if not (recent or unacknowledged):
            continue
        order = f" of {item.order_kind}" if item.order_kind else ""
        text = f"breach {item.breach_ref}{order} reported {_when(item.reported_at, policy, frame)}"
        if unacknowledged:
            text += ", not acknowledged"
        parts.append(text)
    if not parts:
        return None
    return ReasonHit(Reason.BREACH, "; ".join(parts))


def high_risk(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    history = sorted(facts.assessments, key=lambda a: a.assessed_at)
    for index, assessment in enumerate(history):
        if assessment.level != "high" or not _in_window(assessment.assessed_at, frame):
            continue
        previous = history[index - 1].level if index else None
        if previous == "high":
            continue
        when = _when(assessment.assessed_at, policy, frame)
        if previous is None:
            return ReasonHit(Reason.HIGH_RISK, f"new high risk, assessed {when}")
        return ReasonHit(Reason.HIGH_RISK, f"risk raised to high from {previous}, {when}")
    if facts.risk_level != "high":
        return None
    latest = history[-1] if history else None
    if latest is None or not latest.has_plan:
        return ReasonHit(Reason.HIGH_RISK, "high risk without a current risk management plan")
    due = latest.review_due or facts.risk_review_due
    if due is not None and due < frame.starts_at:
        return ReasonHit(
            Reason.HIGH_RISK,
            f"high risk; its risk management plan is out of date (review was due {_day(due, policy, frame)})",
        )
    return None


def _case_family(facts: CaseFacts, policy: Policy) -> str | None:
    for family in policy.dmm.case_families:
        if family in facts.families:
            return family
    return None


def no_risk_assessment(facts: CaseFacts, frame: MeetingFrame,
                       policy: Policy) -> ReasonHit | None:
    family = _case_family(facts, policy)
    if family is None or facts.risk_assessed_at is not None:
        return None
    if facts.assessments:
        return None
    limit = policy.dmm.risk_assessment_days
    if facts.reported_at + timedelta(days=limit) > frame.starts_at:
        return None
    return ReasonHit(
        Reason.NO_RISK_ASSESSMENT,
        f"{family} case {_plural(_days_old(facts, frame), 'day')} old with no risk assessment "
        f"(policy: {_plural(limit, 'day')})",
    )


def risk_review_due(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    parts: list[str] = []
    if facts.risk_review_due is not None and facts.risk_review_due < frame.starts_at:
        parts.append(f"review was due {_day(facts.risk_review_due, policy, frame)}")
    if facts.reassessment_due_at is not None:
        parts.append(f"re-assessment due by {_when(facts.reassessment_due_at, policy, frame)}")
    assessed = facts.risk_assessed_at
    if assessed is not None:
        after = [b for b in facts.breaches if assessed < b.reported_at < frame.starts_at]
        breach_crimes = {b.crime_ref for b in after if b.crime_ref}
        for item in after:
            parts.append(f"breach {item.breach_ref} after the last assessment "
                         f"({_day(assessed, policy, frame)})")
        for crime in facts.pair_crimes:
            if crime.crime_ref in breach_crimes:
                continue
            if assessed < crime.reported_at < frame.starts_at:
                parts.append(f"new offence {crime.crime_ref} by the same suspect after the last "
                             f"assessment ({_day(assessed, policy, frame)})")
    if not parts:
        return None
    return ReasonHit(Reason.RISK_REVIEW_DUE, "; ".join(parts))


def spo_not_considered(facts: CaseFacts, frame: MeetingFrame,
                       policy: Policy) -> ReasonHit | None:
    if "stalking" not in facts.families or facts.spo_status != "not_considered":
        return None
    limit = policy.dmm.spo_consideration_days
    if facts.reported_at + timedelta(days=limit) > frame.starts_at:
        return None
    return ReasonHit(
        Reason.SPO_NOT_CONSIDERED,
        f"stalking case {_plural(_days_old(facts, frame), 'day')} old with no SPO decision "
        f"(policy: {_plural(limit, 'day')})",
    )


def victim_not_referred(facts: CaseFacts, frame: MeetingFrame,
                        policy: Policy) -> ReasonHit | None:
    if _case_family(facts, policy) is None:
        return None
    code = policy.victims_code
    reported = facts.reported_at.astimezone(_zone(policy)).date()
    parts: list[str] = []
    needs_due = _working_deadline(reported, code.needs_assessment_working_days, policy.calendar)
    if needs_due < frame.starts_at and facts.needs_assessed_at is None:
        parts.append(f"no victim needs assessment (due by {_day(needs_due, policy, frame)})")
    referral_due = _working_deadline(reported, code.referral_working_days, policy.calendar)
    if referral_due < frame.starts_at and facts.first_referral_at is None:
        parts.append(f"no referral to support services (due by {_day(referral_due, policy, frame)})")
    if not parts:
        return None
    return ReasonHit(Reason.VICTIM_NOT_REFERRED, "; ".join(parts))


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


def allocation_contrary(facts: CaseFacts, frame: MeetingFrame,
                        policy: Policy) -> ReasonHit | None:
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
    window; with ``dmm.repeat_pair_new_only``, one of them reported since the
    previous meeting."""
    if not facts.has_suspect:
        return None
    days = policy.dmm.repeat_pair_window_days
    since = frame.starts_at - timedelta(days=days)
    refs: dict[str, datetime] = {}
    if since <= facts.reported_at < frame.starts_at:
        refs[facts.crime_ref] = facts.reported_at
    for crime in facts.pair_crimes:
        if since <= crime.reported_at < frame.starts_at:
            refs[crime.crime_ref] = crime.reported_at
    for item in facts.breaches:
        at = item.crime_reported_at or item.reported_at
        if item.crime_ref and since <= at < frame.starts_at:
            refs.setdefault(item.crime_ref, at)
    if len(refs) < policy.dmm.repeat_pair_min_crimes:
        return None
    new = sorted(ref for ref, at in refs.items() if _in_window(at, frame))
    if policy.dmm.repeat_pair_new_only and not new:
        return None
    ordered = sorted(refs, key=lambda ref: (refs[ref], ref))
    shown = ", ".join(ordered[:4]) + (f" and {len(ordered) - 4} more" if len(ordered) > 4 else "")
    text = f"{len(ordered)} crimes for this victim and suspect in {days} days ({shown})"
    if new:
        text += f"; new since the last meeting: {', '.join(new[:3])}"
    return ReasonHit(Reason.REPEAT_PAIR, text)


def pin_recorded(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    if not facts.pin_issued:
        return None
    return ReasonHit(Reason.PIN_RECORDED,
                     "a Police Information Notice is recorded instead of an investigation")


def action_overdue(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    overdue = sorted((a for a in facts.overdue_actions if a.due_at < frame.starts_at),
                     key=lambda a: (a.due_at, a.text))
    if not overdue:
        return None
    first = overdue[0]
    text = f"'{_short(first.text)}' ({first.owner}) was due {_when(first.due_at, policy, frame)}"
    if len(overdue) > 1:
        text = f"{len(overdue)} actions overdue; first: {text}"
    return ReasonHit(Reason.ACTION_OVERDUE, text)


def carried_over(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    if facts.carried_from is None:
        return None
    return ReasonHit(Reason.CARRIED_OVER,
                     f"not discussed at the meeting of {facts.carried_from.strftime('%a %d/%m/%Y')}")


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


RULES = {
    Reason.NEW_CRIME: new_crime,
    Reason.BREACH: breach,
    Reason.HIGH_RISK: high_risk,
    Reason.NO_RISK_ASSESSMENT: no_risk_assessment,
    Reason.RISK_REVIEW_DUE: risk_review_due,
    Reason.SPO_NOT_CONSIDERED: spo_not_considered,
    Reason.VICTIM_NOT_REFERRED: victim_not_referred,
    Reason.ALLOCATION_CONTRARY_TO_POLICY: allocation_contrary,
    Reason.REPEAT_PAIR: repeat_pair,
    Reason.PIN_RECORDED: pin_recorded,
    Reason.ACTION_OVERDUE: action_overdue,
    Reason.CARRIED_OVER: carried_over,
}


def reasons_for(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> list[ReasonHit]:
    """Every enabled reason the case is on the agenda for, heaviest first."""
    enabled = set(policy.dmm.enabled_reasons)
    hits = [ReasonHit(code.value, hit.explanation) for code, rule in RULES.items()
            if code in enabled and (hit := rule(facts, frame, policy)) is not None]
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
