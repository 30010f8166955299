"""The assurance report as one stand-alone HTML file.

A force attaches it to its action-plan update, so it must open anywhere with
no network: inline CSS, inline SVG charts drawn here, no scripts, no links,
no web fonts. Every piece of text from the database or the policy is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from html import escape

from app.dates import format_local, local
from app.reports.assurance_text import by_recommendation, status_label, title_line
from app.reports.axes import INCOMPLETE_MARK, axis_top, month_incomplete
from app.rules import metric_figures
from app.rules import metrics as m
from app.services.assurance import AssuranceReport

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       margin: 0 auto; max-width: 1180px; padding: 24px; color: #1d2733; background: #fff;
       line-height: 1.4; font-size: 14px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #2f5d8a; }
.meta { color: #52606d; margin: 0 0 16px; }
.training { background: #fff3cd; border: 1px solid #e0b100; padding: 6px 10px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid #d9e2ec; }
th { background: #f0f4f8; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
code { font-size: 12px; color: #334e68; }
.status { white-space: nowrap; font-weight: 600; }
.status.ok { color: #1f7a3a; }
.status.attention { color: #b42318; }
.status.info, .status.no-data { color: #52606d; font-weight: 400; }
.callouts li { margin: 2px 0; }
details { margin: 2px 0 0; }
summary { cursor: pointer; color: #2f5d8a; }
dl.definition { margin: 4px 0; font-size: 13px; }
dl.definition dt { font-weight: 600; float: left; clear: left; width: 110px; }
dl.definition dd { margin: 0 0 2px 116px; }
svg.chart { display: block; }
svg .axis { stroke: #9fb3c8; stroke-width: 1; }
svg .line { fill: none; stroke: #2f5d8a; stroke-width: 2; }
svg .dot { fill: #2f5d8a; }
svg .bar { fill: #2f5d8a; }
svg .line.partial { stroke-dasharray: 2 3; }
svg .dot.partial { fill: #fff; stroke: #2f5d8a; stroke-width: 1.5; }
svg .bar.partial { fill: #fff; stroke: #2f5d8a; stroke-dasharray: 2 2; }
svg .note { font-size: 9px; fill: #555; }
svg .target { stroke: #b42318; stroke-width: 1; stroke-dasharray: 4 3; }
svg text { font-size: 10px; fill: #52606d; font-family: inherit; }
footer { margin-top: 32px; color: #52606d; font-size: 12px; }
@media print { body { padding: 0; } details { display: block; } h2 { break-after: avoid; } }
"""

CHART_WIDTH = 300
CHART_HEIGHT = 96
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 38, 8, 8, 18


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _status_class(status: str) -> str:
    return status.replace(" ", "-")


def _scale_top(definition: m.MetricDefinition, values: Sequence[float]) -> float:
    """Scaled to the data from 0 (app.reports.axes), shares included."""
    return axis_top(definition.unit, values, definition.target)


def _axis_label(definition: m.MetricDefinition, value: float) -> str:
    if definition.unit == "share":
        return f"{100 * value:.0f}%"
    if definition.unit == "hours":
        return f"{value:.0f} h"
    if definition.unit == "days":
        return f"{value:.0f} d"
    return f"{value:.0f}"


def trend_svg(result: metric_figures.MetricResult, *, as_of: date | None = None) -> str:
    """A small chart of the monthly trend: a line for shares, rates and
    hours, bars for counts; the target as a dashed line. Each point carries a
    tooltip (``<title>``) with its month, figure and basis. A month not over
    on ``as_of`` (the day the figures were read to) is drawn hollow, reached
    by a dotted line, labelled ``Mon*`` and named in a note under the chart,
    so a part month is not read as a collapse."""
    definition = result.definition
    points = result.trend
    partial = [as_of is not None and month_incomplete(p.month, as_of) for p in points]
    values = [p.figure.value for p in points]
    known = [v for v in values if v is not None]
    width, height = CHART_WIDTH, CHART_HEIGHT + (12 if any(partial) else 0)
    plot_w = width - _PAD_LEFT - _PAD_RIGHT
    plot_h = CHART_HEIGHT - _PAD_TOP - _PAD_BOTTOM
    top = _scale_top(definition, known)
    n = max(len(points), 1)
    step = plot_w / n

    def x(i: int) -> float:
        return _PAD_LEFT + step * (i + 0.5)

    def y(value: float) -> float:
        return _PAD_TOP + plot_h * (1 - min(max(value / top, 0.0), 1.0))

    label = f"Monthly trend of {definition.code}: {definition.title}"
    parts = [f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{_e(label)}">']
    base_y = _PAD_TOP + plot_h
    parts.append(f'<line class="axis" x1="{_PAD_LEFT}" y1="{base_y:.1f}" '
                 f'x2="{width - _PAD_RIGHT}" y2="{base_y:.1f}"/>')
    parts.append(f'<line class="axis" x1="{_PAD_LEFT}" y1="{_PAD_TOP}" x2="{_PAD_LEFT}" '
                 f'y2="{base_y:.1f}"/>')
    parts.append(f'<text x="{_PAD_LEFT - 4}" y="{_PAD_TOP + 8}" text-anchor="end">'
                 f'{_e(_axis_label(definition, top))}</text>')
    parts.append(f'<text x="{_PAD_LEFT - 4}" y="{base_y:.1f}" text-anchor="end">'
                 f'{_e(_axis_label(definition, 0.0))}</text>')
    if definition.target is not None and definition.higher_is_better is not None \
            and 0 < definition.target <= top:
        ty = y(definition.target)
        parts.append(f'<line class="target" x1="{_PAD_LEFT}" y1="{ty:.1f}" '
                     f'x2="{width - _PAD_RIGHT}" y2="{ty:.1f}"><title>target '
                     f'{_e(m.format_value(definition.unit, definition.target))}</title></line>')
    every = max(1, (n + 5) // 6)
    for i, point in enumerate(points):
        if i % every == 0:
            mark = INCOMPLETE_MARK if partial[i] else ""
            parts.append(f'<text x="{x(i):.1f}" y="{CHART_HEIGHT - 4}" text-anchor="middle">'
                         f'{_e(point.month.strftime("%b %y"))}{mark}</text>')
    if definition.unit == "count":
        bar = max(step * 0.6, 1.0)
        for i, point in enumerate(points):
            value = point.figure.value or 0.0
            top_y = y(value)
            tip = _tip(definition, point, partial=partial[i])
            parts.append(f'<rect class="bar{" partial" if partial[i] else ""}" x="{x(i) - bar / 2:.1f}" y="{top_y:.1f}" '
                         f'width="{bar:.1f}" height="{base_y - top_y:.1f}"><title>{_e(tip)}</title>'
                         '</rect>')
    else:
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, value in enumerate(values):
            if value is None or partial[i]:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(value):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                parts.append(f'<polyline class="line" points="{" ".join(seg)}"/>')
        for i, value in enumerate(values):  # a part month: dotted from the month before
            if partial[i] and value is not None and i > 0 and values[i - 1] is not None:
                parts.append(f'<line class="line partial" x1="{x(i - 1):.1f}" '
                             f'y1="{y(values[i - 1]):.1f}" x2="{x(i):.1f}" y2="{y(value):.1f}"/>')
        for i, point in enumerate(points):
            if point.figure.value is None:
                continue
            tip = _tip(definition, point, partial=partial[i])
            parts.append(f'<circle class="dot{" partial" if partial[i] else ""}" cx="{x(i):.1f}" '
                         f'cy="{y(point.figure.value):.1f}" r="2.5"><title>{_e(tip)}</title>'
                         '</circle>')
    if not known:
        parts.append(f'<text x="{_PAD_LEFT + plot_w / 2:.1f}" y="{_PAD_TOP + plot_h / 2:.1f}" '
                     'text-anchor="middle">no data</text>')
    if any(partial):
        parts.append(f'<text class="note" x="{_PAD_LEFT}" y="{height - 2}">'
                     f'{INCOMPLETE_MARK} month not over: figures so far</text>')
    parts.append("</svg>")
    return "".join(parts)


def _tip(definition: m.MetricDefinition, point: metric_figures.TrendPoint, *, partial: bool = False) -> str:
    so_far = " (month not over: so far)" if partial else ""
    return (f"{point.month:%B %Y}{so_far}: {metric_figures.format_figure(definition, point.figure)} "
            f"({metric_figures.format_basis(definition, point.figure)})")


def _definition(definition: m.MetricDefinition) -> str:
    rows = [("Numerator", definition.numerator), ("Denominator", definition.denominator),
            ("Period", definition.period), ("Filters", definition.filters),
            ("Unit", m.UNIT_TITLES[definition.unit])]
    if definition.target is not None:
        side = "below" if definition.higher_is_better else "above"
        rows.append(("Attention", f"{side} {m.format_value(definition.unit, definition.target)}"))
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
    return f'<details><summary>Definition</summary><dl class="definition">{body}</dl></details>'


def _status(status: str) -> str:
    return f'<span class="status {_e(_status_class(status))}">{_e(status_label(status))}</span>'


def figures_as_of(date_to: date, generated_at: datetime) -> date:
    """The day a report's figures run to: the period's end, or the day it was
    generated when that is earlier (a month after it is not over)."""
    return min(date_to, local(generated_at).date())


def _metric_table(results: Sequence[metric_figures.MetricResult], as_of: date | None = None) -> str:
    rows = []
    for r in results:
        d = r.definition
        rows.append(
            "<tr>"
            f"<td><code>{_e(d.code)}</code><br>{_e(d.title)}{_definition(d)}</td>"
            f'<td class="num">{_e(metric_figures.format_figure(d, r.overall))}</td>'
            f'<td class="num">{_e(metric_figures.format_basis(d, r.overall))}</td>'
            f"<td>{_status(r.status)}</td>"
            f"<td>{trend_svg(r, as_of=as_of)}</td>"
            "</tr>"
        )
    return ("<table><thead><tr><th>Metric</th><th>Figure</th><th>Basis</th><th>Status</th>"
            "<th>Monthly trend</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _area_table(results: Sequence[metric_figures.MetricResult]) -> str:
    """Areas (rows) against the recommendation's metrics (columns), with the
    teams of each area in a collapsible section below."""
    broken = [r for r in results if r.definition.breakdown and r.by_area]
    if not broken:
        return ""
    areas = sorted({a.area for r in broken for a in r.by_area})
    head = "".join(f"<th>{_e(r.definition.code)}</th>" for r in broken)
    body = []
    for area in areas:
        cells = []
        for r in broken:
            found = r.for_area(area)
            cells.append(_cell(r.definition, found.figure if found else None,
                               found.status if found else m.STATUS_NO_DATA))
        body.append(f"<tr><td>{_e(area)}</td>{''.join(cells)}</tr>")
    table = (f"<table><thead><tr><th>Area command</th>{head}</tr></thead>"
             f"<tbody>{''.join(body)}</tbody></table>")
    teams = sorted({(t.area, t.team) for r in broken for t in r.by_team})
    team_rows = []
    for area, team in teams:
        cells = []
        for r in broken:
            found_team = r.for_team(area, team)
            cells.append(_cell(r.definition, found_team.figure if found_team else None,
                               found_team.status if found_team else m.STATUS_NO_DATA))
        team_rows.append(f"<tr><td>{_e(area)} · {_e(team)}</td>{''.join(cells)}</tr>")
    team_table = (f"<details><summary>By team ({len(teams)})</summary><table><thead><tr>"
                  f"<th>Team</th>{head}</tr></thead><tbody>{''.join(team_rows)}</tbody></table>"
                  "</details>")
    return table + team_table


def _cell(definition: m.MetricDefinition, figure: metric_figures.Figure | None, status: str) -> str:
    if figure is None:
        return '<td class="num">—</td>'
    tip = metric_figures.format_basis(definition, figure)
    return (f'<td class="num" title="{_e(tip)}"><span class="status {_e(_status_class(status))}">'
            f"{_e(metric_figures.format_figure(definition, figure))}</span></td>")


def render_report_html(report: AssuranceReport) -> str:
    """One stand-alone HTML page: call-outs, then a section per recommendation
    with its figures, definitions, trend charts and breakdown by area and team."""
    title = title_line(report)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style></head><body>",
    ]
    if report.training:
        out.append('<p class="training">TRAINING — synthetic data, not a real force</p>')
    if report.evaluation:
        out.append('<p class="training">EVALUATION — sample data, not live</p>')
    out.append(f"<h1>{_e(title)}</h1>")
    out.append(
        f'<p class="meta">Cases reported from {_e(report.describe_period())} inclusive '
        "(Europe/London days), "
        f"{_e(report.scope)}. Generated {_e(format_local(report.generated_at))} by "
        f"{_e(report.generated_by)}. Policy: {_e(report.policy_source)}. Each figure is "
        "computed from the case records; the definition under each metric says exactly "
        "what is counted.</p>"
    )
    out.append("<h2>Call-outs</h2>")
    if report.call_outs:
        out.append('<ul class="callouts">'
                   + "".join(f"<li>{_e(c.message)}</li>" for c in report.call_outs) + "</ul>")
    else:
        out.append("<p>No figure is below its target and no area or team is below the "
                   "referral threshold.</p>")
    for recommendation, results in by_recommendation(report):
        heading = m.RECOMMENDATIONS.get(recommendation, recommendation)
        out.append(f'<section id="rec-{_e(recommendation)}"><h2>{_e(heading)}</h2>')
        out.append(_metric_table(results, figures_as_of(report.date_to, report.generated_at)))
        out.append(_area_table(results))
        out.append("</section>")
    out.append(f"<footer>Vigil assurance report · {_e(report.scope)} · "
               f"{_e(report.describe_period())} · months: "
               f"{_e(', '.join(mo.strftime('%b %Y') for mo in report.months))}</footer>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
