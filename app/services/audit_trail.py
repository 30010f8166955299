"""A case's audit trail: who viewed and who changed it, when, and why
(DPA 2018 s62 consultation and alteration logs). Reading the trail is itself
audited as a view of the case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.services.cases import case_area
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import AuditEvent
from models.enums import AuditAction

TRAIL_LIMIT = 500


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    username: str
    role: str
    action: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def changed(self) -> tuple[str, ...]:
        """The fields whose value differs between before and after."""
        before = self.before or {}
        after = self.after or {}
        return tuple(sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)))

    @property
    def is_view(self) -> bool:
        return self.action == AuditAction.VIEW


def case_audit_trail(ctx: ServiceContext, *, crime_ref: str,
                     limit: int = TRAIL_LIMIT) -> list[AuditEntry]:
    """The newest ``limit`` audit events about ``crime_ref``, newest first."""
    from app.services.restricted import require_visible

    area = case_area(ctx, crime_ref)
    ctx.require(Permission.VIEW_AUDIT, area=area, entity="case", entity_id=crime_ref)
    require_visible(ctx, crime_ref)
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, "case", crime_ref, reason="case audit trail viewed")
    with ctx.read() as session:
        rows = session.execute(
            select(AuditEvent)
            .where(AuditEvent.entity == "case", AuditEvent.entity_id == crime_ref)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(max(1, limit))
        ).scalars().all()
    return [
        AuditEntry(at=r.at, username=r.username, role=r.role, action=r.action, reason=r.reason,
                   before=r.before, after=r.after)
        for r in rows
    ]
