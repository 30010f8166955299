"""Exporting cases in the RMS extract format: exact bytes, deterministic
order, ISO 8601 UTC dates, the five-file folder, filters, formats, audit."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import Database
from app.errors import BadInput, PermissionDenied
from app.services.rms_export import export_cases, is_folder_target
from app.services.rms_export_reads import CaseFilter
from models import AuditEvent
from tests.conftest import NOW
from tests.factories import (
    add_breach,
    add_case,
    add_order,
    add_referral,
    add_risk,
    add_victim_care,
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=UTC)


def seed_cases(database: Database) -> None:
    """Three crimes, written out of reference order, with everything that hangs off them."""
    with database.write() as session:
        breach_crime = add_case(session, "CR-0300", at(20, 18), code="BRO", area="Southern",
                                victim="P-V1", suspect="P-S1", team=None, included=(),
                                summary="Seen outside the house, \"again\"")
        first = add_case(session, "CR-0100", at(1, 9, 30), code="8L", included=("8R", "8Q"),
                         victim="P-V1", suspect="P-S1", relationship="ex_partner",
                         domestic_abuse=True, online=True, team="CID", officer="PC Ashby",
                         summary="Messages,\nthen visits", pin=True)
        add_case(session, "CR-0200", at(10, 12), code="8R", area="Coastal", victim="P-V2",
                 suspect=None, relationship="stranger", team="Response", status="closed")
        add_risk(session, first, at(2, 10), answers="YYYNNNNNNNN", level="medium",
                 rationale="three yes answers")
        add_risk(session, first, at(21, 9), answers="YYYYYYNNNNN", level="high")
        order = add_order(session, first, "OR-0001", kind="RO", granted_at=at(5, 14),
                          expires_at=datetime(2027, 2, 5, tzinfo=UTC))
        add_breach(session, order, breach_crime, "BR-0001", occurred_at=at(20, 16),
                   reported_at=at(20, 18))
        add_victim_care(session, first, needs_assessed_at=at(1, 11), consent=None)
        add_referral(session, first, "ISHA", at(2, 9), outcome="accepted")
        add_referral(session, first, "ISAC", at(1, 15))
        add_referral(session, first, "ISAC", at(3, 15), outcome="declined")  # the latest wins


SYNTHETIC_MARKER = ("#vigil-rms-extract format_version=1 source_kind=synthetic "
                    "formula_protection=apostrophe # SYNTHETIC — generated data (not live)\n")
CRIMES_CSV = (
    "crime_ref,reported_at,area_command,principal_code,included_codes,victim_ref,suspect_ref,"
    "relationship,domestic_abuse,online,allocation_team,officer,status,pin_issued,summary\n"
    "CR-0100,2026-02-01T09:30:00+00:00,Northern,8L,8Q;8R,P-V1,P-S1,ex_partner,Y,Y,CID,PC Ashby,"
    "open,Y,\"Messages,\nthen visits\"\n"
    "CR-0200,2026-02-10T12:00:00+00:00,Coastal,8R,,P-V2,,stranger,N,N,Response,,closed,N,\n"
    "CR-0300,2026-02-20T18:00:00+00:00,Southern,BRO,,P-V1,P-S1,ex_partner,N,N,,,open,N,"
    "\"Seen outside the house, \"\"again\"\"\"\n"
)


def test_cases_as_crimes_csv(database: Database, make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_cases(database)
    result = export_cases(make_context("analyst"), purpose="quality check", target=tmp_path / "crimes.csv")
    # a test database is synthetic: the single file says so on its first line
    assert (tmp_path / "crimes.csv").read_bytes().decode() == SYNTHETIC_MARKER + CRIMES_CSV
    assert result.rows == {"crimes.csv": 3}
    assert not list(tmp_path.glob(".*partial"))


def test_a_folder_gets_the_format_2_extract(database: Database, make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_cases(database)
    folder = tmp_path / "extract"
    result = export_cases(make_context("analyst"), purpose="quality check", target=f"{folder}/")
    assert result.rows == {"crimes.csv": 3, "risk.csv": 2, "orders.csv": 1, "breaches.csv": 1,
                           "victim_care.csv": 2, "spo_decisions.csv": 0, "searches.csv": 0,
                           "multi_agency.csv": 0, "officer_training.csv": 0,
                           "perpetrator_programmes.csv": 0, "perpetrator_referrals.csv": 0}
    read = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()}
    manifest = json.loads(read["manifest.json"])
    assert {k: manifest[k] for k in ("format", "format_version", "source_kind",
                                     "formula_protection")} == {
        "format": "vigil-rms-extract", "format_version": 2, "source_kind": "synthetic",
        "formula_protection": "apostrophe"}
    assert sorted(manifest["files"]) == sorted(name for name in read if name != "manifest.json")
    # crimes.csv: the format 1 columns, then the format 2 ones
    assert read["crimes.csv"].splitlines()[0] == (
        CRIMES_CSV.splitlines()[0] + ",closed_at,outcome,reassessment_due_at,"
        "pin_authorised_by,arrested_at,digital_enquiries")
    assert read["risk.csv"] == (
        "crime_ref,assessed_at,tool,answers,level,rationale,assessor,management_plan,"
        "plan_set_at,plan_review_due,approved_by,approved_at\n"
        "CR-0100,2026-02-02T10:00:00+00:00,S-DASH,YYYNNNNNNNN,medium,three yes answers,"
        "officer.northern,,,,,\n"
        "CR-0100,2026-02-21T09:00:00+00:00,S-DASH,YYYYYYNNNNN,high,,officer.northern,,,,,\n")
    assert read["orders.csv"] == (
        "order_ref,crime_ref,kind,status,applied_at,granted_at,served_at,expires_at,"
        "notification_due_at,notified_at\n"
        "OR-0001,CR-0100,RO,granted,,2026-02-05T14:00:00+00:00,,2027-02-05T00:00:00+00:00,,\n")
    assert read["breaches.csv"] == (
        "breach_ref,order_ref,crime_ref,occurred_at,reported_at,threats_or_violence,"
        "acknowledged_by,acknowledged_at,acknowledgement_note,escalation_level,escalated_by,"
        "escalated_at,arrest_at,reassessment_requested_at,outcome\n"
        "BR-0001,OR-0001,CR-0300,2026-02-20T16:00:00+00:00,2026-02-20T18:00:00+00:00,N,,,,,,,,,"
        "\n")
    # consent in format 2: Y given, N not yet asked, refused
    assert read["victim_care.csv"] == (
        "crime_ref,needs_assessed_at,enhanced_rights,rights_explained_at,consent,service,"
        "referred_at,outcome,consent_at,last_update_at,vps_offered_at\n"
        "CR-0100,2026-02-01T11:00:00+00:00,Y,,N,ISAC,2026-02-03T15:00:00+00:00,declined,,,\n"
        "CR-0100,2026-02-01T11:00:00+00:00,Y,,N,ISHA,2026-02-02T09:00:00+00:00,accepted,,,\n")
    assert read["spo_decisions.csv"] == "crime_ref,status,rationale,decided_by,decided_at\n"


def test_the_same_database_gives_the_same_bytes(database: Database, make_context,  # type: ignore[no-untyped-def]
                                                tmp_path: Path) -> None:
    seed_cases(database)
    export_cases(make_context("analyst"), purpose="quality check", target=f"{tmp_path / 'one'}/")
    export_cases(make_context("auditor"), purpose="quality check", target=f"{tmp_path / 'two'}/")
    for name in ("crimes.csv", "risk.csv", "orders.csv", "breaches.csv", "victim_care.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_filters_by_area_and_reported_date(database: Database, make_context) -> None:  # type: ignore[no-untyped-def]
    seed_cases(database)
    out = io.StringIO()
    export_cases(make_context("analyst"), purpose="quality check", target=None, stdout=out,
                 flt=CaseFilter(area="Northern"))
    assert [line.split(",")[0] for line in out.getvalue().splitlines()] == [
        SYNTHETIC_MARKER.split(",")[0].strip(), "crime_ref", "CR-0100", "then visits\""]
    out = io.StringIO()
    export_cases(make_context("analyst"), purpose="quality check", target=None, stdout=out,
                 flt=CaseFilter(reported_from=at(5, 0), reported_to=at(21, 0)))
    assert [line.split(",")[0] for line in out.getvalue().splitlines()] == [
        SYNTHETIC_MARKER.strip(), "crime_ref", "CR-0200", "CR-0300"]


def test_json_markdown_and_html_rows(database: Database, make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_cases(database)
    ctx = make_context("analyst")
    export_cases(ctx, purpose="quality check", target=tmp_path / "cases.json", fmt="json")
    rows = json.loads((tmp_path / "cases.json").read_text())
    assert [r["crime_ref"] for r in rows] == ["CR-0100", "CR-0200", "CR-0300"]
    assert rows[0] == {
        "crime_ref": "CR-0100", "reported_at": "2026-02-01T09:30:00+00:00",
        "area_command": "Northern", "principal_code": "8L", "included_codes": ["8Q", "8R"],
        "victim_ref": "P-V1", "suspect_ref": "P-S1", "relationship": "ex_partner",
        "domestic_abuse": True, "online": True, "allocation_team": "CID", "officer": "PC Ashby",
        "status": "open", "pin_issued": True, "summary": "Messages,\nthen visits"}
    export_cases(ctx, purpose="quality check", target=tmp_path / "cases.md", fmt="md")
    markdown = (tmp_path / "cases.md").read_text().splitlines()
    assert markdown[0] == "# Cases (all cases)"
    assert markdown[4].startswith("| CR-0100 | 01/02/2026 09:30 | Northern | 8L | 8Q, 8R |")
    export_cases(ctx, purpose="quality check", target=tmp_path / "cases.html", fmt="html")
    html = (tmp_path / "cases.html").read_text()
    assert html.lstrip().startswith("<!DOCTYPE html>") and "CR-0300" in html


def test_an_empty_database_exports_headers_only(make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = export_cases(make_context("analyst"), purpose="quality check", target=f"{tmp_path / 'empty'}/")
    assert set(result.rows.values()) == {0}
    assert (tmp_path / "empty" / "orders.csv").read_text() == (
        "order_ref,crime_ref,kind,status,applied_at,granted_at,served_at,expires_at,"
        "notification_due_at,notified_at\n")
    out = io.StringIO()
    export_cases(make_context("analyst"), purpose="quality check", target=None, fmt="json", stdout=out)
    assert out.getvalue() == "[]\n"


def test_exports_are_audited(database: Database, make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_cases(database)
    export_cases(make_context("auditor"), purpose="quality check", target=tmp_path / "c.csv",
                 flt=CaseFilter(area="Southern"))
    with database.read() as session:
        events = session.execute(select(AuditEvent.action, AuditEvent.entity,
                                        AuditEvent.entity_id, AuditEvent.username,
                                        AuditEvent.reason)
                                 .where(AuditEvent.entity == "export")).all()
    assert events == [("export", "export", "cases", "auditor",
                       f"cases disclosed as csv to {tmp_path / 'c.csv'} for: quality check; "
                       "filter: area Southern; 1 rows, 1 cases")]


def test_officers_may_not_export(database: Database, make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied, match="an? officer may not export"):
        export_cases(make_context("officer.northern"), purpose="quality check", target=tmp_path / "c.csv")
    assert not (tmp_path / "c.csv").exists()


def test_bad_targets(make_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = make_context("analyst")
    with pytest.raises(BadInput, match="folder .*missing does not exist"):
        export_cases(ctx, purpose="quality check", target=tmp_path / "missing" / "c.csv")
    with pytest.raises(BadInput, match="a folder export is the CSV extract"):
        export_cases(ctx, purpose="quality check", target=f"{tmp_path}/", fmt="json")
    with pytest.raises(BadInput, match="format 'xml'"):
        export_cases(ctx, purpose="quality check", target=tmp_path / "c.xml", fmt="xml")


def test_folder_targets(tmp_path: Path) -> None:
    assert is_folder_target(tmp_path)
    assert is_folder_target(f"{tmp_path / 'new'}/")
    assert not is_folder_target(tmp_path / "crimes.csv")
    assert not is_folder_target(None)


def test_reported_times_are_utc_with_offset(database: Database, make_context,  # type: ignore[no-untyped-def]
                                            tmp_path: Path) -> None:
    with database.write() as session:  # 10:00 in London during summer time is 09:00 UTC
        add_case(session, "CR-0400", datetime(2025, 7, 1, 9, 0, tzinfo=UTC))
    export_cases(make_context("analyst", now=NOW), purpose="quality check", target=tmp_path / "c.csv")
    assert "CR-0400,2025-07-01T09:00:00+00:00," in (tmp_path / "c.csv").read_text()
