"""Assurance: how the force meets the stalking recommendations, measured from
case data, for a period, by area command and team, with a monthly trend; and
the cases behind any figure.

Every figure comes from SQL aggregates (``GROUP BY`` month, area and team):
those over the cases reported in the period in
:mod:`app.services.assurance_cases`, those over orders, flags,
reclassifications, searches and breaches in
:mod:`app.services.assurance_events`, the rest in
:mod:`app.services.assurance_more`; :mod:`app.rules.metrics` defines the
figures and :mod:`app.rules.metric_figures` turns the rows into them.
Breaches reported in the period are the one bounded set read row by row: the
median time to acknowledgement and the escalation rules need each breach.

Months and the Victims' Code deadlines are Europe/London calendar days turned
into UTC instants here and compared in SQL as bound parameters (a balanced
``CASE`` over the boundaries), so the same statements run on SQLite and
PostgreSQL.

The drill-down (:func:`metric_cases`) uses the very conditions the figures
are summed from, so the number of cases behind a figure is its numerator.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    func,
    literal,
    select,
)
from sqlmodel import Session

from app.errors import BadInput
from app.policy import Policy
from app.rules import metric_figures, metric_measures, metric_periods
from app.rules import metrics as m
from app.services import assurance_more
from app.services.assurance_cases import CASE_METRICS, CaseMetricFacts, case_tallies
from app.services.assurance_events import (
    FLAG_STATUS,
    breach_records,
    case_scope,
    classification_search_tallies,
    first_reclassifications,
    flag_part,
    flag_tallies,
    order_part,
    order_scope,
    order_tallies,
    reclassified_tallies,
    search_scope,
    search_tallies,
    spo_application_date,
)
from app.services.assurance_sql import (
    DENOMINATOR,
    NUMERATOR,
    Period,
    Reference,
    check_area,
    reference_codes,
    report_period,
    run_core,
    team_name,
)
from app.services.audit_trail import audit_naming
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import (
    Case,
    ProtectiveOrder,
    ScreeningFlag,
    SearchRecord,
)
from models.enums import (
    AuditAction,
)
from seed.reference import force_organisation

MAX_PAGE_SIZE = 500


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


# --- the report ----------------------------------------------------------

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


def _other_tallies(ctx: ServiceContext, ref: Reference, period: Period,
                   area: str | None) -> _OtherTallies:
    """Everything but the pass over the period's cases: orders, screening
    flags and reclassifications, searches, and the breaches reported."""
    policy = ctx.policy
    with _read_session(ctx) as session:
        tallies = order_tallies(session, period, area)
        tallies.update(flag_tallies(session, period, area))
        tallies[m.R23_RECLASSIFIED] = reclassified_tallies(session, ref, period, area)
        tallies[m.STALKING_SEARCHES] = search_tallies(session, policy, period, area)
        tallies[m.R7_CLASSIFICATION_SEARCHES] = classification_search_tallies(session, period)
        more = assurance_more.gather(session, policy, ref.stalking_or_harassment, period,
                                     area, ctx.now())
        tallies.update(more.tallies)
        breaches = [record for _, record in
                    breach_records(session, policy, period, area=area, team=None)]
    return _OtherTallies(tallies, breaches, more.samples, more.results)


def assurance_report(ctx: ServiceContext, *, date_from: date, date_to: date,
                     area: str | None = None) -> AssuranceReport:
    """Every assurance metric for cases reported in ``[date_from, date_to)``
    (Europe/London days; ``date_to`` is the first day not counted), force-wide
    or for one area command, with breakdowns, monthly trend and call-outs."""
    ctx.require(Permission.VIEW_ASSURANCE, area=area, entity="assurance")
    period = report_period(date_from, date_to)
    policy = ctx.policy
    now = ctx.now()
    definitions = m.metric_definitions(policy)
    with ctx.read() as session:
        area = check_area(session, area, ctx.policy)
        ref = reference_codes(session)
    facts = CaseMetricFacts(ref, policy, period, now)
    # The pass over the period's cases (the longest query) runs on a second
    # connection while this one reads the orders, flags, searches and breaches.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_in_session, ctx, case_tallies, facts, area=area)
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
    period = report_period(start_day, end_day)
    now = ctx.now()
    with _read_session(ctx) as session:
        area = check_area(session, area, ctx.policy)
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


def _case_rows(session: Session, code: str, part: str, period: Period, policy: Policy,
               now: datetime, *, area: str | None, team: str | None, page: int,
               size: int) -> tuple[int, list[MetricCaseRow]]:
    ref = reference_codes(session)
    facts = CaseMetricFacts(ref, policy, period, now)
    needed = ("stalking",) if code == m.R13_SPO_APPLICATIONS else facts.part_facts(code, part)
    condition = facts.condition(needed)
    where = [*facts.scope(area=area, team=team), condition]
    total = run_core(session,
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
                          team_name(row.allocation_team)) for row in run_core(session, stmt)]
    return int(total), rows


def _breach_rows(session: Session, code: str, part: str, period: Period, policy: Policy,
                 now: datetime, *, area: str | None, team: str | None, page: int,
                 size: int) -> tuple[int, list[MetricCaseRow]]:
    records = breach_records(session, policy, period, area=area, team=team)
    limits = metric_measures.BreachLimits.of(policy)
    chosen = [r for _, r in records if metric_measures.breach_counts_in(r, code, part, limits, now)]
    shown = chosen[page * size:(page + 1) * size]
    return len(chosen), [
        MetricCaseRow(r.crime_ref, r.reported_at, r.area, r.team, f"breach {r.breach_ref}")
        for r in shown
    ]


def _event_rows(session: Session, code: str, part: str, period: Period, policy: Policy, *,
                area: str | None, team: str | None, page: int,
                size: int) -> tuple[int, list[MetricCaseRow]]:
    """Orders, screening flags, reclassifications and searches behind a figure."""
    scope = case_scope(area, team)
    if code in (m.R13_SPO_APPLICATIONS, m.R13_SPO_GRANT_RATE):
        base = (select(Case.crime_ref, Case.reported_at, Case.area_command, Case.allocation_team,
                       ProtectiveOrder.kind + " " + ProtectiveOrder.order_ref + " "
                       + ProtectiveOrder.status)
                .select_from(ProtectiveOrder).join(Case, Case.id == ProtectiveOrder.case_id)
                .where(*order_scope(period, area, team), order_part(code, part))
                .order_by(spo_application_date(), ProtectiveOrder.id))
    elif code in (m.R23_FLAGS_RAISED, *FLAG_STATUS):
        base = (select(Case.crime_ref, Case.reported_at, Case.area_command, Case.allocation_team,
                       "flag " + ScreeningFlag.status + " " + ScreeningFlag.suggested_change)
                .select_from(ScreeningFlag).join(Case, Case.id == ScreeningFlag.case_id)
                .where(period.contains(ScreeningFlag.raised_at), *scope, flag_part(code, part))
                .order_by(ScreeningFlag.raised_at, ScreeningFlag.id))
    elif code == m.R23_RECLASSIFIED:
        first = first_reclassifications(reference_codes(session))
        base = (select(Case.crime_ref, Case.reported_at, Case.area_command, Case.allocation_team,
                       literal("reclassified to stalking"))
                .select_from(first).join(Case, Case.id == first.c.case_id)
                .where(period.contains(first.c.first_at), *scope)
                .order_by(first.c.first_at, Case.id))
    elif code == m.STALKING_SEARCHES:
        base = (select(Case.crime_ref, Case.reported_at, Case.area_command, Case.allocation_team,
                       SearchRecord.power)
                .select_from(SearchRecord).join(Case, Case.id == SearchRecord.case_id)
                .where(*search_scope(policy, period, area, team))
                .order_by(SearchRecord.conducted_at, SearchRecord.id))
    elif code in (m.R16_REFERRAL_OUTCOME, m.R16_PENDING_DAYS):
        base = assurance_more.referral_rows(policy, code, part, period, area, team)
    elif assurance_more.is_dip_metric(policy, code):
        base = assurance_more.dip_rows(policy, code, part, period, area, team)
    else:  # pragma: no cover - every drillable metric is handled above
        raise BadInput(f"{code}: no cases to list")
    counted = base.order_by(None).subquery()
    total = run_core(session, select(func.count()).select_from(counted)).scalar_one()
    rows = [MetricCaseRow(crime_ref, reported_at, area_command, team_name(allocation_team),
                          detail or "")
            for crime_ref, reported_at, area_command, allocation_team, detail
            in run_core(session, _page(base, page, size))]
    return int(total), rows
