"""A case's audit trail: who viewed, changed, disclosed or collected it, when,
and why (DPA 2018 s62 logs of consultation, alteration, disclosure and
collection). Reading the trail is itself audited as a view of the case.

Events about one case name it in ``entity_id``; events about many (a list
shown, an export, an import) name each case in :class:`~models.AuditSubject`,
written by :func:`audit_naming` in the same transaction as the event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, text
from sqlmodel import Session

from app.errors import NotFound
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import AuditEvent, AuditSubject, Case
from models.enums import AuditAction

TRAIL_LIMIT = 500
SUBJECT_BATCH = 5_000


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    username: str
    role: str
    action: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    entity: str = "case"
    entity_id: str | None = None

    @property
    def changed(self) -> tuple[str, ...]:
        """The fields whose value differs between before and after."""
        if self.entity != "case":
            return ()
        before = self.before or {}
        after = self.after or {}
        return tuple(sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)))

    @property
    def is_view(self) -> bool:
        return self.action == AuditAction.VIEW

    @property
    def why(self) -> str:
        return self.reason or ""


def audit_naming(ctx: ServiceContext, session: Session, action: AuditAction | str, entity: str,
                 entity_id: str | int | None, crime_refs: Iterable[str], *,
                 reason: str | None = None, before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None) -> int:
    """One audit event naming every case in ``crime_refs`` (no cap); its id."""
    ctx.audit(session, action, entity, entity_id, reason=reason, before=before, after=after)
    event = next(obj for obj in reversed(list(session.new)) if isinstance(obj, AuditEvent))
    session.flush()
    event_id = int(event.id)  # type: ignore[arg-type]
    # plain inserts, no RETURNING (which a single-row insert would add for the
    # key): the rows are written, never read back, so an administrator, who
    # reads no case references, can name the case it erases
    statement = text("INSERT INTO audit_subject (audit_event_id, crime_ref) "
                     "VALUES (:audit_event_id, :crime_ref)")
    connection = session.connection()
    batch: list[dict[str, Any]] = []
    for ref in dict.fromkeys(crime_refs):  # distinct, in order
        batch.append({"audit_event_id": event_id, "crime_ref": ref})
        if len(batch) >= SUBJECT_BATCH:
            connection.execute(statement, batch)
            batch = []
    if batch:
        connection.execute(statement, batch)
    return event_id


def record_cases_shown(ctx: ServiceContext, *, entity: str, entity_id: str | None,
                       crime_refs: Iterable[str], what: str) -> int:
    """A screen's automatic refresh brought into view cases that its audited
    views had not shown: one view event naming them (a refresh of what was
    already named writes nothing). Returns how many were named."""
    refs = list(dict.fromkeys(crime_refs))
    if not refs:
        return 0
    with ctx.write() as session:
        audit_naming(ctx, session, AuditAction.VIEW, entity, entity_id, refs,
                     reason=f"{what} refreshed: {len(refs)} case"
                            f"{'s' if len(refs) != 1 else ''} newly shown")
    return len(refs)


def _case_area(ctx: ServiceContext, crime_ref: str) -> str | None:
    with ctx.read() as session:
        return session.execute(
            select(Case.area_command).where(Case.crime_ref == crime_ref)).scalar()


def _has_trail(ctx: ServiceContext, crime_ref: str) -> bool:
    """An erased case leaves its audit stub: the trail outlives the record."""
    with ctx.read() as session:
        return session.execute(
            select(AuditEvent.id).where(AuditEvent.entity == "case",
                                        AuditEvent.entity_id == crime_ref).limit(1)
        ).first() is not None


def case_audit_trail(ctx: ServiceContext, *, crime_ref: str, limit: int = TRAIL_LIMIT,
                     reason: str | None = None) -> list[AuditEntry]:
    """The newest ``limit`` audit events about ``crime_ref``, newest first:
    those about the case alone, and the lists, exports and imports naming it.
    Outside the user's own area it needs a ``reason`` (as any consultation)."""
    crime_ref = crime_ref.strip()
    area = _case_area(ctx, crime_ref)
    if area is None and not _has_trail(ctx, crime_ref):
        raise NotFound(f"crime {crime_ref} is not in Vigil")
    ctx.require(Permission.VIEW_AUDIT, area=area, entity="case", entity_id=crime_ref)
    if area is not None:
        from app.services.restricted import require_visible

        require_visible(ctx, crime_ref)
    why = "case audit trail viewed"
    if area is not None:
        from app.services.case_lock import load_case
        from app.services.cases import consult

        with ctx.read() as session:
            why = consult(ctx, session, load_case(session, crime_ref), reason=reason,
                          what="case audit trail")
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, "case", crime_ref, reason=why)
    named = select(AuditSubject.audit_event_id).where(AuditSubject.crime_ref == crime_ref)
    with ctx.read() as session:
        rows = session.execute(
            select(AuditEvent)
            .where(or_(
                (AuditEvent.entity == "case") & (AuditEvent.entity_id == crime_ref),
                AuditEvent.id.in_(named),
            ))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(max(1, limit))
        ).scalars().all()
    return [
        AuditEntry(at=r.at, username=r.username, role=r.role, action=r.action, reason=r.reason,
                   before=r.before, after=r.after, entity=r.entity, entity_id=r.entity_id)
        for r in rows
    ]
