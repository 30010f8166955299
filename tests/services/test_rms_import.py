"""Importing RMS extracts: the mapping to Vigil's tables, idempotent
re-import, the delta of a newer extract, all-or-nothing on problems and on
interruption, dry runs, permissions, and "since the last extract"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

import app.rms.apply as apply_module
import app.services.rms_import as import_module
from app.db import Database
from app.errors import BadInput, PermissionDenied
from app.rms.delta import NewBreach, OrderEvent, Reclassification, RiskChange
from app.rms.formats import COLUMNS
from app.rms.tables import (
    T_ALLOCATION,
    T_AUDIT,
    T_BREACH,
    T_CARE,
    T_CASE,
    T_INCLUDED,
    T_ORDER,
    T_PERSON,
    T_REFERRAL,
    T_RISK,
)
from app.services.extract_summary import last_extract_summary
from app.services.rms_import import import_extract
from models import (
    Allocation,
    AuditEvent,
    Case,
    ImportBatch,
    IncludedClassification,
    Person,
    ProtectiveOrder,
    SpoDecision,
)
from tests.conftest import NOW
from tests.factories import add_case, extract_row, planner_rows, write_extract

CRIMES, RISK, ORDERS, BREACHES, CARE = (
    "crimes.csv", "risk.csv", "orders.csv", "breaches.csv", "victim_care.csv")
LATER = NOW + timedelta(days=1)  # Tuesday 3 March 2026, 08:00
# the tables an import writes, as it writes them (Core), and its batch
TABLES = (T_PERSON, T_CASE, T_INCLUDED, T_ALLOCATION, T_RISK, T_ORDER, T_BREACH, T_CARE,
          T_REFERRAL, ImportBatch.__table__, T_AUDIT)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in March 2026 (GMT, so London time is UTC)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def first_extract() -> dict[str, list[dict[str, str]]]:
    return {
        CRIMES: [
            extract_row(CRIMES),
            extract_row(CRIMES, crime_ref="CR-0002", principal_code="BRO",
                        reported_at="01/03/2026 15:00", allocation_team="", officer=""),
            extract_row(CRIMES, crime_ref="CR-0003", principal_code="8R", area_command="Southern",
                        victim_ref="P-V3", suspect_ref="", relationship="stranger",
                        domestic_abuse="N", online="Y", allocation_team="Neighbourhood",
                        officer="", summary="Messages on social media"),
        ],
        RISK: [extract_row(RISK, answers="YYYNNNNNNNN", level="medium")],
        ORDERS: [
            extract_row(ORDERS),
            extract_row(ORDERS, order_ref="OR-0002", crime_ref="CR-0003", kind="NMO",
                        status="applied", applied_at="01/03/2026 09:00", granted_at="",
                        expires_at=""),
        ],
        BREACHES: [extract_row(BREACHES)],
        CARE: [extract_row(CARE)],
    }


def newer_extract() -> dict[str, list[dict[str, str]]]:
    files = first_extract()
    files[CRIMES][0].update(principal_code="8Q", included_codes="8L", allocation_team="CID")
    files[CRIMES][2].update(status="closed")
    files[CRIMES].append(extract_row(CRIMES, crime_ref="CR-0004", principal_code="BNMO",
                                     area_command="Southern", victim_ref="P-V3",
                                     reported_at="2026-03-02T18:00:00Z", allocation_team="Orders"))
    files[RISK].append(extract_row(RISK, assessed_at="02/03/2026 20:00", answers="YYYYYYNNNNN",
                                   level="high", rationale="threats to kill"))
    files[ORDERS][1].update(status="granted", granted_at="02/03/2026 10:00",
                            expires_at="20/03/2026 00:00")
    files[BREACHES].append(extract_row(BREACHES, breach_ref="BR-0002", order_ref="OR-0002",
                                       crime_ref="CR-0004", occurred_at="02/03/2026 17:00",
                                       reported_at="02/03/2026 18:00"))
    return files


def counts(database: Database) -> dict[str, int]:
    with database.read() as session:
        return {t.name: session.execute(select(func.count()).select_from(t)).scalar()
                for t in TABLES}


def case_of(database: Database, crime_ref: str) -> Case:
    with database.read() as session:
        return session.execute(select(Case).where(Case.crime_ref == crime_ref)).scalars().one()


def refs(database: Database, model: Any, column: Any, case: Case) -> list[Any]:
    with database.read() as session:
        return list(session.execute(
            select(column).where(model.case_id == case.id).order_by(column)).scalars())


def test_an_extract_is_mapped_onto_vigils_records(database: Database, make_context,  # type: ignore[no-untyped-def]
                                                  tmp_path: Path) -> None:
    ctx = make_context("analyst")
    result = import_extract(ctx, folder=write_extract(tmp_path / "x", first_extract()))
    assert result.ok and result.written
    assert [(c.file, c.read, c.new, c.updated, c.unchanged) for c in result.counts] == [
        (CRIMES, 3, 3, 0, 0), (RISK, 1, 1, 0, 0), (ORDERS, 2, 2, 0, 0), (BREACHES, 1, 1, 0, 0),
        (CARE, 1, 1, 0, 0)]
    assert result.people_created == 3

    one = case_of(database, "CR-0001")
    assert (one.reported_at, one.area_command, one.principal_code, one.relationship,
            one.domestic_abuse, one.online, one.allocation_team, one.officer, one.status,
            one.pin_issued, one.summary, one.version, one.created_at, one.last_activity_at) == (
        at(1, 10), "Northern", "8L", "ex_partner", True, False, "Response", "PC Ashby", "open",
        False, "Repeated messages after being told to stop", 1, NOW, NOW)
    # S-DASH: 3 yes is a suggested medium; the review is 28 days after a medium assessment
    assert (one.risk_level, one.risk_assessed_at, one.risk_review_due) == (
        "medium", at(1, 12), at(29, 12))
    # BR-0001 (reported 1 March 15:00, after the assessment) makes a re-assessment due 24 h
    # on, on its crime CR-0002: the pair's live record
    assert one.reassessment_due_at is None
    assert case_of(database, "CR-0002").reassessment_due_at == at(2, 15)
    with database.read() as session:
        people = dict(session.execute(select(Person.person_ref, Person.name)).all())
        assert people == {"P-V1": "Person P-V1", "P-S1": "Person P-S1", "P-V3": "Person P-V3"}
        risk = session.execute(select(T_RISK)).one()
        assert (risk.tool, risk.tool_version, risk.answers, risk.yes_count, risk.suggested_level,
                risk.level, risk.rationale, risk.assessor) == (
            "S-DASH", "2009", "YYYNNNNNNNN", 3, "medium", "medium", None, "officer.northern")
        order = session.execute(select(ProtectiveOrder).where(
            ProtectiveOrder.order_ref == "OR-0001")).scalars().one()
        assert (order.case_id, order.kind, order.status, order.granted_at, order.expires_at,
                order.subject_id, order.protected_id) == (
            one.id, "RO", "granted", at(1, 13), datetime(2027, 3, 1, tzinfo=UTC),
            one.suspect_id, one.victim_id)
        breach = session.execute(select(T_BREACH)).one()
        breach_case = case_of(database, "CR-0002")
        assert (breach.breach_case_id, breach.original_case_id, breach.order_id,
                breach.reported_at) == (breach_case.id, one.id, order.id, at(1, 15))
        assert breach_case.linked_case_id == one.id
        care = session.execute(select(T_CARE)).one()
        assert (care.case_id, care.needs_assessed_at, care.enhanced_rights, care.consent) == (
            one.id, at(1, 12), True, True)
        referral = session.execute(select(T_REFERRAL)).one()
        assert (referral.service, referral.referred_at, referral.outcome, referral.referred_by) == (
            "ISAC", at(1, 16), "pending", "analyst")
        allocations = session.execute(select(Allocation.team, Allocation.allocated_by)
                                      .where(Allocation.case_id == one.id)).all()
        assert allocations == [("Response", "analyst")]
        batch = session.execute(select(ImportBatch)).scalars().one()
        assert batch.username == "analyst" and batch.source == str((tmp_path / "x").resolve())
        assert batch.counts["files"][CRIMES]["new"] == 3
        assert len(batch.counts["files"][CRIMES]["sha256"]) == 64
        assert batch.delta["new_crimes"] == ["CR-0001", "CR-0002", "CR-0003"]
        audit = session.execute(select(AuditEvent).where(AuditEvent.entity == "import")
                                ).scalars().one()
        assert (audit.action, audit.entity_id, audit.username) == ("import", str(batch.id), "analyst")
        assert audit.reason.startswith(f"{(tmp_path / 'x').resolve()}: crimes.csv 3 read, 3 new")
    closed = case_of(database, "CR-0003")
    assert closed.suspect_id is None


def test_spo_orders_in_an_extract_move_the_cases_spo_decision(  # type: ignore[no-untyped-def]
        database: Database, make_context, tmp_path: Path) -> None:
    """The RMS records the court's decisions: an SPO first seen granted sets
    the case's decision to granted (with its history and audit), a later
    extract's discharge moves it on, and an unchanged extract leaves it."""
    files = first_extract()
    files[CRIMES][0].update(principal_code="8Q")
    files[ORDERS].append(extract_row(ORDERS, order_ref="SP-0001", kind="ISPO",
                                     status="interim_granted", granted_at="01/03/2026 11:00",
                                     expires_at="15/03/2026 00:00"))
    files[ORDERS].append(extract_row(ORDERS, order_ref="SP-0002", kind="SPO", status="granted",
                                     granted_at="01/03/2026 17:00",
                                     expires_at="01/03/2028 00:00"))
    ctx = make_context("analyst")
    import_extract(ctx, folder=write_extract(tmp_path / "a", files))
    assert case_of(database, "CR-0001").spo_status == "granted"  # the newer order wins
    with database.read() as session:
        history = session.execute(select(SpoDecision.status, SpoDecision.rationale).join(
            Case, Case.id == SpoDecision.case_id).where(Case.crime_ref == "CR-0001")).all()
    assert history == [("granted", "SPO SP-0002 granted in the RMS extract")]

    files[ORDERS][-1].update(status="discharged")
    later = make_context("analyst", now=LATER)
    import_extract(later, folder=write_extract(tmp_path / "b", files))
    import_extract(later, folder=write_extract(tmp_path / "c", files))  # unchanged
    assert case_of(database, "CR-0001").spo_status == "discharged"
    with database.read() as session:
        statuses = session.execute(select(SpoDecision.status).order_by(SpoDecision.id)
                                   ).scalars().all()
        audit = session.execute(select(AuditEvent.reason, AuditEvent.before, AuditEvent.after)
                                .where(AuditEvent.reason.like("SPO decision%"))).all()
    assert statuses == ["granted", "discharged"]
    assert audit == [("SPO decision from SPO SP-0002 in the RMS extract",
                      {"spo_status": "granted"}, {"spo_status": "discharged"})]


def test_an_import_into_postgresql_gathers_planner_statistics(  # type: ignore[no-untyped-def]
        postgres_database: Database, tmp_path: Path) -> None:
    from app.services.context import open_context
    from app.settings import Settings

    ctx = open_context(Settings(database_url=postgres_database.url, username="analyst",
                                now=NOW), database=postgres_database, migrate=False)
    import_extract(ctx, folder=write_extract(tmp_path / "x", first_extract()))
    assert planner_rows(postgres_database, "crime_case") == 3


def test_an_unchanged_extract_leaves_postgresql_statistics_as_they_were(  # type: ignore[no-untyped-def]
        postgres_database: Database, tmp_path: Path) -> None:
    from app.services.context import open_context
    from app.settings import Settings

    ctx = open_context(Settings(database_url=postgres_database.url, username="analyst",
                                now=NOW), database=postgres_database, migrate=False)
    folder = write_extract(tmp_path / "x", first_extract())
    import_extract(ctx, folder=folder)
    analysed = analyze_count(postgres_database, "crime_case")
    again = import_extract(ctx, folder=folder)
    assert again.ok and again.batch_id is not None and not again.changed
    assert analyze_count(postgres_database, "crime_case") == analysed >= 1


def analyze_count(database: Database, table: str) -> int:
    """How many times ``table`` was analysed by an ANALYZE command."""
    with database.engine.connect() as conn:
        return int(conn.execute(text("SELECT analyze_count FROM pg_stat_user_tables "
                                     "WHERE relname = :t"), {"t": table}).scalar() or 0)


def test_the_same_extract_twice_changes_nothing(database: Database, make_context,  # type: ignore[no-untyped-def]
                                                tmp_path: Path) -> None:
    folder = write_extract(tmp_path / "x", first_extract())
    import_extract(make_context("analyst"), folder=folder)
    before = counts(database)
    versions = {ref: (case_of(database, ref).version, case_of(database, ref).last_activity_at)
                for ref in ("CR-0001", "CR-0002", "CR-0003")}
    again = import_extract(make_context("analyst", now=LATER), folder=folder)
    assert again.ok and not again.changed
    assert [(c.new, c.updated, c.unchanged) for c in again.counts] == [
        (0, 0, 3), (0, 0, 1), (0, 0, 2), (0, 0, 1), (0, 0, 1)]
    assert again.delta.empty
    after = counts(database)
    # only the import's own bookkeeping is new: its batch and its audit event
    assert after == {**before, "import_batch": before["import_batch"] + 1,
                     "audit_event": before["audit_event"] + 1}
    assert versions == {ref: (case_of(database, ref).version, case_of(database, ref).last_activity_at)
                        for ref in versions}


def test_a_newer_extract_updates_records_and_reports_the_delta(  # type: ignore[no-untyped-def]
        database: Database, make_context, tmp_path: Path) -> None:
    import_extract(make_context("analyst"), folder=write_extract(tmp_path / "v1", first_extract()))
    result = import_extract(make_context("analyst", now=LATER),
                            folder=write_extract(tmp_path / "v2", newer_extract()))
    assert [(c.file, c.read, c.new, c.updated, c.unchanged) for c in result.counts] == [
        (CRIMES, 4, 1, 2, 1), (RISK, 2, 1, 0, 1), (ORDERS, 2, 0, 1, 1), (BREACHES, 2, 1, 0, 1),
        (CARE, 1, 0, 0, 1)]
    delta = result.delta
    assert delta.new_crimes.items == ("CR-0004",)
    assert delta.reclassified.items == (Reclassification("CR-0001", "8L", (), "8Q", ("8L",)),)
    assert delta.risk_changes.items == (RiskChange("CR-0001", "medium", "high"),)
    assert delta.new_breaches.items == (NewBreach("BR-0002", "OR-0002", "CR-0004", "CR-0003"),)
    expiring = OrderEvent("OR-0002", "CR-0003", "NMO", "granted", at(20, 0))
    assert delta.orders_granted.items == (expiring,)
    assert delta.orders_expiring.items == (expiring,)
    assert delta.cases_closed.items == ("CR-0003",)
    assert delta.totals() == {"new_crimes": 1, "reclassified": 1, "risk_changes": 1,
                              "new_breaches": 1, "orders_granted": 1, "orders_expiring": 1,
                              "cases_closed": 1}

    one, two, three, four = (case_of(database, f"CR-000{n}") for n in (1, 2, 3, 4))
    # changed cases are claimed once each (version + 1, activity now); others untouched
    assert [(c.version, c.last_activity_at) for c in (one, two, three, four)] == [
        (2, LATER), (1, NOW), (2, LATER), (1, LATER)]
    assert (one.principal_code, one.allocation_team, one.risk_level, one.risk_review_due) == (
        "8Q", "CID", "high", at(9, 20))
    assert one.reassessment_due_at is None  # assessed after the breach that made it due
    assert refs(database, IncludedClassification, IncludedClassification.code, one) == ["8L"]
    assert refs(database, Allocation, Allocation.team, one) == ["CID", "Response"]
    assert (three.status, three.closed_at, three.reassessment_due_at) == ("closed", LATER, None)
    assert four.reassessment_due_at == at(3, 18)  # on the new breach's own crime
    assert four.linked_case_id == three.id
    with database.read() as session:
        events = session.execute(
            select(AuditEvent.reason, AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.entity == "case", AuditEvent.entity_id == "CR-0001")
            .order_by(AuditEvent.id)).all()
        summary = session.execute(select(ImportBatch.delta).order_by(ImportBatch.id.desc())
                                  ).scalars().first()
    assert events[0] == ("updated from RMS extract",
                         {"principal_code": "8L", "allocation_team": "Response",
                          "included_codes": []},
                         {"principal_code": "8Q", "allocation_team": "CID",
                          "included_codes": ["8L"]})
    assert events[1][0] == ("S-DASH risk assessment of 2026-03-02T20:00:00+00:00 recorded "
                            "from RMS extract")
    assert summary["reclassified"] == [{"crime_ref": "CR-0001", "old_principal": "8L",
                                        "old_included": [], "new_principal": "8Q",
                                        "new_included": ["8L"]}]
    assert summary["orders_expiring"][0]["expires_at"] == "2026-03-20T00:00:00+00:00"


def test_included_codes_recorded_in_vigil_are_kept(database: Database, make_context,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    import_extract(make_context("analyst"),
                   folder=write_extract(tmp_path / "v1", {CRIMES: [extract_row(
                       CRIMES, included_codes="8R;58A")]}))
    case = case_of(database, "CR-0001")
    with database.write() as session:  # an analyst's accepted screening flag
        session.add(IncludedClassification(case_id=case.id, code="8Q", source="screening",
                                           added_by="analyst", added_at=NOW))
    result = import_extract(make_context("analyst", now=LATER),
                            folder=write_extract(tmp_path / "v2", {CRIMES: [extract_row(
                                CRIMES, included_codes="8R")]}))
    with database.read() as session:
        kept = session.execute(select(IncludedClassification.code, IncludedClassification.source)
                               .order_by(IncludedClassification.code)).all()
    assert kept == [("8Q", "screening"), ("8R", "import")]
    assert result.delta.reclassified.items == (
        Reclassification("CR-0001", "8L", ("58A", "8Q", "8R"), "8L", ("8Q", "8R")),)


def test_an_extract_with_problems_writes_nothing(database: Database, make_context,  # type: ignore[no-untyped-def]
                                                 tmp_path: Path) -> None:
    files = first_extract()
    files[RISK].append(extract_row(RISK, crime_ref="CR-0009", assessed_at="30/02/2026 10:00"))
    before = counts(database)
    result = import_extract(make_context("analyst"), folder=write_extract(tmp_path / "x", files))
    assert not result.ok and not result.written
    assert result.errors == ("risk.csv:3: assessed_at: '30/02/2026 10:00' is not a real date",
                             "risk.csv:3: crime_ref: 'CR-0009' is not in crimes.csv or in Vigil")
    assert result.counts == () and result.batch_id is None
    assert counts(database) == before


def test_a_dry_run_reports_and_writes_nothing(database: Database, make_context,  # type: ignore[no-untyped-def]
                                              tmp_path: Path) -> None:
    before = counts(database)
    result = import_extract(make_context("analyst"), dry_run=True,
                            folder=write_extract(tmp_path / "x", first_extract()))
    assert result.ok and result.dry_run and not result.written
    assert result.count(CRIMES).new == 3 and result.delta.new_breaches.total == 1
    # nothing but the consultation the dry run made of the cases held
    assert counts(database) == {**before, "audit_event": before["audit_event"] + 1}
    assert last_extract_summary(make_context("analyst")) is None


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_import_leaves_the_database_as_before(  # type: ignore[no-untyped-def]
        database: Database, make_context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        failure: BaseException) -> None:
    import_extract(make_context("analyst"), folder=write_extract(tmp_path / "v1", first_extract()))
    before = counts(database)
    monkeypatch.setattr(apply_module, "CHUNK_ROWS", 1)
    calls = {"risk": 0}
    real = apply_module.Applier.risk_chunk

    def failing(self: apply_module.Applier, records: list[Any]) -> None:
        calls["risk"] += 1
        real(self, records)  # the first chunk is written ...
        if calls["risk"] == 2:
            raise failure  # ... and the second fails after writing too

    monkeypatch.setattr(apply_module.Applier, "risk_chunk", failing)
    with pytest.raises(type(failure)):
        import_extract(make_context("analyst", now=LATER),
                       folder=write_extract(tmp_path / "v2", newer_extract()))
    assert calls["risk"] == 2
    assert counts(database) == before
    assert case_of(database, "CR-0001").principal_code == "8L"


def test_a_file_changed_after_validation_is_refused(database: Database, make_context,  # type: ignore[no-untyped-def]
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_extract(tmp_path / "x", first_extract())
    real = import_module.validate_extract

    def validate_then_edit(*args: Any, **kwargs: Any) -> Any:
        report = real(*args, **kwargs)
        with (folder / CARE).open("a", encoding="utf-8") as handle:
            handle.write("CR-0001,,,,,LOCAL,not a date,\n")
        return report

    monkeypatch.setattr(import_module, "validate_extract", validate_then_edit)
    before = counts(database)
    with pytest.raises(BadInput, match=r"the files in .* changed while they were being "
                                       r"imported; nothing was written"):
        import_extract(make_context("analyst"), folder=folder)
    assert counts(database) == before


def test_small_chunks_give_the_same_result(database: Database, make_context,  # type: ignore[no-untyped-def]
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply_module, "CHUNK_ROWS", 1)
    files = newer_extract()
    files[CARE] += [extract_row(CARE, service="LOCAL"), extract_row(CARE, service="HELPLINE")]
    result = import_extract(make_context("analyst", now=LATER),
                            folder=write_extract(tmp_path / "x", files))
    assert result.ok, result.errors
    assert [(c.file, c.new, c.updated, c.unchanged) for c in result.counts] == [
        (CRIMES, 4, 0, 0), (RISK, 2, 0, 0), (ORDERS, 2, 0, 0), (BREACHES, 2, 0, 0), (CARE, 3, 0, 0)]
    assert case_of(database, "CR-0001").risk_level == "high"
    assert counts(database)["victim_care"] == 1 and counts(database)["referral"] == 3


def test_crimes_already_in_vigil_are_matched_by_reference(database: Database, make_context,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    with database.write() as session:
        add_case(session, "CR-0001", at(1, 10), victim="P-V1", suspect="P-S1", team="Response",
                 officer="PC Ashby", domestic_abuse=True,
                 summary="Repeated messages after being told to stop")
    result = import_extract(make_context("analyst"), folder=write_extract(tmp_path / "x", {
        CRIMES: [extract_row(CRIMES)], RISK: [extract_row(RISK)]}))
    assert (result.count(CRIMES).unchanged, result.count(RISK).new) == (1, 1)
    case = case_of(database, "CR-0001")
    assert (case.version, case.last_activity_at, case.risk_level) == (2, NOW, "standard")


def test_only_analysts_import(database: Database, make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = write_extract(tmp_path / "x", first_extract())
    with pytest.raises(PermissionDenied, match="a supervisor may not import"):
        import_extract(make_context("supervisor.northern"), folder=folder)
    with database.read() as session:
        denied = session.execute(select(AuditEvent.action, AuditEvent.entity)
                                 .where(AuditEvent.action == "denied")).all()
    assert denied == [("denied", "import")]
    assert counts(database)["crime_case"] == 0


def test_since_the_last_extract(database: Database, make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert last_extract_summary(make_context("supervisor.northern")) is None
    import_extract(make_context("analyst"), folder=write_extract(tmp_path / "v1", first_extract()))
    import_extract(make_context("analyst", now=LATER),
                   folder=write_extract(tmp_path / "v2", newer_extract()))
    summary = last_extract_summary(make_context("supervisor.northern"))
    assert summary is not None
    assert (summary.at, summary.username, summary.rows) == (LATER, "analyst", 11)
    assert summary.summary_line() == (
        "since the last extract (03/03/2026 08:00, analyst): 1 new crime, 1 reclassified, "
        "1 risk level change, 1 new breach, 1 order granted, 1 order expiring, 1 case closed")


# --- malformed rows never escape as a traceback, never write anything -----------------
_FIELD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "Y", "N", "y", "31/02/2026", "2026-13-01", "02/03/2026 08:01", "9Z",
                     "CR-0001", "OR-0001", "Northern", "S-DASH", "YYYY", "x" * 40, "\x00",
                     "01/01/1800", "2026-03-01T25:00", "\ufeff", "8Q;8Q", "\"", "a,b"]),
)
_ROW = st.lists(_FIELD_TEXT, min_size=0, max_size=18)
_FILE_ROWS = st.dictionaries(st.sampled_from([CRIMES, RISK, ORDERS, BREACHES, CARE]),
                             st.lists(_ROW, max_size=6), min_size=1)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=_FILE_ROWS, valid_first=st.booleans(), bad_last=st.booleans(),
       raw_bytes=st.binary(max_size=30))
def test_malformed_rows_never_raise_and_never_write(database: Database, make_context,  # type: ignore[no-untyped-def]
                                                    tmp_path_factory: pytest.TempPathFactory,
                                                    files: dict[str, list[list[str]]],
                                                    valid_first: bool, bad_last: bool,
                                                    raw_bytes: bytes) -> None:
    """Whatever the rows hold, the import either applies them or reports
    problems and writes nothing: never a traceback, never half an extract."""
    import csv

    folder = tmp_path_factory.mktemp("malformed")
    before = counts(database)
    for name, rows in files.items():
        with (folder / name).open("w", encoding="utf-8", errors="surrogatepass",
                                  newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS[name])
            if valid_first:
                writer.writerow(extract_row(name).values())
            writer.writerows(rows)
            if bad_last:
                writer.writerow(["not a reference " * 3, "31/02/2026", "?"])
        if bad_last:
            with (folder / name).open("ab") as handle:
                handle.write(raw_bytes)
    result = import_extract(make_context("analyst"), folder=folder)
    if bad_last:
        assert not result.ok
    if not result.ok:
        assert result.error_count >= 1
        assert all(error.split(":")[0] in files and ": " in error for error in result.errors)
        assert counts(database) == before


def _index_names(database: Database) -> set[str]:
    from sqlalchemy import inspect

    with database.engine.connect() as conn:
        inspector = inspect(conn)
        return {index["name"] for table in ("crime_case", "allocation", "included_classification")
                for index in inspector.get_indexes(table)}


def test_a_bulk_load_rebuilds_its_indexes(database: Database, make_context,  # type: ignore[no-untyped-def]
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    indexes = _index_names(database)
    assert {"ix_case_area_reported", "ix_allocation_case_at", "ix_included_code_case"} <= indexes
    monkeypatch.setattr(apply_module, "BULK_LOAD_ROWS", 2)
    real = apply_module.Applier.care_chunk

    def failing(self: apply_module.Applier, records: list[Any]) -> None:
        real(self, records)
        raise RuntimeError("power cut")

    monkeypatch.setattr(apply_module.Applier, "care_chunk", failing)
    folder = write_extract(tmp_path / "x", first_extract())
    with pytest.raises(RuntimeError):
        import_extract(make_context("analyst"), folder=folder)
    assert _index_names(database) == indexes  # rolled back with everything else
    monkeypatch.setattr(apply_module.Applier, "care_chunk", real)
    result = import_extract(make_context("analyst"), folder=folder)
    assert result.count(CRIMES).new == 3
    assert _index_names(database) == indexes
    with database.read() as session:  # the rebuilt index answers queries
        found = session.execute(select(Case.crime_ref).where(Case.area_command == "Southern")
                                ).scalars().all()
    assert found == ["CR-0003"]
