"""`vigil export cases|dmm|breaches|screening|assurance [--format ...] [-o FILE]`.

``cases`` writes the RMS extract format: crimes.csv columns to a file (or
standard output), or the format 2 extract (every file and manifest.json) when ``-o`` names a folder (an
existing folder, or a path ending with ``/``); that folder re-imports
unchanged. The other kinds come from their feature's CLI module's
``export_text(env, args)``, which reads the options defined here.
Every export is a disclosure (:mod:`app.services.disclosure`): the export
permission, a purpose (``--purpose`` or asked), and an event naming the cases
committed before the data leaves.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.cli import assurance, breaches, dmm, screen
from app.cli.base import CliEnv, working
from app.cli.disclose import add_purpose_option, purpose_of, quiet_broken_stdout
from app.dates import DateError, local_midnight, parse_date
from app.errors import BadInput, VigilError
from app.services import disclosure
from app.services.context import ServiceContext
from app.services.rms_export import export_cases
from app.services.rms_export_reads import CaseFilter
from seed.reference import force_organisation

HELP = "export cases (the RMS extract format), the DMM queue, breaches, screening or assurance"
KINDS = ("cases", "dmm", "breaches", "screening", "assurance")
FORMATS = ("csv", "json", "md", "html")
# the other kinds: each command's own export_text (what it shows, as a file)
DELEGATES: dict[str, Callable[[CliEnv, argparse.Namespace], Any]] = {
    "dmm": dmm.export_text,
    "breaches": breaches.export_text,
    "screening": screen.export_text,
    "assurance": assurance.export_text,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS, help="what to export")
    parser.add_argument("--format", choices=FORMATS, default="csv",
                        help="file format (default csv)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write to FILE (for cases, a folder gets the whole format 2 extract)")
    parser.add_argument("--area", metavar="AREA", help="one area command")
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="one day (e.g. a DMM meeting)")
    parser.add_argument("--since", metavar="DATE", help="from this date on")
    parser.add_argument("--from", dest="date_from", metavar="DATE", help="period start")
    parser.add_argument("--to", dest="date_to", metavar="DATE", help="period end (inclusive)")
    add_purpose_option(parser)


def _day(option: str, text: str | None) -> object:
    if not text:
        return None
    try:
        return parse_date(text)
    except DateError as exc:
        raise BadInput(f"export {option}: {exc}") from None


def case_filter(args: argparse.Namespace, ctx: ServiceContext) -> CaseFilter:
    areas = force_organisation(ctx.policy).area_commands
    if args.area and args.area not in areas:
        raise BadInput(f"export --area: unknown area command {args.area!r} "
                       f"(expected {', '.join(areas)})")
    single = _day("--date", args.date)
    start = _day("--from", args.date_from) or _day("--since", args.since) or single
    end = _day("--to", args.date_to) or single
    return CaseFilter(
        area=args.area,
        reported_from=local_midnight(start) if start else None,  # type: ignore[arg-type]
        reported_to=local_midnight(end + timedelta(days=1)) if end else None,  # type: ignore[operator]
    )


def run(args: argparse.Namespace, env: CliEnv) -> int:
    try:
        return _run(args, env)
    except disclosure.OutputClosed as exc:
        quiet_broken_stdout()
        print(f"vigil: {exc}", file=sys.stderr)
        return 0
    except SQLAlchemyError as exc:  # a message, never a traceback
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise VigilError(f"export {args.kind} failed: {reason}") from None


def _run(args: argparse.Namespace, env: CliEnv) -> int:
    if args.kind == "cases":
        ctx = env.context()
        flt = case_filter(args, ctx)
        disclosure.authorise(ctx, "cases")  # refuse before asking why
        purpose = purpose_of(args, "cases")
        if args.output:
            with working(f"exporting cases to {args.output}"):
                result = export_cases(ctx, target=args.output, fmt=args.format, flt=flt,
                                      stdout=sys.stdout, purpose=purpose)
        else:
            result = export_cases(ctx, target=args.output, fmt=args.format, flt=flt,
                                  stdout=sys.stdout, purpose=purpose)
        if args.output:
            counts = ", ".join(f"{name} {n:,} rows" for name, n in result.rows.items())
            print(f"wrote {result.target} ({counts}; disclosure logged)", file=sys.stderr)
        return 0
    export_text = DELEGATES[args.kind]
    ctx = env.context()
    disclosure.authorise(ctx, args.kind)  # refuse before asking why
    purpose = purpose_of(args, args.kind)
    exported = export_text(env, args)
    text, crime_refs, rows = _parts(exported)
    done = disclosure.disclose_text(
        ctx, kind=args.kind, fmt=args.format, text=text, target=args.output,
        purpose=purpose, filter=_describe(args), crime_refs=crime_refs, rows=rows,
        stdout=None if args.output else sys.stdout)
    if args.output:
        print(f"wrote {done.disclosure.target} ({rows:,} rows; disclosure logged)",
              file=sys.stderr)
    elif not done.complete:
        raise disclosure.OutputClosed(f"export {args.kind}: standard output was closed by its "
                                      "reader before the end; the disclosure is logged")
    return 0


def _parts(exported: object) -> tuple[str, list[str], int]:
    """A feature's export: its text, the cases it names and its rows (a bare
    text names none and counts its lines)."""
    if isinstance(exported, str):
        return exported, [], max(0, exported.count("\n") - 1)
    text, crime_refs, rows = exported  # type: ignore[misc]
    return text, list(crime_refs), int(rows)


def _describe(args: argparse.Namespace) -> str:
    parts = [f"{name} {value}" for name, value in (
        ("area", args.area), ("date", args.date), ("since", args.since),
        ("from", args.date_from), ("to", args.date_to)) if value]
    return ", ".join(parts) or "all"
