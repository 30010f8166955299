"""Protective orders and the SPO decision: recording orders, moving them
through their lifecycle and the SPA 2019 notification. The lists of orders
expiring or due a notification are in :mod:`app.services.order_lists`, the
course-of-conduct timeline of a pair in :mod:`app.services.pair_timeline`.

Every change is permission-checked (``MANAGE_ORDERS``, the case's area),
claims the original case's lock and is audited on that case
(entity ``case``, the original crime reference).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlmodel import Session

from app.errors import BadInput, NotFound
from app.rules import orders as rules
from app.rules.orders import OrderRuleError
from app.services.case_lock import edit_case
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import Case, Person, ProtectiveOrder, RefSequence, SpoDecision
from models.enums import AuditAction, OrderStatus

# --- views ---------------------------------------------------------------------


@dataclass(frozen=True)
class OrderView:
    order_ref: str
    kind: str
    status: str
    crime_ref: str  # the case the order protects (the original case)
    area_command: str
    applied_at: datetime | None
    granted_at: datetime | None
    served_at: datetime | None
    expires_at: datetime | None
    notified_at: datetime | None
    notification_due_at: datetime | None
    notification_overdue: bool
    subject_ref: str | None
    protected_ref: str | None
    conditions: str | None
    in_force: bool
    next_statuses: tuple[str, ...]
    case_version: int


@dataclass(frozen=True)
class SpoDecisionResult:
    crime_ref: str
    status: str
    previous: str
    rationale: str | None
    decided_by: str
    decided_at: datetime
    version: int


def view_of_order(order: ProtectiveOrder, case: Case, subject_ref: str | None,
                  protected_ref: str | None, ctx: ServiceContext) -> OrderView:
    notice = rules.notification_state(order.kind, order.served_at, order.notified_at, ctx.now(),
                                      ctx.policy.spo)
    return OrderView(
        order_ref=order.order_ref, kind=order.kind, status=order.status, crime_ref=case.crime_ref,
        area_command=case.area_command, applied_at=order.applied_at, granted_at=order.granted_at,
        served_at=order.served_at, expires_at=order.expires_at, notified_at=order.notified_at,
        notification_due_at=notice.due_at, notification_overdue=notice.overdue,
        subject_ref=subject_ref, protected_ref=protected_ref, conditions=order.conditions,
        in_force=rules.in_force(order.status),
        next_statuses=tuple(s.value for s in rules.allowed_next(order.kind, order.status)),
        case_version=case.version,
    )


def person_ref_of(session: Session, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    return session.execute(select(Person.person_ref).where(Person.id == person_id)).scalar()


def order_view(session: Session, ctx: ServiceContext, order: ProtectiveOrder, case: Case) -> OrderView:
    session.flush()
    session.refresh(case, ["version"])
    return view_of_order(order, case, person_ref_of(session, order.subject_id),
                         person_ref_of(session, order.protected_id), ctx)


def _order_state(order: ProtectiveOrder) -> dict[str, object]:
    return {"order_ref": order.order_ref, "kind": order.kind, "status": order.status,
            "applied_at": order.applied_at, "granted_at": order.granted_at,
            "served_at": order.served_at, "expires_at": order.expires_at,
            "notified_at": order.notified_at}


def _load_order(session: Session, order_ref: str) -> tuple[ProtectiveOrder, Case]:
    row = session.execute(
        select(ProtectiveOrder, Case).join(Case, Case.id == ProtectiveOrder.case_id)
        .where(ProtectiveOrder.order_ref == order_ref.strip())
    ).first()
    if row is None:
        raise NotFound(f"order {order_ref} is not in Vigil")
    return row.ProtectiveOrder, row.Case


def _order_area(ctx: ServiceContext, order_ref: str) -> tuple[str, str]:
    with ctx.read() as session:
        order, case = _load_order(session, order_ref)
        return case.area_command, case.crime_ref


def order_case_version(ctx: ServiceContext, order_ref: str) -> int:
    """The version of the case an order protects, as it stands now (for a
    command-line change made at once)."""
    with ctx.read() as session:
        _order, case = _load_order(session, order_ref)
        return int(case.version)


def not_in_future(ctx: ServiceContext, moment: datetime | None, what: str) -> None:
    if moment is not None and moment > ctx.now():
        raise BadInput(f"{what} {moment.isoformat()} is in the future")


def required_text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise BadInput(f"{what} is required")
    return text


def checked_rule(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except OrderRuleError as exc:
        raise BadInput(str(exc)) from None


BREACH_SEQUENCE = "breach_ref_seq"
ORDER_SEQUENCE = "order_ref_seq"


def next_number(session: Session, sequence: str) -> int:
    """The next number of a reference sequence: a PostgreSQL sequence (two
    users at once never get the same one, and nothing waits), or on SQLite,
    where writers queue, a counter row in ``ref_sequence``."""
    if sequence not in (BREACH_SEQUENCE, ORDER_SEQUENCE):
        raise ValueError(f"unknown reference sequence {sequence!r}")
    if session.get_bind().dialect.name == "postgresql":
        return int(session.execute(text("SELECT nextval(:name)"), {"name": sequence}).scalar_one())
    value = session.execute(
        update(RefSequence).where(RefSequence.name == sequence)
        .values(value=RefSequence.value + 1).returning(RefSequence.value)
    ).scalar()
    if value is None:
        session.add(RefSequence(name=sequence, value=1))
        session.flush()
        value = 1
    return int(value)


def next_ref(session: Session, column, prefix: str, start: int, width: int = 5,  # type: ignore[no-untyped-def]
             *, sequence: str | None = None) -> str:
    """``prefix`` + the number ``start``; should that reference be held already
    (an imported one), the next number of ``sequence`` (or the next integer)."""
    number = max(start, 1)
    while True:
        ref = f"{prefix}{number:0{width}d}"
        if session.execute(select(column).where(column == ref)).first() is None:
            return ref
        number = next_number(session, sequence) if sequence else number + 1


def _new_order_ref(session: Session, kind: str, now: datetime) -> str:
    return next_ref(session, ProtectiveOrder.order_ref, f"{kind}/{now:%y}/",
                    next_number(session, ORDER_SEQUENCE), sequence=ORDER_SEQUENCE)


# --- the SPO decision mirrored from SPO orders ------------------------------------


def _mirror_spo_decision(ctx: ServiceContext, session: Session, case: Case, kind: str,
                         status: str, at: datetime, note: str) -> str | None:
    """Move the case's SPO decision along with an SPO's status when the
    decision lifecycle allows it; returns the new decision, or None."""
    wanted = rules.spo_decision_for_order(kind, status)
    if wanted is None or wanted == case.spo_status:
        return None
    if wanted not in rules.SPO_DECISION_TRANSITIONS.get(case.spo_status, frozenset()):
        return None
    session.add(SpoDecision(case_id=case.id, status=wanted, rationale=note,  # type: ignore[arg-type]
                            decided_by=ctx.actor.username, decided_at=at))
    case.spo_status = wanted
    session.add(case)
    return wanted


# --- recording and changing orders ---------------------------------------------


def create_order_in_session(ctx: ServiceContext, session: Session, case: Case, *, kind: str,
                            status: str, order_ref: str | None, applied_at: datetime | None,
                            granted_at: datetime | None, served_at: datetime | None,
                            expires_at: datetime | None, conditions: str | None,
                            reason: str) -> ProtectiveOrder:
    """Insert an order on ``case`` inside the caller's write transaction
    (permission already checked, case already claimed) and audit it."""
    kind = checked_rule(rules.order_kind, kind).value
    status = checked_rule(rules.order_status, status).value
    checked_rule(rules.check_initial_status, kind, status)
    if case.suspect_id is None:
        raise BadInput(f"crime {case.crime_ref} has no suspect: an order needs a subject")
    now = ctx.now()
    for moment, what in ((applied_at, "applied_at"), (granted_at, "granted_at"),
                         (served_at, "served_at")):
        not_in_future(ctx, moment, what)
    if status == OrderStatus.APPLIED and applied_at is None:
        applied_at = now
    if status in (OrderStatus.GRANTED, OrderStatus.INTERIM_GRANTED) and granted_at is None:
        granted_at = now
    if applied_at and granted_at and granted_at < applied_at:
        raise BadInput(f"order granted {granted_at.isoformat()} before it was applied for")
    if expires_at and granted_at and expires_at <= granted_at:
        raise BadInput(f"order expires {expires_at.isoformat()} before it was granted")
    if served_at and granted_at and served_at < granted_at:
        raise BadInput(f"order served {served_at.isoformat()} before it was granted")
    if order_ref:
        order_ref = order_ref.strip()
        exists = session.execute(
            select(ProtectiveOrder.id).where(ProtectiveOrder.order_ref == order_ref)
        ).first()
        if exists:
            raise BadInput(f"order reference {order_ref} is already in Vigil")
    else:
        order_ref = _new_order_ref(session, kind, now)
    order = ProtectiveOrder(
        order_ref=order_ref, case_id=case.id, kind=kind, status=status,  # type: ignore[arg-type]
        applied_at=applied_at, granted_at=granted_at, served_at=served_at, expires_at=expires_at,
        conditions=(conditions or "").strip() or None, subject_id=case.suspect_id,
        protected_id=case.victim_id, updated_at=now,
    )
    session.add(order)
    before_spo = case.spo_status
    mirrored = _mirror_spo_decision(ctx, session, case, kind, status, now,
                                    f"{kind} {order_ref} recorded as {status}")
    session.flush()
    after = _order_state(order)
    if mirrored:
        after["spo_status"] = mirrored
    ctx.audit(session, AuditAction.CREATE, "case", case.crime_ref,
              reason=f"{reason}: {kind} {order_ref} ({status.replace('_', ' ')})",
              before={"spo_status": before_spo} if mirrored else None, after=after)
    return order


def create_order(ctx: ServiceContext, *, crime_ref: str, kind: str, status: str,
                 order_ref: str | None = None, applied_at: datetime | None = None,
                 granted_at: datetime | None = None, served_at: datetime | None = None,
                 expires_at: datetime | None = None, conditions: str | None = None,
                 expected_version: int) -> OrderView:
    """Record a protective order protecting the victim of ``crime_ref`` from
    its suspect. SPOs and interim SPOs also move the case's SPO decision."""
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=Permission.MANAGE_ORDERS) as edit:
        session, case = edit.session, edit.case
        order = create_order_in_session(
            ctx, session, case, kind=kind, status=status, order_ref=order_ref,
            applied_at=applied_at, granted_at=granted_at, served_at=served_at,
            expires_at=expires_at, conditions=conditions, reason="protective order recorded",
        )
        return order_view(session, ctx, order, case)


@contextmanager
def _order_edit(ctx: ServiceContext, order_ref: str,
                expected_version: int) -> Iterator[tuple[Session, ProtectiveOrder, Case]]:
    """The single edit path on the order's case, then the order read afresh
    under the case's lock."""
    _area, crime_ref = _order_area(ctx, order_ref)
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=Permission.MANAGE_ORDERS) as edit:
        order = edit.session.execute(
            select(ProtectiveOrder).where(ProtectiveOrder.order_ref == order_ref.strip())
            .execution_options(populate_existing=True)
        ).scalars().one()
        yield edit.session, order, edit.case


def change_order_status(ctx: ServiceContext, *, order_ref: str, status: str, at: datetime,
                        expected_version: int, note: str | None = None,
                        expires_at: datetime | None = None) -> OrderView:
    """Move an order along its lifecycle (refused with a clear message when the
    transition is not allowed). ``expires_at`` sets a new expiry (on grant,
    variation or renewal)."""
    not_in_future(ctx, at, "status date")
    new = checked_rule(rules.order_status, status).value
    with _order_edit(ctx, order_ref, expected_version) as (session, order, case):
        checked_rule(rules.check_transition, order.kind, order.status, new)
        before = _order_state(order)
        before["spo_status"] = case.spo_status
        order.status = new
        if new == OrderStatus.APPLIED:
            order.applied_at = at
        elif new in (OrderStatus.INTERIM_GRANTED, OrderStatus.GRANTED):
            order.granted_at = at
        elif new == OrderStatus.EXPIRED and (order.expires_at is None or order.expires_at > at):
            order.expires_at = at
        if expires_at is not None:
            if expires_at <= at:
                raise BadInput(f"new expiry {expires_at.isoformat()} is not after {at.isoformat()}")
            order.expires_at = expires_at
        order.updated_at = at
        session.add(order)
        text = (note or "").strip() or None
        _mirror_spo_decision(ctx, session, case, order.kind, new, at,
                             text or f"{order.kind} {order.order_ref} {new.replace('_', ' ')}")
        after = _order_state(order)
        after["spo_status"] = case.spo_status
        label = f"{before['status']} → {new}".replace("_", " ")
        ctx.audit(session, AuditAction.UPDATE, "case", case.crime_ref,
                  reason=f"order {order.order_ref} ({order.kind}) {label}"
                  + (f": {text}" if text else ""),
                  before=before, after=after)
        return order_view(session, ctx, order, case)


def record_notification(ctx: ServiceContext, *, order_ref: str, notified_at: datetime,
                        expected_version: int) -> OrderView:
    """The subject of an SPO or interim SPO notified name and address (SPA 2019 s9)."""
    not_in_future(ctx, notified_at, "notified_at")
    with _order_edit(ctx, order_ref, expected_version) as (session, order, case):
        if order.kind not in rules.NOTIFICATION_KINDS:
            raise BadInput(f"order {order.order_ref} is {rules.ORDER_KIND_TITLES[order.kind]}: "
                           "only SPOs and interim SPOs carry the notification requirement")
        if order.served_at is None:
            raise BadInput(f"order {order.order_ref} has not been served: record service first")
        if notified_at < order.served_at:
            raise BadInput(f"notification {notified_at.isoformat()} is before service "
                           f"{order.served_at.isoformat()}")
        before = {"notified_at": order.notified_at}
        order.notified_at = notified_at
        order.updated_at = ctx.now()
        session.add(order)
        due = rules.notification_due(order.served_at, ctx.policy.spo)
        late = " (late)" if notified_at > due else ""
        ctx.audit(session, AuditAction.UPDATE, "case", case.crime_ref,
                  reason=f"order {order.order_ref}: subject's notification recorded{late}",
                  before=before, after={"notified_at": notified_at, "due_at": due})
        return order_view(session, ctx, order, case)


def record_service(ctx: ServiceContext, *, order_ref: str, served_at: datetime,
                   expected_version: int) -> OrderView:
    """The order was served on its subject (starts the notification clock)."""
    not_in_future(ctx, served_at, "served_at")
    with _order_edit(ctx, order_ref, expected_version) as (session, order, case):
        if not rules.in_force(order.status):
            raise BadInput(f"order {order.order_ref} is {order.status.replace('_', ' ')}: "
                           "only an order in force is served")
        if order.granted_at and served_at < order.granted_at:
            raise BadInput(f"service {served_at.isoformat()} is before the order was granted")
        before = {"served_at": order.served_at}
        order.served_at = served_at
        order.updated_at = ctx.now()
        session.add(order)
        after: dict[str, object] = {"served_at": served_at}
        if order.kind in rules.NOTIFICATION_KINDS:
            after["notification_due_at"] = rules.notification_due(served_at, ctx.policy.spo)
        ctx.audit(session, AuditAction.UPDATE, "case", case.crime_ref,
                  reason=f"order {order.order_ref} served", before=before, after=after)
        return order_view(session, ctx, order, case)


def record_spo_decision(ctx: ServiceContext, *, crime_ref: str, status: str,
                        rationale: str | None, expected_version: int) -> SpoDecisionResult:
    """The SPO decision on a case (history kept; the case carries the current
    one). ``considered_not_appropriate`` needs a written rationale."""
    new = checked_rule(rules.spo_status, status).value
    text = (rationale or "").strip() or None
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=Permission.MANAGE_ORDERS) as edit:
        session, case, version = edit.session, edit.case, edit.version
        checked_rule(rules.check_spo_decision, case.spo_status, new, text)
        previous = case.spo_status
        now = ctx.now()
        session.add(SpoDecision(case_id=case.id, status=new, rationale=text,  # type: ignore[arg-type]
                                decided_by=ctx.actor.username, decided_at=now))
        case.spo_status = new
        session.add(case)
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"SPO decision: {new.replace('_', ' ')}" + (f" ({text})" if text else ""),
                  before={"spo_status": previous}, after={"spo_status": new, "rationale": text})
    return SpoDecisionResult(crime_ref=crime_ref, status=new, previous=previous, rationale=text,
                             decided_by=ctx.actor.username, decided_at=now, version=version)
