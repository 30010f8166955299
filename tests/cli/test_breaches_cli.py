"""`vigil breaches` and `vigil export breaches`: the board in every format."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

import tui
from app.db import Database
from models import AuditEvent
from tests import factories as f
from tests.conftest import NOW

NOW_ARG = "2026-03-02T08:00:00Z"


@pytest.fixture
def board_db(sqlite_database: Database) -> str:
    with sqlite_database.write() as s:
        c1 = f.add_case(s, "NO/26/000001", NOW - timedelta(days=40), code="8Q", victim="V1",
                        suspect="S1", team="CID")
        ispo = f.add_order(s, c1, "ISPO/26/0001", kind="ISPO", status="interim_granted",
                           granted_at=NOW - timedelta(days=20))
        for n, hours in ((2, 50), (3, 4)):
            crime = f.add_case(s, f"NO/26/00000{n}", NOW - timedelta(hours=hours), code="BSPO",
                               victim="V1", suspect="S1", linked_case=c1)
            f.add_breach(s, ispo, crime, f"B/26/00000{n}", occurred_at=NOW - timedelta(hours=hours + 1),
                         reported_at=NOW - timedelta(hours=hours))
        c2 = f.add_case(s, "SO/26/000001", NOW - timedelta(days=40), area="Southern",
                        victim="V2", suspect="S2")
        ro = f.add_order(s, c2, "RO/26/0002", kind="RO", granted_at=NOW - timedelta(days=30))
        crime = f.add_case(s, "SO/26/000002", NOW - timedelta(hours=2), area="Southern",
                           code="BRO", victim="V2", suspect="S2", linked_case=c2)
        f.add_breach(s, ro, crime, "B/26/000009", occurred_at=NOW - timedelta(hours=3),
                     reported_at=NOW - timedelta(hours=2))
    return sqlite_database.url


def _run(db: str, *args: str, user: str = "supervisor.northern") -> int:
    return tui.main(["breaches", "--db", db, "--user", user, "--now", NOW_ARG, *args])


def test_json_board_for_the_users_own_area(board_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(board_db, "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["area"] == "Northern"
    assert data["counts"] == {"level_3": 1, "level_2": 1, "level_1": 0}
    items = data["items"]
    assert [(i["breach_ref"], i["level"]) for i in items] == [("B/26/000002", 3), ("B/26/000003", 2)]
    first = items[0]
    assert first["crime_ref"] == "NO/26/000002"
    assert first["order_ref"] == "ISPO/26/0001"
    assert first["order_kind"] == "ISPO"
    assert first["due_at"] == "2026-03-01T06:00:00+00:00"  # reported 28 Feb 06:00 + 24 h
    assert first["overdue"] is True
    assert first["breaches_30d"] == 2 and first["breaches_90d"] == 2
    assert first["reasons"] == ["ANY_BREACH", "REPEATED", "SPO_BREACH", "ACK_OVERDUE",
                                "NO_REASSESSMENT"]
    assert first["expected_actions"] == [
        "acknowledge", "re-assess risk", "consider arrest",
        "consider MAPPA or multi-agency referral", "inspector review"]  # the pair has an ISPO
    assert items[1]["time_left"] == "20h 00m left"


def test_force_wide_and_named_area(board_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(board_db, "--area", "all", "--format", "json") == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 3
    assert _run(board_db, "--area", "southern", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["area"], [i["breach_ref"] for i in data["items"]]) == ("Southern", ["B/26/000009"])
    assert _run(board_db, "--format", "json", user="analyst") == 0  # analysts: force-wide
    assert json.loads(capsys.readouterr().out)["area"] == "force-wide"


def test_csv_md_and_table(board_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(board_db, "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["breach_ref"], r["level"], r["breaches_30d"], r["overdue"]) for r in rows] == [
        ("B/26/000002", "3", "2", "Y"), ("B/26/000003", "2", "2", "N")]
    assert rows[0]["reasons"] == "ANY_BREACH;REPEATED;SPO_BREACH;ACK_OVERDUE;NO_REASSESSMENT"
    assert _run(board_db, "--format", "md") == 0
    md = capsys.readouterr().out
    assert md.startswith("# Breach board — Northern: level 3 1, level 2 1, level 1 0")
    assert "| 3 | B/26/000002 |" in md
    assert _run(board_db) == 0
    table = capsys.readouterr().out
    assert "B/26/000003" in table and "20h 00m left" in table


def test_output_file_and_audit(board_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "board.json"
    assert _run(board_db, "--format", "json", "--purpose", "quality check", "-o", str(target)) == 0
    assert json.loads(target.read_text())["items"][0]["breach_ref"] == "B/26/000002"
    database = Database(board_db)
    with database.read() as s:
        views = s.exec(select(AuditEvent).where(AuditEvent.entity == "breach_board")).all()
    database.dispose()
    assert [(v.action, v.username, v.entity_id) for v in views] == [
        ("view", "supervisor.northern", "Northern")]


def test_unknown_area_is_bad_input(board_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(board_db, "--area", "Atlantis") == 2
    assert "--area 'Atlantis': expected one of Northern" in capsys.readouterr().err


def test_export_breaches(board_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = tui.main(["export", "breaches", "--purpose", "quality check", "--format", "json", "--db", board_db,
                     "--user", "supervisor.northern", "--now", NOW_ARG])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["area"] == "force-wide"
    assert [i["breach_ref"] for i in data["items"]] == ["B/26/000002", "B/26/000003", "B/26/000009"]


def test_orders_lists_name_the_cases_shown(sqlite_database: Database,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from models import AuditSubject

    with sqlite_database.write() as s:
        case = f.add_case(s, "NO/26/000010", NOW - timedelta(days=20), code="8Q", victim="V1",
                          suspect="S1")
        served = NOW - timedelta(days=5)
        late = f.add_order(s, case, "SPO/26/0010", kind="SPO", granted_at=served,
                           served_at=served, expires_at=NOW + timedelta(days=700))
        late.notification_due_at = served + timedelta(days=3)
        s.add(late)
        soon = f.add_order(s, case, "RO/26/0011", kind="RO", granted_at=NOW - timedelta(days=300),
                           expires_at=NOW + timedelta(days=10))
        s.add(soon)
    assert _run(sqlite_database.url, "--orders", "notifications", "--format", "json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(o["order_ref"], o["notification_overdue"]) for o in shown["orders"]] == [
        ("SPO/26/0010", True)]
    assert _run(sqlite_database.url, "--orders", "expiring", "--format", "json") == 0
    assert [o["order_ref"] for o in json.loads(capsys.readouterr().out)["orders"]] == [
        "RO/26/0011"]
    with sqlite_database.read() as s:
        named = s.exec(select(AuditSubject.crime_ref).join(
            AuditEvent, AuditEvent.id == AuditSubject.audit_event_id).where(
            AuditEvent.entity == "orders")).all()
    assert named == ["NO/26/000010", "NO/26/000010"]
