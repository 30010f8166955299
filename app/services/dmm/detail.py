"""The side panel: what a supervisor reads about one case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    or_,
    select,
)
from sqlalchemy.orm import aliased

from app.services.case_lock import load_case
from app.services.cases import consult
from app.services.context import ServiceContext
from app.services.dmm.common import code_book
from app.services.dmm.views import (
    BreachEntry,
    CourseEntry,
    DecisionEntry,
    DmmActionView,
    DmmItemDetail,
    OrderEntry,
    RiskHistoryEntry,
)
from app.services.dmm.worklist import CaseGap, case_gaps
from app.services.permissions import Permission
from app.services.restricted import require_visible
from models import (
    Breach,
    Case,
    DmmAction,
    DmmItem,
    DmmMeeting,
    IncludedClassification,
    Person,
    ProtectiveOrder,
    RiskAssessment,
)
from models.enums import AuditAction

# ---------------------------------------------------------------------------
# Public: the side panel
# ---------------------------------------------------------------------------


def item_detail(ctx: ServiceContext, *, crime_ref: str, audit: bool = True,
                reason: str | None = None) -> DmmItemDetail:
    """Risk history, orders, breaches, last actions and decisions of a case.
    A consultation (DPA 2018 s62), as the case record is: outside the user's
    own area it needs a ``reason`` (:class:`ReasonRequired`), and the view is
    audited on the case with it (``audit=False``: the screen's refresh of a
    panel already shown)."""
    with ctx.read() as session:
        case_row = load_case(session, crime_ref)
    ctx.require(Permission.VIEW_DMM, area=case_row.area_command, entity="case",
                entity_id=crime_ref)
    require_visible(ctx, crime_ref)
    with ctx.read() as session:
        why = consult(ctx, session, case_row, reason=reason, what="DMM item")
    with ctx.read() as session:
        book = code_book(session)
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
        original = aliased(Case, name="original_case")
        breaches = [
            BreachEntry(r["breach_ref"], r["crime_ref"], r["reported_at"], r["acknowledged_at"],
                        r["kind"], r["order_ref"], r["original_ref"], r["original_status"])
            for r in (row._mapping for row in session.execute(
                select(Breach.breach_ref, breach_case.crime_ref, Breach.reported_at,
                       Breach.acknowledged_at, ProtectiveOrder.kind, ProtectiveOrder.order_ref,
                       original.crime_ref.label("original_ref"),
                       original.status.label("original_status"))
                .join(breach_case, breach_case.id == Breach.breach_case_id)
                .join(original, original.id == Breach.original_case_id)
                .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
                .where(or_(Breach.original_case_id == case_row.id,
                           Breach.breach_case_id == case_row.id))
                .order_by(Breach.reported_at.desc()).limit(10)))
        ]
        course = [
            CourseEntry(r["crime_ref"], r["reported_at"], r["principal_code"], r["status"])
            for r in (row._mapping for row in session.execute(
                select(Case.crime_ref, Case.reported_at, Case.principal_code, Case.status)
                .where(Case.victim_id == case_row.victim_id,
                       Case.suspect_id == case_row.suspect_id)
                .order_by(Case.reported_at.desc()).limit(12)))
        ] if case_row.suspect_id is not None else []
        actions = [
            DmmActionView(id=row.id, crime_ref=crime_ref, text=row.text, owner=row.owner,
                          due_at=row.due_at, done_at=row.done_at, created_by=row.created_by,
                          created_at=row.created_at, meeting_date=row.meeting_date)
            for row in session.execute(
                select(DmmAction.id, DmmAction.text, DmmAction.owner, DmmAction.due_at,
                       DmmAction.done_at, DmmAction.created_by, DmmAction.created_at,
                       DmmMeeting.meeting_date)
                .join(DmmItem, DmmItem.id == DmmAction.item_id)
                .join(DmmMeeting, DmmMeeting.id == DmmItem.meeting_id)
                .where(DmmAction.case_id == case_row.id)
                .order_by(DmmAction.created_at.desc(), DmmAction.id.desc()).limit(10))
        ]
        decisions = [
            DecisionEntry(meeting_date=row.meeting_date, area=row.area_command,
                          decision=row.decision, rationale=row.rationale,
                          decided_by=row.decided_by, discussed_at=row.discussed_at)
            for row in session.execute(
                select(DmmMeeting.meeting_date, DmmMeeting.area_command, DmmItem.decision,
                       DmmItem.rationale, DmmItem.decided_by, DmmItem.discussed_at)
                .join(DmmMeeting, DmmMeeting.id == DmmItem.meeting_id)
                .where(DmmItem.case_id == case_row.id,
                       or_(DmmItem.decision.is_not(None), DmmItem.discussed_at.is_not(None)))
                .order_by(DmmMeeting.meeting_date.desc()).limit(5))
        ]
    if audit:
        with ctx.write() as session:
            ctx.audit(session, AuditAction.VIEW, "case", crime_ref, reason=why)
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
        course_of_conduct=course,
    )



@dataclass(frozen=True)
class CaseDmmHistory:
    """A case's record at the meetings and on the work queue (case record tab)."""

    crime_ref: str
    gaps: list[CaseGap]  # standing gaps open now
    decisions: list[MeetingDecisionEntry]  # every meeting that listed or decided it, newest first
    actions: list[DmmActionView]  # every DMM action on it, newest first
    case_version: int = 0  # the version read, for a change made from the tab


@dataclass(frozen=True)
class MeetingDecisionEntry:
    meeting_date: date
    area: str
    reasons: tuple[str, ...]
    decision: str | None
    rationale: str | None
    decided_by: str | None
    discussed: bool


def case_history(ctx: ServiceContext, *, crime_ref: str,
                 reason: str | None = None) -> CaseDmmHistory:
    """Every meeting that listed the case (and what it decided), its DMM
    actions and the standing gaps open on it now: what the case record shows
    to anyone who may view the case (a consultation: outside the user's own
    area it needs a ``reason``, :class:`ReasonRequired`)."""
    with ctx.read() as session:
        case_row = load_case(session, crime_ref)
    ctx.require(Permission.VIEW_CASE, area=case_row.area_command, entity="case",
                entity_id=crime_ref)
    require_visible(ctx, crime_ref)
    with ctx.read() as session:
        why = consult(ctx, session, case_row, reason=reason,
                      what="DMM and work queue history")
    with ctx.read() as session:
        decisions = [
            MeetingDecisionEntry(r["meeting_date"], r["area_command"], tuple(r["reasons"] or ()),
                                 r["decision"], r["rationale"], r["decided_by"],
                                 r["discussed_at"] is not None)
            for r in (row._mapping for row in session.execute(
                select(DmmMeeting.meeting_date, DmmMeeting.area_command, DmmItem.reasons,
                       DmmItem.decision, DmmItem.rationale, DmmItem.decided_by,
                       DmmItem.discussed_at)
                .join(DmmMeeting, DmmMeeting.id == DmmItem.meeting_id)
                .where(DmmItem.case_id == case_row.id)
                .order_by(DmmMeeting.meeting_date.desc())))
        ]
        actions = [
            DmmActionView(r["id"], crime_ref, r["text"], r["owner"], r["due_at"], r["done_at"],
                          r["created_by"], r["created_at"], r["meeting_date"])
            for r in (row._mapping for row in session.execute(
                select(DmmAction.id, DmmAction.text, DmmAction.owner, DmmAction.due_at,
                       DmmAction.done_at, DmmAction.created_by, DmmAction.created_at,
                       DmmMeeting.meeting_date)
                .join(DmmItem, DmmItem.id == DmmAction.item_id)
                .join(DmmMeeting, DmmMeeting.id == DmmItem.meeting_id)
                .where(DmmAction.case_id == case_row.id)
                .order_by(DmmAction.created_at.desc(), DmmAction.id.desc())))
        ]
    gaps = case_gaps(ctx, crime_ref=crime_ref)
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, "case", crime_ref, reason=why)
    return CaseDmmHistory(crime_ref, gaps, decisions, actions, case_row.version)
