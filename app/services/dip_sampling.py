"""Dip sampling of stalking and harassment case files.

An analyst or auditor draws a sample for an area command and period, naming
the auditor who reviews it; the reviewer answers the policy's checklist for
each file (a note on every item not met). Drawing, viewing and reviewing are
audited and name the cases. Compliance per item, area and period is an
assurance figure (``DIP_*`` in :mod:`app.rules.metrics`), and
:func:`sample_report` gives it with the notes of the failed items.

The checklist is policy data with a version: a sample keeps the version it
was drawn under, and a review is refused once the policy's checklist has
moved on (the answers would be to other questions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from app.errors import BadInput, NotFound
from app.rules import metric_figures
from app.rules import metrics as m
from app.rules import sampling as rules
from app.services import assurance_more
from app.services.assurance_sql import check_area, report_period
from app.services.audit_trail import audit_naming
from app.services.context import ServiceContext
from app.services.permissions import Permission, is_allowed
from models import (
    Allocation,
    Case,
    Classification,
    DipFinding,
    DipSample,
    DipSampleFile,
    DmmItem,
    IncludedClassification,
    RiskAssessment,
    ScreeningFlag,
    SpoDecision,
    User,
)
from models.enums import AuditAction

SAMPLED_FAMILIES = ("stalking", "harassment")
ENTITY = "dip_sample"


@dataclass(frozen=True)
class SampleSummary:
    sample_id: int
    area: str
    date_from: date
    date_to: date  # first day not counted
    reviewer: str
    checklist_version: str
    seed: int
    per_stratum: int
    drawn_by: str
    drawn_at: datetime
    files: int
    reviewed: int


@dataclass(frozen=True)
class Finding:
    item: str
    text: str
    passed: bool
    note: str | None


@dataclass(frozen=True)
class SampleFile:
    file_id: int
    crime_ref: str
    stratum: str
    team: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class SampleDetail:
    summary: SampleSummary
    files: tuple[SampleFile, ...]
    checklist: tuple[tuple[str, str], ...]  # (code, text) of the sample's version, if current


@dataclass(frozen=True)
class DrawResult:
    summary: SampleSummary
    strata: dict[str, int]
    excluded_own: tuple[str, ...]
    files: tuple[SampleFile, ...]


@dataclass(frozen=True)
class FailedItem:
    crime_ref: str
    area: str
    item: str
    note: str
    reviewed_at: datetime


@dataclass(frozen=True)
class SampleReport:
    date_from: date
    date_to: date
    area: str | None
    checklist_version: str
    results: tuple[metric_figures.MetricResult, ...]
    failed: tuple[FailedItem, ...]
    files_reviewed: int


# --- drawing -------------------------------------------------------------
def _reviewer(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username.strip().casefold())
                           ).scalars().first()
    if user is None or not user.active:
        raise BadInput(f"reviewer {username!r}: no active user of that name")
    if not is_allowed(user.role, Permission.REVIEW_SAMPLE, user_area=user.area_command,
                      target_area=None):
        raise BadInput(f"reviewer {user.username!r} is a {user.role}: reviewers of dip samples "
                       "are auditors")
    return user


def _candidates(session: Session, area: str, start: datetime, end: datetime) -> list[rules.Candidate]:
    families = dict(session.execute(select(Classification.code, Classification.family)).all())
    stalking = {c for c, s in session.execute(
        select(Classification.code, Classification.is_stalking)).all() if s}
    codes = [c for c, f in families.items() if f in SAMPLED_FAMILIES] + sorted(stalking)
    inc = IncludedClassification
    has_included = select(inc.case_id).where(inc.case_id == Case.id, inc.code.in_(codes)).exists()
    rows = session.execute(
        select(Case.id, Case.crime_ref, Case.principal_code, Case.risk_level,
               Case.allocation_team, Case.officer)
        .where(Case.area_command == area, Case.reported_at >= start, Case.reported_at < end,
               or_(Case.principal_code.in_(codes), has_included))
        .order_by(Case.crime_ref)).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    included: dict[int, set[str]] = {}
    assessors: dict[int, set[str]] = {}
    deciders: dict[int, set[str]] = {}
    officers: dict[int, set[str]] = {}
    for start_at in range(0, len(ids), 500):
        chunk = ids[start_at:start_at + 500]
        for case_id, code in session.execute(select(inc.case_id, inc.code)
                                             .where(inc.case_id.in_(chunk))):
            included.setdefault(case_id, set()).add(code)
        for case_id, assessor, approver in session.execute(
                select(RiskAssessment.case_id, RiskAssessment.assessor, RiskAssessment.approved_by)
                .where(RiskAssessment.case_id.in_(chunk))):
            assessors.setdefault(case_id, set()).add(assessor)
            if approver:
                deciders.setdefault(case_id, set()).add(approver)
        for table in (SpoDecision, ScreeningFlag, DmmItem):
            for case_id, decided_by in session.execute(
                    select(table.case_id, table.decided_by)  # type: ignore[attr-defined]
                    .where(table.case_id.in_(chunk),  # type: ignore[attr-defined]
                           table.decided_by.is_not(None))):  # type: ignore[attr-defined]
                deciders.setdefault(case_id, set()).add(decided_by)
        for case_id, officer in session.execute(
                select(Allocation.case_id, Allocation.officer)
                .where(Allocation.case_id.in_(chunk), Allocation.officer.is_not(None))):
            officers.setdefault(case_id, set()).add(officer)
    found = []
    for r in rows:
        codes_of = {r.principal_code, *included.get(r.id, ())}
        family = "stalking" if codes_of & stalking else families.get(r.principal_code, "other")
        if family not in SAMPLED_FAMILIES:
            family = "harassment"
        found.append(rules.Candidate(
            crime_ref=r.crime_ref, risk_level=r.risk_level, family=family,
            team=r.allocation_team, officer=r.officer,
            assessors=frozenset(assessors.get(r.id, ())),
            deciders=frozenset(deciders.get(r.id, set()) | officers.get(r.id, set())),
        ))
    return found


def draw_sample(ctx: ServiceContext, *, area: str, date_from: date, date_to: date,
                reviewer: str, seed: int | None = None,
                per_stratum: int | None = None) -> DrawResult:
    """Draw and store a sample of ``area``'s stalking and harassment files
    reported in ``[date_from, date_to)``, for ``reviewer`` (an auditor) to
    review. The same cases, seed and size give the same files."""
    ctx.require(Permission.DRAW_SAMPLE, entity=ENTITY)
    period = report_period(date_from, date_to)
    policy = ctx.policy.dip_sampling
    size = per_stratum if per_stratum is not None else policy.per_stratum
    if size < 1:
        raise BadInput(f"per stratum: {size}: must be at least 1")
    if not policy.checklist:
        raise BadInput("the policy has no dip-sampling checklist ([dip_sampling] checklist)")
    now = ctx.now()
    if seed is None:
        seed = int(now.timestamp())
    with ctx.write() as session:
        area_name = check_area(session, area, ctx.policy)
        if area_name is None:
            raise BadInput("area: a sample is drawn for one area command")
        user = _reviewer(session, reviewer)
        candidates = _candidates(session, area_name, period.start, period.end)
        drawn = rules.draw(candidates, seed=seed, per_stratum=size,
                           reviewer_names=[user.username, user.display_name])
        sample = DipSample(area_command=area_name, period_from=date_from, period_to=date_to,
                           seed=seed, per_stratum=size, reviewer=user.username,
                           checklist_version=policy.checklist_version,
                           drawn_by=ctx.actor.username, drawn_at=now)
        session.add(sample)
        session.flush()
        for file in drawn.files:
            session.add(DipSampleFile(sample_id=sample.id, crime_ref=file.candidate.crime_ref,
                                      stratum=file.stratum, team=file.candidate.team))
        session.flush()
        refs = [f.candidate.crime_ref for f in drawn.files]
        audit_naming(ctx, session, AuditAction.CREATE, ENTITY, sample.id, refs,
                     reason=f"dip sample drawn: {area_name}, reported {date_from.isoformat()} "
                            f"to {date_to.isoformat()} (first day not counted), seed {seed}, "
                            f"{size} per stratum, reviewer {user.username}; "
                            f"{len(drawn.excluded_own)} of the reviewer's own cases left out",
                     after={"files": refs, "strata": dict(drawn.strata),
                            "excluded_own": list(drawn.excluded_own),
                            "checklist_version": policy.checklist_version})
        summary = _summary(session, sample)
        files = _files(session, sample.id, {})  # type: ignore[arg-type]
    return DrawResult(summary, dict(drawn.strata), drawn.excluded_own, files)


# --- reading -------------------------------------------------------------
def _summary(session: Session, sample: DipSample) -> SampleSummary:
    total, reviewed = session.execute(
        select(func.count(DipSampleFile.id), func.count(DipSampleFile.reviewed_at))
        .where(DipSampleFile.sample_id == sample.id)).one()
    return SampleSummary(
        sample_id=int(sample.id),  # type: ignore[arg-type]
        area=sample.area_command, date_from=sample.period_from, date_to=sample.period_to,
        reviewer=sample.reviewer, checklist_version=sample.checklist_version, seed=sample.seed,
        per_stratum=sample.per_stratum, drawn_by=sample.drawn_by, drawn_at=sample.drawn_at,
        files=int(total), reviewed=int(reviewed))


def _files(session: Session, sample_id: int, texts: dict[str, str]) -> tuple[SampleFile, ...]:
    files = session.execute(select(DipSampleFile).where(DipSampleFile.sample_id == sample_id)
                            .order_by(DipSampleFile.stratum, DipSampleFile.crime_ref)
                            ).scalars().all()
    findings: dict[int, list[Finding]] = {}
    ids = [f.id for f in files]
    if ids:
        for row in session.execute(select(DipFinding).where(DipFinding.file_id.in_(ids))
                                   .order_by(DipFinding.id)).scalars():
            findings.setdefault(row.file_id, []).append(
                Finding(row.item, texts.get(row.item, row.item), row.passed, row.note))
    return tuple(SampleFile(int(f.id), f.crime_ref, f.stratum, f.team,  # type: ignore[arg-type]
                            f.reviewed_by, f.reviewed_at, tuple(findings.get(f.id, ())))  # type: ignore[arg-type]
                 for f in files)


def list_samples(ctx: ServiceContext, *, area: str | None = None) -> list[SampleSummary]:
    """Every sample, newest first (no case named: counts only)."""
    ctx.require(Permission.VIEW_SAMPLES, entity=ENTITY)
    with ctx.read() as session:
        stmt = select(DipSample).order_by(DipSample.drawn_at.desc(), DipSample.id.desc())
        if area and area.strip():
            stmt = stmt.where(DipSample.area_command == check_area(session, area, ctx.policy))
        found = [_summary(session, s) for s in session.execute(stmt).scalars().all()]
    with ctx.write() as session:
        ctx.audit(session, AuditAction.VIEW, ENTITY, None,
                  reason=f"dip samples listed ({len(found)})")
    return found


def _checklist(ctx: ServiceContext, version: str) -> tuple[tuple[str, str], ...]:
    policy = ctx.policy.dip_sampling
    if policy.checklist_version != version:
        return ()
    return tuple((item.code, item.text) for item in policy.checklist)


def sample_detail(ctx: ServiceContext, sample_id: int) -> SampleDetail:
    """A sample's files and the findings recorded so far (a view of the cases)."""
    ctx.require(Permission.VIEW_SAMPLES, entity=ENTITY, entity_id=str(sample_id))
    with ctx.read() as session:
        sample = session.get(DipSample, sample_id)
        if sample is None:
            raise NotFound(f"dip sample {sample_id} does not exist")
        checklist = _checklist(ctx, sample.checklist_version)
        detail = SampleDetail(_summary(session, sample),
                              _files(session, sample_id, dict(checklist)), checklist)
    with ctx.write() as session:
        audit_naming(ctx, session, AuditAction.VIEW, ENTITY, sample_id,
                     [f.crime_ref for f in detail.files],
                     reason=f"dip sample {sample_id} viewed ({len(detail.files)} files)")
    return detail


# --- reviewing -----------------------------------------------------------
def record_review(ctx: ServiceContext, *, sample_id: int, crime_ref: str,
                  answers: dict[str, bool], notes: dict[str, str] | None = None) -> SampleFile:
    """The reviewer's findings on one file: every checklist item met or not,
    with a note on each item not met. Only the sample's reviewer, never on
    their own case; a second review replaces the first (both audited)."""
    ctx.require(Permission.REVIEW_SAMPLE, entity=ENTITY, entity_id=str(sample_id))
    notes = {k: v for k, v in (notes or {}).items()}
    now = ctx.now()
    with ctx.write() as session:
        sample = session.get(DipSample, sample_id)
        if sample is None:
            raise NotFound(f"dip sample {sample_id} does not exist")
        if sample.reviewer != ctx.actor.username:
            raise BadInput(f"dip sample {sample_id} is for {sample.reviewer} to review, "
                           f"not {ctx.actor.username}")
        checklist = _checklist(ctx, sample.checklist_version)
        if not checklist:
            raise BadInput(f"dip sample {sample_id} was drawn under checklist version "
                           f"{sample.checklist_version}; the policy's checklist is now version "
                           f"{ctx.policy.dip_sampling.checklist_version}: draw a new sample")
        file = session.execute(select(DipSampleFile).where(
            DipSampleFile.sample_id == sample_id,
            DipSampleFile.crime_ref == crime_ref.strip())).scalars().first()
        if file is None:
            raise NotFound(f"{crime_ref} is not a file of dip sample {sample_id}")
        items = [code for code, _ in checklist]
        problems = rules.check_review(items, answers, notes)
        if problems:
            raise BadInput("; ".join(f"review of {crime_ref}: {p.item}: {p.problem}"
                                     for p in problems))
        own = _candidates_for_ref(session, sample, file.crime_ref)
        if own is not None and rules.own_case(own, [ctx.actor.username, ctx.actor.display_name]):
            raise BadInput(f"{crime_ref} is {ctx.actor.username}'s own case (officer, assessor "
                           "or deciding supervisor): another reviewer must review it")
        existing = {f.item: f for f in session.execute(
            select(DipFinding).where(DipFinding.file_id == file.id)).scalars()}
        before = {i: {"passed": f.passed, "note": f.note} for i, f in existing.items()} or None
        for item in items:
            note = (notes.get(item) or "").strip() or None
            row = existing.get(item)
            if row is None:
                session.add(DipFinding(file_id=file.id, item=item, passed=answers[item], note=note))
            else:
                row.passed = answers[item]
                row.note = note
                session.add(row)
        file.reviewed_by = ctx.actor.username
        file.reviewed_at = now
        session.add(file)
        session.flush()
        after = {i: {"passed": answers[i], "note": (notes.get(i) or "").strip() or None}
                 for i in items}
        met = sum(1 for i in items if answers[i])
        audit_naming(ctx, session, AuditAction.UPDATE, ENTITY, sample_id, [file.crime_ref],
                     reason=f"dip sample {sample_id}: {file.crime_ref} reviewed, {met} of "
                            f"{len(items)} items met", before=before, after=after)
        result = _files(session, sample_id, dict(checklist))
    return next(f for f in result if f.crime_ref == file.crime_ref)


def _candidates_for_ref(session: Session, sample: DipSample, crime_ref: str) -> rules.Candidate | None:
    period = report_period(sample.period_from, sample.period_to)
    for candidate in _candidates(session, sample.area_command, period.start, period.end):
        if candidate.crime_ref == crime_ref:
            return candidate
    return None


# --- the report ----------------------------------------------------------
def sample_report(ctx: ServiceContext, *, date_from: date, date_to: date,
                  area: str | None = None) -> SampleReport:
    """Compliance of the files reviewed in ``[date_from, date_to)``: overall,
    per checklist item, by area and month, with the note of every item not met."""
    ctx.require(Permission.VIEW_SAMPLES, entity=ENTITY)
    period = report_period(date_from, date_to)
    policy = ctx.policy
    definitions = [d for d in m.metric_definitions(policy) if d.recommendation == "dip"]
    with ctx.read() as session:
        area = check_area(session, area, ctx.policy)
        tallies = assurance_more.dip_tallies(session, policy, period, area)
        conditions: list[Any] = [period.contains(DipSampleFile.reviewed_at),
                                 DipFinding.passed.is_(False)]
        if area:
            conditions.append(DipSample.area_command == area)
        failed = tuple(
            FailedItem(r.crime_ref, r.area_command, r.item, r.note or "", r.reviewed_at)
            for r in session.execute(
                select(DipSampleFile.crime_ref, DipSample.area_command, DipFinding.item,
                       DipFinding.note, DipSampleFile.reviewed_at)
                .select_from(DipFinding)
                .join(DipSampleFile, DipSampleFile.id == DipFinding.file_id)
                .join(DipSample, DipSample.id == DipSampleFile.sample_id)
                .where(*conditions)
                .order_by(DipSampleFile.reviewed_at, DipSampleFile.crime_ref, DipFinding.item)))
        reviewed_conditions: list[Any] = [period.contains(DipSampleFile.reviewed_at)]
        if area:
            reviewed_conditions.append(DipSample.area_command == area)
        files_reviewed = int(session.execute(
            select(func.count()).select_from(DipSampleFile)
            .join(DipSample, DipSample.id == DipSampleFile.sample_id)
            .where(*reviewed_conditions)).scalar_one())
    results = tuple(metric_figures.summarise_tallies(d, tallies.get(d.code, []), period.months)
                    for d in definitions)
    report = SampleReport(date_from, date_to, area, policy.dip_sampling.checklist_version,
                          results, failed, files_reviewed)
    with ctx.write() as session:
        audit_naming(ctx, session, AuditAction.VIEW, ENTITY, None,
                     [f.crime_ref for f in failed],
                     reason=f"dip sample compliance {date_from.isoformat()} to "
                            f"{date_to.isoformat()} (first day not counted), "
                            f"{area or 'force-wide'}: {files_reviewed} files reviewed")
    return report
