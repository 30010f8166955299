"""The problem profile as one stand-alone HTML page for the strategic board:
inline CSS and SVG charts, no scripts, no links, no fonts to fetch."""

from __future__ import annotations

from html import escape

from app.dates import format_local
from app.reports.assurance_html import CSS
from app.services.profile import ProblemProfile, Section, Series

WIDTH, HEIGHT = 520, 150
PAD_L, PAD_R, PAD_T, PAD_B = 40, 8, 8, 20
COLOURS = ("#2f5d8a", "#b42318", "#1f7a3a", "#8a5a00", "#6b3fa0", "#0f766e", "#9a3412",
           "#475569", "#a3a3a3")


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _value(section: Section, value: float) -> str:
    return f"{100 * value:.1f}%" if section.unit == "share" else f"{value:,.0f}"


def _chart(section: Section, months: tuple, series: tuple[Series, ...]) -> str:  # type: ignore[type-arg]
    n = max(len(months), 1)
    top = max([v for s in series for v in s.values] + [0.0])
    top = 1.0 if section.unit == "share" and top <= 1 else (top * 1.1 or 1.0)
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    step = plot_w / n

    def x(i: int) -> float:
        return PAD_L + step * (i + 0.5)

    def y(v: float) -> float:
        return PAD_T + plot_h * (1 - min(max(v / top, 0.0), 1.0))

    parts = [f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} '
             f'{HEIGHT}" role="img" aria-label="{_e(section.title)} by month">',
             f'<line class="axis" x1="{PAD_L}" y1="{PAD_T + plot_h}" x2="{WIDTH - PAD_R}" '
             f'y2="{PAD_T + plot_h}"/>',
             f'<text x="{PAD_L - 4}" y="{PAD_T + 8}" text-anchor="end">{_e(_value(section, top))}'
             "</text>"]
    every = max(1, (n + 7) // 8)
    for i, month in enumerate(months):
        if i % every == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 4}" text-anchor="middle">'
                         f'{_e(month.strftime("%b %y"))}</text>')
    for k, s in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        if len(s.values) > 1:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                         f'points="{points}"><title>{_e(s.label)}</title></polyline>')
        for i, v in enumerate(s.values):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}">'
                         f"<title>{_e(s.label)} {_e(months[i].strftime('%B %Y'))}: "
                         f"{_e(_value(section, v))}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def _legend(series: tuple[Series, ...]) -> str:
    return "".join(f'<span style="color:{COLOURS[k % len(COLOURS)]}">■</span> {_e(s.label)} '
                   for k, s in enumerate(series))


def _section(profile: ProblemProfile, section: Section) -> str:
    trended = tuple(s for s in section.series if s.values)
    out = [f'<section id="{_e(section.key)}"><h2>{_e(section.title)}</h2>',
           f'<p class="meta">{_e(section.note)}</p>']
    if trended:
        out.append(_chart(section, profile.months, trended))
        out.append(f"<p>{_legend(trended)}</p>")
        head = "".join(f"<th>{_e(mo.strftime('%b %y'))}</th>" for mo in profile.months)
        rows = "".join(
            f"<tr><td>{_e(s.label)}</td>"
            + "".join(f'<td class="num">{_e(_value(section, v))}</td>' for v in s.values)
            + f'<td class="num"><strong>{_e(_value(section, s.total))}</strong></td></tr>'
            for s in trended)
        out.append(f"<details><summary>Figures by month</summary><table><thead><tr><th></th>"
                   f"{head}<th>Period</th></tr></thead><tbody>{rows}</tbody></table></details>")
    else:
        rows = "".join(f'<tr><td>{_e(s.label)}</td><td class="num">{_e(_value(section, s.total))}'
                       "</td></tr>" for s in section.series)
        out.append(f"<table><tbody>{rows}</tbody></table>")
    out.append("</section>")
    return "".join(out)


def render_profile_html(profile: ProblemProfile) -> str:
    title = f"Stalking and harassment problem profile · {profile.scope}"
    period = (f"{profile.date_from:%d %B %Y} to the day before {profile.date_to:%d %B %Y}")
    out = ["<!DOCTYPE html>", '<html lang="en-GB"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title>", f"<style>{CSS}</style></head><body>"]
    if profile.training:
        out.append('<p class="training">TRAINING — synthetic data, not a real force</p>')
    if profile.evaluation:
        out.append('<p class="training">EVALUATION — sample data, not live</p>')
    out.append(f"<h1>{_e(title)}</h1>")
    out.append(f'<p class="meta">Cases reported {_e(period)} (Europe/London days). Generated '
               f"{_e(format_local(profile.generated_at))} by {_e(profile.generated_by)}. "
               "Counts only: no case is named.</p>")
    out += [_section(profile, s) for s in profile.sections]
    out.append("<footer>Vigil problem profile</footer></body></html>")
    return "\n".join(out) + "\n"
