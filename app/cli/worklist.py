"""`vigil worklist [--area AREA] [--team TEAM] [--limit N] [--format table|json|csv|md] [-o FILE]`:
the work queue of standing compliance gaps of an area's open cases, oldest
first: no risk assessment, risk review or re-assessment overdue, high risk
without a plan, SPO not considered (on the orders desk, team ``Orders`` by
default), victim not needs-assessed or referred in Victims' Code time.

Each item has its owner (the action a meeting gave it, else the case's
officer, else the team), the date it crossed its threshold, its age in days
and the date of its second, stricter threshold, when it returns to the
meeting. Without ``--area`` it is the user's own area command; without
``--team`` every team of the area. Officers see their own area's queues.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.base import CliEnv, add_format_option
from app.cli.disclose import add_output_option, emit_or_disclose
from app.cli.dmm import resolve_area
from app.errors import BadInput
from app.output import Column, render
from app.services.dmm import WorkQueue, work_queue

HELP = "the work queue of standing gaps per team: risk, plan, SPO and Victims' Code work"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--area", metavar="AREA", help="area command (default: your own)")
    parser.add_argument("--team", metavar="TEAM",
                        help="one team's queue (Orders: the orders desk); default every team")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N items (oldest first)")
    add_format_option(parser, choices=("table", "json", "csv", "md"))
    add_output_option(parser)


COLUMNS = [
    Column("crime_ref", "Crime", 13),
    Column("title", "Gap", 36),
    Column("team", "Team", 13),
    Column("owner", "Owner", 18),
    Column("crossed", "Since", 10),
    Column("age_days", "Days", 5),
    Column("second", "Back to DMM", 11),
    Column("explanation", "Detail", 60),
]
CSV_COLUMNS = [Column(key, key) for key in (
    "crime_ref", "code", "title", "team", "owner", "owner_due_at", "crossed_at", "age_days",
    "second_at", "risk", "reported_at", "explanation")]


def _rows(queue: WorkQueue) -> list[dict[str, Any]]:
    rows = []
    for item in queue.items:
        rows.append({
            "crime_ref": item.crime_ref, "code": item.code, "title": item.title,
            "team": item.team, "owner": item.owner, "owner_due_at": item.owner_due_at,
            "crossed_at": item.crossed_at, "crossed": f"{item.crossed_at:%d/%m/%Y}",
            "age_days": item.age_days, "second_at": item.second_at,
            "second": f"{item.second_at:%d/%m/%Y}", "risk": item.risk,
            "reported_at": item.reported_at, "explanation": item.explanation,
        })
    return rows


def render_worklist(queue: WorkQueue, fmt: str) -> str:
    title = (f"Work queue — {queue.area}, {queue.team or 'every team'}: "
             f"{len(queue.items)} of {queue.total} items")
    payload = {"area": queue.area, "team": queue.team, "built_at": queue.built_at,
               "total": queue.total, "counts": queue.counts, "items": _rows(queue)}
    return render(_rows(queue), CSV_COLUMNS if fmt == "csv" else COLUMNS, fmt, title=title,
                  payload=payload)


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if args.limit is not None and args.limit < 1:
        raise BadInput(f"worklist --limit {args.limit}: give a whole number of at least 1")
    ctx = env.context()
    queue = work_queue(ctx, area=resolve_area(ctx, args.area), team=args.team,
                       limit=args.limit)
    return emit_or_disclose(ctx, args, kind="worklist", text=render_worklist(queue, args.format),
                            filter=f"{queue.area} work queue, {queue.team or 'every team'}",
                            crime_refs=sorted({i.crime_ref for i in queue.items}),
                            rows=len(queue.items))
