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

from app.policy import Policy
from app.rules.allocation import AllocationFacts, check_allocation
from app.rules.dmm_facts import BreachFact, CaseFacts, ReasonHit, StandingGap
from app.rules.dmm_reasons import REASON_ORDER, Reason
from app.rules.dmm_words import (
    case_family,
    day_words,
    days_old,
    family_label,
    in_window,
    latest_assessments,
    meeting_zone,
    moment_words,
    needs_decision,
    plural,
    shortened,
    working_deadline,
)

# ---------------------------------------------------------------------------
# Meeting calendar
# ---------------------------------------------------------------------------


class CalendarError(ValueError):
    """The policy's meeting calendar has no meeting day to find."""


def is_meeting_day(day: date, policy: Policy) -> bool:
    """A meeting weekday of the policy that is not a bank holiday."""
    return day.weekday() in policy.dmm.meeting_weekdays and day not in policy.calendar.holidays


def meeting_start(day: date, policy: Policy) -> datetime:
    """When the meeting on ``day`` starts, as aware UTC (08:00 local by default)."""
    local = datetime.combine(day, policy.dmm.meeting_time, tzinfo=meeting_zone(policy))
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
    today = now.astimezone(meeting_zone(policy)).date()
    if is_meeting_day(today, policy):
        return today
    return next_meeting_date(today, policy)


UNASSESSED = "unassessed"
LEVEL_RANK: dict[str, int] = {"standard": 0, "medium": 1, "high": 2}


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


# --- meeting items -----------------------------------------------------------


def new_crime(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    if not facts.families & set(policy.dmm.new_crime_families):
        return None
    if not needs_decision(facts.reported_at, facts.last_decided_at, frame):
        return None
    text = f"{family_label(facts)} reported {moment_words(facts.reported_at, policy, frame)}"
    if not in_window(facts.reported_at, frame):
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
        if not (in_window(item.reported_at, frame) or _unacknowledged(item, frame)):
            continue
        order = f" of {item.order_kind}" if item.order_kind else ""
        if item.order_ref:
            order += f" {item.order_ref}"
        text = f"breach {item.breach_ref}{order} reported {moment_words(item.reported_at, policy, frame)}"
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
        parts.append(f"re-assessment due by {moment_words(facts.reassessment_due_at, policy, frame)}")
    return ReasonHit(Reason.BREACH, "; ".join(parts))


def high_risk(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    if facts.risk_level != "high":
        return None
    latest, previous = latest_assessments(facts, frame)
    if latest is None or latest.level != "high":
        return None
    if not needs_decision(latest.assessed_at, facts.last_decided_at, frame):
        return None
    when = moment_words(latest.assessed_at, policy, frame)
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
    latest, _previous = latest_assessments(facts, frame)
    if latest is None or latest.approved:
        return None
    below = (latest.suggested_level is not None and
             LEVEL_RANK.get(latest.level, 0) < LEVEL_RANK.get(latest.suggested_level, 0))
    if not (below or latest.approval_required):
        return None
    if not needs_decision(latest.assessed_at, facts.last_decided_at, frame):
        return None
    when = moment_words(latest.assessed_at, policy, frame)
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
        parts.append(f"'{shortened(action.text)}' ({action.owner}) {state} "
                     f"{moment_words(action.due_at, policy, frame)}")
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
        parts.append(f"{order.kind} {order.order_ref} served {day_words(order.served_at, policy, frame)}: "
                     f"the subject has not notified name and address (due "
                     f"{moment_words(order.due_at, policy, frame)}; failing to notify is an offence)")
    if not parts:
        return None
    return ReasonHit(Reason.SPO_NOTIFICATION_OVERDUE, "; ".join(parts))


def carried_over(facts: CaseFacts, frame: MeetingFrame, policy: Policy) -> ReasonHit | None:
    if facts.carried_from is None:
        return None
    return ReasonHit(Reason.CARRIED_OVER,
                     f"on the agenda of {facts.carried_from.strftime('%a %d/%m/%Y')}, "
                     "no decision recorded since")


# --- standing gaps -----------------------------------------------------------


# The thresholds of the gaps timed from the report (the rules below and
# :func:`report_thresholds` read them here).
def _assessment_thresholds(reported_at: datetime, policy: Policy) -> tuple[datetime, datetime]:
    return (reported_at + timedelta(days=policy.dmm.risk_assessment_days),
            reported_at + timedelta(days=policy.dmm.risk_assessment_second_days))


def _spo_thresholds(reported_at: datetime, policy: Policy) -> tuple[datetime, datetime]:
    return (reported_at + timedelta(days=policy.dmm.spo_consideration_days),
            reported_at + timedelta(days=policy.dmm.spo_second_days))


def _victim_care_dues(reported_at: datetime, policy: Policy) -> tuple[datetime, datetime]:
    """When the victim needs assessment and the referral fall due (working days)."""
    code = policy.victims_code
    reported = reported_at.astimezone(meeting_zone(policy)).date()
    return (working_deadline(reported, code.needs_assessment_working_days, policy.calendar),
            working_deadline(reported, code.referral_working_days, policy.calendar))


def no_risk_assessment_gap(facts: CaseFacts, frame: MeetingFrame,
                           policy: Policy) -> StandingGap | None:
    family = case_family(facts, policy)
    if family is None or facts.risk_assessed_at is not None or facts.assessments:
        return None
    first, second = _assessment_thresholds(facts.reported_at, policy)
    if first >= frame.starts_at:
        return None
    return StandingGap(
        Reason.NO_RISK_ASSESSMENT, first, second,
        f"{family} case {plural(days_old(facts, frame), 'day')} old with no risk assessment "
        f"(policy: {plural(policy.dmm.risk_assessment_days, 'day')})",
    )


def risk_review_gap(facts: CaseFacts, frame: MeetingFrame,
                    policy: Policy) -> StandingGap | None:
    parts: list[str] = []
    passed: list[datetime] = []
    if facts.risk_review_due is not None and facts.risk_review_due < frame.starts_at:
        parts.append(f"review was due {day_words(facts.risk_review_due, policy, frame)}")
        passed.append(facts.risk_review_due)
    if facts.reassessment_due_at is not None and facts.reassessment_due_at < frame.starts_at:
        parts.append(f"re-assessment after a breach was due "
                     f"{moment_words(facts.reassessment_due_at, policy, frame)}")
        passed.append(facts.reassessment_due_at)
    latest, _previous = latest_assessments(facts, frame)
    plan_due = latest.plan_review_due if latest is not None and latest.has_plan else None
    if plan_due is not None and plan_due < frame.starts_at:
        parts.append(f"risk management plan review was due {day_words(plan_due, policy, frame)}")
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
    latest, _previous = latest_assessments(facts, frame)
    if latest is not None and (latest.level != "high" or latest.has_plan):
        return None
    since = latest.assessed_at if latest is not None else (facts.risk_assessed_at
                                                           or facts.reported_at)
    first = since + timedelta(days=policy.dmm.high_risk_plan_days)
    if first >= frame.starts_at:
        return None
    return StandingGap(
        Reason.NO_RISK_PLAN, first, first + timedelta(days=policy.dmm.risk_plan_second_days),
        f"high risk since {day_words(since, policy, frame)} without a risk management plan",
    )


def spo_not_considered_gap(facts: CaseFacts, frame: MeetingFrame,
                           policy: Policy) -> StandingGap | None:
    if "stalking" not in facts.families or facts.spo_status != "not_considered":
        return None
    limit = policy.dmm.spo_consideration_days
    first, second = _spo_thresholds(facts.reported_at, policy)
    if first >= frame.starts_at:
        return None
    return StandingGap(
        Reason.SPO_NOT_CONSIDERED, first, second,
        f"stalking case {plural(days_old(facts, frame), 'day')} old with no SPO decision "
        f"(policy: {plural(limit, 'day')})",
    )


def victim_not_referred_gap(facts: CaseFacts, frame: MeetingFrame,
                            policy: Policy) -> StandingGap | None:
    if case_family(facts, policy) is None:
        return None
    parts: list[str] = []
    passed: list[datetime] = []
    needs_due, referral_due = _victim_care_dues(facts.reported_at, policy)
    if needs_due < frame.starts_at and facts.needs_assessed_at is None:
        parts.append(f"no victim needs assessment (due by {day_words(needs_due, policy, frame)})")
        passed.append(needs_due)
    if (referral_due < frame.starts_at and facts.first_referral_at is None
            and not facts.consent_refused):
        parts.append(f"no referral to support services (due by {day_words(referral_due, policy, frame)})")
        passed.append(referral_due)
    if not passed:
        return None
    first = min(passed)
    return StandingGap(Reason.VICTIM_NOT_REFERRED, first,
                       first + timedelta(days=policy.dmm.victim_care_second_days),
                       "; ".join(parts))


def report_thresholds(code: str, reported_at: datetime, policy: Policy
                      ) -> tuple[datetime, ...] | None:
    """Every time at which the standing gap ``code`` of a case reported at
    ``reported_at`` can cross a threshold, first or second, when that follows
    from the report alone (the gaps timed from the report: no risk
    assessment, no SPO decision, the Victims' Code deadlines); None for a gap
    timed from the case's other facts (reviews, plans)."""
    if code == Reason.NO_RISK_ASSESSMENT:
        return _assessment_thresholds(reported_at, policy)
    if code == Reason.SPO_NOT_CONSIDERED:
        return _spo_thresholds(reported_at, policy)
    if code == Reason.VICTIM_NOT_REFERRED:
        # the first threshold is the earlier due date passed, the second follows it
        dues = _victim_care_dues(reported_at, policy)
        second = timedelta(days=policy.dmm.victim_care_second_days)
        return (*dues, *(due + second for due in dues))
    return None


def gap_may_reach_meeting(code: str, reported_at: datetime, frame: MeetingFrame,
                          policy: Policy) -> bool:
    """False only when the standing gap ``code`` cannot bring a case reported
    at ``reported_at`` to this meeting, whatever its other facts: every
    threshold it can cross falls before the database's first extract or at
    or after the meeting's start, so :func:`crossing_on_agenda` has nothing
    to give (a first extract fills the work queues, not the agenda). True
    when that cannot be told from the report alone."""
    if frame.epoch is None:
        return True
    thresholds = report_thresholds(code, reported_at, policy)
    if thresholds is None:
        return True
    return any(frame.epoch <= at < frame.starts_at for at in thresholds)


def working_deadline_cutoff(starts_at: datetime, days: int, policy: Policy) -> datetime:
    """The instant X such that a crime reported before X is past a deadline of
    ``days`` working days at ``starts_at`` (and one reported at X or later is
    not): lets SQL test the Victims' Code clock with one comparison."""
    zone = meeting_zone(policy)
    day = starts_at.astimezone(zone).date()
    for _ in range(400):
        if working_deadline(day, days, policy.calendar) < starts_at:
            return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone).astimezone(UTC)
        day -= timedelta(days=1)
    raise CalendarError("no working day found within a year")  # pragma: no cover


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
                                        f"{day_words(crossed, policy, frame)}"))
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
