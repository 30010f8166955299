"""`vigil retention list | decide | erase`: retention under MoPI.

``list`` shows the closed cases due for review (auditors: the force's
reviewers); ``decide REF --retain|--dispose --reason`` records the review;
``erase REF --reason`` (an administrator) erases a case decided for disposal,
leaving its audit stub.
"""

from __future__ import annotations

import argparse
import sys

from app.cli.base import CliEnv, add_action_parser, add_format_option
from app.cli.disclose import add_output_option, emit_or_disclose
from app.errors import BadInput
from app.output import Column, render
from app.rms.formats import REF_LENGTH
from app.services.retention import REVIEW_PAGE, decide_retention, erase_case, review_list
from models.enums import RetentionDecisionKind
from seed.reference import force_organisation

HELP = "retention under MoPI: the review list, retain or dispose decisions, erasure"

COLUMNS = [
    Column("crime_ref", "Crime ref"),
    Column("area_command", "Area"),
    Column("principal_code", "Class"),
    Column("reported_at", "Reported"),
    Column("closed_at", "Closed"),
    Column("risk_level", "Risk"),
    Column("review_due", "Review due"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="retention_action", metavar="ACTION", required=True)
    listing = add_action_parser(actions, "list", "closed cases due for a MoPI review")
    listing.add_argument("--area", metavar="AREA", help="one area command")
    listing.add_argument("--limit", type=int, default=REVIEW_PAGE, metavar="N",
                         help=f"at most N cases (1-5000, default {REVIEW_PAGE})")
    add_format_option(listing)
    add_output_option(listing)
    decide = add_action_parser(actions, "decide", "record a review: retain or dispose")
    decide.add_argument("crime_ref", metavar="REF")
    choice = decide.add_mutually_exclusive_group(required=True)
    choice.add_argument("--retain", action="store_true", help="keep it until the next review")
    choice.add_argument("--dispose", action="store_true", help="dispose of it (an admin erases)")
    decide.add_argument("--reason", required=True, help="why (recorded)")
    erase = add_action_parser(actions, "erase", "erase a case decided for disposal (admin)")
    erase.add_argument("crime_ref", metavar="REF")
    erase.add_argument("--reason", required=True, help="why (recorded in the audit stub)")


def _ref(text: str) -> str:
    ref = (text or "").strip()
    if not ref or len(ref) > REF_LENGTH:
        raise BadInput(f"retention: {text[:40]!r} is not a crime reference "
                       f"(1 to {REF_LENGTH} characters)")
    return ref


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    if args.retention_action == "list":
        if not 1 <= args.limit <= 5000:
            raise BadInput(f"retention list --limit {args.limit}: expected 1 to 5000")
        areas = force_organisation(ctx.policy).area_commands
        if args.area is not None and args.area not in areas:
            raise BadInput(f"retention list --area {args.area!r}: not an area command "
                           f"({', '.join(areas)})")
        items = review_list(ctx, area=args.area, limit=args.limit)
        rows = [{k: getattr(item, k) for k in item.__dataclass_fields__} for item in items]
        text = render(rows, COLUMNS, args.format,
                      title=f"MoPI review due: {args.area or 'force-wide'} ({len(rows)} cases)",
                      payload={"area": args.area, "items": rows})
        return emit_or_disclose(ctx, args, kind="retention", text=text,
                                filter=f"review due, {args.area or 'force-wide'}",
                                crime_refs=[i.crime_ref for i in items], rows=len(items))
    if args.retention_action == "decide":
        decision = RetentionDecisionKind.RETAIN if args.retain else RetentionDecisionKind.DISPOSE
        result = decide_retention(ctx, crime_ref=_ref(args.crime_ref), decision=decision,
                                  reason=args.reason)
    else:
        result = erase_case(ctx, crime_ref=_ref(args.crime_ref), reason=args.reason)
    print(result.message, file=sys.stderr)
    return 0
