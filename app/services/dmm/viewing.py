"""Viewing a meeting's agenda is a consultation of every case it shows
(DPA 2018 s62): one event on the queue naming each case on the page."""

from __future__ import annotations

from datetime import date

from app.services import audit_trail
from app.services.context import ServiceContext
from app.services.dmm import agenda
from app.services.dmm.common import queue_id
from app.services.dmm.views import DmmQueue
from models.enums import AuditAction


def build_queue(ctx: ServiceContext, *, area: str, meeting_date: date, audit: bool = True,
                limit: int | None = None, offset: int = 0, reason: str | None = None,
                text: str | None = None, defer_full: bool = False,
                full: bool = False) -> DmmQueue:
    """:func:`app.services.dmm.agenda.build_queue`, with the view audited as
    one event on ``dmm_queue`` naming the cases shown (``audit=False``: a
    screen's refresh of a page already shown)."""
    queue = agenda.build_queue(ctx, area=area, meeting_date=meeting_date, audit=False,
                               limit=limit, offset=offset, reason=reason, text=text,
                               defer_full=defer_full, full=full)
    if audit:
        shown = [item.crime_ref for item in queue.items]
        with ctx.write() as session:
            audit_trail.audit_naming(
                ctx, session, AuditAction.VIEW, "dmm_queue", queue_id(area, meeting_date),
                shown, reason=f"DMM queue viewed ({'live' if queue.live else 'record'}): "
                              f"{len(shown)} of {queue.total} items shown")
    return queue
