"""The lists of orders a supervisor watches: orders in force about to expire,
SPA 2019 notifications due or overdue, and the counts and first few of each
for the breach screen's watch panel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.rules import orders as rules
from app.services.audit_trail import audit_naming
from app.services.context import ServiceContext
from app.services.orders import OrderView, checked_rule, view_of_order
from app.services.permissions import Permission
from models import Case, Person, ProtectiveOrder
from models.enums import AuditAction

_ORDER_LIST_LIMIT = 1000


def _in_area(area: str) -> Any:
    """Orders of cases in ``area``. coalesce() keeps the planner on the order
    indexes: driving from the area's cases would read every case of the area."""
    return func.coalesce(Case.area_command, "") == area


def _order_rows(ctx: ServiceContext, session: Session, conditions: list, order_by: list,  # type: ignore[type-arg]
                limit: int) -> list[OrderView]:
    subject = aliased(Person, name="subject")
    protected = aliased(Person, name="protected")
    stmt = (
        select(ProtectiveOrder, Case, subject.person_ref, protected.person_ref)
        .join(Case, Case.id == ProtectiveOrder.case_id)
        .outerjoin(subject, subject.id == ProtectiveOrder.subject_id)
        .outerjoin(protected, protected.id == ProtectiveOrder.protected_id)
        .where(and_(True, *conditions))
        .order_by(*order_by)
        .limit(limit)
    )
    return [view_of_order(order, case, subject_ref, protected_ref, ctx)
            for order, case, subject_ref, protected_ref in session.execute(stmt)]


def orders_expiring(ctx: ServiceContext, *, area: str | None = None,
                    within_days: int | None = None, limit: int = _ORDER_LIST_LIMIT,
                    audit: bool = True) -> list[OrderView]:
    """Orders in force expiring within ``within_days`` (policy
    ``spo.expiry_warning_days`` by default), soonest first."""
    ctx.require(Permission.VIEW_BREACHES, entity="orders")
    start, end = checked_rule(rules.expiry_window, ctx.now(), ctx.policy.spo, within_days)
    conditions = [
        ProtectiveOrder.status.in_(sorted(rules.ORDERS_IN_FORCE)),
        ProtectiveOrder.expires_at >= start,
        ProtectiveOrder.expires_at <= end,
    ]
    if area:
        conditions.append(_in_area(area))
    with ctx.read() as session:
        rows = _order_rows(ctx, session, conditions,
                           [ProtectiveOrder.expires_at, ProtectiveOrder.order_ref], limit)
    if audit:
        with ctx.write() as session:
            days = (end - start).days
            audit_naming(ctx, session, AuditAction.VIEW, "orders", None,
                         [r.crime_ref for r in rows],
                         reason=f"orders expiring within {days} days ({area or 'force-wide'}, "
                         f"{len(rows)} orders)")
    return rows


def notifications_due(ctx: ServiceContext, *, area: str | None = None,
                      limit: int = _ORDER_LIST_LIMIT, audit: bool = True) -> list[OrderView]:
    """SPOs and interim SPOs in force, served, whose subject has not yet
    notified: oldest service (most overdue) first."""
    ctx.require(Permission.VIEW_BREACHES, entity="orders")
    conditions = [
        ProtectiveOrder.kind.in_(sorted(rules.NOTIFICATION_KINDS)),
        ProtectiveOrder.status.in_(sorted(rules.ORDERS_IN_FORCE)),
        ProtectiveOrder.served_at.is_not(None),
        ProtectiveOrder.notified_at.is_(None),
    ]
    if area:
        conditions.append(_in_area(area))
    with ctx.read() as session:
        rows = _order_rows(ctx, session, conditions,
                           [ProtectiveOrder.served_at, ProtectiveOrder.order_ref], limit)
    if audit:
        with ctx.write() as session:
            audit_naming(ctx, session, AuditAction.VIEW, "orders", None,
                         [r.crime_ref for r in rows],
                         reason=f"SPO notifications due ({area or 'force-wide'}, "
                                f"{len(rows)} orders)")
    return rows


@dataclass(frozen=True)
class OrdersWatch:
    """What the breach board shows about orders: how many are about to expire
    and how many SPO notifications are outstanding, with the first few of each."""

    expiring_count: int
    expiry_days: int
    expiring: tuple[OrderView, ...]  # soonest first, at most ``shown``
    notifications_count: int
    notifications_overdue: int
    notifications: tuple[OrderView, ...]  # oldest service first, at most ``shown``


def _expiring_conditions(ctx: ServiceContext, area: str | None) -> list:  # type: ignore[type-arg]
    start, end = rules.expiry_window(ctx.now(), ctx.policy.spo)
    conditions = [ProtectiveOrder.status.in_(sorted(rules.ORDERS_IN_FORCE)),
                  ProtectiveOrder.expires_at >= start, ProtectiveOrder.expires_at <= end]
    if area:
        conditions.append(_in_area(area))
    return conditions


def _notification_conditions(area: str | None) -> list:  # type: ignore[type-arg]
    conditions = [ProtectiveOrder.kind.in_(sorted(rules.NOTIFICATION_KINDS)),
                  ProtectiveOrder.status.in_(sorted(rules.ORDERS_IN_FORCE)),
                  ProtectiveOrder.served_at.is_not(None), ProtectiveOrder.notified_at.is_(None)]
    if area:
        conditions.append(_in_area(area))
    return conditions


def _counts(session: Session, conditions: list, *flags: Any) -> tuple[int, ...]:  # type: ignore[type-arg]
    """How many orders match ``conditions``, and how many of them match each
    of ``flags``: one pass."""
    stmt = (select(func.count(), *(func.sum(case((flag, 1), else_=0)) for flag in flags))
            .select_from(ProtectiveOrder)
            .join(Case, Case.id == ProtectiveOrder.case_id).where(*conditions))
    row = session.execute(stmt).one()
    return tuple(int(v or 0) for v in row)


def orders_watch(ctx: ServiceContext, *, area: str | None = None, shown: int = 5,
                 audit: bool = True) -> OrdersWatch:
    """Orders expiring within the policy window (``spo.expiry_warning_days``)
    and SPO notifications outstanding, for ``area`` (force-wide when None):
    counted in SQL, with the first ``shown`` of each."""
    ctx.require(Permission.VIEW_BREACHES, entity="orders")
    overdue_before = ctx.now() - timedelta(days=ctx.policy.spo.notification_days)
    with ctx.read() as session:
        (expiring,) = _counts(session, _expiring_conditions(ctx, area))
        first_expiring = _order_rows(ctx, session, _expiring_conditions(ctx, area),
                                     [ProtectiveOrder.expires_at, ProtectiveOrder.order_ref], shown)
        notes = _notification_conditions(area)
        outstanding, overdue = _counts(session, notes,
                                       ProtectiveOrder.served_at < overdue_before)
        first_notes = _order_rows(ctx, session, notes,
                                  [ProtectiveOrder.served_at, ProtectiveOrder.order_ref], shown)
    if audit:
        with ctx.write() as session:
            audit_naming(ctx, session, AuditAction.VIEW, "orders", None,
                         [r.crime_ref for r in (*first_expiring, *first_notes)],
                         reason=f"orders watch ({area or 'force-wide'}): {expiring} expiring "
                         f"within {ctx.policy.spo.expiry_warning_days} days, {outstanding} SPO "
                         f"notifications outstanding ({overdue} overdue)")
    return OrdersWatch(expiring, ctx.policy.spo.expiry_warning_days, tuple(first_expiring),
                       outstanding, overdue, tuple(first_notes))
