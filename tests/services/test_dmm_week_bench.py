"""The week-of-meetings benchmark keeps running (its figures are in
benchmarks/README.md): a small force walked through a week, decisions
recorded, every breach due listed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from app.db import SYNTHETIC, Database
from benchmarks.dmm_week import walk_week
from seed.generator import generate
from tests.conftest import NOW


def test_a_week_of_meetings_lists_every_breach_due(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'force.db'}"
    database = Database(url)
    database.upgrade(create_as=SYNTHETIC)
    generate(database, cases=800, seed=3, now=NOW)
    database.dispose()
    sizes = walk_week(url, date(2026, 3, 2))
    assert len(sizes) == 6 * 6  # six meetings (Monday to Monday), six areas
    assert all(s.breaches_listed == s.breaches_due for s in sizes)
    monday = [s for s in sizes if s.meeting_date == "2026-03-02"]
    assert sum(s.items for s in monday) > 0
