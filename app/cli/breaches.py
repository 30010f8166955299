"""`vigil breaches [--area AREA] [--format table|json|csv|md] [-o FILE]`: the
breach escalation board, grouped by level (3 first), most urgent first.
``--orders expiring`` lists the orders in force about to expire instead, and
``--orders notifications`` the SPOs and interim SPOs served whose subject has
not yet notified name and address (SPA 2019 s9), most overdue first.
``vigil breaches add ORDER --occurred DATE --summary TEXT`` records a breach
by hand when the RMS extract is late: a new crime linked to the original case,
listed at the next DMM, its acknowledgement clock started.

Without ``--area`` the board is the user's own area command (force-wide for
analysts and auditors); ``--area all`` asks for every area. JSON gives one
object with ``items`` (each with ``breach_ref``, ``crime_ref``,
``order_ref``, ``order_kind``, ``level``, ``due_at``, ``overdue``,
``breaches_30d``, ``expected_actions`` and more).
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.base import CliEnv, add_action_parser, add_format_option
from app.cli.disclose import add_output_option, emit_or_disclose
from app.cli.orders import at_or_now
from app.dates import format_local
from app.errors import BadInput
from app.output import Column, marked_line, render
from app.services.breach_recording import BreachRecorded, record_breach
from app.services.breaches import BreachBoard, breach_board
from app.services.context import ServiceContext
from app.services.order_lists import notifications_due, orders_expiring
from app.services.orders import OrderView
from seed.reference import force_organisation

HELP = ("the breach escalation board: breaches by level, deadlines and expected actions; "
        "`add` records a breach by hand")
ALL_AREAS = "all"
ORDER_LISTS = ("expiring", "notifications")
ORDER_COLUMNS = [
    Column("order_ref", "Order"), Column("kind", "Kind"), Column("status", "Status"),
    Column("crime_ref", "Case"), Column("area_command", "Area"),
    Column("served_at", "Served"), Column("expires_at", "Expires"),
    Column("notification_due_at", "Notify by"), Column("notified_at", "Notified"),
    Column("notification_overdue", "Overdue"), Column("subject_ref", "Subject"),
    Column("protected_ref", "Protected"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--area", metavar="AREA",
                        help="area command (default: your own; 'all' for force-wide)")
    parser.add_argument("--orders", choices=ORDER_LISTS,
                        help="list orders instead of breaches: 'expiring' (in force, expiring "
                             "within the policy's warning days) or 'notifications' (SPO "
                             "subjects who have not notified name and address)")
    add_format_option(parser)
    add_output_option(parser)
    actions = parser.add_subparsers(dest="breaches_action", metavar="ACTION")
    add = add_action_parser(actions, "add", "record a breach of an order by hand (a new crime "
                                            "linked to the original case)")
    add.add_argument("order_ref", metavar="ORDER", help="the order breached")
    add.add_argument("--occurred", metavar="DATE", required=True, help="when it happened")
    add.add_argument("--reported", metavar="DATE", help="when it was reported (default now)")
    add.add_argument("--summary", metavar="TEXT", required=True, help="what happened")
    add.add_argument("--threats-or-violence", action="store_true",
                     help="threats or violence in the breach (escalates it)")
    add.add_argument("--crime-ref", metavar="REF",
                     help="the breach crime's RMS reference (default: Vigil numbers it)")


def resolve_area(ctx: ServiceContext, area: str | None) -> str | None:
    """The area asked for, the user's own by default; None means force-wide."""
    if area is None:
        return ctx.actor.area_command
    if area.strip().lower() == ALL_AREAS:
        return None
    areas = force_organisation(ctx.policy).area_commands
    for known in areas:
        if known.lower() == area.strip().lower():
            return known
    raise BadInput(f"--area {area!r}: expected one of {', '.join(areas)} or {ALL_AREAS}")


def columns(board: BreachBoard) -> list[Column]:
    cols = [
        # the breach, its crimes and the order breached
        Column("level", "Lvl", 3), Column("breach_ref", "Breach", 13),
        Column("crime_ref", "Breach crime", 14),
        Column("original_crime_ref", "Original crime", 14),
        Column("order_ref", "Order", 16), Column("order_kind", "Kind", 5),
        Column("pair", "Victim ← suspect", 18),
        # what is due, and when
        Column("due_for", "Due for", 14), Column("due_at", "Due", 16),
        Column("time_left", "Time left", 16),
    ]
    cols += [Column(f"breaches_{d}d", f"{d}d", 4) for d in board.windows_days]
    cols += [
        Column("reasons", "Reasons", 30),
        Column("outstanding_actions", "Outstanding actions", 40),
    ]
    return cols


def table_columns(board: BreachBoard) -> list[Column]:
    """The terminal table: what a supervisor scans (the order and the breach
    crime are in the other formats)."""
    cols = [
        Column("level", "Lvl"),
        Column("breach_ref", "Breach"),
        Column("original_crime_ref", "Original crime"),
        Column("order_kind", "Kind"),
        Column("pair", "Victim ← suspect"),
        Column("due_for", "Due for"),
        Column("time_left", "Time left"),
    ]
    cols += [Column(f"breaches_{d}d", f"{d}d") for d in board.windows_days]
    cols += [Column("reasons", "Reasons", 28), Column("outstanding_actions", "Outstanding", 34)]
    return cols


def export_columns(board: BreachBoard) -> list[Column]:
    """Every field of an item (CSV): the machine-readable shape."""
    keys = [
        "level", "breach_ref", "crime_ref", "original_crime_ref", "order_ref", "order_kind",
        "area_command", "victim_ref", "suspect_ref", "occurred_at", "reported_at", "due_for",
        "due_at", "overdue", "time_left_minutes",
        *(f"breaches_{d}d" for d in board.windows_days),
        "reasons", "expected_actions", "outstanding_actions", "acknowledged", "acknowledged_by",
        "acknowledged_at", "threats_or_violence", "manual_level", "arrest_at",
        "reassessment_requested_at", "reassessed", "risk_level",
    ]
    return [Column(key, key) for key in keys]


def board_rows(board: BreachBoard) -> list[dict[str, Any]]:
    rows = []
    for item in board.items:
        row = item.as_dict()
        row["pair"] = item.pair
        rows.append(row)
    return rows


def payload(board: BreachBoard) -> dict[str, Any]:
    return {
        "area": board.area or "force-wide",
        "built_at": board.built_at,
        "windows_days": list(board.windows_days),
        "counts": {f"level_{lv.level}": lv.total for lv in board.levels},
        "items": [item.as_dict() for item in board.items],
    }


def render_board(board: BreachBoard, fmt: str) -> str:
    title = (f"Breach board — {board.area or 'force-wide'}: "
             + ", ".join(f"level {lv.level} {lv.total}" for lv in board.levels))
    if fmt == "csv":
        cols = export_columns(board)
    elif fmt == "table":
        cols = table_columns(board)
    else:
        cols = columns(board)
    return render(board_rows(board), cols, fmt, title=title, payload=payload(board))


def board_refs(board: BreachBoard) -> list[str]:
    """The cases the board names: each breach's crime and its original case."""
    refs: list[str] = []
    for item in board.items:
        refs += [item.crime_ref, item.original_crime_ref]
    return refs


def render_orders(orders: list[OrderView], which: str, area: str | None, fmt: str) -> str:
    title = (f"Orders expiring — {area or 'force-wide'}: {len(orders)}" if which == "expiring"
             else f"SPO notifications outstanding — {area or 'force-wide'}: {len(orders)}")
    rows = [{column.key: getattr(order, column.key) for column in ORDER_COLUMNS}
            for order in orders]
    return render(rows, ORDER_COLUMNS, fmt, title=title,
                  payload={"area": area or "force-wide", "list": which, "orders": rows})


def describe_recorded(recorded: BreachRecorded) -> str:
    due = (f"; re-assessment due {format_local(recorded.reassessment_due_at)}"
           if recorded.reassessment_due_at else "")
    return (f"{recorded.breach_ref}: breach of {recorded.order_ref} ({recorded.order_kind}) "
            f"recorded as crime {recorded.crime_ref} ({recorded.principal_code}, "
            f"{recorded.allocation_team}), linked to {recorded.original_crime_ref}; level "
            f"{recorded.level}, acknowledge by {format_local(recorded.acknowledge_due_at)}{due}")


def add_breach(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    recorded = record_breach(
        ctx, order_ref=args.order_ref, occurred_at=at_or_now(ctx, args.occurred, "--occurred"),
        reported_at=at_or_now(ctx, args.reported, "--reported"),
        summary=args.summary, threats_or_violence=args.threats_or_violence,
        crime_ref=args.crime_ref)
    env.emit(marked_line(describe_recorded(recorded)) + "\n")
    return 0


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if getattr(args, "breaches_action", None) == "add":
        return add_breach(args, env)
    ctx = env.context()
    area = resolve_area(ctx, args.area)
    if args.orders:
        lister = orders_expiring if args.orders == "expiring" else notifications_due
        orders = lister(ctx, area=area)
        return emit_or_disclose(ctx, args, kind="orders",
                                text=render_orders(orders, args.orders, area, args.format),
                                filter=f"{args.orders} orders, area {area or 'force-wide'}",
                                crime_refs=[order.crime_ref for order in orders],
                                rows=len(orders))
    board = breach_board(ctx, area=area)
    return emit_or_disclose(ctx, args, kind="breaches", text=render_board(board, args.format),
                            filter=f"area {board.area or 'force-wide'}",
                            crime_refs=board_refs(board), rows=len(board.items))


def export_text(env: CliEnv, args: argparse.Namespace) -> tuple[str, list[str], int]:
    """`vigil export breaches`: the board force-wide, or one area with --area
    (the export command discloses it: permission, purpose, event first)."""
    ctx = env.context()
    area = getattr(args, "area", None)
    board = breach_board(ctx, area=resolve_area(ctx, area) if area else None, audit=False)
    return (render_board(board, getattr(args, "format", "csv")), board_refs(board),
            len(board.items))
