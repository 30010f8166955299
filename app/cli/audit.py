"""`vigil audit --case REF`: who saw the case, changed it, disclosed or
collected it, when and why (DPA 2018 s62). Reading the trail is audited.

`vigil audit verify`: check the audit log's hash chain (auditors and
administrators). Exit 1 when an event was edited, deleted or slipped in.
"""

from __future__ import annotations

import argparse

from app.cli.base import CliEnv, add_format_option
from app.cli.disclose import add_output_option, emit_or_disclose
from app.errors import BadInput
from app.output import Column, render
from app.rms.formats import REF_LENGTH
from app.services import audit_verify
from app.services.audit_trail import TRAIL_LIMIT, case_audit_trail

HELP = ("a case's audit trail (--case REF: who saw it, changed, exported or imported it, "
        "when and why), or verify the audit log's hash chain")

COLUMNS = [
    Column("at", "When"),
    Column("username", "Who"),
    Column("role", "Role"),
    Column("action", "Action"),
    Column("through", "Through"),
    Column("why", "Why", 70),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audit_action", nargs="?", choices=["verify"], metavar="verify",
                        help="walk the audit log's hash chain: nothing edited, deleted or "
                             "inserted outside Vigil")
    parser.add_argument("--case", dest="crime_ref", metavar="REF",
                        help="crime reference of the case whose trail to list")
    parser.add_argument("--reason", metavar="TEXT",
                        help="why you read it (required for a case outside your area)")
    parser.add_argument("--limit", type=int, default=TRAIL_LIMIT, metavar="N",
                        help=f"newest N events (1-{TRAIL_LIMIT}, default {TRAIL_LIMIT})")
    add_format_option(parser, choices=("table", "json", "csv", "md"))
    add_output_option(parser)


def verify(env: CliEnv) -> int:
    ctx = env.context()
    report = audit_verify.verify(ctx)
    env.emit("\n".join(report.lines()) + "\n")
    return 0 if report.ok else 1


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if args.audit_action == "verify":
        if args.crime_ref:
            raise BadInput("audit: give either verify or --case REF")
        return verify(env)
    if args.crime_ref is None:
        raise BadInput("audit: give --case REF (a case's trail) or verify (the hash chain)")
    crime_ref = (args.crime_ref or "").strip()
    if not crime_ref or len(crime_ref) > REF_LENGTH:
        raise BadInput(f"audit --case {args.crime_ref!r}: a crime reference of 1 to "
                       f"{REF_LENGTH} characters")
    if not 1 <= args.limit <= TRAIL_LIMIT:
        raise BadInput(f"audit --limit {args.limit}: expected 1 to {TRAIL_LIMIT}")
    ctx = env.context()
    entries = case_audit_trail(ctx, crime_ref=crime_ref, limit=args.limit, reason=args.reason)
    rows = [{"at": e.at, "username": e.username, "role": e.role, "action": e.action,
             "through": e.entity if e.entity == "case" else f"{e.entity} {e.entity_id or ''}".strip(),
             "why": e.why} for e in entries]
    text = render(rows, COLUMNS, args.format, title=f"Audit trail of {crime_ref} (newest first)",
                  payload={"crime_ref": crime_ref, "events": rows})
    return emit_or_disclose(ctx, args, kind="audit", text=text, filter=f"case {crime_ref}",
                            crime_refs=[crime_ref], rows=len(rows))
