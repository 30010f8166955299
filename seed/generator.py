"""The synthetic force generator behind `vigil seed` and `vigil demo`.

``generate`` writes a deterministic, realistic dataset: the same ``seed``,
``cases`` and ``now`` give byte-identical rows, ids included. Nothing depends
on the wall clock or on set ordering: one ``random.Random(seed)`` stream drives
every choice and Faker (``en_GB``, seeded the same) supplies the pools of
synthetic first and last names.

What the data holds (DOMAIN.md §11, DESIGN.md vocabulary):

- courses of conduct: a victim and a suspect with 1-6 crimes weeks apart,
  over the two years before ``now``; some suspects target more than one victim;
- about a sixth of crimes recorded as stalking (8Q), the rest harassment,
  malicious communications, criminal damage, coercive control and breaches;
  included classifications (8U with 8Q, 8Q with 8R ...);
- stalking hidden under other classifications, with tell-tale summaries, each
  one written into ``training_key``; decoy summaries that use the same words
  innocently (written there too, as not hidden) so screening precision can be
  measured;
- S-DASH assessments with gaps, orders (SPO, ISPO, RO, NMO, DVPO), breaches
  linked to the original case (acknowledged by the supervisor on duty in the
  area, seed/duty.py), SPO decisions (refusals held at their calibrated
  share), victims' care and referrals (some late or missing), allocation
  histories (some contrary to the policy, some moved several times), a few
  PINs and searches;
- the action plan's rows (seed/generator_figures.py): training records of the
  officers, perpetrator programmes and referrals, PIN authorities, arrests,
  digital lines of enquiry and a reviewed dip sample per area command;
- busy last days (seed/generator_scenarios.py): at ``now`` every DMM reason
  and every breach escalation level is present, in every area command when
  there are 5,000 cases or more (force-wide for smaller runs), each area at its
  own moments;
- the previous meetings (seed/generator_history.py), held by the real rules:
  agendas built by the DMM service as at each meeting's start, decisions and
  actions recorded on them, a few items carried over.

The rates the data is tuned to, with their sources, are in
``seed/calibration.toml``; ``vigil seed --report`` measures them.

Speed: rows are built as tuples with explicit ids and written in chunks. On
SQLite the load runs on one raw connection with ``synchronous=OFF``, foreign
keys checked by construction rather than by the engine, and the secondary
indexes of the loaded tables rebuilt once at the end (they are read from the
database itself, so they are the migrations' indexes exactly). On PostgreSQL
the chunks go through SQLAlchemy Core ``insert`` and the id sequences are moved
past the generated ids.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from app.db import Database
from app.errors import BadInput
from app.policy import Policy, default_policy
from seed.generator_build import ID_TABLES, TABLES, Builder
from seed.generator_figures import add_action_plan_figures
from seed.generator_history import history_meetings, walk_history
from seed.generator_scenarios import ScenarioMaker
from seed.generator_stories import StoryMaker
from seed.reference import install_reference, organisation
from seed.users import install_users

CHUNK_CASES = 20_000
PER_AREA_FROM = 5_000
GENERATED_KEY = "generated"
NAME_POOL = 3_000

Progress = Callable[[int], None]


@dataclass(frozen=True)
class GenerationReport:
    """What ``generate`` wrote: rows per table and how long it took."""

    cases: int
    seed: int
    now: datetime
    counts: dict[str, int]
    elapsed_seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        width = max(len(name) for name in self.counts)
        return [f"  {name:<{width}}  {count:>12,}" for name, count in self.counts.items()]


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


def name_pools(seed: int) -> tuple[list[str], list[str], list[str]]:
    """Synthetic first names (female, male) and surnames from Faker ``en_GB``."""
    from faker import Faker

    fake = Faker("en_GB")
    fake.seed_instance(seed)
    female = [fake.first_name_female() for _ in range(NAME_POOL)]
    male = [fake.first_name_male() for _ in range(NAME_POOL)]
    last = [fake.last_name() for _ in range(2 * NAME_POOL)]
    return female, male, last


# --- writers ------------------------------------------------------------------------


def _extra_columns(name: str, written: tuple[str, ...], dialect: Any) -> tuple[list[str], tuple]:
    """Columns a table has beyond those the generator writes, with the value
    their Python-side default gives (so a column added later with a default
    does not break the raw SQLite load)."""
    names: list[str] = []
    values: list[Any] = []
    for column in _table(name).columns:
        if column.name in written:
            continue
        default = column.default
        if default is not None and getattr(default, "is_scalar", False):
            value = default.arg
        elif default is not None and getattr(default, "is_callable", False):
            value = default.arg(None)
        elif column.nullable or column.server_default is not None:
            continue
        else:
            raise BadInput(f"the generator does not fill {name}.{column.name} (NOT NULL, no default)")
        processor = column.type.bind_processor(dialect)
        names.append(column.name)
        values.append(processor(value) if processor else value)
    return names, tuple(values)


class SqliteWriter:
    """Bulk load on one raw connection; indexes rebuilt at the end."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.counts = {name: 0 for name in TABLES}
        dialect = sqlite_dialect.dialect()
        self.statements: dict[str, str] = {}
        self.extras: dict[str, tuple] = {}
        for name, columns in TABLES.items():
            extra_names, extra_values = _extra_columns(name, columns, dialect)
            keys = list(columns) + extra_names
            # the values follow ``keys`` (a compiled insert would follow the table's order)
            names = ", ".join(_quote(k) for k in keys)
            marks = ", ".join("?" for _k in keys)
            # names from the models, quoted
            self.statements[name] = f"INSERT INTO {_quote(name)} ({names}) VALUES ({marks})"  # noqa: S608  # sql-safe: names from the models
            self.extras[name] = extra_values
        self.raw: Any = None
        self.indexes: list[str] = []

    def __enter__(self) -> SqliteWriter:
        self.raw = self.database.engine.raw_connection()
        conn = self.raw.driver_connection
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        for name in TABLES:
            rows = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND sql IS NOT NULL AND tbl_name = ? ORDER BY name", (name,)).fetchall()
            for index_name, sql in rows:
                self.indexes.append(sql)
                conn.execute("DROP INDEX " + _quote(index_name))
        return self

    def write(self, rows: dict[str, list[tuple]]) -> None:
        conn = self.raw.driver_connection
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name, batch in rows.items():
                if not batch:
                    continue
                extra = self.extras[name]
                if extra:
                    batch = [row + extra for row in batch]
                conn.executemany(self.statements[name], batch)
                self.counts[name] += len(batch)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def __exit__(self, *exc: object) -> None:
        conn = self.raw.driver_connection
        try:
            for sql in self.indexes:
                conn.execute(sql)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-65536")
            self.raw.close()


def _quote(identifier: str) -> str:
    return sqlite_dialect.dialect().identifier_preparer.quote(identifier)


class CoreWriter:
    """SQLAlchemy Core bulk inserts (PostgreSQL and any other engine)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.counts = {name: 0 for name in TABLES}

    def __enter__(self) -> CoreWriter:
        return self

    def write(self, rows: dict[str, list[tuple]]) -> None:
        with self.database.write_engine.begin() as conn:
            for name, batch in rows.items():
                if not batch:
                    continue
                columns = TABLES[name]
                table = _table(name)
                for start in range(0, len(batch), 10_000):
                    part = batch[start:start + 10_000]
                    conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in part])
                self.counts[name] += len(batch)

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None or self.database.dialect != "postgresql":
            return
        with self.database.write_engine.begin() as conn:
            for name in ID_TABLES:
                table = _table(name)
                highest = conn.execute(select(func.max(table.c.id))).scalar()
                if highest:
                    conn.execute(select(func.setval(func.pg_get_serial_sequence(name, "id"),
                                                    highest)))


# --- the generator -------------------------------------------------------------------


def existing_cases(database: Database) -> int:
    with database.read() as session:
        return int(session.execute(select(func.count()).select_from(_table("crime_case"))).scalar() or 0)


def _start_ids(database: Database) -> dict[str, int]:
    starts: dict[str, int] = {}
    with database.read() as session:
        for name in ID_TABLES:
            highest = session.execute(select(func.max(_table(name).c.id))).scalar()
            starts[name] = int(highest or 0) + 1
    return starts


def generate(database: Database, *, cases: int, seed: int, now: datetime,
             training: bool = False, progress: Progress | None = None,
             policy: Policy | None = None) -> GenerationReport:
    """Write ``cases`` synthetic crimes and everything hanging off them.

    Installs the reference data and the synthetic users first. Refuses a
    database that already holds cases (see :func:`reset_database`). Does not
    mark the database training or live: the caller does. ``training`` is
    recorded with the other generation facts in ``app_meta`` (key
    ``generated``); the data is the same either way.
    """
    if isinstance(cases, bool) or not isinstance(cases, int) or cases < 1:
        raise BadInput(f"cases: expected a whole number of at least 1, got {cases!r}")
    if now.tzinfo is None:
        raise BadInput("now: give the generation time with a time zone")
    started = time.perf_counter()
    policy = policy or default_policy()
    database.upgrade()
    with database.write() as session:
        install_reference(session)
        install_users(session)
    held = existing_cases(database)
    if held:
        raise BadInput(f"{database.safe_url} already holds {held:,} cases: "
                       "generate into an empty database (vigil seed --reset)")
    female, male, last = name_pools(seed)
    builder = Builder(seed=seed, now=now, policy=policy, dialect=database.dialect,
                      start_ids=_start_ids(database), first_female=female, first_male=male,
                      last_names=last)
    org = organisation()
    plan = ScenarioMaker.plan(cases, org.area_commands, per_area=cases >= PER_AREA_FROM)
    stories = StoryMaker(builder, org.search_powers,
                         court_decisions=ScenarioMaker.court_decisions(plan))
    background = cases - ScenarioMaker.size(plan)
    writer: SqliteWriter | CoreWriter = (
        SqliteWriter(database) if database.dialect == "sqlite" else CoreWriter(database))
    with writer:
        made = 0
        while made < background:
            made += stories.story(background - made)
            if builder.pending_cases >= CHUNK_CASES:
                writer.write(builder.take_rows())
                if progress:
                    progress(builder.cases_made)
        scenarios = ScenarioMaker(builder, stories)
        scenarios.build(plan)
        writer.write(builder.take_rows())
    if progress:
        progress(builder.cases_made)
    figures = add_action_plan_figures(database, seed=seed, now=now, policy=policy)
    # the force counts as extracted at its "now" (the agenda's epoch) before its
    # earlier meetings are held, as a force that took Vigil up then would see them
    database.set_meta(GENERATED_KEY, json.dumps(
        {"cases": cases, "seed": seed, "now": now.astimezone(UTC).isoformat(),
         "training": training}, sort_keys=True))
    database.refresh_statistics()
    walked = walk_history(database, areas=org.area_commands, now=now, policy=policy, seed=seed,
                          meetings=history_meetings(cases))
    counts = {**writer.counts, **figures}
    counts["dmm_meeting"] += walked.meetings
    counts["dmm_item"] += walked.items
    counts["dmm_action"] += walked.actions
    database.refresh_statistics()
    return GenerationReport(cases=builder.cases_made, seed=seed, now=now, counts=counts,
                            elapsed_seconds=time.perf_counter() - started)


def reset_database(database: Database) -> None:
    """Empty a training, evaluation or synthetic database and bring it back to
    the newest schema, keeping its kind (:meth:`Database.require_resettable`
    says which databases may be; anything else is refused). Only Vigil's own
    tables are dropped: an SQLite file holding nothing else is created again."""
    kind = database.require_resettable()
    database.drop_vigil_tables()
    database.upgrade(create_as=kind)
