"""`vigil`'s entry point: opening the app reads the global options alone and
imports no subcommand; every other command line goes to the whole parser."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tui


@pytest.mark.parametrize("argv", [[], ["--db", "sqlite:///x.db"],
                                  ["--db=sqlite:///x.db", "--user", "analyst", "--now",
                                   "2026-03-02T08:00:00Z", "--policy", "p.toml"]])
def test_global_options_alone_open_the_app(argv: list[str]) -> None:
    args = tui.opening_the_app(argv)
    assert args is not None and args.command is None
    assert args.db == (None if not argv else "sqlite:///x.db")


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--version"], ["dmm"],
                                  ["--db", "sqlite:///x.db", "search", "--code", "8Q"],
                                  ["--db"], ["--no-such-option"]])
def test_anything_else_goes_to_the_whole_parser(argv: list[str]) -> None:
    assert tui.opening_the_app(argv) is None


def test_a_bad_option_is_reported_by_the_whole_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        tui.main(["--no-such-option"])
    assert stopped.value.code == 2
    assert "--no-such-option" in capsys.readouterr().err


def test_opening_the_app_imports_no_subcommand() -> None:
    probe = ("import sys, json, tui; tui.opening_the_app(['--db', 'sqlite:///x.db']); "
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith('app.cli.'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=120)
    loaded = set(json.loads(done.stdout))
    assert not loaded & {f"app.cli.{module}" for module in tui.COMMANDS.values()}
