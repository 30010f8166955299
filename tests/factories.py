"""Build small, hand-made case histories for tests, straight into a session.

Defaults describe an ordinary open harassment case in the Northern area.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text, update
from sqlmodel import Session, select

from app.db import Database
from app.policy import default_policy
from app.rules.orders import NOTIFICATION_KINDS, notification_due
from app.rules.risk import parse_answers, review_due, suggested_level, yes_count
from models import (
    Allocation,
    Breach,
    Case,
    ImportBatch,
    IncludedClassification,
    Person,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    SpoDecision,
    VictimCare,
)
from models.enums import RiskLevel


def person(session: Session, ref: str) -> Person:
    found = session.exec(select(Person).where(Person.person_ref == ref)).first()
    if found:
        return found
    created = Person(person_ref=ref, name=f"Synthetic {ref}")
    session.add(created)
    session.flush()
    return created


def add_case(
    session: Session,
    crime_ref: str,
    reported_at: datetime,
    *,
    area: str = "Northern",
    code: str = "8L",
    included: tuple[str, ...] = (),
    victim: str = "V1",
    suspect: str | None = "S1",
    relationship: str = "ex_partner",
    domestic_abuse: bool = False,
    online: bool = False,
    summary: str = "",
    team: str | None = "Response",
    officer: str | None = None,
    risk: str | None = None,
    status: str = "open",
    pin: bool = False,
    spo_status: str = "not_considered",
    linked_case: Case | None = None,
    last_activity_at: datetime | None = None,
) -> Case:
    case = Case(
        crime_ref=crime_ref,
        reported_at=reported_at,
        occurred_from=reported_at - timedelta(hours=2),
        area_command=area,
        principal_code=code,
        victim_id=person(session, victim).id,
        suspect_id=person(session, suspect).id if suspect else None,
        relationship=relationship,
        domestic_abuse=domestic_abuse,
        online=online,
        summary=summary,
        status=status,
        closed_at=reported_at + timedelta(days=10) if status == "closed" else None,
        allocation_team=team,
        officer=officer,
        risk_level=risk,
        spo_status=spo_status,
        pin_issued=pin,
        linked_case_id=linked_case.id if linked_case else None,
        created_at=reported_at,
        last_activity_at=last_activity_at or reported_at,
    )
    session.add(case)
    session.flush()
    for extra in included:
        session.add(IncludedClassification(case_id=case.id, code=extra, source="recording",
                                           added_by="factory", added_at=reported_at))
    if team:
        session.add(Allocation(case_id=case.id, team=team, officer=officer,
                               allocated_at=reported_at, allocated_by="factory"))
    session.flush()
    return case


def add_risk(session: Session, case: Case, assessed_at: datetime, *, answers: str = "NNNNNNNNNNN",
             level: str | None = None, assessor: str = "officer.northern",
             plan: str | None = None, rationale: str | None = None,
             plan_review_due: datetime | None = None) -> RiskAssessment:
    policy = default_policy().risk
    parsed = parse_answers(answers, 11)
    suggested = suggested_level(parsed, policy)
    chosen = RiskLevel(level) if level else suggested
    assessment = RiskAssessment(
        case_id=case.id, answers=answers, yes_count=yes_count(parsed),
        suggested_level=suggested, level=chosen, rationale=rationale, management_plan=plan,
        plan_set_at=assessed_at if plan else None, plan_review_due=plan_review_due,
        assessor=assessor, assessed_at=assessed_at, review_due=review_due(chosen, assessed_at, policy),
    )
    session.add(assessment)
    case.risk_level = chosen
    case.risk_assessed_at = assessed_at
    case.risk_review_due = assessment.review_due
    case.reassessment_due_at = None
    session.add(case)
    session.flush()
    return assessment


def add_order(session: Session, case: Case, order_ref: str, *, kind: str = "RO",
              status: str = "granted", granted_at: datetime | None = None,
              served_at: datetime | None = None, expires_at: datetime | None = None,
              applied_at: datetime | None = None) -> ProtectiveOrder:
    # as every write path keeps it: a served SPO or interim SPO has its
    # notification clock (SPA 2019 s9)
    notice_due = (notification_due(served_at, default_policy().spo)
                  if served_at is not None and kind in NOTIFICATION_KINDS else None)
    order = ProtectiveOrder(
        order_ref=order_ref, case_id=case.id, kind=kind, status=status, applied_at=applied_at,
        granted_at=granted_at, served_at=served_at, expires_at=expires_at,
        subject_id=case.suspect_id, protected_id=case.victim_id, updated_at=granted_at,
        notification_due_at=notice_due,
    )
    session.add(order)
    session.flush()
    return order


def add_breach(session: Session, order: ProtectiveOrder, breach_case: Case, breach_ref: str, *,
               occurred_at: datetime, reported_at: datetime, threats_or_violence: bool = False,
               acknowledged_at: datetime | None = None, acknowledged_by: str | None = None) -> Breach:
    breach = Breach(
        breach_ref=breach_ref, order_id=order.id, breach_case_id=breach_case.id,
        original_case_id=order.case_id, occurred_at=occurred_at, reported_at=reported_at,
        threats_or_violence=threats_or_violence, acknowledged_at=acknowledged_at,
        acknowledged_by=acknowledged_by,
    )
    session.add(breach)
    session.flush()
    return breach


def add_screening_candidates(session: Session, now: datetime) -> None:
    """Four crimes recorded as something else for screening to weigh: a
    harassment of a former partner whose summary reads as stalking (with an
    earlier crime of the same pair), damage in Southern that reads as stalking,
    and one rude email that does not."""
    add_case(session, "NO/26/000001", now - timedelta(days=5), code="8L", victim="V1",
             suspect="S1", relationship="ex_partner",
             summary="He followed her to the gym and waited outside.")
    add_case(session, "NO/26/000002", now - timedelta(days=40), code="8R", victim="V1",
             suspect="S1", relationship="ex_partner", summary="Abusive words.")
    add_case(session, "SO/26/000003", now - timedelta(days=3), code="58C", area="Southern",
             victim="V2", suspect="S2", relationship="stranger", team="Neighbourhood",
             summary="Tyres slashed; he turned up at her work again.")
    add_case(session, "NO/26/000004", now - timedelta(days=2), code="8R", victim="V3",
             suspect="S3", summary="One rude email.")


def add_breach_crime(session: Session, order: ProtectiveOrder, crime_ref: str, breach_ref: str, *,
                     reported_at: datetime, occurred_at: datetime, code: str,
                     threats_or_violence: bool = False, acknowledged_at: datetime | None = None,
                     acknowledged_by: str | None = None, **case: Any) -> Breach:
    """A breach of ``order`` reported as a crime of its own (``crime_ref``,
    ``code``, reported when the breach was) linked to the order's case."""
    original = session.get(Case, order.case_id)
    crime = add_case(session, crime_ref, reported_at, code=code, linked_case=original, **case)
    return add_breach(session, order, crime, breach_ref, occurred_at=occurred_at,
                      reported_at=reported_at, threats_or_violence=threats_or_violence,
                      acknowledged_at=acknowledged_at, acknowledged_by=acknowledged_by)


def add_victim_care(session: Session, case: Case, *, needs_assessed_at: datetime | None = None,
                    enhanced_rights: bool = True, consent: bool | None = True,
                    rights_explained_at: datetime | None = None) -> VictimCare:
    care = VictimCare(case_id=case.id, needs_assessed_at=needs_assessed_at,
                      enhanced_rights=enhanced_rights, consent=consent,
                      rights_explained_at=rights_explained_at)
    session.add(care)
    session.flush()
    return care


def add_referral(session: Session, case: Case, service: str, referred_at: datetime, *,
                 outcome: str = "pending") -> Referral:
    referral = Referral(case_id=case.id, service=service, referred_at=referred_at, outcome=outcome,
                        referred_by="factory")
    session.add(referral)
    session.flush()
    return referral


def add_spo_decision(session: Session, case: Case, status: str, decided_at: datetime, *,
                     rationale: str | None = None, decided_by: str = "supervisor.northern") -> SpoDecision:
    decision = SpoDecision(case_id=case.id, status=status, rationale=rationale,
                           decided_by=decided_by, decided_at=decided_at)
    session.add(decision)
    case.spo_status = status
    session.add(case)
    session.flush()
    return decision


def touch_case(session: Session, case_id: int | None, now: datetime) -> int:
    """A change to the case made elsewhere (another user, a later import): its
    version and last activity move, as the edit path moves them; the new version."""
    return int(session.execute(
        update(Case).where(Case.id == case_id)
        .values(version=Case.version + 1, last_activity_at=now).returning(Case.version)
    ).scalar_one())


def first_extract_at(session: Session, at: datetime) -> ImportBatch:
    """Record the database's first RMS extract at ``at`` (the agenda epoch)."""
    batch = ImportBatch(started_at=at, finished_at=at, username="analyst",
                        source="first extract (test)", counts={}, delta={})
    session.add(batch)
    session.flush()
    return batch


def dmm_morning(session: Session) -> dict[str, Case]:
    """Northern's DMM on Monday 2 March 2026 (tests.conftest.NOW): six cases on
    the agenda and three that are not. Expected (priority, reasons):

    - NC/26/0105 97: HIGH_RISK (no plan), RISK_REVIEW_DUE, SPO_NOT_CONSIDERED; high
    - NC/26/0103 78: BREACH, RISK_REVIEW_DUE, REPEAT_PAIR, NEW_CRIME (its breach
      crime NC/26/0104 is no item of its own); standard
    - NC/26/0102 36: NO_RISK_ASSESSMENT, VICTIM_NOT_REFERRED; unassessed
    - NC/26/0110 22: ALLOCATION_CONTRARY_TO_POLICY; medium
    - NC/26/0101 14: NEW_CRIME (stalking reported on Saturday); unassessed
    - NC/26/0108 8: PIN_RECORDED (closed three days ago); standard
    Not on it: NC/26/0106 (nothing due), NC/26/0107 (Southern), NC/26/0109
    (closed in January).
    """
    from datetime import UTC

    def at(month: int, day: int, hour: int = 9) -> datetime:
        return datetime(2026, month, day, hour, 0, tzinfo=UTC)

    def looked_after(case: Case, assessed: datetime, **risk: object) -> Case:
        add_risk(session, case, assessed, plan="Safety plan agreed", **risk)  # type: ignore[arg-type]
        add_victim_care(session, case, needs_assessed_at=assessed)
        add_referral(session, case, "ISHA", assessed)
        return case

    # the force's first extract reached Vigil on Monday 23 February at 06:00
    first_extract_at(session, at(2, 23, 6))
    cases: dict[str, Case] = {}
    cases["NC/26/0101"] = add_case(session, "NC/26/0101", at(2, 28, 10), code="8Q", victim="V101",
                                   suspect="S101", team="CID", summary="Followed her home twice")
    cases["NC/26/0102"] = add_case(session, "NC/26/0102", at(2, 20), victim="V102", suspect="S102",
                                   summary="Repeated unwanted messages")
    original = add_case(session, "NC/26/0103", at(2, 1), victim="V103", suspect="S103")
    cases["NC/26/0103"] = looked_after(original, at(2, 1, 12))
    order = add_order(session, original, "RO/26/0001", granted_at=at(2, 10))
    breach_crime = add_case(session, "NC/26/0104", at(3, 1, 21), code="BRO", victim="V103",
                            suspect="S103", team="Response", linked_case=original)
    cases["NC/26/0104"] = breach_crime
    add_breach(session, order, breach_crime, "BR/26/0001", occurred_at=at(3, 1, 20),
               reported_at=at(3, 1, 21))
    high = add_case(session, "NC/26/0105", at(2, 10), code="8Q", victim="V105", suspect="S105",
                    team="CID")
    add_risk(session, high, at(2, 10, 12), answers="YYYYYYYNNNN", level="high")
    add_victim_care(session, high, needs_assessed_at=at(2, 10, 12))
    add_referral(session, high, "ISAC", at(2, 10, 12))
    cases["NC/26/0105"] = high
    cases["NC/26/0106"] = looked_after(
        add_case(session, "NC/26/0106", at(2, 2), victim="V106", suspect="S106"), at(2, 2, 12))
    cases["NC/26/0107"] = looked_after(
        add_case(session, "NC/26/0107", at(2, 3), area="Southern", victim="V107", suspect="S107",
                 pin=True), at(2, 3, 12))
    cases["NC/26/0108"] = looked_after(
        add_case(session, "NC/26/0108", at(2, 17), victim="V108", suspect="S108", pin=True,
                 status="closed"), at(2, 17, 12))
    cases["NC/26/0109"] = looked_after(
        add_case(session, "NC/26/0109", at(1, 1), victim="V109", suspect="S109", pin=True,
                 status="closed"), at(1, 1, 12))
    misallocated = add_case(session, "NC/26/0110", at(2, 20), code="8Q", victim="V110",
                            suspect="S110", domestic_abuse=True, team="Response",
                            spo_status="considered_not_appropriate")
    cases["NC/26/0110"] = looked_after(misallocated, at(2, 20, 12), answers="YYYNNNNNNNN",
                                       level="medium")
    return cases


# --- RMS extract folders (app/rms) -------------------------------------------
EXTRACT_DEFAULTS: dict[str, dict[str, str]] = {
    "crimes.csv": {
        "crime_ref": "CR-0001", "reported_at": "01/03/2026 10:00", "area_command": "Northern",
        "principal_code": "8L", "included_codes": "", "victim_ref": "P-V1", "suspect_ref": "P-S1",
        "relationship": "ex_partner", "domestic_abuse": "Y", "online": "N",
        "allocation_team": "Response", "officer": "PC Ashby", "status": "open",
        "pin_issued": "N", "summary": "Repeated messages after being told to stop",
    },
    "risk.csv": {
        "crime_ref": "CR-0001", "assessed_at": "01/03/2026 12:00", "tool": "S-DASH",
        "answers": "YNNNNNNNNNN", "level": "standard", "rationale": "",
        "assessor": "officer.northern",
    },
    "orders.csv": {
        "order_ref": "OR-0001", "crime_ref": "CR-0001", "kind": "RO", "status": "granted",
        "applied_at": "", "granted_at": "01/03/2026 13:00", "served_at": "",
        "expires_at": "01/03/2027 00:00",
    },
    "breaches.csv": {
        "breach_ref": "BR-0001", "order_ref": "OR-0001", "crime_ref": "CR-0002",
        "occurred_at": "01/03/2026 14:00", "reported_at": "01/03/2026 15:00",
    },
    "victim_care.csv": {
        "crime_ref": "CR-0001", "needs_assessed_at": "01/03/2026 12:00", "enhanced_rights": "Y",
        "rights_explained_at": "", "consent": "Y", "service": "ISAC",
        "referred_at": "01/03/2026 16:00", "outcome": "pending",
    },
}


def extract_row(file_name: str, **values: str) -> dict[str, str]:
    """A valid row of ``file_name`` (at tests.conftest.NOW) with ``values`` changed."""
    return {**EXTRACT_DEFAULTS[file_name], **values}


def write_extract(folder: Path, files: dict[str, list[dict[str, str]]], *,
                  format_version: int = 1, source_kind: str = "live") -> Path:
    """Write an RMS extract folder: ``{"crimes.csv": [row, ...], ...}`` (UTF-8, header row).
    Format 2 writes every column of each file and a manifest.json."""
    import csv

    from app.rms.formats import all_columns
    from app.rms.manifest import Manifest, write_manifest

    folder.mkdir(parents=True, exist_ok=True)
    if format_version >= 2:
        write_manifest(folder, Manifest(format_version=format_version, source_kind=source_kind))
    for name, rows in files.items():
        with (folder / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=all_columns(name, format_version),
                                    restval="", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return folder


def planner_rows(database: Database, table: str) -> float:
    """PostgreSQL's row estimate for ``table`` (-1 before statistics are gathered)."""
    with database.read() as session:
        return float(session.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}).scalar())


def case_version(source: Any, crime_ref: str | None = None, *, order_ref: str | None = None,
                 breach_ref: str | None = None, action_id: int | None = None,
                 flag_id: int | None = None) -> int:
    """The version of a case as a user would have read it: by crime, by one of
    its orders, by a breach of its order (the original case), by one of its DMM
    actions or by one of its screening flags. ``source`` is a service context
    or a database (anything with ``read()``)."""
    from sqlalchemy import select as _select

    from models import DmmAction, ScreeningFlag

    stmt = _select(Case.version)
    if crime_ref is not None:
        stmt = stmt.where(Case.crime_ref == crime_ref)
    elif action_id is not None:
        stmt = stmt.join(DmmAction, DmmAction.case_id == Case.id).where(DmmAction.id == action_id)
    elif flag_id is not None:
        stmt = stmt.join(ScreeningFlag, ScreeningFlag.case_id == Case.id).where(
            ScreeningFlag.id == flag_id)
    elif order_ref is not None:
        stmt = stmt.join(ProtectiveOrder, ProtectiveOrder.case_id == Case.id).where(
            ProtectiveOrder.order_ref == order_ref)
    else:
        stmt = stmt.join(Breach, Breach.original_case_id == Case.id).where(
            Breach.breach_ref == breach_ref)
    with source.read() as session:
        found = session.execute(stmt).scalar()
    return 0 if found is None else int(found)  # 0: no such case (what a stale screen holds)
