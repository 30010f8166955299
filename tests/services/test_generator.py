"""The synthetic force generator: determinism, realism, and the busy last days.

The DMM reasons and breach levels are checked as direct SQL conditions (not
through the DMM or breach services), at the clock tests.conftest.NOW: Monday
2 March 2026 08:00 UTC (GMT), whose meeting covers from Friday 27 February
08:00 to Monday 08:00.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import and_, exists, func, or_, select

from app.db import Database
from app.errors import BadInput
from app.policy import default_policy
from app.rules.dmm import working_deadline_cutoff
from models import (
    Allocation,
    Breach,
    Case,
    DmmAction,
    DmmItem,
    DmmMeeting,
    IncludedClassification,
    Person,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    SpoDecision,
    TrainingKey,
    VictimCare,
)
from seed.generator import GenerationReport, generate, reset_database
from tests.conftest import NOW
from tests.factories import planner_rows

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


@pytest.fixture(scope="module")
def force(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, GenerationReport]]:
    """5,000 cases: the size at which every area must show every condition."""
    path = tmp_path_factory.mktemp("force") / "force.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    report = generate(database, cases=5_000, seed=1, now=NOW)
    yield database, report
    database.dispose()


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


# --- tests -----------------------------------------------------------------------------------


def test_exact_count_and_report(force: tuple[Database, GenerationReport]) -> None:
    database, report = force
    assert report.cases == 5_000
    assert report.counts["crime_case"] == 5_000
    assert report.elapsed_seconds > 0
    with database.read() as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar() == 5_000
        assert session.execute(select(func.count()).select_from(Person)).scalar() == \
            report.counts["person"]
        refs = session.execute(select(Case.crime_ref).order_by(Case.id).limit(200)).scalars().all()
        people = session.execute(select(Person.person_ref).order_by(Person.id).limit(3)).scalars().all()
    assert all(re.fullmatch(r"[NSEWC]C/2[456]/\d{6}", ref) for ref in refs), refs[:5]
    assert people == ["P0000001", "P0000002", "P0000003"]


@pytest.mark.parametrize("reason", list(DMM_CONDITIONS))
def test_every_dmm_reason_in_every_area(force: tuple[Database, GenerationReport],
                                        reason: str) -> None:
    database, _report = force
    if reason == "PIN_RECORDED":
        # a PIN is nearly nil since 2017: the scenario is in every third area only
        assert DMM_CONDITIONS[reason](database) == {"Northern", "Western"}
        return
    assert DMM_CONDITIONS[reason](database) == AREAS


def test_every_breach_level_in_every_area(force: tuple[Database, GenerationReport]) -> None:
    database, _report = force
    found = breach_levels(database)
    for condition in BREACH_CONDITIONS:
        assert found.get(condition) == AREAS, condition


def test_breaches_link_order_breach_crime_and_original_case(
        force: tuple[Database, GenerationReport]) -> None:
    database, _report = force
    original = Case.__table__.alias("original")
    with database.read() as session:
        rows = session.execute(
            select(Breach.original_case_id, ProtectiveOrder.case_id, Case.linked_case_id,
                   Case.principal_code, ProtectiveOrder.kind, ProtectiveOrder.subject_id,
                   ProtectiveOrder.protected_id, original.c.suspect_id, original.c.victim_id,
                   Case.victim_id)
            .join(ProtectiveOrder, ProtectiveOrder.id == Breach.order_id)
            .join(Case, Case.id == Breach.breach_case_id)
            .join(original, original.c.id == Breach.original_case_id)).all()
    assert len(rows) > 100
    codes = {"RO": "BRO", "NMO": "BNMO", "SPO": "BSPO", "ISPO": "BSPO", "DVPO": "BDVPO"}
    for (orig, order_case, linked, code, kind, subject, protected, suspect, victim,
         breach_victim) in rows:
        assert orig == order_case == linked
        assert code == codes[kind]
        assert (subject, protected) == (suspect, victim) and breach_victim == victim


def test_case_mirrors_latest_assessment(force: tuple[Database, GenerationReport]) -> None:
    database, _report = force
    with database.read() as session:
        latest = {}
        for case_id, level, at, due in session.execute(
                select(RiskAssessment.case_id, RiskAssessment.level, RiskAssessment.assessed_at,
                       RiskAssessment.review_due)
                .order_by(RiskAssessment.case_id, RiskAssessment.assessed_at,
                          RiskAssessment.id)).all():
            latest[case_id] = (level, at, due)
        cases = session.execute(select(Case.id, Case.risk_level, Case.risk_assessed_at,
                                       Case.risk_review_due)).all()
    assert latest
    for case_id, level, at, due in cases:
        assert (level, at, due) == latest.get(case_id, (None, None, None)), case_id


def test_realistic_proportions(force: tuple[Database, GenerationReport]) -> None:
    database, _report = force
    with database.read() as session:
        total = session.execute(select(func.count()).select_from(Case)).scalar()

        def share(*conditions) -> float:
            return session.execute(select(func.count()).where(*conditions)).scalar() / total

        stalking = share(Case.principal_code == "8Q")
        online = share(Case.online.is_(True))
        closed = session.execute(select(func.count()).where(Case.status == "closed")).scalar()
        charged = session.execute(select(func.count()).where(Case.outcome == "charged")).scalar()
        unsupported = session.execute(select(func.count()).where(
            Case.outcome == "victim does not support action")).scalar()
        ex_partner = session.execute(select(func.count()).where(
            Case.principal_code == "8Q", Case.relationship == "ex_partner")).scalar()
        stalking_cases = session.execute(select(func.count()).where(
            Case.principal_code == "8Q")).scalar()
        old_open = share(Case.status == "open", Case.reported_at < NOW - timedelta(days=365))
        pairs = session.execute(
            select(func.count()).select_from(
                select(Case.victim_id, Case.suspect_id).where(Case.suspect_id.is_not(None))
                .group_by(Case.victim_id, Case.suspect_id).having(func.count() >= 2).subquery())
        ).scalar()
        largest_pair = session.execute(
            select(func.count()).where(Case.suspect_id.is_not(None))
            .group_by(Case.victim_id, Case.suspect_id).order_by(func.count().desc()).limit(1)
        ).scalar()
        included_8q_under_8u = session.execute(select(func.count()).select_from(Case).join(
            IncludedClassification, IncludedClassification.case_id == Case.id).where(
            Case.principal_code == "8U", IncludedClassification.code == "8Q")).scalar()
        rows_per_case = session.execute(
            select(func.count()).select_from(Allocation).group_by(Allocation.case_id)
        ).scalars().all()
    assert 0.13 < stalking < 0.21, stalking
    assert 0.3 < online < 0.5, online
    assert 0.045 < charged / closed < 0.07, charged / closed
    assert unsupported / closed > 0.5
    assert 0.38 < ex_partner / stalking_cases < 0.58
    assert old_open < 0.03
    assert pairs > 300 and largest_pair <= 6
    assert included_8q_under_8u > 10
    assert max(rows_per_case) == 4 and sum(1 for n in rows_per_case if n >= 3) > 20
    assert min(rows_per_case) == 1


def test_training_key_hides_stalking_and_holds_decoys(
        force: tuple[Database, GenerationReport]) -> None:
    database, _report = force
    with database.read() as session:
        hidden = session.execute(
            select(Case.principal_code, Case.summary, TrainingKey.note)
            .join(TrainingKey, TrainingKey.case_id == Case.id)
            .where(TrainingKey.hidden_stalking.is_(True))).all()
        decoys = session.execute(
            select(Case.principal_code, Case.summary, TrainingKey.note)
            .join(TrainingKey, TrainingKey.case_id == Case.id)
            .where(TrainingKey.hidden_stalking.is_(False))).all()
        hidden_with_8q = session.execute(select(func.count()).select_from(TrainingKey).join(
            IncludedClassification, IncludedClassification.case_id == TrainingKey.case_id).where(
            TrainingKey.hidden_stalking.is_(True), IncludedClassification.code == "8Q")).scalar()
    assert len(hidden) > 100
    assert {code for code, _s, _n in hidden} >= {"8L", "8R", "BRO"} or \
        {code for code, _s, _n in hidden} >= {"8L", "8R", "BNMO"}
    assert all(code != "8Q" for code, _s, _n in hidden)
    assert hidden_with_8q == 0
    assert any(code.startswith("58") for code, _s, _n in hidden)
    assert decoys and all(note.startswith("decoy:") for _c, _s, note in decoys)
    summaries = " ".join(summary for _c, summary, _n in decoys)
    assert "unfollowed" in summaries or "watched CCTV" in summaries or "hedge" in summaries


def test_dmm_history_shape(force: tuple[Database, GenerationReport]) -> None:
    database, _report = force
    with database.read() as session:
        meetings = session.execute(select(DmmMeeting.area_command, DmmMeeting.meeting_date,
                                          DmmMeeting.starts_at, DmmMeeting.covers_from)
                                   .order_by(DmmMeeting.area_command, DmmMeeting.meeting_date)).all()
        decisions = set(session.execute(select(DmmItem.decision).distinct()).scalars().all())
        done = session.execute(select(func.count()).where(DmmAction.done_at.is_not(None))).scalar()
    assert len(meetings) == 60
    northern = [m for m in meetings if m[0] == "Northern"]
    assert northern[-1][1] == PREVIOUS_MEETING_DAY
    assert all(day.weekday() < 5 for _a, day, _s, _c in meetings)
    # 08:00 London is 08:00 UTC in winter; each covers from the previous meeting's start.
    assert northern[-1][2] == WINDOW_START
    assert northern[-1][3] == datetime(2026, 2, 26, 8, 0, tzinfo=UTC)
    for earlier, later in zip(northern, northern[1:], strict=False):
        assert later[3] == earlier[2]
    assert decisions >= {None, "no_further_action", "actions_set", "escalate", "reallocate"}
    assert done > 0


def test_nothing_after_now(force: tuple[Database, GenerationReport]) -> None:
    database, _report = force
    with database.read() as session:
        for column in (Case.reported_at, Case.closed_at, Case.last_activity_at,
                       Case.risk_assessed_at, RiskAssessment.assessed_at, Breach.reported_at,
                       Breach.acknowledged_at, Referral.referred_at, VictimCare.needs_assessed_at,
                       SpoDecision.decided_at):
            assert session.execute(select(func.max(column))).scalar() < NOW, column


def test_foreign_keys_hold(force: tuple[Database, GenerationReport]) -> None:
    database, _report = force
    path = database.engine.url.database
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def test_same_seed_gives_identical_databases(tmp_path: Path) -> None:
    dumps = []
    for name in ("a.db", "b.db", "c.db"):
        database = Database(f"sqlite:///{tmp_path / name}")
        database.upgrade()
        generate(database, cases=1_200, seed=7 if name != "c.db" else 8, now=NOW)
        database.dispose()
        dumps.append(_dump(tmp_path / name))
    assert len(dumps[0]) > 5_000
    assert dumps[0] == dumps[1]
    assert dumps[0] != dumps[2]


def test_small_runs_show_every_condition_force_wide(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'small.db'}")
    database.upgrade()
    generate(database, cases=600, seed=3, now=NOW)
    for reason, condition in DMM_CONDITIONS.items():
        assert condition(database), reason
    found = breach_levels(database)
    for condition in BREACH_CONDITIONS:
        assert found.get(condition), condition
    database.dispose()


def test_tiny_run_and_bad_input(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'tiny.db'}")
    database.upgrade()
    with pytest.raises(BadInput, match="at least 1"):
        generate(database, cases=0, seed=1, now=NOW)
    with pytest.raises(BadInput, match="time zone"):
        generate(database, cases=5, seed=1, now=datetime(2026, 3, 2, 8, 0))
    report = generate(database, cases=3, seed=1, now=NOW)
    assert report.counts["crime_case"] == 3
    with pytest.raises(BadInput, match="already holds 3 cases"):
        generate(database, cases=3, seed=1, now=NOW)
    database.dispose()


def test_generates_on_each_engine_and_resets(database: Database) -> None:
    report = generate(database, cases=600, seed=5, now=NOW)
    assert report.counts["crime_case"] == 600
    for reason, condition in DMM_CONDITIONS.items():
        assert condition(database), reason
    found = breach_levels(database)
    for condition in BREACH_CONDITIONS:
        assert found.get(condition), condition
    # The id sequences continue after the generated ids.
    with database.write() as session:
        person = Person(person_ref="X-NEW", name="Synthetic New")
        session.add(person)
        session.flush()
        assert person.id == report.counts["person"] + 1
    reset_database(database)
    with database.read() as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar() == 0
    again = generate(database, cases=600, seed=5, now=NOW)
    assert again.counts == report.counts


@pytest.mark.parametrize("frame", [
    # A summer Wednesday afternoon (BST): today's 08:00 meeting covers from Tuesday 08:00.
    Frame(datetime(2026, 7, 1, 14, 30, tzinfo=UTC), datetime(2026, 6, 30, 7, 0, tzinfo=UTC),
          datetime(2026, 7, 1, 7, 0, tzinfo=UTC), date(2026, 6, 30)),
    # A Saturday: Monday's meeting covers from Friday 08:00.
    Frame(datetime(2026, 3, 7, 11, 0, tzinfo=UTC), datetime(2026, 3, 6, 8, 0, tzinfo=UTC),
          datetime(2026, 3, 9, 8, 0, tzinfo=UTC), date(2026, 3, 6)),
    # Tuesday after Easter (Good Friday and Easter Monday are bank holidays):
    # the meeting covers from Thursday 08:00.
    Frame(datetime(2026, 4, 7, 7, 15, tzinfo=UTC), datetime(2026, 4, 2, 7, 0, tzinfo=UTC),
          datetime(2026, 4, 7, 7, 0, tzinfo=UTC), date(2026, 4, 2)),
], ids=["summer-afternoon", "saturday", "after-easter"])
def test_conditions_follow_the_clock(tmp_path: Path, frame: Frame) -> None:
    database = Database(f"sqlite:///{tmp_path / 'clock.db'}")
    database.upgrade()
    generate(database, cases=600, seed=11, now=frame.now)
    for reason, condition in DMM_CONDITIONS.items():
        assert condition(database, frame), reason
    found = breach_levels(database, frame)
    for condition in BREACH_CONDITIONS:
        assert found.get(condition), condition
    database.dispose()


def test_seeding_postgresql_gathers_planner_statistics(postgres_database: Database) -> None:
    assert planner_rows(postgres_database, "crime_case") < 0
    generate(postgres_database, cases=400, seed=3, now=NOW)
    with postgres_database.read() as session:
        held = session.execute(select(func.count()).select_from(Case)).scalar()
    assert planner_rows(postgres_database, "crime_case") == held
