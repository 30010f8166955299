"""The course-of-conduct timeline of a victim–suspect pair: their crimes,
breaches of orders between them, risk assessments, the orders' dates and
SPO decisions, in date order (a consultation of every crime shown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from app.dates import format_local
from app.services.audit_trail import audit_naming
from app.services.case_lock import load_case
from app.services.context import ServiceContext
from app.services.orders import person_ref_of
from app.services.permissions import Permission
from models import Breach, Case, ProtectiveOrder, RiskAssessment, SpoDecision
from models.enums import AuditAction, OrderStatus

CRIME, BREACH, RISK, ORDER, SPO_DECISION = "crime", "breach", "risk", "order", "spo_decision"
EVENT_KINDS: tuple[str, ...] = (CRIME, BREACH, RISK, ORDER, SPO_DECISION)


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str  # one of EVENT_KINDS
    ref: str  # crime, breach or order reference
    title: str
    detail: str = ""
    crime_ref: str | None = None  # the crime the event belongs to (to open it)
    level: str | None = None  # risk level; an order's current status; an SPO decision
    stage: str | None = None  # orders: applied, granted, served, notified, expiry or a status


@dataclass(frozen=True)
class Timeline:
    crime_ref: str
    victim_ref: str
    suspect_ref: str | None
    events: tuple[TimelineEvent, ...]

    @property
    def start(self) -> datetime | None:
        return self.events[0].at if self.events else None

    @property
    def end(self) -> datetime | None:
        return self.events[-1].at if self.events else None

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.kind == kind)


_KIND_ORDER = {k: i for i, k in enumerate(EVENT_KINDS)}
_ORDER_STATUS_EVENTS = (OrderStatus.REFUSED, OrderStatus.VARIED, OrderStatus.RENEWED,
                        OrderStatus.DISCHARGED, OrderStatus.EXPIRED)
TIMELINE_CRIME_LIMIT = 500


def pair_timeline(ctx: ServiceContext, *, crime_ref: str, audit: bool = True,
                  reason: str | None = None) -> Timeline:
    """Everything known about the course of conduct of this case's victim and
    suspect, in date order: their crimes, breaches of orders between them,
    risk assessments on those crimes, the orders' applied/granted/served/
    notified/expiry and status dates, and SPO decisions. A consultation of
    every crime shown: outside the user's area it needs a ``reason``."""
    from app.services.cases import consult

    ctx.require(Permission.VIEW_CASE, entity="case", entity_id=crime_ref)
    with ctx.read() as session:
        why = consult(ctx, session, load_case(session, crime_ref), reason=reason,
                      what="course-of-conduct timeline")
    now = ctx.now()
    with ctx.read() as session:
        case = load_case(session, crime_ref)
        victim_ref = person_ref_of(session, case.victim_id) or "?"
        suspect_ref = person_ref_of(session, case.suspect_id)
        if case.suspect_id is None:
            pair_filter = Case.id == case.id
        else:
            pair_filter = and_(Case.victim_id == case.victim_id,
                               Case.suspect_id == case.suspect_id)
        crimes = session.execute(
            select(Case.id, Case.crime_ref, Case.reported_at, Case.principal_code, Case.status,
                   Case.summary)
            .where(or_(pair_filter, Case.id == case.id))
            .order_by(Case.reported_at.desc())
            .limit(TIMELINE_CRIME_LIMIT)
        ).all()
        case_ids = [c.id for c in crimes]
        refs = {c.id: c.crime_ref for c in crimes}
        if case.suspect_id is None:
            order_filter = ProtectiveOrder.case_id == case.id
        else:
            order_filter = or_(
                and_(ProtectiveOrder.protected_id == case.victim_id,
                     ProtectiveOrder.subject_id == case.suspect_id),
                ProtectiveOrder.case_id.in_(case_ids),
            )
        orders = session.execute(
            select(ProtectiveOrder, Case.crime_ref)
            .join(Case, Case.id == ProtectiveOrder.case_id)
            .where(order_filter)
        ).all()
        order_ids = [o.id for o, _ in orders]
        breach_case = aliased(Case, name="breach_case")
        breaches = session.execute(
            select(Breach, ProtectiveOrder.order_ref, ProtectiveOrder.kind, breach_case.crime_ref)
            .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
            .join(breach_case, breach_case.id == Breach.breach_case_id)
            .where(Breach.order_id.in_(order_ids))
        ).all() if order_ids else []
        assessments = session.execute(
            select(RiskAssessment).where(RiskAssessment.case_id.in_(case_ids))
        ).scalars().all() if case_ids else []
        decisions = session.execute(
            select(SpoDecision).where(SpoDecision.case_id.in_(case_ids))
        ).scalars().all() if case_ids else []

    events: list[TimelineEvent] = []
    breach_crimes = {crime for _b, _r, _k, crime in breaches}
    for c in crimes:
        if c.crime_ref in breach_crimes:
            continue  # shown as the breach
        summary = " ".join((c.summary or "").split())
        events.append(TimelineEvent(
            at=c.reported_at, kind=CRIME, ref=c.crime_ref,
            title=f"{c.principal_code} crime {c.crime_ref} reported",
            detail=(summary[:140] + ("…" if len(summary) > 140 else "")), crime_ref=c.crime_ref,
        ))
    for b, order_ref, kind, crime in breaches:
        flags = ", threats or violence" if b.threats_or_violence else ""
        ack = (f"; acknowledged by {b.acknowledged_by}" if b.acknowledged_at else
               "; not acknowledged")
        events.append(TimelineEvent(
            at=b.reported_at, kind=BREACH, ref=b.breach_ref,
            title=f"breach {b.breach_ref} of {kind} {order_ref}",
            detail=f"crime {crime}; occurred {format_local(b.occurred_at)}{flags}{ack}",
            crime_ref=crime,
        ))
    for a in assessments:
        pending = " (awaiting approval)" if a.approval_required and a.approved_at is None else ""
        events.append(TimelineEvent(
            at=a.assessed_at, kind=RISK, ref=refs.get(a.case_id, ""),
            title=f"risk assessed {a.level}{pending}",
            detail=f"{a.tool} {a.yes_count} yes, suggested {a.suggested_level}; by {a.assessor}",
            crime_ref=refs.get(a.case_id), level=a.level,
        ))
    for o, crime in orders:
        granted = "interim granted" if o.status == OrderStatus.INTERIM_GRANTED else "granted"
        for moment, stage, what in ((o.applied_at, "applied", "applied for"),
                                    (o.granted_at, "granted", granted),
                                    (o.served_at, "served", "served"),
                                    (o.notified_at, "notified", "subject notified")):
            if moment is not None:
                events.append(TimelineEvent(
                    at=moment, kind=ORDER, ref=o.order_ref, title=f"{o.kind} {o.order_ref} {what}",
                    detail=f"on {crime}; now {o.status.replace('_', ' ')}", crime_ref=crime,
                    level=o.status, stage=stage,
                ))
        if o.status in _ORDER_STATUS_EVENTS and o.updated_at is not None:
            events.append(TimelineEvent(
                at=o.updated_at, kind=ORDER, ref=o.order_ref,
                title=f"{o.kind} {o.order_ref} {o.status.replace('_', ' ')}", detail=f"on {crime}",
                crime_ref=crime, level=o.status, stage=o.status,
            ))
        elif o.expires_at is not None and o.expires_at <= now:
            events.append(TimelineEvent(
                at=o.expires_at, kind=ORDER, ref=o.order_ref, title=f"{o.kind} {o.order_ref} expiry",
                detail=f"on {crime}", crime_ref=crime, level=o.status, stage="expiry",
            ))
    for d in decisions:
        events.append(TimelineEvent(
            at=d.decided_at, kind=SPO_DECISION, ref=refs.get(d.case_id, ""),
            title=f"SPO decision: {d.status.replace('_', ' ')}",
            detail="; ".join(p for p in (d.rationale, f"by {d.decided_by}") if p),
            crime_ref=refs.get(d.case_id),
            level=d.status,
        ))
    events.sort(key=lambda e: (e.at, _KIND_ORDER[e.kind], e.ref))
    if audit:
        shown = [crime_ref, *(c.crime_ref for c in crimes if c.crime_ref != crime_ref)]
        with ctx.write() as session:
            audit_naming(ctx, session, AuditAction.VIEW, "case", crime_ref, shown[1:],
                         reason=f"{why} ({len(events)} events)")
    return Timeline(crime_ref=crime_ref, victim_ref=victim_ref, suspect_ref=suspect_ref,
                    events=tuple(events))
