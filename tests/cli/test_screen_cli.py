"""`vigil screen` and `vigil export screening`: run, queue in every format,
--since, feedback, and users who may not run screening."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlmodel import select

import tui
from app.db import Database
from models import AuditEvent, ScreeningRun
from tests import factories as f
from tests.conftest import NOW

NOW_ARG = "2026-03-02T08:00:00Z"


@pytest.fixture
def screen_db(sqlite_database: Database) -> str:
    with sqlite_database.write() as s:
        f.add_screening_candidates(s, NOW)
        f.add_case(s, "NO/26/000005", NOW - timedelta(days=2), code="8Q", victim="V4",
                   suspect="S4", summary="He followed her.")
    return sqlite_database.url


def _screen(db: str, *args: str, user: str = "analyst") -> int:
    return tui.main(["screen", "--db", db, "--user", user, "--now", NOW_ARG, *args])


def test_json_queue_after_an_incremental_run(screen_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _screen(screen_db, "--format", "json") == 0
    out = capsys.readouterr()
    assert "incremental screening run: 4 crimes screened, 2 candidates" in out.err
    data = json.loads(out.out)
    assert data["run"]["screened"] == 4 and data["run"]["full"] is False
    assert data["total"] == 2 and data["min_score"] == 3.0
    items = data["items"]
    # NO/26/000002 scores 4.5 (course of conduct, former partner) but describes no behaviour
    assert [(i["crime_ref"], i["principal_code"], i["score"]) for i in items] == [
        ("NO/26/000001", "8L", 7.5), ("SO/26/000003", "58C", 4.0)]
    first = items[0]
    assert first["rules"] == ["course_of_conduct", "former_partner_repeated_contact", "behaviour"]
    phrases = [(e["text"], e["start"], e["end"]) for e in first["evidence"] if "text" in e]
    assert phrases == [("followed", 3, 11), ("waited outside", 31, 45)]
    linked = [e for e in first["evidence"] if "crime_refs" in e]
    assert linked == [{"rule": "course_of_conduct", "crime_refs": ["NO/26/000002"]}]
    assert first["linked_crimes"][0]["crime_ref"] == "NO/26/000002"
    assert first["flag_status"] is None


def test_full_run_since_and_area(screen_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _screen(screen_db, "--full", "--since", "2026-02-25", "--format", "json") == 0
    out = capsys.readouterr()
    assert "full screening run: 3 crimes screened" in out.err  # 1, 3 and 4 reported since
    refs = [i["crime_ref"] for i in json.loads(out.out)["items"]]
    assert refs == ["NO/26/000001", "SO/26/000003"]
    assert _screen(screen_db, "--no-run", "--area", "southern", "--format", "json") == 0
    assert [i["crime_ref"] for i in json.loads(capsys.readouterr().out)["items"]] == ["SO/26/000003"]


def test_csv_md_and_table(screen_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _screen(screen_db, "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["crime_ref"] for r in rows] == ["NO/26/000001", "SO/26/000003"]
    assert rows[0]["rules"] == "course_of_conduct;former_partner_repeated_contact;behaviour"
    assert rows[0]["phrases"] == "followed;waited outside"
    assert rows[1]["score"] == "4.0" and rows[1]["team"] == "Neighbourhood"
    assert _screen(screen_db, "--no-run", "--format", "md") == 0
    md = capsys.readouterr().out
    assert md.startswith("# Screening queue: 2 candidates (score ≥ 3)")
    assert "| 7.5 | NO/26/000001 | 8L | CoC ExP Beh |" in md
    assert _screen(screen_db, "--no-run") == 0
    assert "SO/26/000003" in capsys.readouterr().out


def test_a_supervisor_sees_the_queue_without_running(screen_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _screen(screen_db, "--format", "json", user="supervisor.northern") == 0
    out = capsys.readouterr()
    assert "does not run screening" in out.err
    assert json.loads(out.out) == {"run": None, "min_score": 3.0, "total": 0, "items": []}
    database = Database(screen_db)
    with database.read() as s:
        assert s.exec(select(ScreeningRun)).all() == []
    database.dispose()


def test_bad_input_exits_2(screen_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _screen(screen_db, "--since", "31/02/2026") == 2
    assert "--since" in capsys.readouterr().err
    assert _screen(screen_db, "--area", "Nowhere") == 2
    assert "Nowhere" in capsys.readouterr().err


def test_feedback(screen_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    from app.services.context import open_context
    from app.services.screening_flags import raise_flag
    from app.settings import Settings

    assert _screen(screen_db, "--format", "json") == 0
    capsys.readouterr()
    ctx = open_context(Settings(database_url=screen_db, username="analyst", now=NOW),
                       migrate=False)
    raise_flag(ctx, crime_ref="NO/26/000001", suggested_change="principal_to_stalking",
               reason="former partner")
    ctx.database.dispose()
    assert _screen(screen_db, "--feedback", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [(r["key"], r["raised"], r["open"]) for r in data["by_rule"]] == [
        ("course_of_conduct", 1, 1), ("former_partner_repeated_contact", 1, 1), ("behaviour", 1, 1)]
    assert data["by_team"] == [{"key": "Response", "raised": 1, "open": 1, "accepted": 0,
                                "rejected": 0, "changed": 0, "acceptance_rate": None}]


def test_export_screening_is_audited(screen_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _screen(screen_db, "--format", "json") == 0
    capsys.readouterr()
    assert tui.main(["export", "screening", "--purpose", "quality check", "--format", "json", "--db", screen_db,
                     "--user", "analyst", "--now", NOW_ARG]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [i["crime_ref"] for i in data["items"]] == ["NO/26/000001", "SO/26/000003"]
    database = Database(screen_db)
    with database.read() as s:
        exports = s.exec(select(AuditEvent).where(AuditEvent.action == "export")).all()
    database.dispose()
    assert len(exports) == 1
