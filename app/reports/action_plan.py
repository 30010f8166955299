"""The action plan in the layout forces publish (Rec No, Recommendation,
Evidence requirements, Owner, Response, Update), as Markdown, CSV and one
stand-alone HTML page with the trend charts.

Response is the first dated update (the force's initial response) with the
status it set; Update is each later dated update with the figures attached
to it and their definitions, then the current figures for the period asked
for. A recommendation whose published text is not loaded says so: its theme
is shown as Vigil's summary, never as the text.

The HTML opens anywhere with no network: inline CSS and SVG, no scripts, no
links, no fonts to fetch; every text is escaped.
"""

from __future__ import annotations

from datetime import date
from html import escape

from app.dates import format_local
from app.output import Column as OutColumn
from app.output import render_csv
from app.reports.assurance_html import CSS as REPORT_CSS
from app.reports.assurance_html import figures_as_of, trend_svg
from app.rules import metric_figures
from app.rules import metrics as m
from app.services.action_plan import (
    STATUS_TITLES,
    ActionPlan,
    AttachedFigure,
    PlanItem,
    PlanUpdate,
)

TITLE = "Stalking action plan"
SUMMARY_MARK = "Summary (published text not yet loaded)"


def _recommendation_text(item: PlanItem) -> str:
    if item.is_summary:
        return f"{SUMMARY_MARK}: {item.theme}"
    return item.published_text


def _status(status: str) -> str:
    return STATUS_TITLES.get(status, status)


def _day(update: PlanUpdate) -> str:
    return format_local(update.written_at)


def _figure_line(f: AttachedFigure) -> str:
    return f"{f.code} {f.title}: {f.figure} ({f.basis})"


def _current(plan: ActionPlan, item: PlanItem) -> list[metric_figures.MetricResult]:
    if plan.report is None:
        return []
    found = []
    for code in item.metrics:
        try:
            found.append(plan.report.result(code))
        except KeyError:
            continue
    return found


def _period(plan: ActionPlan) -> str:
    if plan.report is None:
        return ""
    return plan.report.describe_period()


def _banner(plan: ActionPlan) -> str:
    if plan.training:
        return "TRAINING — synthetic data, not a real force"
    if plan.evaluation:
        return "EVALUATION — sample data, not live"
    return ""


# --- Markdown ------------------------------------------------------------
def _md(text: str) -> str:
    return escape(text, quote=False).replace("|", "\\|").replace("\n", "<br>")


def render_plan_markdown(plan: ActionPlan) -> str:
    lines = [f"# {TITLE}", ""]
    if _banner(plan):
        lines += [f"**{_banner(plan)}**", ""]
    lines.append(f"Generated {format_local(plan.generated_at)} by {_md(plan.generated_by)}."
                 + (f" Current figures: cases reported {_period(plan)}." if plan.report else ""))
    lines += ["", "| Rec No | Recommendation | Evidence requirements | Owner | Response | Update |",
              "|---|---|---|---|---|---|"]
    for item in plan.items:
        first = item.updates[0] if item.updates else None
        response = (f"{_status(first.status)} ({_day(first)}): {first.response}" if first
                    else f"{_status(item.status)}: no response yet")
        later = []
        for u in item.updates[1:]:
            later.append(f"{_day(u)} · {_status(u.status)}: {u.response}")
            later += [f"• {_figure_line(f)}" for f in u.figures]
        if first and first.figures:
            later += [f"• {_figure_line(f)} (with the response)" for f in first.figures]
        for r in _current(plan, item):
            d = r.definition
            later.append(f"• now: {d.code} {d.title}: {metric_figures.format_figure(d, r.overall)} "
                         f"({metric_figures.format_basis(d, r.overall)})")
        lines.append("| " + " | ".join(_md(x) for x in (
            item.number, _recommendation_text(item), item.evidence_requirement or "—",
            item.owner or "—", response, "\n".join(later) or "—")) + " |")
    definitions = {r.definition.code: r.definition for i in plan.items for r in _current(plan, i)}
    for item in plan.items:
        for u in item.updates:
            for f in u.figures:
                definitions.setdefault(f.code, None)  # type: ignore[arg-type]
    if definitions:
        lines += ["", "## Definitions of the figures", ""]
        attached = {f.code: f.definition for i in plan.items for u in i.updates for f in u.figures}
        for code in definitions:
            d = definitions[code]
            text = d.describe() if d is not None else attached.get(code, code)
            lines += [f"- {_md(text)}"]
    return "\n".join(lines) + "\n"


# --- CSV -----------------------------------------------------------------
CSV_COLUMNS = [OutColumn(k, k) for k in (
    "rec_no", "report", "recommendation", "published_text_loaded", "evidence_requirements",
    "owner", "status", "response", "response_at", "updates", "figures_attached",
    "current_figures", "definitions")]


def render_plan_csv(plan: ActionPlan) -> str:
    rows = []
    for item in plan.items:
        first = item.updates[0] if item.updates else None
        current = _current(plan, item)
        attached = [f for u in item.updates for f in u.figures]
        rows.append({
            "rec_no": item.number, "report": item.report,
            "recommendation": _recommendation_text(item),
            "published_text_loaded": "N" if item.is_summary else "Y",
            "evidence_requirements": item.evidence_requirement, "owner": item.owner,
            "status": item.status, "response": first.response if first else "",
            "response_at": first.written_at.isoformat() if first else "",
            "updates": " || ".join(f"{u.written_at.isoformat()} {u.status}: {u.response}"
                                   for u in item.updates[1:]),
            "figures_attached": " || ".join(_figure_line(f) for f in attached),
            "current_figures": " || ".join(
                f"{r.code}: {metric_figures.format_figure(r.definition, r.overall)} "
                f"({metric_figures.format_basis(r.definition, r.overall)})" for r in current),
            "definitions": " || ".join(r.definition.describe().replace("\n", "; ")
                                       for r in current),
        })
    return render_csv(rows, CSV_COLUMNS)


# --- HTML ----------------------------------------------------------------
CSS = REPORT_CSS + """
table.plan td { font-size: 13px; }
table.plan td.rec { white-space: nowrap; font-weight: 600; }
.summary-mark { color: #8a5a00; font-style: italic; }
.update { margin: 0 0 8px; }
.update .when { color: #52606d; font-size: 12px; }
section.rec { break-inside: avoid; }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _attached_html(figures: tuple[AttachedFigure, ...]) -> str:
    if not figures:
        return ""
    rows = "".join(
        f"<tr><td><code>{_e(f.code)}</code> {_e(f.title)}<details><summary>Definition</summary>"
        f'<pre class="definition">{_e(f.definition)}</pre></details></td>'
        f'<td class="num">{_e(f.figure)}</td><td class="num">{_e(f.basis)}</td>'
        f"<td>{_e(', '.join(f'{a} {b}' for a, b in f.trend))}</td></tr>"
        for f in figures)
    return ("<table><thead><tr><th>Figure attached</th><th>Value</th><th>Basis</th>"
            f"<th>By month</th></tr></thead><tbody>{rows}</tbody></table>")


def _figures_as_of(plan: ActionPlan) -> date | None:
    return figures_as_of(plan.date_to, plan.generated_at) if plan.date_to else None


def _current_html(results: list[metric_figures.MetricResult], as_of: date | None = None) -> str:
    if not results:
        return ""
    rows = []
    for r in results:
        d = r.definition
        body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in (
            ("Numerator", d.numerator), ("Denominator", d.denominator), ("Period", d.period),
            ("Filters", d.filters), ("Unit", m.UNIT_TITLES[d.unit])))
        rows.append(
            f"<tr><td><code>{_e(d.code)}</code><br>{_e(d.title)}<details><summary>Definition"
            f'</summary><dl class="definition">{body}</dl></details></td>'
            f'<td class="num">{_e(metric_figures.format_figure(d, r.overall))}</td>'
            f'<td class="num">{_e(metric_figures.format_basis(d, r.overall))}</td>'
            f"<td>{trend_svg(r, as_of=as_of)}</td></tr>")
    return ("<table><thead><tr><th>Current figure</th><th>Value</th><th>Basis</th>"
            f"<th>Monthly trend</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _item_html(plan: ActionPlan, item: PlanItem) -> str:
    first = item.updates[0] if item.updates else None
    if item.is_summary:
        text = (f'<span class="summary-mark">{_e(SUMMARY_MARK)}:</span> {_e(item.theme)}')
    else:
        text = _e(item.published_text)
        if item.source:
            text += f'<br><span class="meta">Source: {_e(item.source)}</span>'
    if first:
        response = (f'<div class="update"><span class="when">{_e(_day(first))} · '
                    f"{_e(first.written_by)}</span><br><strong>{_e(_status(first.status))}"
                    f"</strong>: {_e(first.response)}</div>{_attached_html(first.figures)}")
    else:
        response = f"<strong>{_e(_status(item.status))}</strong>: no response yet"
    updates = "".join(
        f'<div class="update"><span class="when">{_e(_day(u))} · {_e(u.written_by)}'
        + (f" · figures for {_e(u.period[0])} to {_e(u.period[1])}" if u.period else "")
        + f"</span><br><strong>{_e(_status(u.status))}</strong>: {_e(u.response)}</div>"
        + _attached_html(u.figures)
        for u in item.updates[1:]) or "—"
    current = _current(plan, item)
    return (
        f'<section class="rec" id="rec-{_e(item.number)}">'
        f"<h2>Recommendation {_e(item.number)} ({_e(item.report)} report) · "
        f"{_e(_status(item.status))}</h2>"
        '<table class="plan"><thead><tr><th>Rec No</th><th>Recommendation</th>'
        "<th>Evidence requirements</th><th>Owner</th><th>Response</th><th>Update</th></tr>"
        f'</thead><tbody><tr><td class="rec">{_e(item.number)}</td><td>{text}</td>'
        f"<td>{_e(item.evidence_requirement or '—')}</td><td>{_e(item.owner or '—')}</td>"
        f"<td>{response}</td><td>{updates}</td></tr></tbody></table>"
        + (f"<h3>Figures now: cases reported {_e(_period(plan))}</h3>{_current_html(current, _figures_as_of(plan))}"
           if current else "")
        + "</section>")


def render_plan_html(plan: ActionPlan) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en-GB"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(TITLE)}</title>", f"<style>{CSS}</style></head><body>"]
    if _banner(plan):
        out.append(f'<p class="training">{_e(_banner(plan))}</p>')
    out.append(f"<h1>{_e(TITLE)}</h1>")
    out.append(f'<p class="meta">Generated {_e(format_local(plan.generated_at))} by '
               f"{_e(plan.generated_by)}. "
               + (f"Current figures: cases reported {_e(_period(plan))} (Europe/London days). "
                  if plan.report else "No current figures in this copy. ")
               + "Each figure's definition says exactly what is counted.</p>")
    summary_rows = "".join(
        f"<tr><td>{_e(i.number)}</td><td>{_e(i.theme)}</td><td>{_e(i.owner or '—')}</td>"
        f"<td>{_e(_status(i.status))}</td><td>{_e(_day(i.latest) if i.latest else '—')}</td>"
        f"<td>{'summary only' if i.is_summary else 'published text'}</td></tr>"
        for i in plan.items)
    out.append("<h2>Summary</h2><table><thead><tr><th>Rec No</th><th>Theme</th><th>Owner</th>"
               "<th>Status</th><th>Last update</th><th>Text</th></tr></thead>"
               f"<tbody>{summary_rows}</tbody></table>")
    out += [_item_html(plan, item) for item in plan.items]
    out.append(f"<footer>Vigil · {_e(TITLE)} · {len(plan.items)} recommendations</footer>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_plan(plan: ActionPlan, fmt: str) -> str:
    if fmt == "csv":
        return render_plan_csv(plan)
    if fmt == "html":
        return render_plan_html(plan)
    return render_plan_markdown(plan)
