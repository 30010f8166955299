"""Victims' Code care on a case: needs assessment, enhanced rights, rights
explained, consent, and referrals to specialist support (ISAC, ISHA, Paladin,
the National Stalking Helpline, the local service) with their outcome."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from app.errors import BadInput, NotFound
from app.rules.victim_care import (
    CareFacts,
    CareGapCode,
    CareState,
    ReferralFact,
    care_state,
    is_referral,
)
from app.services.audit_trail import audit_naming
from app.services.case_lock import edit_case
from app.services.case_views import EditResult, RecordedItem
from app.services.cases import not_in_future
from app.services.context import ServiceContext
from app.services.permissions import Permission
from models import Case, Classification, IncludedClassification, Referral, VictimCare
from models.enums import AuditAction, CaseStatus, ReferralOutcome, RiskLevel, SupportService
from seed.reference import organisation

_CARE_FIELDS = ("needs_assessed_at", "enhanced_rights", "rights_explained_at", "consent",
                "consent_at", "last_update_at", "vps_offered_at")
_KEEP = object()  # a keyword left out: the value Vigil holds stays


def _care_state(care: VictimCare | None) -> dict[str, object] | None:
    if care is None:
        return None
    return {name: getattr(care, name) for name in _CARE_FIELDS}


def update_victim_care(ctx: ServiceContext, *, crime_ref: str, needs_assessed_at: datetime | None,
                       enhanced_rights: bool, rights_explained_at: datetime | None,
                       consent: bool | None, expected_version: int,
                       consent_at: datetime | None | object = _KEEP,
                       last_update_at: datetime | None | object = _KEEP,
                       vps_offered_at: datetime | None | object = _KEEP) -> EditResult:
    """Set the needs assessment date, enhanced-rights eligibility (which sets
    the right-6 update clock), the date the victim's rights were explained,
    consent to referral (True given, False asked and refused, None not yet
    asked) and, when given, the date of the consent decision (now when the
    consent changes and no date is given), the last investigation update
    (right 6) and the Victim Personal Statement offer (right 7)."""
    not_in_future(ctx, needs_assessed_at, "needs assessment date")
    not_in_future(ctx, rights_explained_at, "rights explained date")
    for value, what in ((consent_at, "consent date"), (last_update_at, "update date"),
                        (vps_offered_at, "VPS offer date")):
        if isinstance(value, datetime):
            not_in_future(ctx, value, what)
    if consent is None and isinstance(consent_at, datetime):
        raise BadInput("consent date given, but consent is not yet asked")
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version) as (
            session, case, version):
        care = session.execute(
            select(VictimCare).where(VictimCare.case_id == case.id)).scalars().first()
        before = _care_state(care)
        if care is None:
            care = VictimCare(case_id=case.id)  # type: ignore[arg-type]
        if consent != care.consent and consent_at is _KEEP:
            consent_at = ctx.now() if consent is not None else None
        care.needs_assessed_at = needs_assessed_at
        care.enhanced_rights = bool(enhanced_rights)
        care.rights_explained_at = rights_explained_at
        care.consent = consent
        for name, value in (("consent_at", consent_at), ("last_update_at", last_update_at),
                            ("vps_offered_at", vps_offered_at)):
            if value is not _KEEP:
                setattr(care, name, value)
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
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version) as (
            session, case, version):
        if referred_at < case.reported_at:
            raise BadInput(f"referral date {referred_at.isoformat()} is before {crime_ref} "
                           "was reported")
        consent = session.execute(
            select(VictimCare.consent).where(VictimCare.case_id == case.id)).scalar()
        signposting = not is_referral(service, ctx.policy.victims_code)
        if (case.domestic_abuse and consent is not True and case.risk_level != RiskLevel.HIGH
                and not signposting):
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
    if signposting:
        return RecordedItem(crime_ref, version, referral_id,
                            f"victim signposted to {name} (signposting, not a referral)")
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
    with edit_case(ctx, crime_ref=crime_ref, expected_version=expected_version) as (
            session, case, version):
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


# --- the Victims' Code as the Code says (app.rules.victim_care) ---------------
@dataclass(frozen=True)
class VictimsCodeRow:
    crime_ref: str
    area_command: str
    allocation_team: str | None
    reported_at: datetime
    state: CareState

    def as_dict(self) -> dict[str, object]:
        return {
            "crime_ref": self.crime_ref, "area_command": self.area_command,
            "allocation_team": self.allocation_team, "reported_at": self.reported_at,
            "gaps": [gap.code for gap in self.state.gaps],
            "explanations": [gap.explanation for gap in self.state.gaps],
            "referred": self.state.referred, "consent_refused": self.state.consent_refused,
            "route": self.state.route.name if self.state.route else None,
            "update_due_at": self.state.update_due_at,
        }


@dataclass(frozen=True)
class VictimsCodeList:
    area: str | None
    built_at: datetime
    cases: int  # open stalking and harassment cases looked at
    rows: tuple[VictimsCodeRow, ...]  # those with something outstanding
    counts: dict[str, int]  # per gap code
    consent_refused: int  # counted apart: nothing outstanding


def _care_facts(session: Any, case_ids: list[int]
                ) -> tuple[dict[int, CareFacts], dict[int, tuple[str, str | None]]]:
    """Victim-care facts of the cases and their area and team (one read per
    table per batch)."""
    facts: dict[int, CareFacts] = {}
    places: dict[int, tuple[str, str | None]] = {}
    families = {c.code: c.family for c in session.execute(select(Classification)).scalars()}
    for start in range(0, len(case_ids), 5_000):
        batch = case_ids[start:start + 5_000]
        included: dict[int, set[str]] = defaultdict(set)
        for case_id, code in session.execute(
                select(IncludedClassification.case_id, IncludedClassification.code)
                .where(IncludedClassification.case_id.in_(batch))):
            included[case_id].add(families.get(code, ""))
        care = {c.case_id: c for c in session.execute(
            select(VictimCare).where(VictimCare.case_id.in_(batch))).scalars()}
        referrals: dict[int, list[ReferralFact]] = defaultdict(list)
        for r in session.execute(select(Referral).where(Referral.case_id.in_(batch))
                                 .order_by(Referral.referred_at, Referral.id)).scalars():
            referrals[r.case_id].append(ReferralFact(r.service, r.referred_at, r.outcome))
        for case in session.execute(select(Case).where(Case.id.in_(batch))).scalars():
            held = care.get(case.id)
            places[case.id] = (case.area_command, case.allocation_team)
            facts[case.id] = CareFacts(
                crime_ref=case.crime_ref, reported_at=case.reported_at,
                families=frozenset({families.get(case.principal_code, "")} | included[case.id]),
                risk_level=case.risk_level, domestic_abuse=case.domestic_abuse,
                open=case.status == CaseStatus.OPEN,
                enhanced_rights=held.enhanced_rights if held else True,
                needs_assessed_at=held.needs_assessed_at if held else None,
                rights_explained_at=held.rights_explained_at if held else None,
                consent=held.consent if held else None,
                consent_at=held.consent_at if held else None,
                last_update_at=held.last_update_at if held else None,
                vps_offered_at=held.vps_offered_at if held else None,
                referrals=tuple(referrals[case.id]))
    return facts, places


def victims_code_list(ctx: ServiceContext, *, area: str | None = None,
                      codes: tuple[str, ...] = ()) -> VictimsCodeList:
    """The open stalking and harassment cases of ``area`` (force-wide when
    None) with something outstanding under the Victims' Code: needs
    assessment or specialist referral late, referral outside the route or
    pending too long, investigation update late (1 working day with enhanced
    rights, 5 otherwise), VPS not offered. A victim who refused consent is
    counted apart and has nothing outstanding for referral. ``codes`` keeps
    only cases with one of those gaps. The view is audited."""
    ctx.require(Permission.VIEW_CASE, entity="victims_code", entity_id=area)
    unknown = [c for c in codes if c not in set(CareGapCode)]
    if unknown:
        raise BadInput(f"gap {unknown[0]!r}: expected one of {', '.join(CareGapCode)}")
    now = ctx.now()
    policy = ctx.policy
    with ctx.read() as session:
        wanted = [c.code for c in session.execute(select(Classification)).scalars()
                  if c.family in policy.dmm.case_families]
        stmt = (select(Case.id).where(Case.status == CaseStatus.OPEN,
                                      or_(Case.principal_code.in_(wanted),
                                          select(IncludedClassification.id)
                                          .where(IncludedClassification.case_id == Case.id,
                                                 IncludedClassification.code.in_(wanted))
                                          .exists()))
                .order_by(Case.reported_at, Case.crime_ref))
        if area:
            stmt = stmt.where(Case.area_command == area)
        ids = list(session.execute(stmt).scalars())
        facts, places = _care_facts(session, ids)
    rows: list[VictimsCodeRow] = []
    counts: dict[str, int] = {code.value: 0 for code in CareGapCode}
    refused = 0
    for case_id in ids:
        fact = facts[case_id]
        state = care_state(fact, now, policy)
        refused += state.consent_refused
        for gap in state.codes:
            counts[gap] += 1
        if not state.gaps or (codes and not set(codes) & set(state.codes)):
            continue
        place_area, place_team = places[case_id]
        rows.append(VictimsCodeRow(fact.crime_ref, place_area, place_team, fact.reported_at,
                                   state))
    with ctx.write() as session:
        audit_naming(ctx, session, AuditAction.VIEW, "victims_code", area,
                     [r.crime_ref for r in rows],
                     reason=f"Victims' Code list ({area or 'force-wide'}): {len(rows)} cases "
                            f"listed of {len(ids)} open")
    return VictimsCodeList(area=area, built_at=now, cases=len(ids), rows=tuple(rows),
                           counts=counts, consent_refused=refused)
