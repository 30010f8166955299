"""A week of daily management meetings on a synthetic force: how long each
area's agenda is, and whether every breach reached it.

    python -m benchmarks.dmm_week --db sqlite:////tmp/force.db --monday 2026-02-23

    python -m benchmarks.dmm_week --seed-each-day 20000 --monday 2026-03-02

Works on a copy of an SQLite database (the walk records decisions). For each
meeting day from ``--monday`` to the following Monday, as at the meeting's
start, every area's agenda is built as the screen builds it; then, as a
meeting would, a decision is recorded on every item (``--undecided`` leaves
them, to see what an unattended week carries). For each meeting it checks that
every breach reported in the meeting's window, and every breach not yet
acknowledged at its start, is on the agenda of the area holding the breach
crime. ``--seed-each-day N`` instead seeds a fresh synthetic force of N cases
(seed 7) as of each meeting's start and reads that morning's agenda, as a
trainer's ``vigil seed --now`` would give it. Prints one row per area and
day, as JSON with ``--format json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.clock import Clock
from app.db import SYNTHETIC, Database
from app.policy import default_policy
from app.rules import dmm as rules
from app.services.context import open_context
from app.services.dmm import build_queue, record_decision
from app.settings import Settings
from models import Breach, Case
from seed.reference import organisation


@dataclass(frozen=True)
class MeetingSize:
    area: str
    meeting_date: str
    weekday: str
    items: int
    breaches_due: int  # breaches that must be on this agenda
    breaches_listed: int  # of them, on it
    reasons: dict[str, int]


def _breaches_due(database: Database, area: str, frame: rules.MeetingFrame) -> set[str]:
    """Breach crimes of ``area`` whose breach was reported in the meeting's
    window, or reported before it and not acknowledged at its start."""
    with database.read() as session:
        rows = session.execute(
            select(Case.crime_ref, Breach.reported_at, Breach.acknowledged_at)
            .join(Case, Case.id == Breach.breach_case_id)
            .where(Case.area_command == area, Breach.reported_at < frame.starts_at)).all()
    due: set[str] = set()
    for row in rows:
        fields = row._mapping
        in_window = fields["reported_at"] >= frame.covers_from
        open_at_start = (fields["acknowledged_at"] is None
                         or fields["acknowledged_at"] >= frame.starts_at)
        if in_window or open_at_start:
            due.add(fields["crime_ref"])
    return due


def walk_week(url: str, monday: date, *, decide: bool = True) -> list[MeetingSize]:
    """Every area's agenda for each meeting from ``monday`` to the next Monday."""
    policy = default_policy()
    database = Database(url)
    areas = organisation().area_commands
    day = monday if rules.is_meeting_day(monday, policy) else rules.next_meeting_date(monday,
                                                                                       policy)
    last = monday + timedelta(days=7)
    sizes: list[MeetingSize] = []
    while day <= last:
        start = rules.meeting_start(day, policy)
        frame = rules.MeetingFrame.for_date(day, policy)
        for area in areas:
            settings = Settings(database_url=url, username=f"supervisor.{area.lower()}",
                                now=start)
            ctx = open_context(settings, database=database, migrate=False)
            ctx.clock = Clock.fixed(start)
            queue = build_queue(ctx, area=area, meeting_date=day, audit=False)
            listed = {item.crime_ref for item in queue.items}
            due = _breaches_due(database, area, frame)
            sizes.append(MeetingSize(area, day.isoformat(), f"{day:%a}", queue.total, len(due),
                                     len(due & listed), dict(sorted(queue.reason_counts.items()))))
            if decide:
                for item in queue.items:
                    record_decision(ctx, area=area, meeting_date=day, crime_ref=item.crime_ref,
                                    decision="no_further_action",
                                    rationale="reviewed at the meeting",
                                    expected_version=item.case_version)
        day = rules.next_meeting_date(day, policy)
    database.dispose()
    return sizes


def seeded_mornings(cases: int, monday: date, folder: Path) -> list[MeetingSize]:
    """Each meeting morning from ``monday`` to the next Monday on a force
    seeded as of that morning (no meeting walked before it)."""
    from seed.generator import generate

    policy = default_policy()
    day = monday if rules.is_meeting_day(monday, policy) else rules.next_meeting_date(monday,
                                                                                       policy)
    sizes: list[MeetingSize] = []
    while day <= monday + timedelta(days=7):
        url = f"sqlite:///{folder / f'force-{day.isoformat()}.db'}"
        database = Database(url)
        database.upgrade(create_as=SYNTHETIC)
        generate(database, cases=cases, seed=7, now=rules.meeting_start(day, policy))
        database.dispose()
        sizes.extend(s for s in walk_week(url, day, decide=False) if s.meeting_date == str(day))
        day = rules.next_meeting_date(day, policy)
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dmm_week", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="an SQLite database (a copy is walked)")
    parser.add_argument("--seed-each-day", type=int, metavar="N",
                        help="seed N synthetic cases as of each meeting instead of walking --db")
    parser.add_argument("--monday", required=True, type=date.fromisoformat)
    parser.add_argument("--undecided", action="store_true",
                        help="record no decisions: what an unattended week carries")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args(argv)
    if args.seed_each_day:
        with tempfile.TemporaryDirectory() as folder:
            sizes = seeded_mornings(args.seed_each_day, args.monday, Path(folder))
        return _report(sizes, args.format)
    if not args.db:
        parser.error("give --db (a database to walk) or --seed-each-day N")
    source = make_url(args.db)
    if source.get_backend_name() != "sqlite" or not source.database:
        parser.error("--db: give an SQLite database file (the walk works on a copy)")
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "week.db"
        shutil.copy(source.database, copy)
        sizes = walk_week(f"sqlite:///{copy}", args.monday, decide=not args.undecided)
    return _report(sizes, args.format)


def _report(sizes: list[MeetingSize], fmt: str) -> int:
    if fmt == "json":
        print(json.dumps([asdict(s) for s in sizes], indent=1))
        return 0
    days = sorted({(s.meeting_date, s.weekday) for s in sizes})
    areas = list(dict.fromkeys(s.area for s in sizes))
    by = {(s.area, s.meeting_date): s for s in sizes}
    print("| area | " + " | ".join(f"{w} {d[5:]}" for d, w in days) + " |")
    print("|---|" + "---:|" * len(days))
    for area in areas:
        cells = []
        for d, _w in days:
            s = by[(area, d)]
            cells.append(f"{s.items} ({s.breaches_listed}/{s.breaches_due} br)")
        print(f"| {area} | " + " | ".join(cells) + " |")
    missed = sum(s.breaches_due - s.breaches_listed for s in sizes)
    print(f"\nbreaches due on an agenda and missing from it: {missed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
