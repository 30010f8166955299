"""`vigil restrict set|lift|show REF`: restricted cases (a police officer or
member of staff is the suspect or the victim). Supervisors of the case's area
restrict it to named users; auditors always see it; everyone else is told
whom to ask. Every change and view is audited."""

from __future__ import annotations

import argparse
import sys

from app.cli.base import CliEnv, add_action_parser
from app.services import restricted

HELP = "restrict a case to named users (an officer or member of staff involved), or lift it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="restrict_action", metavar="ACTION", required=True)
    setter = add_action_parser(actions, "set", "restrict a case to named users and auditors")
    setter.add_argument("crime_ref", metavar="REF")
    setter.add_argument("--contact", required=True,
                        help="whom others should ask, e.g. 'DI Ashdown, Professional Standards'")
    setter.add_argument("--named", metavar="USER", action="append", default=[],
                        help="a user who may see the case (repeat; you are named yourself)")
    setter.add_argument("--reason", required=True, help="why (kept in the audit log)")
    lift = add_action_parser(actions, "lift", "lift the restriction")
    lift.add_argument("crime_ref", metavar="REF")
    lift.add_argument("--reason", required=True, help="why (kept in the audit log)")
    show = add_action_parser(actions, "show", "is the case restricted, and whom to ask")
    show.add_argument("crime_ref", metavar="REF")


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    ref = args.crime_ref.strip()
    if args.restrict_action == "show":
        result = restricted.restriction_of(ctx, crime_ref=ref)
        named = f" (named: {', '.join(result.named)})" if result.named else ""
        env.emit(f"{result.message}{named}\n")
        return 0
    version = restricted.version_of(ctx, ref)
    if args.restrict_action == "set":
        result = restricted.restrict_case(ctx, crime_ref=ref, contact=args.contact,
                                          named=args.named, reason=args.reason,
                                          expected_version=version)
    else:
        result = restricted.lift_restriction(ctx, crime_ref=ref, reason=args.reason,
                                             expected_version=version)
    print(result.message, file=sys.stderr)
    return 0
