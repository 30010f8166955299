"""Step 2 of an agenda: the facts of the cases shown, and the rules' words for them.

The facts of a few hundred cases are read with one query per kind (case and
people, included codes, assessments, breaches, the pair's other crimes,
actions, decisions), chunked for SQLite's parameter limit, and handed to the
pure rules of :mod:`app.rules.dmm`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.policy import Policy
from app.rules import dmm as rules
from app.rules.dmm import MeetingFrame
from app.rules.dmm_facts import (
    ActionFact,
    AssessmentFact,
    BreachFact,
    CaseFacts,
    NotificationFact,
    PairCrimeFact,
    ReasonHit,
)
from app.rules.dmm_reasons import REASON_BITS, STANDING_REASONS
from app.services.dmm.common import (
    Bounds,
    CodeBook,
    action_open,
    as_utc,
    chunks,
    core_rows,
    ts,
    unconverted,
)
from app.services.dmm.reason_sql import STANDING_BITS, RankedItem, notice_conditions
from models import (
    Breach,
    Case,
    DmmAction,
    DmmItem,
    DmmMeeting,
    IncludedClassification,
    Person,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    VictimCare,
)
from models.enums import CaseStatus

# The aliases of the statements below, made once (an alias made per call
# rebuilds its table's column proxies every time).
VICTIM = aliased(Person, name="victim")
SUSPECT = aliased(Person, name="suspect")
ORIGINAL_CASE = aliased(Case, name="original_case")
DECIDED_CASE = aliased(Case, name="decided_case")
PAIR_CASE = aliased(Case, name="pair_case")


@dataclass
class CaseRow:
    """A case as the agenda shows it."""

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
    victim_id: int
    suspect_id: int | None
    linked_case_id: int | None
    victim_ref: str
    suspect_ref: str | None
    original_team: str | None
    needs_assessed_at: datetime | None
    first_referral_at: datetime | None
    area: str
    consent_refused: bool = False


def case_rows(session: Session, ids: list[int], area: str | None,
              policy: Policy) -> list[CaseRow]:
    """The cases ``ids`` (of ``area``, when given) with their people and care dates."""
    victim, suspect, original = VICTIM, SUSPECT, ORIGINAL_CASE
    signposting = policy.victims_code.signposting_services
    first_referral = (select(func.min(Referral.referred_at))
                      .where(Referral.case_id == Case.id, Referral.service.not_in(signposting))
                      .scalar_subquery())
    rows: list[CaseRow] = []
    for chunk in chunks(ids):
        stmt = (
            select(
                Case.id, Case.crime_ref, Case.version,
                unconverted(Case.reported_at).label("reported_at"), Case.principal_code, Case.status,
                unconverted(Case.closed_at).label("closed_at"), Case.risk_level,
                unconverted(Case.risk_assessed_at).label("risk_assessed_at"),
                unconverted(Case.risk_review_due).label("risk_review_due"),
                unconverted(Case.reassessment_due_at).label("reassessment_due_at"), Case.spo_status,
                Case.pin_issued, Case.allocation_team, Case.officer, Case.domestic_abuse,
                Case.victim_id, Case.suspect_id, Case.linked_case_id,
                victim.person_ref.label("victim_ref"), suspect.person_ref.label("suspect_ref"),
                original.allocation_team.label("original_team"),
                unconverted(VictimCare.needs_assessed_at).label("needs_assessed_at"),
                unconverted(first_referral).label("first_referral_at"), Case.area_command,
                VictimCare.consent,
            )
            .join(victim, victim.id == Case.victim_id)
            .outerjoin(suspect, suspect.id == Case.suspect_id)
            .outerjoin(original, original.id == Case.linked_case_id)
            .outerjoin(VictimCare, VictimCare.case_id == Case.id)
            .where(Case.id.in_(chunk))
        )
        for found in core_rows(session, stmt):
            r = found._mapping
            rows.append(CaseRow(
                id=r["id"], crime_ref=r["crime_ref"], version=r["version"],
                reported_at=as_utc(r["reported_at"]),  # type: ignore[arg-type]
                principal_code=r["principal_code"], status=r["status"],
                closed_at=as_utc(r["closed_at"]), risk_level=r["risk_level"],
                risk_assessed_at=as_utc(r["risk_assessed_at"]),
                risk_review_due=as_utc(r["risk_review_due"]),
                reassessment_due_at=as_utc(r["reassessment_due_at"]),
                spo_status=r["spo_status"], pin_issued=bool(r["pin_issued"]),
                team=r["allocation_team"], officer=r["officer"],
                domestic_abuse=bool(r["domestic_abuse"]), victim_id=r["victim_id"],
                suspect_id=r["suspect_id"], linked_case_id=r["linked_case_id"],
                victim_ref=r["victim_ref"], suspect_ref=r["suspect_ref"],
                original_team=r["original_team"],
                needs_assessed_at=as_utc(r["needs_assessed_at"]),
                first_referral_at=as_utc(r["first_referral_at"]), area=r["area_command"],
                consent_refused=r["consent"] is False,
            ))
    # the area is checked here: naming it in SQL steers the planner off the ids
    return [r for r in rows if area is None or r.area == area]


def grouped(session: Session, stmt_for: Callable[[list[int]], Any],
            ids: list[int]) -> dict[int, list[Any]]:
    """Rows of ``stmt_for(chunk)`` by their first column (a case id), as mappings."""
    found: dict[int, list[Any]] = defaultdict(list)
    for chunk in chunks(ids):
        for row in core_rows(session, stmt_for(chunk)):
            fields = row._mapping
            found[fields["case_id"]].append(fields)
    return found


def _decisions(session: Session, rows: list[CaseRow], b: Bounds) -> tuple[
        dict[int, datetime], dict[tuple[int, int | None], datetime]]:
    """Latest decision recorded at an earlier meeting, by case and by pair."""
    by_case: dict[int, datetime] = {}
    by_pair: dict[tuple[int, int | None], datetime] = {}
    pairs = sorted({r.victim_id for r in rows})
    mate = DECIDED_CASE
    for chunk in chunks(pairs):
        stmt = (select(DmmItem.case_id, unconverted(func.max(DmmItem.decided_at)).label("decided_at"),
                       mate.victim_id, mate.suspect_id)
                .join(DmmMeeting, DmmMeeting.id == DmmItem.meeting_id)
                .join(mate, mate.id == DmmItem.case_id)
                .where(mate.victim_id.in_(chunk), DmmItem.decision.is_not(None),
                       DmmMeeting.meeting_date < b.meeting_date)
                .group_by(DmmItem.case_id, mate.victim_id, mate.suspect_id))
        for row in core_rows(session, stmt):
            r = row._mapping
            at = as_utc(r["decided_at"])
            if at is None:
                continue
            by_case[r["case_id"]] = at
            key = (r["victim_id"], r["suspect_id"])
            if r["suspect_id"] is not None and (key not in by_pair or by_pair[key] < at):
                by_pair[key] = at
    return by_case, by_pair


def _carried(session: Session, rows: list[CaseRow], b: Bounds,
             decided: dict[int, datetime]) -> dict[int, date]:
    """The latest earlier meeting of the area that listed the case for a reason
    and recorded no decision on it, since the case was last decided on."""
    found: dict[int, date] = {}
    for chunk in chunks([r.id for r in rows]):
        stmt = (select(DmmItem.case_id, DmmMeeting.meeting_date,
                       unconverted(DmmMeeting.starts_at).label("starts_at"))
                .join(DmmMeeting, DmmMeeting.id == DmmItem.meeting_id)
                .where(DmmItem.case_id.in_(chunk), DmmItem.decision.is_(None),
                       func.coalesce(DmmItem.mask, 1) != 0,
                       DmmMeeting.area_command == b.area,
                       DmmMeeting.meeting_date < b.meeting_date))
        for row in core_rows(session, stmt):
            r = row._mapping
            last = decided.get(r["case_id"])
            starts = as_utc(r["starts_at"])
            if last is not None and starts is not None and starts <= last:
                continue
            day = r["meeting_date"]
            if isinstance(day, str):
                day = date.fromisoformat(day)
            if r["case_id"] not in found or found[r["case_id"]] < day:
                found[r["case_id"]] = day
    return found


def gather_facts(session: Session, rows: list[CaseRow], b: Bounds, policy: Policy,
                 book: CodeBook, *, standing_only: bool = False) -> dict[int, CaseFacts]:
    """What the rules need about each of ``rows`` for the meeting ``b``
    (``standing_only``: what the standing gaps need, without the breaches,
    the pair's crimes, the open actions and earlier listings that only the
    meeting items read)."""
    ids = [r.id for r in rows]
    if not ids:
        return {}
    if standing_only:
        return _facts(rows, book, grouped(session, _included_stmt, ids),
                      grouped(session, _assessments_stmt, ids), {}, {}, {},
                      _decisions(session, rows, b), {})
    included = grouped(session, _included_stmt, ids)
    assessments = grouped(session, _assessments_stmt, ids)
    original = ORIGINAL_CASE
    breaches = grouped(session, lambda chunk: select(
        Breach.breach_case_id.label("case_id"), Breach.breach_ref,
        unconverted(Breach.reported_at).label("reported_at"),
        unconverted(Breach.acknowledged_at).label("acknowledged_at"),
        unconverted(Breach.arrest_at).label("arrest_at"), ProtectiveOrder.kind,
        ProtectiveOrder.order_ref, original.crime_ref.label("original_ref"),
        original.status.label("original_status"))
        .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
        .join(original, original.id == Breach.original_case_id)
        .where(Breach.breach_case_id.in_(chunk), Breach.reported_at < ts(b.starts_at))
        .order_by(Breach.breach_case_id, Breach.reported_at, Breach.id), ids)
    # the pair's other crimes: since the repeat window, or since the case itself
    since = b.starts_at - timedelta(days=policy.dmm.repeat_pair_window_days)
    pair = PAIR_CASE
    lower = case((Case.reported_at < ts(since), Case.reported_at), else_=ts(since))
    with_suspect = [r.id for r in rows if r.suspect_id is not None]
    pair_crimes = grouped(session, lambda chunk: select(
        Case.id.label("case_id"), pair.crime_ref, unconverted(pair.reported_at).label("reported_at"),
        pair.principal_code)
        .join(pair, and_(pair.victim_id == Case.victim_id, pair.suspect_id == Case.suspect_id,
                         pair.id != Case.id))
        .where(Case.id.in_(chunk), pair.reported_at < ts(b.starts_at),
               pair.reported_at >= lower), with_suspect)
    actions = grouped(session, lambda chunk: select(
        DmmAction.case_id, DmmAction.text, DmmAction.owner,
        unconverted(DmmAction.due_at).label("due_at"))
        .where(DmmAction.case_id.in_(chunk), action_open(b)), ids)
    notices = grouped(session, lambda chunk: notice_stmt().where(
        ProtectiveOrder.case_id.in_(chunk)), ids)
    decisions = _decisions(session, rows, b)
    carried = _carried(session, rows, b, decisions[0])
    facts = _facts(rows, book, included, assessments, breaches, pair_crimes, actions, decisions,
                   carried)
    for case_id, found in notices.items():
        facts[case_id] = replace(facts[case_id], notifications=tuple(
            NotificationFact(n["order_ref"], n["kind"], as_utc(n["served_at"]),  # type: ignore[arg-type]
                             as_utc(n["due_at"]), as_utc(n["notified_at"]))  # type: ignore[arg-type]
            for n in found))
    return facts


def notice_stmt() -> Any:
    """The SPOs and interim SPOs in force and served, with their notification
    clock (``case_id`` first, for :func:`grouped`)."""
    return (select(ProtectiveOrder.case_id, ProtectiveOrder.order_ref, ProtectiveOrder.kind,
                   unconverted(ProtectiveOrder.served_at).label("served_at"),
                   unconverted(ProtectiveOrder.notification_due_at).label("due_at"),
                   unconverted(ProtectiveOrder.notified_at).label("notified_at"))
            .where(*notice_conditions(ProtectiveOrder)))


def _included_stmt(chunk: list[int]) -> Any:
    return (select(IncludedClassification.case_id, IncludedClassification.code)
            .where(IncludedClassification.case_id.in_(chunk)))


def _assessments_stmt(chunk: list[int]) -> Any:
    return (select(
        RiskAssessment.case_id, unconverted(RiskAssessment.assessed_at).label("assessed_at"),
        RiskAssessment.level, RiskAssessment.suggested_level,
        unconverted(RiskAssessment.review_due).label("review_due"),
        func.coalesce(func.length(RiskAssessment.management_plan), 0).label("plan_length"),
        RiskAssessment.approved_by, RiskAssessment.approval_required,
        unconverted(RiskAssessment.plan_review_due).label("plan_review_due"))
        .where(RiskAssessment.case_id.in_(chunk))
        .order_by(RiskAssessment.case_id, RiskAssessment.assessed_at, RiskAssessment.id))


def _facts(rows: list[CaseRow], book: CodeBook, included: dict[int, list[Any]],
           assessments: dict[int, list[Any]], breaches: dict[int, list[Any]],
           pair_crimes: dict[int, list[Any]], actions: dict[int, list[Any]],
           decisions: tuple[dict[int, datetime], dict[tuple[int, int | None], datetime]],
           carried: dict[int, date]) -> dict[int, CaseFacts]:
    decided, pair_decided = decisions
    facts: dict[int, CaseFacts] = {}
    for r in rows:
        principal_family = book.family.get(r.principal_code, "")
        families = {principal_family} | {book.family.get(i["code"], "") for i in included.get(r.id, ())}
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
            assessments=tuple(
                AssessmentFact(as_utc(a["assessed_at"]), a["level"],  # type: ignore[arg-type]
                               a["suggested_level"], as_utc(a["review_due"]),
                               bool(a["plan_length"]), a["approved_by"] is not None,
                               bool(a["approval_required"]), as_utc(a["plan_review_due"]))
                for a in assessments.get(r.id, ())),
            breaches=tuple(
                BreachFact(x["breach_ref"], as_utc(x["reported_at"]),  # type: ignore[arg-type]
                           as_utc(x["acknowledged_at"]), x["kind"], x["order_ref"],
                           x["original_ref"] if x["original_ref"] != r.crime_ref else None,
                           x["original_status"], as_utc(x["arrest_at"]))
                for x in breaches.get(r.id, ())),
            pair_crimes=tuple(
                PairCrimeFact(p["crime_ref"], as_utc(p["reported_at"]),  # type: ignore[arg-type]
                              book.family.get(p["principal_code"], ""))
                for p in pair_crimes.get(r.id, ())),
            needs_assessed_at=r.needs_assessed_at,
            first_referral_at=r.first_referral_at,
            consent_refused=r.consent_refused,
            open_actions=tuple(ActionFact(a["text"], a["owner"], as_utc(a["due_at"]))  # type: ignore[arg-type]
                               for a in actions.get(r.id, ())),
            carried_from=carried.get(r.id),
            last_decided_at=decided.get(r.id),
            pair_decided_at=pair_decided.get((r.victim_id, r.suspect_id))
            if r.suspect_id is not None else None,
        )
    return facts


def explain(session: Session, b: Bounds, frame: MeetingFrame, policy: Policy,
            book: CodeBook, rows: list[CaseRow]) -> dict[int, dict[str, ReasonHit]]:
    """The rules' reasons, in words, for the cases shown."""
    if not rows:
        return {}
    facts = gather_facts(session, rows, b, policy, book)
    return {r.id: {hit.code: hit for hit in rules.reasons_for(facts[r.id], frame, policy)}
            for r in rows}


def settle_standing(session: Session, b: Bounds, frame: MeetingFrame, policy: Policy,
                    book: CodeBook, items: list[RankedItem]) -> list[RankedItem]:
    """Standing gaps the SQL selected as able to reach this meeting: keep the
    bits of those that crossed a threshold no meeting has decided on since
    (the rules' own judgement), drop items left with no reason."""
    unsettled = []
    for item in items:
        if not item.mask & STANDING_BITS:
            continue
        # gaps timed from the report whose thresholds all fell before the first
        # extract are settled here, without reading the case's facts
        for code in STANDING_REASONS:
            bit = REASON_BITS[code]
            if item.mask & bit and not rules.gap_may_reach_meeting(code, item.reported_at,
                                                                   frame, policy):
                item.mask &= ~bit
        if item.mask & STANDING_BITS:
            unsettled.append(item)
    if not unsettled:
        return [item for item in items if item.mask]
    by_id = {r.id: r for r in case_rows(session, [i.case_id for i in unsettled], None, policy)}
    facts = gather_facts(session, list(by_id.values()), b, policy, book, standing_only=True)
    kept: list[RankedItem] = []
    for item in items:
        if item.mask & STANDING_BITS and item.case_id in facts:
            case_facts = facts[item.case_id]
            crossed = 0
            for gap in rules.standing_gaps(case_facts, frame, policy):
                if rules.crossing_on_agenda(gap, case_facts.last_decided_at, frame) is not None:
                    crossed |= REASON_BITS[gap.code]
            item.mask = (item.mask & ~STANDING_BITS) | (crossed & item.mask)
        if item.mask:
            kept.append(item)
    return kept


def flagged_by_rules(session: Session, b: Bounds, frame: MeetingFrame, policy: Policy,
                     book: CodeBook, ids: list[int]) -> list[RankedItem]:
    """The cases ``ids`` in the meeting's scope with any reason, their masks
    set by the rules themselves (standing gaps already settled), as light
    items (priority still to be set).

    For the few cases changed since an agenda was built: their facts are read
    with the page's own statements, where the SQL twin of every reason
    (:func:`app.services.dmm.reason_sql.flagged_rows`) is one large statement
    to build and, once per process, to compile. The scope is the twin's: open
    cases, cases closed within the grace days, and breach crimes whose breach
    belongs on this agenda."""
    rows = [r for r in case_rows(session, ids, b.area, policy) if r.reported_at < b.starts_at]
    facts = gather_facts(session, rows, b, policy, book)
    found: list[RankedItem] = []
    for row in rows:
        case_facts = facts[row.id]
        in_scope = (row.status == CaseStatus.OPEN
                    or (row.closed_at is not None and row.closed_at >= b.closed_since)
                    or rules.breach(case_facts, frame, policy) is not None)
        if not in_scope:
            continue
        mask = 0
        for hit in rules.reasons_for(case_facts, frame, policy):
            mask |= REASON_BITS[hit.code]
        if mask:
            found.append(RankedItem(row.id, row.crime_ref, row.reported_at, row.risk_level,
                                    row.team, row.victim_id, row.suspect_id, mask, 0))
    return found
