"""`vigil dmm --area AREA [--date YYYY-MM-DD] [--format table|json|md|csv] [-o FILE]`:
the daily management meeting queue of an area command, ranked, with the
decisions and actions recorded on it. ``--format md`` gives minutes to
circulate.

Without ``--date`` the meeting is today's (per the clock, ``--now``), or the
next meeting day when today has none. Without ``--area`` it is the user's own
area command. JSON gives the meeting and ``items``, each with ``crime_ref``,
``priority``, ``reasons`` (codes), ``explanations``, ``risk``, ``team``,
``decision``, ``rationale`` and ``actions``.

``vigil dmm --prepare [--area AREA] [--date DATE]`` computes and stores the
meeting's whole agenda ahead of time (default: the first meeting not yet
started), for the area named (force-wide users: every area when ``--area`` is
left out). Schedule it after the overnight RMS import so the morning's first
view only reads the cases changed since.

``vigil dmm --complete-action ID --case-version N`` marks a DMM action done;
``vigil dmm --reassign-action ID --case-version N --owner NAME [--due ISO]``
gives it to someone else (action ids are in ``--format json``, under each
item's ``actions``; N is the item's ``case_version``, the version read: a case
changed since is not saved). Both are audited on the case.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Iterator
from datetime import date

from app.cli.base import CliEnv, add_format_option
from app.cli.disclose import add_output_option, emit_or_disclose
from app.dates import DateError, format_local, parse_date, parse_datetime
from app.errors import BadInput
from app.rules import dmm as rules
from app.services.context import ServiceContext
from app.services.dmm import (
    PreparedQueue,
    build_queue,
    complete_action,
    current_meeting_date,
    minutes_addenda,
    prepare_queue,
    reassign_action,
)
from app.services.dmm_minutes import render_queue
from seed.reference import force_organisation

HELP = "the daily management meeting queue of an area: ranked cases, decisions, actions, minutes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--area", metavar="AREA", help="area command (default: your own)")
    parser.add_argument("--date", metavar="YYYY-MM-DD",
                        help="meeting date (default: today's meeting, or the next one)")
    parser.add_argument("--prepare", action="store_true",
                        help="compute and store the agenda now (every area for force-wide "
                             "users without --area); schedule after the overnight import")
    actions = parser.add_mutually_exclusive_group()
    actions.add_argument("--complete-action", type=int, metavar="ID",
                         help="mark DMM action ID done")
    actions.add_argument("--reassign-action", type=int, metavar="ID",
                         help="give DMM action ID to --owner (and --due)")
    parser.add_argument("--owner", metavar="NAME", help="with --reassign-action: the new owner")
    parser.add_argument("--due", metavar="ISO", help="with --reassign-action: a new due time")
    parser.add_argument("--case-version", type=int, metavar="N",
                        help="with --complete-action or --reassign-action: the case's version "
                             "as you read it (each item's case_version in --format json); a "
                             "case changed since is not saved")
    add_format_option(parser, choices=("table", "json", "md", "csv"))
    add_output_option(parser)


def resolve_area(ctx: ServiceContext, area: str | None) -> str:
    areas = force_organisation(ctx.policy).area_commands
    if not area:
        if ctx.actor.area_command:
            return ctx.actor.area_command
        raise BadInput(f"dmm: --area is required for force-wide users "
                       f"(one of {', '.join(areas)})")
    for known in areas:
        if known.lower() == area.strip().lower():
            return known
    raise BadInput(f"dmm --area {area!r}: expected one of {', '.join(areas)}")


def resolve_date(ctx: ServiceContext, text: str | None) -> date:
    if not text:
        return current_meeting_date(ctx)
    try:
        return parse_date(text)
    except DateError as exc:
        raise BadInput(f"dmm --date: {exc}") from None


def prepare_agendas(ctx: ServiceContext, areas: Iterable[str],
                    meeting_date: date | None = None) -> Iterator[tuple[PreparedQueue, float]]:
    """Prepare each area's agenda for ``meeting_date`` (default: the first
    meeting not yet started); yields each result with the seconds it took."""
    if meeting_date is None:
        meeting_date = rules.upcoming_meeting_date(ctx.now(), ctx.policy)
    for area in areas:
        started = time.perf_counter()
        prepared = prepare_queue(ctx, area=area, meeting_date=meeting_date)
        yield prepared, time.perf_counter() - started


def prepare(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    if args.area or ctx.actor.area_command:
        areas = [resolve_area(ctx, args.area)]
    else:
        areas = list(force_organisation(ctx.policy).area_commands)
    meeting_date = resolve_date(ctx, args.date) if args.date else None
    lines = [f"{p.area}: meeting {p.meeting_date:%a %d/%m/%Y} prepared, "
             f"{p.total:,} items ({seconds:.1f} s)"
             for p, seconds in prepare_agendas(ctx, areas, meeting_date)]
    env.emit("\n".join(lines) + "\n", args.output)
    return 0


def change_action(args: argparse.Namespace, env: CliEnv) -> int:
    action_id = args.complete_action if args.complete_action is not None else args.reassign_action
    if not 1 <= action_id < 2 ** 63:
        raise BadInput(f"dmm: action id {action_id} is not one Vigil gives (see --format json)")
    if args.case_version is None:
        raise BadInput("dmm: give --case-version N, the case's version as you read it "
                       "(each item's case_version in --format json)")
    ctx = env.context()
    if args.complete_action is not None:
        action = complete_action(ctx, action_id=args.complete_action,
                                 expected_version=args.case_version)
        line = (f"action {action.id} on {action.crime_ref} done "
                f"({format_local(action.done_at)}): {action.text}")
    else:
        if not args.owner:
            raise BadInput("dmm --reassign-action: name the new owner with --owner")
        due = None
        if args.due:
            try:
                due = parse_datetime(args.due)
            except DateError as exc:
                raise BadInput(f"dmm --due: {exc}") from None
        action = reassign_action(ctx, action_id=args.reassign_action, owner=args.owner,
                                 due_at=due, expected_version=args.case_version)
        line = (f"action {action.id} on {action.crime_ref} now with {action.owner}, due "
                f"{format_local(action.due_at)}: {action.text}")
    env.emit(line + "\n", None)
    return 0


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if args.complete_action is not None or args.reassign_action is not None:
        return change_action(args, env)
    if args.owner or args.due:
        raise BadInput("dmm --owner/--due go with --reassign-action ID")
    if args.case_version is not None:
        raise BadInput("dmm --case-version goes with --complete-action or --reassign-action ID")
    if args.prepare:
        return prepare(args, env)
    ctx = env.context()
    queue = build_queue(ctx, area=resolve_area(ctx, args.area),
                        meeting_date=resolve_date(ctx, args.date))
    addenda = minutes_addenda(ctx, area=queue.area, meeting_date=queue.meeting_date)
    return emit_or_disclose(ctx, args, kind="dmm",
                            text=render_queue(queue, args.format, addenda),
                            filter=f"{queue.area} meeting {queue.meeting_date.isoformat()}",
                            crime_refs=[i.crime_ref for i in queue.items], rows=queue.total)


def export_text(env: CliEnv, args: argparse.Namespace) -> tuple[str, list[str], int]:
    """`vigil export dmm --area AREA --date DATE --format ...` (the export
    command checks the permission and audits the export)."""
    ctx = env.context()
    queue = build_queue(ctx, area=resolve_area(ctx, getattr(args, "area", None)),
                        meeting_date=resolve_date(ctx, getattr(args, "date", None)))
    addenda = minutes_addenda(ctx, area=queue.area, meeting_date=queue.meeting_date)
    return (render_queue(queue, getattr(args, "format", None) or "md", addenda),
            [i.crime_ref for i in queue.items], queue.total)
