"""Every command the README shows, run as printed (in-process, ``tui.main``)
against a freshly set up training database and a freshly set up live one:
each exits 0 or with its documented message, never a traceback.

The examples are the ``sh`` blocks and the table's "command line" column.
Commands that open the terminal app or a web server, that need a PostgreSQL
server, or that hold placeholders (ID, REF, FOLDER…) are classified below;
a new example the README gains must be classified too, or this test fails.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

import tui
from app.settings import login_name

README = Path(__file__).resolve().parents[2] / "README.md"
NOW = "2026-03-02T08:00:00Z"
PLACEHOLDER = re.compile(r"\b(ID|REF|FOLDER/?|TEXT|NAME|PATH|ROLE|WHY|GROUP|FILE|ISO)\b|…|\.\.\.")

# why an example is not run here (each is covered by its own tests)
NOT_RUN = {
    "opens the terminal app": re.compile(r"^vigil demo( --reset| --scenario [\w-]+)?$|"
                                         r"^vigil --db \S+ --user \S+ --now \S+$"),
    "serves a browser session": re.compile(r"--web\b|^vigil serve\b"),
    "needs a PostgreSQL server": re.compile(r"postgresql\+psycopg"),
    "a million-case benchmark": re.compile(r"^vigil bench --cases 1000000"),
    "a reset needs the database's name typed": re.compile(r"^vigil seed --reset$"),
}
# what the live database may answer instead of output (documented messages)
DOCUMENTED = ("holds no cases yet", "cannot", "may not", "denied", "not an active Vigil user",
              "no users yet", "nothing to", "not found", "no such", "already")


# commands whose output is case data: from a training database it says so
MARKED = {"dmm", "search", "worklist", "breaches", "approvals", "victims-code", "orders"}


def readme_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    found: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].split(" # ")[0].strip()
            if line.startswith("vigil"):
                found.append(line)
    table = [line for line in text.splitlines() if line.startswith("| ") and "`vigil" in line]
    for row in table:
        last = row.rstrip(" |").rsplit("|", 1)[-1]
        found += re.findall(r"`(vigil [^`]+)`", last)
    seen: list[str] = []
    for command in found:
        if command not in seen:
            seen.append(command)
    return seen


def _why_not(command: str) -> str | None:
    for why, pattern in NOT_RUN.items():
        if pattern.search(command):
            return why
    if PLACEHOLDER.search(command.replace("--no-pager", "")):
        return "holds a placeholder"
    return None


def runnable() -> list[str]:
    return [c for c in readme_examples() if _why_not(c) is None]


def _argv(command: str, out: Path) -> list[str]:
    argv = shlex.split(command)[1:]
    for index, arg in enumerate(argv):  # files the examples write land in the test's folder
        if index and argv[index - 1] == "-o":
            argv[index] = str(out / Path(arg).name)
        if arg.startswith("tests/"):
            argv[index] = str(README.parent / arg)
        if arg.startswith("sqlite:///"):
            argv[index] = f"sqlite:///{out / Path(arg[10:]).name}"
    return argv


def test_the_readme_has_examples_and_each_is_classified() -> None:
    examples = readme_examples()
    assert len(examples) >= 15
    assert len(runnable()) >= 12
    assert "vigil dmm --area Northern --format md" in runnable()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A training database set up as the demo's is (the same generator, fewer cases)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'training.db'}"
    assert tui.main(["seed", "--db", url, "--cases", "300", "--seed", "1", "--training",
                     "--now", NOW]) == 0
    return url


def test_examples_on_the_training_database(demo_url: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    failures = []
    for command in runnable():
        argv = _argv(command, tmp_path)
        if argv[:1] == ["seed"]:
            argv = [*argv, "--db", str(tmp_path / f"seed{len(failures)}.db")] \
                if "--db" not in argv else argv
        else:
            argv = ["--db", demo_url, "--user", "supervisor.northern", "--now", NOW, *argv]
        if argv[-1] == "--training" and argv[0] == "seed":
            argv += ["--cases", "50"]
        if "--cases" not in argv and argv[0] == "seed":
            argv += ["--cases", "50"]
        try:
            code = tui.main(argv)
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        if "Traceback" in err or (code != 0 and not any(m in err for m in DOCUMENTED)):
            failures.append((command, code, err.strip()[-300:]))
        elif code == 0 and "-o" not in argv and argv[6] in MARKED:
            assert "TRAINING — synthetic data" in out[:400], command
    assert failures == []


def test_examples_on_a_new_live_database(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    monkeypatch.setenv("VIGIL_DATABASE_URL", url)
    # before any set-up, every command says what to run first
    assert tui.main(["dmm", "--area", "Northern", "--format", "md"]) == 1
    err = capsys.readouterr().err
    assert "vigil db upgrade --admin NAME" in err and "vigil users add" in err
    assert "vigil import FOLDER" in err
    me = login_name()
    assert tui.main(["db", "upgrade", "--admin", me]) == 0
    capsys.readouterr()
    failures = []
    for command in runnable():
        argv = _argv(command, tmp_path)
        if argv[:1] == ["seed"] or "--user" in argv or "--now" in argv:
            continue  # synthetic data and asserted identities are refused on a live database
        try:
            code = tui.main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
        _out, err = capsys.readouterr()
        if "Traceback" in err or (code != 0 and not any(m in err for m in DOCUMENTED)):
            failures.append((command, code, err.strip()[-300:]))
    assert failures == []
