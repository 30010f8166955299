"""Case search and case opening at scale, against hand-written SQL baselines.

    python -m benchmarks.search --db sqlite:////tmp/search1m.db --code 8Q --repeats 21

``time_search`` and ``time_case_open`` time the services as a user meets
them (permission check, queries, the audit event written); the baselines run
equivalent hand-written SQL straight on a DB-API connection (sqlite3 or
psycopg), so the cost of the service layer can be seen. Times are seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any

from app.services.cases import needs_reason, open_case
from app.services.context import ServiceContext
from app.services.search import CaseSearch, search_cases
from benchmarks.dbapi import rows, summary

BENCH_REASON = "performance benchmark"


def time_search(ctx: ServiceContext, code: str, repeats: int) -> list[float]:
    """Seconds for each of ``repeats`` first-page searches by classification
    (principal or included), as `vigil search --code CODE` runs them."""
    criteria = CaseSearch(code=code)
    times: list[float] = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        search_cases(ctx, criteria)
        times.append(time.perf_counter() - start)
    return times


def time_case_open(ctx: ServiceContext, crime_ref: str, repeats: int) -> list[float]:
    """Seconds for each of ``repeats`` openings of the case record (every tab's
    data and the consultation audit event)."""
    reason = BENCH_REASON if needs_reason(ctx, crime_ref=crime_ref) else None
    times: list[float] = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        open_case(ctx, crime_ref=crime_ref, reason=reason)
        times.append(time.perf_counter() - start)
    return times


# --- hand-written baselines ---------------------------------------------------------


# the ids of the first page: by principal code, then by included code, newest first
# (parameters: code, limit, code, code, limit, limit)
_PAGE_IDS = """
    SELECT id, reported_at FROM (
        SELECT id, reported_at FROM crime_case WHERE principal_code = ?
        ORDER BY reported_at DESC, id DESC LIMIT ?) AS principal
    UNION ALL
    SELECT id, reported_at FROM (
        -- newest first through the report-date index, each case's included
        -- codes probed by key, stopping at the page's end
        SELECT c2.id, c2.reported_at FROM crime_case c2
        WHERE c2.principal_code <> ? AND EXISTS (
            SELECT 1 FROM included_classification i2 WHERE i2.case_id = c2.id AND i2.code = ?)
        ORDER BY c2.reported_at DESC, c2.id DESC LIMIT ?) AS included
    ORDER BY reported_at DESC, id DESC LIMIT ?
"""

_SEARCH_PAGE = """
SELECT c.id, c.crime_ref, c.reported_at, c.area_command, c.principal_code, c.risk_level,
       c.allocation_team, c.status, v.person_ref, s.person_ref
FROM (""" + _PAGE_IDS + """) AS page
JOIN crime_case c ON c.id = page.id
JOIN person v ON v.id = c.victim_id
LEFT JOIN person s ON s.id = c.suspect_id
ORDER BY page.reported_at DESC, page.id DESC
"""

# the included codes of the cases on the page (same page, one query)
_SEARCH_PAGE_CODES = """
SELECT i.case_id, i.code FROM included_classification i
JOIN (""" + _PAGE_IDS + """) AS page ON page.id = i.case_id
ORDER BY i.case_id, i.code
"""


def baseline_search_sql(dbapi_connection: Any, code: str, limit: int) -> list[tuple[Any, ...]]:
    """The first ``limit`` cases whose principal or included classification is
    ``code``, newest first, with the people and each case's included codes."""
    params = (code, limit, code, code, limit, limit)
    page = rows(dbapi_connection, _SEARCH_PAGE, params)
    codes: dict[int, list[str]] = {}
    for case_id, included in rows(dbapi_connection, _SEARCH_PAGE_CODES, params):
        codes.setdefault(case_id, []).append(included)
    return [(case_id, *columns, tuple(codes.get(case_id, ()))) for case_id, *columns in page]


_CASE = """
SELECT c.id, c.crime_ref, c.version, c.area_command, c.principal_code, c.victim_id,
       c.suspect_id, v.person_ref, s.person_ref, cl.title
FROM crime_case c JOIN person v ON v.id = c.victim_id
LEFT JOIN person s ON s.id = c.suspect_id
JOIN classification cl ON cl.code = c.principal_code
WHERE c.crime_ref = ?
"""

_PER_CASE = {
    "included": "SELECT i.code, cl.title, i.source FROM included_classification i "
                "JOIN classification cl ON cl.code = i.code WHERE i.case_id = ? ORDER BY i.added_at",
    "assessments": "SELECT id, answers, yes_count, suggested_level, level, assessed_at "
                   "FROM risk_assessment WHERE case_id = ? ORDER BY assessed_at DESC, id DESC",
    "orders": "SELECT order_ref, kind, status FROM protective_order WHERE case_id = ? ORDER BY id",
    "breaches": "SELECT b.breach_ref, o.order_ref FROM breach b "
                "JOIN protective_order o ON o.id = b.order_id "
                "WHERE b.original_case_id = ? OR b.breach_case_id = ? ORDER BY b.reported_at DESC",
    "spo": "SELECT status, decided_at FROM spo_decision WHERE case_id = ? ORDER BY decided_at DESC",
    "care": "SELECT needs_assessed_at, enhanced_rights, consent FROM victim_care WHERE case_id = ?",
    "referrals": "SELECT id, service, outcome FROM referral WHERE case_id = ? ORDER BY referred_at",
    "multi_agency": "SELECT kind, referred_at FROM multi_agency_referral WHERE case_id = ?",
    "allocations": "SELECT team, officer, allocated_at FROM allocation WHERE case_id = ? "
                   "ORDER BY allocated_at, id",
    "searches": "SELECT power, conducted_at FROM search_record WHERE case_id = ? "
                "ORDER BY conducted_at DESC",
}

_PAIR = """
SELECT id, crime_ref, reported_at, principal_code FROM crime_case
WHERE victim_id = ? AND suspect_id = ? AND id <> ?
ORDER BY reported_at DESC, id DESC LIMIT 200
"""


def baseline_case_open_sql(dbapi_connection: Any, crime_ref: str) -> dict[str, Any]:
    """What the case record reads, as hand-written queries (no audit event)."""
    found = rows(dbapi_connection, _CASE, (crime_ref,))
    if not found:
        return {}
    (case,) = found
    case_id, _ref, _version, _area, _principal, victim_id, suspect_id, *_names = case
    record: dict[str, Any] = {"case": case}
    for name, statement in _PER_CASE.items():
        params = (case_id, case_id) if name == "breaches" else (case_id,)
        record[name] = rows(dbapi_connection, statement, params)
    record["pair"] = (rows(dbapi_connection, _PAIR, (victim_id, suspect_id, case_id))
                      if suspect_id is not None else [])
    return record


# --- command line -----------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from app.services.context import open_context
    from app.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL")
    parser.add_argument("--user", default="analyst")
    parser.add_argument("--code", default="8Q")
    parser.add_argument("--crime", help="crime reference to open (default: newest case)")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--now", default="2026-03-02T08:00:00+00:00")
    args = parser.parse_args(argv)
    settings = Settings(database_url=args.db, username=args.user,
                        now=datetime.fromisoformat(args.now).astimezone(UTC))
    ctx = open_context(settings, migrate=False)
    print(summary(f"search --code {args.code}", time_search(ctx, args.code, args.repeats)))
    crime_ref = args.crime or search_cases(ctx, CaseSearch(page_size=1), audit=False).rows[0].crime_ref
    print(summary(f"open case {crime_ref}", time_case_open(ctx, crime_ref, args.repeats)))
    raw = ctx.database.engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            baseline_search_sql(dbapi, args.code, 50)
            times.append(time.perf_counter() - start)
        print(summary("baseline search SQL", times))
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            baseline_case_open_sql(dbapi, crime_ref)
            times.append(time.perf_counter() - start)
        print(summary("baseline case open SQL", times))
    finally:
        raw.close()
    ctx.database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
