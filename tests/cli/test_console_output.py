"""The CLI fits the terminal and says words, not codes; --limit; and every
output from a training database carries "TRAINING — synthetic data"."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import tui
from app.db import DATABASE_KIND_KEY, TRAINING, Database
from app.output import Column, output_scope, render, words
from tests.factories import dmm_morning

AT = ["--now", "2026-03-02T08:00:00Z"]
MARK = "TRAINING — synthetic data"


@pytest.fixture
def db_url(sqlite_database: Database) -> str:
    with sqlite_database.write() as session:
        dmm_morning(session)
    return sqlite_database.url


@pytest.fixture
def training_url(sqlite_database: Database) -> str:
    with sqlite_database.write() as session:
        dmm_morning(session)
    sqlite_database.set_meta(DATABASE_KIND_KEY, TRAINING)
    sqlite_database.set_meta("created_as", TRAINING)
    return sqlite_database.url


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = tui.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_codes_in_words() -> None:
    assert words("ex_partner") == "ex partner"
    assert words("interim_granted") == "interim granted"
    assert words("NC/26/0001") == "NC/26/0001"
    assert words("supervisor.northern") == "supervisor.northern"
    assert words("HIGH_RISK") != "HIGH_RISK" and "_" not in words("HIGH_RISK")


@pytest.mark.parametrize("width", [80, 120, 200])
def test_tables_fit_the_console_and_keep_references_whole(
        db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))  # a terminal this wide
    monkeypatch.setenv("PAGER", "cat")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _err = _run(capsys, "dmm", "--db", db_url, "--user", "supervisor.northern", *AT)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= width
    for ref in ("NC/26/0104", "NC/26/0105", "NC/26/0102", "NC/26/0110", "NC/26/0101"):
        assert ref in out


def test_limit_keeps_the_first_rows_and_says_so(db_url: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "dmm", "--db", db_url, "--user", "supervisor.northern", *AT,
                           "--limit", "2")
    assert code == 0
    assert "NC/26/0104" in out and "NC/26/0105" in out and "NC/26/0101" not in out
    assert "first 2 of 5 rows (--limit 2)" in out
    with pytest.raises(SystemExit) as exited:
        tui.main(["dmm", "--db", db_url, "--limit", "0"])
    assert exited.value.code == 2 and "--limit" in capsys.readouterr().err


def test_table_says_words_csv_keeps_codes() -> None:
    rows = [{"ref": "NC/26/0001", "relationship": "ex_partner"}]
    columns = [Column("ref", "Crime"), Column("relationship", "Relationship")]
    assert "ex partner" in render(rows, columns, "table")
    assert "ex_partner" in render(rows, columns, "csv")


def test_live_output_is_unmarked(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("table", "md", "csv", "json"):
        code, out, _err = _run(capsys, "dmm", "--db", db_url, "--user", "supervisor.northern",
                               *AT, "--format", fmt)
        assert code == 0 and MARK not in out


@pytest.mark.parametrize("fmt", ["table", "md", "csv", "json"])
def test_training_outputs_are_marked(training_url: str, capsys: pytest.CaptureFixture[str],
                                     fmt: str) -> None:
    code, out, _err = _run(capsys, "dmm", "--db", training_url, "--user", "supervisor.northern",
                           *AT, "--format", fmt)
    assert code == 0
    if fmt == "json":
        assert json.loads(out)["data"] == MARK
    elif fmt == "csv":
        header, first = out.splitlines()[:2]
        assert header.startswith("data,") and first.startswith(MARK)
    else:
        assert out.splitlines()[0].strip("> *") == MARK


def test_training_search_and_breaches_are_marked(training_url: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["search", "--area", "Northern"], ["breaches"], ["worklist"]):
        code, out, err = _run(capsys, *command, "--db", training_url, "--user",
                              "supervisor.northern", *AT)
        assert code == 0, err
        assert out.startswith(MARK), command


def test_training_extract_manifest_is_marked(training_url: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "extract"
    code, _out, err = _run(capsys, "export", "cases", "--db", training_url, "--user", "analyst",
                           *AT, "--purpose", "training exercise", "-o", f"{folder}/")
    assert code == 0, err
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source_kind"] == "training" and manifest["notice"] == MARK


@pytest.mark.parametrize("fmt", ["csv", "json", "md", "html"])
def test_training_single_file_extract_is_marked(training_url: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                fmt: str) -> None:
    target = tmp_path / f"crimes.{fmt}"
    code, _out, err = _run(capsys, "export", "cases", "--db", training_url, "--user", "analyst",
                           *AT, "--purpose", "training exercise", "--format", fmt,
                           "-o", str(target))
    assert code == 0, err
    text = target.read_text(encoding="utf-8")
    if fmt == "json":
        marked = json.loads(text)
        assert marked["data"] == MARK and marked["rows"]
    elif fmt == "csv":  # the marker line the import reads, ending in words for people
        first = text.splitlines()[0]
        assert first.startswith("#vigil-rms-extract ") and first.endswith(f" # {MARK}")
    else:
        assert MARK in text.splitlines()[0] or MARK in text[:2000]


def test_scope_resets_after_a_run() -> None:
    with output_scope(training=True):
        assert render([], [Column("a", "A")], "table").startswith(MARK)
    assert not render([], [Column("a", "A")], "table").startswith(MARK)


def test_long_output_on_a_terminal_goes_through_the_pager(
        db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import pydoc

    paged: list[str] = []
    monkeypatch.setattr(pydoc, "pager", paged.append)
    monkeypatch.setenv("PAGER", "less")
    monkeypatch.setenv("LINES", "5")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _err = _run(capsys, "dmm", "--db", db_url, "--user", "supervisor.northern", *AT)
    assert code == 0 and out == "" and "NC/26/0104" in paged[0]


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160])
def test_a_table_fits_the_width_keeps_references_whole_and_names_what_it_leaves_out(
        width: int) -> None:
    from app.output import render_table

    columns = [Column("rank", "#"), Column("crime_ref", "Crime ref"),
               Column("reasons", "Reasons", 30), Column("risk", "Risk"),
               Column("team", "Team"), Column("pair", "Victim → suspect"),
               Column("decision", "Decision"), Column("actions", "Actions", 40)]
    rows = [{"rank": n, "crime_ref": f"NC/26/00040{n}", "reasons": "BREACH REVIEW CARRIED",
             "risk": "unassessed", "team": "Safeguarding", "pair": "P0004926 → P0004927",
             "decision": "actions set", "actions": "Arrest the suspect — DS Lowther"}
            for n in range(1, 4)]
    text = render_table(rows, columns, title="DMM", width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    for n in range(1, 4):
        assert f"NC/26/00040{n}" in text  # never cut
    assert "BREACH" in text  # the reasons are never squeezed to nothing
    flat = " ".join(text.split())
    if "not shown at this width" in flat:
        assert width < 120 and "Actions" in flat.split("not shown at this width:")[1]
    else:
        assert "Arrest the suspect" in flat
