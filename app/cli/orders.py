"""`vigil orders add | status | served | notified`: protective orders recorded
by hand when the RMS extract is late.

``add REF`` records an order protecting the victim of crime REF from its
suspect (SPOs and interim SPOs also move the case's SPO decision);
``status ORDER STATUS`` moves an order along its lifecycle; ``served ORDER``
records service on the subject (an SPO's notification clock starts);
``notified ORDER`` records that an SPO's subject notified name and address
(SPA 2019 s9). Each goes through the orders service: the permission to
record orders in the case's area, the case's lock and version, and an audit
event on the case. Dates are ISO 8601 or ``dd/mm/yyyy HH:MM``
(Europe/London without an offset); without one, the moment is now.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from app.cli.base import CliEnv, add_action_parser
from app.dates import DateError, format_local, parse_datetime
from app.errors import BadInput
from app.output import marked_line
from app.services import orders, restricted
from app.services.context import ServiceContext
from app.services.orders import OrderView
from models.enums import OrderKind, OrderStatus

HELP = "record protective orders by hand (the RMS feed is late): add, status, served, notified"

KINDS = [kind.value for kind in OrderKind]
STATUSES = [status.value for status in OrderStatus]
MOMENTS = {
    "applied": "when it was applied for (default now, for status applied)",
    "granted": "when it was granted (default now, for a granted status)",
    "served": "when it was served on its subject",
    "expires": "when it expires",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="orders_action", metavar="ACTION", required=True)
    add = add_action_parser(actions, "add", "record an order on a case (its victim protected "
                                            "from its suspect)")
    add.add_argument("crime_ref", metavar="REF", help="the crime the order protects")
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--status", required=True, choices=STATUSES)
    add.add_argument("--order-ref", metavar="ORDER",
                     help="the court's or RMS's reference (default: Vigil numbers it)")
    for option, help_text in MOMENTS.items():
        add.add_argument(f"--{option}", metavar="DATE", help=help_text)
    add.add_argument("--conditions", metavar="TEXT", help="the order's prohibitions")
    status = add_action_parser(actions, "status", "move an order along its lifecycle")
    status.add_argument("order_ref", metavar="ORDER")
    status.add_argument("status", choices=STATUSES)
    status.add_argument("--at", metavar="DATE", help="when (default now)")
    status.add_argument("--expires", metavar="DATE",
                        help="a new expiry (on grant, variation or renewal)")
    status.add_argument("--note", metavar="TEXT", help="kept in the audit log")
    served = add_action_parser(actions, "served", "the order was served on its subject")
    served.add_argument("order_ref", metavar="ORDER")
    served.add_argument("--at", metavar="DATE", help="when (default now)")
    notified = add_action_parser(actions, "notified", "an SPO's subject notified name and "
                                                      "address (SPA 2019 s9)")
    notified.add_argument("order_ref", metavar="ORDER")
    notified.add_argument("--at", metavar="DATE", help="when (default now)")


def moment(option: str, text: str | None) -> datetime | None:
    """An optional date argument, or a message naming the option."""
    if text is None:
        return None
    try:
        return parse_datetime(text)
    except DateError as exc:
        raise BadInput(f"{option}: {exc}") from None


def at_or_now(ctx: ServiceContext, text: str | None, option: str = "--at") -> datetime:
    """A date argument, or now (the service context's clock) when it is not given."""
    return moment(option, text) or ctx.now()


def describe(view: OrderView) -> str:
    parts = [f"{view.order_ref} ({view.kind}) on {view.crime_ref}: {view.status.replace('_', ' ')}"]
    if view.expires_at:
        parts.append(f"expires {format_local(view.expires_at)}")
    if view.served_at:
        parts.append(f"served {format_local(view.served_at)}")
    if view.notification_due_at and not view.notified_at:
        parts.append(f"subject to notify by {format_local(view.notification_due_at)}")
    if view.notified_at:
        parts.append(f"notified {format_local(view.notified_at)}")
    return ", ".join(parts)


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    if args.orders_action == "add":
        crime_ref = args.crime_ref.strip()
        view = orders.create_order(
            ctx, crime_ref=crime_ref, kind=args.kind, status=args.status,
            order_ref=args.order_ref, applied_at=moment("--applied", args.applied),
            granted_at=moment("--granted", args.granted),
            served_at=moment("--served", args.served),
            expires_at=moment("--expires", args.expires), conditions=args.conditions,
            expected_version=restricted.version_of(ctx, crime_ref))
    else:
        order_ref = args.order_ref.strip()
        at = at_or_now(ctx, args.at)
        version = orders.order_case_version(ctx, order_ref)
        if args.orders_action == "status":
            view = orders.change_order_status(ctx, order_ref=order_ref, status=args.status, at=at,
                                              note=args.note,
                                              expires_at=moment("--expires", args.expires),
                                              expected_version=version)
        elif args.orders_action == "served":
            view = orders.record_service(ctx, order_ref=order_ref, served_at=at,
                                         expected_version=version)
        else:
            view = orders.record_notification(ctx, order_ref=order_ref, notified_at=at,
                                              expected_version=version)
    env.emit(marked_line(describe(view)) + "\n")
    return 0
