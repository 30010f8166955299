"""The edits made on an open case, each through the one edit path
(:func:`app.services.case_lock.edit_case`) with its audit event: included
classifications added and removed, reallocation (checked against the
allocation policy), searches under the stalking powers and multi-agency
referrals recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from app.errors import BadInput
from app.rules.allocation import (
    AllocationFacts,
    check_allocation,
    families_of,
    team_moves,
    too_many_moves,
)
from app.services.case_lock import edit_case
from app.services.case_views import (
    EditResult,
    ReallocationResult,
    RecordedItem,
    policy_check,
)
from app.services.cases import not_in_future, required_text
from app.services.context import ServiceContext
from models import (
    Allocation,
    Breach,
    Case,
    Classification,
    IncludedClassification,
    MultiAgencyReferral,
    SearchRecord,
)
from models.enums import AuditAction, ClassificationSource, MultiAgencyKind
from seed.reference import force_organisation, organisation


# --- classifications ------------------------------------------------------------
def add_included_classification(ctx: ServiceContext, *, crime_ref: str, code: str, reason: str,
                                expected_version: int,
                                source: str = ClassificationSource.RECORDING) -> EditResult:
    """Record another crime on the same report (rec 7): searchable, not counted."""
    code = (code or "").strip().upper()
    why = required_text(reason, "a reason for adding the classification")
    if source not in {s.value for s in ClassificationSource}:
        raise BadInput(f"source {source!r}: expected one of "
                       f"{', '.join(s.value for s in ClassificationSource)}")
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version) as (
            session, case, version):
        ref = session.get(Classification, code)
        if ref is None:
            raise BadInput(f"classification {code!r} is not a known Home Office class")
        if code == case.principal_code:
            raise BadInput(f"{code} is already the principal classification of {crime_ref}")
        existing = session.execute(
            select(IncludedClassification.id).where(IncludedClassification.case_id == case.id,
                                                    IncludedClassification.code == code)
        ).first()
        if existing:
            raise BadInput(f"{code} is already an included classification of {crime_ref}")
        before = sorted(c for c in _included(session, case.id))
        session.add(IncludedClassification(case_id=case.id, code=code, source=source,
                                           added_by=ctx.actor.username, added_at=ctx.now(),
                                           reason=why))
        ctx.audit(session, AuditAction.CREATE, "case", crime_ref,
                  reason=f"included classification {code} added: {why}",
                  before={"included_codes": before},
                  after={"included_codes": sorted([*before, code]), "code": code,
                         "title": ref.title, "source": source})
    return EditResult(crime_ref, version, f"{code} {ref.title} added as an included classification")


def remove_included_classification(ctx: ServiceContext, *, crime_ref: str, code: str, reason: str,
                                   expected_version: int) -> EditResult:
    code = (code or "").strip().upper()
    why = required_text(reason, "a reason for removing the classification")
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version) as (
            session, case, version):
        row = session.execute(
            select(IncludedClassification).where(IncludedClassification.case_id == case.id,
                                                 IncludedClassification.code == code)
        ).scalars().first()
        if row is None:
            raise BadInput(f"{code} is not an included classification of {crime_ref}")
        before = sorted(_included(session, case.id))
        removed = {"code": row.code, "source": row.source, "added_by": row.added_by,
                   "added_at": row.added_at, "reason": row.reason}
        session.delete(row)
        ctx.audit(session, AuditAction.DELETE, "case", crime_ref,
                  reason=f"included classification {code} removed: {why}",
                  before={"included_codes": before, "removed": removed},
                  after={"included_codes": [c for c in before if c != code]})
    return EditResult(crime_ref, version, f"{code} removed from the included classifications")


def _included(session: Session, case_id: int) -> list[str]:
    return list(session.execute(
        select(IncludedClassification.code).where(IncludedClassification.case_id == case_id)
    ).scalars())


# --- allocation -----------------------------------------------------------------
def reallocate(ctx: ServiceContext, *, crime_ref: str, team: str, officer: str | None, reason: str,
               expected_version: int) -> ReallocationResult:
    """Move the case to ``team`` (and ``officer``) with a reason; the result
    carries the allocation policy's verdict on the new team."""
    team = (team or "").strip()
    officer = (officer or "").strip() or None
    why = required_text(reason, "a reason for the reallocation")
    teams = force_organisation(ctx.policy).teams
    if team not in teams:
        raise BadInput(f"team {team!r}: expected one of {', '.join(teams)}")
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version) as (
            session, case, version):
        if case.allocation_team == team and case.officer == officer:
            raise BadInput(f"{crime_ref} is already allocated to {team}"
                           + (f" ({officer})" if officer else ""))
        before = {"team": case.allocation_team, "officer": case.officer}
        now = ctx.now()
        session.add(Allocation(case_id=case.id, team=team, officer=officer, allocated_at=now,
                               allocated_by=ctx.actor.username, reason=why))
        case.allocation_team = team
        case.officer = officer
        session.add(case)
        session.flush()
        facts = _allocation_facts(session, case)
        history = list(session.execute(
            select(Allocation.team).where(Allocation.case_id == case.id)
            .order_by(Allocation.allocated_at, Allocation.id)
        ).scalars())
        check = policy_check(check_allocation(facts, ctx.policy.allocation))
        moves = team_moves(history)
        too_many = too_many_moves(history, ctx.policy.allocation)
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"reallocated to {team}: {why}",
                  before=before,
                  after={"team": team, "officer": officer, "policy_compliant": check.compliant,
                         "policy": check.explanation, "team_moves": moves})
    verdict = "complies with policy" if check.compliant else f"contrary to policy: {check.explanation}"
    return ReallocationResult(crime_ref=crime_ref, version=version, team=team, officer=officer,
                              policy_check=check, team_moves=moves, too_many_moves=too_many,
                              message=f"{crime_ref} reallocated to {team}; {verdict}")


def _allocation_facts(session: Session, case: Case) -> AllocationFacts:
    codes = [case.principal_code, *_included(session, case.id)]  # type: ignore[arg-type]
    family_by_code = dict(session.execute(
        select(Classification.code, Classification.family).where(Classification.code.in_(codes))
    ).all())
    original_team = session.execute(
        select(Case.allocation_team)
        .join(Breach, Breach.original_case_id == Case.id)
        .where(Breach.breach_case_id == case.id)
    ).scalar()
    return AllocationFacts(families=families_of(codes, family_by_code), risk_level=case.risk_level,
                           domestic_abuse=case.domestic_abuse, team=case.allocation_team,
                           original_team=original_team)


# --- searches under the stalking powers ------------------------------------------
def record_search(ctx: ServiceContext, *, crime_ref: str, power: str, conducted_at: datetime,
                  officer: str, authorised_by: str | None, premises: str | None,
                  items_seized: str | None, expected_version: int) -> RecordedItem:
    """Record a search of premises (PHA 1997 s2B or other powers) for audit."""
    powers = organisation().search_powers
    if power not in powers:
        raise BadInput(f"power {power!r}: expected one of {'; '.join(powers)}")
    officer = required_text(officer, "the officer who searched")
    not_in_future(ctx, conducted_at, "search date")
    authorised_by = (authorised_by or "").strip() or None
    premises = (premises or "").strip() or None
    items_seized = (items_seized or "").strip() or None
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version) as (
            session, case, version):
        row = SearchRecord(case_id=case.id, power=power, conducted_at=conducted_at,  # type: ignore[arg-type]
                           officer=officer, authorised_by=authorised_by, premises=premises,
                           items_seized=items_seized, recorded_by=ctx.actor.username,
                           recorded_at=ctx.now())
        session.add(row)
        session.flush()
        ctx.audit(session, AuditAction.CREATE, "case", crime_ref,
                  reason=f"search recorded under {power}",
                  after={"search_id": row.id, "power": power, "conducted_at": conducted_at,
                         "officer": officer, "authorised_by": authorised_by,
                         "premises": premises, "items_seized": items_seized})
        item_id = int(row.id)  # type: ignore[arg-type]
    return RecordedItem(crime_ref, version, item_id, f"search under {power} recorded")


# --- multi-agency referrals -------------------------------------------------------
def record_multi_agency_referral(ctx: ServiceContext, *, crime_ref: str, kind: str,
                                 referred_at: datetime, expected_version: int,
                                 outcome: str | None = None) -> RecordedItem:
    """Record a MARAC, MAPPA or MASIP referral and its date."""
    kinds = [k.value for k in MultiAgencyKind]
    if kind not in kinds:
        raise BadInput(f"multi-agency referral {kind!r}: expected one of {', '.join(kinds)}")
    not_in_future(ctx, referred_at, "referral date")
    outcome = (outcome or "").strip() or None
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version) as (
            session, case, version):
        row = MultiAgencyReferral(case_id=case.id, kind=kind, referred_at=referred_at,  # type: ignore[arg-type]
                                  referred_by=ctx.actor.username, outcome=outcome)
        session.add(row)
        session.flush()
        ctx.audit(session, AuditAction.CREATE, "case", crime_ref,
                  reason=f"{kind} referral recorded",
                  after={"referral_id": row.id, "kind": kind, "referred_at": referred_at,
                         "outcome": outcome})
        item_id = int(row.id)  # type: ignore[arg-type]
    return RecordedItem(crime_ref, version, item_id, f"{kind} referral recorded")
