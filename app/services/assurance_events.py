"""Assurance figures counted from other sources than the cases reported in
the period: protective orders, screening flags, reclassifications to
stalking, searches, and the breaches reported in the period (the one
bounded set read row by row, for the medians and escalation rules)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    case,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.policy import Policy
from app.rules import metric_figures, metric_measures, metric_periods
from app.rules import metrics as m
from app.services.assurance_sql import (
    DENOMINATOR,
    NUMERATOR,
    Period,
    Reference,
    run_core,
    team_is,
    team_name,
)
from models import (
    AuditEvent,
    Breach,
    Case,
    IncludedClassification,
    ProtectiveOrder,
    RiskAssessment,
    ScreeningFlag,
    SearchRecord,
)
from models.enums import (
    AuditAction,
    ClassificationSource,
    FlagStatus,
    OrderKind,
    OrderStatus,
    SuggestedChange,
)

SPO_KINDS = (OrderKind.SPO.value, OrderKind.ISPO.value)
GRANTED_STATUSES = (
    OrderStatus.INTERIM_GRANTED.value, OrderStatus.GRANTED.value, OrderStatus.VARIED.value,
    OrderStatus.RENEWED.value, OrderStatus.DISCHARGED.value, OrderStatus.EXPIRED.value,
)


# --- other sources -------------------------------------------------------
def spo_application_date() -> Any:
    return func.coalesce(ProtectiveOrder.applied_at, ProtectiveOrder.granted_at)


def order_part(code: str, part: str) -> ColumnElement[bool]:
    granted = or_(ProtectiveOrder.status.in_(GRANTED_STATUSES), ProtectiveOrder.granted_at.is_not(None))
    decided = or_(granted, ProtectiveOrder.status == OrderStatus.REFUSED.value)
    if code == m.R13_SPO_APPLICATIONS:
        return true()
    return granted if part == NUMERATOR else decided


def order_scope(period: Period, area: str | None, team: str | None) -> list[ColumnElement[bool]]:
    conditions = [ProtectiveOrder.kind.in_(SPO_KINDS), period.contains(spo_application_date())]
    return conditions + case_scope(area, team)


def case_scope(area: str | None, team: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if area:
        conditions.append(Case.area_command == area)
    if team is not None:
        conditions.append(team_is(Case.allocation_team, team))
    return conditions


def order_tallies(session: Session, period: Period, area: str | None) -> dict[str, list[metric_figures.Tally]]:
    month = period.month_of(spo_application_date())
    granted = order_part(m.R13_SPO_GRANT_RATE, NUMERATOR)
    decided = order_part(m.R13_SPO_GRANT_RATE, DENOMINATOR)
    inner = (
        select(Case.area_command.label("area"), Case.allocation_team.label("team"),
               month.label("month"), case((granted, 1), else_=0).label("granted"),
               case((decided, 1), else_=0).label("decided"))
        .select_from(ProtectiveOrder)
        .join(Case, Case.id == ProtectiveOrder.case_id)
        .where(*order_scope(period, area, None))
        .subquery("orders")
    )
    stmt = select(inner.c.area, inner.c.team, inner.c.month, func.count(),
                  func.sum(inner.c.granted), func.sum(inner.c.decided)
                  ).group_by(inner.c.area, inner.c.team, inner.c.month)
    applications: list[metric_figures.Tally] = []
    grants: list[metric_figures.Tally] = []
    for area_name, team, month_index, count, granted_n, decided_n in run_core(session, stmt):
        applications.append(metric_figures.Tally(area_name, team_name(team), month_index, int(count), 0))
        grants.append(metric_figures.Tally(area_name, team_name(team), month_index, int(granted_n or 0),
                              int(decided_n or 0)))
    return {m.R13_SPO_APPLICATIONS: applications, m.R13_SPO_GRANT_RATE: grants}


FLAG_STATUS = {m.R23_FLAGS_ACCEPTED: FlagStatus.ACCEPTED.value,
                m.R23_FLAGS_REJECTED: FlagStatus.REJECTED.value}


def flag_part(code: str, part: str) -> ColumnElement[bool]:
    if code in FLAG_STATUS and part == NUMERATOR:
        return ScreeningFlag.status == FLAG_STATUS[code]
    return true()


def flag_tallies(session: Session, period: Period, area: str | None) -> dict[str, list[metric_figures.Tally]]:
    inner = (
        select(Case.area_command.label("area"), Case.allocation_team.label("team"),
               period.month_of(ScreeningFlag.raised_at).label("month"),
               *[case((flag_part(code, NUMERATOR), 1), else_=0).label(code)
                 for code in FLAG_STATUS])
        .select_from(ScreeningFlag)
        .join(Case, Case.id == ScreeningFlag.case_id)
        .where(period.contains(ScreeningFlag.raised_at), *case_scope(area, None))
        .subquery("flags")
    )
    stmt = select(inner.c.area, inner.c.team, inner.c.month, func.count().label("raised"),
                  *[func.sum(inner.c[code]).label(code) for code in FLAG_STATUS]
                  ).group_by(inner.c.area, inner.c.team, inner.c.month)
    result: dict[str, list[metric_figures.Tally]] = {m.R23_FLAGS_RAISED: [], **{c: [] for c in FLAG_STATUS}}
    for row in run_core(session, stmt):
        fields = row._mapping
        area_name, team, month_index = fields["area"], team_name(fields["team"]), fields["month"]
        raised = int(fields["raised"])
        result[m.R23_FLAGS_RAISED].append(metric_figures.Tally(area_name, team, month_index, raised, None))
        for code in FLAG_STATUS:
            result[code].append(metric_figures.Tally(area_name, team, month_index, int(fields[code] or 0),
                                        raised))
    return result


def first_reclassifications(ref: Reference) -> Any:
    """Each case's first reclassification to stalking after screening."""
    events = union_all(
        select(IncludedClassification.case_id.label("case_id"),
               IncludedClassification.added_at.label("at"))
        .where(IncludedClassification.source == ClassificationSource.SCREENING.value,
               IncludedClassification.code.in_(ref.stalking)),
        select(ScreeningFlag.case_id.label("case_id"), ScreeningFlag.decided_at.label("at"))
        .join(Case, Case.id == ScreeningFlag.case_id)
        .where(ScreeningFlag.status == FlagStatus.ACCEPTED.value,
               ScreeningFlag.suggested_change == SuggestedChange.PRINCIPAL_TO_STALKING.value,
               ScreeningFlag.decided_at.is_not(None),
               Case.principal_code.in_(ref.stalking)),
    ).subquery("events")
    return (
        select(events.c.case_id, func.min(events.c.at).label("first_at"))
        .group_by(events.c.case_id)
        .subquery("reclassified")
    )


def reclassified_tallies(session: Session, ref: Reference, period: Period,
                          area: str | None) -> list[metric_figures.Tally]:
    first = first_reclassifications(ref)
    month = period.month_of(first.c.first_at)
    stmt = (
        select(Case.area_command, Case.allocation_team, month, func.count())
        .select_from(first)
        .join(Case, Case.id == first.c.case_id)
        .where(period.contains(first.c.first_at), *case_scope(area, None))
        .group_by(Case.area_command, Case.allocation_team, month)
    )
    return [metric_figures.Tally(a, team_name(t), mi, int(n), None) for a, t, mi, n in run_core(session, stmt)]


def search_tallies(session: Session, policy: Policy, period: Period,
                    area: str | None) -> list[metric_figures.Tally]:
    inner = (
        select(Case.area_command.label("area"), Case.allocation_team.label("team"),
               period.month_of(SearchRecord.conducted_at).label("month"))
        .select_from(SearchRecord)
        .join(Case, Case.id == SearchRecord.case_id)
        .where(*search_scope(policy, period, area, None))
        .subquery("searches")
    )
    stmt = select(inner.c.area, inner.c.team, inner.c.month, func.count()
                  ).group_by(inner.c.area, inner.c.team, inner.c.month)
    return [metric_figures.Tally(a, team_name(t), mi, int(n), None) for a, t, mi, n in run_core(session, stmt)]


def search_scope(policy: Policy, period: Period, area: str | None,
                  team: str | None) -> list[ColumnElement[bool]]:
    return [SearchRecord.power.in_(policy.assurance.stalking_search_powers),
            period.contains(SearchRecord.conducted_at), *case_scope(area, team)]


def classification_search_tallies(session: Session, period: Period) -> list[metric_figures.Tally]:
    """Searches by classification code recorded in the audit log (force-wide)."""
    inner = (
        select(period.month_of(AuditEvent.at).label("month"))
        .select_from(AuditEvent)
        .where(AuditEvent.entity == "search", AuditEvent.action == AuditAction.VIEW.value,
               AuditEvent.reason.like("%code=%"), period.contains(AuditEvent.at))
        .subquery("searches")
    )
    stmt = select(inner.c.month, func.count()).group_by(inner.c.month)
    return [metric_figures.Tally("", "", mi, int(n), None) for mi, n in run_core(session, stmt)]


# --- breaches ------------------------------------------------------------
def breach_records(session: Session, policy: Policy, period: Period, *, area: str | None,
                    team: str | None) -> list[tuple[int, metric_measures.BreachRecord]]:
    """Breaches reported in the period (a bounded set), with their facts."""
    crime = aliased(Case, name="breach_crime")
    original = aliased(Case, name="original_case")
    reassessed = (
        select(func.min(RiskAssessment.assessed_at))
        .where(RiskAssessment.case_id == Breach.original_case_id,
               RiskAssessment.assessed_at >= Breach.reported_at)
        .scalar_subquery()
    )
    conditions = [period.contains(Breach.reported_at)]
    if area:
        conditions.append(crime.area_command == area)
    if team is not None:
        conditions.append(team_is(crime.allocation_team, team))
    stmt = (
        select(Breach.id, Breach.breach_ref, crime.crime_ref, crime.area_command,
               crime.allocation_team, Breach.reported_at, Breach.occurred_at,
               ProtectiveOrder.kind.label("order_kind"), Breach.threats_or_violence,
               original.risk_level, Breach.acknowledged_at, Breach.escalated_at,
               Breach.manual_level, reassessed.label("reassessed_at"), original.victim_id,
               original.suspect_id)
        .select_from(Breach)
        .join(crime, crime.id == Breach.breach_case_id)
        .join(original, original.id == Breach.original_case_id)
        .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
        .where(*conditions)
        .order_by(Breach.reported_at, Breach.id)
    )
    rows = run_core(session, stmt).all()
    if not rows:
        return []
    window = timedelta(days=policy.breach.repeat_window_days)
    earliest = min(row.occurred_at for row in rows) - window
    latest = max(row.occurred_at for row in rows) + window
    pairs: dict[tuple[int, int | None], list[datetime]] = {}
    pair_stmt = (
        select(original.victim_id, original.suspect_id, Breach.occurred_at)
        .select_from(Breach)
        .join(original, original.id == Breach.original_case_id)
        .where(Breach.occurred_at >= earliest, Breach.occurred_at <= latest)
    )
    for victim_id, suspect_id, occurred_at in run_core(session, pair_stmt):
        pairs.setdefault((victim_id, suspect_id), []).append(occurred_at)
    sorted_pairs = {pair: tuple(sorted(times)) for pair, times in pairs.items()}
    records: list[tuple[int, metric_measures.BreachRecord]] = []
    for row in rows:
        month_index = metric_periods.month_index(row.reported_at, period.edges)
        records.append((row.id, metric_measures.BreachRecord(
            breach_ref=row.breach_ref, crime_ref=row.crime_ref, area=row.area_command,
            team=team_name(row.allocation_team),
            month=month_index if month_index is not None else 0, reported_at=row.reported_at,
            occurred_at=row.occurred_at, order_kind=row.order_kind,
            threats_or_violence=bool(row.threats_or_violence), risk_level=row.risk_level,
            acknowledged_at=row.acknowledged_at, escalated_at=row.escalated_at,
            manual_level=row.manual_level, reassessed_at=row.reassessed_at,
            pair_breach_times=sorted_pairs.get((row.victim_id, row.suspect_id), ()),
        )))
    return records
