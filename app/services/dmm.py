"""The daily management meeting (DMM) queue of an area command.

``build_queue`` finds the cases that need a decision at one meeting, ranks
them and stores them as the meeting's items, so decisions, actions, discussed
marks and carry-over have somewhere to live. At a million cases an area has
tens of thousands of open cases and thousands of them on the agenda, so:

1. **Reasons as bits, in SQL.** One statement reads the area's open (and
   recently closed) cases from a covering index and computes, for each, the
   bit mask of its reasons: every reason of :mod:`app.rules.dmm` written as an
   SQL predicate over indexed probes (a test holds the two to the same answer
   on random forces). Priority follows from the mask and the risk level.
2. **Stored items.** The masks, priorities and rank keys are stored on the
   meeting's items; ranking, counting and paging are done by the database.
   A live meeting is recomputed in full at its first build, after a policy
   change and every 15 minutes; in between only the cases changed since the
   last build (and their victim–suspect pair) are read again.
3. **Words for what is shown.** The pure rules turn the facts of the items on
   the page asked for (case, included codes, assessments, breaches, the
   pair's other crimes, actions: one query per kind) into one-line
   explanations.

A meeting is *live* from the day it is the current meeting (``ctx.now()``)
onwards. An earlier meeting that was held is the record: its stored items are
shown as they were left. An earlier meeting that was never opened is computed
for reading only and not stored.

Audit: every view of a queue is an event on entity ``dmm_queue`` with id
``AREA/YYYY-MM-DD``; decisions, actions and discussed marks are events on the
case (entity ``case``, id the crime reference), each in the transaction that
makes the change.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    type_coerce,
    union,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.types import NullType
from sqlmodel import Session

from app.errors import BadInput, NotFound
from app.policy import Policy
from app.rules import dmm as rules
from app.rules.dmm import (
    REASON_ORDER,
    REASON_TITLES,
    ActionFact,
    AssessmentFact,
    BreachFact,
    CaseFacts,
    MeetingFrame,
    PairCrimeFact,
    ReasonHit,
)
from app.services.case_lock import claim_case, load_case
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import (
    Breach,
    Case,
    Classification,
    DmmAction,
    DmmItem,
    DmmMeeting,
    IncludedClassification,
    Person,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    User,
    VictimCare,
)
from models.enums import AuditAction, CaseStatus, DmmDecision
from models.types import UTCDateTime
from seed.reference import classifications, organisation

DECISION_LABELS: dict[str, str] = {
    DmmDecision.NO_FURTHER_ACTION: "no further action",
    DmmDecision.ACTIONS_SET: "actions set",
    DmmDecision.ESCALATE: "escalate",
    DmmDecision.REALLOCATE: "reallocate",
}

# SQLite allows 32,766 bound parameters; stay well below for IN lists.
_CHUNK = 5000


# ---------------------------------------------------------------------------
# What the service hands out
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DmmActionView:
    id: int
    crime_ref: str
    text: str
    owner: str
    due_at: datetime
    done_at: datetime | None
    created_by: str
    created_at: datetime
    meeting_date: date | None = None

    def overdue_at(self, moment: datetime) -> bool:
        return self.done_at is None and self.due_at < moment


@dataclass(frozen=True)
class DmmQueueItem:
    crime_ref: str
    case_version: int
    priority: int
    reasons: list[ReasonHit]
    priority_explanation: str
    risk: str | None
    team: str | None
    reported_at: datetime
    victim_ref: str
    suspect_ref: str | None
    decision: str | None
    rationale: str | None
    discussed_at: datetime | None
    actions: list[DmmActionView]
    principal_code: str = ""
    status: str = CaseStatus.OPEN
    officer: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    discussed_by: str | None = None

    @property
    def codes(self) -> list[str]:
        return [hit.code for hit in self.reasons]

    @property
    def discussed(self) -> bool:
        return self.discussed_at is not None


@dataclass(frozen=True)
class DmmQueue:
    area: str
    meeting_date: date
    starts_at: datetime
    covers_from: datetime
    previous_meeting_date: date
    live: bool  # recomputed on every build (today's meeting or a later one)
    recorded: bool  # stored as a meeting (False: an earlier date never held, shown only)
    can_decide: bool  # the acting user may record decisions on it
    built_at: datetime
    items: list[DmmQueueItem] = field(default_factory=list)  # ranked; a page when asked
    total: int = 0  # items on the agenda
    discussed: int = 0  # of them, discussed
    matched: int = 0  # items matching the filters asked for (``items`` is a page of them)
    offset: int = 0
    reason_counts: dict[str, int] = field(default_factory=dict)  # items per reason code
    chaired_by: str | None = None
    attendees: list[str] = field(default_factory=list)  # display names of who recorded
    # Built from the stored agenda plus the cases changed since, with the
    # periodic full recompute left to a follow-up build (``defer_full``).
    full_refresh_due: bool = False

    @property
    def covers_to(self) -> datetime:
        return self.starts_at

    @property
    def progress(self) -> str:
        return f"{self.discussed} of {self.total} discussed"

    def item(self, crime_ref: str) -> DmmQueueItem | None:
        return next((i for i in self.items if i.crime_ref == crime_ref), None)


@dataclass(frozen=True)
class DmmItemState:
    """An item after a decision, an action or a discussed mark."""

    crime_ref: str
    case_version: int
    meeting_date: date
    decision: str | None
    rationale: str | None
    decided_by: str | None
    decided_at: datetime | None
    discussed_at: datetime | None
    discussed_by: str | None
    actions: list[DmmActionView]


@dataclass(frozen=True)
class RiskHistoryEntry:
    assessed_at: datetime
    level: str
    suggested_level: str
    yes_count: int
    assessor: str
    review_due: datetime | None
    management_plan: str | None
    approval_required: bool


@dataclass(frozen=True)
class OrderEntry:
    order_ref: str
    kind: str
    status: str
    granted_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class BreachEntry:
    breach_ref: str
    crime_ref: str | None
    reported_at: datetime
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class DecisionEntry:
    meeting_date: date
    area: str
    decision: str | None
    rationale: str | None
    decided_by: str | None
    discussed_at: datetime | None


@dataclass(frozen=True)
class DmmItemDetail:
    """What the side panel shows about one case."""

    crime_ref: str
    case_version: int
    area: str
    principal_code: str
    principal_title: str
    included_codes: tuple[str, ...]
    status: str
    reported_at: datetime
    team: str | None
    officer: str | None
    risk: str | None
    risk_review_due: datetime | None
    spo_status: str
    victim_ref: str
    suspect_ref: str | None
    relationship: str
    domestic_abuse: bool
    online: bool
    summary: str
    risk_history: list[RiskHistoryEntry]
    orders: list[OrderEntry]
    breaches: list[BreachEntry]
    actions: list[DmmActionView]
    decisions: list[DecisionEntry]


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def queue_id(area: str, meeting_date: date) -> str:
    return f"{area}/{meeting_date.isoformat()}"


def check_area(area: str) -> str:
    areas = organisation().area_commands
    if area not in areas:
        raise BadInput(f"area {area!r} is not an area command; choose one of {', '.join(areas)}")
    return area


def check_meeting_day(meeting_date: date, policy: Policy) -> None:
    if rules.is_meeting_day(meeting_date, policy):
        return
    before = rules.previous_meeting_date(meeting_date, policy)
    after = rules.next_meeting_date(meeting_date, policy)
    raise BadInput(
        f"{meeting_date:%a %d/%m/%Y} is not a DMM day in the policy "
        f"(previous meeting {before:%a %d/%m/%Y}, next {after:%a %d/%m/%Y})"
    )


def current_meeting_date(ctx: ServiceContext) -> date:
    """The meeting a supervisor works on now: today's, or the next if none today."""
    return rules.meeting_date_for(ctx.now(), ctx.policy)


def _chunks(values: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start:start + _CHUNK])


def _ts(value: datetime) -> Any:
    """A bound timestamp typed like the columns (SQLite stores naive UTC)."""
    return literal(value, UTCDateTime)


# The queue reads a few thousand rows of facts. Timestamps are fetched as the
# driver gives them and converted here (SQLite: naive UTC text; PostgreSQL:
# aware datetimes), which costs a fraction of the generic result processing.
def _raw(column: Any) -> Any:
    return type_coerce(column, NullType())


def _dt(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _core(session: Session, stmt: Any) -> Any:
    """Execute on the session's connection (Core rows, no ORM result layer)."""
    return session.connection().execute(stmt)


@dataclass(frozen=True)
class _CodeBook:
    family: dict[str, str]  # code -> family
    title: dict[str, str]

    def codes(self, families: Iterable[str]) -> list[str]:
        wanted = set(families)
        return sorted(code for code, family in self.family.items() if family in wanted)

    @property
    def breach_codes(self) -> list[str]:
        return self.codes(["breach"])


def _code_book(session: Session) -> _CodeBook:
    rows = session.execute(select(Classification.code, Classification.family,
                                  Classification.title)).all()
    if not rows:  # reference data not installed: fall back to the shipped list
        refs = classifications().values()
        return _CodeBook({r.code: r.family for r in refs}, {r.code: r.title for r in refs})
    return _CodeBook({r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows})


# ---------------------------------------------------------------------------
# Step 1: every item's reasons as a bit mask, in SQL
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bounds:
    area: str
    covers_from: datetime
    starts_at: datetime
    closed_since: datetime


def _bounds(area: str, frame: MeetingFrame, policy: Policy) -> _Bounds:
    return _Bounds(area, frame.covers_from, frame.starts_at,
                   frame.starts_at - timedelta(days=policy.dmm.closed_grace_days))


REASON_BITS: dict[str, int] = {code: 1 << index for index, code in enumerate(REASON_ORDER)}


class _MaskBook:
    """Reason codes and priority for a mask and risk level (memoised: a queue
    has a few dozen distinct combinations however long it is)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._codes: dict[int, list[str]] = {}
        self._json: dict[int, str] = {}
        self._priority: dict[tuple[int, str | None], rules.Priority] = {}

    def codes(self, mask: int) -> list[str]:
        found = self._codes.get(mask)
        if found is None:
            weights = self.policy.dmm.weights
            found = sorted((c for c, bit in REASON_BITS.items() if mask & bit),
                           key=lambda c: (-weights.get(c, 0), REASON_ORDER.index(c)))
            self._codes[mask] = found
        return found

    def json(self, mask: int) -> str:
        found = self._json.get(mask)
        if found is None:
            found = self._json[mask] = json.dumps(self.codes(mask))
        return found

    def priority(self, mask: int, risk: str | None) -> rules.Priority:
        key = (mask, risk)
        found = self._priority.get(key)
        if found is None:
            found = self._priority[key] = rules.priority(self.codes(mask), risk, self.policy)
        return found


def mask_of(codes: Iterable[str]) -> int:
    mask = 0
    for code in codes:
        mask |= REASON_BITS.get(code, 0)
    return mask


def _scope_columns() -> list[Any]:
    return [Case.id, Case.crime_ref, Case.reported_at, Case.principal_code, Case.pin_issued,
            Case.risk_level, Case.risk_assessed_at, Case.risk_review_due,
            Case.reassessment_due_at, Case.spo_status, Case.victim_id, Case.suspect_id,
            Case.allocation_team, Case.domestic_abuse, Case.linked_case_id]


def flags_query(b: _Bounds, policy: Policy, book: _CodeBook, *,
                previous_meeting_id: int | None, only: list[int] | None = None) -> Select[Any]:
    """One row per case of the area in scope (open, or closed within the grace
    days) with the bit mask of its reasons, each reason an SQL predicate that
    matches :mod:`app.rules.dmm` exactly (a test holds them together).

    The open cases are read from the covering index ``ix_case_dmm`` (no table
    row per case); the few recently closed ones from ``ix_case_area_closed``.
    The included classifications of those cases are read once.
    """
    dmm = policy.dmm
    enabled = set(dmm.enabled_reasons)
    start, since_window = _ts(b.starts_at), b.covers_from
    restrict = [Case.id.in_(only)] if only is not None else []
    scope = union_all(
        select(*_scope_columns()).where(Case.area_command == b.area,
                                        Case.status == CaseStatus.OPEN,
                                        Case.reported_at < b.starts_at, *restrict),
        # reported_at is left to the caller: naming it here steers SQLite off the index
        select(*_scope_columns()).where(Case.area_command == b.area,
                                        Case.closed_at >= b.closed_since,
                                        Case.status != CaseStatus.OPEN, *restrict),
    ).cte("dmm_scope")
    s = scope.c

    # the included classifications of the cases in scope, read once (few cases have any)
    inc = (
        select(IncludedClassification.case_id.label("case_id"),
               IncludedClassification.code.label("code"))
        .where(IncludedClassification.case_id.in_(select(s.id)))
        .cte("dmm_included")
    )

    def fam(names: Iterable[str]) -> Any:
        codes = book.codes(list(names))
        if not codes:
            return false()
        return or_(s.principal_code.in_(codes),
                   s.id.in_(select(inc.c.case_id).where(inc.c.code.in_(codes))))

    def member(*parts: tuple[Select[Any], Any]) -> Any:
        """The case is among the ids the parts select: over the whole scope a
        list read once; for a handful of changed cases a probe per case."""
        if only is None:
            return s.id.in_(union(*(part for part, _column in parts)) if len(parts) > 1
                            else parts[0][0])
        return or_(*(part.where(column == s.id).exists() for part, column in parts))

    pair = aliased(Case, name="pair_case")
    bits: dict[str, Any] = {}
    breach_in_window = (select(Breach.original_case_id).where(
        Breach.reported_at >= since_window, Breach.reported_at < b.starts_at),
        Breach.original_case_id)
    window = and_(s.reported_at >= since_window, s.reported_at < start)
    new_parts = [and_(window, fam(dmm.new_crime_families))]
    if "breach" in dmm.new_crime_families:
        new_parts.append(member(breach_in_window))
    bits["NEW_CRIME"] = or_(*new_parts)
    bits["BREACH"] = member(
        breach_in_window,
        (select(Breach.original_case_id).where(Breach.acknowledged_at.is_(None),
                                               Breach.reported_at < b.starts_at),
         Breach.original_case_id),
    )

    latest_gap = (
        select(case((or_(func.coalesce(func.length(RiskAssessment.management_plan), 0) == 0,
                         func.coalesce(RiskAssessment.review_due, s.risk_review_due) < start),
                     1), else_=0))
        .where(RiskAssessment.case_id == s.id)
        .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc()).limit(1)
        .scalar_subquery()
    )
    assessed = aliased(RiskAssessment, name="assessed")
    before = aliased(RiskAssessment, name="before")
    level_before = (
        select(before.level)
        .where(before.case_id == assessed.case_id,
               or_(before.assessed_at < assessed.assessed_at,
                   and_(before.assessed_at == assessed.assessed_at, before.id < assessed.id)))
        .order_by(before.assessed_at.desc(), before.id.desc()).limit(1)
        .scalar_subquery()
    )
    new_high = select(assessed.case_id).where(
        assessed.level == "high", assessed.assessed_at >= since_window,
        assessed.assessed_at < b.starts_at, func.coalesce(level_before, "") != "high")
    bits["HIGH_RISK"] = or_(
        and_(s.risk_level == "high", func.coalesce(latest_gap, 1) == 1),
        member((new_high, assessed.case_id)),
    )
    bits["NO_RISK_ASSESSMENT"] = and_(
        s.risk_assessed_at.is_(None),
        s.reported_at <= b.starts_at - timedelta(days=dmm.risk_assessment_days),
        fam(dmm.case_families),
        ~select(RiskAssessment.case_id).where(RiskAssessment.case_id == s.id).exists(),
    )
    last_pair_crime = (
        select(func.max(pair.reported_at))
        .where(pair.victim_id == s.victim_id, pair.suspect_id == s.suspect_id,
               pair.reported_at < b.starts_at, pair.id != s.id)
        .scalar_subquery()
    )
    last_breach = (select(func.max(Breach.reported_at))
                   .where(Breach.original_case_id == s.id, Breach.reported_at < b.starts_at)
                   .scalar_subquery())
    bits["RISK_REVIEW_DUE"] = or_(
        s.risk_review_due < start,
        s.reassessment_due_at.is_not(None),
        and_(s.risk_assessed_at.is_not(None),
             or_(last_pair_crime > s.risk_assessed_at, last_breach > s.risk_assessed_at)),
    )
    bits["SPO_NOT_CONSIDERED"] = and_(
        s.spo_status == "not_considered",
        s.reported_at <= b.starts_at - timedelta(days=dmm.spo_consideration_days),
        fam(["stalking"]),
    )
    code = policy.victims_code
    needs_cut = rules.working_deadline_cutoff(b.starts_at, code.needs_assessment_working_days,
                                              policy)
    referral_cut = rules.working_deadline_cutoff(b.starts_at, code.referral_working_days, policy)
    bits["VICTIM_NOT_REFERRED"] = and_(
        fam(dmm.case_families),
        or_(and_(s.reported_at < needs_cut,
                 ~select(VictimCare.case_id).where(VictimCare.case_id == s.id,
                                                   VictimCare.needs_assessed_at.is_not(None))
                 .exists()),
            and_(s.reported_at < referral_cut,
                 ~select(Referral.case_id).where(Referral.case_id == s.id).exists())),
    )
    bits["ALLOCATION_CONTRARY_TO_POLICY"] = _allocation_contrary(policy, s, fam)

    since_repeat = b.starts_at - timedelta(days=dmm.repeat_pair_window_days)
    pair_count = (select(func.count())
                  .where(pair.victim_id == s.victim_id, pair.suspect_id == s.suspect_id,
                         pair.reported_at >= since_repeat, pair.reported_at < b.starts_at)
                  .scalar_subquery())
    breach_crime = aliased(Case, name="breach_crime")
    other_breach_crimes = (
        select(func.count(func.distinct(breach_crime.id)))
        .select_from(Breach).join(breach_crime, breach_crime.id == Breach.breach_case_id)
        .where(Breach.original_case_id == s.id, breach_crime.reported_at >= since_repeat,
               breach_crime.reported_at < b.starts_at,
               or_(breach_crime.victim_id != s.victim_id, breach_crime.suspect_id.is_(None),
                   breach_crime.suspect_id != s.suspect_id))
        .scalar_subquery()
    )
    repeat = [s.suspect_id.is_not(None)]
    if dmm.repeat_pair_new_only:
        new_crime = aliased(Case, name="new_crime")
        # a crime of the pair in the window: a probe of the pair index (it holds
        # reported_at), cheaper than reading the window's crimes from the table
        repeat.append(or_(
            select(new_crime.id).where(new_crime.victim_id == s.victim_id,
                                       new_crime.suspect_id == s.suspect_id,
                                       new_crime.reported_at >= since_window,
                                       new_crime.reported_at < b.starts_at).exists(),
            member((select(Breach.original_case_id)
             .join(breach_crime, breach_crime.id == Breach.breach_case_id)
             .where(breach_crime.reported_at >= since_window,
                    breach_crime.reported_at < b.starts_at),
             Breach.original_case_id)),
        ))
    repeat.append(pair_count + other_breach_crimes >= dmm.repeat_pair_min_crimes)
    bits["REPEAT_PAIR"] = and_(*repeat)
    bits["PIN_RECORDED"] = s.pin_issued.is_(True)
    bits["ACTION_OVERDUE"] = member((select(DmmAction.case_id).where(
        DmmAction.done_at.is_(None), DmmAction.due_at < b.starts_at), DmmAction.case_id))
    if previous_meeting_id is not None:
        bits["CARRIED_OVER"] = member((select(DmmItem.case_id).where(
            DmmItem.meeting_id == previous_meeting_id, DmmItem.discussed_at.is_(None)),
            DmmItem.case_id))

    mask = sum(
        (case((predicate, REASON_BITS[code]), else_=0)
         for code, predicate in bits.items() if code in enabled),
        literal(0),
    )
    return (
        select(s.id, s.crime_ref, _raw(s.reported_at), s.risk_level, s.allocation_team,
               s.victim_id, s.suspect_id, s.linked_case_id, s.principal_code, mask)
        .select_from(scope)
    )


def _allocation_contrary(policy: Policy, s: Any, fam: Any) -> Any:
    """The allocation policy as SQL: true when the first matching rule does
    not list the case's team (or the case has no team); the wording comes
    from :func:`app.rules.allocation.check_allocation`."""
    linked = aliased(Case, name="linked_case")
    original_team = (select(linked.allocation_team).where(linked.id == s.linked_case_id)
                     .scalar_subquery())
    whens = []
    for rule in policy.allocation.rules:
        conditions = []
        if rule.families:
            conditions.append(fam(rule.families))
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
class _Ranked:
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


def _ranked_live(session: Session, b: _Bounds, policy: Policy, book: _CodeBook,
                 masks: _MaskBook, previous: DmmMeeting | None,
                 only: list[int] | None = None) -> list[_Ranked]:
    breach_codes = set(book.breach_codes)
    ranked: list[_Ranked] = []
    stmt = flags_query(b, policy, book,
                       previous_meeting_id=previous.id if previous else None, only=only)
    starts = b.starts_at
    for row in _core(session, stmt):
        mask = row[9]
        if not mask:
            continue
        if row[7] is not None and row[8] in breach_codes:
            continue  # a breach crime: its original case carries it
        reported = _dt(row[2])
        if reported >= starts:  # type: ignore[operator]
            continue
        ranked.append(_Ranked(row[0], row[1], reported, row[3], row[4], row[5], row[6],  # type: ignore[arg-type]
                              mask, masks.priority(mask, row[3]).score))
    return ranked


# ---------------------------------------------------------------------------
# Step 2: facts and explanations for the items shown
# ---------------------------------------------------------------------------


@dataclass
class _CaseRow:
    id: int
    crime_ref: str
    version: int
    reported_at: datetime
    principal_code: str
    status: str
    closed_at: datetime | None
    risk_level: str | None
    risk_assessed_at: datetime | None
    risk_review_due: datetime | None
    reassessment_due_at: datetime | None
    spo_status: str
    pin_issued: bool
    team: str | None
    officer: str | None
    domestic_abuse: bool
    suspect_id: int | None
    linked_case_id: int | None
    victim_ref: str
    suspect_ref: str | None
    original_team: str | None
    needs_assessed_at: datetime | None
    first_referral_at: datetime | None
    area: str


def _case_rows(session: Session, ids: list[int], area: str) -> list[_CaseRow]:
    victim = aliased(Person, name="victim")
    suspect = aliased(Person, name="suspect")
    original = aliased(Case, name="original_case")
    first_referral = (select(func.min(Referral.referred_at)).where(Referral.case_id == Case.id)
                      .scalar_subquery())
    rows: list[_CaseRow] = []
    for chunk in _chunks(ids):
        stmt = (
            select(
                Case.id, Case.crime_ref, Case.version, _raw(Case.reported_at),
                Case.principal_code, Case.status, _raw(Case.closed_at), Case.risk_level,
                _raw(Case.risk_assessed_at), _raw(Case.risk_review_due),
                _raw(Case.reassessment_due_at), Case.spo_status, Case.pin_issued,
                Case.allocation_team, Case.officer, Case.domestic_abuse, Case.suspect_id,
                Case.linked_case_id, victim.person_ref, suspect.person_ref,
                original.allocation_team, _raw(VictimCare.needs_assessed_at),
                _raw(first_referral), Case.area_command,
            )
            .join(victim, victim.id == Case.victim_id)
            .outerjoin(suspect, suspect.id == Case.suspect_id)
            .outerjoin(original, original.id == Case.linked_case_id)
            .outerjoin(VictimCare, VictimCare.case_id == Case.id)
            .where(Case.id.in_(chunk))
        )
        rows.extend(
            _CaseRow(r[0], r[1], r[2], _dt(r[3]), r[4], r[5], _dt(r[6]), r[7],  # type: ignore[arg-type]
                     _dt(r[8]), _dt(r[9]), _dt(r[10]), r[11], bool(r[12]), r[13], r[14],
                     bool(r[15]), r[16], r[17], r[18], r[19], r[20], _dt(r[21]), _dt(r[22]),
                     r[23])
            for r in _core(session, stmt)
        )
    # the area is checked here: naming it in SQL steers the planner off the ids
    return [r for r in rows if r.area == area]


def _grouped(session: Session, stmt_for: Any, ids: list[int]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks(ids):
        for row in _core(session, stmt_for(chunk)):
            grouped[row[0]].append(row)
    return grouped


def _facts(session: Session, rows: list[_CaseRow], b: _Bounds, policy: Policy,
           book: _CodeBook, carried_from: dict[int, date]) -> dict[int, CaseFacts]:
    ids = [r.id for r in rows]
    if not ids:
        return {}
    included = _grouped(session, lambda chunk: select(
        IncludedClassification.case_id, IncludedClassification.code)
        .where(IncludedClassification.case_id.in_(chunk)), ids)
    assessments = _grouped(session, lambda chunk: select(
        RiskAssessment.case_id, _raw(RiskAssessment.assessed_at), RiskAssessment.level,
        RiskAssessment.suggested_level, _raw(RiskAssessment.review_due),
        func.coalesce(func.length(RiskAssessment.management_plan), 0))
        .where(RiskAssessment.case_id.in_(chunk))
        .order_by(RiskAssessment.case_id, RiskAssessment.assessed_at, RiskAssessment.id), ids)
    breach_case = aliased(Case, name="breach_case")
    breaches = _grouped(session, lambda chunk: select(
        Breach.original_case_id, Breach.breach_ref, _raw(Breach.reported_at),
        _raw(Breach.acknowledged_at), ProtectiveOrder.kind, breach_case.crime_ref,
        _raw(breach_case.reported_at))
        .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
        .join(breach_case, breach_case.id == Breach.breach_case_id)
        .where(Breach.original_case_id.in_(chunk), Breach.reported_at < b.starts_at)
        .order_by(Breach.original_case_id, Breach.reported_at, Breach.id), ids)
    # the pair's other crimes: since the earlier of the repeat window and the last assessment
    since = b.starts_at - timedelta(days=policy.dmm.repeat_pair_window_days)
    pair = aliased(Case, name="pair_case")
    lower = case((and_(Case.risk_assessed_at.is_not(None), Case.risk_assessed_at < _ts(since)),
                  Case.risk_assessed_at), else_=_ts(since))
    with_suspect = [r.id for r in rows if r.suspect_id is not None]
    pair_crimes = _grouped(session, lambda chunk: select(
        Case.id, pair.crime_ref, _raw(pair.reported_at), pair.principal_code)
        .join(pair, and_(pair.victim_id == Case.victim_id, pair.suspect_id == Case.suspect_id,
                         pair.id != Case.id))
        .where(Case.id.in_(chunk), pair.reported_at < b.starts_at, pair.reported_at >= lower),
        with_suspect)
    actions = _grouped(session, lambda chunk: select(
        DmmAction.case_id, DmmAction.text, DmmAction.owner, _raw(DmmAction.due_at))
        .where(DmmAction.case_id.in_(chunk), DmmAction.done_at.is_(None),
               DmmAction.due_at < b.starts_at), ids)

    facts: dict[int, CaseFacts] = {}
    for r in rows:
        principal_family = book.family.get(r.principal_code, "")
        families = {principal_family} | {book.family.get(row[1], "") for row in included[r.id]}
        families.discard("")
        facts[r.id] = CaseFacts(
            crime_ref=r.crime_ref,
            reported_at=r.reported_at,
            principal_code=r.principal_code,
            principal_family=principal_family,
            families=frozenset(families),
            status=r.status,
            risk_level=r.risk_level,
            risk_assessed_at=r.risk_assessed_at,
            risk_review_due=r.risk_review_due,
            reassessment_due_at=r.reassessment_due_at,
            spo_status=r.spo_status,
            pin_issued=bool(r.pin_issued),
            team=r.team,
            original_team=r.original_team,
            domestic_abuse=bool(r.domestic_abuse),
            has_suspect=r.suspect_id is not None,
            assessments=tuple(AssessmentFact(_dt(a[1]), a[2], a[3], _dt(a[4]), bool(a[5]))  # type: ignore[arg-type]
                              for a in assessments[r.id]),
            breaches=tuple(BreachFact(x[1], _dt(x[2]), _dt(x[3]), x[4], x[5], _dt(x[6]))  # type: ignore[arg-type]
                           for x in breaches[r.id]),
            pair_crimes=tuple(PairCrimeFact(p[1], _dt(p[2]), book.family.get(p[3], ""))  # type: ignore[arg-type]
                              for p in pair_crimes[r.id]),
            needs_assessed_at=r.needs_assessed_at,
            first_referral_at=r.first_referral_at,
            overdue_actions=tuple(ActionFact(a[1], a[2], _dt(a[3])) for a in actions[r.id]),  # type: ignore[arg-type]
            carried_from=carried_from.get(r.id),
        )
    return facts


# ---------------------------------------------------------------------------
# Meetings and items
# ---------------------------------------------------------------------------


def _meeting(session: Session, area: str, meeting_date: date) -> DmmMeeting | None:
    return session.execute(
        select(DmmMeeting).where(DmmMeeting.area_command == area,
                                 DmmMeeting.meeting_date == meeting_date)
    ).scalars().first()


def _previous_meeting(session: Session, area: str, meeting_date: date) -> DmmMeeting | None:
    return session.execute(
        select(DmmMeeting)
        .where(DmmMeeting.area_command == area, DmmMeeting.meeting_date < meeting_date)
        .order_by(DmmMeeting.meeting_date.desc()).limit(1)
    ).scalars().first()


@dataclass
class _StoredItem:
    id: int | None  # None: a queue computed for reading only (a meeting never held)
    case_id: int
    reasons_raw: Any  # as the driver gives the JSON column (decoded only when shown)
    priority: int
    decision: str | None = None
    rationale: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    discussed_at: datetime | None = None
    discussed_by: str | None = None
    mask: int | None = None
    crime_ref: str | None = None
    reported_at: datetime | None = None

    @property
    def reasons(self) -> list[str]:
        raw = self.reasons_raw
        value = json.loads(raw) if isinstance(raw, str | bytes) else raw
        return [str(code) for code in (value or [])]

    @property
    def recorded(self) -> bool:
        return self.decision is not None or self.discussed_at is not None


def _stored_items(session: Session, meeting_id: int,
                  case_ids: list[int] | None = None) -> dict[int, _StoredItem]:
    stmt = (select(DmmItem.id, DmmItem.case_id, _raw(DmmItem.reasons), DmmItem.priority,
                   DmmItem.decision, DmmItem.rationale, DmmItem.decided_by,
                   _raw(DmmItem.decided_at), _raw(DmmItem.discussed_at), DmmItem.discussed_by,
                   DmmItem.mask, DmmItem.crime_ref, _raw(DmmItem.reported_at))
            .where(DmmItem.meeting_id == meeting_id))
    found: dict[int, _StoredItem] = {}
    chunks = [None] if case_ids is None else list(_chunks(case_ids))
    for chunk in chunks:
        query = stmt if chunk is None else stmt.where(DmmItem.case_id.in_(chunk))
        for r in _core(session, query):
            found[r[1]] = _StoredItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _dt(r[7]),
                                      _dt(r[8]), r[9], r[10], r[11], _dt(r[12]))
    return found


def _ensure_meeting(session: Session, ctx: ServiceContext, area: str,
                    meeting_date: date) -> DmmMeeting:
    meeting = _meeting(session, area, meeting_date)
    if meeting is not None:
        return meeting
    covers_from, starts_at = rules.meeting_window(meeting_date, ctx.policy)
    meeting = DmmMeeting(area_command=area, meeting_date=meeting_date, starts_at=starts_at,
                         covers_from=covers_from)
    session.add(meeting)
    session.flush()
    return meeting


def _actions(session: Session, condition: Any,
             refs: dict[int, str]) -> dict[int, list[DmmActionView]]:
    """Actions matching ``condition``, by case id, earliest due first."""
    grouped: dict[int, list[DmmActionView]] = defaultdict(list)
    rows = _core(
        session,
        select(DmmAction.case_id, DmmAction.id, DmmAction.text, DmmAction.owner,
               _raw(DmmAction.due_at), _raw(DmmAction.done_at), DmmAction.created_by,
               _raw(DmmAction.created_at))
        .where(condition)
        .order_by(DmmAction.case_id, DmmAction.due_at, DmmAction.id),
    ).all()
    for r in rows:
        grouped[r[0]].append(DmmActionView(r[1], refs.get(r[0], ""), r[2], r[3], _dt(r[4]),  # type: ignore[arg-type]
                                           _dt(r[5]), r[6], _dt(r[7])))  # type: ignore[arg-type]
    return grouped


def _explain(session: Session, b: _Bounds, frame: MeetingFrame, policy: Policy,
             book: _CodeBook, rows: list[_CaseRow],
             previous: DmmMeeting | None) -> dict[int, dict[str, ReasonHit]]:
    """The rules' reasons, in words, for the cases shown."""
    if not rows:
        return {}
    carried: dict[int, date] = {}
    if previous is not None:
        undiscussed = session.execute(
            select(DmmItem.case_id).where(DmmItem.meeting_id == previous.id,
                                          DmmItem.discussed_at.is_(None),
                                          DmmItem.case_id.in_([r.id for r in rows]))
        ).scalars().all()
        carried = dict.fromkeys(undiscussed, previous.meeting_date)
    facts = _facts(session, rows, b, policy, book, carried)
    return {r.id: {hit.code: hit for hit in rules.reasons_for(facts[r.id], frame, policy)}
            for r in rows}


def _stored_hits(codes: list[str]) -> list[ReasonHit]:
    return [ReasonHit(code, REASON_TITLES.get(code, code)) for code in codes]


def _stored_explanation(codes: list[str], score: int, policy: Policy) -> str:
    weights = policy.dmm.weights
    parts = [(code, weights.get(code, 0)) for code in codes]
    rest = score - sum(v for _c, v in parts)
    text = ", ".join(f"{c} +{v}" for c, v in parts)
    text = f"{text}, risk +{rest}" if text else f"risk +{rest}"
    return f"{text} = {score} (as stored for the meeting)"


# A live queue is recomputed in full at its first build, when the policy
# changes, and at least this often; in between, only the cases changed since
# the last build (a change to a case or anything hanging off it moves its
# ``last_activity_at``: app.services.case_lock) and the cases of the same
# victim–suspect pair are re-read. The deadlines are measured at the meeting's
# start, so an unchanged case keeps its reasons.
FULL_RECOMPUTE_EVERY = timedelta(minutes=15)
# Changes made this long before the last build are read again (a transaction
# that started before the build and committed after it).
CHANGE_MARGIN = timedelta(minutes=5)
# More changed cases than this: recompute in full.
INCREMENTAL_LIMIT = 5000
FLAGS_VERSION = "dmm-flags-1"


def _cache_key(policy: Policy) -> str:
    text = repr((FLAGS_VERSION, REASON_ORDER, policy.dmm, policy.victims_code,
                 policy.allocation, policy.calendar))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _changed_cases(session: Session, since: datetime) -> list[int]:
    """Cases changed since ``since``, those sharing a victim and suspect with
    one, and cases linked to one (any area: the queue's scope narrows them).
    Read from the activity index outwards; naming the area here would steer
    the planner onto the area's whole history."""
    recent = aliased(Case, name="recent_case")
    mate = aliased(Case, name="pair_mate")
    linked = aliased(Case, name="linked_to")
    query = union(
        select(Case.id).where(Case.last_activity_at >= since),
        select(mate.id).join(recent, and_(recent.victim_id == mate.victim_id,
                                          recent.suspect_id == mate.suspect_id))
        .where(recent.last_activity_at >= since),
        select(linked.id).join(recent, recent.id == linked.linked_case_id)
        .where(recent.last_activity_at >= since),
    )
    return sorted(_core(session, query).scalars().all())


def _sync_items(session: Session, meeting_id: int, ranked: list[_Ranked], masks: _MaskBook,
                only: list[int] | None) -> None:
    """Store the computed items (all of them, or those of the cases in
    ``only``): insert new ones, update changed ones, drop items that no longer
    qualify and carry nothing recorded (kept ones get mask 0)."""
    stored = _stored_items(session, meeting_id, only)
    wanted = {r.case_id: r for r in ranked}
    new_rows = [
        {"meeting_id": meeting_id, "case_id": r.case_id, "reasons": masks.codes(r.mask),
         "priority": r.priority, "mask": r.mask, "crime_ref": r.crime_ref,
         "reported_at": r.reported_at}
        for r in ranked if r.case_id not in stored
    ]
    changed = []
    for item in stored.values():
        found = wanted.get(item.case_id)
        if found is not None:
            if (item.mask != found.mask or item.priority != found.priority
                    or item.crime_ref is None or item.reported_at != found.reported_at):
                changed.append({"item_id": item.id, "new_reasons": masks.codes(found.mask),
                                "new_priority": found.priority, "new_mask": found.mask,
                                "new_ref": found.crime_ref, "new_reported": found.reported_at})
    stale = [s for s in stored.values() if s.case_id not in wanted]
    table = DmmItem.__table__  # type: ignore[attr-defined]
    if new_rows:  # Core executemany: a whole agenda is thousands of rows
        session.connection().execute(insert(table), new_rows)
    if changed:
        session.connection().execute(
            update(table).where(table.c.id == bindparam("item_id"))
            .values(reasons=bindparam("new_reasons"), priority=bindparam("new_priority"),
                    mask=bindparam("new_mask"), crime_ref=bindparam("new_ref"),
                    reported_at=bindparam("new_reported")),
            changed,
        )
    if stale:
        unrecorded = [s.id for s in stale if not s.recorded]
        with_actions: set[int] = set()
        for chunk in _chunks(unrecorded):  # type: ignore[arg-type]
            with_actions.update(session.execute(
                select(DmmAction.item_id).where(DmmAction.item_id.in_(chunk))).scalars().all())
        drop = [i for i in unrecorded if i not in with_actions]
        keep = [s for s in stale if s.id not in set(drop) and s.mask != 0]
        for chunk in _chunks(drop):  # type: ignore[arg-type]
            session.execute(delete(DmmItem).where(DmmItem.id.in_(chunk)))
        if keep:
            refs = {r[0]: (r[1], _dt(r[2])) for chunk in _chunks([s.case_id for s in keep])
                    for r in _core(session, select(Case.id, Case.crime_ref, _raw(Case.reported_at))
                                   .where(Case.id.in_(chunk)))}
            session.connection().execute(
                update(table).where(table.c.id == bindparam("item_id"))
                .values(mask=0, crime_ref=bindparam("new_ref"),
                        reported_at=bindparam("new_reported")),
                [{"item_id": s.id, "new_ref": refs.get(s.case_id, (s.crime_ref, None))[0],
                  "new_reported": refs.get(s.case_id, (None, s.reported_at))[1]}
                 for s in keep],
            )


def _item_masks(items: Iterable[_StoredItem]) -> None:
    """Fill the mask of items stored without one (e.g. by the data generator)."""
    for item in items:
        if item.mask is None:
            item.mask = mask_of(item.reasons)


def _fill_rank_keys(session: Session, items: list[_StoredItem]) -> None:
    missing = [i for i in items if i.crime_ref is None or i.reported_at is None]
    if not missing:
        return
    by_case = {i.case_id: i for i in missing}
    for chunk in _chunks(list(by_case)):
        for r in _core(session, select(Case.id, Case.crime_ref, _raw(Case.reported_at))
                       .where(Case.id.in_(chunk))):
            by_case[r[0]].crime_ref, by_case[r[0]].reported_at = r[1], _dt(r[2])


def _display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.display_name)
                           .where(User.username.in_(wanted))).all()
    names = {r[0]: r[1] for r in rows}
    return {u: names.get(u, u) for u in wanted}


def _text_filter(session: Session, items: list[_StoredItem], text: str) -> set[int]:
    """Case ids whose crime reference contains ``text``, whose team, risk or
    decision is ``text``, or whose victim or suspect reference starts with it."""
    needle = text.strip().lower()
    upper = text.strip().upper()
    people = select(Person.id).where(Person.person_ref >= upper,
                                     Person.person_ref < upper + "\uffff")
    found = {i.case_id for i in items
             if needle in (i.crime_ref or "").lower() or needle == (i.decision or "")}
    ids = [i.case_id for i in items if i.case_id not in found]
    for chunk in _chunks(ids):
        found.update(_core(session, select(Case.id).where(
            Case.id.in_(chunk),
            or_(func.lower(Case.allocation_team) == needle,
                func.lower(func.coalesce(Case.risk_level, rules.UNASSESSED)) == needle,
                Case.victim_id.in_(people), Case.suspect_id.in_(people)),
        )).scalars().all())
    return found


def _rank_keys_missing(session: Session, meeting_id: int) -> bool:
    """Items stored without their reason bits or rank keys (e.g. by the data
    generator): those meetings are ranked in Python."""
    return session.execute(
        select(DmmItem.id).where(DmmItem.meeting_id == meeting_id,
                                 or_(DmmItem.mask.is_(None), DmmItem.crime_ref.is_(None),
                                     DmmItem.reported_at.is_(None))).limit(1)
    ).first() is not None


def _people_like(text: str) -> Any:
    upper = text.strip().upper()
    return select(Person.id).where(Person.person_ref >= upper,
                                   Person.person_ref < upper + "\uffff")


def _rank_in_sql(session: Session, meeting_id: int, *, reason: str | None, text: str | None,
                 limit: int | None, offset: int,
                 ) -> tuple[list[int], int, int, int, dict[int, int]]:
    """(page of case ids in rank order, total, discussed, matched, items per mask)
    of a stored meeting, ranked and counted by the database."""
    counts = session.execute(
        select(DmmItem.mask, func.count(), func.count(DmmItem.discussed_at))
        .where(DmmItem.meeting_id == meeting_id).group_by(DmmItem.mask)
    ).all()
    by_mask = {int(r[0] or 0): int(r[1]) for r in counts}
    total = sum(by_mask.values())
    discussed = sum(int(r[2]) for r in counts)
    stmt = select(DmmItem.case_id).where(DmmItem.meeting_id == meeting_id)
    if reason:
        stmt = stmt.where(DmmItem.mask.op("&")(REASON_BITS[reason]) != 0)
    if text and text.strip():
        needle = text.strip().lower()
        people = _people_like(text)
        stmt = stmt.join(Case, Case.id == DmmItem.case_id).where(or_(
            func.lower(DmmItem.crime_ref).contains(needle, autoescape=True),
            DmmItem.decision == needle,
            func.lower(Case.allocation_team) == needle,
            func.coalesce(Case.risk_level, rules.UNASSESSED) == needle,
            Case.victim_id.in_(people), Case.suspect_id.in_(people),
        ))
    matched = total if not (reason or (text and text.strip())) else int(session.execute(
        select(func.count()).select_from(stmt.subquery())).scalar() or 0)
    stmt = stmt.order_by(DmmItem.priority.desc(), DmmItem.reported_at,
                         DmmItem.crime_ref).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars().all()), total, discussed, matched, by_mask


def _rank_in_python(session: Session, items: list[_StoredItem], *, reason: str | None,
                    text: str | None, limit: int | None, offset: int,
                    ) -> tuple[list[_StoredItem], int, int, int, dict[int, int]]:
    items.sort(key=lambda i: rules.rank_key(i.priority, i.reported_at, i.crime_ref))  # type: ignore[arg-type]
    by_mask: dict[int, int] = {}
    for item in items:
        by_mask[item.mask or 0] = by_mask.get(item.mask or 0, 0) + 1
    discussed = sum(1 for i in items if i.discussed_at is not None)
    matched = items
    if reason:
        bit = REASON_BITS[reason]
        matched = [i for i in matched if (i.mask or 0) & bit]
    if text and text.strip():
        keep = _text_filter(session, matched, text)
        matched = [i for i in matched if i.case_id in keep]
    page = matched[offset:offset + limit] if limit is not None else matched[offset:]
    return page, len(items), discussed, len(matched), by_mask


def _recorders(session: Session, meeting_id: int) -> list[str]:
    """Who recorded something at the meeting (decisions, discussed marks, actions)."""
    items = select(DmmItem.id).where(DmmItem.meeting_id == meeting_id)
    found = session.execute(union(
        select(DmmItem.decided_by).where(DmmItem.meeting_id == meeting_id,
                                         DmmItem.decided_by.is_not(None)),
        select(DmmItem.discussed_by).where(DmmItem.meeting_id == meeting_id,
                                           DmmItem.discussed_by.is_not(None)),
        select(DmmAction.created_by).where(DmmAction.item_id.in_(items)),
    )).scalars().all()
    return sorted(u for u in found if u)


# ---------------------------------------------------------------------------
# Public: the queue
# ---------------------------------------------------------------------------


def build_queue(ctx: ServiceContext, *, area: str, meeting_date: date, audit: bool = True,
                limit: int | None = None, offset: int = 0, reason: str | None = None,
                text: str | None = None, defer_full: bool = False,
                full: bool = False) -> DmmQueue:
    """The ranked agenda of ``area``'s meeting on ``meeting_date``.

    Every item is ranked, counted and stored; ``items`` holds those matching
    ``reason`` (a code) and ``text``, from ``offset``, at most ``limit`` of
    them (all without a limit), each explained in words. Viewing is audited; a
    screen's automatic refresh of a queue already shown passes ``audit=False``.

    With ``defer_full``, a stored agenda whose periodic full recompute is due
    is brought up to date from the cases changed since its last build only,
    and the queue says ``full_refresh_due``: the caller shows it at once and
    asks again without ``defer_full``. The first build of a meeting is always
    full (``prepare_queue`` does it ahead of the meeting), and so is every
    build with ``full``.
    """
    check_area(area)
    entity_id = queue_id(area, meeting_date)
    ctx.require(Permission.VIEW_DMM, area=area, entity="dmm_queue", entity_id=entity_id)
    policy = ctx.policy
    check_meeting_day(meeting_date, policy)
    if reason and reason not in REASON_BITS:
        raise BadInput(f"reason {reason!r}: choose one of {', '.join(REASON_ORDER)}")
    frame = MeetingFrame.for_date(meeting_date, policy)
    b = _bounds(area, frame, policy)
    now = ctx.now()
    live = meeting_date >= current_meeting_date(ctx)
    masks = _MaskBook(policy)
    key = _cache_key(policy)

    only: list[int] | None = None
    ranked: list[_Ranked] = []
    full_due = False
    with ctx.read() as session:
        book = _code_book(session)
        meeting = _meeting(session, area, meeting_date)
        previous = _previous_meeting(session, area, meeting_date)
        frozen = not live and meeting is not None
        if not frozen:
            if (live and not full and meeting is not None and meeting.computed_key == key
                    and meeting.computed_at is not None and meeting.full_computed_at is not None
                    and meeting.computed_at <= now):
                full_due = now - meeting.full_computed_at >= FULL_RECOMPUTE_EVERY
                if defer_full or not full_due:
                    only = _changed_cases(session, meeting.computed_at - CHANGE_MARGIN)
                    if len(only) > INCREMENTAL_LIMIT:
                        only = None
            full_due = full_due and only is not None
            if only is None or only:
                ranked = _ranked_live(session, b, policy, book, masks, previous, only)

    for attempt in range(3):
        if not (live or audit):
            break
        try:
            with ctx.write() as session:
                if live:
                    meeting = _ensure_meeting(session, ctx, area, meeting_date)
                    if only is None or only:
                        _sync_items(session, meeting.id, ranked, masks, only)  # type: ignore[arg-type]
                    meeting.computed_at = now
                    meeting.computed_key = key
                    if only is None:
                        meeting.full_computed_at = now
                    session.add(meeting)
                if audit:
                    ctx.audit(session, AuditAction.VIEW, "dmm_queue", entity_id,
                              reason=f"DMM queue viewed ({'live' if live else 'record'})")
            break
        except IntegrityError:  # another user created the meeting or an item first
            if attempt == 2:
                raise

    with ctx.read() as session:
        start = max(0, offset)
        sql_ranked = (meeting is not None and meeting.id is not None
                      and not _rank_keys_missing(session, meeting.id))
        if sql_ranked:
            page_ids, total, discussed, matched, by_mask = _rank_in_sql(
                session, meeting.id, reason=reason, text=text, limit=limit, offset=start)  # type: ignore[union-attr,arg-type]
            stored_page = _stored_items(session, meeting.id, page_ids)  # type: ignore[union-attr,arg-type]
            page = [stored_page[cid] for cid in page_ids if cid in stored_page]
            who = _recorders(session, meeting.id)  # type: ignore[union-attr,arg-type]
        else:
            if meeting is not None and meeting.id is not None:
                items = list(_stored_items(session, meeting.id).values())
                _item_masks(items)
                _fill_rank_keys(session, items)
                who = _recorders(session, meeting.id)
            else:  # an earlier meeting never held: shown, not stored
                items = [_StoredItem(None, r.case_id, masks.codes(r.mask), r.priority,
                                     mask=r.mask, crime_ref=r.crime_ref,
                                     reported_at=r.reported_at) for r in ranked]
                who = []
            page, total, discussed, matched, by_mask = _rank_in_python(
                session, items, reason=reason, text=text, limit=limit, offset=start)
        reason_counts: dict[str, int] = {}
        for mask, count in by_mask.items():
            for code in masks.codes(mask or 0):
                reason_counts[code] = reason_counts.get(code, 0) + count
        page_ids = [p.case_id for p in page]
        actions = _actions(
            session, and_(DmmAction.item_id.in_(select(DmmItem.id).where(
                DmmItem.meeting_id == meeting.id)), DmmAction.case_id.in_(page_ids)), {}) \
            if meeting is not None and meeting.id is not None and page_ids else {}
        rows = {r.id: r for r in _case_rows(session, page_ids, area)}
        explained = {} if frozen else _explain(
            session, b, frame, policy, book,
            [rows[p.case_id] for p in page if p.mask and p.case_id in rows], previous)
        names = _display_names(session, [meeting.chaired_by if meeting else None, *who])

    result: list[DmmQueueItem] = []
    for stored in page:
        row = rows.get(stored.case_id)
        if row is None:
            continue
        if stored.mask and not frozen:
            said = explained.get(stored.case_id, {})
            hits = [said.get(code) or ReasonHit(code, REASON_TITLES.get(code, code))
                    for code in masks.codes(stored.mask)]
            explanation = masks.priority(stored.mask, row.risk_level).explanation
            if masks.priority(stored.mask, row.risk_level).score != stored.priority:
                explanation = _stored_explanation([h.code for h in hits], stored.priority,
                                                  policy)
        else:
            hits = _stored_hits(stored.reasons)
            explanation = _stored_explanation([h.code for h in hits], stored.priority, policy)
        result.append(DmmQueueItem(
            crime_ref=row.crime_ref,
            case_version=row.version,
            priority=stored.priority,
            reasons=hits,
            priority_explanation=explanation,
            risk=row.risk_level,
            team=row.team,
            reported_at=row.reported_at,
            victim_ref=row.victim_ref,
            suspect_ref=row.suspect_ref,
            decision=stored.decision,
            rationale=stored.rationale,
            discussed_at=stored.discussed_at,
            actions=[replace(a, crime_ref=row.crime_ref, meeting_date=meeting_date)
                     for a in actions.get(stored.case_id, [])],
            principal_code=row.principal_code,
            status=row.status,
            officer=row.officer,
            decided_by=stored.decided_by,
            decided_at=stored.decided_at,
            discussed_by=stored.discussed_by,
        ))
    attendees = sorted({names.get(u, u) for u in who})
    return DmmQueue(
        area=area,
        meeting_date=meeting_date,
        starts_at=frame.starts_at,
        covers_from=frame.covers_from,
        previous_meeting_date=rules.previous_meeting_date(meeting_date, policy),
        live=live,
        recorded=meeting is not None,
        can_decide=ctx.allowed(Permission.DECIDE_DMM, area=area),
        built_at=now,
        items=result,
        total=total,
        discussed=discussed,
        matched=matched,
        offset=start,
        reason_counts=reason_counts,
        chaired_by=names.get(meeting.chaired_by, meeting.chaired_by)
        if meeting and meeting.chaired_by else None,
        attendees=attendees,
        full_refresh_due=full_due,
    )


@dataclass(frozen=True)
class PreparedQueue:
    """A meeting's agenda computed and stored ahead of the meeting."""

    area: str
    meeting_date: date
    total: int


def prepare_queue(ctx: ServiceContext, *, area: str, meeting_date: date) -> PreparedQueue:
    """Compute and store the whole agenda of ``area``'s meeting on
    ``meeting_date`` now (e.g. overnight, after the RMS extract is imported), so
    that the morning's first view only reads the cases changed since. Only
    today's meeting or a later one can be prepared; earlier ones are records.
    Audited as a change to the stored agenda."""
    check_area(area)
    if meeting_date < current_meeting_date(ctx):
        raise BadInput(f"prepare {area} {meeting_date:%d/%m/%Y}: that meeting has been held; "
                       "only today's meeting or a later one can be prepared")
    queue = build_queue(ctx, area=area, meeting_date=meeting_date, audit=False, limit=0,
                        full=True)
    with ctx.write() as session:
        ctx.audit(session, AuditAction.UPDATE, "dmm_queue", queue_id(area, meeting_date),
                  reason=f"DMM agenda prepared: {queue.total} items")
    return PreparedQueue(area=area, meeting_date=meeting_date, total=queue.total)


def _with_meeting(action: DmmActionView, meeting_date: date) -> DmmActionView:
    return replace(action, meeting_date=meeting_date)


# ---------------------------------------------------------------------------
# Public: decisions, actions, discussed marks
# ---------------------------------------------------------------------------


def _item_for_change(ctx: ServiceContext, session: Session, area: str, meeting_date: date,
                     crime_ref: str) -> tuple[Case, DmmMeeting, DmmItem]:
    check_meeting_day(meeting_date, ctx.policy)
    case_row = load_case(session, crime_ref)
    if case_row.area_command != area:
        raise BadInput(f"{crime_ref} belongs to {case_row.area_command}, not to the "
                       f"{area} meeting")
    meeting = _meeting(session, area, meeting_date)
    if meeting is None:
        if meeting_date < current_meeting_date(ctx):
            raise BadInput(f"no DMM was held for {area} on {meeting_date:%a %d/%m/%Y}: "
                           "decisions are recorded on a meeting that took place")
        meeting = _ensure_meeting(session, ctx, area, meeting_date)
    item = session.execute(
        select(DmmItem).where(DmmItem.meeting_id == meeting.id, DmmItem.case_id == case_row.id)
    ).scalars().first()
    if item is None:  # a case the chair adds to the agenda
        item = DmmItem(meeting_id=meeting.id, case_id=case_row.id, reasons=[], priority=0,  # type: ignore[arg-type]
                       mask=0, crime_ref=case_row.crime_ref, reported_at=case_row.reported_at)
        session.add(item)
        session.flush()
    return case_row, meeting, item


def _state(session: Session, case_row: Case, version: int, meeting: DmmMeeting,
           item: DmmItem) -> DmmItemState:
    actions = _actions(session, DmmAction.item_id == item.id, {case_row.id: case_row.crime_ref})  # type: ignore[dict-item]
    return DmmItemState(
        crime_ref=case_row.crime_ref,
        case_version=version,
        meeting_date=meeting.meeting_date,
        decision=item.decision,
        rationale=item.rationale,
        decided_by=item.decided_by,
        decided_at=item.decided_at,
        discussed_at=item.discussed_at,
        discussed_by=item.discussed_by,
        actions=[_with_meeting(a, meeting.meeting_date) for a in actions.get(case_row.id, [])],  # type: ignore[arg-type]
    )


def _item_snapshot(item: DmmItem) -> dict[str, Any]:
    return {"decision": item.decision, "rationale": item.rationale,
            "discussed_at": item.discussed_at}


def record_decision(ctx: ServiceContext, *, area: str, meeting_date: date, crime_ref: str,
                    decision: str, rationale: str,
                    expected_version: int | None = None) -> DmmItemState:
    """Record the meeting's decision on a case, with its rationale. The item
    counts as discussed. Supervisors of the area only (trainers in training)."""
    check_area(area)
    try:
        chosen = DmmDecision(str(decision).strip().lower())
    except ValueError:
        raise BadInput(f"decision {decision!r}: choose one of "
                       f"{', '.join(d.value for d in DmmDecision)}") from None
    text = (rationale or "").strip()
    if not text:
        raise BadInput(f"a rationale is required for the decision on {crime_ref}")
    ctx.require(Permission.DECIDE_DMM, area=area, entity="case", entity_id=crime_ref)
    now = ctx.now()
    with ctx.write() as session:
        case_row, meeting, item = _item_for_change(ctx, session, area, meeting_date, crime_ref)
        before = _item_snapshot(item)
        item.decision = chosen.value
        item.rationale = text
        item.decided_by = ctx.actor.username
        item.decided_at = now
        if item.discussed_at is None:
            item.discussed_at = now
            item.discussed_by = ctx.actor.username
        if meeting.chaired_by is None:
            meeting.chaired_by = ctx.actor.username
        session.add_all([item, meeting])
        version = claim_case(session, case_row.id, expected_version, now, crime_ref=crime_ref)  # type: ignore[arg-type]
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"DMM decision: {DECISION_LABELS[chosen]} "
                         f"({area} meeting {meeting_date:%d/%m/%Y})",
                  before=before, after=_item_snapshot(item))
        return _state(session, case_row, version, meeting, item)


def add_action(ctx: ServiceContext, *, area: str, meeting_date: date, crime_ref: str, text: str,
               owner: str, due_at: datetime | None,
               expected_version: int | None = None) -> DmmActionView:
    """Set an action on a case at the meeting: what, who, by when (default:
    the policy's ``dmm.default_action_hours`` from now)."""
    check_area(area)
    words = " ".join((text or "").split())
    who = (owner or "").strip()
    if not words:
        raise BadInput(f"action on {crime_ref}: say what is to be done")
    if not who:
        raise BadInput(f"action on {crime_ref}: name the owner")
    now = ctx.now()
    due = due_at or now + timedelta(hours=ctx.policy.dmm.default_action_hours)
    if due.tzinfo is None:
        raise BadInput(f"action on {crime_ref}: the due time needs a time zone")
    ctx.require(Permission.DECIDE_DMM, area=area, entity="case", entity_id=crime_ref)
    with ctx.write() as session:
        case_row, meeting, item = _item_for_change(ctx, session, area, meeting_date, crime_ref)
        action = DmmAction(item_id=item.id, case_id=case_row.id, text=words[:2000], owner=who[:64],  # type: ignore[arg-type]
                           due_at=due, created_by=ctx.actor.username, created_at=now)
        session.add(action)
        if meeting.chaired_by is None:
            meeting.chaired_by = ctx.actor.username
            session.add(meeting)
        session.flush()
        claim_case(session, case_row.id, expected_version, now, crime_ref=crime_ref)  # type: ignore[arg-type]
        ctx.audit(session, AuditAction.CREATE, "case", crime_ref,
                  reason=f"DMM action set ({area} meeting {meeting_date:%d/%m/%Y})",
                  after={"action_id": action.id, "text": action.text, "owner": action.owner,
                         "due_at": due})
        return DmmActionView(action.id, crime_ref, action.text, action.owner, action.due_at,  # type: ignore[arg-type]
                             None, action.created_by, action.created_at, meeting_date)


def mark_discussed(ctx: ServiceContext, *, area: str, meeting_date: date, crime_ref: str,
                   discussed: bool = True, expected_version: int | None = None) -> DmmItemState:
    """Mark an item discussed (or not). An item with a decision stays discussed."""
    check_area(area)
    ctx.require(Permission.DECIDE_DMM, area=area, entity="case", entity_id=crime_ref)
    now = ctx.now()
    with ctx.write() as session:
        case_row, meeting, item = _item_for_change(ctx, session, area, meeting_date, crime_ref)
        before = _item_snapshot(item)
        if discussed:
            if item.discussed_at is None:
                item.discussed_at = now
                item.discussed_by = ctx.actor.username
        else:
            if item.decision is not None:
                raise BadInput(f"{crime_ref} has a decision ({item.decision}); it stays discussed")
            item.discussed_at = None
            item.discussed_by = None
        session.add(item)
        version = claim_case(session, case_row.id, expected_version, now, crime_ref=crime_ref)  # type: ignore[arg-type]
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"DMM item marked {'discussed' if discussed else 'not discussed'} "
                         f"({area} meeting {meeting_date:%d/%m/%Y})",
                  before=before, after=_item_snapshot(item))
        return _state(session, case_row, version, meeting, item)


def complete_action(ctx: ServiceContext, *, action_id: int,
                    expected_version: int | None = None) -> DmmActionView:
    """Mark a DMM action done (supervisors and officers of the case's area)."""
    now = ctx.now()
    with ctx.read() as session:
        found = session.execute(
            select(DmmAction, Case.crime_ref, Case.area_command)
            .join(Case, Case.id == DmmAction.case_id).where(DmmAction.id == action_id)
        ).first()
    if found is None:
        raise NotFound(f"DMM action {action_id} does not exist")
    _action, crime_ref, area = found
    if not ctx.allowed(Permission.DECIDE_DMM, area=area):
        ctx.require(Permission.EDIT_CASE, area=area, entity="case", entity_id=crime_ref)
    with ctx.write() as session:
        action = session.get(DmmAction, action_id)
        if action is None:
            raise NotFound(f"DMM action {action_id} does not exist")
        if action.done_at is not None:
            raise BadInput(f"DMM action {action_id} on {crime_ref} was already done")
        action.done_at = now
        session.add(action)
        claim_case(session, action.case_id, expected_version, now, crime_ref=crime_ref)
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason="DMM action completed", before={"action_id": action_id, "done_at": None},
                  after={"action_id": action_id, "done_at": now})
        meeting_date = session.execute(
            select(DmmMeeting.meeting_date).join(DmmItem, DmmItem.meeting_id == DmmMeeting.id)
            .where(DmmItem.id == action.item_id)).scalar()
        return DmmActionView(action.id, crime_ref, action.text, action.owner, action.due_at,  # type: ignore[arg-type]
                             action.done_at, action.created_by, action.created_at, meeting_date)


# ---------------------------------------------------------------------------
# Public: the side panel
# ---------------------------------------------------------------------------


def item_detail(ctx: ServiceContext, *, crime_ref: str, audit: bool = True) -> DmmItemDetail:
    """Risk history, orders, breaches, last actions and decisions of a case (audited view)."""
    with ctx.read() as session:
        case_row = load_case(session, crime_ref)
    ctx.require(Permission.VIEW_DMM, area=case_row.area_command, entity="case",
                entity_id=crime_ref)
    with ctx.read() as session:
        book = _code_book(session)
        victim_ref = session.execute(select(Person.person_ref)
                                     .where(Person.id == case_row.victim_id)).scalar() or ""
        suspect_ref = session.execute(select(Person.person_ref)
                                      .where(Person.id == case_row.suspect_id)).scalar() \
            if case_row.suspect_id else None
        included = tuple(session.execute(
            select(IncludedClassification.code)
            .where(IncludedClassification.case_id == case_row.id)
            .order_by(IncludedClassification.code)).scalars().all())
        risk_history = [
            RiskHistoryEntry(r.assessed_at, r.level, r.suggested_level, r.yes_count, r.assessor,
                             r.review_due, r.management_plan, r.approval_required)
            for r in session.execute(
                select(RiskAssessment).where(RiskAssessment.case_id == case_row.id)
                .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc()).limit(10)
            ).scalars()
        ]
        orders = [
            OrderEntry(o.order_ref, o.kind, o.status, o.granted_at, o.expires_at)
            for o in session.execute(
                select(ProtectiveOrder).where(ProtectiveOrder.case_id == case_row.id)
                .order_by(ProtectiveOrder.id)).scalars()
        ]
        breach_case = aliased(Case, name="breach_case")
        breaches = [
            BreachEntry(r[0], r[1], r[2], r[3])
            for r in session.execute(
                select(Breach.breach_ref, breach_case.crime_ref, Breach.reported_at,
                       Breach.acknowledged_at)
                .join(breach_case, breach_case.id == Breach.breach_case_id)
                .where(Breach.original_case_id == case_row.id)
                .order_by(Breach.reported_at.desc()).limit(10))
        ]
        actions = [
            DmmActionView(r[0], crime_ref, r[1], r[2], r[3], r[4], r[5], r[6], r[7])
            for r in session.execute(
                select(DmmAction.id, DmmAction.text, DmmAction.owner, DmmAction.due_at,
                       DmmAction.done_at, DmmAction.created_by, DmmAction.created_at,
                       DmmMeeting.meeting_date)
                .join(DmmItem, DmmItem.id == DmmAction.item_id)
                .join(DmmMeeting, DmmMeeting.id == DmmItem.meeting_id)
                .where(DmmAction.case_id == case_row.id)
                .order_by(DmmAction.created_at.desc(), DmmAction.id.desc()).limit(10))
        ]
        decisions = [
            DecisionEntry(r[0], r[1], r[2], r[3], r[4], r[5])
            for r in session.execute(
                select(DmmMeeting.meeting_date, DmmMeeting.area_command, DmmItem.decision,
                       DmmItem.rationale, DmmItem.decided_by, DmmItem.discussed_at)
                .join(DmmMeeting, DmmMeeting.id == DmmItem.meeting_id)
                .where(DmmItem.case_id == case_row.id,
                       or_(DmmItem.decision.is_not(None), DmmItem.discussed_at.is_not(None)))
                .order_by(DmmMeeting.meeting_date.desc()).limit(5))
        ]
    if audit:
        with ctx.write() as session:
            ctx.audit(session, AuditAction.VIEW, "case", crime_ref, reason="DMM item viewed")
    return DmmItemDetail(
        crime_ref=case_row.crime_ref,
        case_version=case_row.version,
        area=case_row.area_command,
        principal_code=case_row.principal_code,
        principal_title=book.title.get(case_row.principal_code, case_row.principal_code),
        included_codes=included,
        status=case_row.status,
        reported_at=case_row.reported_at,
        team=case_row.allocation_team,
        officer=case_row.officer,
        risk=case_row.risk_level,
        risk_review_due=case_row.risk_review_due,
        spo_status=case_row.spo_status,
        victim_ref=victim_ref,
        suspect_ref=suspect_ref,
        relationship=case_row.relationship,
        domestic_abuse=case_row.domestic_abuse,
        online=case_row.online,
        summary=case_row.summary,
        risk_history=risk_history,
        orders=orders,
        breaches=breaches,
        actions=actions,
        decisions=decisions,
    )
