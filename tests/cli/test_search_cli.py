"""`vigil search`: criteria from options, every output format, bad input."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

import tui
from app.db import Database
from tests.conftest import NOW
from tests.factories import add_case


def _seed(database: Database) -> None:
    with database.write() as session:
        add_case(session, "CLI/1", NOW - timedelta(days=1), code="8Q", risk="high", team="CID",
                 victim="V1", suspect="S1", online=True)
        add_case(session, "CLI/2", NOW - timedelta(days=2), code="8L", included=("8Q", "8R"),
                 victim="V2", suspect="S2", domestic_abuse=True)
        add_case(session, "CLI/3", NOW - timedelta(days=3), code="8R", area="Southern",
                 victim="V1", suspect="S3", pin=True)
        add_case(session, "CLI/4", NOW - timedelta(days=40), code="8Q", area="Southern",
                 victim="V4", suspect="S4", status="closed")


def _run(database: Database, *argv: str, user: str = "analyst") -> int:
    return tui.main(["--db", database.url, "--user", user, "--now", NOW.isoformat(),
                     "search", *argv])


def _json(database: Database, capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert _run(database, *argv, "--format", "json") == 0
    return json.loads(capsys.readouterr().out)


def test_code_matches_principal_or_included(sqlite_database: Database,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    _seed(sqlite_database)
    payload = _json(sqlite_database, capsys, "--code", "8Q")
    assert [i["crime_ref"] for i in payload["items"]] == ["CLI/1", "CLI/2", "CLI/4"]
    second = payload["items"][1]
    assert second == {
        "crime_ref": "CLI/2", "principal_code": "8L", "included_codes": ["8Q", "8R"],
        "risk": None, "team": "Response", "area": "Northern",
        "reported_at": (NOW - timedelta(days=2)).isoformat(), "status": "open",
        "victim_ref": "V2", "suspect_ref": "S2", "online": False, "domestic_abuse": True,
        "pin_issued": False}
    assert (payload["page"], payload["limit"], payload["has_more"], payload["total"]) == (1, 50, False, None)


@pytest.mark.parametrize(("argv", "expected"), [
    (["--risk", "high"], ["CLI/1"]),
    (["--risk", "unassessed"], ["CLI/2", "CLI/3", "CLI/4"]),
    (["--team", "CID"], ["CLI/1"]),
    (["--area", "Southern"], ["CLI/3", "CLI/4"]),
    (["--person", "v1"], ["CLI/1", "CLI/3"]),
    (["--crime", "CLI/3"], ["CLI/3"]),
    (["--online"], ["CLI/1"]),
    (["--domestic"], ["CLI/2"]),
    (["--pin"], ["CLI/3"]),
    (["--status", "closed"], ["CLI/4"]),
    # --to covers the whole (London) day; --from starts at local midnight
    (["--from", "2026-02-27", "--to", "28/02/2026"], ["CLI/2", "CLI/3"]),
    (["--from", "2026-02-28T09:00"], ["CLI/1"]),
    (["--code", "8q", "--area", "Southern"], ["CLI/4"]),
])
def test_criteria(sqlite_database: Database, capsys: pytest.CaptureFixture[str], argv, expected) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    payload = _json(sqlite_database, capsys, *argv)
    assert [i["crime_ref"] for i in payload["items"]] == expected


def test_paging_and_total(sqlite_database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(sqlite_database)
    first = _json(sqlite_database, capsys, "--limit", "2", "--total")
    second = _json(sqlite_database, capsys, "--limit", "2", "--page", "2")
    assert [i["crime_ref"] for i in first["items"]] == ["CLI/1", "CLI/2"]
    assert (first["has_more"], first["total"]) == (True, 4)
    assert [i["crime_ref"] for i in second["items"]] == ["CLI/3", "CLI/4"]
    assert second["has_more"] is False


def test_table_csv_and_markdown(sqlite_database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(sqlite_database)
    assert _run(sqlite_database, "--code", "8Q", "--total") == 0
    table = capsys.readouterr().out
    assert "Cases: code=8Q (1-3 of 3)" in table
    assert "8L +8Q,8R" in table and "01/03/2026 08:00" in table
    assert _run(sqlite_database, "--code", "8Q", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["crime_ref"] for r in rows] == ["CLI/1", "CLI/2", "CLI/4"]
    assert rows[1]["codes"] == "8L +8Q,8R"
    assert _run(sqlite_database, "--crime", "CLI/1", "--format", "md") == 0
    markdown = capsys.readouterr().out
    assert "| CLI/1 | 01/03/2026 08:00 | Northern | 8Q | high | CID |" in markdown


def test_output_file(sqlite_database: Database, capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    _seed(sqlite_database)
    target = tmp_path / "found.json"
    assert _run(sqlite_database, "--code", "8R", "--format", "json", "--purpose", "quality check", "-o", str(target)) == 0
    assert [i["crime_ref"] for i in json.loads(target.read_text())["items"]] == ["CLI/2", "CLI/3"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--from", "31/02/2026"], "--from '31/02/2026': '31/02/2026' is not a real date"),
    (["--to", "yesterday"], "--to 'yesterday'"),
    (["--from", "2026-03-01", "--to", "2026-02-01"], "--to '2026-02-01' is before --from '2026-03-01'"),
    (["--code", "9Z"], "--code '9Z': not a known classification"),
    (["--page", "0"], "--page 0: pages are numbered from 1"),
    (["--limit", "501"], "--limit 501: expected 1 to 500"),
])
def test_bad_values_exit_2_naming_the_option(sqlite_database: Database,
                                             capsys: pytest.CaptureFixture[str], argv, message) -> None:  # type: ignore[no-untyped-def]
    assert _run(sqlite_database, *argv) == 2
    assert message in capsys.readouterr().err


def test_unknown_choice_is_bad_usage(sqlite_database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _run(sqlite_database, "--risk", "severe")
    assert exit_info.value.code == 2
    assert "argument --risk: invalid choice: 'severe'" in capsys.readouterr().err


def test_search_is_audited_under_the_user(sqlite_database: Database,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from sqlmodel import select

    from models import AuditEvent

    _seed(sqlite_database)
    assert _run(sqlite_database, "--code", "8Q", "--format", "json", user="auditor") == 0
    with sqlite_database.read() as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.entity == "search")).all()
    assert (event.username, event.reason) == ("auditor", "code=8Q (page 1, 3 rows)")
