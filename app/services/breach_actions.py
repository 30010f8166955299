"""The supervisor's actions on a breach on the board (DOMAIN.md §5; rec 13):
acknowledge it, escalate it, record the arrest, ask for the pair's risk
re-assessment, and record an application for an SPO that the breach
calls for. Each is audited and moves the original case's version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.errors import BadInput, NotFound
from app.rules import orders as order_rules
from app.services.breaches import BoardItem, item_for
from app.services.case_lock import CaseEdit, edit_case
from app.services.context import ServiceContext
from app.services.orders import (
    OrderView,
    create_order_in_session,
    not_in_future,
    order_view,
    required_text,
)
from app.services.permissions import Permission
from models import (
    Breach,
    Case,
    ProtectiveOrder,
)
from models.enums import ORDERS_IN_FORCE, AuditAction, OrderStatus


def _breach_area(ctx: ServiceContext, breach_ref: str) -> tuple[str, str]:
    with ctx.read() as session:
        row = session.execute(
            select(Case.area_command, Case.crime_ref)
            .join(Breach, Breach.original_case_id == Case.id)
            .where(Breach.breach_ref == breach_ref.strip())
        ).first()
    if row is None:
        raise NotFound(f"breach {breach_ref} is not in Vigil")
    return row.area_command, row.crime_ref


def _breach_state(breach: Breach) -> dict[str, Any]:
    return {"breach_ref": breach.breach_ref, "acknowledged_by": breach.acknowledged_by,
            "acknowledged_at": breach.acknowledged_at,
            "acknowledgement_note": breach.acknowledgement_note,
            "manual_level": breach.manual_level, "escalated_by": breach.escalated_by,
            "escalated_at": breach.escalated_at, "arrest_at": breach.arrest_at,
            "reassessment_requested_at": breach.reassessment_requested_at,
            "outcome": breach.outcome}


@contextmanager
def _action(ctx: ServiceContext, breach_ref: str, permission: Permission,
            expected_version: int) -> Iterator[tuple[CaseEdit, Breach]]:
    """The single edit path on the breach's original case (authorise, lock the
    case row, check the version read), then the breach read afresh under the
    lock: the state the action depends on is the current one."""
    ref = breach_ref.strip()
    _area, crime_ref = _breach_area(ctx, ref)
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=permission) as edit:
        breach = edit.session.execute(
            select(Breach).where(Breach.breach_ref == ref)
            .execution_options(populate_existing=True)
        ).scalars().one()
        yield edit, breach


def acknowledge_breach(ctx: ServiceContext, *, breach_ref: str, note: str,
                       expected_version: int) -> BoardItem:
    """The supervisor acknowledges the breach, with a note of what was done."""
    text = required_text(note, "acknowledgement note")
    with _action(ctx, breach_ref, Permission.ACT_ON_BREACH, expected_version) as (
            edit, breach):
        session, original = edit.session, edit.case
        if breach.acknowledged_at is not None:
            raise BadInput(f"breach {breach.breach_ref} was already acknowledged by "
                           f"{breach.acknowledged_by} at {breach.acknowledged_at.isoformat()}")
        before = _breach_state(breach)
        now = ctx.now()
        breach.acknowledged_by = ctx.actor.username
        breach.acknowledged_at = now
        breach.acknowledgement_note = text
        session.add(breach)
        due = breach.reported_at + timedelta(hours=ctx.policy.breach.acknowledge_within_hours)
        late = " (late)" if now > due else ""
        ctx.audit(session, AuditAction.UPDATE, "case", original.crime_ref,
                  reason=f"breach {breach.breach_ref} acknowledged{late}: {text}",
                  before=before, after=_breach_state(breach))
        session.flush()
        return item_for(ctx, session, breach.id)  # type: ignore[arg-type]


def escalate_breach(ctx: ServiceContext, *, breach_ref: str, level: int, reason: str,
                    expected_version: int) -> BoardItem:
    """Raise the breach to ``level`` (2 or 3) by a supervisor's decision; a
    manual escalation never lowers the level."""
    text = required_text(reason, "escalation reason")
    if level not in (2, 3):
        raise BadInput(f"escalation level {level}: choose 2 or 3")
    with _action(ctx, breach_ref, Permission.ACT_ON_BREACH, expected_version) as (
            edit, breach):
        session, original = edit.session, edit.case
        current = item_for(ctx, session, breach.id)  # type: ignore[arg-type]
        if level <= current.level:
            raise BadInput(f"breach {breach.breach_ref} is already at level {current.level}: "
                           "escalation only raises the level")
        before = _breach_state(breach)
        breach.manual_level = level
        breach.escalated_by = ctx.actor.username
        breach.escalated_at = ctx.now()
        session.add(breach)
        ctx.audit(session, AuditAction.UPDATE, "case", original.crime_ref,
                  reason=f"breach {breach.breach_ref} escalated from level {current.level} "
                         f"to level {level}: {text}",
                  before=before, after=_breach_state(breach))
        session.flush()
        return item_for(ctx, session, breach.id)  # type: ignore[arg-type]


def record_arrest(ctx: ServiceContext, *, breach_ref: str, arrested_at: datetime,
                  expected_version: int) -> BoardItem:
    """The suspect was arrested for the breach."""
    not_in_future(ctx, arrested_at, "arrested_at")
    with _action(ctx, breach_ref, Permission.RECORD_BREACH, expected_version) as (
            edit, breach):
        session, original = edit.session, edit.case
        if arrested_at < breach.occurred_at:
            raise BadInput(f"arrest {arrested_at.isoformat()} is before the breach occurred "
                           f"({breach.occurred_at.isoformat()})")
        before = _breach_state(breach)
        breach.arrest_at = arrested_at
        if breach.outcome is None:
            breach.outcome = "arrested"
        session.add(breach)
        ctx.audit(session, AuditAction.UPDATE, "case", original.crime_ref,
                  reason=f"arrest recorded for breach {breach.breach_ref}",
                  before=before, after=_breach_state(breach))
        session.flush()
        return item_for(ctx, session, breach.id)  # type: ignore[arg-type]


def request_reassessment(ctx: ServiceContext, *, breach_ref: str,
                         expected_version: int) -> BoardItem:
    """Ask for the victim's risk to be re-assessed now: the re-assessment on
    the breach crime (the pair's live record) becomes due within
    ``risk.reassessment_due_hours`` (or earlier if it already was)."""
    with _action(ctx, breach_ref, Permission.ACT_ON_BREACH, expected_version) as (
            edit, breach):
        session = edit.session
        now = ctx.now()
        crime = session.get(Case, breach.breach_case_id)
        if crime is None:  # pragma: no cover - the foreign key holds it
            raise NotFound(f"the crime of breach {breach.breach_ref} is not in Vigil")
        before = _breach_state(breach)
        before["reassessment_due_at"] = crime.reassessment_due_at
        breach.reassessment_requested_at = now
        due = now + timedelta(hours=ctx.policy.risk.reassessment_due_hours)
        if crime.reassessment_due_at is None or due < crime.reassessment_due_at:
            crime.reassessment_due_at = due
        session.add(breach)
        session.add(crime)
        edit.touch(crime.id)  # type: ignore[arg-type]
        after = _breach_state(breach)
        after["reassessment_due_at"] = crime.reassessment_due_at
        ctx.audit(session, AuditAction.UPDATE, "case", crime.crime_ref,
                  reason=f"risk re-assessment requested after breach {breach.breach_ref}",
                  before=before, after=after)
        session.flush()
        return item_for(ctx, session, breach.id)  # type: ignore[arg-type]


def record_spo_application(ctx: ServiceContext, *, crime_ref: str, kind: str,
                           applied_at: datetime, expected_version: int,
                           order_ref: str | None = None) -> OrderView:
    """An SPO or interim SPO applied for to protect the victim of ``crime_ref``
    from its suspect; the case's SPO decision becomes ``applied``."""
    kind = (kind or "").strip().upper()
    if kind not in order_rules.SPO_KINDS:
        raise BadInput(f"SPO application kind {kind!r}: choose SPO or ISPO")
    not_in_future(ctx, applied_at, "applied_at")
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version,
                   permission=Permission.MANAGE_ORDERS) as edit:
        session, case_row = edit.session, edit.case
        if case_row.suspect_id is not None:
            pending = session.execute(
                select(ProtectiveOrder.order_ref, ProtectiveOrder.status).where(
                    ProtectiveOrder.protected_id == case_row.victim_id,
                    ProtectiveOrder.subject_id == case_row.suspect_id,
                    ProtectiveOrder.kind == kind,
                    ProtectiveOrder.status.in_(
                        sorted(ORDERS_IN_FORCE | {OrderStatus.APPLIED,
                                                  OrderStatus.APPLICATION_IN_PREPARATION})),
                ).limit(1)
            ).first()
            if pending:
                raise BadInput(f"{kind} {pending.order_ref} for this victim and suspect is "
                               f"already {pending.status.replace('_', ' ')}")
        order = create_order_in_session(
            ctx, session, case_row, kind=kind, status=OrderStatus.APPLIED, order_ref=order_ref,
            applied_at=applied_at, granted_at=None, served_at=None, expires_at=None,
            conditions=None, reason="SPO application recorded",
        )
        return order_view(session, ctx, order, case_row)
