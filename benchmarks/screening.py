"""Screening at scale (a full run within 10x of a plain scan of the summaries;
incremental runs proportional to what changed), and how well the rules find
the generated force's hidden stalking (its own figures, never the headline:
that is `vigil screen --evaluate tests/data/screening_corpus.csv`).

    python -m benchmarks.screening --db sqlite:////tmp/scr1m.db --now 2026-03-02T08:00:00Z

``time_full_run`` times :func:`app.services.screening.run_screening` with
``full=True`` as an analyst meets it (permission, reads, rules, writes,
audit). ``incremental_run`` first marks ``changes`` crimes as edited
(their ``last_activity_at`` moves past the last run), then times an
incremental run. ``recall_precision`` compares the latest results with the
training key: the positives are the screenable crimes (not recorded as
stalking, of a screened family) whose key says ``hidden_stalking``.
``--once run|scan`` times one full run, or the baseline scan, in this
process (the bench starts a fresh one: imports and the lemma dictionary
count). The
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
from app.services.screening import INCREMENTAL_OVERLAP, ScreeningRunSummary, run_screening
from models import Case, ScreeningResult, ScreeningRun, TrainingKey


def time_full_run(ctx: ServiceContext) -> float:
    """Seconds for one full screening run."""
    start = time.perf_counter()
    run_screening(ctx, full=True)
    return time.perf_counter() - start


def _later_context(ctx: ServiceContext, after: timedelta) -> ServiceContext:
    """A context whose clock is ``after`` past the latest run (so a fixed
    --now still moves forward from run to run)."""
    with ctx.read() as session:
        last = session.execute(select(func.max(ScreeningRun.started_at))).scalar()
    base = max(ctx.now(), last) if last else ctx.now()
    return dataclasses.replace(ctx, clock=Clock.fixed(base + after))


def touch_crimes(ctx: ServiceContext, changes: int, edited_at: Any,
                 touched: dict[int, Any] | None = None) -> int:
    """Mark ``changes`` crimes, spread over the table, as edited at
    ``edited_at``; ``touched`` gathers each crime's activity time before its
    first touch (for :func:`restore_activity`)."""
    with ctx.write() as session:
        total = session.execute(select(func.max(Case.id))).scalar() or 0
        step = max(1, total // max(1, changes))
        ids = session.execute(
            select(Case.id).where(Case.id % step == 0).order_by(Case.id).limit(changes)
        ).scalars().all()
        for start in range(0, len(ids), 5000):
            batch = ids[start:start + 5000]
            if touched is not None:
                for case_id, active_at in session.execute(
                        select(Case.id, Case.last_activity_at).where(Case.id.in_(batch))):
                    touched.setdefault(case_id, active_at)
            session.execute(update(Case).where(Case.id.in_(batch))
                            .values(last_activity_at=edited_at))
    return len(ids)


def restore_activity(ctx: ServiceContext, touched: dict[int, Any]) -> None:
    """Give the crimes :func:`touch_crimes` marked their activity times back:
    the marks lie past the bench's clock, and would otherwise make every
    later DMM build of the same database re-read those crimes as changed."""
    with ctx.write() as session:
        for case_id, active_at in touched.items():
            session.execute(update(Case).where(Case.id == case_id)
                            .values(last_activity_at=active_at))


def incremental_run(ctx: ServiceContext, changes: int = 1000,
                    touched: dict[int, Any] | None = None) -> tuple[float, ScreeningRunSummary]:
    """(seconds, summary) of an incremental run after ``changes`` edits
    (``touched``: see :func:`touch_crimes`). A full run is made first (not
    timed) when the database was never screened."""
    with ctx.read() as session:
        screened_before = session.execute(select(func.count(ScreeningRun.id))).scalar()
    if not screened_before:
        run_screening(ctx, full=True)
    # An untimed run first, as a scheduler's previous run would be: each
    # run re-reads the overlap before the last one, so the timed run then
    # sees only the edits made after it.
    settled = _later_context(ctx, INCREMENTAL_OVERLAP + timedelta(seconds=1))
    run_screening(settled)
    edited_at = settled.now() + INCREMENTAL_OVERLAP + timedelta(seconds=1)
    later = dataclasses.replace(ctx, clock=Clock.fixed(edited_at + timedelta(seconds=1)))
    if changes:
        touch_crimes(later, changes, edited_at, touched)
    start = time.perf_counter()
    summary = run_screening(later)
    return time.perf_counter() - start, summary


def recall_precision(ctx: ServiceContext) -> dict[str, Any]:
    """How the latest screening results compare with the synthetic force's
    training key (a full run is made first when there was none). The key is
    the generator's own: these figures are the synthetic force's, never the
    headline (that is the hand-written corpus, `vigil screen --evaluate`).
    Positives are the screenable crimes (of a screened family, not recorded
    as stalking) whose key says ``hidden_stalking``."""
    from app.services.screening import _codes, _screenable

    with ctx.read() as session:
        last = session.execute(select(ScreeningRun).where(ScreeningRun.finished_at.is_not(None))
                               .order_by(ScreeningRun.id.desc()).limit(1)).scalars().first()
    if last is None:
        run_screening(ctx, full=True)
        with ctx.read() as session:
            last = session.execute(select(ScreeningRun).order_by(ScreeningRun.id.desc())
                                   .limit(1)).scalars().first()
    threshold = ctx.policy.screening.min_score
    hidden = TrainingKey.hidden_stalking.is_(True)
    candidate = ScreeningResult.qualifies.is_(True) & (ScreeningResult.score >= threshold)
    with ctx.read() as session:
        codes = _codes(session, ctx.policy.screening)
        candidates, found = (int(v or 0) for v in session.execute(
            select(func.count(), func.sum(case((hidden, 1), else_=0)))
            .select_from(ScreeningResult)
            .outerjoin(TrainingKey, TrainingKey.case_id == ScreeningResult.case_id)
            .where(candidate)).one())
        positives = session.execute(
            select(func.count()).select_from(TrainingKey)
            .join(Case, Case.id == TrainingKey.case_id)
            .where(hidden, _screenable(codes))).scalar() or 0
        hidden_total = session.execute(
            select(func.count()).select_from(TrainingKey).where(hidden)).scalar() or 0
    return {
        "screened": last.screened if last else 0,
        "candidates": candidates,
        "positives": int(positives),  # hidden stalking among the screenable crimes
        "true_positives": found,
        "false_positives": candidates - found,
        "false_negatives": int(positives) - found,
        "recall": round(found / positives, 4) if positives else None,
        "precision": round(found / candidates, 4) if candidates else None,
        "hidden_in_key": int(hidden_total),  # including any the policy does not screen
        "min_score": threshold,
    }


def scan_summaries(url: str) -> float:
    """Seconds for the baseline: a DB-API read of every crime's id and summary
    (SQLite), nothing else done with them."""
    import sqlite3

    path = url.split("sqlite:///", 1)[1]
    begin = time.perf_counter()
    connection = sqlite3.connect(path)
    cursor = connection.execute("SELECT id, summary FROM crime_case")
    while cursor.fetchmany(20_000):
        pass
    connection.close()
    return time.perf_counter() - begin


def main(argv: list[str] | None = None) -> int:
    from app.services.context import open_context
    from app.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m benchmarks.screening",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL (a generated copy)")
    parser.add_argument("--user", default="analyst")
    parser.add_argument("--now", help="fix the clock (ISO), e.g. 2026-03-02T08:00:00Z")
    parser.add_argument("--changes", type=int, nargs="*", default=[100, 1000, 10000],
                        help="edits before each timed incremental run")
    parser.add_argument("--once", choices=["run", "scan"],
                        help="time one full run (or the baseline scan) in this process and "
                             "print the seconds (the bench runs it in a fresh process)")
    args = parser.parse_args(argv)
    if args.once == "scan":
        print(f"{scan_summaries(args.db):.4f}")
        return 0
    ctx = open_context(Settings.resolve(db=args.db, user=args.user, now=args.now),
                       migrate=False)
    try:
        if args.once == "run":
            print(f"{time_full_run(ctx):.4f}")
            return 0
        print(f"full run: {time_full_run(ctx):.2f} s")
        quality = recall_precision(ctx)
        print("synthetic force (training key, not the headline): recall {recall} precision "
              "{precision} ({true_positives} of {positives} hidden found; {candidates} "
              "candidates of {screened} screened)".format(**quality))
        for changes in args.changes:
            seconds, summary = incremental_run(ctx, changes)
            print(f"incremental run after {changes} edits: {seconds:.2f} s "
                  f"({summary.screened} crimes screened)")
    finally:
        ctx.database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
