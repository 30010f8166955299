"""Retention under MoPI (Management of Police Information).

Each case has a review date from the policy (:mod:`app.rules.retention`).
The force's reviewers (auditors) read the review list of cases due and decide
**retain** (the next review is set ``retention.retain_years`` on) or
**dispose**. An administrator then **erases** a case decided for disposal:
its records go, the decision stays (by crime reference), and the audit log
keeps a stub of what was erased, why and by whom (DPA 2018 s62 erasure log).
The audit events about the case are never erased (the log is append-only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlmodel import Session

from app.errors import BadInput, NotFound, PermissionDenied
from app.policy import RetentionPolicy
from app.rules.retention import (
    add_years,
    is_serious,
    review_due,
)
from app.services.audit_trail import audit_naming
from app.services.case_lock import load_case, lock_case
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import (
    Breach,
    Case,
    DmmAction,
    DmmItem,
    Person,
    ProtectiveOrder,
    RetentionDecision,
)
from models.enums import AuditAction, RetentionDecisionKind
from models.tables import erased_tables
from seed.reference import classifications

REVIEW_PAGE = 200
REASON_LENGTH = 2000


# The SQL twins of the retention rules (app.rules.retention).


def serious_sql(principal_code: Any, risk_level: Any, stalking_codes: list[str]) -> Any:
    """The twin of :func:`is_serious` (a case never assessed is not high risk)."""
    return or_(principal_code.in_(stalking_codes), func.coalesce(risk_level, "") == "high")


def closed_before_sql(closed_at: Any, serious: Any, now: datetime,
                      policy: RetentionPolicy) -> Any:
    """``closed_at`` far enough back for the case to be due now (the twin of
    :func:`review_due` without a retain decision)."""
    return and_(
        closed_at.is_not(None),
        or_(and_(serious, closed_at <= add_years(now, -policy.serious_review_years)),
            and_(~serious, closed_at <= add_years(now, -policy.review_years))),
    )



@dataclass(frozen=True)
class ReviewItem:
    crime_ref: str
    area_command: str
    principal_code: str
    reported_at: datetime
    closed_at: datetime | None
    risk_level: str | None
    serious: bool
    review_due: datetime | None
    last_decision: str | None


@dataclass(frozen=True)
class RetentionResult:
    crime_ref: str
    decision: str
    next_review_at: datetime | None
    message: str


def _stalking_codes() -> list[str]:
    return sorted(code for code, ref in classifications().items() if ref.is_stalking)


def _latest_decision(session: Session, crime_ref: str) -> RetentionDecision | None:
    return session.execute(
        select(RetentionDecision).where(RetentionDecision.crime_ref == crime_ref)
        .order_by(RetentionDecision.decided_at.desc(), RetentionDecision.id.desc()).limit(1)
    ).scalars().first()


def case_review_date(ctx: ServiceContext, *, crime_ref: str) -> datetime | None:
    """The case's next MoPI review date (None while it is open)."""
    with ctx.read() as session:
        case = session.execute(select(Case).where(Case.crime_ref == crime_ref)).scalars().first()
        if case is None:
            raise NotFound(f"crime {crime_ref} is not in Vigil")
        latest = _latest_decision(session, crime_ref)
    retained = latest.next_review_at if latest and latest.decision == RetentionDecisionKind.RETAIN \
        else None
    return review_due(closed_at=case.closed_at,
                      serious=is_serious(case.principal_code in _stalking_codes(), case.risk_level),
                      policy=ctx.policy.retention, retained_until=retained)


def review_list(ctx: ServiceContext, *, area: str | None = None,
                limit: int = REVIEW_PAGE) -> list[ReviewItem]:
    """Closed cases due for review now, oldest closure first (a consultation:
    the cases listed are named in the audit log)."""
    ctx.require(Permission.REVIEW_RETENTION, entity="retention")
    now = ctx.now()
    policy = ctx.policy.retention
    serious = serious_sql(Case.principal_code, Case.risk_level, _stalking_codes())
    decided = select(RetentionDecision.crime_ref).where(
        RetentionDecision.crime_ref == Case.crime_ref,
        or_(RetentionDecision.decision == RetentionDecisionKind.DISPOSE,
            RetentionDecision.next_review_at > now),
    )
    stmt = (
        select(Case.crime_ref, Case.area_command, Case.principal_code, Case.reported_at,
               Case.closed_at, Case.risk_level, serious.label("serious"))
        .where(Case.status == "closed", closed_before_sql(Case.closed_at, serious, now, policy),
               ~exists(decided))
        .order_by(Case.closed_at, Case.crime_ref)
        .limit(max(1, min(limit, 5_000)))
    )
    if area:
        stmt = stmt.where(Case.area_command == area)
    with ctx.read() as session:
        rows = session.execute(stmt).all()
        latest = {r.crime_ref: r.decision for r in session.execute(
            select(RetentionDecision.crime_ref, RetentionDecision.decision)
            .where(RetentionDecision.crime_ref.in_([row.crime_ref for row in rows]))
            .order_by(RetentionDecision.decided_at))} if rows else {}
    items = [ReviewItem(
        crime_ref=r.crime_ref, area_command=r.area_command, principal_code=r.principal_code,
        reported_at=r.reported_at, closed_at=r.closed_at, risk_level=r.risk_level,
        serious=bool(r.serious), last_decision=latest.get(r.crime_ref),
        review_due=review_due(closed_at=r.closed_at, serious=bool(r.serious), policy=policy))
        for r in rows]
    with ctx.write() as session:
        audit_naming(ctx, session, AuditAction.VIEW, "retention", area or "force-wide",
                     [i.crime_ref for i in items],
                     reason=f"MoPI review list viewed ({area or 'force-wide'}; {len(items)} cases)")
    return items


def _reason(reason: str | None, what: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise BadInput(f"{what}: a reason is required (it is recorded with who and when)")
    if len(text) > REASON_LENGTH:
        raise BadInput(f"{what}: the reason is at most {REASON_LENGTH} characters")
    return text


def decide_retention(ctx: ServiceContext, *, crime_ref: str, decision: str,
                     reason: str) -> RetentionResult:
    """A reviewer's decision on a closed case: retain (next review set) or dispose."""
    if decision not in (RetentionDecisionKind.RETAIN, RetentionDecisionKind.DISPOSE):
        raise BadInput(f"retention decision {decision!r}: choose retain or dispose")
    why = _reason(reason, f"retention decision on {crime_ref}")
    ctx.require(Permission.REVIEW_RETENTION, entity="case", entity_id=crime_ref)
    now = ctx.now()
    with ctx.write() as session:
        # read, not locked: a reviewer may not change the case (on PostgreSQL a
        # row lock needs UPDATE); the decision is a row of its own, the latest wins
        case = load_case(session, crime_ref)
        if case.status != "closed":
            raise BadInput(f"{crime_ref} is open: a live investigation is not reviewed for "
                           "disposal")
        next_review = add_years(now, ctx.policy.retention.retain_years) \
            if decision == RetentionDecisionKind.RETAIN else None
        session.add(RetentionDecision(crime_ref=crime_ref, decision=decision, reason=why,
                                      decided_by=ctx.actor.username, decided_at=now,
                                      next_review_at=next_review))
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"MoPI review: {decision}: {why}",
                  after={"retention_decision": decision, "next_review_at": next_review})
    shown = f"; next review {next_review:%d/%m/%Y}" if next_review else \
        "; an administrator may now erase it"
    return RetentionResult(crime_ref, decision, next_review, f"{crime_ref}: {decision}{shown}")


# --- erasure --------------------------------------------------------------------
def _stub(session: Session, case: Case) -> dict[str, Any]:
    victim = session.execute(select(Person.person_ref).where(Person.id == case.victim_id)).scalar()
    suspect = session.execute(select(Person.person_ref).where(Person.id == case.suspect_id)
                              ).scalar() if case.suspect_id else None
    return {"crime_ref": case.crime_ref, "reported_at": case.reported_at,
            "area_command": case.area_command, "principal_code": case.principal_code,
            "status": case.status, "closed_at": case.closed_at, "victim_ref": victim,
            "suspect_ref": suspect}


def _erase_on_postgresql(ctx: ServiceContext, session: Session, crime_ref: str,
                         why: str) -> RetentionResult:
    """An administrator reads no case data on PostgreSQL: the checks and the
    deletion run in ``vigil_erase_case`` (app.dbsecurity), the event here."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        stub = session.execute(text("SELECT vigil_erase_case(:ref, :eraser, :why)"),
                               {"ref": crime_ref, "eraser": ctx.actor.username,
                                "why": why}).scalar_one()
    except DBAPIError as exc:
        diag = getattr(getattr(exc, "orig", None), "diag", None)
        message = (getattr(diag, "message_primary", None)
                   or str(getattr(exc, "orig", exc)).splitlines()[0])
        if message.startswith("crime ") and message.endswith("is not in Vigil"):
            raise NotFound(message) from None
        if "permission denied" in message or "administrator" in message:
            raise PermissionDenied(f"erasure of {crime_ref}: {message}") from None
        raise BadInput(message) from None
    decided_at = datetime.fromisoformat(str(stub.pop("decided_at")))
    decided_by, decision_reason = stub.pop("decided_by"), stub.pop("decision_reason")
    orders = stub.pop("orders_erased")
    audit_naming(ctx, session, AuditAction.DELETE, "case", crime_ref, [crime_ref],
                 reason=f"erased under MoPI (disposal decided by {decided_by} on "
                        f"{decided_at:%d/%m/%Y}: {decision_reason}): {why}",
                 before=stub, after={"erased": True, "orders_erased": orders})
    return RetentionResult(crime_ref, RetentionDecisionKind.ERASED, None,
                           f"{crime_ref} erased; the audit log keeps its stub")


def erase_case(ctx: ServiceContext, *, crime_ref: str, reason: str) -> RetentionResult:
    """Erase a case a reviewer decided to dispose of (an administrator only).
    Its records are deleted; the audit log keeps the stub: what, why, who."""
    why = _reason(reason, f"erasure of {crime_ref}")
    ctx.require(Permission.ERASE_CASE, entity="case", entity_id=crime_ref)
    now = ctx.now()
    if ctx.database.dialect == "postgresql":
        with ctx.write() as session:
            return _erase_on_postgresql(ctx, session, crime_ref, why)
    with ctx.write() as session:
        case = lock_case(session, crime_ref=crime_ref)
        latest = _latest_decision(session, crime_ref)
        if latest is None or latest.decision != RetentionDecisionKind.DISPOSE:
            raise BadInput(f"{crime_ref}: no reviewer has decided to dispose of it "
                           "(vigil retention decide REF --dispose --reason ...)")
        if latest.decided_by == ctx.actor.username:
            raise BadInput(f"{crime_ref}: the reviewer who decided disposal may not also erase it")
        case_id = case.id
        linked = session.execute(select(Case.crime_ref).where(Case.linked_case_id == case_id)
                                 .limit(3)).scalars().all()
        if linked or session.execute(select(Breach.id).where(
                or_(Breach.original_case_id == case_id, Breach.breach_case_id == case_id))
                .limit(1)).first():
            others = ", ".join(linked) if linked else "its breaches"
            raise BadInput(f"{crime_ref} is linked to other records ({others}): review and "
                           "erase them together, the breaches first")
        stub = _stub(session, case)
        orders = [o for o in session.execute(
            select(ProtectiveOrder.id).where(ProtectiveOrder.case_id == case_id)).scalars()]
        dmm_items = list(session.execute(select(DmmItem.id).where(DmmItem.case_id == case_id))
                         .scalars())
        if dmm_items:
            session.execute(delete(DmmAction).where(DmmAction.item_id.in_(dmm_items)))
        from sqlmodel import SQLModel

        for name in erased_tables():  # the restriction's named users (case_access) too
            table = SQLModel.metadata.tables[name]
            session.execute(table.delete().where(table.c.case_id == case_id))
        session.execute(delete(Case).where(Case.id == case_id))
        session.add(RetentionDecision(crime_ref=crime_ref, decision=RetentionDecisionKind.ERASED,
                                      reason=why, decided_by=ctx.actor.username, decided_at=now))
        audit_naming(ctx, session, AuditAction.DELETE, "case", crime_ref, [crime_ref],
                     reason=f"erased under MoPI (disposal decided by {latest.decided_by} on "
                            f"{latest.decided_at:%d/%m/%Y}: {latest.reason}): {why}",
                     before=stub, after={"erased": True, "orders_erased": len(orders)})
    return RetentionResult(crime_ref, RetentionDecisionKind.ERASED, None,
                           f"{crime_ref} erased; the audit log keeps its stub")
