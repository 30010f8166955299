"""Extract format 2, the action plan's files and columns: officer training,
perpetrator programmes and referrals, a PIN's authority, arrests and digital
lines of enquiry reach Vigil; bad rows are refused as
``file:line: field: problem`` with nothing written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from app.db import Database
from app.services.rms_import import import_extract
from models import Case, PerpetratorProgramme, PerpetratorReferral, TrainingRecord
from tests.conftest import ContextFactory
from tests.factories import extract_row, write_extract

CRIMES = "crimes.csv"
TRAINING, PROGRAMMES, REFERRALS = (
    "officer_training.csv", "perpetrator_programmes.csv", "perpetrator_referrals.csv")


def _files(**changes: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    files = {
        CRIMES: [
            extract_row(CRIMES, principal_code="8Q", officer="DC Keld",
                        arrested_at="01/03/2026 18:00",
                        digital_enquiries="phone download; social media accounts"),
            extract_row(CRIMES, crime_ref="CR-0002", principal_code="8L", pin_issued="Y",
                        pin_authorised_by="Supt Hale"),
            extract_row(CRIMES, crime_ref="CR-0003", principal_code="8L", pin_issued="Y"),
        ],
        TRAINING: [
            {"officer": "DC Keld", "course": "Stalking: first response",
             "completed_on": "2025-10-01"},
            {"officer": "DC Keld", "course": "Stalking and harassment (College of Policing)",
             "completed_on": "14/01/2024"},
        ],
        PROGRAMMES: [
            {"code": "SIP-N", "name": "Northern stalking intervention programme",
             "area_command": "Northern", "available_from": "2025-04-01", "available_to": ""},
        ],
        REFERRALS: [
            {"crime_ref": "CR-0001", "programme_code": "SIP-N",
             "referred_at": "01/03/2026 16:00", "referred_by": "DS Ward",
             "outcome": "accepted"},
        ],
    }
    files.update(changes)
    return files


def _read(database: Database, model: type) -> list:  # type: ignore[type-arg]
    with database.read() as session:
        return list(session.execute(select(model).order_by(model.id)).scalars())


def test_the_action_plan_files_reach_vigil(database: Database, make_context: ContextFactory,
                                           tmp_path: Path) -> None:
    folder = write_extract(tmp_path / "x", _files(), format_version=2)
    result = import_extract(make_context("analyst"), folder=folder)
    assert result.ok, result.errors
    cases = {c.crime_ref: c for c in _read(database, Case)}
    assert cases["CR-0001"].digital_enquiries == "phone download; social media accounts"
    assert cases["CR-0001"].arrested_at is not None
    assert cases["CR-0002"].pin_authorised_by == "Supt Hale"
    assert cases["CR-0003"].pin_authorised_by is None
    assert [(t.officer, t.completed_on) for t in _read(database, TrainingRecord)] == [
        ("DC Keld", date(2025, 10, 1)), ("DC Keld", date(2024, 1, 14))]
    (programme,) = _read(database, PerpetratorProgramme)
    assert (programme.code, programme.area_command, programme.available_to) == (
        "SIP-N", "Northern", None)
    (referral,) = _read(database, PerpetratorReferral)
    assert (referral.case_id, referral.programme_id, referral.outcome) == (
        cases["CR-0001"].id, programme.id, "accepted")
    # the same extract again changes nothing; an empty cell keeps what Vigil holds
    again = import_extract(make_context("analyst"), folder=folder)
    assert again.ok and not again.changed
    files = _files()
    files[CRIMES][1]["pin_authorised_by"] = ""
    import_extract(make_context("analyst"),
                   folder=write_extract(tmp_path / "y", files, format_version=2))
    assert {c.crime_ref: c for c in _read(database, Case)}["CR-0002"].pin_authorised_by == (
        "Supt Hale")


def test_bad_rows_are_named_and_nothing_is_written(database: Database,
                                                   make_context: ContextFactory,
                                                   tmp_path: Path) -> None:
    files = _files(**{
        TRAINING: [{"officer": "DC Keld", "course": "", "completed_on": "31/02/2025"}],
        PROGRAMMES: [{"code": "SIP-N", "name": "Northern", "area_command": "Nowhere",
                      "available_from": "2025-04-01", "available_to": "2025-01-01"},
                     {"code": "SIP-S", "name": "Southern", "area_command": "Southern",
                      "available_from": "2025-04-01", "available_to": "2025-01-01"}],
        REFERRALS: [{"crime_ref": "CR-0001", "programme_code": "NOPE",
                     "referred_at": "01/03/2026 16:00", "referred_by": "", "outcome": ""}],
    })
    files[CRIMES][0]["pin_authorised_by"] = "Supt Hale"  # no PIN on this crime
    folder = write_extract(tmp_path / "bad", files, format_version=2)
    result = import_extract(make_context("analyst"), folder=folder)
    assert not result.ok
    assert set(result.errors) == {
        "crimes.csv:2: pin_authorised_by: given, but pin_issued is N (no PIN to authorise)",
        "officer_training.csv:2: course: required, but empty",
        "officer_training.csv:2: completed_on: '31/02/2025' is not a real date",
        "perpetrator_programmes.csv:2: area_command: unknown area command 'Nowhere' "
        "(expected Northern, Southern, Eastern, Western, Central, Coastal)",
        "perpetrator_programmes.csv:3: available_to: is before available_from",
        "perpetrator_referrals.csv:2: programme_code: 'NOPE' is not in "
        "perpetrator_programmes.csv or in Vigil",
    }
    assert _read(database, Case) == [] and _read(database, TrainingRecord) == []
    assert _read(database, PerpetratorProgramme) == []


def test_the_files_need_format_2(database: Database, make_context: ContextFactory,
                                 tmp_path: Path) -> None:
    folder = write_extract(tmp_path / "v1", {CRIMES: [extract_row(CRIMES)]})
    (folder / TRAINING).write_text("officer,course,completed_on\nDC Keld,x,2025-01-01\n",
                                   encoding="utf-8")
    result = import_extract(make_context("analyst"), folder=folder)
    assert result.errors == ("officer_training.csv:1: header: a format 2 file; give the "
                             "folder a manifest.json with format_version 2",)


def test_the_figures_of_a_hand_made_extract_match_a_hand_count(
        database: Database, make_context: ContextFactory, tmp_path: Path) -> None:
    """Three crimes of March 2026 counted by hand: CR-0001 the one stalking
    case (arrested, digital enquiries recorded, its suspect referred to a
    programme, no search); CR-0002 and CR-0003 harassment with a PIN each,
    CR-0003's without a superintendent's authority."""
    from app.rules import metrics as m
    from app.services.assurance import assurance_report

    folder = write_extract(tmp_path / "x", _files(), format_version=2)
    assert import_extract(make_context("analyst"), folder=folder).ok
    report = assurance_report(make_context("analyst"), date_from=date(2026, 3, 1),
                              date_to=date(2026, 3, 31))
    counted = {code: (report.result(code).overall.numerator,
                      report.result(code).overall.denominator)
               for code in (m.R18_ARRESTED, m.R18_DIGITAL, m.R18_SEARCHED,
                            m.R25_PERPETRATOR_REFERRED, m.PINS_UNAUTHORISED)}
    assert counted == {m.R18_ARRESTED: (1, 1), m.R18_DIGITAL: (1, 1), m.R18_SEARCHED: (0, 1),
                       m.R25_PERPETRATOR_REFERRED: (1, 1), m.PINS_UNAUTHORISED: (1, 2)}
