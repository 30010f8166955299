"""`vigil dmm` and `vigil export dmm`: the queue and the minutes from the command line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

import tui
from app.db import Database
from app.services import dmm
from models import AuditEvent
from tests.factories import case_version, dmm_morning

MONDAY = date(2026, 3, 2)
AT = ["--now", "2026-03-02T08:00:00Z"]


@pytest.fixture
def db_url(sqlite_database: Database) -> str:
    with sqlite_database.write() as session:
        dmm_morning(session)
    return sqlite_database.url


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = tui.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_queue_items(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "dmm", "--db", db_url, "--user", "supervisor.northern", *AT,
                           "--format", "json")
    assert code == 0
    payload = json.loads(out)
    assert payload["area"] == "Northern" and payload["meeting_date"] == "2026-03-02"
    assert payload["covers_from"] == "2026-02-27T08:00:00+00:00"
    assert [(i["crime_ref"], i["priority"]) for i in payload["items"]] == [
        ("NC/26/0104", 66), ("NC/26/0105", 62), ("NC/26/0102", 42), ("NC/26/0110", 28),
        ("NC/26/0101", 14)]
    first = payload["items"][1]
    assert first["reasons"] == ["RISK_REVIEW_DUE", "SPO_NOT_CONSIDERED"]
    assert (first["risk"], first["team"], first["decision"], first["actions"]) == (
        "high", "CID", None, [])


def test_minutes_show_decisions_and_actions_in_london_time(
        db_url: str, make_sqlite_context, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    ctx = make_sqlite_context("supervisor.northern")
    dmm.record_decision(ctx, area="Northern", meeting_date=MONDAY, crime_ref="NC/26/0104",
                        decision="actions_set", rationale="Breach | not yet acknowledged", expected_version=case_version(ctx, crime_ref="NC/26/0104"))
    # 17:00 UTC on 1 April 2026 is 18:00 in London (BST)
    dmm.add_action(ctx, area="Northern", meeting_date=MONDAY, crime_ref="NC/26/0104",
                   text="Arrest suspect for the breach", owner="DS Lowther",
                   due_at=datetime(2026, 4, 1, 17, 0, tzinfo=UTC), expected_version=case_version(ctx, crime_ref="NC/26/0104"))
    code, out, _err = _run(capsys, "dmm", "--db", db_url, "--user", "supervisor.northern", *AT,
                           "--area", "northern", "--format", "md")
    assert code == 0
    assert out.startswith("# DMM minutes: Northern, Monday 2 March 2026\n")
    assert "- **Progress:** 1 of 5 discussed; 1 decided; 1 actions set" in out
    assert "- **Chair:** PS Ashdown (Northern)" in out
    section = out.split("## 1. NC/26/0104 (priority 66)")[1].split("## 2.")[0]
    assert "- **Decision:** actions set (supervisor.northern, 02/03/2026 08:00)" in section
    assert "- **Rationale:** Breach \\| not yet acknowledged" in section
    assert ("  - Arrest suspect for the breach — owner DS Lowther, due 01/04/2026 18:00 (open)"
            in section)
    assert ("  - Breach: breach BR/26/0001 of RO RO/26/0001 reported Sun 01/03 21:00 "
            "(original crime NC/26/0103, open); not acknowledged; suspect not arrested for it "
            "(outstanding?)") in section


def test_csv_and_output_file(db_url: str, capsys: pytest.CaptureFixture[str],
                             tmp_path: Path) -> None:
    target = tmp_path / "queue.csv"
    code, _out, err = _run(capsys, "dmm", "--db", db_url, "--user", "analyst", *AT,
                           "--area", "Northern", "--date", "2026-03-02", "--format", "csv",
                           "--purpose", "quality check", "-o", str(target))
    assert code == 0 and f"wrote {target}" in err
    lines = target.read_text().splitlines()
    assert lines[0] == ("rank,priority,crime_ref,reasons,risk,team,reported_at,age_days,"
                        "victim_ref,suspect_ref,discussed_at,decision,rationale,actions")
    assert lines[1].startswith("1,66,NC/26/0104,BREACH;REPEAT_PAIR;NEW_CRIME,unassessed,Response,")
    assert len(lines) == 6


def test_default_date_is_the_next_meeting_on_a_weekend(db_url: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "dmm", "--db", db_url, "--user", "supervisor.northern",
                           "--now", "2026-02-28T12:00:00Z")
    assert code == 0
    assert "DMM Northern Mon 02/03/2026" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--area", "Atlantis"], "dmm --area 'Atlantis': expected one of Northern"),
        (["--area", "Northern", "--date", "2026-02-28"], "Sat 28/02/2026 is not a DMM day"),
        (["--area", "Northern", "--date", "31/02/2026"], "dmm --date: '31/02/2026' is not a real date"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(db_url: str, capsys: pytest.CaptureFixture[str],
                                              argv: list[str], message: str) -> None:
    code, _out, err = _run(capsys, "dmm", "--db", db_url, "--user", "supervisor.northern", *AT,
                           *argv)
    assert code == 2
    assert message in err


def test_force_wide_user_must_name_the_area(db_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, "dmm", "--db", db_url, "--user", "analyst", *AT)
    assert code == 2 and "--area is required for force-wide users" in err


def test_export_dmm_gives_the_minutes_and_is_audited(db_url: str, sqlite_database: Database,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "export", "dmm", "--purpose", "quality check", "--db", db_url, "--user",
                           "supervisor.northern", *AT, "--area", "Northern", "--date",
                           "2026-03-02", "--format", "md")
    assert code == 0
    assert out.startswith("# DMM minutes: Northern, Monday 2 March 2026")
    with sqlite_database.read() as session:
        events = session.execute(select(AuditEvent.action, AuditEvent.entity,
                                        AuditEvent.entity_id)).all()
    assert ("view", "dmm_queue", "Northern/2026-03-02") in events
    assert ("export", "export", "dmm") in events


def test_prepare_every_area_for_a_force_wide_user(
        db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "dmm", "--prepare", "--date", "2026-03-03", "--db", db_url,
                           "--user", "analyst", *AT)
    assert code == 0
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Northern", "Southern", "Eastern", "Western", "Central", "Coastal"]
    assert lines[0].startswith("Northern: meeting Tue 03/03/2026 prepared, ")
    database = Database(db_url)
    with database.read() as session:
        prepared = session.execute(select(AuditEvent.entity_id).where(
            AuditEvent.entity == "dmm_queue")).scalars().all()
    assert sorted(prepared) == sorted(f"{area}/2026-03-03" for area in (
        "Northern", "Southern", "Eastern", "Western", "Central", "Coastal"))


def test_prepare_own_area_and_refuse_a_held_meeting(
        db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "dmm", "--prepare", "--db", db_url,
                           "--user", "supervisor.northern", "--now", "2026-03-02T06:00:00Z")
    assert code == 0 and out.startswith("Northern: meeting Mon 02/03/2026 prepared, ")
    code, out, _err = _run(capsys, "dmm", "--prepare", "--db", db_url,
                           "--user", "supervisor.northern", *AT)  # Monday's has started
    assert code == 0 and out.startswith("Northern: meeting Tue 03/03/2026 prepared, ")
    code, _out, err = _run(capsys, "dmm", "--prepare", "--date", "2026-02-27", "--db", db_url,
                           "--user", "supervisor.northern", *AT)
    assert code != 0 and "has been held" in err


def test_actions_are_completed_and_reassigned_from_the_command_line(
        db_url: str, make_sqlite_context, sqlite_database: Database,
        capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    ctx = make_sqlite_context("supervisor.northern")
    first = dmm.add_action(ctx, area="Northern", meeting_date=MONDAY, crime_ref="NC/26/0104",
                           text="Arrest suspect for the breach", owner="DS Lowther",
                           due_at=datetime(2026, 3, 2, 17, 0, tzinfo=UTC), expected_version=case_version(ctx, crime_ref="NC/26/0104"))
    second = dmm.add_action(ctx, area="Northern", meeting_date=MONDAY, crime_ref="NC/26/0102",
                            text="Complete the S-DASH", owner="PC Hebden", due_at=None, expected_version=case_version(ctx, crime_ref="NC/26/0102"))
    first_version = str(case_version(ctx, crime_ref="NC/26/0104"))
    second_version = str(case_version(ctx, crime_ref="NC/26/0102"))
    code, _out, err = _run(capsys, "dmm", "--reassign-action", str(first.id), "--owner",
                           "DC Vance", "--db", db_url, "--user", "supervisor.northern", *AT)
    assert code == 2 and "--case-version" in err  # the version read is required
    code, _out, err = _run(capsys, "dmm", "--reassign-action", str(first.id), "--owner",
                           "DC Vance", "--case-version", str(int(first_version) - 1),
                           "--db", db_url, "--user", "supervisor.northern", *AT)
    assert code != 0 and "nothing was saved" in err  # stale: changed by someone else
    code, out, _err = _run(capsys, "dmm", "--reassign-action", str(first.id), "--owner",
                           "DC Vance", "--due", "03/03/2026 12:00", "--case-version",
                           first_version, "--db", db_url, "--user", "supervisor.northern", *AT)
    assert code == 0
    assert out == (f"action {first.id} on NC/26/0104 now with DC Vance, due 03/03/2026 12:00: "
                   "Arrest suspect for the breach\n")
    code, out, _err = _run(capsys, "dmm", "--complete-action", str(second.id), "--case-version",
                           second_version, "--db", db_url, "--user", "officer.northern", *AT)
    assert code == 0 and out.startswith(f"action {second.id} on NC/26/0102 done (02/03/2026 08:00)")
    code, _out, err = _run(capsys, "dmm", "--complete-action", str(second.id), "--case-version",
                           str(int(second_version) + 1), "--db", db_url,
                           "--user", "supervisor.northern", *AT)
    assert code == 2 and "already done" in err
    code, _out, err = _run(capsys, "dmm", "--reassign-action", str(first.id), "--case-version",
                           "1", "--db", db_url, "--user", "supervisor.northern", *AT)
    assert code == 2 and "--owner" in err
    code, _out, err = _run(capsys, "dmm", "--complete-action", "999", "--case-version", "1",
                           "--db", db_url, "--user", "supervisor.northern", *AT)
    assert code != 0 and "DMM action 999 does not exist" in err
    with sqlite_database.read() as session:
        reasons = session.execute(select(AuditEvent.reason).where(
            AuditEvent.entity == "case", AuditEvent.username.in_(
                ["supervisor.northern", "officer.northern"]))).scalars().all()
    assert "DMM action reassigned to DC Vance" in reasons
    assert "DMM action completed: Complete the S-DASH" in reasons


def test_worklist_lists_the_teams_standing_gaps(db_url: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "worklist", "--db", db_url, "--user", "supervisor.northern",
                           *AT, "--format", "json")
    assert code == 0
    payload = json.loads(out)
    found = {(i["crime_ref"], i["code"]) for i in payload["items"]}
    assert {("NC/26/0105", "RISK_REVIEW_DUE"), ("NC/26/0105", "NO_RISK_PLAN"),
            ("NC/26/0102", "NO_RISK_ASSESSMENT"), ("NC/26/0102", "VICTIM_NOT_REFERRED")} <= found
    spo = [i for i in payload["items"] if i["code"] == "SPO_NOT_CONSIDERED"]
    assert [(i["crime_ref"], i["team"]) for i in spo] == [("NC/26/0105", "Orders")]
    crossed = [i["crossed_at"] for i in payload["items"]]
    assert crossed == sorted(crossed)  # oldest first
    code, out, _err = _run(capsys, "worklist", "--team", "orders", "--db", db_url, "--user",
                           "officer.northern", *AT, "--format", "csv")
    assert code == 0 and out.splitlines()[1].startswith("NC/26/0105,SPO_NOT_CONSIDERED,")
    code, _out, err = _run(capsys, "worklist", "--team", "Nowhere", "--db", db_url, "--user",
                           "supervisor.northern", *AT)
    assert code == 2 and "team 'Nowhere' is not a team" in err
    code, _out, err = _run(capsys, "worklist", "--area", "Southern", "--db", db_url, "--user",
                           "officer.northern", *AT)
    assert code != 0 and "Southern" in err
