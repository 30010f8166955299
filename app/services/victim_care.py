"""Victims' Code care on a case: needs assessment, enhanced rights, rights
explained, consent, and referrals to specialist support (ISAC, ISHA, Paladin,
the National Stalking Helpline, the local service) with their outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.errors import BadInput, NotFound
from app.services.cases import EditResult, RecordedItem, case_edit, not_in_future
from app.services.context import ServiceContext
from models import Case, Referral, VictimCare
from models.enums import AuditAction, ReferralOutcome, RiskLevel, SupportService
from seed.reference import organisation

_CARE_FIELDS = ("needs_assessed_at", "enhanced_rights", "rights_explained_at", "consent")


def _care_state(care: VictimCare | None) -> dict[str, object] | None:
    if care is None:
        return None
    return {name: getattr(care, name) for name in _CARE_FIELDS}


def update_victim_care(ctx: ServiceContext, *, crime_ref: str, needs_assessed_at: datetime | None,
                       enhanced_rights: bool, rights_explained_at: datetime | None,
                       consent: bool | None, expected_version: int) -> EditResult:
    """Set the needs assessment date, enhanced-rights eligibility, the date the
    victim's rights were explained, and consent to referral."""
    not_in_future(ctx, needs_assessed_at, "needs assessment date")
    not_in_future(ctx, rights_explained_at, "rights explained date")
    with case_edit(ctx, crime_ref, expected_version) as (session, case, version):
        care = session.execute(
            select(VictimCare).where(VictimCare.case_id == case.id)).scalars().first()
        before = _care_state(care)
        if care is None:
            care = VictimCare(case_id=case.id)  # type: ignore[arg-type]
        care.needs_assessed_at = needs_assessed_at
        care.enhanced_rights = bool(enhanced_rights)
        care.rights_explained_at = rights_explained_at
        care.consent = consent
        session.add(care)
        after = _care_state(care)
        if before == after:
            raise BadInput(f"victim care on {crime_ref}: nothing changed")
        ctx.audit(session, AuditAction.CREATE if before is None else AuditAction.UPDATE, "case",
                  crime_ref, reason="victim care updated", before=before, after=after)
    return EditResult(crime_ref, version, "victim care updated")


def refer_victim(ctx: ServiceContext, *, crime_ref: str, service: str, referred_at: datetime,
                 expected_version: int) -> RecordedItem:
    """Refer the victim to a support service. A domestic-abuse victim's referral
    needs their consent, except the automatic referral of high-risk cases."""
    services = [s.value for s in SupportService]
    service = (service or "").strip().upper()
    if service not in services:
        raise BadInput(f"service {service!r}: expected one of {', '.join(services)}")
    not_in_future(ctx, referred_at, "referral date")
    with case_edit(ctx, crime_ref, expected_version) as (session, case, version):
        if referred_at < case.reported_at:
            raise BadInput(f"referral date {referred_at.isoformat()} is before {crime_ref} "
                           "was reported")
        consent = session.execute(
            select(VictimCare.consent).where(VictimCare.case_id == case.id)).scalar()
        if case.domestic_abuse and consent is not True and case.risk_level != RiskLevel.HIGH:
            raise BadInput(f"{crime_ref} is domestic abuse: record the victim's consent to "
                           "referral (victim care) before referring")
        pending = session.execute(
            select(Referral.id).where(Referral.case_id == case.id, Referral.service == service,
                                      Referral.outcome == ReferralOutcome.PENDING)
        ).first()
        if pending:
            raise BadInput(f"the victim of {crime_ref} already has a pending referral to {service}")
        row = Referral(case_id=case.id, service=service, referred_at=referred_at,  # type: ignore[arg-type]
                       outcome=ReferralOutcome.PENDING, referred_by=ctx.actor.username)
        session.add(row)
        session.flush()
        ctx.audit(session, AuditAction.CREATE, "case", crime_ref,
                  reason=f"victim referred to {service}",
                  after={"referral_id": row.id, "service": service, "referred_at": referred_at,
                         "outcome": ReferralOutcome.PENDING.value})
        referral_id = int(row.id)  # type: ignore[arg-type]
    name = {s.code: s.name for s in organisation().services}.get(service, service)
    return RecordedItem(crime_ref, version, referral_id, f"victim referred to {name}")


def update_referral_outcome(ctx: ServiceContext, *, referral_id: int, outcome: str,
                            expected_version: int) -> EditResult:
    outcomes = [o.value for o in ReferralOutcome]
    outcome = (outcome or "").strip().lower()
    if outcome not in outcomes:
        raise BadInput(f"referral outcome {outcome!r}: expected one of {', '.join(outcomes)}")
    with ctx.read() as session:
        crime_ref = session.execute(
            select(Case.crime_ref).join(Referral, Referral.case_id == Case.id)
            .where(Referral.id == referral_id)
        ).scalar()
    if crime_ref is None:
        raise NotFound(f"referral {referral_id} is not in Vigil")
    with case_edit(ctx, crime_ref, expected_version) as (session, case, version):
        row = session.get(Referral, referral_id)
        if row is None or row.case_id != case.id:
            raise NotFound(f"referral {referral_id} is not in Vigil")
        if row.outcome == outcome:
            raise BadInput(f"referral {referral_id} to {row.service} is already {outcome}")
        before = {"referral_id": referral_id, "service": row.service, "outcome": row.outcome}
        row.outcome = outcome
        session.add(row)
        ctx.audit(session, AuditAction.UPDATE, "case", crime_ref,
                  reason=f"referral to {row.service}: outcome {outcome}",
                  before=before, after={**before, "outcome": outcome})
        service = row.service
    return EditResult(crime_ref, version, f"referral to {service}: {outcome}")
