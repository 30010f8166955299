"""`vigil import` and `vigil export`: exit codes, what is printed, and the
file round trip from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

import app.cli.export as export_cli
import tui
from app.db import Database
from models import AuditEvent, Case
from tests.factories import extract_row, write_extract

NOW_ARG = "2026-03-02T08:00:00Z"


def vigil(database: Database, *argv: str, user: str = "analyst") -> int:
    return tui.main(["--db", database.url, "--user", user, "--now", NOW_ARG, *argv])


def cases(database: Database) -> int:
    with database.read() as session:
        return int(session.execute(select(func.count()).select_from(Case)).scalar() or 0)


def good_extract(tmp_path: Path) -> Path:
    return write_extract(tmp_path / "extract", {
        "crimes.csv": [extract_row("crimes.csv"),
                       extract_row("crimes.csv", crime_ref="CR-0002", principal_code="BRO")],
        "orders.csv": [extract_row("orders.csv")],
        "breaches.csv": [extract_row("breaches.csv")],
    })


def test_import_prints_counts_and_changes(sqlite_database: Database, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert vigil(sqlite_database, "import", str(good_extract(tmp_path))) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Imported {(tmp_path / 'extract').resolve()} (import 1) in ")
    assert "│ crimes.csv   │ 2    │ 2   │ 0       │ 0         │" in out
    assert "Changes: 2 new crimes, 1 new breach, 1 order granted\n" in out
    assert "New breaches (1):\n  BR-0001 on CR-0002 (order OR-0001 on CR-0001)\n" in out
    assert cases(sqlite_database) == 2


def test_import_then_prepare_every_areas_next_agenda(
        sqlite_database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert vigil(sqlite_database, "import", str(good_extract(tmp_path)), "--prepare-dmm") == 0
    err = capsys.readouterr().err
    # Monday's meeting starts at 08:00, the clock's time: Tuesday's is next
    assert "vigil import: DMM agenda of Northern for Tue 03/03/2026 prepared: " in err
    assert err.count("DMM agenda of ") == 6
    with sqlite_database.read() as session:
        prepared = session.execute(select(AuditEvent.entity_id).where(
            AuditEvent.entity == "dmm_queue")).scalars().all()
    assert sorted(prepared) == sorted(f"{area}/2026-03-03" for area in (
        "Northern", "Southern", "Eastern", "Western", "Central", "Coastal"))


def test_a_dry_run_prepares_nothing(sqlite_database: Database, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert vigil(sqlite_database, "import", str(good_extract(tmp_path)), "--dry-run",
                 "--prepare-dmm") == 0
    assert "DMM agenda" not in capsys.readouterr().err
    with sqlite_database.read() as session:
        assert session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "dmm_queue")).scalar() == 0


def test_import_with_problems_exits_2_and_writes_nothing(sqlite_database: Database,
                                                         tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_extract(tmp_path / "bad", {"crimes.csv": [
        extract_row("crimes.csv"),
        extract_row("crimes.csv", crime_ref="CR-0002", reported_at="31/02/2026"),
        extract_row("crimes.csv", crime_ref="CR-0003", pin_issued="yes"),
    ]})
    assert vigil(sqlite_database, "import", str(folder)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"vigil import: 2 problems in {folder.resolve()}; nothing was written",
        "crimes.csv:3: reported_at: '31/02/2026' is not a real date",
        "crimes.csv:4: pin_issued: 'yes' is not Y or N",
    ]
    assert cases(sqlite_database) == 0


def test_import_lists_200_problems_and_counts_the_rest(sqlite_database: Database,
                                                       tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rows = [extract_row("crimes.csv", crime_ref=f"CR-{n:04d}", status="?") for n in range(250)]
    assert vigil(sqlite_database, "import", str(write_extract(tmp_path / "x", {
        "crimes.csv": rows}))) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 + 200 + 1
    assert err[200] == "crimes.csv:201: status: unknown status '?' (expected open, closed)"
    assert err[-1] == "... and 50 more"


def test_dry_run_reports_and_writes_nothing(sqlite_database: Database, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert vigil(sqlite_database, "import", str(good_extract(tmp_path)), "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Dry run of {(tmp_path / 'extract').resolve()}: nothing was written.")
    assert "Changes: 2 new crimes, 1 new breach, 1 order granted" in out
    assert cases(sqlite_database) == 0


def test_import_as_json(sqlite_database: Database, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = good_extract(tmp_path)
    assert vigil(sqlite_database, "import", str(folder), "--format", "json") == 0
    assert vigil(sqlite_database, "import", str(folder), "--format", "json") == 0
    second = json.loads(capsys.readouterr().out.split("\n}\n")[1] + "\n}")
    assert second["ok"] is True and second["batch_id"] == 2
    assert second["files"][0] == {"file": "crimes.csv", "read": 2, "new": 0, "updated": 0,
                                  "unchanged": 2}
    assert second["delta"]["totals"]["new_crimes"] == 0


def test_import_of_a_missing_folder(sqlite_database: Database, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert vigil(sqlite_database, "import", str(tmp_path / "nowhere")) == 2
    assert f"vigil: import: {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err


def test_officers_may_not_import(sqlite_database: Database, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert vigil(sqlite_database, "import", str(good_extract(tmp_path)),
                 user="officer.northern") == 1
    assert "officer may not import" in capsys.readouterr().err


def test_export_a_folder_and_import_it_elsewhere(sqlite_database: Database, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert vigil(sqlite_database, "import", str(good_extract(tmp_path))) == 0
    assert vigil(sqlite_database, "export", "cases", "--purpose", "quality check", "-o",
                 f"{tmp_path / 'out'}/") == 0
    assert ("crimes.csv 2 rows, risk.csv 0 rows, spo_decisions.csv 0 rows, orders.csv 1 rows"
            in capsys.readouterr().err)
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        assert tui.main(["--db", other.url, "db", "upgrade", "--evaluation",
                         "--admin", "boss"]) == 0
        assert tui.main(["--db", other.url, "--user", "boss", "users", "add", "analyst",
                         "--name", "A", "--role", "analyst"]) == 0
        # the extract comes from a synthetic test database: an evaluation
        # database, like a live one, never takes synthetic data
        assert vigil(other, "import", str(tmp_path / "out")) == 2
        assert "never takes it" in capsys.readouterr().err
        manifest = tmp_path / "out" / "manifest.json"
        marked = json.loads(manifest.read_text())
        marked["source_kind"] = "live"  # as a live database's export says
        manifest.write_text(json.dumps(marked))
        assert vigil(other, "import", str(tmp_path / "out")) == 0
        assert vigil(other, "export", "cases", "--purpose", "quality check", "--purpose", "quality check", "-o", f"{tmp_path / 'again'}/") == 0
    finally:
        other.dispose()
    for name in ("crimes.csv", "risk.csv", "orders.csv", "breaches.csv", "victim_care.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "out" / name).read_bytes()


def test_export_cases_to_standard_output(sqlite_database: Database, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    vigil(sqlite_database, "import", str(good_extract(tmp_path)))
    capsys.readouterr()
    assert vigil(sqlite_database, "export", "cases", "--purpose", "quality check", "--format", "json", "--area", "Northern",
                 "--from", "2026-03-01", "--to", "01/03/2026") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["crime_ref"] for r in rows] == ["CR-0001", "CR-0002"]
    assert vigil(sqlite_database, "export", "cases", "--purpose", "quality check", "--date", "2026-02-28") == 0
    assert capsys.readouterr().out == (  # a synthetic database's file says so first
        "#vigil-rms-extract format_version=1 source_kind=synthetic "
        "formula_protection=apostrophe # SYNTHETIC — generated data (not live)\n") + ",".join(
        ["crime_ref", "reported_at", "area_command", "principal_code", "included_codes",
         "victim_ref", "suspect_ref", "relationship", "domestic_abuse", "online",
         "allocation_team", "officer", "status", "pin_issued", "summary"]) + "\n"


def test_export_bad_options(sqlite_database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert vigil(sqlite_database, "export", "cases", "--purpose", "quality check", "--area", "Atlantis") == 2
    assert "unknown area command 'Atlantis'" in capsys.readouterr().err
    assert vigil(sqlite_database, "export", "cases", "--purpose", "quality check", "--from", "31/02/2026") == 2
    assert "export --from: '31/02/2026' is not a real date" in capsys.readouterr().err


def test_other_kinds_come_from_their_feature(sqlite_database: Database, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "breaches.csv"
    assert vigil(sqlite_database, "export", "breaches", "--purpose", "quality check", "--purpose", "quality check", "-o", str(target)) == 0
    assert target.exists()
    with sqlite_database.read() as session:
        events = session.execute(select(AuditEvent.entity_id, AuditEvent.reason)
                                 .where(AuditEvent.entity == "export")).all()
    assert events == [("breaches", f"breaches disclosed as csv to {target} for: quality check; "
                                   "filter: all; 0 rows, 0 cases")]


def test_a_database_error_is_a_message_not_a_traceback(sqlite_database: Database,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy.exc import OperationalError

    def broken(env: object, args: object) -> str:
        raise OperationalError("SELECT 1", {}, Exception("no such column: dmm_meeting.x"))

    monkeypatch.setitem(export_cli.DELEGATES, "dmm", broken)
    assert vigil(sqlite_database, "export", "dmm", "--purpose", "quality check") == 1
    assert capsys.readouterr().err == "vigil: export dmm failed: no such column: dmm_meeting.x\n"
