"""`vigil approvals [--area AREA] [--approve ID] [--format table|json|csv|md]`:
risk levels waiting for a second supervisor (four-eyes).

A level set below the checklist's suggestion, or lowered from high, typed in
Vigil or imported from the RMS, waits until a supervisor of the case's area
other than the assessor approves it; the case keeps the higher level
meanwhile. The list shows every pending approval in the area (your own by
default; ``--area all`` force-wide), oldest first, and whether it is yours
to approve. ``--approve ID`` approves assessment ID as you (the audit trail
names the assessor and you).
"""

from __future__ import annotations

import argparse

from app.cli.base import CliEnv, add_format_option, record_id
from app.cli.breaches import resolve_area
from app.cli.disclose import add_output_option, emit_or_disclose
from app.errors import BadInput
from app.output import Column, render
from app.services.risk import approvals_waiting, approve_risk_assessment

HELP = "risk levels waiting for a second supervisor's approval (four-eyes); --approve ID"

COLUMNS = [
    # the assessment and its case
    Column("assessment_id", "ID", 6), Column("crime_ref", "Crime", 14),
    Column("area_command", "Area", 9),
    # who set what, when
    Column("assessed_at", "Assessed", 16), Column("assessor", "Assessor", 20),
    Column("level", "Level set", 9),
    # why it waits, and for whom
    Column("why", "Why it waits", 26), Column("case_risk_level", "Case keeps", 10),
    Column("yours", "Yours", 5), Column("waiting_for", "Waiting for", 44),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--area", metavar="AREA",
                        help="area command (default: your own; 'all' for force-wide)")
    parser.add_argument("--approve", metavar="ID", type=record_id,
                        help="approve risk assessment ID (a supervisor of its area who did "
                             "not assess it)")
    add_format_option(parser)
    add_output_option(parser)


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    if args.approve is not None:
        pending = {p.assessment_id: p for p in approvals_waiting(ctx, force_wide=True)}
        item = pending.get(args.approve)
        if item is None:
            raise BadInput(f"--approve {args.approve}: no risk assessment with that id is "
                           "waiting for approval (see vigil approvals --area all)")
        result = approve_risk_assessment(ctx, assessment_id=args.approve,
                                         expected_version=item.case_version)
        print(f"{result.crime_ref}: {result.message} (assessed by {item.assessor}, "
              f"approved by {result.approved_by})")
        return 0
    area = resolve_area(ctx, args.area)
    items = approvals_waiting(ctx, area=area, force_wide=area is None)
    title = (f"Approvals waiting — {area or 'force-wide'}: {len(items)} "
             f"({sum(i.yours for i in items)} yours to approve)")
    rows = [item.as_dict() for item in items]
    text = render(rows, COLUMNS, args.format, title=title,
                  payload={"area": area or "force-wide", "items": rows})
    return emit_or_disclose(ctx, args, kind="approvals", text=text, filter=f"approvals waiting, {area or 'force-wide'}",
                            crime_refs=[i.crime_ref for i in items], rows=len(rows))
