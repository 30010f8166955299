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
    literal,
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
    unindexed,
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
        # Cases with more allocations than the allowed moves + 1 (only those
        # can exceed them): a per-case aggregate joined once. (As an
        # ``IN (subquery)`` test PostgreSQL fell back to a linear search per
        # case once the set outgrew work_mem, hours at a million cases; a join
        # spills instead.)
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
        if "moves_exceeded" in needed:
            joined = joined.outerjoin(self.reallocated, self.reallocated.c.case_id == Case.id)
        return joined.outerjoin(self.original, self.original.id == Case.linked_case_id)

    def scope(self, *, area: str | None, team: str | None,
              in_id_order: bool = False) -> list[ColumnElement[bool]]:
        """The cases of the period (area, team). ``in_id_order``: SQLite
        reads the whole table in id order, keeping the period's cases, so that
        every probe by case id that follows walks its index forwards (at a
        million cases, reading the period's range of the reported-at index
        made those probes jump about the file: several times slower)."""
        reported = unindexed(Case.reported_at) if in_id_order else Case.reported_at
        conditions = [self.period.contains(reported)]
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
            # probed by the case's index (only for stalking or harassment
            # cases in the pass over the period): no pass over every assessment
            return exists().where(RiskAssessment.case_id == Case.id,
                                  RiskAssessment.tool == self.policy.risk.tool)
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
        if name == "consent_refused":
            return exists().where(VictimCare.case_id == Case.id, VictimCare.consent.is_(False))
        if name in ("refused", "not_refused"):
            refused = and_(self.fact("consent_refused"), not_(self.fact("referred")))
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


# The pass over the period's cases works out each fact once per case, as one
# bit of a mask; a figure's part is then a test of the mask, summed over the
# cases grouped by cell and mask (a few thousand groups, not the cases).
# "refused" and "not_refused" are read from the bits they are made of.
DERIVED = {"refused": ("consent_refused", "referred"), "not_refused": ("consent_refused", "referred")}
# A fact probed from another table is worked out only for the cases that every
# part it is in also requires (a stalking case's referrals, a high-risk case's
# plan): for the others its bit stays 0, which no part can tell apart.
GUARDS: dict[str, tuple[str, ...]] = {
    "sdash": ("sh",),
    "no_plan": ("high",),
    "needs": ("stalking",),
    "consent_refused": ("stalking",),
    "referred": ("stalking",),
    "in_time": ("stalking", "due"),
    "pin_unauthorised": ("pin",),
    "searched": ("stalking",),
    "arrested": ("stalking", "has_suspect"),
    "digital": ("stalking",),
    "multi_agency": ("stalking", "high"),
    "perpetrator_referred": ("stalking", "has_suspect"),
}


def case_parts() -> list[tuple[str, ...]]:
    """Every distinct part (AND of facts) of the case metrics, none empty."""
    parts: list[tuple[str, ...]] = []
    for denominator, numerator in CASE_METRICS.values():
        for combination in (denominator, numerator):
            if combination and combination not in parts:
                parts.append(combination)
    return parts


def mask_facts(parts: Iterable[tuple[str, ...]]) -> list[str]:
    """The facts with a bit of their own: those the parts name, with the
    derived ones replaced by what they are made of."""
    facts: list[str] = []
    for combination in parts:
        for name in combination:
            for atom in DERIVED.get(name, (name,)):
                if atom not in facts:
                    facts.append(atom)
    return facts


def _mask_test(name: str, bits: dict[str, int], mask: Any) -> ColumnElement[bool]:
    if name in DERIVED:
        consent, referred = (bits[atom] for atom in DERIVED[name])
        refused = and_(mask.op("&")(consent) != 0, mask.op("&")(referred) == 0)
        return refused if name == "refused" else not_(refused)
    return mask.op("&")(bits[name]) != 0


def case_tallies(session: Session, facts: CaseMetricFacts, *,
                  area: str | None) -> dict[str, list[metric_figures.Tally]]:
    """One pass over the cases reported in the period: each case's facts as a
    mask, the cases counted by month, area, team and mask, and every case
    metric's parts summed from those counts."""
    parts = case_parts()
    atoms = mask_facts(parts)
    bits = {name: 1 << i for i, name in enumerate(atoms)}
    sqlite = session.get_bind().dialect.name == "sqlite"
    mask = sum_of(
        case((and_(*[facts.fact(g) for g in GUARDS.get(name, ())], facts.fact(name)), bits[name]),
             else_=0)
        for name in atoms
    )
    per_case = (
        select(
            facts.period.month_of(Case.reported_at).label("month"),
            Case.area_command.label("area"),
            Case.allocation_team.label("team"),
            mask.label("mask"),
        )
        .select_from(facts.source(atoms))
        .where(*facts.scope(area=area, team=None, in_id_order=sqlite))
    )
    if sqlite:
        # a subquery with a LIMIT is not merged into the grouping over it, so
        # each case's mask is worked out once, not once for every use of it
        per_case = per_case.limit(-1)
    cases = per_case.subquery("cases")
    keys = [cases.c.month, cases.c.area, cases.c.team]
    groups = (select(*keys, cases.c.mask, func.count().label("n"))
              .group_by(*keys, cases.c.mask).subquery("groups"))
    group_keys = [groups.c.month, groups.c.area, groups.c.team]
    stmt = select(
        *group_keys, func.sum(groups.c.n).label("cases"),
        *[func.sum(case((and_(*[_mask_test(name, bits, groups.c.mask) for name in combination]),
                         groups.c.n), else_=0)).label(f"p{i}")
          for i, combination in enumerate(parts)],
    ).group_by(*group_keys)
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


def sum_of(terms: Iterable[Any]) -> Any:
    total: Any = None
    for term in terms:
        total = term if total is None else total + term
    return total if total is not None else literal(0)
