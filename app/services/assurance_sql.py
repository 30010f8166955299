"""SQL building blocks shared by the assurance figures and their drill-downs:
plain Core rows, the period as UTC instants with each month as a balanced
``CASE``, the classification codes by what the metrics ask of them, the
area asked about, and how an allocation team is matched and named."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    literal,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlmodel import Session

from app.errors import BadInput
from app.policy import Policy
from app.rules import metric_periods
from app.rules import metrics as m
from models import (
    Case,
    Classification,
)
from seed.reference import force_organisation

MAX_PERIOD_DAYS = 366 * 10

# the two parts of a figure a drill-down lists
NUMERATOR = "numerator"
DENOMINATOR = "denominator"


def run_core(session: Session, stmt: Any) -> Any:
    """Run a Core statement on the session's connection: plain rows, without
    the ORM's result machinery (these queries return tuples, never objects)."""
    return session.connection().execute(stmt)


class unindexed(ColumnElement[Any]):
    """A column that SQLite will not look up through an index (``+column``):
    where reading the whole table in id order is faster than a range of an
    index. Other engines read it as the plain column."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(unindexed)
def _plain(element: unindexed, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(unindexed, "sqlite")
def _unary_plus(element: unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


def stepped(column: Any, edges: Sequence[datetime], values: Sequence[Any], type_: Any) -> Any:
    """``values[i]`` where ``edges[i] <= column < edges[i+1]``, as a balanced
    ``CASE`` (about log2(n) comparisons a row). ``column`` is assumed inside
    ``[edges[0], edges[len(values)])``: callers filter to the period."""
    if len(values) == 1:
        return literal(values[0], type_)
    middle = len(values) // 2
    return case(
        (column < edges[middle], stepped(column, edges[:middle], values[:middle], type_)),
        else_=stepped(column, edges[middle:], values[middle:], type_),
    )


@dataclass(frozen=True)
class Period:
    date_from: date
    date_to: date
    start: datetime
    end: datetime
    months: tuple[date, ...]
    edges: tuple[datetime, ...]

    def month_of(self, column: Any) -> Any:
        return stepped(column, self.edges, list(range(len(self.months))), Integer())

    def contains(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)


def report_period(date_from: date, date_to: date) -> Period:
    try:
        metric_periods.check_period(date_from, date_to)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise BadInput(f"the period {date_from.isoformat()} to {date_to.isoformat()} is longer "
                       "than ten years: choose a shorter one")
    start, end = metric_periods.period_bounds(date_from, date_to)
    return Period(date_from, date_to, start, end, metric_periods.period_months(date_from, date_to),
                   metric_periods.month_edges(date_from, date_to))


@dataclass(frozen=True)
class Reference:
    """Classification codes by what the metrics ask of them."""

    stalking: tuple[str, ...]
    stalking_or_harassment: tuple[str, ...]
    by_family: dict[str, tuple[str, ...]]


def reference_codes(session: Session) -> Reference:
    rows = run_core(session,
        select(Classification.code, Classification.family, Classification.is_stalking)
    ).all()
    by_family: dict[str, list[str]] = {}
    for code, family, _ in rows:
        by_family.setdefault(family, []).append(code)
    stalking = tuple(sorted(code for code, _, is_stalking in rows if is_stalking))
    sh = tuple(sorted(set(stalking) | set(by_family.get("stalking", ()))
                      | set(by_family.get("harassment", ()))))
    return Reference(stalking, sh, {k: tuple(sorted(v)) for k, v in by_family.items()})


def check_area(session: Session, area: str | None, policy: Policy) -> str | None:
    if area is None or not area.strip():
        return None
    wanted = area.strip()
    known = force_organisation(policy).area_commands
    for name in known:
        if name.lower() == wanted.lower():
            return name
    if run_core(session, select(Case.id).where(Case.area_command == wanted).limit(1)).first():
        return wanted
    raise BadInput(f"area command {wanted!r} is not known: choose one of {', '.join(known)}")


def team_is(column: Any, team: str) -> ColumnElement[bool]:
    return column.is_(None) if team == m.UNALLOCATED else column == team


def team_name(team: str | None) -> str:
    return team or m.UNALLOCATED
