"""`vigil sample draw | list | review | report`: dip sampling of case files.

``draw --area AREA --from DATE --to DATE --reviewer AUDITOR [--seed N]
[--per-stratum N]`` draws a reproducible sample of the area's stalking and
harassment files reported in the period (``--to`` is the last day counted),
stratified by risk and classification, never the reviewer's own cases.
``list`` shows the samples; ``list --sample ID`` one sample's files and
findings. ``review ID REF --pass ITEM ... --fail ITEM=NOTE ...`` records the
reviewer's checklist for one file (``--pass all`` for every item not failed).
``report --from --to [--area]`` gives compliance per item, area and month
with the note of every failed item.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from app.cli.assurance import period_from_args
from app.cli.base import CliEnv, add_action_parser, add_format_option, record_id, whole_number
from app.cli.disclose import add_output_option, emit_or_disclose
from app.dates import DateError, local, parse_date
from app.errors import BadInput
from app.output import Column, render
from app.policy import default_policy
from app.rules import metric_figures
from app.rules import metrics as m
from app.services.dip_sampling import (
    SampleDetail,
    SampleReport,
    draw_sample,
    list_samples,
    record_review,
    sample_detail,
    sample_report,
)

HELP = "dip sampling of case files: draw a sample, review files against the checklist, report"

SAMPLE_COLUMNS = [
    Column("sample_id", "Sample"), Column("area", "Area"), Column("date_from", "From"),
    Column("last_day", "To"), Column("reviewer", "Reviewer"),
    Column("checklist_version", "Checklist"), Column("seed", "Seed"),
    Column("files", "Files"), Column("reviewed", "Reviewed"),
]
FILE_COLUMNS = [
    Column("crime_ref", "Crime ref"), Column("stratum", "Stratum"), Column("team", "Team"),
    Column("reviewed_at", "Reviewed"), Column("met", "Met"), Column("not_met", "Not met"),
]
FIGURE_COLUMNS = [
    Column("code", "Item"), Column("title", "What"), Column("figure", "Compliance"),
    Column("basis", "Basis"), Column("by_area", "By area"), Column("trend", "By month"),
]


def _checklist_help() -> str:
    policy = default_policy().dip_sampling
    lines = [f"Checklist items (shipped policy, version {policy.checklist_version}):"]
    lines += [f"  {item.code}: {item.text}" for item in policy.checklist]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="sample_action", metavar="ACTION", required=True)
    draw = add_action_parser(actions, "draw", "draw a sample of an area's case files")
    draw.add_argument("--area", required=True, help="the area command sampled")
    draw.add_argument("--from", dest="date_from", required=True, metavar="DATE",
                      help="first day of report counted")
    draw.add_argument("--to", dest="date_to", required=True, metavar="DATE",
                      help="last day of report counted (inclusive)")
    draw.add_argument("--reviewer", required=True, metavar="USER",
                      help="the auditor who reviews the files (never their own cases)")
    draw.add_argument("--seed", type=whole_number(0, 2 ** 31 - 1), help="seed of the draw (the same seed draws the same "
                                              "files; default: from the clock, recorded)")
    draw.add_argument("--per-stratum", type=whole_number(1, 1000), metavar="N",
                      help="files per stratum (default: the policy's)")
    add_format_option(draw)
    add_output_option(draw)
    listing = add_action_parser(actions, "list", "the samples, or one sample's files")
    listing.add_argument("--area", help="samples of one area command")
    listing.add_argument("--sample", type=record_id, metavar="ID", help="one sample's files and findings")
    add_format_option(listing)
    add_output_option(listing)
    review = add_action_parser(actions, "review", "record the checklist for one file")
    review.formatter_class = argparse.RawDescriptionHelpFormatter
    review.epilog = _checklist_help()
    review.add_argument("sample_id", type=record_id, metavar="ID")
    review.add_argument("crime_ref", metavar="REF")
    review.add_argument("--pass", dest="passed", action="append", default=[], metavar="ITEM",
                        help="an item met (repeat; 'all' for every item not failed)")
    review.add_argument("--fail", dest="failed", action="append", default=[],
                        metavar="ITEM=NOTE", help="an item not met, with what is missing (repeat)")
    report = add_action_parser(actions, "report", "compliance per item, area and month")
    report.add_argument("--from", dest="date_from", metavar="DATE", help="first day of review")
    report.add_argument("--to", dest="date_to", metavar="DATE", help="last day of review")
    report.add_argument("--area", help="one area command (default force-wide)")
    add_format_option(report)
    add_output_option(report)


def _day(option: str, text: str):  # type: ignore[no-untyped-def]
    try:
        return parse_date(text)
    except DateError as exc:
        raise BadInput(f"sample draw {option}: {exc}") from None


def _answers(args: argparse.Namespace, items: list[str]) -> tuple[dict[str, bool], dict[str, str]]:
    answers: dict[str, bool] = {}
    notes: dict[str, str] = {}
    for entry in args.failed:
        item, sep, note = entry.partition("=")
        if not sep or not note.strip():
            raise BadInput(f"sample review --fail {entry!r}: give ITEM=NOTE (what is missing)")
        answers[item.strip()] = False
        notes[item.strip()] = note.strip()
    for item in args.passed:
        if item.strip() == "all":
            for code in items:
                answers.setdefault(code, True)
            continue
        if item.strip() in answers:
            raise BadInput(f"sample review: {item} is given as met and as not met")
        answers[item.strip()] = True
    return answers, notes


def _file_rows(detail: SampleDetail) -> list[dict[str, object]]:
    return [{"crime_ref": f.crime_ref, "stratum": f.stratum, "team": f.team or m.UNALLOCATED,
             "reviewed_at": f.reviewed_at,
             "met": sum(1 for x in f.findings if x.passed),
             "not_met": "; ".join(f"{x.item}: {x.note}" for x in f.findings if not x.passed)}
            for f in detail.files]


def _summary_row(s) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"sample_id": s.sample_id, "area": s.area, "date_from": s.date_from,
            "last_day": s.date_to - timedelta(days=1), "reviewer": s.reviewer,
            "checklist_version": s.checklist_version, "seed": s.seed, "files": s.files,
            "reviewed": s.reviewed}


def _report_rows(report: SampleReport) -> list[dict[str, object]]:
    rows = []
    for r in report.results:
        d = r.definition
        rows.append({
            "code": d.code, "title": d.title, "figure": metric_figures.format_figure(d, r.overall),
            "basis": metric_figures.format_basis(d, r.overall),
            "by_area": "; ".join(f"{a.area} {metric_figures.format_figure(d, a.figure)}" for a in r.by_area),
            "trend": "; ".join(f"{p.month:%b %Y} {metric_figures.format_figure(d, p.figure)}"
                               for p in r.trend),
        })
    return rows


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    action = args.sample_action
    if action == "draw":
        start = _day("--from", args.date_from)
        end = _day("--to", args.date_to) + timedelta(days=1)
        drawn = draw_sample(ctx, area=args.area, date_from=start, date_to=end,
                            reviewer=args.reviewer, seed=args.seed, per_stratum=args.per_stratum)
        detail = SampleDetail(drawn.summary, drawn.files, ())
        s = drawn.summary
        title = (f"Dip sample {s.sample_id}: {s.area}, {s.date_from:%Y-%m-%d} to "
                 f"{s.date_to - timedelta(days=1):%Y-%m-%d}, seed {s.seed}, reviewer "
                 f"{s.reviewer}; {len(drawn.excluded_own)} of the reviewer's own cases left out")
        rows = _file_rows(detail)
        text = render(rows, FILE_COLUMNS, args.format, title=title,
                      payload={"sample": _summary_row(s), "strata": drawn.strata,
                               "excluded_own": list(drawn.excluded_own), "files": rows})
        return emit_or_disclose(ctx, args, kind="dip_sample", text=text,
                                filter=f"dip sample {s.sample_id}",
                                crime_refs=[f.crime_ref for f in drawn.files], rows=len(rows))
    if action == "list":
        if args.sample is not None:
            detail = sample_detail(ctx, args.sample)
            rows = _file_rows(detail)
            s = detail.summary
            text = render(rows, FILE_COLUMNS, args.format,
                          title=f"Dip sample {s.sample_id}: {s.area}, {s.reviewed} of {s.files} "
                                f"files reviewed (checklist {s.checklist_version})",
                          payload={"sample": _summary_row(s), "files": [
                              {**row, "findings": [{"item": x.item, "passed": x.passed,
                                                    "note": x.note} for x in f.findings]}
                              for row, f in zip(rows, detail.files, strict=True)]})
            return emit_or_disclose(ctx, args, kind="dip_sample", text=text,
                                    filter=f"dip sample {s.sample_id}",
                                    crime_refs=[f.crime_ref for f in detail.files], rows=len(rows))
        samples = [_summary_row(s) for s in list_samples(ctx, area=args.area)]
        text = render(samples, SAMPLE_COLUMNS, args.format, title=f"Dip samples ({len(samples)})",
                      payload={"samples": samples})
        return emit_or_disclose(ctx, args, kind="dip_sample", text=text, filter="dip samples",
                                crime_refs=[], rows=len(samples))
    if action == "review":
        items = [item.code for item in ctx.policy.dip_sampling.checklist]
        answers, notes = _answers(args, items)
        done = record_review(ctx, sample_id=args.sample_id, crime_ref=args.crime_ref,
                             answers=answers, notes=notes)
        met = sum(1 for f in done.findings if f.passed)
        print(f"{done.crime_ref}: {met} of {len(done.findings)} checklist items met (recorded)",
              file=sys.stderr)
        return 0
    date_from, date_to = period_from_args(args, local(ctx.now()).date())
    report = sample_report(ctx, date_from=date_from, date_to=date_to, area=args.area)
    rows = _report_rows(report)
    failed = [{"crime_ref": f.crime_ref, "area": f.area, "item": f.item, "note": f.note,
               "reviewed_at": f.reviewed_at} for f in report.failed]
    title = (f"Dip-sample compliance, files reviewed {date_from:%Y-%m-%d} to "
             f"{date_to - timedelta(days=1):%Y-%m-%d}, {report.area or 'force-wide'} "
             f"({report.files_reviewed} files, checklist {report.checklist_version})")
    text = render(rows, FIGURE_COLUMNS, args.format, title=title,
                  payload={"figures": rows, "failed_items": failed})
    if args.format in ("table", "md") and failed:
        text += render(failed, [Column("crime_ref", "Crime ref"), Column("area", "Area"),
                                Column("item", "Item"), Column("note", "Note")],
                       args.format, title="Items not met")
    return emit_or_disclose(ctx, args, kind="dip_sample", text=text,
                            filter=f"dip sample compliance, {report.area or 'force-wide'}",
                            crime_refs=[f.crime_ref for f in report.failed], rows=len(rows))
