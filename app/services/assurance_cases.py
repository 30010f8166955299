"""Assurance figures over the cases reported in the period: which facts
each case metric counts (:data:`CASE_METRICS`), the SQL of those facts
(:class:`CaseMetricFacts`), and the tallies by month, area and team from
one pass over the cases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.policy import Policy
from app.rules import metric_figures, metric_measures, metric_periods
from app.rules import metrics as m
from app.services.assurance_sql import (
    NUMERATOR,
    Period,
    Reference,
    run_core,
    stepped,
    team_is,
    team_name,
)
from models import (
    Allocation,
    Breach,
    Case,
    IncludedClassification,
    MultiAgencyReferral,
    PerpetratorReferral,
    Referral,
    RiskAssessment,
    SearchRecord,
    VictimCare,
)
from models.enums import (
    RiskLevel,
    SpoStatus,
)
from models.types import UTCDateTime

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


class CaseMetricFacts:
    """The facts about a case the case metrics are made of, as SQL over
    ``crime_case`` joined to its included classifications (aggregated per
    case) and, for breaches, the original case."""

    def __init__(self, ref: Reference, policy: Policy, period: Period, now: datetime) -> None:
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
        self.deadline = stepped(Case.reported_at, [s.starts_at for s in steps] + [period.end],
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
            conditions.append(team_is(Case.allocation_team, team))
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


def case_tallies(session: Session, facts: CaseMetricFacts, *,
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
    for row in run_core(session, stmt):
        fields = row._mapping
        month, area_name, team = fields["month"], fields["area"], fields["team"]
        sums = {combination: int(fields[f"p{i}"] or 0) for i, combination in enumerate(parts)}
        sums[()] = int(fields["cases"])
        for code, (denominator, numerator) in CASE_METRICS.items():
            tallies[code].append(metric_figures.Tally(area_name, team_name(team), month, sums[numerator],
                                         sums[denominator]))
        tallies[m.R13_SPO_APPLICATIONS].append(
            metric_figures.Tally(area_name, team_name(team), month, 0, sums[("stalking",)]))
    return tallies
