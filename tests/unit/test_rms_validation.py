"""Validation of RMS extracts: one test per kind of problem, with the exact
``file:line: field: what is wrong`` message an analyst reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db import Database
from app.errors import BadInput
from app.policy import default_policy
from app.rms.cross_checks import MAX_KEPT_ERRORS
from app.rms.extract_files import find_extract_files
from app.rms.formats import COLUMNS, Vocabulary, parse_datetime
from app.rms.validate import ValidationReport, format_errors, validate_extract
from tests.conftest import NOW
from tests.factories import add_case, add_order, extract_row, write_extract

CRIMES, RISK, ORDERS, BREACHES, CARE = (
    "crimes.csv", "risk.csv", "orders.csv", "breaches.csv", "victim_care.csv")


def check(database: Database, folder: Path) -> ValidationReport:
    vocab = Vocabulary.load(default_policy(), NOW)
    with database.read() as session:
        return validate_extract(session, find_extract_files(folder), vocab)


def errors_of(database: Database, tmp_path: Path, files: dict[str, list[dict[str, str]]]) -> list[str]:
    report = check(database, write_extract(tmp_path / "extract", files))
    assert report.error_count == len(report.errors)
    return list(report.errors)


def one_crime(sqlite_database: Database, tmp_path: Path, **values: str) -> list[str]:
    return errors_of(sqlite_database, tmp_path, {CRIMES: [extract_row(CRIMES, **values)]})


def test_a_valid_extract_has_no_problems(sqlite_database: Database, tmp_path: Path) -> None:
    report = check(sqlite_database, write_extract(tmp_path / "x", {
        CRIMES: [extract_row(CRIMES), extract_row(CRIMES, crime_ref="CR-0002", principal_code="BRO")],
        RISK: [extract_row(RISK)],
        ORDERS: [extract_row(ORDERS)],
        BREACHES: [extract_row(BREACHES)],
        CARE: [extract_row(CARE), extract_row(CARE, service="HELPLINE")],
    }))
    assert report.ok
    assert report.rows == {CRIMES: 2, RISK: 1, ORDERS: 1, BREACHES: 1, CARE: 2}


# --- codes, vocabulary ------------------------------------------------------
@pytest.mark.parametrize(("field", "value", "message"), [
    pytest.param("principal_code", "9Z", "unknown classification code '9Z'",
                 id="unknown principal code"),
    pytest.param("included_codes", "8Q;8X", "unknown classification code '8X'",
                 id="unknown included code"),
    pytest.param("included_codes", "8Q; 8R;8Q", "'8Q' is listed twice",
                 id="included code listed twice"),
    pytest.param("area_command", "Nothern", "unknown area command 'Nothern' (expected "
                 "Northern, Southern, Eastern, Western, Central, Coastal)",
                 id="unknown area command"),
    pytest.param("allocation_team", "Traffic", "unknown team 'Traffic' (expected Response, "
                 "Neighbourhood, CID, Safeguarding, Orders)", id="unknown team"),
])
def test_a_code_area_or_team_the_force_does_not_have(sqlite_database: Database, tmp_path: Path,
                                                     field: str, value: str,
                                                     message: str) -> None:
    assert one_crime(sqlite_database, tmp_path, **{field: value}) == [
        f"crimes.csv:2: {field}: {message}"]


@pytest.mark.parametrize(("file_name", "field", "value", "message"), [
    (CRIMES, "relationship", "spouse", "unknown relationship 'spouse' (expected ex_partner, "
     "partner, family, acquaintance, stranger, unknown)"),
    (CRIMES, "status", "pending", "unknown status 'pending' (expected open, closed)"),
    (ORDERS, "kind", "ASBO", "unknown order kind 'ASBO' (expected SPO, ISPO, RO, NMO, DVPO)"),
    (ORDERS, "status", "made", "unknown order status 'made' (expected application_in_preparation,"
     " applied, interim_granted, granted, refused, varied, renewed, discharged, expired)"),
    (RISK, "level", "severe", "unknown risk level 'severe' (expected standard, medium, high)"),
    (RISK, "tool", "SASH", "unknown risk tool 'SASH' (expected S-DASH)"),
    (CARE, "service", "IDVA", "unknown support service 'IDVA' (expected ISAC, ISHA, PALADIN, "
     "HELPLINE, LOCAL)"),
    (CARE, "outcome", "lost", "unknown referral outcome 'lost' (expected pending, accepted, "
     "declined, no_contact)"),
])
def test_unknown_value_of_a_vocabulary(sqlite_database: Database, tmp_path: Path, file_name: str,
                                       field: str, value: str, message: str) -> None:
    crimes = [extract_row(CRIMES)]
    if file_name == CRIMES:
        files = {CRIMES: [*crimes, extract_row(CRIMES, crime_ref="CR-0002", **{field: value})]}
        line = 3
    else:
        files = {CRIMES: crimes, file_name: [extract_row(file_name, **{field: value})]}
        line = 2
    assert errors_of(sqlite_database, tmp_path, files) == [f"{file_name}:{line}: {field}: {message}"]


# --- dates ---------------------------------------------------------------
def test_impossible_date_on_line_17(sqlite_database: Database, tmp_path: Path) -> None:
    rows = [extract_row(CRIMES, crime_ref=f"CR-{n:04d}") for n in range(1, 16)]
    rows.append(extract_row(CRIMES, crime_ref="CR-0016", reported_at="31/02/2026"))
    assert errors_of(sqlite_database, tmp_path, {CRIMES: rows}) == [
        "crimes.csv:17: reported_at: '31/02/2026' is not a real date"]


def test_impossible_iso_time(sqlite_database: Database, tmp_path: Path) -> None:
    assert one_crime(sqlite_database, tmp_path, reported_at="2026-02-11T25:10") == [
        "crimes.csv:2: reported_at: '2026-02-11T25:10' is not a real date"]


def test_unreadable_date(sqlite_database: Database, tmp_path: Path) -> None:
    assert one_crime(sqlite_database, tmp_path, reported_at="last Tuesday") == [
        "crimes.csv:2: reported_at: 'last Tuesday' is not a date (use ISO 8601 or "
        "dd/mm/yyyy HH:MM)"]


def test_future_date(sqlite_database: Database, tmp_path: Path) -> None:
    # NOW is 08:00 on 2 March 2026 (GMT): one minute later is in the future
    assert one_crime(sqlite_database, tmp_path, reported_at="02/03/2026 08:01") == [
        "crimes.csv:2: reported_at: '02/03/2026 08:01' is in the future"]


def test_expiry_may_be_in_the_future_but_a_grant_may_not(sqlite_database: Database,
                                                         tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES)],
        ORDERS: [extract_row(ORDERS, granted_at="2026-04-01T09:00:00+01:00",
                             expires_at="2028-04-01T00:00:00+01:00")],
    })
    assert errors == ["orders.csv:2: granted_at: '2026-04-01T09:00:00+01:00' is in the future"]


def test_date_before_1900(sqlite_database: Database, tmp_path: Path) -> None:
    assert one_crime(sqlite_database, tmp_path, reported_at="01/03/0026 10:00") == [
        "crimes.csv:2: reported_at: '01/03/0026 10:00' is before 1900"]


def test_both_date_forms_read_as_the_same_moment() -> None:
    # 1 July is British Summer Time: 10:00 local is 09:00 UTC
    assert parse_datetime("01/07/2025 10:00") == parse_datetime("2025-07-01T09:00:00+00:00")


# --- references --------------------------------------------------------------
def test_missing_crime_reference(sqlite_database: Database, tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES)],
        RISK: [extract_row(RISK), extract_row(RISK, crime_ref="CR-9999")],
    })
    assert errors == ["risk.csv:3: crime_ref: 'CR-9999' is not in crimes.csv or in Vigil"]


def test_missing_reference_without_a_crimes_file(sqlite_database: Database,
                                                 tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {CARE: [extract_row(CARE)]})
    assert errors == ["victim_care.csv:2: crime_ref: 'CR-0001' is not in the extract or in Vigil"]


def test_missing_order_reference(sqlite_database: Database, tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES), extract_row(CRIMES, crime_ref="CR-0002")],
        BREACHES: [extract_row(BREACHES, order_ref="OR-0404")],
    })
    assert errors == ["breaches.csv:2: order_ref: 'OR-0404' is not in the extract or in Vigil"]


def test_missing_breach_crime(sqlite_database: Database, tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES)],
        ORDERS: [extract_row(ORDERS)],
        BREACHES: [extract_row(BREACHES, crime_ref="CR-0777")],
    })
    assert errors == ["breaches.csv:2: crime_ref: 'CR-0777' is not in crimes.csv or in Vigil"]


def test_references_already_in_vigil_are_found(sqlite_database: Database, tmp_path: Path) -> None:
    with sqlite_database.write() as session:
        case = add_case(session, "CR-0001", NOW)
        add_order(session, case, "OR-0001")
        add_case(session, "CR-0002", NOW)
    assert errors_of(sqlite_database, tmp_path, {
        RISK: [extract_row(RISK)], BREACHES: [extract_row(BREACHES)], CARE: [extract_row(CARE)],
    }) == []


# --- duplicates ---------------------------------------------------------------
def test_duplicate_crime_reference(sqlite_database: Database, tmp_path: Path) -> None:
    rows = [extract_row(CRIMES), extract_row(CRIMES, crime_ref="CR-0002"),
            extract_row(CRIMES, summary="a second row for the same crime")]
    assert errors_of(sqlite_database, tmp_path, {CRIMES: rows}) == [
        "crimes.csv:4: crime_ref: 'CR-0001' is also on line 2"]


def test_duplicate_order_and_breach_references(sqlite_database: Database, tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES), extract_row(CRIMES, crime_ref="CR-0002")],
        ORDERS: [extract_row(ORDERS), extract_row(ORDERS, kind="NMO")],
        BREACHES: [extract_row(BREACHES), extract_row(BREACHES)],
    })
    assert errors == ["orders.csv:3: order_ref: 'OR-0001' is also on line 2",
                      "breaches.csv:3: breach_ref: 'BR-0001' is also on line 2"]


def test_duplicate_risk_assessment_in_either_date_form(sqlite_database: Database,
                                                       tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES)],
        RISK: [extract_row(RISK),
               extract_row(RISK, assessed_at="2026-03-01T12:00:00Z", level="medium")],
    })
    assert errors == ["risk.csv:3: assessed_at: the S-DASH assessment of 'CR-0001' at "
                      "2026-03-01T12:00:00Z is also on line 2"]


def test_duplicate_referral(sqlite_database: Database, tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES)],
        CARE: [extract_row(CARE), extract_row(CARE, service="LOCAL"),
               extract_row(CARE, outcome="accepted")],
    })
    assert errors == ["victim_care.csv:4: service: the ISAC referral of 'CR-0001' is also on line 2"]


def test_victim_care_rows_of_one_crime_must_agree(sqlite_database: Database,
                                                  tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES)],
        CARE: [extract_row(CARE), extract_row(CARE, service="LOCAL", consent="N"),
               extract_row(CARE, service="HELPLINE", needs_assessed_at="", enhanced_rights="",
                           consent="")],
    })
    assert errors == ["victim_care.csv:3: consent: differs from line 2 for the same crime_ref"]


# --- flags, answers, required, lengths -------------------------------------------
def test_bad_yes_no(sqlite_database: Database, tmp_path: Path) -> None:
    assert one_crime(sqlite_database, tmp_path, domestic_abuse="Yes") == [
        "crimes.csv:2: domestic_abuse: 'Yes' is not Y or N"]


def test_answers_of_the_wrong_length(sqlite_database: Database, tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES)], RISK: [extract_row(RISK, answers="YNYNNY")]})
    assert errors == ["risk.csv:2: answers: 'YNYNNY' has 6 answers; S-DASH 2009 has 11 questions"]


def test_answers_other_than_yes_or_no(sqlite_database: Database, tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES)], RISK: [extract_row(RISK, answers="YNYN?NNNNNN")]})
    assert errors == ["risk.csv:2: answers: 'YNYN?NNNNNN' may hold only Y and N"]


def test_required_field_empty(sqlite_database: Database, tmp_path: Path) -> None:
    assert one_crime(sqlite_database, tmp_path, victim_ref="  ") == [
        "crimes.csv:2: victim_ref: required, but empty"]


def test_reference_too_long_for_its_column(sqlite_database: Database, tmp_path: Path) -> None:
    ref = "CR-" + "9" * 30
    assert one_crime(sqlite_database, tmp_path, crime_ref=ref) == [
        f"crimes.csv:2: crime_ref: '{ref}' is longer than 32 characters"]


def test_nul_character(sqlite_database: Database, tmp_path: Path) -> None:
    assert one_crime(sqlite_database, tmp_path, summary="text\x00more") == [
        "crimes.csv:2: summary: contains a NUL character"]


def test_service_rules_of_a_referral(sqlite_database: Database, tmp_path: Path) -> None:
    errors = errors_of(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES)],
        CARE: [extract_row(CARE, referred_at=""),
               extract_row(CARE, service="", outcome="accepted")],
    })
    assert errors == ["victim_care.csv:2: referred_at: required when a service is given",
                      "victim_care.csv:3: service: required when referred_at or outcome is given"]


# --- the file itself ---------------------------------------------------------------
def write_raw(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return folder


def test_missing_and_unknown_columns(sqlite_database: Database, tmp_path: Path) -> None:
    header = [c for c in COLUMNS[RISK] if c not in ("assessor", "level")] + ["notes"]
    folder = write_raw(tmp_path, RISK, (",".join(header) + "\n").encode())
    assert list(check(sqlite_database, folder).errors) == [
        "risk.csv:1: header: missing column(s) level, assessor",
        "risk.csv:1: header: unknown column(s) 'notes'"]


def test_column_named_twice(sqlite_database: Database, tmp_path: Path) -> None:
    header = ",".join([*COLUMNS[BREACHES], "order_ref"])
    folder = write_raw(tmp_path, BREACHES, (header + "\n").encode())
    assert list(check(sqlite_database, folder).errors) == [
        "breaches.csv:1: header: column order_ref appears twice"]


def test_empty_file(sqlite_database: Database, tmp_path: Path) -> None:
    folder = write_raw(tmp_path, ORDERS, b"")
    assert list(check(sqlite_database, folder).errors) == ["orders.csv:1: header: the file is empty"]


def test_row_with_the_wrong_number_of_fields(sqlite_database: Database, tmp_path: Path) -> None:
    header = ",".join(COLUMNS[BREACHES])
    data = f"{header}\n\nBR-1,OR-1,CR-1,01/03/2026 10:00\n".encode()
    assert list(check(sqlite_database, write_raw(tmp_path, BREACHES, data)).errors) == [
        "breaches.csv:3: row: has 4 fields, the header has 5"]


def test_text_that_is_not_utf8(sqlite_database: Database, tmp_path: Path) -> None:
    header = ",".join(COLUMNS[CRIMES])
    row = ",".join(extract_row(CRIMES, summary="caf\u00e9").values())
    data = f"{header}\n".encode() + row.encode("latin-1") + b"\n"
    assert list(check(sqlite_database, write_raw(tmp_path, CRIMES, data)).errors) == [
        "crimes.csv:2: text: not UTF-8 (byte 0xe9 at position "
        f"{len(row.encode('latin-1'))}); save the extract as UTF-8"]


def test_lines_count_physical_lines_of_quoted_text(sqlite_database: Database,
                                                   tmp_path: Path) -> None:
    rows = [extract_row(CRIMES, summary="first line\nsecond line\nthird"),
            extract_row(CRIMES, crime_ref="CR-0002", online="maybe")]
    assert errors_of(sqlite_database, tmp_path, {CRIMES: rows}) == [
        "crimes.csv:5: online: 'maybe' is not Y or N"]


def test_byte_order_mark_is_accepted(sqlite_database: Database, tmp_path: Path) -> None:
    header = ",".join(COLUMNS[CRIMES])
    row = ",".join(extract_row(CRIMES).values())
    data = b"\xef\xbb\xbf" + f"{header}\n{row}\n".encode()
    assert check(sqlite_database, write_raw(tmp_path, CRIMES, data)).ok


def test_folder_problems(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        find_extract_files(tmp_path / "nowhere")
    (tmp_path / "notes.csv").write_text("x\n")
    with pytest.raises(BadInput, match=r"holds none of crimes\.csv, risk\.csv"):
        find_extract_files(tmp_path)
    (tmp_path / "crimes.csv").write_text("x\n")
    found = find_extract_files(tmp_path)
    assert found.files == ("crimes.csv",)
    assert found.ignored == ("notes.csv",)


# --- many problems ------------------------------------------------------------------
def test_every_problem_is_counted_in_file_and_line_order(sqlite_database: Database,
                                                         tmp_path: Path) -> None:
    rows = [extract_row(CRIMES, crime_ref=f"CR-{n:05d}", online="?")
            for n in range(MAX_KEPT_ERRORS + 50)]
    folder = write_extract(tmp_path / "many", {
        CRIMES: rows, RISK: [extract_row(RISK, crime_ref="CR-00000", level="x")]})
    report = check(sqlite_database, folder)
    assert report.error_count == MAX_KEPT_ERRORS + 51
    assert len(report.errors) == MAX_KEPT_ERRORS
    assert report.errors[0] == "crimes.csv:2: online: '?' is not Y or N"
    assert report.errors[-1] == f"crimes.csv:{MAX_KEPT_ERRORS + 1}: online: '?' is not Y or N"
    text = format_errors(report.errors, report.error_count, limit=3)
    assert text.splitlines() == [
        "crimes.csv:2: online: '?' is not Y or N",
        "crimes.csv:3: online: '?' is not Y or N",
        "crimes.csv:4: online: '?' is not Y or N",
        f"... and {MAX_KEPT_ERRORS + 48} more",
    ]


# --- format 2 ------------------------------------------------------------------
def errors_v2(database: Database, tmp_path: Path,
              files: dict[str, list[dict[str, str]]]) -> list[str]:
    report = check(database, write_extract(tmp_path / "v2", files, format_version=2))
    return list(report.errors)


def test_format_2_columns_need_a_manifest(sqlite_database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "v1"
    write_extract(folder, {CRIMES: [extract_row(CRIMES)]})
    text = (folder / CRIMES).read_text().splitlines()
    (folder / CRIMES).write_text("\n".join([text[0] + ",closed_at", text[1] + ","]) + "\n")
    assert list(check(sqlite_database, folder).errors) == [
        "crimes.csv:1: header: unknown column(s) 'closed_at' (format 2 columns: give the folder "
        "a manifest.json with format_version 2)"]
    (folder / "spo_decisions.csv").write_text("crime_ref,status,rationale,decided_by,decided_at\n")
    (folder / CRIMES).write_text("\n".join(text) + "\n")
    assert list(check(sqlite_database, folder).errors) == [
        "spo_decisions.csv:1: header: a format 2 file; give the folder a manifest.json with "
        "format_version 2"]


@pytest.mark.parametrize(("manifest", "message"), [
    ('{"format_version": 3, "source_kind": "live"}',
     "manifest.json:1: format_version: 3 is not a known format (expected 1 or 2)"),
    ('{\n  "format_version": 2,\n  "source_kind": "test"\n}',
     "manifest.json:3: source_kind: unknown source kind 'test' (expected live, training, "
     "evaluation, synthetic)"),
    ('{"format_version": 2, "source_kind": "live", "formula_protection": "quotes"}',
     "manifest.json:1: formula_protection: unknown protection 'quotes' (expected none, "
     "apostrophe)"),
    ('{"format_version": 2}',
     "manifest.json:1: source_kind: required, but missing (expected live, training, "
     "evaluation, synthetic)"),
    ('{"format_version": 2, "source_kind": "live", "rows": 3}',
     "manifest.json:1: rows: unknown field (expected format, format_version, source_kind, "
     "formula_protection, files, notice)"),
    ('{"format_version": 2,', "manifest.json:1: json: cannot be read (Expecting property name "
                              "enclosed in double quotes)"),
])
def test_manifest_problems(sqlite_database: Database, tmp_path: Path, manifest: str,
                           message: str) -> None:
    folder = write_extract(tmp_path / "x", {CRIMES: [extract_row(CRIMES)]})
    (folder / "manifest.json").write_text(manifest)
    report = check(sqlite_database, folder)
    assert list(report.errors) == [message] and not report.spools


def test_a_valid_format_2_extract(sqlite_database: Database, tmp_path: Path) -> None:
    report = check(sqlite_database, write_extract(tmp_path / "x", {
        CRIMES: [extract_row(CRIMES, status="closed", closed_at="01/03/2026 18:00",
                             outcome="charged"),
                 extract_row(CRIMES, crime_ref="CR-0002", principal_code="BRO")],
        RISK: [extract_row(RISK, management_plan="Plan", plan_set_at="01/03/2026 13:00",
                           plan_review_due="08/03/2026 13:00")],
        "spo_decisions.csv": [{"crime_ref": "CR-0001", "status": "considered_not_appropriate",
                               "rationale": "no course of conduct", "decided_by": "DI Marr",
                               "decided_at": "01/03/2026 14:00"}],
        ORDERS: [extract_row(ORDERS, served_at="01/03/2026 14:00",
                             notification_due_at="04/03/2026 14:00",
                             notified_at="01/03/2026 20:00")],
        BREACHES: [extract_row(BREACHES, acknowledged_by="PS Vale",
                               acknowledged_at="01/03/2026 16:00",
                               acknowledgement_note="seen", escalation_level="2",
                               threats_or_violence="Y", outcome="charged")],
        CARE: [extract_row(CARE, consent="refused", consent_at="01/03/2026 12:00",
                           last_update_at="01/03/2026 17:00", vps_offered_at="01/03/2026 17:00",
                           service="", referred_at="", outcome="")],
        "searches.csv": [{"crime_ref": "CR-0001", "power": "PHA 1997 s2B warrant (stalking)",
                          "conducted_at": "01/03/2026 19:00", "officer": "DC Orme",
                          "authorised_by": "JP Hale", "premises": "suspect's flat",
                          "result": "phone seized"}],
        "multi_agency.csv": [{"crime_ref": "CR-0001", "kind": "MARAC",
                              "referred_at": "01/03/2026 19:30", "referred_by": "DS Keld",
                              "outcome": ""}],
    }, format_version=2))
    assert report.ok, report.errors
    care = next(report.spools[CARE].records())
    assert care.consent is False and care.consent_at is not None  # refused, with its date


@pytest.mark.parametrize(("file_name", "values", "message"), [
    (CARE, {"consent": "maybe"},
     "victim_care.csv:2: consent: 'maybe' is not Y (given), N (not yet asked) or refused"),
    (CARE, {"consent": "N", "consent_at": "01/03/2026 12:00"},
     "victim_care.csv:2: consent_at: given, but consent is N (not yet asked)"),
    (RISK, {"plan_set_at": "01/03/2026 13:00"},
     "risk.csv:2: management_plan: required when plan_set_at or plan_review_due is given"),
    (RISK, {"approved_by": "officer.northern", "approved_at": "01/03/2026 13:00"},
     "risk.csv:2: approved_by: 'officer.northern' is the assessor: a second supervisor "
     "approves (four-eyes)"),
    (RISK, {"approved_at": "01/03/2026 13:00"},
     "risk.csv:2: approved_by: required when approved_at is given"),
    (ORDERS, {"notified_at": "01/03/2026 20:00"},
     "orders.csv:2: notified_at: given, but the order has no served_at"),
    (BREACHES, {"acknowledged_at": "01/03/2026 16:00"},
     "breaches.csv:2: acknowledged_by: required when acknowledged_at is given"),
    (BREACHES, {"acknowledged_by": "PS Vale", "acknowledged_at": "01/03/2026 14:30"},
     "breaches.csv:2: acknowledged_at: is before reported_at"),
    (BREACHES, {"escalation_level": "4"},
     "breaches.csv:2: escalation_level: unknown escalation level '4' (expected 1, 2, 3)"),
    (CRIMES, {"closed_at": "01/03/2026 18:00"},
     "crimes.csv:2: closed_at: given, but status is open"),
])
def test_format_2_problems(sqlite_database: Database, tmp_path: Path, file_name: str,
                           values: dict[str, str], message: str) -> None:
    files = {CRIMES: [extract_row(CRIMES), extract_row(CRIMES, crime_ref="CR-0002",
                                                       principal_code="BRO")]}
    if file_name in (BREACHES,):
        files[ORDERS] = [extract_row(ORDERS)]
    if file_name == CRIMES:
        files[CRIMES][0] = extract_row(CRIMES, **values)
    else:
        files[file_name] = [extract_row(file_name, **values)]
    assert errors_v2(sqlite_database, tmp_path, files) == [message]


def test_format_2_file_problems(sqlite_database: Database, tmp_path: Path) -> None:
    assert errors_v2(sqlite_database, tmp_path, {
        CRIMES: [extract_row(CRIMES)],
        "spo_decisions.csv": [
            {"crime_ref": "CR-0001", "status": "considered_not_appropriate", "rationale": "",
             "decided_by": "DI Marr", "decided_at": "01/03/2026 14:00"},
            {"crime_ref": "CR-0001", "status": "pondered", "rationale": "",
             "decided_by": "DI Marr", "decided_at": "01/03/2026 15:00"}],
        "multi_agency.csv": [{"crime_ref": "CR-0009", "kind": "MARAC",
                              "referred_at": "01/03/2026 19:30", "referred_by": "",
                              "outcome": ""}],
        "searches.csv": [{"crime_ref": "CR-0001", "power": "", "conducted_at": "01/03/2026 19:00",
                          "officer": "DC Orme", "authorised_by": "", "premises": "",
                          "result": ""}],
    }) == [
        "spo_decisions.csv:2: rationale: required when the SPO is considered not appropriate",
        "spo_decisions.csv:3: status: unknown SPO decision 'pondered' (expected not_considered, "
        "considered_not_appropriate, application_in_preparation, applied, interim_granted, "
        "granted, refused, varied, renewed, discharged, expired)",
        "searches.csv:2: power: required, but empty",
        "multi_agency.csv:2: crime_ref: 'CR-0009' is not in crimes.csv or in Vigil",
    ]


def test_formula_protection_is_undone(sqlite_database: Database, tmp_path: Path) -> None:
    folder = write_extract(tmp_path / "x", {
        CRIMES: [extract_row(CRIMES, summary="'=HYPERLINK(x)", officer="'+PC Orme")]},
        format_version=2)
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"none"', '"apostrophe"'))
    record = next(check(sqlite_database, folder).spools[CRIMES].records())
    assert (record.summary, record.officer) == ("=HYPERLINK(x)", "+PC Orme")
    manifest.write_text(manifest.read_text().replace('"apostrophe"', '"none"'))
    record = next(check(sqlite_database, folder).spools[CRIMES].records())
    assert record.summary == "'=HYPERLINK(x)"


@pytest.mark.parametrize("text", ["=SUM(A1)", "+44 7700", "-5", "@home", "\tx", "plain", "'quoted",
                                  "", "'", "'=x", "''+y"])
def test_formula_protection_round_trips(text: str) -> None:
    from app.rms.manifest import Manifest, protect_formula

    manifest = Manifest(format_version=2, source_kind="live", formula_protection="apostrophe")
    assert manifest.undo_protection(protect_formula(text)) == text
