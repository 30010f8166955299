"""`vigil plan load | list | set | update | history`: the force's action plan.

``load [FILE] --note WHY`` stores the recommendations of the force's file
(default: the example shipped in seed/recommendations.toml, the texts as
published where known); ``set REC --owner NAME [--evidence TEXT]`` names the
owner; ``update REC --status STATUS --response TEXT [--attach-figures --from
DATE --to DATE]`` writes a dated update, with the recommendation's current
figures frozen into it; ``history REC`` lists its updates. Analysts and the
administrator edit (audited). The plan itself, in the published layout:
``vigil assurance --format action-plan --from DATE --to DATE``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from app.cli.base import CliEnv, add_action_parser, add_format_option
from app.cli.disclose import add_output_option, emit_or_disclose
from app.dates import DateError, parse_date
from app.errors import BadInput
from app.output import Column, render
from app.services.action_plan import (
    DEFAULT_FILE,
    STATUSES,
    action_plan,
    add_update,
    history,
    load_recommendations,
    read_file,
    set_owner,
)

HELP = "the force's action plan: recommendations, owners, status and dated updates"

LIST_COLUMNS = [Column("number", "Rec"), Column("report", "Report"), Column("theme", "Theme"),
                Column("owner", "Owner"), Column("status", "Status"),
                Column("updates", "Updates"), Column("text", "Text")]
HISTORY_COLUMNS = [Column("written_at", "When"), Column("written_by", "By"),
                   Column("status", "Status"), Column("response", "Response"),
                   Column("figures", "Figures attached")]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="plan_action", metavar="ACTION", required=True)
    load = add_action_parser(actions, "load", "load the recommendations from the force's file")
    load.add_argument("file", nargs="?", default=str(DEFAULT_FILE), metavar="FILE",
                      help="TOML file of [[recommendation]] entries (default: the shipped example)")
    load.add_argument("--note", required=True, help="why (recorded)")
    listing = add_action_parser(actions, "list", "the recommendations and their status")
    add_format_option(listing)
    add_output_option(listing)
    owner = add_action_parser(actions, "set", "name the owner and the evidence required")
    owner.add_argument("number", metavar="REC")
    owner.add_argument("--owner", required=True)
    owner.add_argument("--evidence", help="the evidence requirement")
    update = add_action_parser(actions, "update", "write a dated update")
    update.add_argument("number", metavar="REC")
    update.add_argument("--status", required=True, choices=STATUSES)
    update.add_argument("--response", required=True, help="what the force has done")
    update.add_argument("--attach-figures", action="store_true",
                        help="freeze the recommendation's current figures into the update")
    update.add_argument("--from", dest="date_from", metavar="DATE",
                        help="first day of the figures' period")
    update.add_argument("--to", dest="date_to", metavar="DATE",
                        help="last day of the figures' period (inclusive)")
    hist = add_action_parser(actions, "history", "a recommendation's dated updates")
    hist.add_argument("number", metavar="REC")
    add_format_option(hist)
    add_output_option(hist)


def _day(option: str, text: str | None):  # type: ignore[no-untyped-def]
    if not text:
        return None
    try:
        return parse_date(text)
    except DateError as exc:
        raise BadInput(f"plan update {option}: {exc}") from None


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    action = args.plan_action
    if action == "load":
        done = load_recommendations(ctx, text=read_file(args.file), where=args.file,
                                    note=args.note)
        print(f"recommendations loaded from {args.file}: {len(done.created)} new, "
              f"{len(done.changed)} changed, {done.unchanged} unchanged (sha256 "
              f"{done.sha256[:12]})", file=sys.stderr)
        return 0
    if action == "set":
        set_owner(ctx, number=args.number, owner=args.owner, evidence_requirement=args.evidence)
        print(f"recommendation {args.number}: owner {args.owner.strip()}", file=sys.stderr)
        return 0
    if action == "update":
        start = _day("--from", args.date_from)
        last = _day("--to", args.date_to)
        done = add_update(ctx, number=args.number, status=args.status, response=args.response,
                          attach_figures=args.attach_figures, date_from=start,
                          date_to=last + timedelta(days=1) if last else None)
        print(f"recommendation {args.number}: update written, status {done.status}, "
              f"{len(done.figures)} figures attached", file=sys.stderr)
        return 0
    if action == "history":
        item = history(ctx, args.number)
        rows = [{"written_at": u.written_at, "written_by": u.written_by, "status": u.status,
                 "response": u.response,
                 "figures": "; ".join(f"{f.code} {f.figure} ({f.basis})" for f in u.figures)}
                for u in item.updates]
        text = render(rows, HISTORY_COLUMNS, args.format,
                      title=f"Recommendation {item.number}: {item.theme} ({item.status})",
                      payload={"number": item.number, "status": item.status, "updates": rows})
        return emit_or_disclose(ctx, args, kind="action_plan", text=text,
                                filter=f"recommendation {item.number}", crime_refs=[],
                                rows=len(rows))
    plan = action_plan(ctx)
    rows = [{"number": i.number, "report": i.report, "theme": i.theme, "owner": i.owner,
             "status": i.status, "updates": len(i.updates),
             "text": "summary only" if i.is_summary else "published"} for i in plan.items]
    text = render(rows, LIST_COLUMNS, args.format, title=f"Action plan ({len(rows)})",
                  payload={"recommendations": rows})
    return emit_or_disclose(ctx, args, kind="action_plan", text=text, filter="action plan",
                            crime_refs=[], rows=len(rows))
