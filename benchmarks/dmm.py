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
``baseline_queue_sql`` is the same reason computation (step 1: every case's
reasons as bits, standing gaps as candidates) written by hand in SQL on a
DB-API connection (sqlite3 or psycopg), for the default policy, without the
rules' explanations, the standing-gap settling or storing.
``own_reasons_sql`` is the product's own reason statement for the same
meeting, compiled once (values inlined) to be run through the DB-API: the SQL
the full computation cannot do without, so the ratio against it is what the
service adds in Python (settling, storing, ranking) and round trips.
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


def own_reasons_sql(ctx: ServiceContext, area: str, meeting_date: date) -> str:
    """The text of the service's own reason statement for ``area``'s meeting
    on ``meeting_date`` (:func:`app.services.dmm.reason_sql.flags_query`),
    values inlined, for the DB-API baseline."""
    from app.services.dmm.common import agenda_epoch, bounds, code_book
    from app.services.dmm.reason_sql import flags_query

    with ctx.read() as session:
        epoch = agenda_epoch(session)
        frame = rules.MeetingFrame.for_date(meeting_date, ctx.policy, epoch)
        statement = flags_query(bounds(area, frame, ctx.policy, as_of=ctx.now()), ctx.policy,
                                code_book(session))
        return str(statement.compile(session.get_bind(),
                                     compile_kwargs={"literal_binds": True}))


def run_statement(dbapi_connection: Any, statement: str) -> int:
    """Run ``statement`` on a DB-API connection and fetch every row."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(statement)
        return len(cursor.fetchall())
    finally:
        cursor.close()


# --- hand-written baseline ------------------------------------------------------------




def _sql(connection: Any, statement: str) -> str:
    """sqlite3 takes ``?`` and reads a JSON list with json_each; psycopg takes
    ``%s`` and json_array_elements_text."""
    if is_sqlite(connection):
        return statement
    return statement.replace("?", "%s").replace("json_each(%s)",
                                                 "json_array_elements_text(%s::json)")




# Parameters, in order, are listed in baseline_queue_sql. Bits: app.rules.dmm.REASON_BITS.
# Meeting items exactly; standing gaps as the candidates the service then settles.
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
    AND c.status <> 'open' AND c.reported_at < :t
  UNION ALL
  SELECT c.id, c.crime_ref, c.reported_at, c.principal_code, c.pin_issued, c.risk_level,
         c.risk_assessed_at, c.risk_review_due, c.reassessment_due_at, c.spo_status,
         c.victim_id, c.suspect_id, c.allocation_team, c.domestic_abuse, c.linked_case_id
  FROM crime_case c WHERE c.area_command = :area AND c.status <> 'open'
    AND c.reported_at < :t AND (c.closed_at IS NULL OR c.closed_at < :closed_since)
    AND c.id IN (SELECT b.breach_case_id FROM breach b WHERE b.reported_at < :t
                 AND (b.reported_at >= :f OR b.acknowledged_at IS NULL
                      OR b.acknowledged_at >= :t))
),
inc AS (
  SELECT i.case_id, i.code FROM included_classification i
  WHERE i.case_id IN (SELECT id FROM scope)
),
flags AS (
  SELECT s.*, v.needs_assessed_at,
    (SELECT MAX(i.decided_at) FROM dmm_item i JOIN dmm_meeting m ON m.id = i.meeting_id
     WHERE i.case_id = s.id AND i.decision IS NOT NULL AND m.meeting_date < :day)
      AS decided_at,
    a.assessed_at AS latest_at, a.level AS latest_level, a.suggested_level AS latest_suggested,
    a.approved_by AS latest_approved, a.approval_required AS latest_pending,
    COALESCE(LENGTH(a.management_plan), 0) AS latest_plan,
    CASE WHEN COALESCE(LENGTH(a.management_plan), 0) > 0 THEN a.plan_review_due END
      AS latest_plan_review,
    p.level AS previous_level,
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
                  WHERE code IN (SELECT value FROM json_each(:breach_codes))) AS fam_breach,
    CASE WHEN s.suspect_id IS NOT NULL THEN
      (SELECT MAX(i.decided_at) FROM crime_case pc
       JOIN dmm_item i ON i.case_id = pc.id JOIN dmm_meeting m ON m.id = i.meeting_id
       WHERE pc.victim_id = s.victim_id AND pc.suspect_id = s.suspect_id
       AND i.decision IS NOT NULL AND m.meeting_date < :day) END AS pair_decided_at
  FROM scope s
  LEFT JOIN victim_care v ON v.case_id = s.id
  -- the case's latest assessment before the meeting and the one before it,
  -- found through the (case_id, assessed_at) index
  LEFT JOIN risk_assessment a ON a.id = (
    SELECT r.id FROM risk_assessment r WHERE r.case_id = s.id AND r.assessed_at < :t
    ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1)
  LEFT JOIN risk_assessment p ON p.id = (
    SELECT r.id FROM risk_assessment r WHERE r.case_id = s.id AND r.assessed_at < :t
    ORDER BY r.assessed_at DESC, r.id DESC LIMIT 1 OFFSET 1)
),
undecided AS (
  SELECT f.*,
    (f.reported_at >= :lower AND (f.decided_at IS NULL OR f.decided_at < f.reported_at))
      AS report_open,
    (f.latest_at >= :lower AND (f.decided_at IS NULL OR f.decided_at < f.latest_at))
      AS assessment_open
  FROM flags f
)
SELECT f.id, f.crime_ref, f.reported_at, f.principal_code, f.linked_case_id,
  (CASE WHEN f.fam_new AND f.report_open THEN 1 ELSE 0 END)
  + (CASE WHEN f.id IN (SELECT b.breach_case_id FROM breach b WHERE b.reported_at < :t
                        AND (b.reported_at >= :f OR b.acknowledged_at IS NULL
                             OR b.acknowledged_at >= :t)) THEN 2 ELSE 0 END)
  + (CASE WHEN f.risk_level = 'high' AND f.latest_level = 'high' AND f.assessment_open
          AND (f.previous_level IS NULL OR f.previous_level <> 'high'
               OR (f.latest_plan = 0 AND f.latest_at > :plan_first))
        THEN 4 ELSE 0 END)
  + (CASE WHEN f.risk_assessed_at IS NULL AND f.reported_at < :ra_cut AND f.fam_case
          AND NOT EXISTS (SELECT 1 FROM risk_assessment r WHERE r.case_id = f.id)
          AND f.reported_at >= :ra_epoch
        THEN 8 ELSE 0 END)
  + (CASE WHEN (f.risk_review_due < :t AND f.risk_review_due >= :review_epoch)
          OR (f.reassessment_due_at < :t AND f.reassessment_due_at >= :review_epoch)
          OR (f.latest_plan_review < :t AND f.latest_plan_review >= :review_epoch)
        THEN 16 ELSE 0 END)
  + (CASE WHEN f.spo_status = 'not_considered' AND f.reported_at < :spo_cut AND f.fam_stalking
          AND f.reported_at >= :spo_epoch
        THEN 32 ELSE 0 END)
  + (CASE WHEN f.fam_case AND ((f.reported_at < :needs_cut AND f.needs_assessed_at IS NULL)
          OR (f.reported_at < :referral_cut
              AND NOT EXISTS (SELECT 1 FROM referral x WHERE x.case_id = f.id
                              AND x.service NOT IN (SELECT value FROM json_each(:signposting)))
              AND NOT EXISTS (SELECT 1 FROM victim_care vc WHERE vc.case_id = f.id
                              AND vc.consent IS FALSE)))
          AND f.reported_at >= :vcop_epoch
        THEN 64 ELSE 0 END)
  + (CASE WHEN f.report_open AND (CASE
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
  + (CASE WHEN f.suspect_id IS NOT NULL AND f.reported_at >= :repeat_since
          AND f.reported_at >= :lower
          AND (f.pair_decided_at IS NULL OR f.pair_decided_at < f.reported_at)
          AND NOT EXISTS (SELECT 1 FROM crime_case p WHERE p.victim_id = f.victim_id
                          AND p.suspect_id = f.suspect_id AND p.reported_at < :t
                          AND (p.reported_at > f.reported_at
                               OR (p.reported_at = f.reported_at AND p.crime_ref > f.crime_ref)))
          AND (SELECT COUNT(*) FROM crime_case p WHERE p.victim_id = f.victim_id
               AND p.suspect_id = f.suspect_id AND p.reported_at >= :repeat_since
               AND p.reported_at < :t) >= :repeat_min
        THEN 256 ELSE 0 END)
  + (CASE WHEN f.pin_issued AND f.report_open THEN 512 ELSE 0 END)
  + (CASE WHEN f.id IN (SELECT case_id FROM dmm_action WHERE done_at IS NULL
                        AND due_at < :next_t) THEN 1024 ELSE 0 END)
  + (CASE WHEN EXISTS (SELECT 1 FROM dmm_item i JOIN dmm_meeting m ON m.id = i.meeting_id
                       WHERE i.case_id = f.id AND i.decision IS NULL
                       AND COALESCE(i.mask, 1) <> 0 AND m.area_command = :area
                       AND m.meeting_date < :day
                       AND (f.decided_at IS NULL OR m.starts_at > f.decided_at))
        THEN 2048 ELSE 0 END)
  + (CASE WHEN f.risk_assessed_at IS NOT NULL AND f.assessment_open
          AND f.latest_approved IS NULL
          AND ((CASE f.latest_level WHEN 'medium' THEN 1 WHEN 'high' THEN 2 ELSE 0 END)
                 < (CASE f.latest_suggested WHEN 'medium' THEN 1 WHEN 'high' THEN 2 ELSE 0 END)
               OR f.latest_pending)
        THEN 4096 ELSE 0 END)
  + (CASE WHEN f.risk_level = 'high'
          AND (f.latest_at IS NULL OR (f.latest_level = 'high' AND f.latest_plan = 0))
          AND COALESCE(f.latest_at, f.risk_assessed_at, f.reported_at) < :plan_first
          AND COALESCE(f.latest_at, f.risk_assessed_at, f.reported_at) >= :plan_epoch
        THEN 8192 ELSE 0 END)
  + (CASE WHEN EXISTS (SELECT 1 FROM protective_order o WHERE o.case_id = f.id
                       AND o.kind IN ('ISPO', 'SPO')
                       AND o.status IN ('granted', 'interim_granted', 'renewed', 'varied')
                       AND o.served_at IS NOT NULL AND o.notification_due_at IS NOT NULL
                       AND o.notification_due_at < :t AND o.notification_due_at >= :lower
                       AND (o.notified_at IS NULL OR o.notified_at >= :t)
                       AND (f.decided_at IS NULL OR f.decided_at < o.notification_due_at))
        THEN 16384 ELSE 0 END)
  AS mask
FROM undecided f
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
                       epoch: datetime | None = None,
                       policy: Policy | None = None) -> list[tuple[Any, ...]]:
    """Step 1 of the agenda (the reasons as bits) as one hand-written SQL
    statement on a DB-API connection, for the default policy's reasons (all
    enabled) and allocation rules: rows (case id, crime ref, reported_at,
    principal code, linked case, mask) for every case of ``area`` in scope
    with at least one reason; meeting items exactly, standing gaps as the
    candidates :func:`app.services.dmm.facts.settle_standing` then settles.
    ``epoch``: the database's first extract (None: everything counts)."""
    policy = policy or default_policy()
    zone = ZoneInfo(policy.calendar.timezone)
    meeting_day = meeting_start.astimezone(zone).date()
    frame = rules.MeetingFrame.for_date(meeting_day, policy, epoch)
    if covers_from is None:
        covers_from = frame.covers_from
    dmm, code = policy.dmm, policy.victims_code
    families = {"8Q": "stalking", "8L": "harassment", "8M": "harassment",
                "8R": "malicious communications", "8U": "domestic", "BRO": "breach",
                "BNMO": "breach", "BSPO": "breach", "BDVPO": "breach"}
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT code, family FROM classification")
        families = {code: family for code, family in cursor.fetchall()} or families
    finally:
        cursor.close()

    def codes(names: tuple[str, ...] | list[str]) -> str:
        return json.dumps(sorted(c for c, f in families.items() if f in names))

    def since_epoch(margin: timedelta) -> Any:
        # no extract: every threshold counts (a bound before any record)
        return when(dbapi_connection, (epoch - margin) if epoch is not None else _EARLIEST)

    rules_teams = [json.dumps([t for t in rule.teams if t != "@original"])
                   for rule in policy.allocation.rules]
    lower = min(frame.events_from, covers_from) if frame.events_from is not None else _EARLIEST
    longest = max(code.needs_assessment_working_days, code.referral_working_days)
    plan_days = timedelta(days=dmm.high_risk_plan_days)
    values: dict[str, Any] = {
        "area": area,
        "day": meeting_day.isoformat() if is_sqlite(dbapi_connection) else meeting_day,
        "t": when(dbapi_connection, meeting_start),
        "next_t": when(dbapi_connection, frame.next_starts_at),
        "closed_since": when(dbapi_connection,
                             meeting_start - timedelta(days=dmm.closed_grace_days)),
        "lower": when(dbapi_connection, lower),
        "new_codes": codes(dmm.new_crime_families),
        "case_codes": codes(dmm.case_families),
        "stalking_codes": codes(["stalking"]),
        "breach_codes": codes(["breach"]),
        "f": when(dbapi_connection, covers_from),
        "plan_first": when(dbapi_connection, meeting_start - plan_days),
        "ra_cut": when(dbapi_connection, meeting_start - timedelta(days=dmm.risk_assessment_days)),
        "spo_cut": when(dbapi_connection,
                        meeting_start - timedelta(days=dmm.spo_consideration_days)),
        "needs_cut": when(dbapi_connection, rules.working_deadline_cutoff(
            meeting_start, code.needs_assessment_working_days, policy)),
        "referral_cut": when(dbapi_connection, rules.working_deadline_cutoff(
            meeting_start, code.referral_working_days, policy)),
        "ra_epoch": since_epoch(timedelta(days=dmm.risk_assessment_second_days)),
        "review_epoch": since_epoch(timedelta(days=max(dmm.risk_review_second_days.values()))),
        "spo_epoch": since_epoch(timedelta(days=dmm.spo_second_days)),
        "vcop_epoch": since_epoch(timedelta(days=longest + dmm.victim_care_second_days)
                                  + timedelta(days=10)),
        "plan_epoch": since_epoch(plan_days + timedelta(days=dmm.risk_plan_second_days)),
        "repeat_since": when(dbapi_connection,
                             meeting_start - timedelta(days=dmm.repeat_pair_window_days)),
        "repeat_min": dmm.repeat_pair_min_crimes,
        "signposting": json.dumps(list(code.signposting_services)),
    }
    for index, teams in enumerate(rules_teams[:5], start=1):
        values[f"teams_{index}"] = teams
    statement, order = _positional(_FLAGS)
    params = tuple(values[name] for name in order)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(_sql(dbapi_connection, statement), params)
        # (id, crime_ref, reported_at, principal_code, linked_case_id, mask): cases with a reason
        return [(case_id, crime_ref, reported_at, principal_code, linked_case_id, mask)
                for case_id, crime_ref, reported_at, principal_code, linked_case_id, mask
                in cursor.fetchall() if mask]
    finally:
        cursor.close()


# A bound before any record: "no first extract" as a timestamp.
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


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
    from app.services.dmm.common import agenda_epoch

    with ctx.read() as session:
        epoch = agenda_epoch(session)
    raw = ctx.database.engine.raw_connection()
    try:
        times = []
        for _ in range(max(3, args.repeats // 4)):
            began = time.perf_counter()
            baseline_queue_sql(raw.driver_connection, area, start, epoch=epoch)
            times.append(time.perf_counter() - began)
        print(summary("baseline SQL (reasons only)", times))
    finally:
        raw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
