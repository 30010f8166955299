"""Step 1 of an agenda: every case's reasons as a bit mask, in one SQL statement.

Each reason of :mod:`app.rules.dmm` has its SQL twin here, under the same
code (``AGENDA_SQL`` and ``GAP_SQL`` below); a test holds the twins to the
same answer on generated forces. Meeting items are exact here. A standing gap
is selected here when it is open and could have crossed a threshold since the
database's first import; whether a meeting has decided on it since it crossed
is then settled by the rules themselves for those few cases
(:func:`app.services.dmm.facts.settle_standing`).

The open cases are read from the covering index ``ix_case_dmm`` (no table row
per case); the few recently closed ones from ``ix_case_area_closed``; breach
crimes of breaches still to acknowledge whatever their state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.policy import Policy
from app.rules import dmm as rules
from app.rules.dmm_reasons import REASON_BITS, STANDING_REASONS, Reason
from app.rules.orders import NOTIFICATION_KINDS
from app.services.dmm.common import (
    Bounds,
    CodeBook,
    MaskBook,
    action_open,
    as_utc,
    core_rows,
    ts,
    unconverted,
)
from models import (
    Breach,
    Case,
    DmmAction,
    DmmItem,
    DmmMeeting,
    IncludedClassification,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    VictimCare,
)
from models.enums import ORDERS_IN_FORCE, CaseStatus

# Agenda: every meeting item and standing gap; work queue: the standing gaps only.
AGENDA = "agenda"
WORKLIST = "worklist"
STANDING_BITS = sum(REASON_BITS[code] for code in STANDING_REASONS)
# A Victims' Code deadline falls at most this many calendar days after the
# working days it counts (weekends and a run of bank holidays).
WORKING_DAY_SLACK = timedelta(days=10)


def scope_columns() -> list[Any]:
    return [Case.id, Case.crime_ref, Case.reported_at, Case.principal_code, Case.pin_issued,
            Case.risk_level, Case.risk_assessed_at, Case.risk_review_due,
            Case.reassessment_due_at, Case.spo_status, Case.victim_id, Case.suspect_id,
            Case.allocation_team, Case.domestic_abuse, Case.linked_case_id, Case.status]


def breach_crimes_to_list(b: Bounds) -> Any:
    """The breach crimes whose breach belongs on this meeting's agenda:
    reported since the last meeting, or not acknowledged before this one. One
    indexed range per condition (a single OR would read every breach). The
    report time of the acknowledgement branches is tested as a CASE, which no
    planner ranges an index over: it holds for nearly every breach, and the
    acknowledgement index is the narrow one."""
    before = Breach.reported_at < ts(b.starts_at)
    reported_before = case((before, 1), else_=0) == 1
    return union(
        select(Breach.breach_case_id).where(Breach.reported_at >= ts(b.covers_from), before),
        select(Breach.breach_case_id).where(Breach.acknowledged_at.is_(None), reported_before),
        select(Breach.breach_case_id).where(Breach.acknowledged_at >= ts(b.starts_at),
                                            reported_before),
    )


# The aliases of the predicates below, made once (an alias made per call
# rebuilds its table's column proxies every time).
DECIDED_ITEM = aliased(DmmItem, name="decided_item")
DECIDED_MEETING = aliased(DmmMeeting, name="decided_meeting")
DECIDED_PAIR = aliased(Case, name="decided_pair")
RECENT_ASSESSMENT = aliased(RiskAssessment, name="recent_assessment")
PAIR_CASE = aliased(Case, name="pair_case")
CARRIED_ITEM = aliased(DmmItem, name="carried_item")
CARRIED_MEETING = aliased(DmmMeeting, name="carried_meeting")
NOTICE_ORDER = aliased(ProtectiveOrder, name="notice_order")
LINKED_CASE = aliased(Case, name="linked_case")


def _scope(b: Bounds, restrict: list[Any], mode: str) -> Any:
    open_cases = select(*scope_columns()).where(
        Case.area_command == b.area, Case.status == CaseStatus.OPEN,
        Case.reported_at < b.starts_at, *restrict)
    if mode == WORKLIST:
        return open_cases.cte("dmm_scope")
    return union_all(
        open_cases,
        # reported_at is left to the caller: naming it here steers SQLite off the index
        select(*scope_columns()).where(Case.area_command == b.area,
                                       Case.closed_at >= b.closed_since,
                                       Case.status != CaseStatus.OPEN, *restrict),
        # breach crimes closed earlier whose breach is still to acknowledge
        select(*scope_columns()).where(Case.area_command == b.area,
                                       Case.status != CaseStatus.OPEN,
                                       or_(Case.closed_at.is_(None),
                                           Case.closed_at < b.closed_since),
                                       Case.id.in_(breach_crimes_to_list(b)), *restrict),
    ).cte("dmm_scope")


@dataclass
class _Sql:
    """What the reason predicates share: the scope, the bounds and helpers."""

    b: Bounds
    policy: Policy
    book: CodeBook
    scope: Any
    inc: Any
    only: list[int] | None

    @property
    def s(self) -> Any:
        return self.scope.c

    def in_families(self, names: Iterable[str]) -> Any:
        """The case is classified (principal or included) in one of the families."""
        codes = self.book.codes(list(names))
        if not codes:
            return false()
        s, inc = self.s, self.inc
        return or_(s.principal_code.in_(codes),
                   s.id.in_(select(inc.c.case_id).where(inc.c.code.in_(codes))))

    def member(self, *parts: tuple[Select[Any], Any]) -> Any:
        """The case is among the ids the parts select: over the whole scope a
        list read once; for a handful of changed cases a probe per case."""
        s = self.s
        if self.only is None:
            return s.id.in_(union(*(part for part, _column in parts)) if len(parts) > 1
                            else parts[0][0])
        return or_(*(part.where(column == s.id).exists() for part, column in parts))

    def since_epoch(self, at: Any, margin: timedelta = timedelta(0), *,
                    counted: bool = True) -> Any:
        """``at`` is at or after the first import less ``margin`` (true without
        one, and true when the epoch is not ``counted``: the work queue)."""
        if not counted or self.b.epoch is None:
            return true()
        return at >= ts(self.b.epoch - margin)

    def decided_since(self, decided: Any, at: Any) -> Any:
        if decided is None:
            return false()
        return and_(decided.is_not(None), decided >= at)

    def needs_decision(self, at: Any, decided: Any, *, horizon: bool = True) -> Any:
        """SQL twin of :func:`app.rules.dmm.needs_decision`."""
        lower = self.lower_event() if horizon else None
        in_reach = true() if lower is None else at >= ts(lower)
        return and_(at.is_not(None), at < ts(self.b.starts_at), in_reach,
                    ~self.decided_since(decided, at))

    def lower_event(self) -> datetime | None:
        """The earliest event time a meeting item can rest on (None: any)."""
        if self.b.events_from is None:
            return None
        return min(self.b.events_from, self.b.covers_from)


def _last_decided(q: _Sql, *, pair: bool = False) -> Any:
    """Latest decision on the case (or on any crime of its pair) recorded at a
    meeting before this one."""
    item, meeting = DECIDED_ITEM, DECIDED_MEETING
    stmt = (select(func.max(item.decided_at))
            .join(meeting, meeting.id == item.meeting_id)
            .where(item.decision.is_not(None), meeting.meeting_date < q.b.meeting_date))
    if pair:
        mate = DECIDED_PAIR
        stmt = stmt.join(mate, mate.id == item.case_id).where(
            mate.victim_id == q.s.victim_id, mate.suspect_id == q.s.suspect_id)
    else:
        stmt = stmt.where(item.case_id == q.s.id)
    # correlated to the scope however deep it is used (inside CARRIED_OVER's EXISTS too)
    return stmt.correlate(q.scope).scalar_subquery()


def _latest_assessment(q: _Sql, column: Any, *, offset: int = 0) -> Any:
    """A column of the case's latest assessment before the meeting (``offset``
    1: the one before it)."""
    return (select(column).where(RiskAssessment.case_id == q.s.id,
                                 RiskAssessment.assessed_at < ts(q.b.starts_at))
            .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
            .offset(offset).limit(1).scalar_subquery())


def _assessed_since(q: _Sql) -> Any:
    """The case has an assessment a meeting item can rest on (one probe)."""
    lower = q.lower_event()
    probe = RECENT_ASSESSMENT
    conditions = [probe.case_id == q.s.id, probe.assessed_at < ts(q.b.starts_at)]
    if lower is not None:
        conditions.append(probe.assessed_at >= ts(lower))
    return select(probe.id).where(*conditions).exists()


def _level_rank(column: Any) -> Any:
    return case(*((column == level, rank) for level, rank in rules.LEVEL_RANK.items()),
                else_=0)


# --- meeting items -------------------------------------------------------------------


def _new_crime(q: _Sql, decided: Any) -> Any:
    return and_(q.in_families(q.policy.dmm.new_crime_families), q.needs_decision(q.s.reported_at, decided))


def _breach(q: _Sql, decided: Any) -> Any:
    if q.only is None:
        return q.s.id.in_(breach_crimes_to_list(q.b))
    b = q.b
    return q.member((select(Breach.breach_case_id).where(
        Breach.reported_at < b.starts_at,
        or_(Breach.reported_at >= b.covers_from, Breach.acknowledged_at.is_(None),
            Breach.acknowledged_at >= b.starts_at)), Breach.breach_case_id))


def _high_risk(q: _Sql, decided: Any) -> Any:
    latest_at = _latest_assessment(q, RiskAssessment.assessed_at)
    latest_level = _latest_assessment(q, RiskAssessment.level)
    previous_level = _latest_assessment(q, RiskAssessment.level, offset=1)
    plan = _latest_assessment(q, func.coalesce(func.length(RiskAssessment.management_plan), 0)
                              .label("plan_length"))
    first_days = ts(q.b.starts_at - timedelta(days=q.policy.dmm.high_risk_plan_days))
    exact = and_(
        latest_level == "high",
        q.needs_decision(latest_at, decided),
        or_(previous_level.is_(None), previous_level != "high",
            and_(func.coalesce(plan, 0) == 0, latest_at > first_days)),
    )
    return case((and_(q.s.risk_level == "high", _assessed_since(q)), exact), else_=false())


def _risk_below_suggestion(q: _Sql, decided: Any) -> Any:
    latest_at = _latest_assessment(q, RiskAssessment.assessed_at)
    level = _latest_assessment(q, RiskAssessment.level)
    suggested = _latest_assessment(q, RiskAssessment.suggested_level)
    approved = _latest_assessment(q, RiskAssessment.approved_by)
    pending = _latest_assessment(q, RiskAssessment.approval_required)
    exact = and_(approved.is_(None),
                 or_(_level_rank(level) < _level_rank(suggested), pending.is_(True)),
                 q.needs_decision(latest_at, decided))
    return case((and_(q.s.risk_assessed_at.is_not(None), _assessed_since(q)), exact),
                else_=false())


def _allocation(q: _Sql, decided: Any) -> Any:
    return and_(q.needs_decision(q.s.reported_at, decided),
                allocation_contrary_sql(q.policy, q.s, q.in_families))


def _repeat_pair(q: _Sql, decided: Any) -> Any:
    s, b, dmm = q.s, q.b, q.policy.dmm
    pair = PAIR_CASE
    since = ts(b.starts_at - timedelta(days=dmm.repeat_pair_window_days))
    later = select(pair.id).where(
        pair.victim_id == s.victim_id, pair.suspect_id == s.suspect_id,
        pair.reported_at < ts(b.starts_at),
        or_(pair.reported_at > s.reported_at,
            and_(pair.reported_at == s.reported_at, pair.crime_ref > s.crime_ref))).exists()
    in_window = (select(func.count()).where(
        pair.victim_id == s.victim_id, pair.suspect_id == s.suspect_id,
        pair.reported_at >= since, pair.reported_at < ts(b.starts_at)).scalar_subquery())
    cheap = and_(s.suspect_id.is_not(None), s.reported_at >= since,
                 q.needs_decision(s.reported_at, None))
    exact = and_(~later, in_window >= dmm.repeat_pair_min_crimes,
                 q.needs_decision(s.reported_at, _last_decided(q, pair=True)))
    return case((cheap, exact), else_=false())


def _pin(q: _Sql, decided: Any) -> Any:
    return and_(q.s.pin_issued.is_(True), q.needs_decision(q.s.reported_at, decided))


def _action(q: _Sql, decided: Any) -> Any:
    return q.member((select(DmmAction.case_id).where(
        action_open(q.b), DmmAction.due_at < ts(q.b.next_starts_at)),
        DmmAction.case_id))


def _carried(q: _Sql, decided: Any) -> Any:
    item, meeting = CARRIED_ITEM, CARRIED_MEETING
    return select(item.id).join(meeting, meeting.id == item.meeting_id).where(
        item.case_id == q.s.id, item.decision.is_(None), func.coalesce(item.mask, 1) != 0,
        meeting.area_command == q.b.area, meeting.meeting_date < q.b.meeting_date,
        or_(decided.is_(None), meeting.starts_at > decided)).exists()


def notice_conditions(order: Any) -> list[Any]:
    """An SPO or interim SPO in force, served, with a notification due date."""
    return [order.kind.in_(sorted(NOTIFICATION_KINDS)),
            order.status.in_(sorted(ORDERS_IN_FORCE)), order.served_at.is_not(None),
            order.notification_due_at.is_not(None)]


def _not_notified(q: _Sql, order: Any) -> list[Any]:
    """Due before the meeting and not notified when it began."""
    start = ts(q.b.starts_at)
    return [*notice_conditions(order), order.notification_due_at < start,
            or_(order.notified_at.is_(None), order.notified_at >= start)]


def _notification(q: _Sql, decided: Any) -> Any:
    order = NOTICE_ORDER
    return select(order.id).where(order.case_id == q.s.id, *_not_notified(q, order),
                                  q.needs_decision(order.notification_due_at, decided)).exists()


# --- standing gaps: open, and able to have crossed a threshold since the first import


def _no_risk_assessment(q: _Sql, epoch: bool) -> Any:
    s, dmm = q.s, q.policy.dmm
    return and_(
        s.risk_assessed_at.is_(None),
        s.reported_at < ts(q.b.starts_at - timedelta(days=dmm.risk_assessment_days)),
        q.in_families(dmm.case_families),
        ~select(RiskAssessment.case_id).where(RiskAssessment.case_id == s.id).exists(),
        q.since_epoch(s.reported_at, timedelta(days=dmm.risk_assessment_second_days), counted=epoch),
    )


def _review_margin(q: _Sql) -> timedelta:
    return timedelta(days=max(q.policy.dmm.risk_review_second_days.values(), default=0))


def _plan_review_due(q: _Sql) -> Any:
    """The review date of the latest assessment's risk management plan (None
    without a plan)."""
    return _latest_assessment(q, case(
        (func.coalesce(func.length(RiskAssessment.management_plan), 0) > 0,
         RiskAssessment.plan_review_due), else_=None).label("plan_review_due"))


def _review_passed(q: _Sql, due: Any, epoch: bool) -> Any:
    """A review date passed before the meeting, since the first import (less
    the second threshold): the rule's crossing is the latest date passed."""
    return and_(due < ts(q.b.starts_at), q.since_epoch(due, _review_margin(q), counted=epoch))


def _risk_review(q: _Sql, epoch: bool) -> Any:
    s = q.s
    dates = (s.risk_review_due, s.reassessment_due_at, _plan_review_due(q))
    return or_(*(_review_passed(q, due, epoch) for due in dates))


def _no_risk_plan(q: _Sql, epoch: bool) -> Any:
    s, dmm = q.s, q.policy.dmm
    latest_id = _latest_assessment(q, RiskAssessment.id)
    latest_level = _latest_assessment(q, RiskAssessment.level)
    plan = _latest_assessment(q, func.coalesce(func.length(RiskAssessment.management_plan), 0)
                              .label("plan_length"))
    since = func.coalesce(_latest_assessment(q, RiskAssessment.assessed_at),
                          s.risk_assessed_at, s.reported_at)
    days = timedelta(days=dmm.high_risk_plan_days)
    exact = and_(
        or_(latest_id.is_(None), and_(latest_level == "high", func.coalesce(plan, 0) == 0)),
        since < ts(q.b.starts_at - days),
        q.since_epoch(since, days + timedelta(days=dmm.risk_plan_second_days), counted=epoch),
    )
    return case((s.risk_level == "high", exact), else_=false())


def _spo(q: _Sql, epoch: bool) -> Any:
    s, dmm = q.s, q.policy.dmm
    return and_(
        s.spo_status == "not_considered",
        s.reported_at < ts(q.b.starts_at - timedelta(days=dmm.spo_consideration_days)),
        q.in_families(["stalking"]),
        q.since_epoch(s.reported_at, timedelta(days=dmm.spo_second_days), counted=epoch),
    )


def _victim(q: _Sql, epoch: bool) -> Any:
    s, policy = q.s, q.policy
    code = policy.victims_code
    needs_cut = rules.working_deadline_cutoff(q.b.starts_at, code.needs_assessment_working_days,
                                              policy)
    referral_cut = rules.working_deadline_cutoff(q.b.starts_at, code.referral_working_days,
                                                 policy)
    longest = max(code.needs_assessment_working_days, code.referral_working_days)
    margin = timedelta(days=longest + policy.dmm.victim_care_second_days) + WORKING_DAY_SLACK
    return and_(
        q.in_families(policy.dmm.case_families),
        or_(and_(s.reported_at < ts(needs_cut),
                 ~select(VictimCare.case_id).where(VictimCare.case_id == s.id,
                                                   VictimCare.needs_assessed_at.is_not(None))
                 .exists()),
            and_(s.reported_at < ts(referral_cut),
                 ~select(Referral.case_id).where(
                     Referral.case_id == s.id,
                     Referral.service.not_in(code.signposting_services)).exists(),
                 ~select(VictimCare.case_id).where(VictimCare.case_id == s.id,
                                                   VictimCare.consent.is_(False)).exists())),
        q.since_epoch(s.reported_at, margin, counted=epoch),
    )


# One SQL twin per rule, under the rule's code.
AGENDA_SQL: dict[str, Callable[[_Sql, Any], Any]] = {
    Reason.NEW_CRIME: _new_crime,
    Reason.BREACH: _breach,
    Reason.HIGH_RISK: _high_risk,
    Reason.RISK_BELOW_SUGGESTION: _risk_below_suggestion,
    Reason.ALLOCATION_CONTRARY_TO_POLICY: _allocation,
    Reason.REPEAT_PAIR: _repeat_pair,
    Reason.PIN_RECORDED: _pin,
    Reason.ACTION_OVERDUE: _action,
    Reason.CARRIED_OVER: _carried,
    Reason.SPO_NOTIFICATION_OVERDUE: _notification,
}
GAP_SQL: dict[str, Callable[[_Sql, bool], Any]] = {
    Reason.NO_RISK_ASSESSMENT: _no_risk_assessment,
    Reason.RISK_REVIEW_DUE: _risk_review,
    Reason.NO_RISK_PLAN: _no_risk_plan,
    Reason.SPO_NOT_CONSIDERED: _spo,
    Reason.VICTIM_NOT_REFERRED: _victim,
}


# --- what a case must show, cheaply, to be able to have each reason ---------------
#
# Each reason's necessary condition on the scope's own columns, or an id list
# read once: recent events for meeting items (an item rests on an event since
# the meeting horizon), the threshold windows for standing gaps. The scope is
# cut to the cases meeting any of them before the exact twins above run their
# per-case probes (most open cases of an area have no reason this morning).


def _recent(q: _Sql, at: Any) -> Any:
    lower = q.lower_event()
    inside = at < ts(q.b.starts_at)
    return inside if lower is None else and_(at >= ts(lower), inside)


def _assessed_recently(q: _Sql) -> Any:
    lower = q.lower_event()
    recent = select(RiskAssessment.case_id).where(RiskAssessment.assessed_at < ts(q.b.starts_at))
    if lower is None:
        return q.s.risk_assessed_at.is_not(None)
    return q.s.id.in_(recent.where(RiskAssessment.assessed_at >= ts(lower)))


def _carried_ids(q: _Sql) -> Any:
    return q.s.id.in_(select(DmmItem.case_id).join(DmmMeeting, DmmMeeting.id == DmmItem.meeting_id)
                      .where(DmmItem.decision.is_(None), func.coalesce(DmmItem.mask, 1) != 0,
                             DmmMeeting.area_command == q.b.area,
                             DmmMeeting.meeting_date < q.b.meeting_date))


AGENDA_NECESSARY: dict[str, Callable[[_Sql], Any]] = {
    Reason.NEW_CRIME: lambda q: _recent(q, q.s.reported_at),
    Reason.BREACH: lambda q: _breach(q, None),
    Reason.HIGH_RISK: lambda q: and_(q.s.risk_level == "high", _assessed_recently(q)),
    Reason.RISK_BELOW_SUGGESTION: lambda q: and_(q.s.risk_assessed_at.is_not(None),
                                                 _assessed_recently(q)),
    Reason.ALLOCATION_CONTRARY_TO_POLICY: lambda q: _recent(q, q.s.reported_at),
    Reason.REPEAT_PAIR: lambda q: and_(q.s.suspect_id.is_not(None), _recent(q, q.s.reported_at)),
    Reason.PIN_RECORDED: lambda q: and_(q.s.pin_issued.is_(True), _recent(q, q.s.reported_at)),
    Reason.ACTION_OVERDUE: lambda q: _action(q, None),
    Reason.CARRIED_OVER: _carried_ids,
    Reason.SPO_NOTIFICATION_OVERDUE: lambda q: q.s.id.in_(
        select(ProtectiveOrder.case_id).where(*_not_notified(q, ProtectiveOrder),
                                              _recent(q, ProtectiveOrder.notification_due_at))),
}


def _gap_necessary(q: _Sql, code: str, epoch: bool) -> Any:
    """A standing gap's twin without its per-case probes."""
    s, dmm = q.s, q.policy.dmm
    if code == Reason.NO_RISK_ASSESSMENT:
        return and_(s.risk_assessed_at.is_(None),
                    s.reported_at < ts(q.b.starts_at - timedelta(days=dmm.risk_assessment_days)),
                    q.since_epoch(s.reported_at,
                                  timedelta(days=dmm.risk_assessment_second_days), counted=epoch))
    if code == Reason.NO_RISK_PLAN:
        if not epoch or q.b.epoch is None:
            return s.risk_level == "high"
        # the twin's "since" is the latest assessment before the meeting, or
        # without one the case's own dates
        earliest = ts(q.b.epoch - timedelta(days=dmm.high_risk_plan_days
                                            + dmm.risk_plan_second_days))
        return and_(s.risk_level == "high", or_(
            s.id.in_(select(RiskAssessment.case_id).where(
                RiskAssessment.assessed_at >= earliest,
                RiskAssessment.assessed_at < ts(q.b.starts_at))),
            func.coalesce(s.risk_assessed_at, s.reported_at) >= earliest))
    if code == Reason.SPO_NOT_CONSIDERED:
        return and_(s.spo_status == "not_considered", q.in_families(["stalking"]),
                    s.reported_at < ts(q.b.starts_at - timedelta(days=dmm.spo_consideration_days)),
                    q.since_epoch(s.reported_at, timedelta(days=dmm.spo_second_days), counted=epoch))
    if code == Reason.VICTIM_NOT_REFERRED:
        code_days = q.policy.victims_code
        longest = max(code_days.needs_assessment_working_days, code_days.referral_working_days)
        cut = rules.working_deadline_cutoff(
            q.b.starts_at, min(code_days.needs_assessment_working_days,
                               code_days.referral_working_days), q.policy)
        margin = (timedelta(days=longest + dmm.victim_care_second_days) + WORKING_DAY_SLACK)
        return and_(s.reported_at < ts(cut), q.in_families(q.policy.dmm.case_families),
                    q.since_epoch(s.reported_at, margin, counted=epoch))
    # RISK_REVIEW_DUE: the case's own review dates, or a plan review date passed
    plans = select(RiskAssessment.case_id).where(
        _review_passed(q, RiskAssessment.plan_review_due, epoch))
    own = (_review_passed(q, due, epoch) for due in (s.risk_review_due, s.reassessment_due_at))
    return or_(*own, s.id.in_(plans))


def flags_query(b: Bounds, policy: Policy, book: CodeBook, *, only: list[int] | None = None,
                mode: str = AGENDA) -> Select[Any]:
    """One row per case of the area in scope with the bit mask of its reasons.

    ``mode`` AGENDA: open cases, cases closed within the grace days and
    breach crimes still to acknowledge; every meeting item exactly, standing
    gaps that may have crossed a threshold since the first import. WORKLIST:
    open cases, every open standing gap.
    """
    enabled = set(policy.dmm.enabled_reasons)
    restrict = [Case.id.in_(only)] if only is not None else []
    scope = _scope(b, restrict, mode)
    s = scope.c
    # the included classifications of the cases in scope, read once (few cases have any)
    inc = (
        select(IncludedClassification.case_id.label("case_id"),
               IncludedClassification.code.label("code"))
        .where(IncludedClassification.case_id.in_(select(s.id)))
        .cte("dmm_included")
    )
    q = _Sql(b, policy, book, scope, inc, only)
    bits: dict[str, Any] = {}
    if mode == AGENDA:
        decided = _last_decided(q)
        for code, twin in AGENDA_SQL.items():
            bits[code] = twin(q, decided)
    for code, twin in GAP_SQL.items():
        bits[code] = twin(q, mode == AGENDA)
    necessary: dict[str, Any] = {}
    if mode == AGENDA:
        necessary.update((code, AGENDA_NECESSARY[code](q)) for code in AGENDA_SQL)
    necessary.update((code, _gap_necessary(q, code, mode == AGENDA)) for code in GAP_SQL)
    enabled &= set(necessary)
    # the cheap condition first: a CASE's test stops at the first false part,
    # so a case's probes for a reason run only when it can have the reason
    mask = sum(
        (case((and_(necessary[code], predicate), REASON_BITS[code]), else_=0)
         for code, predicate in bits.items() if code in enabled),
        literal(0),
    )
    return (
        select(s.id, s.crime_ref, unconverted(s.reported_at).label("reported_at"), s.risk_level, s.allocation_team,
               s.victim_id, s.suspect_id, s.linked_case_id, s.principal_code,
               mask.label("mask"))
        .select_from(scope)
        .where(or_(false(), *(necessary[code] for code in enabled)))
    )


def allocation_contrary_sql(policy: Policy, s: Any, in_families: Any) -> Any:
    """The allocation policy as SQL: true when the first matching rule does
    not list the case's team (or the case has no team); the wording comes
    from :func:`app.rules.allocation.check_allocation`."""
    linked = LINKED_CASE
    original_team = (select(linked.allocation_team).where(linked.id == s.linked_case_id)
                     .scalar_subquery())
    whens = []
    for rule in policy.allocation.rules:
        conditions = []
        if rule.families:
            conditions.append(in_families(rule.families))
        if rule.risk:
            conditions.append(func.coalesce(s.risk_level, rules.UNASSESSED).in_(rule.risk))
        if rule.domestic_abuse == "yes":
            conditions.append(s.domestic_abuse.is_(True))
        elif rule.domestic_abuse == "no":
            conditions.append(s.domestic_abuse.is_(False))
        teams = [t for t in rule.teams if t != "@original"]
        allowed = [s.allocation_team.in_(teams)] if teams else []
        if "@original" in rule.teams:
            allowed.append(s.allocation_team == func.coalesce(original_team, ""))
        compliant = and_(s.allocation_team.is_not(None), or_(false(), *allowed))
        whens.append((and_(true(), *conditions), ~compliant))
    if not whens:
        return s.allocation_team.is_(None)
    return case(*whens, else_=s.allocation_team.is_(None)) == true()


@dataclass
class RankedItem:
    """One item of the queue, light: enough to rank, count, filter and store it."""

    case_id: int
    crime_ref: str
    reported_at: datetime
    risk: str | None
    team: str | None
    victim_id: int | None
    suspect_id: int | None
    mask: int
    priority: int


def flagged_rows(session: Session, b: Bounds, policy: Policy, book: CodeBook, *,
                 only: list[int] | None = None, mode: str = AGENDA) -> list[RankedItem]:
    """The cases of the scope with any reason bit, as light items (priority
    still to be set from the final mask)."""
    found: list[RankedItem] = []
    for row in core_rows(session, flags_query(b, policy, book, only=only, mode=mode)):
        fields = row._mapping
        if not fields["mask"]:
            continue
        reported = as_utc(fields["reported_at"])
        if reported is None or reported >= b.starts_at:
            continue
        found.append(RankedItem(fields["id"], fields["crime_ref"], reported,
                                fields["risk_level"], fields["allocation_team"],
                                fields["victim_id"], fields["suspect_id"], int(fields["mask"]), 0))
    return found


def priced(items: list[RankedItem], masks: MaskBook) -> list[RankedItem]:
    """Set each item's priority from its mask and risk level."""
    for item in items:
        item.priority = masks.priority(item.mask, item.risk).score
    return items
