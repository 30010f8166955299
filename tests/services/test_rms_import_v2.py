"""Extract format 2: what a force records reaches Vigil, in the tables the DMM
reasons, work queues and the breach board read; four-eyes on imported
levels; format 1 and format 2 of the same force land on the same cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import Database
from app.errors import BadInput, PermissionDenied
from app.services.breach_actions import acknowledge_breach
from app.services.breaches import breach_board
from app.services.risk import approvals_waiting, approve_risk_assessment
from app.services.rms_import import ImportResult, import_extract
from models import (
    AuditEvent,
    Breach,
    Case,
    MultiAgencyReferral,
    ProtectiveOrder,
    Referral,
    RiskAssessment,
    SearchRecord,
    SpoDecision,
    VictimCare,
)
from tests.conftest import ContextFactory
from tests.factories import extract_row, write_extract

CRIMES, RISK, ORDERS, BREACHES, CARE = (
    "crimes.csv", "risk.csv", "orders.csv", "breaches.csv", "victim_care.csv")
SPO, SEARCHES, MULTI = "spo_decisions.csv", "searches.csv", "multi_agency.csv"


def _import(ctx_factory: ContextFactory, folder: Path) -> ImportResult:
    result = import_extract(ctx_factory("analyst"), folder=folder)
    assert result.ok, result.errors
    return result


def _force(**extra: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """A stalking case (CR-0001), its breach crime (CR-0002), an RO and a breach."""
    files = {
        CRIMES: [extract_row(CRIMES, principal_code="8Q"),
                 extract_row(CRIMES, crime_ref="CR-0002", principal_code="BRO",
                             reported_at="01/03/2026 15:00")],
        RISK: [extract_row(RISK, answers="YYYYYYNNNNN", level="high")],
        ORDERS: [extract_row(ORDERS)],
        BREACHES: [extract_row(BREACHES)],
        CARE: [extract_row(CARE, consent="Y")],
    }
    for name, rows in extra.items():
        files[f"{name}.csv"] = rows
    return files


def _case(database: Database, ref: str = "CR-0001") -> Case:
    with database.read() as session:
        return session.execute(select(Case).where(Case.crime_ref == ref)).scalars().one()


def _rows(database: Database, model: type) -> list:  # type: ignore[type-arg]
    with database.read() as session:
        return list(session.execute(select(model).order_by(model.id)).scalars())


def test_format_1_and_format_2_of_the_same_force_land_on_the_same_cases(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    v1 = _force()
    v1[CARE] = [extract_row(CARE, consent="N"),  # format 1: N is "no" (refused)
                extract_row(CARE, crime_ref="CR-0002", consent="", service="",
                            referred_at="", outcome="")]
    _import(make_context, write_extract(tmp_path / "v1", v1))
    v2 = _force()
    v2[CARE] = [extract_row(CARE, consent="refused"),  # format 2 says it in words
                extract_row(CARE, crime_ref="CR-0002", consent="N", service="",
                            referred_at="", outcome="")]  # N: not yet asked
    again = _import(make_context, write_extract(tmp_path / "v2", v2, format_version=2))
    # the overlap (every format 1 column) is the same record: nothing changes
    assert not again.changed, again.counts
    care = {row.case_id: row.consent for row in _rows(database, VictimCare)}
    assert sorted(care.values(), key=str) == [False, None]
    # format 2 then adds what format 1 cannot carry, and only that
    v2[RISK] = [extract_row(RISK, answers="YYYYYYNNNNN", level="high",
                            management_plan="Safety plan; markers",
                            plan_set_at="01/03/2026 13:00", plan_review_due="08/03/2026 13:00")]
    more = _import(make_context, write_extract(tmp_path / "v2b", v2, format_version=2))
    assert [(c.file, c.updated) for c in more.counts if c.updated] == [(RISK, 1)]


def test_what_the_force_records_lands_where_the_reasons_read(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    _import(make_context, write_extract(tmp_path / "first", _force()))
    board = breach_board(make_context("supervisor.northern"), audit=False)
    assert [(item.breach_ref, item.due_for) for item in board.items] == [
        ("BR-0001", "acknowledgement")]

    files = _force(
        spo_decisions=[{"crime_ref": "CR-0001", "status": "considered_not_appropriate",
                        "rationale": "suspect abroad; reconsider on return",
                        "decided_by": "DI Marr", "decided_at": "01/03/2026 17:00"}],
        searches=[{"crime_ref": "CR-0001", "power": "PHA 1997 s2B warrant (stalking)",
                   "conducted_at": "01/03/2026 19:00", "officer": "DC Orme",
                   "authorised_by": "JP Hale", "premises": "suspect's flat",
                   "result": "phone and notebook seized"}],
        multi_agency=[{"crime_ref": "CR-0001", "kind": "MARAC",
                       "referred_at": "01/03/2026 19:30", "referred_by": "DS Keld",
                       "outcome": "listed 10/03"}],
    )
    # re-assessed after the breach, with a plan
    files[RISK].append(extract_row(RISK, assessed_at="01/03/2026 16:30",
                                   answers="YYYYYYNNNNN", level="high",
                                   management_plan="Safety plan; markers",
                                   plan_set_at="01/03/2026 16:45",
                                   plan_review_due="08/03/2026 13:00"))
    files[ORDERS] = [extract_row(ORDERS, served_at="01/03/2026 14:00",
                                 notification_due_at="04/03/2026 14:00",
                                 notified_at="01/03/2026 20:00")]
    files[BREACHES] = [extract_row(BREACHES, acknowledged_by="PS Vale",
                                   acknowledged_at="01/03/2026 16:00",
                                   acknowledgement_note="arrest planned", outcome="charged")]
    files[CARE] = [extract_row(CARE, consent="Y", consent_at="01/03/2026 12:00",
                               last_update_at="01/03/2026 18:00",
                               vps_offered_at="01/03/2026 18:00")]
    _import(make_context, write_extract(tmp_path / "second", files, format_version=2))

    # HIGH_RISK "without a current plan": the latest assessment's plan and its dates
    risk = _rows(database, RiskAssessment)[-1]
    assert (risk.management_plan, risk.plan_set_at.hour, risk.plan_review_due.day) == (
        "Safety plan; markers", 16, 8)
    # SPO_NOT_CONSIDERED: the case's decision, with the history row and its rationale
    assert _case(database).spo_status == "considered_not_appropriate"
    decision = _rows(database, SpoDecision)[-1]
    assert (decision.decided_by, decision.rationale) == ("DI Marr",
                                                         "suspect abroad; reconsider on return")
    # the breach board: acknowledged in the RMS and re-assessed since, off the board
    (breach,) = _rows(database, Breach)
    assert (breach.acknowledged_by, breach.acknowledgement_note, breach.outcome) == (
        "PS Vale", "arrest planned", "charged")
    assert breach_board(make_context("supervisor.northern"), audit=False).items == ()
    (order,) = _rows(database, ProtectiveOrder)
    assert (order.notified_at.hour, order.notification_due_at.day) == (20, 4)
    (search,) = _rows(database, SearchRecord)
    assert (search.power, search.items_seized, search.recorded_by) == (
        "PHA 1997 s2B warrant (stalking)", "phone and notebook seized", "analyst")
    (marac,) = _rows(database, MultiAgencyReferral)
    assert (marac.kind, marac.outcome) == ("MARAC", "listed 10/03")
    (care,) = _rows(database, VictimCare)
    assert (care.consent, care.last_update_at.hour, care.vps_offered_at.hour) == (True, 18, 18)
    with database.read() as session:
        reasons = list(session.execute(
            select(AuditEvent.reason).where(AuditEvent.entity_id == "CR-0001")).scalars())
    assert "breach BR-0001 acknowledged in the RMS extract by PS Vale" in reasons


def test_a_plan_review_date_passed_in_the_rms_is_a_review_due_until_the_next_plan(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    from app.services.dmm.worklist import case_gaps

    files = {CRIMES: [extract_row(CRIMES, principal_code="8Q", reported_at="10/02/2026 09:00")],
             RISK: [extract_row(RISK, assessed_at="10/02/2026 12:00", answers="YYYNNNNNNNN",
                                level="medium", management_plan="Safety plan; markers",
                                plan_set_at="10/02/2026 12:30",
                                plan_review_due="24/02/2026 12:30")],
             CARE: [extract_row(CARE, consent="Y")]}
    _import(make_context, write_extract(tmp_path / "first", files, format_version=2))
    supervisor = make_context("supervisor.northern")
    gaps = {gap.code: gap for gap in case_gaps(supervisor, crime_ref="CR-0001")}
    assert gaps["RISK_REVIEW_DUE"].explanation == (
        "risk management plan review was due Tue 24/02")
    # the RMS records the review: a new plan with its own date clears it
    files[RISK][0] = {**files[RISK][0], "plan_review_due": "10/03/2026 12:30"}
    _import(make_context, write_extract(tmp_path / "second", files, format_version=2))
    assert "RISK_REVIEW_DUE" not in {gap.code for gap in case_gaps(supervisor,
                                                                    crime_ref="CR-0001")}


def test_an_spo_subject_not_notified_is_on_the_dmm_until_the_rms_records_the_notification(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    from datetime import date

    from app.services.dmm import build_queue

    files = {CRIMES: [extract_row(CRIMES, principal_code="8Q", reported_at="20/02/2026 09:00")],
             ORDERS: [extract_row(ORDERS, order_ref="SPO-0001", kind="SPO",
                                  granted_at="25/02/2026 10:00", served_at="25/02/2026 14:00")],
             CARE: [extract_row(CARE, consent="Y")]}
    _import(make_context, write_extract(tmp_path / "first", files, format_version=2))
    (order,) = _rows(database, ProtectiveOrder)
    assert order.notification_due_at.day == 28  # served + the policy's 3 days
    supervisor = make_context("supervisor.northern")
    monday = build_queue(supervisor, area="Northern", meeting_date=date(2026, 3, 2), audit=False)
    (item,) = [i for i in monday.items if i.crime_ref == "CR-0001"]
    assert "SPO_NOTIFICATION_OVERDUE" in [r.code for r in item.reasons]
    files[ORDERS][0] = {**files[ORDERS][0], "notified_at": "01/03/2026 11:00"}
    _import(make_context, write_extract(tmp_path / "second", files, format_version=2))
    again = build_queue(supervisor, area="Northern", meeting_date=date(2026, 3, 2), audit=False)
    codes = {i.crime_ref: [r.code for r in i.reasons] for i in again.items}
    assert "SPO_NOTIFICATION_OVERDUE" not in codes.get("CR-0001", [])


def test_an_empty_cell_keeps_what_vigil_holds(database: Database, make_context: ContextFactory,
                                              tmp_path: Path) -> None:
    _import(make_context, write_extract(tmp_path / "first", _force(), format_version=2))
    supervisor = make_context("supervisor.northern")
    version = breach_board(supervisor, area="Northern").find("BR-0001").case_version
    acknowledge_breach(supervisor, breach_ref="BR-0001", note="seen at the DMM",
                       expected_version=version)
    again = _import(make_context, write_extract(tmp_path / "again", _force(), format_version=2))
    assert not again.changed
    (breach,) = _rows(database, Breach)
    assert (breach.acknowledged_by, breach.acknowledgement_note) == ("supervisor.northern",
                                                                     "seen at the DMM")


def test_the_decisions_file_is_the_record_of_spo_decisions(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    files = _force(spo_decisions=[])
    files[ORDERS] = [extract_row(ORDERS, order_ref="SPO-1", kind="SPO", status="applied",
                                 applied_at="01/03/2026 13:00", granted_at="",
                                 expires_at="")]
    files[BREACHES] = []
    _import(make_context, write_extract(tmp_path / "x", files, format_version=2))
    assert _rows(database, SpoDecision) == [] and _case(database).spo_status == "not_considered"
    # format 1 (no decisions file): the order moves the decision, as before
    files.pop(SPO)
    files[ORDERS][0]["status"] = "granted"
    files[ORDERS][0]["granted_at"] = "01/03/2026 16:00"
    _import(make_context, write_extract(tmp_path / "v1", files))
    assert _case(database).spo_status == "granted"


def test_training_rows_never_go_into_a_live_database(database: Database,
                                                      make_context: ContextFactory,
                                                      tmp_path: Path) -> None:
    from app.db import DATABASE_KIND_KEY, EVALUATION

    # an evaluation database refuses training rows as a live one does, and
    # takes the named user and fixed clock a test needs
    database.set_meta(DATABASE_KIND_KEY, EVALUATION)
    database.set_meta("created_as", EVALUATION)
    folder = write_extract(tmp_path / "x", _force(), format_version=2, source_kind="training")
    with pytest.raises(BadInput, match="exported from a TRAINING database"):
        import_extract(make_context("analyst"), folder=folder)


# --- four-eyes on imported levels ---------------------------------------------------
def _below(**values: str) -> dict[str, list[dict[str, str]]]:
    files = _force()
    files[RISK] = [extract_row(RISK, answers="YYYNNNNNNNN", level="standard",  # suggests medium
                               rationale="victim moved away", **values)]
    return files


def test_an_imported_level_below_the_suggestion_waits_for_a_second_supervisor(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    _import(make_context, write_extract(tmp_path / "x", _below(), format_version=2))
    (risk,) = _rows(database, RiskAssessment)
    assert (risk.approval_required, risk.approved_by) == (True, None)
    # the case keeps the higher level (no earlier level: the suggestion) until approved
    assert _case(database).risk_level == "medium"
    pending = approvals_waiting(make_context("supervisor.northern"))
    assert [(p.crime_ref, p.level, p.case_risk_level, p.why, p.yours) for p in pending] == [
        ("CR-0001", "standard", "medium", "below the suggested medium", True)]
    # a re-import of the same assessment neither resets nor bypasses it
    again = _import(make_context, write_extract(tmp_path / "y", _below(), format_version=2))
    assert not again.changed and _case(database).risk_level == "medium"
    approved = approve_risk_assessment(make_context("inspector.northern"),
                                       assessment_id=risk.id,
                                       expected_version=_case(database).version)
    assert approved.level == "standard" and _case(database).risk_level == "standard"
    again = _import(make_context, write_extract(tmp_path / "z", _below(), format_version=2))
    assert not again.changed
    (risk,) = _rows(database, RiskAssessment)
    assert (risk.approved_by, _case(database).risk_level) == ("inspector.northern", "standard")
    assert approvals_waiting(make_context("supervisor.northern")) == []
    with database.read() as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.reason.like("risk downgrade approved%"))).scalars().one()
    # the audit trail shows both people
    assert (event.username, event.after["assessor"]) == ("inspector.northern",
                                                         "officer.northern")


def test_a_downgrade_from_high_in_a_later_extract_keeps_high(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    _import(make_context, write_extract(tmp_path / "x", _force(), format_version=2))
    assert _case(database).risk_level == "high"
    files = _force()
    files[RISK] = [extract_row(RISK, answers="YYYYYYNNNNN", level="high"),
                   extract_row(RISK, assessed_at="01/03/2026 18:00", answers="NNNNNNNNNNN",
                               level="standard", rationale="suspect remanded")]
    _import(make_context, write_extract(tmp_path / "y", files, format_version=2))
    assert _case(database).risk_level == "high"
    (pending,) = approvals_waiting(make_context("supervisor.northern"))
    assert (pending.level, pending.why) == ("standard", "lowered from high")


def test_an_approval_recorded_in_the_rms_by_a_second_person(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    _import(make_context, write_extract(tmp_path / "x", _below(
        approved_by="Insp Hale", approved_at="01/03/2026 15:00"), format_version=2))
    (risk,) = _rows(database, RiskAssessment)
    assert (risk.approval_required, risk.approved_by) == (True, "Insp Hale")
    assert _case(database).risk_level == "standard"
    assert approvals_waiting(make_context("supervisor.northern")) == []


def test_on_a_single_supervisor_database_the_approval_stays_pending_and_listed(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    files = _below()
    files[RISK][0]["assessor"] = "supervisor.northern"
    _import(make_context, write_extract(tmp_path / "x", files, format_version=2))
    me = make_context("supervisor.northern")
    (pending,) = approvals_waiting(me)
    assert not pending.yours and pending.waiting_for == (
        "another supervisor of Northern (you assessed it)")
    with pytest.raises(PermissionDenied, match="four-eyes rule"):
        approve_risk_assessment(me, assessment_id=pending.assessment_id,
                                expected_version=pending.case_version)
    assert [p.assessment_id for p in approvals_waiting(me)] == [pending.assessment_id]
    assert _case(database).risk_level == "medium"


def test_referrals_keep_their_service_and_outcome(database: Database,
                                                  make_context: ContextFactory,
                                                  tmp_path: Path) -> None:
    files = _force()
    files[CARE] = [extract_row(CARE, service="HELPLINE", outcome="accepted")]
    _import(make_context, write_extract(tmp_path / "x", files, format_version=2))
    assert [(r.service, r.outcome) for r in _rows(database, Referral)] == [("HELPLINE",
                                                                            "accepted")]


# --- the training marker on a single file --------------------------------------------
def test_a_single_file_from_a_training_database_carries_its_marker(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    """`vigil export cases -o crimes.csv` (and to standard output) from a
    training database starts with the marker line; a live or evaluation
    database refuses the file, a training one takes it back unchanged."""
    import io

    from app.db import DATABASE_KIND_KEY, EVALUATION, LIVE
    from app.rms.manifest import MARKER
    from app.services.rms_export import export_cases

    trainer = make_context("analyst", training=True)  # the test copy becomes training
    _import(lambda _name: trainer, write_extract(tmp_path / "x", _force(), format_version=2,
                                                 source_kind="training"))
    folder = tmp_path / "single"
    folder.mkdir()
    export_cases(trainer, target=folder / "crimes.csv", purpose="course notes")
    stdout = io.StringIO()
    export_cases(trainer, target=None, stdout=stdout, purpose="course notes")
    first = (folder / "crimes.csv").read_text(encoding="utf-8").splitlines()[0]
    assert first == (f"{MARKER} format_version=1 source_kind=training "
                     "formula_protection=apostrophe # TRAINING — synthetic data")
    assert stdout.getvalue().splitlines()[0] == first
    again = import_extract(trainer, folder=folder)  # a training database takes it back
    assert again.ok and again.count("crimes.csv").new == 0
    assert again.count("crimes.csv").updated == 0
    database.set_meta(DATABASE_KIND_KEY, EVALUATION)
    database.set_meta("created_as", EVALUATION)
    evaluator = make_context("analyst")
    tried = got_through = 0
    for kind in (EVALUATION, LIVE):  # the kind is read at the import, as a live one is
        database.set_meta(DATABASE_KIND_KEY, kind)
        tried += 1
        try:
            import_extract(evaluator, folder=folder)
            got_through += 1
        except BadInput as exc:
            assert "exported from a TRAINING database" in str(exc)
    assert (tried, got_through) == (2, 0)
    # an evaluation database's file says so (a live import takes it, training never)
    database.set_meta(DATABASE_KIND_KEY, EVALUATION)
    stdout = io.StringIO()
    export_cases(evaluator, target=None, stdout=stdout, purpose="evaluation")
    assert stdout.getvalue().startswith(f"{MARKER} format_version=1 source_kind=evaluation ")
