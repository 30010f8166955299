"""`vigil victims-code [--area AREA] [--gap CODE] [--format table|json|csv|md]`:
open stalking and harassment cases with something outstanding under the
Victims' Code (app.rules.victim_care), with the reason in words.

Gaps: ``NEEDS_ASSESSMENT_LATE`` and ``REFERRAL_LATE`` (right 4, within the
policy's working days; signposting to the Helpline is not a referral; a
victim who refused consent has nothing outstanding and is counted apart),
``REFERRAL_OFF_ROUTE`` (referred outside the force's specialist route, e.g.
high-risk domestic-abuse stalking to Paladin or an ISAC, non-domestic
stalking to ISHA), ``REFERRAL_PENDING`` (still pending after the policy's
days), ``UPDATE_LATE`` (right 6: 1 working day with enhanced rights, 5
otherwise, from the report or the last update) and ``VPS_NOT_OFFERED``
(right 7).
"""

from __future__ import annotations

import argparse

from app.cli.base import CliEnv, add_format_option
from app.cli.breaches import resolve_area
from app.cli.disclose import add_output_option, emit_or_disclose
from app.output import Column, render
from app.rules.victim_care import CareGapCode
from app.services.victim_care import victims_code_list

HELP = "open cases with something outstanding under the Victims' Code, with the reasons"

COLUMNS = [
    Column("crime_ref", "Crime", 14),
    Column("area_command", "Area", 9),
    Column("allocation_team", "Team", 13),
    Column("reported_at", "Reported", 16),
    Column("gaps", "Gaps", 30),
    Column("explanations", "Why", 70),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--area", metavar="AREA",
                        help="area command (default: your own; 'all' for force-wide)")
    parser.add_argument("--gap", action="append", default=[], metavar="CODE",
                        choices=[code.value for code in CareGapCode],
                        help="only cases with this gap (repeatable): "
                             + ", ".join(code.value for code in CareGapCode))
    add_format_option(parser)
    add_output_option(parser)


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    area = resolve_area(ctx, args.area)
    listed = victims_code_list(ctx, area=area, codes=tuple(args.gap))
    counts = ", ".join(f"{code} {n}" for code, n in listed.counts.items() if n)
    title = (f"Victims' Code — {area or 'force-wide'}: {len(listed.rows)} of {listed.cases} open "
             f"cases with something outstanding ({counts or 'nothing'}); consent refused "
             f"{listed.consent_refused} (counted apart)")
    rows = [row.as_dict() for row in listed.rows]
    text = render(rows, COLUMNS, args.format, title=title, payload={
        "area": area or "force-wide", "built_at": listed.built_at, "cases": listed.cases,
        "counts": listed.counts, "consent_refused": listed.consent_refused, "items": rows})
    return emit_or_disclose(ctx, args, kind="victims-code", text=text, filter=f"Victims' Code list, {area or 'force-wide'}",
                            crime_refs=[r.crime_ref for r in listed.rows], rows=len(rows))
