"""Honest chart axes: scaled to the data, from 0, never below it; months not
over are marked."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from app.reports.axes import axis_top, month_incomplete, month_label


def test_a_small_share_is_not_drawn_on_a_full_axis() -> None:
    assert abs(axis_top("share", [0.04, 0.09, None]) - 0.099) < 1e-9


def test_the_target_stays_on_the_axis_and_shares_stop_at_100() -> None:
    assert abs(axis_top("share", [0.2], target=0.5) - 0.55) < 1e-9
    assert axis_top("share", [0.97]) == 1.0


def test_no_data_or_only_zeros_gives_a_unit_axis() -> None:
    assert axis_top("count", []) == 1.0 and axis_top("count", [0.0, None]) == 1.0


@given(st.lists(st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6)), max_size=24),
       st.sampled_from(["share", "count", "rate_per_100", "hours"]))
def test_the_axis_holds_every_point_and_is_positive(values: list[float | None], unit: str) -> None:
    top = axis_top(unit, values)
    assert top > 0
    for value in values:
        if value is not None and value > 0 and not (unit == "share" and value > 1):
            assert value <= top


def test_the_running_month_is_marked() -> None:
    today = date(2026, 3, 2)
    assert month_incomplete(date(2026, 3, 1), today)
    assert not month_incomplete(date(2026, 2, 1), today)
    assert month_incomplete(date(2026, 12, 1), date(2026, 12, 31))
    assert month_label(date(2026, 3, 1), today) == "Mar*"
    assert month_label(date(2026, 2, 1), today) == "Feb"


def _result(unit_code: str = "R7_STALKING_INCLUDED"):  # type: ignore[no-untyped-def]
    from app.policy import load_policy
    from app.rules import metric_figures
    from app.rules import metrics as m

    definition = m.definitions_by_code(load_policy())[unit_code]
    trend = tuple(metric_figures.TrendPoint(date(2026, month, 1), metric_figures.Figure(n, 20, n / 20))
                  for month, n in ((1, 5), (2, 6), (3, 1)))
    return metric_figures.MetricResult(definition=definition, overall=metric_figures.Figure(12, 60, 0.2), status="ok",
                          trend=trend)


def test_the_report_chart_marks_a_month_not_over_and_does_not_draw_it_as_a_fall() -> None:
    from app.reports.assurance_html import figures_as_of, trend_svg

    svg = trend_svg(_result(), as_of=date(2026, 3, 2))
    assert "Mar 26*" in svg and "month not over" in svg
    assert svg.count('class="dot partial"') == 1 and 'class="line partial"' in svg
    solid = svg.split('<polyline class="line" points="')[1].split('"')[0]
    assert len(solid.split()) == 2  # January and February only: March is dotted
    whole = trend_svg(_result(), as_of=date(2026, 4, 1))  # March over
    assert "*" not in whole and "partial" not in whole.split("</style>")[-1]
    # a report generated on 2 March for a period to 1 April reads to 2 March
    from datetime import UTC, datetime
    assert figures_as_of(date(2026, 4, 1), datetime(2026, 3, 2, 9, tzinfo=UTC)) == date(2026, 3, 2)
    assert figures_as_of(date(2026, 3, 1), datetime(2026, 3, 2, 9, tzinfo=UTC)) == date(2026, 3, 1)
