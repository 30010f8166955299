"""Opening a case: the case record the case screen shows, read in one go.

Opening a case is a consultation (DPA 2018 s62): it is audited, and opening a
case outside the user's own area command needs a reason, which is recorded.
The edits made on it (:mod:`app.services.case_edits`, and the other services
of a case's records) go through the one edit path
(:func:`app.services.case_lock.edit_case`: role and area, the case row
locked, the version read checked): they change the rows and write an audit
event with before/after, all in one transaction, and return the new case
version so the screen can keep editing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.errors import BadInput, NotFound
from app.rules.allocation import (
    AllocationFacts,
    check_allocation,
    families_of,
    team_moves,
    too_many_moves,
)
from app.services.case_lock import load_case
from app.services.case_views import (
    AllocationView,
    AssessmentView,
    BreachView,
    CaseRecord,
    ClassificationView,
    MultiAgencyView,
    OrderView,
    ReferralView,
    RelatedCase,
    SearchRecordView,
    SpoDecisionView,
    VictimCareView,
    policy_check,
)
from app.services.context import ServiceContext
from app.services.permissions import Permission
from app.services.search import included_codes
from models import (
    Allocation,
    Breach,
    Case,
    Classification,
    IncludedClassification,
    MultiAgencyReferral,
    Person,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    SearchRecord,
    SpoDecision,
    VictimCare,
)
from models.enums import AuditAction
from seed.reference import organisation

# Other crimes of the same victim-suspect pair shown on the record.
COURSE_OF_CONDUCT_LIMIT = 200


class ReasonRequired(BadInput):
    """Opening a case outside the user's own area command needs a reason."""



# --- shared edit plumbing -------------------------------------------------------
def case_area(ctx: ServiceContext, crime_ref: str) -> str:
    with ctx.read() as session:
        area = session.execute(
            select(Case.area_command).where(Case.crime_ref == crime_ref)
        ).scalar()
    if area is None:
        from app.services import restricted

        restricted.check_hidden(ctx, crime_ref)  # hidden from this user by the database
        raise NotFound(f"crime {crime_ref} is not in Vigil")
    return str(area)


def required_text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise BadInput(f"{what} is required")
    return text


def not_in_future(ctx: ServiceContext, moment: datetime | None, what: str) -> None:
    if moment is not None and moment > ctx.now():
        raise BadInput(f"{what} {moment.isoformat()} is in the future")


# --- opening a case -------------------------------------------------------------
def needs_reason(ctx: ServiceContext, *, crime_ref: str) -> bool:
    """True when the case is outside the user's own area command (force-wide
    roles, with no area, never need a reason)."""
    area = case_area(ctx, crime_ref)
    return ctx.actor.area_command is not None and area != ctx.actor.area_command


def consult(ctx: ServiceContext, session: Session, case: Case, *, reason: str | None,
            what: str) -> str:
    """Check a consultation of ``case`` (DPA 2018 s62): outside the user's own
    area command a reason is required (:class:`ReasonRequired`). The audit
    reason to record for it (the caller writes the event)."""
    reason = (reason or "").strip() or None
    out_of_area = ctx.actor.area_command is not None and case.area_command != ctx.actor.area_command
    if out_of_area and reason is None:
        raise ReasonRequired(
            f"{case.crime_ref} belongs to {case.area_command}, outside your area "
            f"({ctx.actor.area_command}): give a reason for viewing it"
        )
    if out_of_area:
        return f"{what} viewed outside own area ({ctx.actor.area_command}): {reason}"
    return f"{what} viewed: {reason}" if reason else f"{what} viewed"


def consult_case(ctx: ServiceContext, *, crime_ref: str, reason: str | None, what: str,
                 audit: bool = True) -> str:
    """The permission, the reason outside the user's area, and (``audit``) the
    view recorded against the case; returns the area command of the case."""
    ctx.require(Permission.VIEW_CASE, entity="case", entity_id=crime_ref)
    with ctx.read() as session:
        case = load_case(session, crime_ref)
        why = consult(ctx, session, case, reason=reason, what=what)
        area = case.area_command
    if audit:
        with ctx.write() as session:
            ctx.audit(session, AuditAction.VIEW, "case", crime_ref, reason=why)
    return area


# Made once: an alias made per call rebuilds its table's column proxies every time.
BREACH_CASE = aliased(Case, name="breach_case")
ORIGINAL_CASE = aliased(Case, name="original_case")


def open_case(ctx: ServiceContext, *, crime_ref: str, reason: str | None = None) -> CaseRecord:
    """The case record, audited as a consultation. Outside the user's own area
    a reason is required (:class:`ReasonRequired`) and recorded."""
    from app.services import restricted

    ctx.require(Permission.VIEW_CASE, entity="case", entity_id=crime_ref)
    reason = (reason or "").strip() or None
    missing: NotFound | None = None
    contact: str | None = None  # the case is restricted and not for this user
    with ctx.read() as session:  # the case read once, and its record in the same reading
        try:
            case = load_case(session, crime_ref)
        except NotFound as exc:
            missing = exc
        else:
            if not restricted.may_see(ctx, session, case):
                contact = restricted.contact_text(case)
            else:
                why = consult(ctx, session, case, reason=reason, what="case record")
                out_of_area = (ctx.actor.area_command is not None
                               and case.area_command != ctx.actor.area_command)
                record = _build_record(ctx, session, case, out_of_area=out_of_area,
                                       reason=reason)
    if missing is not None:
        restricted.check_hidden(ctx, crime_ref)  # hidden from this user by the database
        raise missing
    if contact is not None:
        raise restricted.refuse(ctx, crime_ref, contact)
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, "case", crime_ref, reason=why)
    return record


def _build_record(ctx: ServiceContext, session: Session, case: Case, *, out_of_area: bool,
                  reason: str | None) -> CaseRecord:
    case_id = case.id
    victim = session.get(Person, case.victim_id)
    suspect = session.get(Person, case.suspect_id) if case.suspect_id else None
    linked = None
    if case.linked_case_id:
        linked = session.execute(
            select(Case.crime_ref).where(Case.id == case.linked_case_id)).scalar()

    # classifications
    principal_ref = session.get(Classification, case.principal_code)
    principal = ClassificationView(
        code=case.principal_code,
        title=principal_ref.title if principal_ref else case.principal_code,
        family=principal_ref.family if principal_ref else "",
        is_stalking=bool(principal_ref and principal_ref.is_stalking),
    )
    included_rows = session.execute(
        select(IncludedClassification, Classification)
        .join(Classification, Classification.code == IncludedClassification.code)
        .where(IncludedClassification.case_id == case_id)
        .order_by(IncludedClassification.added_at, IncludedClassification.code)
    ).all()
    included = tuple(
        ClassificationView(code=inc.code, title=ref.title, family=ref.family,
                           is_stalking=ref.is_stalking, source=inc.source,
                           added_by=inc.added_by, added_at=inc.added_at, reason=inc.reason)
        for inc, ref in included_rows
    )

    # risk
    assessments = tuple(
        AssessmentView(
            id=a.id, tool=a.tool, tool_version=a.tool_version, answers=a.answers,  # type: ignore[arg-type]
            yes_count=a.yes_count, suggested_level=a.suggested_level, level=a.level,
            rationale=a.rationale, management_plan=a.management_plan, assessor=a.assessor,
            assessed_at=a.assessed_at, review_due=a.review_due,
            approval_required=a.approval_required, approved_by=a.approved_by,
            approved_at=a.approved_at,
        )
        for a in session.execute(
            select(RiskAssessment).where(RiskAssessment.case_id == case_id)
            .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
        ).scalars()
    )

    # orders and breaches (of this case, or where this case is the breach crime)
    orders = tuple(
        OrderView(order_ref=o.order_ref, kind=o.kind, status=o.status, applied_at=o.applied_at,
                  granted_at=o.granted_at, served_at=o.served_at, expires_at=o.expires_at,
                  conditions=o.conditions)
        for o in session.execute(
            select(ProtectiveOrder).where(ProtectiveOrder.case_id == case_id)
            .order_by(ProtectiveOrder.id)
        ).scalars()
    )
    breach_case, original_case = BREACH_CASE, ORIGINAL_CASE
    breach_rows = session.execute(
        select(Breach, ProtectiveOrder.order_ref, ProtectiveOrder.kind,
               breach_case.crime_ref, original_case.crime_ref, original_case.allocation_team)
        .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
        .join(breach_case, breach_case.id == Breach.breach_case_id)
        .join(original_case, original_case.id == Breach.original_case_id)
        .where(or_(Breach.original_case_id == case_id, Breach.breach_case_id == case_id))
        .order_by(Breach.reported_at.desc(), Breach.id.desc())
    ).all()
    breaches = tuple(
        BreachView(breach_ref=b.breach_ref, order_ref=order_ref, order_kind=kind,
                   breach_crime_ref=breach_ref, original_crime_ref=original_ref,
                   occurred_at=b.occurred_at, reported_at=b.reported_at,
                   threats_or_violence=b.threats_or_violence, acknowledged_by=b.acknowledged_by,
                   acknowledged_at=b.acknowledged_at, outcome=b.outcome)
        for b, order_ref, kind, breach_ref, original_ref, _team in breach_rows
    )
    original_team = next(
        (team for b, *_rest, team in breach_rows if b.breach_case_id == case_id), None)
    spo_decisions = tuple(
        SpoDecisionView(status=d.status, rationale=d.rationale, decided_by=d.decided_by,
                        decided_at=d.decided_at)
        for d in session.execute(
            select(SpoDecision).where(SpoDecision.case_id == case_id)
            .order_by(SpoDecision.decided_at.desc(), SpoDecision.id.desc())
        ).scalars()
    )

    # victim care
    care_row = session.execute(select(VictimCare).where(VictimCare.case_id == case_id)).scalars().first()
    care = VictimCareView(
        needs_assessed_at=care_row.needs_assessed_at, enhanced_rights=care_row.enhanced_rights,
        rights_explained_at=care_row.rights_explained_at, consent=care_row.consent,
        last_update_at=care_row.last_update_at,
    ) if care_row else None
    names = {s.code: s.name for s in organisation().services}
    referrals = tuple(
        ReferralView(id=r.id, service=r.service, service_name=names.get(r.service, r.service),  # type: ignore[arg-type]
                     referred_at=r.referred_at, outcome=r.outcome, referred_by=r.referred_by)
        for r in session.execute(
            select(Referral).where(Referral.case_id == case_id)
            .order_by(Referral.referred_at, Referral.id)
        ).scalars()
    )
    multi_agency = tuple(
        MultiAgencyView(id=m.id, kind=m.kind, referred_at=m.referred_at,  # type: ignore[arg-type]
                        referred_by=m.referred_by, outcome=m.outcome)
        for m in session.execute(
            select(MultiAgencyReferral).where(MultiAgencyReferral.case_id == case_id)
            .order_by(MultiAgencyReferral.referred_at, MultiAgencyReferral.id)
        ).scalars()
    )

    # allocation
    allocations = tuple(
        AllocationView(team=a.team, officer=a.officer, allocated_at=a.allocated_at,
                       allocated_by=a.allocated_by, reason=a.reason)
        for a in session.execute(
            select(Allocation).where(Allocation.case_id == case_id)
            .order_by(Allocation.allocated_at, Allocation.id)
        ).scalars()
    )
    family_by_code = {principal.code: principal.family, **{c.code: c.family for c in included}}
    facts = AllocationFacts(
        families=families_of(list(family_by_code), family_by_code),
        risk_level=case.risk_level,
        domestic_abuse=case.domestic_abuse,
        team=case.allocation_team,
        original_team=original_team,
    )
    teams = [a.team for a in allocations]
    policy = ctx.policy.allocation

    # course of conduct: other crimes of the same victim-suspect pair
    related: tuple[RelatedCase, ...] = ()
    if case.suspect_id is not None:
        pair_rows = session.execute(
            select(Case.id, Case.crime_ref, Case.reported_at, Case.principal_code, Case.status,
                   Case.risk_level, Case.area_command)
            .where(Case.victim_id == case.victim_id, Case.suspect_id == case.suspect_id,
                   Case.id != case_id)
            .order_by(Case.reported_at.desc(), Case.id.desc())
            .limit(COURSE_OF_CONDUCT_LIMIT)
        ).all()
        extra = included_codes(session, [row.id for row in pair_rows])
        related = tuple(
            RelatedCase(crime_ref=row.crime_ref, reported_at=row.reported_at,
                        principal_code=row.principal_code,
                        included_codes=extra.get(row.id, ()), status=row.status,
                        risk_level=row.risk_level, area_command=row.area_command)
            for row in pair_rows
        )

    searches = tuple(
        SearchRecordView(id=s.id, power=s.power, conducted_at=s.conducted_at, officer=s.officer,  # type: ignore[arg-type]
                         authorised_by=s.authorised_by, premises=s.premises,
                         items_seized=s.items_seized, recorded_by=s.recorded_by,
                         recorded_at=s.recorded_at)
        for s in session.execute(
            select(SearchRecord).where(SearchRecord.case_id == case_id)
            .order_by(SearchRecord.conducted_at.desc(), SearchRecord.id.desc())
        ).scalars()
    )

    return CaseRecord(
        crime_ref=case.crime_ref, version=case.version, as_of=ctx.now(),
        reported_at=case.reported_at, occurred_from=case.occurred_from,
        occurred_to=case.occurred_to, area_command=case.area_command, status=case.status,
        outcome=case.outcome, closed_at=case.closed_at,
        victim_ref=victim.person_ref if victim else "?",
        victim_name=victim.name if victim else "",
        suspect_ref=suspect.person_ref if suspect else None,
        suspect_name=suspect.name if suspect else None,
        relationship=case.relationship, domestic_abuse=case.domestic_abuse, online=case.online,
        pin_issued=case.pin_issued, summary=case.summary or "", linked_crime_ref=linked,
        last_activity_at=case.last_activity_at,
        principal=principal, included=included,
        risk_level=case.risk_level, risk_assessed_at=case.risk_assessed_at,
        risk_review_due=case.risk_review_due, reassessment_due_at=case.reassessment_due_at,
        assessments=assessments,
        orders=orders, breaches=breaches, spo_status=case.spo_status, spo_decisions=spo_decisions,
        victim_care=care, referrals=referrals, multi_agency=multi_agency,
        allocation_team=case.allocation_team, officer=case.officer, allocations=allocations,
        policy_check=policy_check(check_allocation(facts, policy)),
        team_moves=team_moves(teams), too_many_moves=too_many_moves(teams, policy),
        allocation_facts=facts,
        course_of_conduct=related, searches=searches,
        out_of_area=out_of_area, view_reason=reason,
        can_edit=ctx.allowed(Permission.EDIT_CASE, area=case.area_command),
        can_approve=ctx.allowed(Permission.APPROVE_RISK_DOWNGRADE, area=case.area_command),
        can_view_audit=ctx.allowed(Permission.VIEW_AUDIT, area=case.area_command),
    )
