"""`vigil assurance [--from DATE] [--to DATE] [--area AREA] [--format table|json|csv|md|html]
[-o FILE]`: how the force meets the stalking recommendations, measured from
case data, for a period.

``--from`` is the first day counted and ``--to`` the last day counted
(inclusive, Europe/London calendar days, as everywhere on the command line);
by default the last 12 full calendar months before today (only ``--to``:
the 12 months ending that day; only ``--from``: up to today). ``--area`` gives
one area command (default force-wide; ``all`` is force-wide too).

Formats: ``table`` (the terminal), ``json`` (everything: definitions,
breakdowns, trend, call-outs), ``csv`` (one row per figure: overall, each
area, each team, each month), ``md`` and ``html`` (one stand-alone file with
its charts, to attach to an action-plan update).
"""

from __future__ import annotations

import argparse
import textwrap
from datetime import date, timedelta

from app.cli.base import CliEnv
from app.cli.disclose import add_output_option, emit_or_disclose
from app.dates import DateError, local, parse_date
from app.errors import BadInput
from app.policy import default_policy
from app.reports.assurance_html import render_report_html
from app.reports.assurance_text import (
    render_report_csv,
    render_report_json,
    render_report_markdown,
    render_report_table,
)
from app.rules.metric_periods import default_period, shift_months
from app.rules.metrics import metric_definitions
from app.services.assurance import AssuranceReport, assurance_report
from app.services.context import ServiceContext

HELP = "assurance against the stalking recommendations, from case data, for a period"
FORMATS = ("table", "json", "csv", "md", "html", "action-plan", "profile")
PLAN_AS = ("md", "csv", "html")
ALL_AREAS = "all"


def metrics_help() -> str:
    """Every figure of the report, its code and what it counts (the shipped
    policy's values written in), for ``vigil assurance --help``."""
    lines = ["Any period works: one calendar month (--from 2026-02-01 --to 2026-02-28), one "
             "week, one day, or years.", "", "Figures (code: what it counts):"]
    for definition in metric_definitions(default_policy()):
        lines += textwrap.wrap(f"{definition.code}: {definition.title}", 78,
                               initial_indent="  ", subsequent_indent="      ")
        lines += textwrap.wrap(f"numerator: {definition.numerator}", 78,
                               initial_indent="      ", subsequent_indent="        ")
        lines += textwrap.wrap(f"denominator: {definition.denominator}", 78,
                               initial_indent="      ", subsequent_indent="        ")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = metrics_help()
    parser.add_argument("--from", dest="date_from", metavar="DATE",
                        help="first day counted (YYYY-MM-DD or DD/MM/YYYY; "
                             "default: the start of the last 12 full months)")
    parser.add_argument("--to", dest="date_to", metavar="DATE",
                        help="last day counted, inclusive (default: the end of last month)")
    parser.add_argument("--area", metavar="AREA",
                        help="one area command (default force-wide; 'all' is force-wide)")
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="output format (default table); action-plan: the force's action "
                             "plan with these figures (--plan-as md|csv|html); profile: the "
                             "problem profile, one offline HTML page")
    parser.add_argument("--plan-as", choices=PLAN_AS, metavar="FORMAT",
                        help="the action plan as md, csv or html (default: from the -o file's "
                             "suffix, else md)")
    add_output_option(parser)


def _day(option: str, text: str | None) -> date | None:
    if not text:
        return None
    try:
        return parse_date(text)
    except DateError as exc:
        raise BadInput(f"assurance {option}: {exc}") from None


def period_from_args(args: argparse.Namespace, today: date) -> tuple[date, date]:
    """``[date_from, date_to)`` for the service from the inclusive options.

    Neither given: the last 12 full months before ``today``'s month. Only
    ``--to``: the 12 months ending that day. Only ``--from``: up to and
    including ``today``."""
    start = _day("--from", getattr(args, "date_from", None))
    last = _day("--to", getattr(args, "date_to", None))
    if start is None and last is None:
        return default_period(today)
    end = last + timedelta(days=1) if last is not None else today + timedelta(days=1)
    if start is None:
        start = shift_months(end, -12)
    if end <= start:
        raise BadInput(f"assurance --to {end - timedelta(days=1):%Y-%m-%d} is before "
                       f"--from {start:%Y-%m-%d}")
    return start, end


def _area(args: argparse.Namespace) -> str | None:
    area = getattr(args, "area", None)
    if area is None or area.strip().lower() == ALL_AREAS:
        return None
    return area


def build_report(env: CliEnv, args: argparse.Namespace,
                 ctx: ServiceContext | None = None) -> AssuranceReport:
    ctx = ctx or env.context()
    date_from, date_to = period_from_args(args, local(ctx.now()).date())
    return assurance_report(ctx, date_from=date_from, date_to=date_to, area=_area(args))


def render(report: AssuranceReport, fmt: str) -> str:
    if fmt == "json":
        return render_report_json(report)
    if fmt == "csv":
        return render_report_csv(report)
    if fmt == "md":
        return render_report_markdown(report)
    if fmt == "html":
        return render_report_html(report)
    return render_report_table(report)


def describe(report: AssuranceReport) -> str:
    return (f"{report.area or 'force-wide'}, reported {report.date_from:%Y-%m-%d} to "
            f"{report.last_day:%Y-%m-%d}")


def _plan_as(args: argparse.Namespace) -> str:
    chosen = getattr(args, "plan_as", None)
    if chosen:
        return str(chosen)
    suffix = str(getattr(args, "output", "") or "").rsplit(".", 1)[-1].lower()
    return suffix if suffix in PLAN_AS else "md"


def run(args: argparse.Namespace, env: CliEnv) -> int:
    ctx = env.context()
    if args.format == "action-plan":
        from app.reports.action_plan import render_plan
        from app.services.action_plan import action_plan

        date_from, date_to = period_from_args(args, local(ctx.now()).date())
        plan = action_plan(ctx, date_from=date_from, date_to=date_to)
        fmt = _plan_as(args)
        args.format = fmt
        return emit_or_disclose(ctx, args, kind="action_plan", text=render_plan(plan, fmt),
                                filter=f"action plan, figures {date_from:%Y-%m-%d} to "
                                       f"{date_to - timedelta(days=1):%Y-%m-%d}",
                                crime_refs=[], rows=len(plan.items))
    if args.format == "profile":
        from app.reports.profile_html import render_profile_html
        from app.services.profile import problem_profile

        date_from, date_to = period_from_args(args, local(ctx.now()).date())
        profile = problem_profile(ctx, date_from=date_from, date_to=date_to, area=_area(args))
        args.format = "html"
        return emit_or_disclose(ctx, args, kind="problem_profile",
                                text=render_profile_html(profile),
                                filter=f"problem profile {profile.scope}, "
                                       f"{date_from:%Y-%m-%d} to "
                                       f"{date_to - timedelta(days=1):%Y-%m-%d}",
                                crime_refs=[], rows=len(profile.sections))
    report = build_report(env, args, ctx)
    return emit_or_disclose(ctx, args, kind="assurance", text=render(report, args.format),
                            filter=describe(report), crime_refs=[], rows=len(report.results))


def export_text(env: CliEnv, args: argparse.Namespace) -> tuple[str, list[str], int]:
    """`vigil export assurance`: the report in the export's format (csv by
    default; the export command discloses it). Figures only: no case named."""
    report = build_report(env, args)
    return render(report, getattr(args, "format", None) or "csv"), [], len(report.results)
