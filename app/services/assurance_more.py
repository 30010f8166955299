"""The assurance figures that are not a pass over the period's cases:
training of the officers on stalking cases (rec 10), specialist referral
outcomes and how long referrals have been pending (rec 16), perpetrator
programmes available (rec 25) and the findings of dip-sampled case files.

Each is a ``GROUP BY`` (or a bounded read) over its own table; the rules in
:mod:`app.rules.metrics` turn the rows into figures. Called by
:func:`app.services.assurance.assurance_report` on its read session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, exists, func, literal, or_, select
from sqlmodel import Session

from app.policy import Policy
from app.rules import metric_figures, metric_measures
from app.rules import metrics as m
from app.services.assurance_sql import Period, run_core, team_is, team_name, unindexed
from models import (
    Case,
    DipFinding,
    DipSample,
    DipSampleFile,
    IncludedClassification,
    PerpetratorProgramme,
    Referral,
    TrainingRecord,
)

PENDING = "pending"


@dataclass
class MoreFigures:
    tallies: dict[str, list[metric_figures.Tally]] = field(default_factory=dict)
    samples: dict[str, list[metric_figures.Sample]] = field(default_factory=dict)
    results: dict[str, metric_figures.MetricResult] = field(default_factory=dict)


def gather(session: Session, policy: Policy, stalking_or_harassment: Sequence[str],
           period: Period, area: str | None, now: datetime) -> MoreFigures:
    definitions = m.definitions_by_code(policy)
    found = MoreFigures()
    found.tallies[m.R10_TRAINED] = training_tallies(session, policy, stalking_or_harassment,
                                                    period, area)
    outcome, pending = referral_figures(session, policy, period, area, now)
    found.tallies[m.R16_REFERRAL_OUTCOME] = outcome
    found.samples[m.R16_PENDING_DAYS] = pending
    found.results[m.R25_PROGRAMMES] = programmes(session, definitions[m.R25_PROGRAMMES],
                                                 period, area)
    found.tallies.update(dip_tallies(session, policy, period, area))
    return found


def training_tallies(session: Session, policy: Policy, stalking_or_harassment: Sequence[str],
                     period: Period, area: str | None) -> list[metric_figures.Tally]:
    """Rec 10: officers named on the stalking and harassment cases of each
    month, against their training records."""
    inc = IncludedClassification
    sh = or_(Case.principal_code.in_(stalking_or_harassment),
             select(inc.case_id).where(inc.case_id == Case.id,
                                       inc.code.in_(stalking_or_harassment)).exists())
    sqlite = session.get_bind().dialect.name == "sqlite"
    # SQLite reads the cases in id order: the probes of included codes by
    # case id then walk their index forwards (see CaseMetricFacts.scope)
    reported = unindexed(Case.reported_at) if sqlite else Case.reported_at
    conditions = [period.contains(reported), Case.officer.is_not(None), sh]
    if area:
        conditions.append(Case.area_command == area)
    month = period.month_of(Case.reported_at)
    named = (select(month.label("month"), Case.officer.label("officer")).where(*conditions)
             .group_by(month, Case.officer).subquery("named"))
    return run_training_twin(session, policy, period, named)


def run_training_twin(session: Session, policy: Policy, period: Period,
                      named: Any) -> list[metric_figures.Tally]:
    """The SQL twin of app.rules.metric_measures.training_tallies over the
    (month, officer) rows of ``named``: each officer once a month, trained when
    a course counted completed within the month's window (is_trained). A test
    holds twin and rule to the same tallies on a generated force."""
    windows = metric_measures.training_windows(period.months, period.date_to,
                                               policy.training.valid_months)
    after = case({i: w[0] for i, w in enumerate(windows)}, value=named.c.month)
    last = case({i: w[1] for i, w in enumerate(windows)}, value=named.c.month)
    trained = exists().where(TrainingRecord.officer == named.c.officer,
                             TrainingRecord.course.in_(policy.training.courses),
                             TrainingRecord.completed_on > after,
                             TrainingRecord.completed_on <= last)
    stmt = (select(named.c.month, func.count().label("officers"),
                   func.sum(case((trained, 1), else_=0)).label("trained"))
            .group_by(named.c.month).order_by(named.c.month))
    return [metric_figures.Tally("", "", int(row.month), int(row.trained or 0), int(row.officers))
            for row in run_core(session, stmt)]


def referral_figures(session: Session, policy: Policy, period: Period, area: str | None,
                     now: datetime) -> tuple[list[metric_figures.Tally], list[metric_figures.Sample]]:
    """Rec 16: specialist referrals made in the period with an outcome back,
    and the days each still-pending one has waited."""
    conditions = [period.contains(Referral.referred_at),
                  Referral.service.in_(policy.victims_code.specialist_services)]
    if area:
        conditions.append(Case.area_command == area)
    month = period.month_of(Referral.referred_at)
    stmt = (select(month, Case.area_command, Case.allocation_team, func.count(),
                   func.sum(case((Referral.outcome != PENDING, 1), else_=0)))
            .select_from(Referral).join(Case, Case.id == Referral.case_id)
            .where(*conditions).group_by(month, Case.area_command, Case.allocation_team))
    tallies = [metric_figures.Tally(a, team_name(t), int(mo), int(back or 0), int(n))
               for mo, a, t, n, back in run_core(session, stmt)]
    pending_stmt = (select(month, Case.area_command, Case.allocation_team, Referral.referred_at)
                    .select_from(Referral).join(Case, Case.id == Referral.case_id)
                    .where(*conditions, Referral.outcome == PENDING))
    samples = [metric_figures.Sample(a, team_name(t), int(mo), max(0.0, (now - at).total_seconds() / 86400))
               for mo, a, t, at in run_core(session, pending_stmt)]
    return tallies, samples


def programmes(session: Session, definition: m.MetricDefinition, period: Period,
               area: str | None) -> metric_figures.MetricResult:
    stmt = select(PerpetratorProgramme.area_command, PerpetratorProgramme.available_from,
                  PerpetratorProgramme.available_to)
    if area:
        stmt = stmt.where(PerpetratorProgramme.area_command == area)
    rows = [(a, start, end) for a, start, end in run_core(session, stmt)]
    return metric_measures.programmes_result(definition, rows, period.months, period.date_to)


def dip_tallies(session: Session, policy: Policy, period: Period,
                area: str | None) -> dict[str, list[metric_figures.Tally]]:
    """Checklist items answered on files reviewed in the period, overall and
    per item, by the sample's area, the file's team and the review month."""
    codes = {item.code: m.dip_item_code(item.code) for item in policy.dip_sampling.checklist}
    found: dict[str, list[metric_figures.Tally]] = {m.DIP_COMPLIANCE: [], **{c: [] for c in codes.values()}}
    conditions = [period.contains(DipSampleFile.reviewed_at)]
    if area:
        conditions.append(DipSample.area_command == area)
    month = period.month_of(DipSampleFile.reviewed_at)
    stmt = (select(month, DipSample.area_command, DipSampleFile.team, DipFinding.item,
                   func.count(), func.sum(case((DipFinding.passed, 1), else_=0)))
            .select_from(DipFinding)
            .join(DipSampleFile, DipSampleFile.id == DipFinding.file_id)
            .join(DipSample, DipSample.id == DipSampleFile.sample_id)
            .where(*conditions)
            .group_by(month, DipSample.area_command, DipSampleFile.team, DipFinding.item))
    for mo, a, team, item, answered, passed in run_core(session, stmt):
        tally = metric_figures.Tally(a, team_name(team), int(mo), int(passed or 0), int(answered))
        found[m.DIP_COMPLIANCE].append(tally)
        if item in codes:
            found[codes[item]].append(tally)
    return found


# --- drill-down: the referrals and files behind a figure -------------------------
def referral_rows(policy: Policy, code: str, part: str, period: Period, area: str | None,
                  team: str | None) -> Any:
    """The specialist referrals behind rec 16's figures, as (crime_ref,
    reported_at, area, team, detail) ordered by the referral: for the outcome
    figure its numerator has an outcome back; for the pending days both parts
    are the referrals still pending."""
    conditions = [period.contains(Referral.referred_at),
                  Referral.service.in_(policy.victims_code.specialist_services)]
    if area:
        conditions.append(Case.area_command == area)
    if team is not None:
        conditions.append(team_is(Case.allocation_team, team))
    if code == m.R16_PENDING_DAYS:
        conditions.append(Referral.outcome == PENDING)
    elif part == "numerator":
        conditions.append(Referral.outcome != PENDING)
    return (select(Case.crime_ref, Case.reported_at, Case.area_command, Case.allocation_team,
                   Referral.service + literal(" referral ") + Referral.outcome)
            .select_from(Referral).join(Case, Case.id == Referral.case_id)
            .where(*conditions).order_by(Referral.referred_at, Referral.id))


def dip_item_of(policy: Policy, code: str) -> str | None:
    """The checklist item a DIP_ figure is about (None for overall compliance)."""
    for item in policy.dip_sampling.checklist:
        if m.dip_item_code(item.code) == code:
            return item.code
    return None


def is_dip_metric(policy: Policy, code: str) -> bool:
    return code == m.DIP_COMPLIANCE or dip_item_of(policy, code) is not None


def dip_rows(policy: Policy, code: str, part: str, period: Period, area: str | None,
             team: str | None) -> Any:
    """The checklist answers behind the dip-sample figures, one row per item
    answered on a file reviewed in the period (the figures count answers), as
    (crime_ref, reported_at, area, team, detail): the sample, the item, met or
    not and the reviewer's note."""
    conditions = [period.contains(DipSampleFile.reviewed_at)]
    item = dip_item_of(policy, code)
    if item is not None:
        conditions.append(DipFinding.item == item)
    if part == "numerator":
        conditions.append(DipFinding.passed.is_(True))
    if area:
        conditions.append(DipSample.area_command == area)
    if team is not None:
        conditions.append(team_is(DipSampleFile.team, team))
    detail = (literal("sample ") + cast(DipSample.id, String) + literal(" · ")
              + DipFinding.item
              + case((DipFinding.passed, literal(" met")), else_=literal(" not met"))
              + case((DipFinding.note.is_not(None), literal(": ") + DipFinding.note),
                     else_=literal("")))
    return (select(DipSampleFile.crime_ref, Case.reported_at, DipSample.area_command,
                   DipSampleFile.team, detail)
            .select_from(DipFinding)
            .join(DipSampleFile, DipSampleFile.id == DipFinding.file_id)
            .join(DipSample, DipSample.id == DipSampleFile.sample_id)
            .join(Case, Case.crime_ref == DipSampleFile.crime_ref)
            .where(*conditions)
            .order_by(DipSampleFile.reviewed_at, DipSampleFile.id, DipFinding.item))
