"""Full screening runs in worker processes, checked in a process of their own
(forking needs a process with no other thread; the test runner may have some).

Prints JSON: for each way of running, the stored results by case id (score,
rules, evidence), the run's counts, the worker count used, or the error.

Usage: python -m tests.services.screening_workers_check DB_URL
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

import app.services.screening as screening
from app.services.context import ServiceContext, open_context
from app.settings import Settings
from models import ScreeningResult


def _results(ctx: ServiceContext) -> dict[str, Any]:
    with ctx.read() as session:
        rows = session.exec(select(ScreeningResult.case_id, ScreeningResult.score,
                                   ScreeningResult.rules, ScreeningResult.evidence)).all()
    return {str(case_id): [score, rules, evidence] for case_id, score, rules, evidence in rows}


def _run(ctx: ServiceContext, workers: int) -> dict[str, Any]:
    screening.cores = lambda: workers  # type: ignore[attr-defined]
    try:
        summary = screening.run_screening(ctx, full=True)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    kept = screening._workers
    return {"results": _results(ctx), "screened": summary.screened,
            "candidates": summary.candidates,
            "worker_pids": [] if kept is None or kept.closed else
            [pid for pid, _conn in kept._workers]}


def main() -> None:
    url = sys.argv[1]
    ctx = open_context(Settings(database_url=url, username="analyst",
                                now=datetime(2026, 3, 2, 8, 0, tzinfo=UTC)), migrate=False)
    screening.CHUNK = 100  # small ranges: a few thousand crimes spread over workers
    screening.WORKERS_FROM = 0
    report: dict[str, Any] = {"serial": _run(ctx, 1), "workers": _run(ctx, 2)}
    report["workers_again"] = _run(ctx, 2)  # the same workers, kept and warm
    screening._workers.close()  # type: ignore[union-attr]
    screening._workers = None

    serve = screening._screen_ranges
    second_share_starts = None

    def dies_after_one_range(ctx: ServiceContext, work: Any) -> Iterator[Any]:
        for count, answer in enumerate(serve(ctx, work)):
            yield answer
            if work.bounds[0] == second_share_starts and count == 0:
                os._exit(3)  # the second worker dies after its first range

    with ctx.read() as session:
        second_share_starts = screening.chunk_bounds(session)[1]
    screening._screen_ranges = dies_after_one_range  # type: ignore[assignment]
    report["worker_lost"] = _run(ctx, 2)
    screening._workers = None

    def raises(ctx: ServiceContext, work: Any) -> Iterator[Any]:
        yield from ()
        raise ValueError(f"no reading of range {work.bounds[0]}")

    screening._screen_ranges = raises  # type: ignore[assignment]
    report["worker_raises"] = _run(ctx, 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
