"""Screening at scale (acceptance: a full run over 1,000,000 crimes under
60 s; incremental runs proportional to what changed), and how well the rules
find the generated force's hidden stalking.

    python -m benchmarks.screening --db sqlite:////tmp/scr1m.db --now 2026-03-02T08:00:00Z

``time_full_run`` times :func:`app.services.screening.run_screening` with
``full=True`` as an analyst meets it (permission, reads, rules, writes,
audit). ``time_incremental_run`` first marks ``changes`` crimes as edited
(their ``last_activity_at`` moves past the last run), then times an
incremental run. ``recall_precision`` compares the latest results with the
training key: the positives are the screened crimes (not recorded as
stalking, of a screened family) whose key says ``hidden_stalking``. The
benchmark changes the database (results, runs, activity times): run it on
a generated copy, never on live data.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select, update

from app.clock import Clock
from app.services.context import ServiceContext
from app.services.screening import ScreeningRunSummary, run_screening
from models import Case, ScreeningResult, ScreeningRun, TrainingKey


def time_full_run(ctx: ServiceContext) -> float:
    """Seconds for one full screening run."""
    start = time.perf_counter()
    run_screening(ctx, full=True)
    return time.perf_counter() - start


def _later_context(ctx: ServiceContext) -> tuple[ServiceContext, Any]:
    """A context whose clock is just after the last run and the moment the
    simulated edits are made (so a fixed --now still sees them as newer)."""
    with ctx.read() as session:
        last = session.execute(select(func.max(ScreeningRun.started_at))).scalar()
    base = max(ctx.now(), last) if last else ctx.now()
    edited_at = base + timedelta(seconds=1)
    later = dataclasses.replace(ctx, clock=Clock.fixed(edited_at + timedelta(seconds=1)))
    return later, edited_at


def touch_crimes(ctx: ServiceContext, changes: int, edited_at: Any) -> int:
    """Mark ``changes`` crimes, spread over the table, as edited at ``edited_at``."""
    with ctx.write() as session:
        total = session.execute(select(func.max(Case.id))).scalar() or 0
        step = max(1, total // max(1, changes))
        ids = session.execute(
            select(Case.id).where(Case.id % step == 0).order_by(Case.id).limit(changes)
        ).scalars().all()
        for start in range(0, len(ids), 5000):
            session.execute(update(Case).where(Case.id.in_(ids[start:start + 5000]))
                            .values(last_activity_at=edited_at))
    return len(ids)


def incremental_run(ctx: ServiceContext, changes: int = 1000) -> tuple[float, ScreeningRunSummary]:
    """(seconds, summary) of an incremental run after ``changes`` edits. A
    full run is made first (not timed) when the database was never screened."""
    with ctx.read() as session:
        screened_before = session.execute(select(func.count(ScreeningRun.id))).scalar()
    if not screened_before:
        run_screening(ctx, full=True)
    later, edited_at = _later_context(ctx)
    if changes:
        touch_crimes(later, changes, edited_at)
    start = time.perf_counter()
    summary = run_screening(later)
    return time.perf_counter() - start, summary


def time_incremental_run(ctx: ServiceContext, changes: int = 1000) -> float:
    """Seconds for an incremental run after ``changes`` crimes were edited."""
    return incremental_run(ctx, changes)[0]


def recall_precision(ctx: ServiceContext) -> dict[str, Any]:
    """How the latest screening results compare with the training key (a
    full run is made first when there are no results)."""
    with ctx.read() as session:
        results = session.execute(select(func.count()).select_from(ScreeningResult)).scalar()
    if not results:
        run_screening(ctx, full=True)
    threshold = ctx.policy.screening.min_score
    hidden = TrainingKey.hidden_stalking.is_(True)
    candidate = ScreeningResult.qualifies.is_(True) & (ScreeningResult.score >= threshold)
    stmt = (
        select(
            func.count(),
            func.sum(case((candidate, 1), else_=0)),
            func.sum(case((hidden, 1), else_=0)),
            func.sum(case((hidden & candidate, 1), else_=0)),
        )
        .select_from(ScreeningResult)
        .outerjoin(TrainingKey, TrainingKey.case_id == ScreeningResult.case_id)
    )
    with ctx.read() as session:
        screened, candidates, positives, found = (int(v or 0) for v in session.execute(stmt).one())
        hidden_total = session.execute(
            select(func.count()).select_from(TrainingKey).where(hidden)).scalar() or 0
    return {
        "screened": screened,
        "candidates": candidates,
        "positives": positives,  # hidden stalking among the screened crimes
        "true_positives": found,
        "false_positives": candidates - found,
        "false_negatives": positives - found,
        "recall": round(found / positives, 4) if positives else None,
        "precision": round(found / candidates, 4) if candidates else None,
        "hidden_in_key": int(hidden_total),  # including any the policy does not screen
        "min_score": threshold,
    }


def main(argv: list[str] | None = None) -> int:
    from app.cli.base import CliEnv

    parser = argparse.ArgumentParser(prog="python -m benchmarks.screening",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL (a generated copy)")
    parser.add_argument("--user", default="analyst")
    parser.add_argument("--now", help="fix the clock (ISO), e.g. 2026-03-02T08:00:00Z")
    parser.add_argument("--changes", type=int, nargs="*", default=[100, 1000, 10000],
                        help="edits before each timed incremental run")
    args = parser.parse_args(argv)
    env = CliEnv.from_args(argparse.Namespace(db=args.db, user=args.user, now=args.now,
                                              policy=None))
    try:
        ctx = env.context()
        print(f"full run: {time_full_run(ctx):.2f} s")
        quality = recall_precision(ctx)
        print("recall {recall} precision {precision} ({true_positives} of {positives} hidden "
              "found; {candidates} candidates of {screened} screened)".format(**quality))
        for changes in args.changes:
            seconds, summary = incremental_run(ctx, changes)
            print(f"incremental run after {changes} edits: {seconds:.2f} s "
                  f"({summary.screened} crimes screened)")
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
