"""`vigil import --help` documents every column; `vigil approvals` lists and
approves four-eyes risk levels; `vigil victims-code` lists what is
outstanding under the Victims' Code; `vigil export cases` writes format 2
that `vigil import` takes back unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import tui
from app.db import Database
from app.rms.formats import COLUMN_HELP, FILE_ORDER, all_columns
from tests.factories import extract_row, write_extract

NOW_ARG = "2026-03-02T08:00:00Z"
README = Path(__file__).resolve().parents[2] / "README.md"


def _vigil(db: str, *args: str, user: str = "analyst", now: str = NOW_ARG) -> int:
    return tui.main(["--db", db, "--user", user, "--now", now, *args])


def test_import_help_documents_every_file_and_column(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        tui.main(["import", "--help"])
    text = capsys.readouterr().out
    for file_name in FILE_ORDER:
        assert f"{file_name}:" in text
        assert set(COLUMN_HELP[file_name]) == set(all_columns(file_name, 2)), file_name
        for column in all_columns(file_name, 2):
            assert re.search(rf"^  {column}: ", text, re.M), (file_name, column)


def test_the_readme_documents_every_file_and_column() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## RMS extract"):]
    for file_name in FILE_ORDER:
        line = next(x for x in section.splitlines() if x.startswith(f"- `{file_name}`"))
        for column in all_columns(file_name, 2):
            assert re.search(rf"\b{column}\b", line), (file_name, column)
    assert "manifest.json" in section


@pytest.fixture
def pending_db(sqlite_database: Database, tmp_path: Path) -> str:
    folder = write_extract(tmp_path / "x", {
        "crimes.csv": [extract_row("crimes.csv", principal_code="8Q")],
        "risk.csv": [extract_row("risk.csv", answers="YYYNNNNNNNN", level="standard",
                                 rationale="victim moved away")],
    }, format_version=2)
    assert _vigil(sqlite_database.url, "import", str(folder)) == 0
    return sqlite_database.url


def test_approvals_waiting_and_approving(pending_db: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _vigil(pending_db, "approvals", "--format", "json",
                  user="supervisor.northern") == 0
    (item,) = json.loads(capsys.readouterr().out)["items"]
    assert (item["crime_ref"], item["level"], item["case_risk_level"], item["yours"]) == (
        "CR-0001", "standard", "medium", True)
    assert _vigil(pending_db, "approvals", "--approve", str(item["assessment_id"]),
                  user="inspector.northern") == 0
    out = capsys.readouterr().out
    assert "assessed by officer.northern, approved by inspector.northern" in out
    assert _vigil(pending_db, "approvals", "--format", "json",
                  user="supervisor.northern") == 0
    assert json.loads(capsys.readouterr().out)["items"] == []
    assert _vigil(pending_db, "approvals", "--approve", str(item["assessment_id"]),
                  user="inspector.northern") == 2


def test_victims_code_list(pending_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    later = "2026-03-10T08:00:00Z"
    assert _vigil(pending_db, "victims-code", "--area", "all", "--format", "json",
                  now=later) == 0
    payload = json.loads(capsys.readouterr().out)
    (item,) = payload["items"]
    # reported Sunday 01/03: needs assessment and referral were due by Tuesday 03/03, the
    # first update (enhanced rights by default) by Monday 02/03; the VPS not yet
    assert item["crime_ref"] == "CR-0001"
    assert item["gaps"] == ["NEEDS_ASSESSMENT_LATE", "REFERRAL_LATE", "UPDATE_LATE"]
    assert payload["consent_refused"] == 0
    assert _vigil(pending_db, "victims-code", "--gap", "VPS_NOT_OFFERED", "--format", "json",
                  user="supervisor.northern", now=later) == 0
    assert json.loads(capsys.readouterr().out)["items"] == []


def test_export_then_import_of_format_2_changes_nothing(pending_db: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "out"
    assert _vigil(pending_db, "export", "cases", "--purpose", "round trip check", "-o",
                  f"{folder}/") == 0
    assert json.loads((folder / "manifest.json").read_text())["format_version"] == 2
    capsys.readouterr()
    assert _vigil(pending_db, "import", str(folder), "--format", "json") == 0
    result = json.loads(capsys.readouterr().out)
    assert all(f["new"] == 0 and f["updated"] == 0 for f in result["files"])


def test_approvals_of_another_area_and_force_wide(pending_db: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _vigil(pending_db, "approvals", "--format", "json", user="supervisor.southern") == 0
    assert json.loads(capsys.readouterr().out)["items"] == []  # their own area: none
    assert _vigil(pending_db, "approvals", "--area", "all", "--format", "json",
                  user="supervisor.southern") == 0
    (item,) = json.loads(capsys.readouterr().out)["items"]
    assert (item["area_command"], item["yours"]) == ("Northern", False)
