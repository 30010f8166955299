"""Worker processes forked from this one and kept for later requests.

A long read-only computation over many rows (a full screening run) takes
turns on one interpreter lock when it runs in threads; in worker processes it
uses every core. :class:`ForkedWorkers` forks ``count`` workers from the
running process, so each starts with what the process has already built and
its service context (the same database, user and policy): identity is never
handed to a worker, it is inherited. Each worker then keeps what it learns
(the compiled policy and its caches) for the next request.

- ``prepare(ctx)``, if given, runs in each worker as soon as it is forked,
  while the caller is still busy with its own start (each worker compiles
  the policy at the same time as the others instead of waiting for it); a
  failure there is left for the request, which meets it again and reports it.
- A request is one picklable value per worker; ``serve(ctx, request)`` runs in
  the worker and every value it yields is sent back as it comes, so the
  caller can write results while the workers go on.
- A worker opens database connections of its own (the parent's pooled ones
  are dropped unclosed: closing an inherited SQLite file would release the
  parent's locks) and never writes: whoever asked writes and audits.
- An exception in a worker reaches the caller as itself (or its text when it
  cannot be pickled), after the other workers are stopped. A worker that dies
  without answering is reported as lost, with the requests it had not
  finished left to the caller.
- Workers leave when the process that forked them closes them or exits
  (their end of the pipe then reads end-of-file); they ignore the terminal's
  interrupt, which is the parent's to handle.

Forking is only safe where the system has ``fork`` and this process runs no
other thread (:func:`can_fork`); otherwise callers do the work themselves.
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any

from app.services.context import ServiceContext

Serve = Callable[[ServiceContext, Any], Iterator[Any]]

MAX_WORKERS = 8


def can_fork() -> bool:
    """A child process can be forked safely: the system has ``fork`` (Linux;
    macOS's frameworks are not fork-safe) and this process runs no other
    thread whose locks a child could inherit held."""
    return hasattr(os, "fork") and sys.platform.startswith("linux") \
        and threading.active_count() == 1


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class WorkerFailed(RuntimeError):
    """A worker raised something that could not be sent back as itself."""


class ForkedWorkers:
    """``count`` workers forked from this process, each serving requests
    with ``serve`` in the context ``ctx`` it inherited."""

    def __init__(self, ctx: ServiceContext, serve: Serve, count: int,
                 prepare: Callable[[ServiceContext], Any] | None = None) -> None:
        if not can_fork():
            raise RuntimeError("worker processes can only be forked from a process "
                               "with no other thread, on Linux")
        self.ctx = ctx
        self.serve = serve
        self.prepare = prepare
        self._workers: list[tuple[int, Connection]] = []
        self.closed = False
        try:
            for _ in range(count):
                self._fork()
        except BaseException:  # the ones forked leave with the rest
            self.close()
            raise
        atexit.register(self.close)

    @property
    def count(self) -> int:
        return len(self._workers)

    def _fork(self) -> None:
        ours, theirs = Pipe()
        # what the worker inherits is never scanned by its collector: the
        # pages stay shared with this process, and the worker's collections
        # only walk what it made itself. This process thaws what it froze for
        # the fork, unless it had frozen its start-up objects before (a
        # thaw cannot tell them apart): then what it made since stays frozen
        thaw = gc.get_freeze_count() == 0
        gc.freeze()
        try:
            pid = os.fork()
        except BaseException:
            if thaw:
                gc.unfreeze()
            ours.close()
            theirs.close()
            raise
        if pid != 0 and thaw:
            gc.unfreeze()
        if pid == 0:  # the worker: serve until the parent closes its end
            ours.close()
            try:
                for _pid, sibling in self._workers:
                    sibling.close()
                _serve_forever(theirs, self.ctx, self.serve, self.prepare)
            finally:  # never back into the parent's code, nor its exit hooks
                os._exit(0)
        theirs.close()
        self._workers.append((pid, ours))

    def map(self, requests: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Send ``requests[i]`` to worker ``i`` and yield ``(i, value)`` for
        every value a worker yields, as they arrive, until every worker has
        finished. A lost worker yields ``(i, WorkerLost)`` once; then the
        workers are closed when the others have finished."""
        if self.closed:
            raise RuntimeError("these workers are closed")
        if len(requests) != self.count:
            raise ValueError(f"{len(requests)} requests for {self.count} workers")
        pending: dict[Connection, int] = {}
        for index, ((_pid, conn), request) in enumerate(zip(self._workers, requests,
                                                             strict=True)):
            try:
                conn.send(request)
                pending[conn] = index
            except OSError:
                yield index, WorkerLost
        lost = len(pending) < self.count
        try:
            while pending:
                for conn in wait(list(pending)):
                    index = pending[conn]  # type: ignore[index]
                    try:
                        kind, value = conn.recv()  # type: ignore[union-attr]
                    except (EOFError, OSError):
                        del pending[conn]  # type: ignore[arg-type]
                        lost = True
                        yield index, WorkerLost
                        continue
                    if kind == "item":
                        yield index, value
                    elif kind == "done":
                        del pending[conn]  # type: ignore[arg-type]
                    else:  # "error": stop the others (their answers would be stale), raise
                        self.close()
                        raise value
        except BaseException:
            self.close()  # an interrupted map leaves answers unread: these workers are done
            raise
        if lost:
            self.close()

    def close(self) -> None:
        """Close the workers' pipes (they leave on end-of-file) and reap them."""
        if self.closed:
            return
        self.closed = True
        for _pid, conn in self._workers:
            conn.close()
        for pid, _conn in self._workers:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ChildProcessError, ProcessLookupError):
                pass
        atexit.unregister(self.close)


class WorkerLost:
    """Marks a worker that died without finishing (see :meth:`ForkedWorkers.map`)."""


def _serve_forever(conn: Connection, ctx: ServiceContext, serve: Serve,
                   prepare: Callable[[ServiceContext], Any] | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    ctx.database.engine.dispose(close=False)
    if prepare is not None:
        try:
            prepare(ctx)
        except Exception:  # the request meets it again and sends it back
            pass
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            for value in serve(ctx, request):
                conn.send(("item", value))
            conn.send(("done", None))
        except BaseException as exc:  # sent back to the caller, who raises it
            try:
                conn.send(("error", exc))
            except Exception:
                conn.send(("error", WorkerFailed(f"{type(exc).__name__}: {exc}")))
