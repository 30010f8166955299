"""Assurance: how the force meets the stalking recommendations, measured from
case data, for a period, by area command and team, with a monthly trend; and
the cases behind any figure.

Every figure comes from SQL aggregates (``GROUP BY`` month, area and team);
:mod:`app.rules.metrics` turns the rows into figures. Breaches reported in the period are the one bounded set
read row by row: the median time to acknowledgement and the escalation rules
need each breach.

Months and the Victims' Code deadlines are Europe/London calendar days turned
into UTC instants here and compared in SQL as bound parameters (a balanced
``CASE`` over the boundaries), so the same statements run on SQLite and
PostgreSQL.

The drill-down (:func:`metric_cases`) uses the very conditions the figures
are summed from, so the number of cases behind a figure is its numerator.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.errors import BadInput
from app.policy import Policy
from app.rules import metric_figures, metric_measures, metric_periods
from app.rules import metrics as m
from app.services import assurance_more
from app.services.audit_trail import audit_naming
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import (
    Allocation,
    AuditEvent,
    Breach,
    Case,
    Classification,
    IncludedClassification,
    MultiAgencyReferral,
    PerpetratorReferral,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    ScreeningFlag,
    SearchRecord,
    VictimCare,
)
from models.enums import (
    AuditAction,
    ClassificationSource,
    FlagStatus,
    OrderKind,
    OrderStatus,
    RiskLevel,
    SpoStatus,
    SuggestedChange,
)
from models.types import UTCDateTime
from seed.reference import force_organisation

MAX_PAGE_SIZE = 500
MAX_PERIOD_DAYS = 366 * 10

SPO_KINDS = (OrderKind.SPO.value, OrderKind.ISPO.value)
GRANTED_STATUSES = (
    OrderStatus.INTERIM_GRANTED.value, OrderStatus.GRANTED.value, OrderStatus.VARIED.value,
    OrderStatus.RENEWED.value, OrderStatus.DISCHARGED.value, OrderStatus.EXPIRED.value,
)

NUMERATOR = "numerator"
DENOMINATOR = "denominator"


# --- results -------------------------------------------------------------
@dataclass(frozen=True)
class AssuranceReport:
    """Figures for every metric in the period (force-wide or one area)."""

    date_from: date
    date_to: date  # first day not counted
    area: str | None
    generated_at: datetime
    generated_by: str
    training: bool
    months: tuple[date, ...]
    results: tuple[metric_figures.MetricResult, ...]
    call_outs: tuple[metric_figures.CallOut, ...]
    definitions: tuple[m.MetricDefinition, ...]
    areas: tuple[str, ...]  # the force's area commands (to choose from)
    policy_source: str = "defaults"
    # an evaluation database (sample data): every output says so
    evaluation: bool = False

    @property
    def last_day(self) -> date:
        """The last day counted (the period is ``[date_from, date_to)``)."""
        return self.date_to - timedelta(days=1)

    @property
    def scope(self) -> str:
        return self.area or "force-wide"

    def describe_period(self) -> str:
        """'1 March 2025 to 28 February 2026' (both days counted)."""
        return f"{_long_date(self.date_from)} to {_long_date(self.last_day)}"

    def result(self, code: str) -> metric_figures.MetricResult:
        for result in self.results:
            if result.code == code:
                return result
        raise KeyError(code)


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class MetricCaseRow:
    """One row behind a figure: a crime (and, for breaches, orders, flags and
    searches, which one)."""

    crime_ref: str
    reported_at: datetime
    area: str
    team: str
    detail: str = ""


@dataclass(frozen=True)
class MetricCases:
    metric_code: str
    title: str
    part: str
    date_from: date
    date_to: date
    area: str | None
    team: str | None
    month: date | None
    total: int
    page: int
    page_size: int
    rows: tuple[MetricCaseRow, ...]

    @property
    def has_more(self) -> bool:
        return (self.page + 1) * self.page_size < self.total

    def describe(self) -> str:
        where = " · ".join(x for x in (self.area, self.team) if x) or "force-wide"
        when = f"{self.month:%B %Y}" if self.month else (
            f"{self.date_from:%d/%m/%Y}–{(self.date_to - timedelta(days=1)):%d/%m/%Y}"
        )
        return f"{self.metric_code} {self.part}: {where}, {when}"


# --- SQL building blocks -------------------------------------------------
def _run(session: Session, stmt: Any) -> Any:
    """Run a Core statement on the session's connection: plain rows, without
    the ORM's result machinery (these queries return tuples, never objects)."""
    return session.connection().execute(stmt)


def _step(column: Any, edges: Sequence[datetime], values: Sequence[Any], type_: Any) -> Any:
    """``values[i]`` where ``edges[i] <= column < edges[i+1]``, as a balanced
    ``CASE`` (about log2(n) comparisons a row). ``column`` is assumed inside
    ``[edges[0], edges[len(values)])``: callers filter to the period."""
    if len(values) == 1:
        return literal(values[0], type_)
    middle = len(values) // 2
    return case(
        (column < edges[middle], _step(column, edges[:middle], values[:middle], type_)),
        else_=_step(column, edges[middle:], values[middle:], type_),
    )


@dataclass(frozen=True)
class _Period:
    date_from: date
    date_to: date
    start: datetime
    end: datetime
    months: tuple[date, ...]
    edges: tuple[datetime, ...]

    def month_of(self, column: Any) -> Any:
        return _step(column, self.edges, list(range(len(self.months))), Integer())

    def contains(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)


def _period(date_from: date, date_to: date) -> _Period:
    try:
        metric_periods.check_period(date_from, date_to)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise BadInput(f"the period {date_from.isoformat()} to {date_to.isoformat()} is longer "
                       "than ten years: choose a shorter one")
    start, end = metric_periods.period_bounds(date_from, date_to)
    return _Period(date_from, date_to, start, end, metric_periods.period_months(date_from, date_to),
                   metric_periods.month_edges(date_from, date_to))


@dataclass(frozen=True)
class _Reference:
    """Classification codes by what the metrics ask of them."""

    stalking: tuple[str, ...]
    stalking_or_harassment: tuple[str, ...]
    by_family: dict[str, tuple[str, ...]]


def _reference(session: Session) -> _Reference:
    rows = _run(session,
        select(Classification.code, Classification.family, Classification.is_stalking)
    ).all()
    by_family: dict[str, list[str]] = {}
    for code, family, _ in rows:
        by_family.setdefault(family, []).append(code)
    stalking = tuple(sorted(code for code, _, is_stalking in rows if is_stalking))
    sh = tuple(sorted(set(stalking) | set(by_family.get("stalking", ()))
                      | set(by_family.get("harassment", ()))))
    return _Reference(stalking, sh, {k: tuple(sorted(v)) for k, v in by_family.items()})


# --- cases reported in the period ----------------------------------------
# Each case metric: (denominator facts, numerator facts); a part is the AND of
# its facts (none: every case). Cheap facts come first (evaluation stops early).
CASE_METRICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    m.R7_STALKING_INCLUDED: (("stalking",), ("included_only",)),
    m.R12_SDASH: (("sh",), ("sh", "sdash")),
    m.R12_HIGH_RISK_NO_PLAN: (("high",), ("high", "no_plan")),
    m.R13_SPO_DECISION: (("stalking",), ("stalking", "spo_decided")),
    m.R14_NEEDS_ASSESSED: (("stalking",), ("stalking", "needs")),
    # rec 14.5: a victim who refused consent (and was not referred) is counted apart
    m.R14_REFERRALS: (("stalking", "not_refused"), ("stalking", "not_refused", "referred")),
    m.R14_REFERRED_IN_TIME: (("stalking", "due", "not_refused"),
                             ("stalking", "due", "not_refused", "in_time")),
    m.R14_CONSENT_REFUSED: (("stalking",), ("stalking", "refused")),
    m.R17_ALLOCATION: ((), ("allocation_ok",)),
    m.R17_TEAM_MOVES: ((), ("moves_exceeded",)),
    m.R20_ONLINE: ((), ("online",)),
    m.PINS_RECORDED: ((), ("pin",)),
    m.PINS_UNAUTHORISED: (("pin",), ("pin", "pin_unauthorised")),
    m.R18_SEARCHED: (("stalking",), ("stalking", "searched")),
    m.R18_ARRESTED: (("stalking", "has_suspect"), ("stalking", "has_suspect", "arrested")),
    m.R18_DIGITAL: (("stalking",), ("stalking", "digital")),
    m.R25_MULTI_AGENCY: (("stalking", "high"), ("stalking", "high", "multi_agency")),
    m.R25_PERPETRATOR_REFERRED: (("stalking", "has_suspect"),
                                 ("stalking", "has_suspect", "perpetrator_referred")),
}


class _CaseFacts:
    """The facts about a case the case metrics are made of, as SQL over
    ``crime_case`` joined to its included classifications (aggregated per
    case) and, for breaches, the original case."""

    def __init__(self, ref: _Reference, policy: Policy, period: _Period, now: datetime) -> None:
        self.ref = ref
        self.policy = policy
        self.period = period
        self.families = sorted(metric_measures.rule_families(policy.allocation))
        inc = IncludedClassification

        def any_code(codes: Sequence[str]) -> Any:
            return func.max(case((inc.code.in_(codes), 1), else_=0))

        self.included = (
            select(
                inc.case_id.label("case_id"),
                any_code(ref.stalking).label("stalking"),
                any_code(ref.stalking_or_harassment).label("sh"),
                *[any_code(ref.by_family.get(f, ())).label(f"fam_{i}")
                  for i, f in enumerate(self.families)],
            )
            .group_by(inc.case_id)
            .subquery("inc")
        )
        # Cases with an assessment of the policy's tool, and cases with more
        # allocations than the allowed moves + 1 (only those can exceed them):
        # each a per-case aggregate joined once. (As ``IN (subquery)`` tests
        # PostgreSQL fell back to a linear search per case once the set
        # outgrew work_mem, hours at a million cases; a join spills instead.)
        self.assessed = (
            select(RiskAssessment.case_id.label("case_id"))
            .where(RiskAssessment.tool == policy.risk.tool)
            .group_by(RiskAssessment.case_id)
            .subquery("assessed")
        )
        self.reallocated = (
            select(Allocation.case_id.label("case_id"))
            .group_by(Allocation.case_id)
            .having(func.count() > policy.allocation.max_team_moves + 1)
            .subquery("reallocated")
        )
        self.original = aliased(Case, name="original_case")
        steps = metric_periods.referral_deadline_steps(
            period.date_from, period.date_to,
            working_days=policy.victims_code.referral_working_days,
            holidays=policy.calendar.holidays, now=now,
        )
        self.deadline = _step(Case.reported_at, [s.starts_at for s in steps] + [period.end],
                              [s.deadline for s in steps], UTCDateTime())

    # FROM and WHERE shared by the figures and the drill-down
    def source(self, facts: Iterable[str]) -> Any:
        """The cases with what ``facts`` need joined to them."""
        needed = set(facts)
        joined = Case.__table__.outerjoin(self.included, self.included.c.case_id == Case.id)
        if "sdash" in needed:
            joined = joined.outerjoin(self.assessed, self.assessed.c.case_id == Case.id)
        if "moves_exceeded" in needed:
            joined = joined.outerjoin(self.reallocated, self.reallocated.c.case_id == Case.id)
        return joined.outerjoin(self.original, self.original.id == Case.linked_case_id)

    def scope(self, *, area: str | None, team: str | None) -> list[ColumnElement[bool]]:
        conditions = [self.period.contains(Case.reported_at)]
        if area:
            conditions.append(Case.area_command == area)
        if team is not None:
            conditions.append(_team_is(Case.allocation_team, team))
        return conditions

    def family(self, index: int) -> ColumnElement[bool]:
        codes = self.ref.by_family.get(self.families[index], ())
        return or_(Case.principal_code.in_(codes), self.has_included(f"fam_{index}"))

    def has_included(self, column: str) -> ColumnElement[bool]:
        """The case has an included classification of this kind (false, never
        NULL, for a case with none: the aggregate is outer-joined)."""
        return func.coalesce(self.included.c[column], 0) == 1

    def fact(self, name: str) -> ColumnElement[bool]:
        policy = self.policy
        if name == "stalking":
            return or_(Case.principal_code.in_(self.ref.stalking), self.has_included("stalking"))
        if name == "included_only":
            return and_(not_(Case.principal_code.in_(self.ref.stalking)),
                        self.has_included("stalking"))
        if name == "sh":
            return or_(Case.principal_code.in_(self.ref.stalking_or_harassment),
                       self.has_included("sh"))
        if name == "sdash":
            return self.assessed.c.case_id.is_not(None)
        if name == "high":
            return Case.risk_level == RiskLevel.HIGH.value
        if name == "no_plan":
            latest_plan = (
                select(RiskAssessment.management_plan)
                .where(RiskAssessment.case_id == Case.id)
                .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            return func.coalesce(func.trim(latest_plan), "") == ""
        if name == "spo_decided":
            return Case.spo_status != SpoStatus.NOT_CONSIDERED.value
        if name == "needs":
            return exists().where(VictimCare.case_id == Case.id,
                                  VictimCare.needs_assessed_at.is_not(None))
        if name == "referred":
            return exists().where(Referral.case_id == Case.id,
                                  Referral.service.in_(policy.victims_code.specialist_services))
        if name in ("refused", "not_refused"):
            refused = and_(
                exists().where(VictimCare.case_id == Case.id, VictimCare.consent.is_(False)),
                not_(self.fact("referred")))
            return refused if name == "refused" else not_(refused)
        if name == "due":
            return self.deadline.is_not(None)
        if name == "in_time":
            first = (
                select(func.min(Referral.referred_at))
                .where(Referral.case_id == Case.id,
                       Referral.service.in_(policy.victims_code.specialist_services))
                .scalar_subquery()
            )
            return first <= self.deadline
        if name == "moves_exceeded":
            return self._moves_exceeded()
        if name == "allocation_ok":
            return self._allocation_ok()
        if name == "online":
            return Case.online == true()
        if name == "pin":
            return Case.pin_issued == true()
        if name == "pin_unauthorised":
            return func.coalesce(func.trim(Case.pin_authorised_by), "") == ""
        if name == "has_suspect":
            return Case.suspect_id.is_not(None)
        if name == "searched":
            return exists().where(SearchRecord.case_id == Case.id)
        if name == "arrested":
            return or_(Case.arrested_at.is_not(None),
                       exists().where(Breach.original_case_id == Case.id,
                                      Breach.arrest_at.is_not(None)))
        if name == "digital":
            return func.coalesce(func.trim(Case.digital_enquiries), "") != ""
        if name == "multi_agency":
            return exists().where(MultiAgencyReferral.case_id == Case.id)
        if name == "perpetrator_referred":
            return exists().where(PerpetratorReferral.case_id == Case.id)
        raise KeyError(name)

    def _moves_exceeded(self) -> ColumnElement[bool]:
        """More team changes in the allocation history than the policy allows
        (a change is an allocation whose team differs from the one before it,
        as app.rules.allocation.team_moves counts)."""
        allowed = self.policy.allocation.max_team_moves
        before = aliased(Allocation, name="before")
        previous_team = (
            select(before.team)
            .where(
                before.case_id == Allocation.case_id,
                or_(before.allocated_at < Allocation.allocated_at,
                    and_(before.allocated_at == Allocation.allocated_at,
                         before.id < Allocation.id)),
            )
            .order_by(before.allocated_at.desc(), before.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        moves = (
            select(func.count())
            .select_from(Allocation)
            .where(Allocation.case_id == Case.id, Allocation.team != previous_team)
            .scalar_subquery()
        )
        # only the few reallocated cases are counted
        return and_(self.reallocated.c.case_id.is_not(None), moves > allowed)

    def _allocation_ok(self) -> ColumnElement[bool]:
        """The allocation policy as SQL, exactly as app.rules.allocation.
        check_allocation reads it: the first rule whose families, risk levels
        and domestic-abuse condition match decides, and the case complies when
        its team is one of the rule's teams ("@original": the team holding the
        original case); an unallocated case never complies; with no matching
        rule any allocated case complies. (A test holds the two to the same
        verdict for every combination.)"""
        team = Case.allocation_team
        original = self.original.allocation_team
        branches = []
        for rule in self.policy.allocation.rules:
            matches: list[ColumnElement[bool]] = []
            if rule.families:
                matches.append(or_(*[self.family(self.families.index(f))
                                     for f in rule.families]))
            if rule.risk:
                levels = [r for r in rule.risk if r != UNASSESSED]
                either = [Case.risk_level.in_(levels)] if levels else []
                if UNASSESSED in rule.risk:
                    either.append(Case.risk_level.is_(None))
                matches.append(or_(*either))
            if rule.domestic_abuse == "yes":
                matches.append(Case.domestic_abuse == true())
            elif rule.domestic_abuse == "no":
                matches.append(Case.domestic_abuse == false())
            teams = [t for t in rule.teams if t != ORIGINAL_TEAM]
            allowed = [team.in_(teams)] if teams else []
            if ORIGINAL_TEAM in rule.teams:
                allowed.append(and_(original.is_not(None), team == original))
            complies = and_(team.is_not(None), or_(false(), *allowed))
            branches.append((and_(true(), *matches), case((complies, 1), else_=0)))
        verdict = case(*branches, else_=case((team.is_not(None), 1), else_=0)) if branches \
            else case((team.is_not(None), 1), else_=0)
        return verdict == 1

    def condition(self, facts: Sequence[str]) -> ColumnElement[bool]:
        return and_(true(), *[self.fact(name) for name in facts])

    def part(self, code: str, part: str) -> ColumnElement[bool]:
        return self.condition(self.part_facts(code, part))

    @staticmethod
    def part_facts(code: str, part: str) -> tuple[str, ...]:
        denominator, numerator = CASE_METRICS[code]
        return numerator if part == NUMERATOR else denominator


UNASSESSED = "unassessed"  # an allocation rule's risk level for a case never assessed
ORIGINAL_TEAM = "@original"  # an allocation rule's team: the team holding the original case


def _team_is(column: Any, team: str) -> ColumnElement[bool]:
    return column.is_(None) if team == m.UNALLOCATED else column == team


def _team_name(team: str | None) -> str:
    return team or m.UNALLOCATED


def _case_tallies(session: Session, facts: _CaseFacts, *,
                  area: str | None) -> dict[str, list[metric_figures.Tally]]:
    """One pass over the cases reported in the period, grouped by month, area
    and team, summing every case metric's parts."""
    parts: list[tuple[str, ...]] = []
    for denominator, numerator in CASE_METRICS.values():
        for combination in (denominator, numerator):
            if combination and combination not in parts:
                parts.append(combination)
    inner = (
        select(
            facts.period.month_of(Case.reported_at).label("month"),
            Case.area_command.label("area"),
            Case.allocation_team.label("team"),
            *[case((facts.condition(combination), 1), else_=0).label(f"p{i}")
              for i, combination in enumerate(parts)],
        )
        .select_from(facts.source(name for combination in parts for name in combination))
        .where(*facts.scope(area=area, team=None))
        .subquery("facts")
    )
    # month first: no index gives that order, so the planner reads the period's
    # range of the covering index instead of walking an area index in full
    keys = [inner.c.month, inner.c.area, inner.c.team]
    stmt = select(*keys, func.count().label("cases"),
                  *[func.sum(inner.c[f"p{i}"]).label(f"p{i}") for i in range(len(parts))]
                  ).group_by(*keys)
    tallies: dict[str, list[metric_figures.Tally]] = {code: [] for code in CASE_METRICS}
    tallies[m.R13_SPO_APPLICATIONS] = []
    for row in _run(session, stmt):
        fields = row._mapping
        month, area_name, team = fields["month"], fields["area"], fields["team"]
        sums = {combination: int(fields[f"p{i}"] or 0) for i, combination in enumerate(parts)}
        sums[()] = int(fields["cases"])
        for code, (denominator, numerator) in CASE_METRICS.items():
            tallies[code].append(metric_figures.Tally(area_name, _team_name(team), month, sums[numerator],
                                         sums[denominator]))
        tallies[m.R13_SPO_APPLICATIONS].append(
            metric_figures.Tally(area_name, _team_name(team), month, 0, sums[("stalking",)]))
    return tallies


# --- other sources -------------------------------------------------------
def _spo_application_date() -> Any:
    return func.coalesce(ProtectiveOrder.applied_at, ProtectiveOrder.granted_at)


def _order_part(code: str, part: str) -> ColumnElement[bool]:
    granted = or_(ProtectiveOrder.status.in_(GRANTED_STATUSES), ProtectiveOrder.granted_at.is_not(None))
    decided = or_(granted, ProtectiveOrder.status == OrderStatus.REFUSED.value)
    if code == m.R13_SPO_APPLICATIONS:
        return true()
    return granted if part == NUMERATOR else decided


def _order_scope(period: _Period, area: str | None, team: str | None) -> list[ColumnElement[bool]]:
    conditions = [ProtectiveOrder.kind.in_(SPO_KINDS), period.contains(_spo_application_date())]
    return conditions + _case_scope(area, team)


def _case_scope(area: str | None, team: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if area:
        conditions.append(Case.area_command == area)
    if team is not None:
        conditions.append(_team_is(Case.allocation_team, team))
    return conditions


def _order_tallies(session: Session, period: _Period, area: str | None) -> dict[str, list[metric_figures.Tally]]:
    month = period.month_of(_spo_application_date())
    granted = _order_part(m.R13_SPO_GRANT_RATE, NUMERATOR)
    decided = _order_part(m.R13_SPO_GRANT_RATE, DENOMINATOR)
    inner = (
        select(Case.area_command.label("area"), Case.allocation_team.label("team"),
               month.label("month"), case((granted, 1), else_=0).label("granted"),
               case((decided, 1), else_=0).label("decided"))
        .select_from(ProtectiveOrder)
        .join(Case, Case.id == ProtectiveOrder.case_id)
        .where(*_order_scope(period, area, None))
        .subquery("orders")
    )
    stmt = select(inner.c.area, inner.c.team, inner.c.month, func.count(),
                  func.sum(inner.c.granted), func.sum(inner.c.decided)
                  ).group_by(inner.c.area, inner.c.team, inner.c.month)
    applications: list[metric_figures.Tally] = []
    grants: list[metric_figures.Tally] = []
    for area_name, team, month_index, count, granted_n, decided_n in _run(session, stmt):
        applications.append(metric_figures.Tally(area_name, _team_name(team), month_index, int(count), 0))
        grants.append(metric_figures.Tally(area_name, _team_name(team), month_index, int(granted_n or 0),
                              int(decided_n or 0)))
    return {m.R13_SPO_APPLICATIONS: applications, m.R13_SPO_GRANT_RATE: grants}


_FLAG_STATUS = {m.R23_FLAGS_ACCEPTED: FlagStatus.ACCEPTED.value,
                m.R23_FLAGS_REJECTED: FlagStatus.REJECTED.value}


def _flag_part(code: str, part: str) -> ColumnElement[bool]:
    if code in _FLAG_STATUS and part == NUMERATOR:
        return ScreeningFlag.status == _FLAG_STATUS[code]
    return true()


def _flag_tallies(session: Session, period: _Period, area: str | None) -> dict[str, list[metric_figures.Tally]]:
    inner = (
        select(Case.area_command.label("area"), Case.allocation_team.label("team"),
               period.month_of(ScreeningFlag.raised_at).label("month"),
               *[case((_flag_part(code, NUMERATOR), 1), else_=0).label(code)
                 for code in _FLAG_STATUS])
        .select_from(ScreeningFlag)
        .join(Case, Case.id == ScreeningFlag.case_id)
        .where(period.contains(ScreeningFlag.raised_at), *_case_scope(area, None))
        .subquery("flags")
    )
    stmt = select(inner.c.area, inner.c.team, inner.c.month, func.count().label("raised"),
                  *[func.sum(inner.c[code]).label(code) for code in _FLAG_STATUS]
                  ).group_by(inner.c.area, inner.c.team, inner.c.month)
    result: dict[str, list[metric_figures.Tally]] = {m.R23_FLAGS_RAISED: [], **{c: [] for c in _FLAG_STATUS}}
    for row in _run(session, stmt):
        fields = row._mapping
        area_name, team, month_index = fields["area"], _team_name(fields["team"]), fields["month"]
        raised = int(fields["raised"])
        result[m.R23_FLAGS_RAISED].append(metric_figures.Tally(area_name, team, month_index, raised, None))
        for code in _FLAG_STATUS:
            result[code].append(metric_figures.Tally(area_name, team, month_index, int(fields[code] or 0),
                                        raised))
    return result


def _reclassifications(ref: _Reference) -> Any:
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


def _reclassified_tallies(session: Session, ref: _Reference, period: _Period,
                          area: str | None) -> list[metric_figures.Tally]:
    first = _reclassifications(ref)
    month = period.month_of(first.c.first_at)
    stmt = (
        select(Case.area_command, Case.allocation_team, month, func.count())
        .select_from(first)
        .join(Case, Case.id == first.c.case_id)
        .where(period.contains(first.c.first_at), *_case_scope(area, None))
        .group_by(Case.area_command, Case.allocation_team, month)
    )
    return [metric_figures.Tally(a, _team_name(t), mi, int(n), None) for a, t, mi, n in _run(session, stmt)]


def _search_tallies(session: Session, policy: Policy, period: _Period,
                    area: str | None) -> list[metric_figures.Tally]:
    inner = (
        select(Case.area_command.label("area"), Case.allocation_team.label("team"),
               period.month_of(SearchRecord.conducted_at).label("month"))
        .select_from(SearchRecord)
        .join(Case, Case.id == SearchRecord.case_id)
        .where(*_search_scope(policy, period, area, None))
        .subquery("searches")
    )
    stmt = select(inner.c.area, inner.c.team, inner.c.month, func.count()
                  ).group_by(inner.c.area, inner.c.team, inner.c.month)
    return [metric_figures.Tally(a, _team_name(t), mi, int(n), None) for a, t, mi, n in _run(session, stmt)]


def _search_scope(policy: Policy, period: _Period, area: str | None,
                  team: str | None) -> list[ColumnElement[bool]]:
    return [SearchRecord.power.in_(policy.assurance.stalking_search_powers),
            period.contains(SearchRecord.conducted_at), *_case_scope(area, team)]


def _classification_search_tallies(session: Session, period: _Period) -> list[metric_figures.Tally]:
    """Searches by classification code recorded in the audit log (force-wide)."""
    inner = (
        select(period.month_of(AuditEvent.at).label("month"))
        .select_from(AuditEvent)
        .where(AuditEvent.entity == "search", AuditEvent.action == AuditAction.VIEW.value,
               AuditEvent.reason.like("%code=%"), period.contains(AuditEvent.at))
        .subquery("searches")
    )
    stmt = select(inner.c.month, func.count()).group_by(inner.c.month)
    return [metric_figures.Tally("", "", mi, int(n), None) for mi, n in _run(session, stmt)]


# --- breaches ------------------------------------------------------------
def _breach_records(session: Session, policy: Policy, period: _Period, *, area: str | None,
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
        conditions.append(_team_is(crime.allocation_team, team))
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
    rows = _run(session, stmt).all()
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
    for victim_id, suspect_id, occurred_at in _run(session, pair_stmt):
        pairs.setdefault((victim_id, suspect_id), []).append(occurred_at)
    sorted_pairs = {pair: tuple(sorted(times)) for pair, times in pairs.items()}
    records: list[tuple[int, metric_measures.BreachRecord]] = []
    for row in rows:
        month_index = metric_periods.month_index(row.reported_at, period.edges)
        records.append((row.id, metric_measures.BreachRecord(
            breach_ref=row.breach_ref, crime_ref=row.crime_ref, area=row.area_command,
            team=_team_name(row.allocation_team),
            month=month_index if month_index is not None else 0, reported_at=row.reported_at,
            occurred_at=row.occurred_at, order_kind=row.order_kind,
            threats_or_violence=bool(row.threats_or_violence), risk_level=row.risk_level,
            acknowledged_at=row.acknowledged_at, escalated_at=row.escalated_at,
            manual_level=row.manual_level, reassessed_at=row.reassessed_at,
            pair_breach_times=sorted_pairs.get((row.victim_id, row.suspect_id), ()),
        )))
    return records


# --- the report ----------------------------------------------------------
def _check_area(session: Session, area: str | None, policy: Policy) -> str | None:
    if area is None or not area.strip():
        return None
    wanted = area.strip()
    known = force_organisation(policy).area_commands
    for name in known:
        if name.lower() == wanted.lower():
            return name
    if _run(session, select(Case.id).where(Case.area_command == wanted).limit(1)).first():
        return wanted
    raise BadInput(f"area command {wanted!r} is not known: choose one of {', '.join(known)}")


# SQLite reads the database file through a memory map for the assurance
# queries: they look up a case's assessments, care and referrals for hundreds
# of thousands of cases, and a mapped page costs no copy (about a third less
# CPU at a million cases). The setting stays on the pooled connection; it
# changes no result. SQLite caps it at its compile-time maximum.
SQLITE_MMAP = "PRAGMA mmap_size=2147483648"


def _read_session(ctx: ServiceContext) -> Any:
    """A read session; on SQLite its connection reads through a memory map."""
    return _MappedRead(ctx)


class _MappedRead:
    def __init__(self, ctx: ServiceContext) -> None:
        self._context = ctx.read()

    def __enter__(self) -> Session:
        session = self._context.__enter__()
        if session.get_bind().dialect.name == "sqlite":
            session.connection().exec_driver_sql(SQLITE_MMAP)
        return session

    def __exit__(self, *exc: Any) -> Any:
        return self._context.__exit__(*exc)


def _in_session(ctx: ServiceContext, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(session, *args, **kwargs)`` in a read session of its own (for a
    worker thread: a session is never shared between threads)."""
    with _read_session(ctx) as session:
        return fn(session, *args, **kwargs)


@dataclass(frozen=True)
class _OtherTallies:
    tallies: dict[str, list[metric_figures.Tally]]
    breaches: list[metric_measures.BreachRecord]
    samples: dict[str, list[metric_figures.Sample]]
    results: dict[str, metric_figures.MetricResult]


def _other_tallies(ctx: ServiceContext, ref: _Reference, period: _Period,
                   area: str | None) -> _OtherTallies:
    """Everything but the pass over the period's cases: orders, screening
    flags and reclassifications, searches, and the breaches reported."""
    policy = ctx.policy
    with _read_session(ctx) as session:
        tallies = _order_tallies(session, period, area)
        tallies.update(_flag_tallies(session, period, area))
        tallies[m.R23_RECLASSIFIED] = _reclassified_tallies(session, ref, period, area)
        tallies[m.STALKING_SEARCHES] = _search_tallies(session, policy, period, area)
        tallies[m.R7_CLASSIFICATION_SEARCHES] = _classification_search_tallies(session, period)
        more = assurance_more.gather(session, policy, ref.stalking_or_harassment, period,
                                     area, ctx.now())
        tallies.update(more.tallies)
        breaches = [record for _, record in
                    _breach_records(session, policy, period, area=area, team=None)]
    return _OtherTallies(tallies, breaches, more.samples, more.results)


def assurance_report(ctx: ServiceContext, *, date_from: date, date_to: date,
                     area: str | None = None) -> AssuranceReport:
    """Every assurance metric for cases reported in ``[date_from, date_to)``
    (Europe/London days; ``date_to`` is the first day not counted), force-wide
    or for one area command, with breakdowns, monthly trend and call-outs."""
    ctx.require(Permission.VIEW_ASSURANCE, area=area, entity="assurance")
    period = _period(date_from, date_to)
    policy = ctx.policy
    now = ctx.now()
    definitions = m.metric_definitions(policy)
    with ctx.read() as session:
        area = _check_area(session, area, ctx.policy)
        ref = _reference(session)
    facts = _CaseFacts(ref, policy, period, now)
    # The pass over the period's cases (the longest query) runs on a second
    # connection while this one reads the orders, flags, searches and breaches.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_in_session, ctx, _case_tallies, facts, area=area)
        other = _other_tallies(ctx, ref, period, area)
        cases = pending.result()
    tallies: dict[str, list[metric_figures.Tally]] = dict(cases)
    tallies[m.R13_SPO_APPLICATIONS] += other.tallies.pop(m.R13_SPO_APPLICATIONS)
    tallies.update(other.tallies)
    breach_counts, ack_samples = metric_measures.breach_tallies(other.breaches, policy, now)
    tallies.update(breach_counts)
    results: list[metric_figures.MetricResult] = []
    for definition in definitions:
        if definition.code in other.results:
            results.append(other.results[definition.code])
        elif definition.code in other.samples:
            results.append(metric_figures.summarise_samples(definition, other.samples[definition.code],
                                               period.months))
        elif definition.unit == "hours":
            results.append(metric_figures.summarise_samples(definition, ack_samples, period.months))
        else:
            results.append(metric_figures.summarise_tallies(definition, tallies[definition.code], period.months))
    referrals = next(r for r in results if r.code == m.R14_REFERRALS)
    call_outs = (
        metric_figures.referral_call_outs(referrals, policy.victims_code.referral_rate_threshold)
        + metric_figures.attention_call_outs(results, area)
    )
    report = AssuranceReport(
        date_from=date_from, date_to=date_to, area=area, generated_at=now,
        generated_by=ctx.actor.display_name, training=ctx.training, months=period.months,
        results=tuple(results), call_outs=call_outs, definitions=definitions,
        areas=force_organisation(policy).area_commands, policy_source=policy.source,
        evaluation=ctx.evaluation,
    )
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, "assurance", None,
                  reason=f"assurance report {date_from.isoformat()} to "
                         f"{report.last_day.isoformat()}, {report.scope}")
    return report


# --- drill-down ----------------------------------------------------------
def metric_cases(ctx: ServiceContext, *, metric_code: str, date_from: date, date_to: date,
                 area: str | None = None, team: str | None = None, part: str = NUMERATOR,
                 page: int = 0, page_size: int = 100, month: date | None = None) -> MetricCases:
    """The crimes behind a figure (its numerator, or its denominator), paged.
    ``total`` equals the figure's numerator (or denominator) for the same
    period, area, team and month. ``team`` is a team within ``area`` (or in
    every area when no area is given); ``month`` (its first day) narrows the
    period to one month of the trend."""
    ctx.require(Permission.VIEW_ASSURANCE, area=area, entity="assurance", entity_id=metric_code)
    policy = ctx.policy
    definition = m.definitions_by_code(policy).get(metric_code)
    if definition is None:
        raise BadInput(f"metric {metric_code!r} is not known")
    if part not in (NUMERATOR, DENOMINATOR):
        raise BadInput(f"part {part!r}: choose numerator or denominator")
    if not definition.drillable:
        raise BadInput(f"{metric_code} is not made of cases: it has no cases to list")
    if part == DENOMINATOR and not definition.has_denominator:
        raise BadInput(f"{metric_code} is a count: it has no denominator")
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(0, page)
    start_day, end_day = date_from, date_to
    if month is not None:
        month = date(month.year, month.month, 1)
        start_day = max(date_from, month)
        end_day = min(date_to, metric_periods.shift_months(month, 1))
    period = _period(start_day, end_day)
    now = ctx.now()
    with _read_session(ctx) as session:
        area = _check_area(session, area, ctx.policy)
        team = team.strip() if team and team.strip() else None
        if definition.code in CASE_METRICS or (
            definition.code == m.R13_SPO_APPLICATIONS and part == DENOMINATOR
        ):
            total, rows = _case_rows(session, definition.code, part, period, policy, now,
                                     area=area, team=team, page=page, size=size)
        elif definition.lists == m.LISTS_BREACHES:
            total, rows = _breach_rows(session, definition.code, part, period, policy, now,
                                       area=area, team=team, page=page, size=size)
        else:
            total, rows = _event_rows(session, definition.code, part, period, policy,
                                      area=area, team=team, page=page, size=size)
    result = MetricCases(
        metric_code=definition.code, title=definition.title, part=part, date_from=date_from,
        date_to=date_to, area=area, team=team, month=month, total=total, page=page,
        page_size=size, rows=tuple(rows),
    )
    with ctx.write() as session:
        audit_naming(ctx, session, AuditAction.VIEW, "assurance", definition.code,
                     [row.crime_ref for row in rows],
                     reason=f"cases behind {result.describe()} (page {page + 1}, "
                            f"{len(rows)} of {total})")
    return result


def _page(stmt: Any, page: int, size: int) -> Any:
    return stmt.offset(page * size).limit(size)


def _case_rows(session: Session, code: str, part: str, period: _Period, policy: Policy,
               now: datetime, *, area: str | None, team: str | None, page: int,
               size: int) -> tuple[int, list[MetricCaseRow]]:
    ref = _reference(session)
    facts = _CaseFacts(ref, policy, period, now)
    needed = ("stalking",) if code == m.R13_SPO_APPLICATIONS else facts.part_facts(code, part)
    condition = facts.condition(needed)
    where = [*facts.scope(area=area, team=team), condition]
    total = _run(session,
        select(func.count()).select_from(facts.source(needed)).where(*where)
    ).scalar_one()
    stmt = _page(
        select(Case.crime_ref, Case.reported_at, Case.area_command, Case.allocation_team)
        .select_from(facts.source(needed))
        .where(*where)
        .order_by(Case.reported_at, Case.id),
        page, size,
    )
    rows = [MetricCaseRow(row.crime_ref, row.reported_at, row.area_command,
                          _team_name(row.allocation_team)) for row in _run(session, stmt)]
    return int(total), rows


def _breach_rows(session: Session, code: str, part: str, period: _Period, policy: Policy,
                 now: datetime, *, area: str | None, team: str | None, page: int,
                 size: int) -> tuple[int, list[MetricCaseRow]]:
    records = _breach_records(session, policy, period, area=area, team=team)
    limits = metric_measures.BreachLimits.of(policy)
    chosen = [r for _, r in records if metric_measures.breach_counts_in(r, code, part, limits, now)]
    shown = chosen[page * size:(page + 1) * size]
    return len(chosen), [
        MetricCaseRow(r.crime_ref, r.reported_at, r.area, r.team, f"breach {r.breach_ref}")
        for r in shown
    ]


def _event_rows(session: Session, code: str, part: str, period: _Period, policy: Policy, *,
                area: str | None, team: str | None, page: int,
                size: int) -> tuple[int, list[MetricCaseRow]]:
    """Orders, screening flags, reclassifications and searches behind a figure."""
    scope = _case_scope(area, team)
    if code in (m.R13_SPO_APPLICATIONS, m.R13_SPO_GRANT_RATE):
        base = (select(Case.crime_ref, Case.reported_at, Case.area_command, Case.allocation_team,
                       ProtectiveOrder.kind + " " + ProtectiveOrder.order_ref + " "
                       + ProtectiveOrder.status)
                .select_from(ProtectiveOrder).join(Case, Case.id == ProtectiveOrder.case_id)
                .where(*_order_scope(period, area, team), _order_part(code, part))
                .order_by(_spo_application_date(), ProtectiveOrder.id))
    elif code in (m.R23_FLAGS_RAISED, *_FLAG_STATUS):
        base = (select(Case.crime_ref, Case.reported_at, Case.area_command, Case.allocation_team,
                       "flag " + ScreeningFlag.status + " " + ScreeningFlag.suggested_change)
                .select_from(ScreeningFlag).join(Case, Case.id == ScreeningFlag.case_id)
                .where(period.contains(ScreeningFlag.raised_at), *scope, _flag_part(code, part))
                .order_by(ScreeningFlag.raised_at, ScreeningFlag.id))
    elif code == m.R23_RECLASSIFIED:
        first = _reclassifications(_reference(session))
        base = (select(Case.crime_ref, Case.reported_at, Case.area_command, Case.allocation_team,
                       literal("reclassified to stalking"))
                .select_from(first).join(Case, Case.id == first.c.case_id)
                .where(period.contains(first.c.first_at), *scope)
                .order_by(first.c.first_at, Case.id))
    elif code == m.STALKING_SEARCHES:
        base = (select(Case.crime_ref, Case.reported_at, Case.area_command, Case.allocation_team,
                       SearchRecord.power)
                .select_from(SearchRecord).join(Case, Case.id == SearchRecord.case_id)
                .where(*_search_scope(policy, period, area, team))
                .order_by(SearchRecord.conducted_at, SearchRecord.id))
    elif code in (m.R16_REFERRAL_OUTCOME, m.R16_PENDING_DAYS):
        base = assurance_more.referral_rows(policy, code, part, period, area, team)
    elif assurance_more.is_dip_metric(policy, code):
        base = assurance_more.dip_rows(policy, code, part, period, area, team)
    else:  # pragma: no cover - every drillable metric is handled above
        raise BadInput(f"{code}: no cases to list")
    counted = base.order_by(None).subquery()
    total = _run(session, select(func.count()).select_from(counted)).scalar_one()
    rows = [MetricCaseRow(r[0], r[1], r[2], _team_name(r[3]), r[4] or "")
            for r in _run(session, _page(base, page, size))]
    return int(total), rows

