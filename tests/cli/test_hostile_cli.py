"""Every subcommand, walked in-process (``tui.main(argv)``) with hostile
arguments: over-long names, impossible dates, unwritable outputs, control
characters. Whatever the input, Vigil answers with a message and an exit
code (0, 1 or 2), never a traceback, and loses no data."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import tui
from app.db import Database
from models import AuditEvent, Case
from tests.conftest import NOW
from tests.factories import add_case

LONG = "N" * 5000
HOSTILE_VALUES = [
    LONG,
    "0001-01-01",
    "9999-12-31T23:59:59+14:00",
    "31/02/2026",
    "/proc/version",
    "-1",
    "99999999999999999999999",
    "\x1b[2J'; DROP TABLE crime_case; --",
    "",
]
# never run for real from a test: the TUI, a web server, a benchmark, a reset
NOT_WALKED = {"serve", "demo", "bench", "seed"}
# options whose hostile value would only make a command do its ordinary work longer
SKIP_OPTIONS = {"--db", "--now", "--policy", "--user", "--help", "-h", "--version"}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _walk() -> Iterator[tuple[str, list[str]]]:
    """(label, argv before the global options) for every subcommand and option."""
    parser, _modules = tui.build_parser()
    for name, sub in sorted(_subparsers(parser).items()):
        if name in NOT_WALKED:
            continue
        nested = _subparsers(sub)
        commands = [([name, action], p) for action, p in nested.items()] if nested \
            else [([name], sub)]
        for words, command_parser in commands:
            positional = [a for a in command_parser._actions
                          if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]
            fillers = [_ordinary(a) for a in positional]
            yield " ".join(words), [*words, *fillers]
            for index, action in enumerate(positional):
                for value in HOSTILE_VALUES:
                    argv = list(fillers)
                    argv[index] = value
                    yield f"{' '.join(words)} <{action.dest}>={value[:20]!r}", [*words, *argv]
            for action in command_parser._actions:
                if not action.option_strings or action.nargs == 0:
                    continue
                option = action.option_strings[-1]
                if option in SKIP_OPTIONS:
                    continue
                for value in HOSTILE_VALUES:
                    yield (f"{' '.join(words)} {option}={value[:20]!r}",
                           [*words, *fillers, option, value, *_required(command_parser, action)])


def _ordinary(action: argparse.Action) -> str:
    if action.choices:
        return sorted(action.choices)[0]
    return "/nonexistent/extract"


def _required(parser: argparse.ArgumentParser, skip: argparse.Action) -> list[str]:
    extra: list[str] = []
    for action in parser._actions:
        if action is skip or not action.option_strings or not action.required:
            continue
        extra += [action.option_strings[-1], sorted(action.choices)[0] if action.choices else "x"]
    return extra


CASES = list(_walk())


@pytest.fixture
def walk_db(database: Database) -> str:
    with database.write() as session:
        for n in range(6):
            add_case(session, f"NC/26/{n + 1:06d}", NOW - timedelta(days=n), victim=f"V{n}",
                     suspect=f"S{n}", summary="=cmd|' /C calc'!A0")
    return database.url


def _run(argv: list[str], capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # never a terminal: nothing is asked
    try:
        code = tui.main(argv)
    except SystemExit as exc:  # argparse: usage errors (2) and --help (0)
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_every_subcommand_answers_hostile_arguments_without_a_traceback(
        walk_db: str, database: Database, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # a hostile relative path lands here, never in the repository
    base = ["--db", walk_db, "--user", "supervisor.northern", "--now", NOW.isoformat()]
    tried = escaped = 0
    failures: list[str] = []
    for label, argv in CASES:
        tried += 1
        try:
            code, output = _run([*argv, *base], capsys, monkeypatch)
        except BaseException as exc:
            escaped += 1
            failures.append(f"{label}: {type(exc).__name__}: {exc}"[:300])
            continue
        if code not in (0, 1, 2) or "Traceback" in output:
            escaped += 1
            failures.append(f"{label}: exit {code}: {output[-300:]}")
    with database.read() as session:
        cases = session.execute(select(func.count()).select_from(Case)).scalar()
        events = session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    print(f"hostile CLI walk: {tried} tried, {escaped} got through")
    assert failures == [], "\n".join(failures)
    assert tried > 400 and cases >= 6 and events > 0


@pytest.mark.parametrize("argv", [
    ["assurance", "--from", "0001-01-01"],
    ["assurance", "--from", "0001-01-01", "--to", "9999-12-31"],
    ["export", "cases", "-o", "/proc/version", "--purpose", "walk"],
    ["export", "assurance", "-o", "/proc/version", "--purpose", "walk"],
    ["search", "-o", "/proc/version", "--purpose", "walk"],
    ["export", "cases", "-o", "/proc/", "--purpose", "walk"],
    ["audit", "--case", LONG],
    ["audit", "--case", "NC/26/000001", "--limit", "0"],
    ["search", "--crime", LONG],
    ["search", "--person", LONG],
    ["users", "add", LONG, "--name", LONG, "--role", "analyst"],
    ["users", "add", "ok.name", "--name", LONG, "--role", "analyst"],
    ["dmm", "--area", LONG],
    ["dmm", "--date", "0001-01-01", "--area", "Northern"],
    ["breaches", "--area", LONG],
    ["screen", "--since", "0001-01-01"],
    ["import", "/proc/version"],
    ["db", "backup", "/proc/version"],
    ["seed", "--cases", "-1"],
    ["bench", "--cases", "-5"],
    ["bench", "--load", "--together", "--closed-loop"],
])
def test_the_known_failures_give_a_message(walk_db: str, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch, argv: list[str],
                                           tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    base = ["--db", walk_db, "--user", "supervisor.northern", "--now", NOW.isoformat()]
    if argv[0] in ("users", "import", "seed", "bench"):
        base = ["--db", walk_db, "--user", "analyst", "--now", NOW.isoformat()]
    code, output = _run([*argv, *base], capsys, monkeypatch)
    assert code in (1, 2), output
    assert "Traceback" not in output and output.strip().startswith(("vigil", "usage"))
