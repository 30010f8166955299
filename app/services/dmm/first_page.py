"""The first page of a supervisor's own meeting, computed while the app starts.

Opening Vigil spends most of a second importing and starting the terminal
interface before the DMM screen can ask for its agenda; a meeting nobody
prepared overnight then needs its agenda computed. ``FirstPage`` starts that
computation as soon as the service context exists, so both happen at once;
the DMM screen's first request for exactly that page (area, meeting, first
page, no filter) is answered from it, every other request by
:func:`~app.services.dmm.viewing.build_queue` itself.

Where it runs:

- ``vigil`` itself (``in_child=True``, on a system with ``fork`` and while the
  process has no other thread) computes it in a **child process** forked from
  the starting app: the child shares nothing with the interface's start but
  the database file or server, so on a machine with two cores or more the
  page and the interface are built at the same time instead of taking turns
  on one interpreter lock. The child opens connections of its own (the
  parent's are left alone, never closed from the child), sends the page back
  through a pipe and exits; if it dies without an answer, the page is
  computed in the app's own process instead.
- Otherwise (tests, a process that already runs threads) it runs in a thread
  of the app's process; the database's own work still runs outside the
  interpreter's lock.

Either way the result is the same call the screen would make, with the same
audit event (a view of the queue), made once, by the same user.
"""

from __future__ import annotations

import os
import pickle
import threading
from concurrent.futures import Future
from datetime import date
from typing import Any

from app.services.context import ServiceContext
from app.services.dmm.common import current_meeting_date
from app.services.dmm.viewing import build_queue
from app.services.dmm.views import DmmQueue
from app.services.forked_workers import can_fork
from app.services.permissions import Permission

# Rows per page of the DMM screen (and of the first page computed at start).
PAGE_SIZE = 100


class FirstPage:
    """The agenda's first page for ``area``'s meeting on ``meeting_date``,
    computed from construction in a child process (``in_child`` and
    :func:`can_fork`) or a background thread."""

    def __init__(self, ctx: ServiceContext, area: str, meeting_date: date, *,
                 in_child: bool = False) -> None:
        self.area = area
        self.meeting_date = meeting_date
        self._ctx = ctx
        self._future: Future[DmmQueue] = Future()
        self._taken = False
        self._lock = threading.Lock()
        self.child_pid: int | None = None
        if in_child and can_fork():
            self._fork(ctx)
        else:
            threading.Thread(target=self._compute, args=(ctx,), name="dmm-first-page",
                             daemon=True).start()

    def _page(self, ctx: ServiceContext) -> DmmQueue:
        return build_queue(ctx, area=self.area, meeting_date=self.meeting_date,
                           limit=PAGE_SIZE, offset=0, defer_full=True)

    def _compute(self, ctx: ServiceContext) -> None:
        try:
            self._future.set_result(self._page(ctx))
        except BaseException as exc:  # handed to the screen's worker, which reports it
            self._future.set_exception(exc)

    # --- the child process ------------------------------------------------
    def _fork(self, ctx: ServiceContext) -> None:
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, answer, leave without running the parent's exit hooks
            os.close(reader)
            self._answer(ctx, writer)
            os._exit(0)
        os.close(writer)
        self.child_pid = pid
        threading.Thread(target=self._receive, args=(reader, pid), name="dmm-first-page",
                         daemon=True).start()

    def _answer(self, ctx: ServiceContext, writer: int) -> None:
        try:
            # the parent's pooled connections are the parent's: drop them
            # unclosed (closing an inherited SQLite file would release the
            # parent's locks) and open this child's own
            ctx.database.engine.dispose(close=False)
            answer = pickle.dumps((True, self._page(ctx)))
            ctx.database.engine.dispose()  # the child's own, closed as a client should
        except BaseException as exc:
            try:
                answer = pickle.dumps((False, exc))
            except Exception:
                answer = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        try:
            with os.fdopen(writer, "wb") as pipe:
                pipe.write(answer)
        except OSError:  # the app has already closed: nobody is waiting for the page
            pass

    def _receive(self, reader: int, pid: int) -> None:
        with os.fdopen(reader, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        try:
            ok, value = pickle.loads(answer)
        except Exception:  # the child died before answering: compute the page here
            self._compute(self._ctx)
            return
        if ok:
            self._future.set_result(value)
        else:
            self._future.set_exception(value)

    # --- answering the screen ---------------------------------------------
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


def start_first_page(ctx: ServiceContext, *, in_child: bool = False) -> FirstPage | None:
    """Start computing the user's own meeting's first page, when the user has
    an area command and may view its DMM; None otherwise. ``in_child``: in a
    child process where that is safe (see :class:`FirstPage`)."""
    area = ctx.actor.area_command
    if not area or not ctx.allowed(Permission.VIEW_DMM, area=area):
        return None
    return FirstPage(ctx, area, current_meeting_date(ctx), in_child=in_child)
