"""Recording a breach of a protective order (DOMAIN.md §5; rec 12.3).

A breach is never a note. :func:`record_breach` records it as a new crime
linked to the original case and the victim–suspect pair, makes a risk
re-assessment due on the original case (which lists it at the next DMM with
BREACH and RISK_REVIEW_DUE) and starts the acknowledgement clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from app.errors import BadInput, NotFound
from app.rules.allocation import AllocationFacts, check_allocation
from app.rules.risk import reassessment_due
from app.services.breaches import BoardItem, item_for
from app.services.case_lock import ADDITION, edit_case
from app.services.context import ServiceContext
from app.services.orders import (
    BREACH_SEQUENCE,
    next_number,
    next_ref,
    not_in_future,
    required_text,
)
from app.services.permissions import Permission
from models import Allocation, Breach, Case, ProtectiveOrder, RiskAssessment
from models.enums import ORDERS_IN_FORCE, AuditAction, OrderStatus
from seed.reference import breach_code_for_order

DEFAULT_ORDERS_TEAM = "Orders"


@dataclass(frozen=True)
class BreachRecorded:
    breach_ref: str
    crime_ref: str  # the new breach crime
    original_crime_ref: str
    order_ref: str
    order_kind: str
    principal_code: str
    allocation_team: str
    reassessment_due_at: datetime | None  # on the breach crime, the pair's live record
    acknowledge_due_at: datetime
    item: BoardItem  # the breach as the board shows it now
    message: str = field(default="")

    @property
    def level(self) -> int:
        return self.item.level


def _order_covers(order: ProtectiveOrder, occurred_at: datetime) -> str | None:
    """Why ``order`` cannot have been breached at ``occurred_at``, or None."""
    status = order.status.replace("_", " ")
    if order.granted_at is not None and occurred_at < order.granted_at:
        return f"it was granted only on {order.granted_at.isoformat()}"
    if order.status in ORDERS_IN_FORCE:
        if order.expires_at is not None and occurred_at > order.expires_at:
            return f"it expired on {order.expires_at.isoformat()}"
        return None
    if order.status == OrderStatus.EXPIRED and order.expires_at and occurred_at <= order.expires_at:
        return None
    if order.status == OrderStatus.DISCHARGED and order.updated_at and occurred_at <= order.updated_at:
        return None
    return f"it is {status}"


def _breach_team(original: Case, ctx: ServiceContext) -> str:
    """The team the allocation policy gives a breach: the team holding the
    original case when there is one, else the policy's next team."""
    facts = AllocationFacts(families=frozenset({"breach"}), risk_level=None,
                            domestic_abuse=original.domestic_abuse, team=None,
                            original_team=original.allocation_team)
    verdict = check_allocation(facts, ctx.policy.allocation)
    return verdict.expected_teams[0] if verdict.expected_teams else DEFAULT_ORDERS_TEAM


def record_breach(ctx: ServiceContext, *, order_ref: str, occurred_at: datetime,
                  reported_at: datetime, summary: str, threats_or_violence: bool = False,
                  crime_ref: str | None = None) -> BreachRecorded:
    """Record a breach of ``order_ref`` as a new crime linked to the original
    case and the victim–suspect pair; the breach crime is the pair's live
    record: its risk re-assessment is due from this breach (unless the pair was
    assessed since it was reported), it is listed at the next DMM, and the
    acknowledgement clock starts."""
    with ctx.read() as session:
        row = session.execute(
            select(Case.area_command, Case.crime_ref)
            .join(ProtectiveOrder, ProtectiveOrder.case_id == Case.id)
            .where(ProtectiveOrder.order_ref == order_ref.strip())
        ).first()
    if row is None:
        raise NotFound(f"order {order_ref} is not in Vigil")
    area, original_ref = row.area_command, str(row.crime_ref)
    ctx.require(Permission.RECORD_BREACH, area=area, entity="case", entity_id=original_ref)
    text = required_text(summary, "breach summary")
    not_in_future(ctx, reported_at, "reported_at")
    if occurred_at > reported_at:
        raise BadInput(f"breach occurred {occurred_at.isoformat()} after it was reported "
                       f"{reported_at.isoformat()}")
    return _record_breach(ctx, order_ref=order_ref, occurred_at=occurred_at,
                          reported_at=reported_at, text=text,
                          threats_or_violence=threats_or_violence, crime_ref=crime_ref,
                          original_ref=original_ref)


def _record_breach(ctx: ServiceContext, *, order_ref: str, occurred_at: datetime,
                   reported_at: datetime, text: str, threats_or_violence: bool,
                   crime_ref: str | None, original_ref: str) -> BreachRecorded:
    now = ctx.now()
    policy = ctx.policy
    race = (f"breach of {order_ref.strip()} not recorded: a reference it needed was taken by "
            "someone else at the same moment; nothing was saved. Try again.")
    # an addition to the original case: the state read below, under its lock, is current
    with edit_case(ctx, crime_ref=original_ref, expected_version=ADDITION,
                   permission=Permission.RECORD_BREACH, race_message=race) as (
            session, original, _version):
        order = session.execute(
            select(ProtectiveOrder).where(ProtectiveOrder.order_ref == order_ref.strip())
            .execution_options(populate_existing=True)
        ).scalars().one()
        problem = _order_covers(order, occurred_at)
        if problem:
            raise BadInput(f"order {order.order_ref} cannot have been breached on "
                           f"{occurred_at.isoformat()}: {problem}")
        victim_id = order.protected_id or original.victim_id
        suspect_id = order.subject_id or original.suspect_id
        if suspect_id is None:
            raise BadInput(f"order {order.order_ref} names no subject: record the suspect first")
        number = next_number(session, BREACH_SEQUENCE)
        breach_ref = next_ref(session, Breach.breach_ref, f"B/{now:%y}/", number, width=6,
                              sequence=BREACH_SEQUENCE)
        if crime_ref:
            crime_ref = crime_ref.strip()
            if session.execute(select(Case.id).where(
                    func.lower(Case.crime_ref) == crime_ref.lower())).first():
                raise BadInput(f"crime reference {crime_ref} is already in Vigil")
        else:
            crime_ref = next_ref(session, Case.crime_ref, f"BC/{now:%y}/", number, width=6,
                                 sequence=BREACH_SEQUENCE)
        code = breach_code_for_order(order.kind)
        team = _breach_team(original, ctx)
        officer = original.officer if team == original.allocation_team else None
        crime = Case(
            crime_ref=crime_ref, reported_at=reported_at, occurred_from=occurred_at,
            occurred_to=occurred_at, area_command=original.area_command, principal_code=code,
            victim_id=victim_id, suspect_id=suspect_id, relationship=original.relationship,
            domestic_abuse=original.domestic_abuse, online=False, summary=text, status="open",
            allocation_team=team, officer=officer, linked_case_id=original.id,
            created_at=now, last_activity_at=now,
        )
        session.add(crime)
        session.flush()
        session.add(Allocation(
            case_id=crime.id, team=team, officer=officer, allocated_at=now,  # type: ignore[arg-type]
            allocated_by=ctx.actor.username,
            reason=f"breach of {order.kind} {order.order_ref}: allocated by policy to "
                   f"{'the team holding ' + original.crime_ref if team == original.allocation_team else team}",
        ))
        breach = Breach(
            breach_ref=breach_ref, order_id=order.id, breach_case_id=crime.id,  # type: ignore[arg-type]
            original_case_id=original.id, occurred_at=occurred_at, reported_at=reported_at,  # type: ignore[arg-type]
            threats_or_violence=threats_or_violence,
        )
        session.add(breach)
        crime.reassessment_due_at = reassessment_due(
            [reported_at], _pair_last_assessed(session, victim_id, suspect_id), policy.risk)
        session.add(crime)
        session.flush()
        ack_due = reported_at + timedelta(hours=policy.breach.acknowledge_within_hours)
        ctx.audit(session, AuditAction.CREATE, "case", crime_ref,
                  reason=(f"breach crime recorded: {code} breach {breach_ref} of {order.kind} "
                          f"{order.order_ref} (original crime {original.crime_ref})"),
                  after={"crime_ref": crime_ref, "principal_code": code, "breach_ref": breach_ref,
                         "order_ref": order.order_ref, "linked_to": original.crime_ref,
                         "occurred_at": occurred_at, "reported_at": reported_at,
                         "threats_or_violence": threats_or_violence, "allocation_team": team})
        ctx.audit(session, AuditAction.UPDATE, "case", original.crime_ref,
                  reason=(f"breach {breach_ref} of {order.kind} {order.order_ref} recorded as "
                          f"crime {crime_ref}: risk re-assessment due on {crime_ref}, listed "
                          "for the next DMM, supervisor acknowledgement due"),
                  after={"reassessment_due_at": crime.reassessment_due_at,
                         "reassessment_on": crime_ref, "breach_ref": breach_ref,
                         "acknowledge_due_at": ack_due})
        item = item_for(ctx, session, breach.id)  # type: ignore[arg-type]
        due_on_crime = crime.reassessment_due_at
    return BreachRecorded(
        breach_ref=breach_ref, crime_ref=crime_ref, original_crime_ref=original_ref,
        order_ref=item.order_ref, order_kind=item.order_kind, principal_code=code,
        allocation_team=team, reassessment_due_at=due_on_crime,  # type: ignore[arg-type]
        acknowledge_due_at=ack_due, item=item,
        message=(f"breach {breach_ref} recorded as crime {crime_ref} ({code}); "
                 f"level {item.level}; acknowledgement due {ack_due:%d/%m %H:%M} UTC"),
    )


def _pair_last_assessed(session: Session, victim_id: int | None,
                        suspect_id: int | None) -> datetime | None:
    """The latest risk assessment on any crime of the victim-suspect pair."""
    value = session.execute(
        select(func.max(RiskAssessment.assessed_at))
        .join(Case, Case.id == RiskAssessment.case_id)
        .where(Case.victim_id == victim_id, Case.suspect_id == suspect_id)).scalar()
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
