"""The assurance report as JSON, CSV, Markdown and a terminal table.

The same :class:`AssuranceReport` the screen shows; HTML (with charts) is in
:mod:`app.reports.assurance_html`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from app.dates import format_local
from app.output import render_json
from app.rules import metric_figures
from app.rules import metrics as m
from app.sanitise import CsvWriter, escape_markup, neutralise_formula
from app.services.assurance import AssuranceReport

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """A one-line trend: ▁▃▅█ (· where a month has no value)."""
    known = [v for v in values if v is not None]
    if not known:
        return "·" * len(values)
    low, high = min(known), max(known)
    span = high - low
    out = []
    for value in values:
        if value is None:
            out.append("·")
        elif span == 0:
            out.append(SPARKS[3] if high else SPARKS[0])
        else:
            out.append(SPARKS[round((value - low) / span * (len(SPARKS) - 1))])
    return "".join(out)


def trend_values(result: metric_figures.MetricResult) -> list[float | None]:
    return [p.figure.value for p in result.trend]


def status_label(status: str) -> str:
    return {m.STATUS_OK: "on target", m.STATUS_ATTENTION: "needs attention",
            m.STATUS_INFO: "for context", m.STATUS_NO_DATA: "no data"}.get(status, status)


def title_line(report: AssuranceReport) -> str:
    training = " — TRAINING (synthetic data)" if report.training else ""
    if report.evaluation:
        training = " — EVALUATION (sample data, not live)"
    return (f"Stalking assurance: {report.scope}, {report.describe_period()}{training}")


def _figure_json(figure: metric_figures.Figure) -> dict[str, Any]:
    return {"numerator": figure.numerator, "denominator": figure.denominator,
            "value": figure.value}


def report_payload(report: AssuranceReport) -> dict[str, Any]:
    """Everything in the report, for machines."""
    return {
        "title": title_line(report),
        "period": {"from": report.date_from, "to_exclusive": report.date_to,
                   "last_day": report.last_day, "timezone": "Europe/London"},
        "area": report.area,
        "generated_at": report.generated_at,
        "generated_by": report.generated_by,
        "training": report.training,
        "evaluation": report.evaluation,
        "policy": report.policy_source,
        "months": list(report.months),
        "call_outs": [
            {"code": c.code, "scope": c.scope, "area": c.area, "team": c.team,
             "figure": _figure_json(c.figure), "target": c.target, "message": c.message}
            for c in report.call_outs
        ],
        "metrics": [
            {
                "code": r.code,
                "recommendation": r.definition.recommendation,
                "title": r.definition.title,
                "unit": r.definition.unit,
                "status": r.status,
                "overall": _figure_json(r.overall),
                "definition": {
                    "numerator": r.definition.numerator,
                    "denominator": r.definition.denominator,
                    "period": r.definition.period,
                    "filters": r.definition.filters,
                    "higher_is_better": r.definition.higher_is_better,
                    "target": r.definition.target,
                },
                "by_area": [{"area": a.area, "status": a.status, **_figure_json(a.figure)}
                            for a in r.by_area],
                "by_team": [{"area": t.area, "team": t.team, "status": t.status,
                             **_figure_json(t.figure)} for t in r.by_team],
                "trend": [{"month": p.month, **_figure_json(p.figure)} for p in r.trend],
            }
            for r in report.results
        ],
    }


def render_report_json(report: AssuranceReport) -> str:
    return render_json(report_payload(report))


CSV_COLUMNS = ("code", "recommendation", "title", "unit", "scope", "area", "team", "month",
               "value", "numerator", "denominator", "status")


def render_report_csv(report: AssuranceReport) -> str:
    """One row per figure: the overall figure, each area, each team, each month."""
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.writerow(CSV_COLUMNS)
    overall_scope = "area" if report.area else "force"

    def row(d: m.MetricDefinition, scope: str, area: str, team: str, month: str, f: metric_figures.Figure,
            status: str) -> None:
        value = "" if f.value is None else f"{f.value:.6g}"
        denominator = "" if f.denominator is None else f.denominator
        writer.writerow([neutralise_formula(str(v)) for v in (
            d.code, d.recommendation, d.title, d.unit, scope, area, team, month,
            value, f.numerator, denominator, status)])

    for r in report.results:
        d = r.definition
        row(d, overall_scope, report.area or "", "", "", r.overall, r.status)
        for a in r.by_area:
            row(d, "area", a.area, "", "", a.figure, a.status)
        for t in r.by_team:
            row(d, "team", t.area, t.team, "", t.figure, t.status)
        for p in r.trend:
            row(d, "month", report.area or "", "", p.month.strftime("%Y-%m"), p.figure,
                metric_figures.status_of(d, p.figure))
    return buffer.getvalue()


def _md(text: str) -> str:
    return escape_markup(text).replace("|", "\\|").replace("\n", " ")


def render_report_markdown(report: AssuranceReport) -> str:
    lines = [f"# {title_line(report)}", ""]
    lines.append(f"Cases reported from {report.date_from:%d/%m/%Y} to {report.last_day:%d/%m/%Y} "
                 f"inclusive (Europe/London). Generated {format_local(report.generated_at)} by "
                 f"{_md(report.generated_by)}; policy: {_md(report.policy_source)}.")
    lines.append("")
    lines.append("## Call-outs")
    lines.append("")
    if report.call_outs:
        lines += [f"- {_md(c.message)}" for c in report.call_outs]
    else:
        lines.append("- none")
    lines.append("")
    months = " ".join(p.strftime("%b") for p in report.months)
    for recommendation, results in by_recommendation(report):
        lines += [f"## {_md(m.RECOMMENDATIONS.get(recommendation, recommendation))}", ""]
        lines.append(f"| Code | Metric | Figure | Basis | Status | Trend ({months}) |")
        lines.append("|---|---|---|---|---|---|")
        for r in results:
            d = r.definition
            lines.append(
                f"| {d.code} | {_md(d.title)} | {metric_figures.format_figure(d, r.overall)} | "
                f"{metric_figures.format_basis(d, r.overall)} | {status_label(r.status)} | "
                f"{sparkline(trend_values(r))} |"
            )
        lines.append("")
        for r in results:
            d = r.definition
            lines.append(f"**{d.code}: {_md(d.title)}.** Numerator: {_md(d.numerator)}. "
                         f"Denominator: {_md(d.denominator)}. Period: {_md(d.period)}. "
                         f"Filters: {_md(d.filters)}.")
            lines.append("")
            if r.by_area:
                lines.append("| Area | Figure | Basis | Status |")
                lines.append("|---|---|---|---|")
                for a in r.by_area:
                    lines.append(f"| {_md(a.area)} | {metric_figures.format_figure(d, a.figure)} | "
                                 f"{metric_figures.format_basis(d, a.figure)} | {status_label(a.status)} |")
                lines.append("")
    return "\n".join(lines)


def by_recommendation(report: AssuranceReport) -> list[tuple[str, list[metric_figures.MetricResult]]]:
    """The results grouped by recommendation, in report order."""
    groups: dict[str, list[metric_figures.MetricResult]] = {}
    for r in report.results:
        groups.setdefault(r.definition.recommendation, []).append(r)
    return list(groups.items())


def render_report_table(report: AssuranceReport, width: int = 160) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title_line(report), header_style="bold", expand=False)
    for name, column_width in (("Rec", 6), ("Code", 26), ("Metric", 52), ("Figure", 14),
                               ("Basis", 18), ("Status", 15), ("Trend", 14)):
        table.add_column(name, max_width=column_width, overflow="fold")
    for r in report.results:
        d = r.definition
        table.add_row(d.recommendation, d.code, d.title, metric_figures.format_figure(d, r.overall),
                      metric_figures.format_basis(d, r.overall), status_label(r.status),
                      sparkline(trend_values(r)))
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(table)
    if report.call_outs:
        console.print("Call-outs:")
        for c in report.call_outs:
            console.print(f"  - {c.message}", markup=False, highlight=False)
    return console.export_text()
