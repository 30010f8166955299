"""The export's reads: every file of the extract as rows (dicts by column
name) for the cases a :class:`CaseFilter` selects, streamed a page at a
time (keyset paging) in a fixed order: by crime_ref, then by the record's
own key; orders and breaches by their reference."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.rms.formats import (
    BREACHES,
    CRIMES,
    MULTI_AGENCY,
    OFFICER_TRAINING,
    ORDERS,
    PERPETRATOR_REFERRALS,
    PROGRAMMES,
    RISK,
    SEARCHES,
    SPO_DECISIONS,
    VICTIM_CARE,
    all_columns,
    format_consent,
    format_when,
)
from app.rms.tables import (
    T_BREACH,
    T_CARE,
    T_CASE,
    T_INCLUDED,
    T_MULTI_AGENCY,
    T_ORDER,
    T_PERPETRATOR_REFERRAL,
    T_PERSON,
    T_PROGRAMME,
    T_REFERRAL,
    T_RISK,
    T_SEARCH,
    T_SPO_DECISION,
    T_TRAINING,
)

PAGE = 5_000


@dataclass(frozen=True)
class CaseFilter:
    """Which cases to export: an area command, and reported from/to (UTC)."""

    area: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None

    def describe(self) -> str:
        parts = []
        if self.area:
            parts.append(f"area {self.area}")
        if self.reported_from:
            parts.append(f"reported from {format_when(self.reported_from)}")
        if self.reported_to:
            parts.append(f"reported before {format_when(self.reported_to)}")
        return ", ".join(parts) or "all cases"

    def where(self, stmt: Select[Any]) -> Select[Any]:
        if self.area:
            stmt = stmt.where(T_CASE.c.area_command == self.area)
        if self.reported_from:
            stmt = stmt.where(T_CASE.c.reported_at >= self.reported_from)
        if self.reported_to:
            stmt = stmt.where(T_CASE.c.reported_at < self.reported_to)
        return stmt



# --- reading, a page at a time --------------------------------------------
def case_pages(session: Session, flt: CaseFilter) -> Iterator[list[Any]]:
    """Pages of cases in crime_ref order (keyset paging: no OFFSET scans)."""
    victim = T_PERSON.alias("victim")
    suspect = T_PERSON.alias("suspect")
    base = (
        select(
            T_CASE.c.id, T_CASE.c.crime_ref, T_CASE.c.reported_at, T_CASE.c.area_command,
            T_CASE.c.principal_code, victim.c.person_ref.label("victim_ref"),
            suspect.c.person_ref.label("suspect_ref"), T_CASE.c.relationship,
            T_CASE.c.domestic_abuse, T_CASE.c.online, T_CASE.c.allocation_team, T_CASE.c.officer,
            T_CASE.c.status, T_CASE.c.pin_issued, T_CASE.c.summary, T_CASE.c.closed_at,
            T_CASE.c.outcome, T_CASE.c.reassessment_due_at, T_CASE.c.pin_authorised_by,
            T_CASE.c.arrested_at, T_CASE.c.digital_enquiries,
        )
        .select_from(
            T_CASE.join(victim, victim.c.id == T_CASE.c.victim_id)
            .outerjoin(suspect, suspect.c.id == T_CASE.c.suspect_id)
        )
        .order_by(T_CASE.c.crime_ref)
        .limit(PAGE)
    )
    base = flt.where(base)
    last: str | None = None
    while True:
        stmt = base if last is None else base.where(T_CASE.c.crime_ref > last)
        page = session.execute(stmt).all()
        if not page:
            return
        yield page
        last = page[-1].crime_ref
        if len(page) < PAGE:
            return


def crime_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    for page in case_pages(session, flt):
        included: dict[int, list[str]] = defaultdict(list)
        for case_id, code in session.execute(
            select(T_INCLUDED.c.case_id, T_INCLUDED.c.code)
            .where(T_INCLUDED.c.case_id.in_([row.id for row in page]))
        ):
            included[case_id].append(code)
        for row in page:
            yield {
                "crime_ref": row.crime_ref,
                "reported_at": row.reported_at,
                "area_command": row.area_command,
                "principal_code": row.principal_code,
                "included_codes": sorted(included.get(row.id, [])),
                "victim_ref": row.victim_ref,
                "suspect_ref": row.suspect_ref,
                "relationship": row.relationship,
                "domestic_abuse": row.domestic_abuse,
                "online": row.online,
                "allocation_team": row.allocation_team,
                "officer": row.officer,
                "status": row.status,
                "pin_issued": row.pin_issued,
                "summary": row.summary,
                "closed_at": row.closed_at,
                "outcome": row.outcome,
                "reassessment_due_at": row.reassessment_due_at,
                "pin_authorised_by": row.pin_authorised_by,
                "arrested_at": row.arrested_at,
                "digital_enquiries": row.digital_enquiries,
            }


def _risk_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    for page in case_pages(session, flt):
        refs = {row.id: row.crime_ref for row in page}
        rows = session.execute(
            select(T_RISK.c.case_id, T_RISK.c.assessed_at, T_RISK.c.tool, T_RISK.c.answers,
                   T_RISK.c.level, T_RISK.c.rationale, T_RISK.c.assessor,
                   T_RISK.c.management_plan, T_RISK.c.plan_set_at, T_RISK.c.plan_review_due,
                   T_RISK.c.approved_by, T_RISK.c.approved_at)
            .where(T_RISK.c.case_id.in_(list(refs)))
        ).all()
        rows.sort(key=lambda r: (refs[r.case_id], r.assessed_at, r.tool))
        for row in rows:
            yield {"crime_ref": refs[row.case_id], **{
                name: getattr(row, name) for name in all_columns(RISK) if name != "crime_ref"}}


def _by_case(session: Session, flt: CaseFilter, table: Any, columns: tuple[str, ...],
             key: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """Rows of ``table`` for each page of cases, by crime_ref then ``key``."""
    for page in case_pages(session, flt):
        refs = {row.id: row.crime_ref for row in page}
        rows = session.execute(
            select(table.c.case_id, table.c.id, *[table.c[name] for name in columns])
            .where(table.c.case_id.in_(list(refs)))
        ).all()
        rows.sort(key=lambda r: (refs[r.case_id], *[getattr(r, k) for k in key], r.id))
        for row in rows:
            yield {"crime_ref": refs[row.case_id], **{name: getattr(row, name) for name in columns}}


def _spo_decision_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    yield from _by_case(session, flt, T_SPO_DECISION,
                        ("status", "rationale", "decided_by", "decided_at"),
                        ("decided_at", "status"))


def _search_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    for row in _by_case(session, flt, T_SEARCH,
                        ("power", "conducted_at", "officer", "authorised_by", "premises",
                         "items_seized"), ("power", "conducted_at")):
        row["result"] = row.pop("items_seized")
        yield row


def _multi_agency_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    yield from _by_case(session, flt, T_MULTI_AGENCY,
                        ("kind", "referred_at", "referred_by", "outcome"),
                        ("kind", "referred_at"))


def _training_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    """The force's learning records (not case data: every row, whatever the filter)."""
    stmt = (select(T_TRAINING.c.officer, T_TRAINING.c.course, T_TRAINING.c.completed_on)
            .order_by(T_TRAINING.c.officer, T_TRAINING.c.course, T_TRAINING.c.completed_on))
    for row in session.execute(stmt):
        yield {"officer": row.officer, "course": row.course, "completed_on": row.completed_on}


def _programme_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    """Every perpetrator programme (a referral of any exported case may name one)."""
    stmt = (select(T_PROGRAMME.c.code, T_PROGRAMME.c.name, T_PROGRAMME.c.area_command,
                   T_PROGRAMME.c.available_from, T_PROGRAMME.c.available_to)
            .order_by(T_PROGRAMME.c.code))
    for row in session.execute(stmt):
        yield dict(row._mapping)


def _perpetrator_referral_rows(session: Session,
                               flt: CaseFilter) -> Iterator[dict[str, Any]]:
    codes = {row.id: row.code for row in session.execute(
        select(T_PROGRAMME.c.id, T_PROGRAMME.c.code))}
    for row in _by_case(session, flt, T_PERPETRATOR_REFERRAL,
                        ("programme_id", "referred_at", "referred_by", "outcome"),
                        ("referred_at", "programme_id")):
        row["programme_code"] = codes[row.pop("programme_id")]
        yield row


def _care_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    for page in case_pages(session, flt):
        refs = {row.id: row.crime_ref for row in page}
        ids = list(refs)
        care = {row.case_id: row for row in session.execute(
            select(T_CARE.c.case_id, T_CARE.c.needs_assessed_at, T_CARE.c.enhanced_rights,
                   T_CARE.c.rights_explained_at, T_CARE.c.consent, T_CARE.c.consent_at,
                   T_CARE.c.last_update_at, T_CARE.c.vps_offered_at)
            .where(T_CARE.c.case_id.in_(ids)))}
        referrals: dict[int, dict[str, Any]] = defaultdict(dict)
        for row in session.execute(
            select(T_REFERRAL.c.case_id, T_REFERRAL.c.service, T_REFERRAL.c.referred_at,
                   T_REFERRAL.c.outcome)
            .where(T_REFERRAL.c.case_id.in_(ids))
            .order_by(T_REFERRAL.c.referred_at, T_REFERRAL.c.id)
        ):
            referrals[row.case_id][row.service] = row  # the latest per service
        for case_id in sorted(set(care) | set(referrals), key=lambda i: refs[i]):
            held = care.get(case_id)
            base = {
                "crime_ref": refs[case_id],
                "needs_assessed_at": held.needs_assessed_at if held else None,
                "enhanced_rights": held.enhanced_rights if held else None,
                "rights_explained_at": held.rights_explained_at if held else None,
                "consent": format_consent(held.consent) if held else None,
                "consent_at": held.consent_at if held else None,
                "last_update_at": held.last_update_at if held else None,
                "vps_offered_at": held.vps_offered_at if held else None,
                "service": None, "referred_at": None, "outcome": None,
            }
            services = referrals.get(case_id, {})
            if not services:
                yield base
            for service in sorted(services):
                row = services[service]
                yield {**base, "service": service, "referred_at": row.referred_at,
                       "outcome": row.outcome}


def _keyset(session: Session, stmt: Select[Any], key: Any) -> Iterator[Any]:
    last: str | None = None
    while True:
        page_stmt = stmt.order_by(key).limit(PAGE)
        if last is not None:
            page_stmt = page_stmt.where(key > last)
        page = session.execute(page_stmt).all()
        yield from page
        if len(page) < PAGE:
            return
        last = getattr(page[-1], key.key)


def _order_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    stmt = flt.where(
        select(T_ORDER.c.order_ref, T_CASE.c.crime_ref, T_ORDER.c.kind, T_ORDER.c.status,
               T_ORDER.c.applied_at, T_ORDER.c.granted_at, T_ORDER.c.served_at,
               T_ORDER.c.expires_at, T_ORDER.c.notification_due_at, T_ORDER.c.notified_at)
        .select_from(T_ORDER.join(T_CASE, T_CASE.c.id == T_ORDER.c.case_id))
    )
    for row in _keyset(session, stmt, T_ORDER.c.order_ref):
        yield dict(row._mapping)


def _breach_rows(session: Session, flt: CaseFilter) -> Iterator[dict[str, Any]]:
    stmt = flt.where(
        select(T_BREACH.c.breach_ref, T_ORDER.c.order_ref, T_CASE.c.crime_ref,
               T_BREACH.c.occurred_at, T_BREACH.c.reported_at, T_BREACH.c.threats_or_violence,
               T_BREACH.c.acknowledged_by, T_BREACH.c.acknowledged_at,
               T_BREACH.c.acknowledgement_note, T_BREACH.c.manual_level.label("escalation_level"),
               T_BREACH.c.escalated_by, T_BREACH.c.escalated_at, T_BREACH.c.arrest_at,
               T_BREACH.c.reassessment_requested_at, T_BREACH.c.outcome)
        .select_from(
            T_BREACH.join(T_ORDER, T_ORDER.c.id == T_BREACH.c.order_id)
            .join(T_CASE, T_CASE.c.id == T_BREACH.c.breach_case_id)
        )
    )
    for row in _keyset(session, stmt, T_BREACH.c.breach_ref):
        yield dict(row._mapping)


READERS = {
    CRIMES: crime_rows,
    RISK: _risk_rows,
    ORDERS: _order_rows,
    BREACHES: _breach_rows,
    VICTIM_CARE: _care_rows,
    SPO_DECISIONS: _spo_decision_rows,
    SEARCHES: _search_rows,
    MULTI_AGENCY: _multi_agency_rows,
    OFFICER_TRAINING: _training_rows,
    PROGRAMMES: _programme_rows,
    PERPETRATOR_REFERRALS: _perpetrator_referral_rows,
}
