"""The DMM reasons and breach levels of a seeded force as direct SQL
conditions (not through the DMM or breach services), each giving the area
commands where it holds at a frame's clock. The default frame is
tests.conftest.NOW: Monday 2 March 2026 08:00 UTC (GMT), whose meeting covers
from Friday 27 February 08:00 to Monday 08:00."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select

from app.db import Database
from app.policy import default_policy
from app.rules.dmm import working_deadline_cutoff
from models import (
    Breach,
    Case,
    DmmAction,
    DmmItem,
    DmmMeeting,
    IncludedClassification,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    SpoDecision,
    VictimCare,
)
from tests.conftest import NOW

AREAS = {"Northern", "Southern", "Eastern", "Western", "Central", "Coastal"}
WINDOW_START = datetime(2026, 2, 27, 8, 0, tzinfo=UTC)  # Friday's meeting
PREVIOUS_MEETING_DAY = date(2026, 2, 27)


@dataclass(frozen=True)
class Frame:
    """The clock, and the meeting open at it: covering [start, meeting)."""

    now: datetime
    start: datetime
    meeting: datetime
    previous_day: date


FRAME = Frame(NOW, WINDOW_START, NOW, PREVIOUS_MEETING_DAY)
STALKING_HARASSMENT = ("8Q", "8L", "8M")
NEW_CRIME_CODES = ("8Q", "8L", "8M", "8R", "BRO", "BNMO", "BSPO", "BDVPO")


# --- condition queries (each returns the areas where it holds) -----------------------


def _areas(database: Database, query) -> set[str]:
    with database.read() as session:
        return {row[0] for row in session.execute(query).all()}


def _included(codes: tuple[str, ...]):
    return exists().where(IncludedClassification.case_id == Case.id,
                          IncludedClassification.code.in_(codes))


def new_crime(database: Database, f: Frame = FRAME) -> set[str]:
    return _areas(database, select(Case.area_command).distinct().where(
        Case.reported_at >= f.start, Case.reported_at < f.meeting,
        Case.principal_code.in_(NEW_CRIME_CODES)))


def breach_reason(database: Database, f: Frame = FRAME) -> set[str]:
    return _areas(database, select(Case.area_command).distinct()
                  .join(Breach, Breach.breach_case_id == Case.id).where(
        or_(and_(Breach.reported_at >= f.start, Breach.reported_at < f.meeting),
            and_(Breach.acknowledged_at.is_(None), Breach.reported_at < f.now))))


def high_risk_new_or_raised(database: Database, f: Frame = FRAME) -> dict[str, set[str]]:
    """Areas with a high assessment in the window: 'new' (no earlier
    assessment) and 'raised' (the previous one was lower)."""
    found: dict[str, set[str]] = {"new": set(), "raised": set()}
    with database.read() as session:
        rows = session.execute(
            select(Case.area_command, RiskAssessment.case_id, RiskAssessment.assessed_at)
            .join(Case, Case.id == RiskAssessment.case_id)
            .where(RiskAssessment.level == "high", RiskAssessment.assessed_at >= f.start,
                   RiskAssessment.assessed_at < f.meeting)).all()
        for area, case_id, assessed_at in rows:
            previous = session.execute(
                select(RiskAssessment.level).where(RiskAssessment.case_id == case_id,
                                                   RiskAssessment.assessed_at < assessed_at)
                .order_by(RiskAssessment.assessed_at.desc()).limit(1)).scalar()
            if previous is None:
                found["new"].add(area)
            elif previous != "high":
                found["raised"].add(area)
    return found


def no_risk_assessment(database: Database, f: Frame = FRAME) -> set[str]:
    return _areas(database, select(Case.area_command).distinct().where(
        Case.status == "open",
        or_(Case.principal_code.in_(STALKING_HARASSMENT), _included(STALKING_HARASSMENT)),
        Case.reported_at <= f.meeting - timedelta(days=2),
        Case.risk_assessed_at.is_(None),
        ~exists().where(RiskAssessment.case_id == Case.id)))


def review_date_passed(database: Database, f: Frame = FRAME) -> set[str]:
    return _areas(database, select(Case.area_command).distinct().where(
        Case.status == "open", Case.risk_review_due < f.meeting))


def reassessment_due_after_breach(database: Database, f: Frame = FRAME) -> set[str]:
    """Breach crimes (the pair's live record) with a re-assessment due from
    their breach, reported after the pair's last assessment."""
    return _areas(database, select(Case.area_command).distinct()
                  .join(Breach, Breach.breach_case_id == Case.id).where(
        Case.reassessment_due_at.is_not(None), Case.reassessment_due_at > Breach.reported_at,
        Breach.reported_at > f.now - timedelta(days=7)))


def new_offence_in_pair_after_assessment(database: Database, f: Frame = FRAME) -> set[str]:
    later = Case.__table__.alias("later")
    return _areas(database, select(Case.area_command).distinct()
                  .join(later, and_(later.c.victim_id == Case.victim_id,
                                    later.c.suspect_id == Case.suspect_id,
                                    later.c.id != Case.id)).where(
        Case.status == "open", Case.risk_assessed_at.is_not(None),
        later.c.reported_at > Case.risk_assessed_at, later.c.reported_at >= f.start,
        later.c.reported_at < f.meeting, later.c.linked_case_id.is_(None)))


def spo_not_considered(database: Database, f: Frame = FRAME) -> set[str]:
    return _areas(database, select(Case.area_command).distinct().where(
        Case.status == "open", or_(Case.principal_code == "8Q", _included(("8Q",))),
        Case.reported_at <= f.meeting - timedelta(days=14),
        Case.spo_status == "not_considered",
        ~exists().where(SpoDecision.case_id == Case.id)))


def victim_not_referred(database: Database, f: Frame = FRAME) -> set[str]:
    # Reported before the Victims' Code's working days for a needs assessment
    # had run out at the meeting (the rule's own calendar: weekends, holidays).
    policy = default_policy()
    cutoff = working_deadline_cutoff(f.meeting, policy.victims_code.needs_assessment_working_days,
                                     policy)
    return _areas(database, select(Case.area_command).distinct().where(
        Case.status == "open",
        or_(Case.principal_code.in_(STALKING_HARASSMENT), _included(STALKING_HARASSMENT)),
        Case.reported_at < cutoff,
        ~exists().where(VictimCare.case_id == Case.id, VictimCare.needs_assessed_at.is_not(None),
                        VictimCare.needs_assessed_at < f.meeting),
        ~exists().where(Referral.case_id == Case.id)))


def contrary_allocation(database: Database, f: Frame = FRAME) -> set[str]:
    """High-risk domestic-abuse stalking not held by CID (the first policy rule)."""
    return _areas(database, select(Case.area_command).distinct().where(
        Case.status == "open", or_(Case.principal_code == "8Q", _included(("8Q",))),
        Case.risk_level == "high", Case.domestic_abuse.is_(True),
        Case.allocation_team != "CID"))


def repeat_pair(database: Database, f: Frame = FRAME) -> set[str]:
    return _areas(database, select(Case.area_command).where(
        Case.suspect_id.is_not(None), Case.reported_at >= f.meeting - timedelta(days=90),
        Case.reported_at < f.meeting)
        .group_by(Case.area_command, Case.victim_id, Case.suspect_id)
        .having(func.count() >= 2, func.max(Case.reported_at) >= f.start))


def pin_recorded(database: Database, f: Frame = FRAME) -> set[str]:
    return _areas(database, select(Case.area_command).distinct().where(
        Case.status == "open", Case.pin_issued.is_(True)))


def action_overdue(database: Database, f: Frame = FRAME) -> set[str]:
    return _areas(database, select(DmmMeeting.area_command).distinct()
                  .join(DmmItem, DmmItem.meeting_id == DmmMeeting.id)
                  .join(DmmAction, DmmAction.item_id == DmmItem.id).where(
        DmmMeeting.starts_at < f.meeting, DmmAction.due_at < f.now,
        DmmAction.done_at.is_(None)))


def carried_over(database: Database, f: Frame = FRAME) -> set[str]:
    return _areas(database, select(DmmMeeting.area_command).distinct()
                  .join(DmmItem, DmmItem.meeting_id == DmmMeeting.id).where(
        DmmMeeting.meeting_date == f.previous_day, DmmItem.discussed_at.is_(None)))


DMM_CONDITIONS = {
    "NEW_CRIME": new_crime,
    "BREACH": breach_reason,
    "HIGH_RISK (new)": lambda db, f=FRAME: high_risk_new_or_raised(db, f)["new"],
    "HIGH_RISK (raised)": lambda db, f=FRAME: high_risk_new_or_raised(db, f)["raised"],
    "NO_RISK_ASSESSMENT": no_risk_assessment,
    "RISK_REVIEW_DUE (date passed)": review_date_passed,
    "RISK_REVIEW_DUE (breach)": reassessment_due_after_breach,
    "RISK_REVIEW_DUE (new offence)": new_offence_in_pair_after_assessment,
    "SPO_NOT_CONSIDERED": spo_not_considered,
    "VICTIM_NOT_REFERRED": victim_not_referred,
    "ALLOCATION_CONTRARY_TO_POLICY": contrary_allocation,
    "REPEAT_PAIR": repeat_pair,
    "PIN_RECORDED": pin_recorded,
    "ACTION_OVERDUE": action_overdue,
    "CARRIED_OVER": carried_over,
}


# --- breach levels ------------------------------------------------------------------------


def breach_levels(database: Database, f: Frame = FRAME) -> dict[str, set[str]]:
    """Areas where each escalation condition holds for a breach of the last days."""
    recent = f.now - timedelta(days=5)
    found: dict[str, set[str]] = {}
    with database.read() as session:
        rows = session.execute(
            select(Case.area_command, Breach.id, Breach.order_id, Breach.occurred_at,
                   Breach.reported_at, Breach.acknowledged_at, Breach.threats_or_violence,
                   ProtectiveOrder.kind, Breach.original_case_id)
            .join(Case, Case.id == Breach.breach_case_id)
            .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
            .where(Breach.reported_at >= recent, Breach.reported_at <= f.now)).all()
        for area, breach_id, order_id, occurred, reported, acked, threats, kind, original in rows:
            original_case = session.get(Case, original)
            same_order = session.execute(select(func.count()).where(
                Breach.order_id == order_id, Breach.id != breach_id,
                Breach.occurred_at >= occurred - timedelta(days=30),
                Breach.occurred_at <= occurred + timedelta(days=30))).scalar()
            reassessed = session.execute(select(func.count()).where(
                RiskAssessment.case_id == original,
                RiskAssessment.assessed_at > reported)).scalar()
            level2 = {
                "L2 repeated": bool(same_order),
                "L2 high risk": original_case.risk_level == "high",
                "L2 SPO/ISPO": kind in ("SPO", "ISPO"),
                "L2 threats": bool(threats),
            }
            age = f.now - reported
            if acked is None and age <= timedelta(hours=24) and not any(level2.values()):
                found.setdefault("L1 unacknowledged, not yet due", set()).add(area)
            if acked is not None and not any(level2.values()):
                found.setdefault("L1 acknowledged", set()).add(area)
            if age <= timedelta(hours=48) and (acked is not None or age <= timedelta(hours=24)):
                for name, holds in level2.items():
                    if holds:
                        found.setdefault(name, set()).add(area)
            if acked is None and age > timedelta(hours=24):
                found.setdefault("L3 acknowledgement overdue", set()).add(area)
            if any(level2.values()) and age > timedelta(hours=48) and not reassessed:
                found.setdefault("L3 level 2 not re-assessed in 48 h", set()).add(area)
    return found


BREACH_CONDITIONS = (
    "L1 unacknowledged, not yet due", "L1 acknowledged", "L2 repeated", "L2 high risk",
    "L2 SPO/ISPO", "L2 threats", "L3 acknowledgement overdue",
    "L3 level 2 not re-assessed in 48 h",
)
