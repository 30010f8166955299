"""The first page of a supervisor's own meeting, computed while the app starts.

Opening Vigil spends most of a second importing and starting the terminal
interface before the DMM screen can ask for its agenda; a meeting nobody
prepared overnight then needs its whole agenda computed (most of it inside
the database, which runs outside the interpreter's lock). ``FirstPage``
starts that computation in a thread as soon as the service context exists, so
both happen at once; the DMM screen's first request for exactly that page
(area, meeting, first page, no filter) is answered from it, every other
request by :func:`~app.services.dmm.viewing.build_queue` itself.

The result is the same call the screen would make, with the same audit event
(a view of the queue), made once.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from datetime import date
from typing import Any

from app.services.context import ServiceContext
from app.services.dmm.common import current_meeting_date
from app.services.dmm.viewing import build_queue
from app.services.dmm.views import DmmQueue
from app.services.permissions import Permission

# Rows per page of the DMM screen (and of the first page computed at start).
PAGE_SIZE = 100


class FirstPage:
    """The agenda's first page for ``area``'s meeting on ``meeting_date``,
    computed in a background thread from construction."""

    def __init__(self, ctx: ServiceContext, area: str, meeting_date: date) -> None:
        self.area = area
        self.meeting_date = meeting_date
        self._future: Future[DmmQueue] = Future()
        self._taken = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._compute, args=(ctx,),
                                        name="dmm-first-page", daemon=True)
        self._thread.start()

    def _compute(self, ctx: ServiceContext) -> None:
        try:
            self._future.set_result(build_queue(
                ctx, area=self.area, meeting_date=self.meeting_date, limit=PAGE_SIZE,
                offset=0, defer_full=True))
        except BaseException as exc:  # handed to the screen's worker, which reports it
            self._future.set_exception(exc)

    def _claim(self, area: str, meeting_date: date, kwargs: dict[str, Any]) -> bool:
        wanted = {"audit": True, "limit": PAGE_SIZE, "offset": 0, "reason": None,
                  "text": None, "defer_full": True}
        if (area, meeting_date) != (self.area, self.meeting_date):
            return False
        if any(kwargs.get(key, wanted[key]) != value for key, value in wanted.items()):
            return False
        with self._lock:
            if self._taken:
                return False
            self._taken = True
            return True

    def build_queue(self, ctx: ServiceContext, *, area: str, meeting_date: date,
                    **kwargs: Any) -> DmmQueue:
        """:func:`build_queue`, answered from the page computed at start when
        this is its first request for it (waiting for it if still running)."""
        if self._claim(area, meeting_date, kwargs):
            return self._future.result()
        return build_queue(ctx, area=area, meeting_date=meeting_date, **kwargs)


def start_first_page(ctx: ServiceContext) -> FirstPage | None:
    """Start computing the user's own meeting's first page, when the user has
    an area command and may view its DMM; None otherwise."""
    area = ctx.actor.area_command
    if not area or not ctx.allowed(Permission.VIEW_DMM, area=area):
        return None
    return FirstPage(ctx, area, current_meeting_date(ctx))
