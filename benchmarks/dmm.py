"""The DMM queue at scale (acceptance: one area's queue under 200 ms median at
1,000,000 cases; the screen's first rows under 1.5 s, see benchmarks.tui_probe).

    python -m benchmarks.dmm --db sqlite:////tmp/dmm1m.db --user supervisor.northern \\
        --now 2026-03-02T08:00:00Z --repeats 21

``time_queue`` times :func:`app.services.dmm.build_queue` as the screen calls
it: the first page of the ranked queue with the permission check, the audit
event and the stored items brought up to date. The first build of a meeting
(and one every 15 minutes, or after a policy change) recomputes every case in
scope; the builds in between re-read only the cases changed since.
``time_full_queue`` forces the full recomputation every time.
``baseline_queue_sql`` is the reason computation written by hand in SQL on a
DB-API connection (sqlite3 or psycopg), for the default policy, without the
rules' explanations or storing: the floor the service is compared against.
Times are seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from app.policy import Policy, default_policy
from app.rules import dmm as rules
from app.services.context import ServiceContext
from app.services.dmm import build_queue
from benchmarks.dbapi import is_sqlite, summary, when
from models import DmmMeeting

PAGE_SIZE = 100  # what the screen asks for (screens.dmm.PAGE_SIZE)


def time_queue(ctx: ServiceContext, area: str, meeting_date: date, repeats: int) -> list[float]:
    """Seconds for each of ``repeats`` builds of ``area``'s queue for
    ``meeting_date``, as the screen makes them (first page, audited)."""
    times: list[float] = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        build_queue(ctx, area=area, meeting_date=meeting_date, limit=PAGE_SIZE)
        times.append(time.perf_counter() - start)
    return times


def time_full_queue(ctx: ServiceContext, area: str, meeting_date: date,
                    repeats: int) -> list[float]:
    """The same, each build recomputing every case in scope."""
    times: list[float] = []
    for _ in range(max(1, repeats)):
        with ctx.write() as session:
            session.execute(update(DmmMeeting).where(
                DmmMeeting.area_command == area, DmmMeeting.meeting_date == meeting_date,
            ).values(computed_key=None))
        start = time.perf_counter()
        build_queue(ctx, area=area, meeting_date=meeting_date, limit=PAGE_SIZE)
        times.append(time.perf_counter() - start)
    return times


# --- hand-written baseline ------------------------------------------------------------




def _sql(connection: Any, statement: str) -> str:
    """sqlite3 takes ``?`` and reads a JSON list with json_each; psycopg takes
    ``%s`` and json_array_elements_text."""
    if is_sqlite(connection):
        return statement
    return statement.replace("?", "%s").replace("json_each(%s)",
                                                 "json_array_elements_text(%s::json)")




# Parameters, in order, are listed in baseline_queue_sql. Bits: REASON_ORDER.
_FLAGS = """
WITH scope AS (
  SELECT c.id, c.crime_ref, c.reported_at, c.principal_code, c.pin_issued, c.risk_level,
         c.risk_assessed_at, c.risk_review_due, c.reassessment_due_at, c.spo_status,
         c.victim_id, c.suspect_id, c.allocation_team, c.domestic_abuse, c.linked_case_id
  FROM crime_case c WHERE c.area_command = :area AND c.status = 'open' AND c.reported_at < :t
  UNION ALL
  SELECT c.id, c.crime_ref, c.reported_at, c.principal_code, c.pin_issued, c.risk_level,
         c.risk_assessed_at, c.risk_review_due, c.reassessment_due_at, c.spo_status,
         c.victim_id, c.suspect_id, c.allocation_team, c.domestic_abuse, c.linked_case_id
  FROM crime_case c WHERE c.area_command = :area AND c.closed_at >= :closed_since
    AND c.status <> 'open'
),
inc AS (
  SELECT i.case_id, i.code FROM included_classification i
  WHERE i.case_id IN (SELECT id FROM scope)
),
flags AS (
  SELECT s.*, v.needs_assessed_at,
    s.principal_code IN (SELECT value FROM json_each(:new_codes))
      OR s.id IN (SELECT case_id FROM inc WHERE code IN (SELECT value FROM json_each(:new_codes)))
      AS fam_new,
    s.principal_code IN (SELECT value FROM json_each(:case_codes))
      OR s.id IN (SELECT case_id FROM inc WHERE code IN (SELECT value FROM json_each(:case_codes)))
      AS fam_case,
    s.principal_code IN (SELECT value FROM json_each(:stalking_codes))
      OR s.id IN (SELECT case_id FROM inc
                  WHERE code IN (SELECT value FROM json_each(:stalking_codes))) AS fam_stalking,
    s.principal_code IN (SELECT value FROM json_each(:breach_codes))
      OR s.id IN (SELECT case_id FROM inc
                  WHERE code IN (SELECT value FROM json_each(:breach_codes))) AS fam_breach
  FROM scope s LEFT JOIN victim_care v ON v.case_id = s.id
)
SELECT f.id, f.crime_ref, f.reported_at, f.principal_code, f.linked_case_id,
  (CASE WHEN (f.reported_at >= :f AND f.reported_at < :t AND f.fam_new)
        OR f.id IN (SELECT original_case_id FROM breach WHERE reported_at >= :f
                    AND reported_at < :t) THEN 1 ELSE 0 END)
  + (CASE WHEN f.id IN (SELECT original_case_id FROM breach WHERE reported_at >= :f
                        AND reported_at < :t
                        UNION SELECT original_case_id FROM breach
                        WHERE acknowledged_at IS NULL AND reported_at < :t) THEN 2 ELSE 0 END)
  + (CASE WHEN (f.risk_level = 'high' AND COALESCE((
          SELECT CASE WHEN COALESCE(LENGTH(r.management_plan), 0) = 0
                        OR COALESCE(r.review_due, f.risk_review_due) < :t THEN 1 ELSE 0 END
          FROM risk_assessment r WHERE r.case_id = f.id
          ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1), 1) = 1)
        OR f.id IN (SELECT a.case_id FROM risk_assessment a
                    WHERE a.level = 'high' AND a.assessed_at >= :f AND a.assessed_at < :t
                    AND COALESCE((SELECT p.level FROM risk_assessment p
                                  WHERE p.case_id = a.case_id
                                  AND (p.assessed_at < a.assessed_at
                                       OR (p.assessed_at = a.assessed_at AND p.id < a.id))
                                  ORDER BY p.assessed_at DESC, p.id DESC LIMIT 1), '') <> 'high')
        THEN 4 ELSE 0 END)
  + (CASE WHEN f.risk_assessed_at IS NULL AND f.reported_at <= :ra_cut AND f.fam_case
          AND NOT EXISTS (SELECT 1 FROM risk_assessment r WHERE r.case_id = f.id)
        THEN 8 ELSE 0 END)
  + (CASE WHEN f.risk_review_due < :t OR f.reassessment_due_at IS NOT NULL
          OR (f.risk_assessed_at IS NOT NULL AND (
              (SELECT MAX(p.reported_at) FROM crime_case p WHERE p.victim_id = f.victim_id
               AND p.suspect_id = f.suspect_id AND p.reported_at < :t AND p.id <> f.id)
                > f.risk_assessed_at
              OR (SELECT MAX(b.reported_at) FROM breach b WHERE b.original_case_id = f.id
                  AND b.reported_at < :t) > f.risk_assessed_at))
        THEN 16 ELSE 0 END)
  + (CASE WHEN f.spo_status = 'not_considered' AND f.reported_at <= :spo_cut AND f.fam_stalking
        THEN 32 ELSE 0 END)
  + (CASE WHEN f.fam_case AND ((f.reported_at < :needs_cut AND f.needs_assessed_at IS NULL)
          OR (f.reported_at < :referral_cut
              AND NOT EXISTS (SELECT 1 FROM referral x WHERE x.case_id = f.id)))
        THEN 64 ELSE 0 END)
  + (CASE WHEN (CASE
        WHEN f.fam_stalking AND f.risk_level = 'high' AND f.domestic_abuse
          THEN NOT (f.allocation_team IS NOT NULL
                    AND f.allocation_team IN (SELECT value FROM json_each(:teams_1)))
        WHEN f.fam_stalking AND f.risk_level IN ('high', 'medium')
          THEN NOT (f.allocation_team IS NOT NULL
                    AND f.allocation_team IN (SELECT value FROM json_each(:teams_2)))
        WHEN f.fam_breach
          THEN NOT (f.allocation_team IS NOT NULL
                    AND (f.allocation_team IN (SELECT value FROM json_each(:teams_3))
                         OR f.allocation_team = COALESCE((SELECT l.allocation_team
                              FROM crime_case l WHERE l.id = f.linked_case_id), '')))
        WHEN f.risk_level = 'high'
          THEN NOT (f.allocation_team IS NOT NULL
                    AND f.allocation_team IN (SELECT value FROM json_each(:teams_4)))
        WHEN COALESCE(f.risk_level, 'unassessed') IN ('standard', 'medium', 'unassessed')
          THEN NOT (f.allocation_team IS NOT NULL
                    AND f.allocation_team IN (SELECT value FROM json_each(:teams_5)))
        ELSE f.allocation_team IS NULL END) THEN 128 ELSE 0 END)
  + (CASE WHEN f.suspect_id IS NOT NULL
          AND (f.id IN (SELECT o.id FROM crime_case n JOIN crime_case o
                        ON o.victim_id = n.victim_id AND o.suspect_id = n.suspect_id
                        WHERE n.reported_at >= :f AND n.reported_at < :t)
               OR f.id IN (SELECT b.original_case_id FROM breach b
                           JOIN crime_case bc ON bc.id = b.breach_case_id
                           WHERE bc.reported_at >= :f AND bc.reported_at < :t))
          AND (SELECT COUNT(*) FROM crime_case p WHERE p.victim_id = f.victim_id
               AND p.suspect_id = f.suspect_id AND p.reported_at >= :repeat_since
               AND p.reported_at < :t)
            + (SELECT COUNT(DISTINCT bc.id) FROM breach b
               JOIN crime_case bc ON bc.id = b.breach_case_id
               WHERE b.original_case_id = f.id AND bc.reported_at >= :repeat_since
               AND bc.reported_at < :t
               AND (bc.victim_id <> f.victim_id OR bc.suspect_id IS NULL
                    OR bc.suspect_id <> f.suspect_id)) >= :repeat_min
        THEN 256 ELSE 0 END)
  + (CASE WHEN f.pin_issued THEN 512 ELSE 0 END)
  + (CASE WHEN f.id IN (SELECT case_id FROM dmm_action WHERE done_at IS NULL AND due_at < :t)
        THEN 1024 ELSE 0 END)
  + (CASE WHEN f.id IN (SELECT case_id FROM dmm_item WHERE meeting_id = :previous_meeting
                        AND discussed_at IS NULL) THEN 2048 ELSE 0 END)
  AS mask
FROM flags f
"""

def _positional(statement: str) -> tuple[str, list[str]]:
    """``:name`` placeholders as ``?`` plus the order of the names (no SQL is
    built from values: only the constant statement is rewritten)."""
    import re

    order: list[str] = []

    def swap(match: re.Match[str]) -> str:
        order.append(match.group(1))
        return "?"

    return re.sub(r":([a-z_0-9]+)\b", swap, statement), order


def baseline_queue_sql(dbapi_connection: Any, area: str, meeting_start: datetime,
                       covers_from: datetime | None = None, *,
                       previous_meeting_id: int | None = None,
                       policy: Policy | None = None) -> list[tuple[Any, ...]]:
    """The queue's reasons as one hand-written SQL statement on a DB-API
    connection, for the default policy's reasons (all enabled) and allocation
    rules: rows (case id, crime ref, reported_at, principal code, linked case,
    mask) for every case of ``area`` in scope with at least one reason. Breach
    crimes and cases reported after the start are left to the caller, as in
    the service."""
    policy = policy or default_policy()
    if covers_from is None:
        meeting_day = meeting_start.astimezone(ZoneInfo(policy.calendar.timezone)).date()
        covers_from = rules.meeting_window(meeting_day, policy)[0]
    dmm, code = policy.dmm, policy.victims_code
    families = {"8Q": "stalking", "8L": "harassment", "8M": "harassment",
                "8R": "malicious communications", "8U": "domestic", "BRO": "breach",
                "BNMO": "breach", "BSPO": "breach", "BDVPO": "breach"}
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT code, family FROM classification")
        families = {row[0]: row[1] for row in cursor.fetchall()} or families
    finally:
        cursor.close()

    def codes(names: tuple[str, ...] | list[str]) -> str:
        return json.dumps(sorted(c for c, f in families.items() if f in names))

    rules_teams = [json.dumps([t for t in rule.teams if t != "@original"])
                   for rule in policy.allocation.rules]

    values: dict[str, Any] = {
        "area": area,
        "t": when(dbapi_connection, meeting_start),
        "closed_since": when(dbapi_connection,
                             meeting_start - timedelta(days=dmm.closed_grace_days)),
        "new_codes": codes(dmm.new_crime_families),
        "case_codes": codes(dmm.case_families),
        "stalking_codes": codes(["stalking"]),
        "breach_codes": codes(["breach"]),
        "f": when(dbapi_connection, covers_from),
        "ra_cut": when(dbapi_connection, meeting_start - timedelta(days=dmm.risk_assessment_days)),
        "spo_cut": when(dbapi_connection,
                        meeting_start - timedelta(days=dmm.spo_consideration_days)),
        "needs_cut": when(dbapi_connection, rules.working_deadline_cutoff(
            meeting_start, code.needs_assessment_working_days, policy)),
        "referral_cut": when(dbapi_connection, rules.working_deadline_cutoff(
            meeting_start, code.referral_working_days, policy)),
        "repeat_since": when(dbapi_connection,
                             meeting_start - timedelta(days=dmm.repeat_pair_window_days)),
        "repeat_min": dmm.repeat_pair_min_crimes,
        "previous_meeting": previous_meeting_id or -1,
    }
    for index, teams in enumerate(rules_teams[:5], start=1):
        values[f"teams_{index}"] = teams
    statement, order = _positional(_FLAGS)
    params = tuple(values[name] for name in order)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(_sql(dbapi_connection, statement), params)
        return [tuple(row) for row in cursor.fetchall() if row[5]]
    finally:
        cursor.close()


# --- command line ---------------------------------------------------------------------




def main(argv: list[str] | None = None) -> int:
    from app.services.context import open_context
    from app.services.dmm import current_meeting_date
    from app.settings import Settings

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL")
    parser.add_argument("--user", default="supervisor.northern")
    parser.add_argument("--area", help="area command (default: the user's own)")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--now", default="2026-03-02T08:00:00+00:00")
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now.replace("Z", "+00:00")).astimezone(UTC)
    ctx = open_context(Settings(database_url=args.db, username=args.user, now=now),
                       migrate=False)
    area = args.area or ctx.actor.area_command or "Northern"
    day = current_meeting_date(ctx)
    full = time_full_queue(ctx, area, day, max(3, args.repeats // 4))
    queue = build_queue(ctx, area=area, meeting_date=day, limit=PAGE_SIZE, audit=False)
    print(f"DMM {area} {day}: {queue.total} items on the agenda ({queue.progress})")
    print(summary("queue, full recomputation", full))
    print(summary("queue, as the screen builds it", time_queue(ctx, area, day, args.repeats)))
    start = rules.meeting_start(day, ctx.policy)
    raw = ctx.database.engine.raw_connection()
    try:
        times = []
        for _ in range(max(3, args.repeats // 4)):
            began = time.perf_counter()
            baseline_queue_sql(raw.driver_connection, area, start)
            times.append(time.perf_counter() - began)
        print(summary("baseline SQL (reasons only)", times))
    finally:
        raw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
