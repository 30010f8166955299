"""`vigil search`: find cases by classification (principal or any included),
risk, team, area, person, crime reference, flags and report dates."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta

from app.cli.base import CliEnv, add_format_option
from app.cli.disclose import add_output_option, emit_or_disclose
from app.dates import DateError, local_midnight, parse_date, parse_datetime
from app.errors import BadInput
from app.output import Column, render
from app.rms.formats import REF_LENGTH
from app.services.search import MAX_PAGE_SIZE, UNALLOCATED, UNASSESSED, CaseSearch, search_cases
from models.enums import RiskLevel
from seed.reference import classifications, force_organisation

MAX_PAGE = 1_000_000
HELP = ("find cases by classification (principal or any included), risk, team, area, "
        "person, crime reference, flags and report dates")

COLUMNS = [
    Column("crime_ref", "Crime ref"),
    Column("reported_at", "Reported"),
    Column("area", "Area"),
    Column("codes", "Classification"),
    Column("risk", "Risk"),
    Column("team", "Team"),
    Column("status", "Status"),
    Column("victim_ref", "Victim"),
    Column("suspect_ref", "Suspect"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--code", metavar="CODE",
                        help="Home Office class, matched on the principal or any included "
                             "classification (e.g. 8Q)")
    parser.add_argument("--risk", choices=[*(r.value for r in RiskLevel), UNASSESSED],
                        help="risk level set on the case")
    parser.add_argument("--team", metavar="TEAM",
                        help=f"team holding the case (the force's own, or {UNALLOCATED})")
    parser.add_argument("--area", metavar="AREA", help="area command (the force's own)")
    parser.add_argument("--person", metavar="REF", help="victim or suspect reference")
    parser.add_argument("--crime", metavar="REF", help="crime reference")
    parser.add_argument("--status", choices=["open", "closed"], help="case status")
    parser.add_argument("--from", dest="date_from", metavar="DATE",
                        help="reported on or after DATE (ISO or dd/mm/yyyy, Europe/London)")
    parser.add_argument("--to", dest="date_to", metavar="DATE",
                        help="reported on or before DATE (a whole day when no time is given)")
    parser.add_argument("--online", action="store_true", help="online behaviour flagged")
    parser.add_argument("--domestic", action="store_true", help="domestic-abuse context")
    parser.add_argument("--pin", action="store_true", help="a Police Information Notice recorded")
    parser.add_argument("--flagged", action="store_true",
                        help="an open screening flag (likely stalking recorded as something else)")
    parser.add_argument("--reassessment-due", action="store_true",
                        help="open cases whose risk re-assessment or review is due")
    parser.add_argument("--page", type=int, default=1, metavar="N", help="page number (from 1)")
    parser.add_argument("--limit", type=int, default=50, metavar="N",
                        help=f"cases per page (1-{MAX_PAGE_SIZE}, default 50)")
    parser.add_argument("--total", action="store_true",
                        help="also count the matches (up to 10,000)")
    add_format_option(parser)
    add_output_option(parser)


def _moment(option: str, value: str | None, *, end: bool) -> datetime | None:
    """A date option as a UTC bound; ``--to`` with a date only covers the whole day."""
    if value is None:
        return None
    try:
        day = parse_date(value)
    except DateError:
        day = None
    if day is not None:
        return local_midnight(day + timedelta(days=1) if end else day)
    try:
        moment = parse_datetime(value)
    except DateError as exc:
        raise BadInput(f"{option} {value!r}: {exc}") from None
    return moment + timedelta(microseconds=1) if end else moment


def criteria_from(args: argparse.Namespace) -> CaseSearch:
    if not 1 <= args.page <= MAX_PAGE:
        raise BadInput(f"--page {args.page}: pages are numbered from 1 to {MAX_PAGE:,}")
    if not 1 <= args.limit <= MAX_PAGE_SIZE:
        raise BadInput(f"--limit {args.limit}: expected 1 to {MAX_PAGE_SIZE}")
    for option, value in (("--crime", args.crime), ("--person", args.person)):
        if value is not None and len(value) > REF_LENGTH:
            raise BadInput(f"{option}: a reference is at most {REF_LENGTH} characters "
                           f"(got {len(value):,})")
    code = (args.code or "").strip().upper() or None
    if code and code not in classifications():
        raise BadInput(f"--code {args.code!r}: not a known classification "
                       f"({', '.join(classifications())})")
    reported_from = _moment("--from", args.date_from, end=False)
    reported_to = _moment("--to", args.date_to, end=True)
    if reported_from and reported_to and reported_to <= reported_from:
        raise BadInput(f"--to {args.date_to!r} is before --from {args.date_from!r}")
    return CaseSearch(
        code=code,
        risk=args.risk,
        team=args.team,
        area=args.area,
        person_ref=args.person,
        crime_ref=args.crime,
        status=args.status,
        reported_from=reported_from,
        reported_to=reported_to,
        online=True if args.online else None,
        domestic_abuse=True if args.domestic else None,
        pin_issued=True if args.pin else None,
        open_flag=True if args.flagged else None,
        reassessment_due=True if args.reassessment_due else None,
        page=args.page - 1,
        page_size=args.limit,
    )


def run(args: argparse.Namespace, env: CliEnv) -> int:
    criteria = criteria_from(args)
    ctx = env.context()
    org = force_organisation(ctx.policy)
    if args.area is not None and args.area not in org.area_commands:
        raise BadInput(f"--area {args.area!r}: not an area command "
                       f"({', '.join(org.area_commands)})")
    if args.team is not None and args.team not in (*org.teams, UNALLOCATED):
        raise BadInput(f"--team {args.team!r}: not a team ({', '.join(org.teams)}, "
                       f"{UNALLOCATED})")
    page = search_cases(ctx, criteria, with_total=args.total)
    rows = [
        {**row.as_json(), "reported_at": row.reported_at,
         "codes": row.principal_code + (f" +{','.join(row.included_codes)}"
                                        if row.included_codes else "")}
        for row in page.rows
    ]
    payload = {
        "criteria": criteria.describe(),
        "page": args.page,
        "limit": args.limit,
        "has_more": page.has_more,
        "total": page.total,
        "total_capped": page.total_capped,
        "items": [row.as_json() for row in page.rows],
    }
    first = page.first_index + 1 if page.rows else 0
    counted = f" of {page.total_text}" if page.total is not None else ""
    more = "; more on the next page" if page.has_more else ""
    title = f"Cases: {criteria.describe()} ({first}-{page.first_index + len(page.rows)}{counted}{more})"
    return emit_or_disclose(ctx, args, kind="search",
                            text=render(rows, COLUMNS, args.format, title=title, payload=payload),
                            filter=f"{criteria.describe()} (page {args.page})",
                            crime_refs=[row.crime_ref for row in page.rows], rows=len(page.rows))
