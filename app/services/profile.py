"""The problem profile for the force's strategic board: volumes and trends by
area, team and classification, repeat victims and suspects, the online
share, breaches and SPO use, for cases reported in a period.

Figures only (no case is named); every count is a ``GROUP BY`` over the
period's cases, breaches or orders, per calendar month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select
from sqlmodel import Session

from app.rules import metrics as m
from app.services.assurance_events import GRANTED_STATUSES, SPO_KINDS
from app.services.assurance_sql import check_area, report_period
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import Breach, Case, ProtectiveOrder
from models.enums import AuditAction


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float, ...]  # one per month
    total: float


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    note: str
    unit: str  # "count" or "share"
    series: tuple[Series, ...]


@dataclass(frozen=True)
class ProblemProfile:
    date_from: date
    date_to: date
    area: str | None
    months: tuple[date, ...]
    generated_at: datetime
    generated_by: str
    training: bool
    evaluation: bool
    sections: tuple[Section, ...]

    @property
    def scope(self) -> str:
        return self.area or "force-wide"


def _counts(rows: list[tuple[int, str, int]], months: int, top: int | None = None) -> tuple[Series, ...]:
    by_label: dict[str, list[float]] = {}
    for month, label, count in rows:
        by_label.setdefault(label or m.UNALLOCATED, [0.0] * months)[int(month)] += count
    ordered = sorted(by_label.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    if top is not None and len(ordered) > top:
        rest = [0.0] * months
        for _, values in ordered[top:]:
            rest = [a + b for a, b in zip(rest, values, strict=True)]
        ordered = [*ordered[:top], ("others", rest)]
    return tuple(Series(label, tuple(values), sum(values)) for label, values in ordered)


def _share(numerators: list[float], denominators: list[float], label: str) -> Series:
    values = tuple(n / d if d else 0.0 for n, d in zip(numerators, denominators, strict=True))
    total_d = sum(denominators)
    return Series(label, values, sum(numerators) / total_d if total_d else 0.0)


def problem_profile(ctx: ServiceContext, *, date_from: date, date_to: date,
                    area: str | None = None) -> ProblemProfile:
    ctx.require(Permission.VIEW_ASSURANCE, area=area, entity="problem_profile")
    period = report_period(date_from, date_to)
    n = len(period.months)
    with ctx.read() as session:
        area = check_area(session, area, ctx.policy)
        sections = _sections(session, period, area, n)
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, "problem_profile", None,
                  reason=f"problem profile {date_from.isoformat()} to {date_to.isoformat()} "
                         f"(first day not counted), {area or 'force-wide'}")
    return ProblemProfile(date_from, date_to, area, period.months, ctx.now(),
                          ctx.actor.display_name, ctx.training, ctx.evaluation, sections)


def _sections(session: Session, period, area: str | None, n: int) -> tuple[Section, ...]:  # type: ignore[no-untyped-def]
    month = period.month_of(Case.reported_at)
    scope = [period.contains(Case.reported_at)]
    if area:
        scope.append(Case.area_command == area)

    def grouped(column) -> list[tuple[int, str, int]]:  # type: ignore[no-untyped-def]
        return [(int(a), b, int(c)) for a, b, c in session.execute(
            select(month, column, func.count()).where(*scope).group_by(month, column))]

    by_area = _counts(grouped(Case.area_command), n)
    by_team = _counts(grouped(Case.allocation_team), n)
    by_class = _counts(grouped(Case.principal_code), n, top=8)
    totals = [sum(s.values[i] for s in by_area) for i in range(n)]
    online = [0.0] * n
    for mo, count in session.execute(select(month, func.count()).where(
            *scope, Case.online.is_(True)).group_by(month)):
        online[int(mo)] += count

    def repeats(column) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        """(people named on 2 or more of the period's crimes, people named)"""
        per_person = (select(column.label("person"), func.count().label("crimes"))
                      .where(*scope, column.is_not(None)).group_by(column).subquery())
        people, repeated = session.execute(select(
            func.count(), func.sum(case((per_person.c.crimes >= 2, 1), else_=0)))).one()
        return float(repeated or 0), float(people or 0)

    victims_repeat, victims = repeats(Case.victim_id)
    suspects_repeat, suspects = repeats(Case.suspect_id)
    breach_month = period.month_of(Breach.reported_at)
    crime = Case
    breach_scope = [period.contains(Breach.reported_at)]
    if area:
        breach_scope.append(crime.area_command == area)
    breaches = [0.0] * n
    for mo, count in session.execute(
            select(breach_month, func.count()).select_from(Breach)
            .join(crime, crime.id == Breach.breach_case_id)
            .where(*breach_scope).group_by(breach_month)):
        breaches[int(mo)] += count
    applied_at = func.coalesce(ProtectiveOrder.applied_at, ProtectiveOrder.granted_at)
    order_month = period.month_of(applied_at)
    order_scope = [ProtectiveOrder.kind.in_(SPO_KINDS), period.contains(applied_at)]
    if area:
        order_scope.append(Case.area_command == area)
    applied = [0.0] * n
    granted = [0.0] * n
    for mo, count, won in session.execute(
            select(order_month, func.count(),
                   func.sum(case((ProtectiveOrder.status.in_(GRANTED_STATUSES), 1), else_=0)))
            .select_from(ProtectiveOrder).join(Case, Case.id == ProtectiveOrder.case_id)
            .where(*order_scope).group_by(order_month)):
        applied[int(mo)] += count
        granted[int(mo)] += int(won or 0)
    return (
        Section("area", "Crimes reported by area command", "cases reported each month",
                "count", by_area),
        Section("team", "Crimes reported by allocated team", "current allocation; "
                f"'{m.UNALLOCATED}' when none", "count", by_team),
        Section("classification", "Crimes reported by principal classification",
                "the eight largest classes, then the others", "count", by_class),
        Section("online", "Online share", "cases flagged online, of all reported", "share",
                (_share(online, totals, "online"),)),
        Section("breaches", "Breaches of orders reported", "breaches reported each month, and "
                "per 100 crimes reported", "count",
                (Series("breaches", tuple(breaches), sum(breaches)),
                 Series("per 100 crimes", tuple(100 * b / t if t else 0.0
                                                for b, t in zip(breaches, totals, strict=True)),
                        100 * sum(breaches) / sum(totals) if sum(totals) else 0.0))),
        Section("spo", "Stalking Protection Orders", "SPO and interim SPO applications each "
                "month, and those granted", "count",
                (Series("applications", tuple(applied), sum(applied)),
                 Series("granted", tuple(granted), sum(granted)))),
        Section("repeat", "Repeat victims and repeat suspects",
                "people named on two or more crimes reported in the period", "count",
                (Series("repeat victims", (), victims_repeat),
                 Series("victims", (), victims),
                 Series("repeat suspects", (), suspects_repeat),
                 Series("suspects", (), suspects))),
    )
