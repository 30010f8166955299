"""Round trip: seed → export → import into an empty database → export gives
identical files; and re-importing an export into its own database changes
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from app.db import Database
from app.rms.formats import FILE_ORDER
from app.services.rms_export import export_cases
from app.services.rms_import import import_extract
from models import Case, PerpetratorProgramme, PerpetratorReferral, TrainingRecord
from seed.generator import generate
from tests.conftest import NOW, _context_factory, _new_database
from tests.factories import (
    add_breach,
    add_case,
    add_order,
    add_referral,
    add_risk,
    add_victim_care,
)
from tests.services.roundtrip_state import (
    CASE_FIELDS,
    board_state,
    differences,
    extract_state,
)


@pytest.fixture
def empty_database(database: Database, tmp_path: Path, sqlite_template: Path,
                   pg_template: str | None) -> Iterator[Database]:
    """A second database on the same engine, with users but no cases."""
    folder = tmp_path / "empty"
    folder.mkdir()
    yield from _new_database(database.dialect if database.dialect == "sqlite" else "postgresql",
                             folder, sqlite_template, pg_template)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def seed_every_file(database: Database) -> None:
    """Hand-made cases touching every column of every extract file."""
    with database.write() as session:
        stalking = add_case(session, "NC/26/0001", at(1, 5, 9, 15), code="8Q",
                            included=("8U", "8R"), victim="V-001", suspect="S-001",
                            domestic_abuse=True, online=True, team="CID", officer="DC Keld",
                            summary="Followed to work; \"won't stop\" messages,\nthen letters")
        harassment = add_case(session, "NC/26/0002", at(2, 1, 23, 59, ), code="8L",
                              area="Eastern", victim="V-002", suspect="S-002",
                              relationship="acquaintance", team="Neighbourhood",
                              status="closed", pin=True, summary="")
        breach = add_case(session, "NC/26/0003", at(2, 20, 7), code="BSPO", victim="V-001",
                          suspect="S-001", team="Orders", officer="PC Orme")
        add_case(session, "NC/26/0004", datetime(2025, 7, 14, 16, 45, 30, 250000, tzinfo=UTC),
                 code="58C", area="Coastal", victim="V-004", suspect=None,
                 relationship="unknown", team=None)
        add_risk(session, stalking, at(1, 5, 12), answers="YYYNNNNNNNN", level="medium",
                 rationale="three yes answers")
        add_risk(session, stalking, at(2, 21, 10), answers="YYYYYYNYNNN", level="high",
                 rationale="breach of the SPO: raised")
        add_risk(session, harassment, at(2, 2, 10), answers="NNNNNNNNNNN", level="medium",
                 rationale="judgement: raised above the suggestion")
        spo = add_order(session, stalking, "SPO/26/001", kind="SPO", status="granted",
                        applied_at=at(1, 10, 9), granted_at=at(1, 30, 11),
                        served_at=at(1, 31, 15), expires_at=datetime(2028, 1, 30, tzinfo=UTC))
        add_order(session, harassment, "RO/26/002", kind="RO", status="applied",
                  applied_at=at(2, 3, 9))
        add_breach(session, spo, breach, "BR/26/001", occurred_at=at(2, 20, 5),
                   reported_at=at(2, 20, 7))
        add_victim_care(session, stalking, needs_assessed_at=at(1, 5, 13), consent=True,
                        rights_explained_at=at(1, 6, 10))
        add_referral(session, stalking, "ISAC", at(1, 6, 11), outcome="accepted")
        add_referral(session, stalking, "PALADIN", at(2, 21, 12))
        add_victim_care(session, harassment, enhanced_rights=False, consent=False)
        add_referral(session, breach, "HELPLINE", at(2, 20, 9), outcome="no_contact")


def assert_same_files(first: Path, second: Path) -> None:
    for name in FILE_ORDER:
        assert (second / name).read_bytes() == (first / name).read_bytes(), name


def round_trip(database: Database, empty_database: Database, tmp_path: Path) -> Path:
    source = _context_factory(database)("analyst")
    target = _context_factory(empty_database)("analyst")
    first = tmp_path / "first"
    export_cases(source, purpose="quality check", target=f"{first}/")
    imported = import_extract(target, folder=first)
    assert imported.ok, imported.errors
    second = tmp_path / "second"
    export_cases(target, purpose="quality check", target=f"{second}/")
    assert_same_files(first, second)
    # and the export re-imports into its own database without changing anything
    again = import_extract(source, folder=first)
    assert again.ok and not again.changed
    assert [c.read for c in again.counts] == [c.read for c in imported.counts]
    return first


def test_round_trip_of_hand_made_cases(database: Database, empty_database: Database,
                                       tmp_path: Path) -> None:
    seed_every_file(database)
    first = round_trip(database, empty_database, tmp_path)
    lines = {name: len((first / name).read_text().splitlines()) - 1 for name in FILE_ORDER}
    # 4 crimes (one summary spans two lines), 3 assessments, 2 orders, 1 breach, 4 care rows
    assert lines == {"crimes.csv": 5, "risk.csv": 3, "orders.csv": 2, "breaches.csv": 1,
                     "victim_care.csv": 4, "spo_decisions.csv": 0, "searches.csv": 0,
                     "multi_agency.csv": 0, "officer_training.csv": 0,
                     "perpetrator_programmes.csv": 0, "perpetrator_referrals.csv": 0}


def seed_action_plan_figures(database: Database) -> None:
    """The rows behind the action plan's figures (recs 10, 18, 25, 2017 PINs)."""
    with database.write() as session:
        stalking = session.exec(select(Case).where(Case.crime_ref == "NC/26/0001")).one()
        stalking.arrested_at = at(1, 8, 6, 30)
        stalking.digital_enquiries = "=phone download; social media accounts"
        pin = session.exec(select(Case).where(Case.crime_ref == "NC/26/0002")).one()
        pin.pin_authorised_by = "Supt Hale"
        session.add(TrainingRecord(officer="DC Keld", course="Stalking awareness",
                                   completed_on=date(2025, 9, 30)))
        session.add(TrainingRecord(officer="PC Orme", course="Stalking awareness",
                                   completed_on=date(2024, 3, 1)))
        programme = PerpetratorProgramme(code="NSIP-N", name="Northern stalking intervention",
                                         area_command="Northern",
                                         available_from=date(2025, 4, 1))
        session.add(programme)
        session.add(PerpetratorProgramme(code="PILOT-E", name="Eastern pilot",
                                         area_command="Eastern", available_from=date(2024, 1, 1),
                                         available_to=date(2025, 12, 31)))
        session.flush()
        session.add(PerpetratorReferral(case_id=stalking.id, programme_id=programme.id,
                                        referred_at=at(2, 25, 10), referred_by="DS Ward",
                                        outcome="accepted"))


def test_round_trip_of_the_action_plan_figures(database: Database, empty_database: Database,
                                               tmp_path: Path) -> None:
    """Training records, programmes, perpetrator referrals, a PIN's authority,
    an arrest and digital lines of enquiry leave in the extract and come back
    unchanged."""
    seed_every_file(database)
    seed_action_plan_figures(database)
    first = round_trip(database, empty_database, tmp_path)
    lines = {name: len((first / name).read_text().splitlines()) - 1
             for name in ("officer_training.csv", "perpetrator_programmes.csv",
                          "perpetrator_referrals.csv")}
    assert lines == {"officer_training.csv": 2, "perpetrator_programmes.csv": 2,
                     "perpetrator_referrals.csv": 1}
    before, after = extract_state(database), extract_state(empty_database)
    assert differences(before, after) == {}
    assert after["cases"]["NC/26/0002"][CASE_FIELDS.index("pin_authorised_by")] == "Supt Hale"
    assert after["cases"]["NC/26/0001"][CASE_FIELDS.index("digital_enquiries")] == (
        "=phone download; social media accounts")
    assert after["perpetrator_referrals"] == {
        ("NC/26/0001", "NSIP-N", at(2, 25, 10)): ("DS Ward", "accepted")}
    assert set(after["training"]) == {("DC Keld", "Stalking awareness", date(2025, 9, 30)),
                                      ("PC Orme", "Stalking awareness", date(2024, 3, 1))}


def test_round_trip_of_a_generated_force(database: Database, empty_database: Database,
                                         tmp_path: Path) -> None:
    report = generate(database, cases=400, seed=11, now=NOW)
    assert report.cases >= 400
    first = round_trip(database, empty_database, tmp_path)
    for name in FILE_ORDER:  # the generated force has rows in every file
        assert len((first / name).read_text().splitlines()) > 1, name


def test_a_seed_re_imported_from_its_format_2_export_is_the_same_force(
        database: Database, empty_database: Database, tmp_path: Path) -> None:
    """`vigil seed --cases 300 --seed 7`, exported as format 2 and imported into
    an empty database: for the same now, the same breach board and the same
    risk, victim-care and order state, record by record."""
    generate(database, cases=300, seed=7, now=NOW)
    source = _context_factory(database)("analyst")
    target = _context_factory(empty_database)("analyst")
    folder = tmp_path / "extract"
    export_cases(source, purpose="round trip check", target=f"{folder}/")
    assert import_extract(target, folder=folder).ok
    before, after = extract_state(database), extract_state(empty_database)
    assert differences(before, after) == {}
    assert set(before) >= {"cases", "risk", "orders", "spo_decisions", "breaches",
                           "victim_care", "referrals", "searches", "multi_agency"}
    board = board_state(source)
    assert board and board == board_state(target)


def test_a_seed_re_imported_gives_the_same_agendas_work_queues_and_board(
        database: Database, empty_database: Database, tmp_path: Path) -> None:
    """`vigil seed --cases 1500 --seed 7`, exported as format 2 and imported
    into an empty database: for the same now, every area's DMM agenda, work
    queue and the breach board are the same, reason by reason. The meetings
    Vigil held (their decisions, actions and carried-over items) are Vigil's
    own records, not the force's: the extract does not carry them, so the
    agendas are compared with the source's meeting history set aside."""
    from sqlalchemy import delete

    from models import DmmAction, DmmItem, DmmMeeting
    from tests.services.roundtrip_state import (
        by_reason,
        dmm_state,
        work_queue_state,
    )

    generate(database, cases=1_500, seed=7, now=NOW)
    source = _context_factory(database)("analyst")
    target = _context_factory(empty_database)("analyst")
    folder = tmp_path / "extract"
    export_cases(source, purpose="round trip check", target=f"{folder}/")
    assert import_extract(target, folder=folder).ok
    assert differences(extract_state(database), extract_state(empty_database)) == {}
    board, queues = board_state(source), work_queue_state(source)
    assert board and board == board_state(target)
    assert queues and queues == work_queue_state(target)
    with database.write() as session:  # the meetings held: Vigil's records, not the RMS's
        for table in (DmmAction, DmmItem, DmmMeeting):
            session.execute(delete(table))
    agendas = dmm_state(source)
    assert agendas and agendas == dmm_state(target)
    tally = by_reason(agendas, dmm_state(target),
                      lambda _key, value: [code for code, _words in value[1]] if value else [])
    assert {"BREACH", "NEW_CRIME", "REPEAT_PAIR"} <= set(tally)
    assert all(other == 0 for _same, other in tally.values())
