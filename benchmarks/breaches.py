"""The breach board at scale (acceptance: under 200 ms median at 1,000,000 cases).

    python -m benchmarks.breaches --db sqlite:////tmp/br1m.db --user supervisor.northern \\
        --now 2026-03-02T08:00:00Z --repeats 21

``time_board`` times :func:`app.services.breaches.breach_board` as a user
meets it (permission check, the queries, the escalation rules for every item,
the audit event). ``baseline_board_sql`` runs the same reads as hand-written
SQL on a DB-API connection (sqlite3 or psycopg), without the rules, so the
cost of the service layer can be seen. Times are seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from app.policy import default_policy
from app.services.breaches import breach_board
from app.services.context import ServiceContext
from benchmarks.dbapi import rows, summary, when


def time_board(ctx: ServiceContext, area: str | None, repeats: int) -> list[float]:
    """Seconds for each of ``repeats`` builds of the breach board for ``area``
    (force-wide when None), audit event included."""
    times: list[float] = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        breach_board(ctx, area=area)
        times.append(time.perf_counter() - start)
    return times


# --- hand-written baseline -----------------------------------------------------------










# The board: unacknowledged breaches and those acknowledged since :recent and
# not re-assessed since their report, with
# the breach crime, the original case (area filter), the order, the pair and
# the newest assessment on the original case.
_BOARD = """
SELECT b.id, b.breach_ref, b.occurred_at, b.reported_at, b.threats_or_violence,
       b.acknowledged_at, b.acknowledged_by, b.manual_level, b.escalated_at, b.arrest_at,
       b.reassessment_requested_at, bc.crime_ref, oc.id, oc.crime_ref, oc.area_command,
       oc.risk_level, oc.version, oc.reassessment_due_at, o.order_ref, o.kind,
       o.protected_id, o.subject_id, v.person_ref, s.person_ref,
       (SELECT max(r.assessed_at) FROM risk_assessment r WHERE r.case_id = oc.id)
FROM breach b
JOIN protective_order o ON o.id = b.order_id
JOIN crime_case oc ON oc.id = b.original_case_id
JOIN crime_case bc ON bc.id = b.breach_case_id
LEFT JOIN person v ON v.id = o.protected_id
LEFT JOIN person s ON s.id = o.subject_id
WHERE b.id IN (SELECT id FROM breach WHERE acknowledged_at IS NULL
     UNION ALL SELECT a.id FROM breach a WHERE a.acknowledged_at >= ?
     AND NOT EXISTS (SELECT 1 FROM risk_assessment r2 WHERE r2.case_id = a.original_case_id
                     AND r2.assessed_at > a.reported_at)) {area}
"""

# the victims on the board, as a subquery the other reads share
_BOARD_VICTIMS = """
SELECT o2.protected_id FROM breach b2
JOIN protective_order o2 ON o2.id = b2.order_id
JOIN crime_case oc2 ON oc2.id = b2.original_case_id
WHERE b2.id IN (SELECT id FROM breach WHERE acknowledged_at IS NULL
     UNION ALL SELECT a.id FROM breach a WHERE a.acknowledged_at >= ?
     AND NOT EXISTS (SELECT 1 FROM risk_assessment r2 WHERE r2.case_id = a.original_case_id
                     AND r2.assessed_at > a.reported_at)) {area}
"""

_PAIR_COUNTS = """
SELECT o.protected_id, o.subject_id,
       SUM(CASE WHEN b.occurred_at >= ? THEN 1 ELSE 0 END),
       SUM(CASE WHEN b.occurred_at >= ? THEN 1 ELSE 0 END)
FROM breach b JOIN protective_order o ON o.id = b.order_id
WHERE o.protected_id IN ({victims}) AND b.occurred_at >= ? AND b.occurred_at <= ?
GROUP BY o.protected_id, o.subject_id
"""

_PAIR_TIMES = """
SELECT o.protected_id, o.subject_id, b.occurred_at
FROM breach b JOIN protective_order o ON o.id = b.order_id
WHERE o.protected_id IN ({victims})
"""

_PAIR_SPO = """
SELECT o.protected_id, o.subject_id, o.kind, o.status FROM protective_order o
WHERE o.protected_id IN ({victims})
"""


def baseline_board_sql(dbapi_connection: Any, area: str | None,
                       now_iso: str) -> dict[str, list[tuple[Any, ...]]]:
    """The breach board's reads as hand-written SQL: the board rows, each
    pair's breaches in the 30/90-day windows (one grouped query), the pairs'
    breach dates for the repeat rule and the SPOs between them. Returns the
    rows of each read; the escalation rules are not applied."""
    now = datetime.fromisoformat(now_iso.replace("Z", "+00:00")).astimezone(UTC)
    policy = default_policy().breach
    recent = when(dbapi_connection, now - timedelta(days=policy.board_acknowledged_days))
    # COALESCE keeps the planner on the breach index rather than the area's cases
    area_sql, area_params = ("AND COALESCE(oc.area_command, '') = ?", (area,)) if area else ("", ())
    area_sql2 = area_sql.replace("oc.", "oc2.")
    victims_sql = _BOARD_VICTIMS.format(area=area_sql2)
    victims_params = (recent, *area_params)
    short, long = sorted(policy.board_windows_days)[:2]
    out: dict[str, list[tuple[Any, ...]]] = {}
    out["board"] = rows(dbapi_connection, _BOARD.format(area=area_sql), (recent, *area_params))
    out["pair_counts"] = rows(
        dbapi_connection, _PAIR_COUNTS.format(victims=victims_sql),
        (when(dbapi_connection, now - timedelta(days=short)),
         when(dbapi_connection, now - timedelta(days=long)),
         *victims_params,
         when(dbapi_connection, now - timedelta(days=long)), when(dbapi_connection, now)),
    )
    out["pair_times"] = rows(dbapi_connection, _PAIR_TIMES.format(victims=victims_sql),
                              victims_params)
    out["pair_spo"] = [(protected_id, subject_id, kind, status)
                       for protected_id, subject_id, kind, status
                       in rows(dbapi_connection, _PAIR_SPO.format(victims=victims_sql),
                               victims_params)
                       if kind in ("SPO", "ISPO")]
    return out


# --- command line ---------------------------------------------------------------------




def main(argv: list[str] | None = None) -> int:
    from app.services.context import open_context
    from app.settings import Settings

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL")
    parser.add_argument("--user", default="supervisor.northern")
    parser.add_argument("--area", help="area command (default: the user's own; 'all' force-wide)")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--now", default="2026-03-02T08:00:00+00:00")
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now.replace("Z", "+00:00")).astimezone(UTC)
    settings = Settings(database_url=args.db, username=args.user, now=now)
    ctx = open_context(settings, migrate=False)
    area = args.area if args.area else ctx.actor.area_command
    if area and area.lower() == "all":
        area = None
    board = breach_board(ctx, area=area, audit=False)
    print(f"board {area or 'force-wide'}: " + ", ".join(
        f"level {lv.level} {lv.total}" for lv in board.levels))
    print(summary(f"breach board {area or 'force-wide'}", time_board(ctx, area, args.repeats)))
    raw = ctx.database.engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            baseline_board_sql(dbapi, area, now.isoformat())
            times.append(time.perf_counter() - start)
        print(summary("baseline SQL", times))
    finally:
        raw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
