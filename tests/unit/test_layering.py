"""Imports point one way: the core (models, rules, services, seed, CLI
plumbing) never imports Textual; no SQL is built by string formatting."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_imports_without_textual() -> None:
    code = (
        "import sys, importlib, pkgutil\n"
        "import app, app.rules, app.services\n"
        "mods = ['models', 'seed.reference', 'seed.users', 'app.policy', 'app.db', 'app.output', 'tui']\n"
        "for pkg in (app.rules, app.services):\n"
        "    mods += [pkg.__name__ + '.' + m.name for m in pkgutil.iter_modules(pkg.__path__)]\n"
        "for name in mods:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "assert not bad, bad\n"
        "print(len(mods))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 7


# An SQL statement (upper-case keywords) in an f-string, or in a string then
# formatted with % or .format().
_STATEMENT = r"(SELECT\b.*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b"
_SQL_FORMATTING = re.compile(
    rf"""(\b[rR]?[fF][rR]?["'].*{_STATEMENT}.*\{{)"""
    rf"""|(["'].*{_STATEMENT}.*["']\s*(%|\.format\())"""
)


def test_no_sql_built_by_string_formatting() -> None:
    offenders: list[str] = []
    for folder in ("app", "models", "seed", "screens", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "versions" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _SQL_FORMATTING.search(line) and "# sql-safe:" not in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_check_catches_formatting() -> None:
    assert _SQL_FORMATTING.search('f"SELECT * FROM crime_case WHERE crime_ref = \'{ref}\'"')
    assert _SQL_FORMATTING.search('"DELETE FROM x WHERE id = %s" % value')
    assert not _SQL_FORMATTING.search('text("SELECT 1 WHERE id = :id")')
