"""The full assurance report at scale (acceptance: under 10 s at 1,000,000 cases).

    python -m benchmarks.assurance --db sqlite:////tmp/as1m.db --now 2026-03-02T08:00:00Z

``time_report`` times :func:`app.services.assurance.assurance_report` as a
user meets it (permission check, every query, the figures, the audit event)
for a period; ``time_drill_down`` times the first page of the crimes behind
a figure. Times are seconds. By default the period is the last 12 full
months before ``--now``, force-wide.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date

from app.rules.metric_periods import default_period
from app.rules.metrics import R14_REFERRALS
from app.services.assurance import assurance_report, metric_cases
from app.services.context import ServiceContext


def time_report(ctx: ServiceContext, date_from: date, date_to: date, repeats: int,
                area: str | None = None) -> list[float]:
    """Seconds for each of ``repeats`` full assurance reports for
    ``[date_from, date_to)`` (``date_to`` is the first day not counted)."""
    times: list[float] = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        assurance_report(ctx, date_from=date_from, date_to=date_to, area=area)
        times.append(time.perf_counter() - start)
    return times


def time_drill_down(ctx: ServiceContext, date_from: date, date_to: date, repeats: int,
                    metric_code: str = R14_REFERRALS, area: str | None = None) -> list[float]:
    """Seconds for each of ``repeats`` first pages of the crimes behind a figure."""
    times: list[float] = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        metric_cases(ctx, metric_code=metric_code, date_from=date_from, date_to=date_to,
                     area=area)
        times.append(time.perf_counter() - start)
    return times


def _summary(name: str, times: list[float]) -> str:
    return (f"{name}: median {statistics.median(times):.2f} s, best {min(times):.2f} s, "
            f"worst {max(times):.2f} s over {len(times)} runs")


def main(argv: list[str] | None = None) -> int:
    from app.dates import local, parse_date
    from app.services.context import open_context
    from app.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m benchmarks.assurance",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL")
    parser.add_argument("--user", default="analyst")
    parser.add_argument("--now", help="fix the clock (ISO), e.g. 2026-03-02T08:00:00Z")
    parser.add_argument("--from", dest="date_from", help="first day counted")
    parser.add_argument("--to", dest="date_to", help="first day NOT counted")
    parser.add_argument("--area")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    ctx = open_context(Settings.resolve(db=args.db, user=args.user, now=args.now),
                       migrate=False)
    try:
        start, end = default_period(local(ctx.now()).date())
        if args.date_from:
            start = parse_date(args.date_from)
        if args.date_to:
            end = parse_date(args.date_to)
        print(f"period [{start}, {end}), {args.area or 'force-wide'}", file=sys.stderr)
        print(_summary("assurance report", time_report(ctx, start, end, args.repeats,
                                                       area=args.area)))
        print(_summary("drill-down page", time_drill_down(ctx, start, end, args.repeats,
                                                          area=args.area)))
    finally:
        ctx.database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
