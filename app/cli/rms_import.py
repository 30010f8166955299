"""`vigil import PATH [--dry-run] [--prepare-dmm]`: apply an RMS extract (a folder
of CSV files, format 1 or format 2 with a manifest.json; ``--help`` lists
every file and column).

Every problem is listed as ``file:line: field: what is wrong`` and, with any
problem, nothing is written (exit code 2). ``--dry-run`` checks the extract
and reports what would change without writing anything. ``--prepare-dmm``
then prepares every area's next DMM agenda (``vigil dmm --prepare``): the
overnight job in one command.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli.base import CliEnv, working
from app.cli.dmm import prepare_agendas
from app.dates import format_local
from app.output import Column, render, render_json
from app.rms.delta import DeltaList, NewBreach, OrderEvent, Reclassification, RiskChange
from app.rms.formats import FILE_ORDER, columns_help
from app.rms.validate import format_errors
from app.services.extract_summary import describe_totals
from app.services.rms_import import ImportResult, delta_json, import_extract
from seed.reference import force_organisation

HELP = "import an RMS extract: a folder of " + ", ".join(FILE_ORDER) + " (any of them)"
PRINTED_ERRORS = 200
LISTED_ITEMS = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = columns_help()
    parser.add_argument("path", metavar="PATH", help="folder holding the extract's CSV files")
    parser.add_argument("--dry-run", action="store_true",
                        help="check the extract and report what would change; write nothing")
    parser.add_argument("--format", choices=["table", "json"], default="table",
                        help="report format (default table)")
    parser.add_argument("--prepare-dmm", action="store_true",
                        help="after a successful import, prepare every area's next DMM "
                             "agenda (as vigil dmm --prepare)")


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()

    def progress(message: str) -> None:
        print(f"vigil import: {message}", file=sys.stderr)

    with working(f"importing {args.path}") as status:
        result = import_extract(ctx, folder=args.path, dry_run=args.dry_run,
                                progress=lambda message: status(text=f"import: {message}")
                                if sys.stderr.isatty() else progress(message))
    if args.format == "json":
        sys.stdout.write(render_json(result_payload(result)))
    elif result.ok:
        sys.stdout.write(report_text(result))
    for name in result.ignored:
        print(f"vigil import: {name} is not an extract file and was ignored", file=sys.stderr)
    if not result.ok:
        print(f"vigil import: {result.error_count:,} problem"
              f"{'' if result.error_count == 1 else 's'} in {result.source}; "
              "nothing was written", file=sys.stderr)
        print(format_errors(result.errors, result.error_count, PRINTED_ERRORS), file=sys.stderr)
        return 2
    if args.prepare_dmm and not args.dry_run:
        for prepared, _seconds in prepare_agendas(ctx, force_organisation(ctx.policy).area_commands):
            progress(f"DMM agenda of {prepared.area} for {prepared.meeting_date:%a %d/%m/%Y} "
                     f"prepared: {prepared.total:,} items")
    return 0


def result_payload(result: ImportResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "dry_run": result.dry_run,
        "ok": result.ok,
        "error_count": result.error_count,
        "errors": list(result.errors),
        "batch_id": result.batch_id,
        "files": [{"file": c.file, "read": c.read, "new": c.new, "updated": c.updated,
                   "unchanged": c.unchanged} for c in result.counts],
        "people_created": result.people_created,
        "cases_touched": result.cases_touched,
        "delta": delta_json(result.delta) if result.ok else None,
        "ignored": list(result.ignored),
    }


def _describe(item: Any) -> str:
    if isinstance(item, Reclassification):
        return item.describe()
    if isinstance(item, RiskChange):
        return f"{item.crime_ref}: {item.old_level or 'unassessed'} → {item.new_level}"
    if isinstance(item, NewBreach):
        return (f"{item.breach_ref} on {item.crime_ref} (order {item.order_ref} on "
                f"{item.original_crime_ref})")
    if isinstance(item, OrderEvent):
        expires = f", expires {format_local(item.expires_at)}" if item.expires_at else ""
        return f"{item.order_ref} {item.kind} on {item.crime_ref} ({item.status}{expires})"
    return str(item)


_HEADINGS = (
    ("new_crimes", "New crimes"),
    ("reclassified", "Reclassified (principal or included changed)"),
    ("risk_changes", "Risk level changes"),
    ("new_breaches", "New breaches"),
    ("orders_granted", "Orders granted"),
    ("orders_expiring", "Orders expiring soon"),
    ("cases_closed", "Cases closed"),
)


def report_text(result: ImportResult) -> str:
    if result.dry_run:
        head = f"Dry run of {result.source}: nothing was written. The import would make:"
    else:
        head = f"Imported {result.source} (import {result.batch_id}) in {result.seconds:.1f} s"
    columns = [Column("file", "File"), Column("read", "Read"), Column("new", "New"),
               Column("updated", "Updated"), Column("unchanged", "Unchanged")]
    rows = [{"file": c.file, "read": f"{c.read:,}", "new": f"{c.new:,}",
             "updated": f"{c.updated:,}", "unchanged": f"{c.unchanged:,}"} for c in result.counts]
    lines = [head, render(rows, columns, "table").rstrip("\n"),
             f"Changes: {describe_totals(result.delta.totals())}"]
    for key, heading in _HEADINGS:
        listed: DeltaList = getattr(result.delta, key)
        if not listed.total:
            continue
        lines.append(f"{heading} ({listed.total:,}):")
        lines += [f"  {_describe(item)}" for item in listed.items[:LISTED_ITEMS]]
        if listed.total > LISTED_ITEMS:
            lines.append(f"  ... and {listed.total - LISTED_ITEMS:,} more")
    return "\n".join(lines) + "\n"
