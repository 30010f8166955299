"""Assurance figures from counted rows: a :class:`Figure` (value, numerator,
denominator) and its status, format and basis; the :class:`Tally` and
:class:`Sample` rows the service gathers, summed into a :class:`MetricResult`
overall, by area, by team and by month; and the call-outs a report draws
from the results."""


from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from app.rules.metrics import (
    STATUS_ATTENTION,
    STATUS_INFO,
    STATUS_NO_DATA,
    STATUS_OK,
    MetricDefinition,
    format_value,
)


@dataclass(frozen=True)
class Figure:
    """One figure: the value in the metric's unit, with what it was computed from.

    ``denominator`` is None for a count without one. For ``hours`` the
    numerator is how many values the median was taken over."""

    numerator: int
    denominator: int | None
    value: float | None

    @property
    def empty(self) -> bool:
        return self.value is None


def figure(unit: str, numerator: int, denominator: int | None) -> Figure:
    """The figure for counts: share = n/d, rate per 100 = 100·n/d, count = n.
    A share or rate with no denominator has no value."""
    if unit == "count":
        return Figure(numerator, denominator, float(numerator))
    if not denominator:
        return Figure(numerator, denominator, None)
    if unit == "share":
        return Figure(numerator, denominator, numerator / denominator)
    if unit == "rate_per_100":
        return Figure(numerator, denominator, 100.0 * numerator / denominator)
    raise ValueError(f"unit {unit!r} is not counted (use median_figure)")


def median(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.median(found) if found else None


def median_figure(values: Sequence[float | None]) -> Figure:
    """The median of the known values; ``None`` values count in the denominator only."""
    known = [v for v in values if v is not None]
    return Figure(len(known), len(values), median(known))


def status_of(definition: MetricDefinition, result: Figure) -> str:
    if result.value is None:
        return STATUS_NO_DATA
    if definition.target is None or definition.higher_is_better is None:
        return STATUS_INFO
    if definition.higher_is_better:
        return STATUS_ATTENTION if result.value < definition.target else STATUS_OK
    return STATUS_ATTENTION if result.value > definition.target else STATUS_OK


def format_figure(definition: MetricDefinition, result: Figure) -> str:
    return format_value(definition.unit, result.value)


def format_basis(definition: MetricDefinition, result: Figure) -> str:
    """What the figure was computed from: '12 / 40', '12 of 40 acknowledged'."""
    if definition.unit == "hours":
        return f"{result.numerator} of {result.denominator or 0} acknowledged"
    if definition.unit == "days":
        return f"median of {result.numerator}"
    if result.denominator is None:
        return str(result.numerator)
    return f"{result.numerator} / {result.denominator}"


# --- counted metrics -----------------------------------------------------
@dataclass(frozen=True)
class Tally:
    """A numerator and denominator for one metric in one cell of the period."""

    area: str
    team: str
    month: int  # index into period_months
    numerator: int
    denominator: int | None = None


@dataclass(frozen=True)
class Sample:
    """One value for a median metric (None: counted in the denominator only)."""

    area: str
    team: str
    month: int
    value: float | None


def _sum_tallies(tallies: Iterable[Tally]) -> tuple[int, int | None]:
    numerator = 0
    denominator: int | None = None
    for tally in tallies:
        numerator += tally.numerator
        if tally.denominator is not None:
            denominator = (denominator or 0) + tally.denominator
    return numerator, denominator


def _grouped(items: Iterable, key: Callable) -> dict:  # type: ignore[type-arg]
    groups: dict = {}  # type: ignore[type-arg]
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def collapse(tallies: Iterable[Tally]) -> list[Tally]:
    """One tally per cell (area, team, month), summing the cell's tallies."""
    cells: dict[tuple[str, str, int], list[int | None]] = {}
    for tally in tallies:
        sums = cells.setdefault((tally.area, tally.team, tally.month), [0, None])
        sums[0] = (sums[0] or 0) + tally.numerator
        if tally.denominator is not None:
            sums[1] = (sums[1] or 0) + tally.denominator
    return [Tally(area, team, month, int(n or 0), d)
            for (area, team, month), (n, d) in cells.items()]


@dataclass(frozen=True)
class TrendPoint:
    """The figure of one month of the period."""

    month: date
    figure: Figure


@dataclass(frozen=True)
class AreaFigure:
    """The figure of one area command, and its status."""

    area: str
    figure: Figure
    status: str


@dataclass(frozen=True)
class TeamFigure:
    """The figure of one team within its area command, and its status."""

    area: str
    team: str
    figure: Figure
    status: str


@dataclass(frozen=True)
class MetricResult:
    definition: MetricDefinition
    overall: Figure
    status: str
    by_area: tuple[AreaFigure, ...] = ()
    by_team: tuple[TeamFigure, ...] = ()
    trend: tuple[TrendPoint, ...] = ()

    @property
    def code(self) -> str:
        return self.definition.code

    def for_area(self, area: str) -> AreaFigure | None:
        return next((a for a in self.by_area if a.area == area), None)

    def for_team(self, area: str, team: str) -> TeamFigure | None:
        return next((t for t in self.by_team if t.area == area and t.team == team), None)


def summarise_tallies(definition: MetricDefinition, tallies: Iterable[Tally],
                      months: Sequence[date]) -> MetricResult:
    """Overall figure, by area, by team (within its area) and per month."""
    rows = collapse(tallies)

    def make(group: Iterable[Tally]) -> Figure:
        numerator, denominator = _sum_tallies(group)
        if not definition.has_denominator:
            denominator = None
        elif denominator is None:
            denominator = 0
        return figure(definition.unit, numerator, denominator)

    return _summarise(definition, rows, months, make)


def summarise_samples(definition: MetricDefinition, samples: Iterable[Sample],
                      months: Sequence[date]) -> MetricResult:
    """The median of the samples, overall, by area, by team and per month."""
    rows = list(samples)
    return _summarise(definition, rows, months, lambda group: median_figure([s.value for s in group]))


def _summarise(definition: MetricDefinition, rows: list, months: Sequence[date],  # type: ignore[type-arg]
               make: Callable) -> MetricResult:  # type: ignore[type-arg]
    overall = make(rows)
    by_area: list[AreaFigure] = []
    by_team: list[TeamFigure] = []
    if definition.breakdown:
        areas = _grouped(rows, lambda r: r.area)
        for area in sorted(areas):
            f = make(areas[area])
            if not _blank(f):
                by_area.append(AreaFigure(area, f, status_of(definition, f)))
        teams = _grouped(rows, lambda r: (r.area, r.team))
        for area, team in sorted(teams):
            f = make(teams[(area, team)])
            if not _blank(f):
                by_team.append(TeamFigure(area, team, f, status_of(definition, f)))
    per_month = _grouped(rows, lambda r: r.month)
    trend = tuple(TrendPoint(month, make(per_month.get(i, []))) for i, month in enumerate(months))
    return MetricResult(definition, overall, status_of(definition, overall), tuple(by_area),
                        tuple(by_team), trend)


def _blank(result: Figure) -> bool:
    """Nothing counted at all: left out of a breakdown (a team with no stalking
    cases has no referral rate to show)."""
    return result.numerator == 0 and not result.denominator


# --- call-outs -----------------------------------------------------------
@dataclass(frozen=True)
class CallOut:
    """Something the report draws attention to."""

    code: str
    scope: str  # "force", "area" or "team"
    area: str | None
    team: str | None
    figure: Figure
    target: float
    message: str


def referral_call_outs(result: MetricResult, threshold: float) -> tuple[CallOut, ...]:
    """Rec 14.5: areas and teams whose stalking-victim referral rate (per 100)
    is below the policy threshold (a share, e.g. 0.6 = 60 per 100)."""
    target = 100 * threshold
    found: list[CallOut] = []
    for area in result.by_area:
        value = area.figure.value
        if value is not None and value < target:
            found.append(CallOut(
                result.code, "area", area.area, None, area.figure, target,
                f"rec 14.5: {area.area} referred {value:.1f} per 100 stalking victims "
                f"({format_basis(result.definition, area.figure)}), below {target:.0f}",
            ))
    for team in result.by_team:
        value = team.figure.value
        if value is not None and value < target:
            found.append(CallOut(
                result.code, "team", team.area, team.team, team.figure, target,
                f"rec 14.5: {team.area} · {team.team} referred {value:.1f} per 100 stalking "
                f"victims ({format_basis(result.definition, team.figure)}), below {target:.0f}",
            ))
    return tuple(found)


def attention_call_outs(results: Iterable[MetricResult], scope_area: str | None) -> tuple[CallOut, ...]:
    """Every metric whose overall figure needs attention against its target."""
    found: list[CallOut] = []
    for result in results:
        if result.status != STATUS_ATTENTION or result.definition.target is None:
            continue
        definition = result.definition
        where = scope_area or "force-wide"
        side = "below" if definition.higher_is_better else "above"
        found.append(CallOut(
            definition.code, "area" if scope_area else "force", scope_area, None, result.overall,
            definition.target,
            f"{definition.code} {definition.title}: {format_figure(definition, result.overall)} "
            f"{where} ({format_basis(definition, result.overall)}), {side} "
            f"{format_value(definition.unit, definition.target)}",
        ))
    return tuple(found)


def breakdown_rows(result: MetricResult) -> list[tuple[str, str, Figure, str]]:
    """(area, team or '', figure, status) rows: each area, then its teams."""
    rows: list[tuple[str, str, Figure, str]] = []
    for area in result.by_area:
        rows.append((area.area, "", area.figure, area.status))
        for team in result.by_team:
            if team.area == area.area:
                rows.append((team.area, team.team, team.figure, team.status))
    return rows
