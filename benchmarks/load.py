"""The morning load test: N people at once on one PostgreSQL server.

    vigil bench --load --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        [--cases 100000] [--sessions 30] [--seconds 60] [--closed-loop] [--format json]

``--db`` is the server's administrator URL: it creates (once, then reuses) a
database ``vigil_load_<cases>`` holding a generated force, marked **live**,
and one PostgreSQL login per person (``load<cases>.sup.northern.1`` ...)
added through ``vigil users``' service, so each session connects as its own
login: identity comes from the login, the clock from the server, the policy
from the database, and row-level security, the grants, the audit triggers and
every audit event of the live deployment apply as they do for a force.

The sessions, each a separate **process** with its own engine and pool (a
2-core machine runs the server and the clients; threads would serialise the
clients' Python on one interpreter lock and report that wait as the
server's latency):

- two supervisors per area command (six areas): open their DMM agenda
  (``app.services.dmm.build_queue``, audited), refresh it (unaudited), both
  as the DMM screen asks (``defer_full``: a stored agenda due its periodic
  full recompute is shown from the cases changed since its last build, and
  the full build the queue then says is due follows at once, measured as
  ``dmm_rebuild``: the screen runs it behind the rows shown), decide the first undecided item of the page they read
  (``record_decision`` with the ``expected_version`` they read: the two
  supervisors of an area contend for the same case, and the loser's
  "changed by someone else" is counted as a *conflict*, never an error) and
  open cases of the agenda (``app.services.cases.open_case``);
- analysts searching (``app.services.search.search_cases``) and screening
  (``app.services.screening.run_screening``, incremental);
- one overnight-size import (``app.services.rms_import.import_extract``) of
  the whole force's extract, written once by ``vigil export cases`` (the
  disclosure path) from this database, imported again and again while the
  window lasts (the last one is waited for). It runs as the deployment runs
  a batch job beside the people: its process at the lowest CPU priority
  (``os.nice`` 19, ``IMPORT_NICENESS``; its server backend is left at its
  priority, see :func:`low_priority`); an import that reports problems is an
  error.

Before each window every area's agenda is prepared as the overnight import
prepares it (``vigil import --prepare-dmm``, :func:`overnight_agendas`), so
the window is a morning after the night's preparation; it starts within the
15 minutes in which a prepared agenda is read from the cases changed since
(``app.services.dmm.agenda.FULL_RECOMPUTE_EVERY``).

With think time a person acts every 2-6 seconds (supervisors) or 3-8 seconds
(analysts), and people arrive as a morning's do: each logs on before the
window, then takes a first action at a random moment of their first think
span (0-6 s, 0-8 s: ``ARRIVAL``). ``--together`` has every person's first
action at the same instant instead (the worst opening: twelve first DMM
opens beside eighteen first searches, each process compiling its first
statements, on the cores that also run the server). ``--closed-loop``
drops the think time and runs the same mix at increasing session counts to
find where throughput stops growing (the saturation point). The people sessions are N; the import runs beside them.

Reported: p50/p95/p99 latency per operation, operations per second, errors
(must be 0) and conflicts.

The force is generated as of two hours before it is made
(``GENERATED_BEFORE``): the generator writes some orders served up to an
hour after its clock, which an import run within that hour refuses as "in
the future" (until then the load's import only validated the extract).
"""

from __future__ import annotations

import json
import multiprocessing
import random
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db import CREATED_AS_KEY, DATABASE_KIND_KEY, LIVE, SYNTHETIC, Database
from app.errors import BadInput, ConflictError

SEED = 11
FORCE_KEY = "load_force"
SUPERVISOR_THINK = (2.0, 6.0)
ANALYST_THINK = (3.0, 8.0)
# A person's first action comes this far into the window, at random (think time
# without --together): the people of a morning do not all press a key in one
# millisecond, a barrier's release does.
ARRIVAL = {"supervisor": (0.0, SUPERVISOR_THINK[1]), "analyst": (0.0, ANALYST_THINK[1])}
ANALYSTS_MAX = 24
# an analyst starts a screening run about one action in twenty (the rest are searches)
SCREENING_SHARE = 0.05
OPERATIONS = ("dmm_open", "dmm_refresh", "dmm_rebuild", "decide", "case_open", "search",
              "screening", "import")
# Measured when the queue says a full build is due (not in every short window).
OCCASIONAL = frozenset({"dmm_rebuild"})
# An interactive login's statements are cut off after this (the README's advice).
PEOPLE_STATEMENT_TIMEOUT = "30s"
# The import is a batch job: the lowest CPU priority, for its process and its backend.
IMPORT_NICENESS = 19
# The force's clock when generated: two hours before (see the module's docstring).
GENERATED_BEFORE = timedelta(hours=2)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Person:
    login: str
    role: str  # supervisor, analyst, importer
    area: str | None = None


@dataclass
class Force:
    """A prepared load database: where it is, its people and its extract."""

    admin_url: str
    url: str
    cases: int
    people: list[Person]
    extract: Path

    def url_of(self, login: str) -> str:
        return make_url(self.url).set(username=login, password=None).render_as_string(
            hide_password=False)

    def supervisors(self) -> list[Person]:
        return [p for p in self.people if p.role == "supervisor"]

    def analysts(self) -> list[Person]:
        return [p for p in self.people if p.role == "analyst"]

    def importer(self) -> Person:
        return next(p for p in self.people if p.role == "importer")


def database_name_for(cases: int) -> str:
    return f"vigil_load_{cases}"


def _prefix(name: str) -> str:
    """The people's logins are named after their database (logins are the server's)."""
    return name.removeprefix("vigil_").replace("_", "") + "."


def _areas() -> tuple[str, ...]:
    from seed.reference import organisation

    return tuple(organisation().area_commands)


def _people(name: str) -> list[Person]:
    prefix = _prefix(name)
    people = [Person(f"{prefix}sup.{area.lower().replace(' ', '-')}.{n}", "supervisor", area)
              for area in _areas() for n in (1, 2)]
    people += [Person(f"{prefix}analyst.{n}", "analyst") for n in range(1, ANALYSTS_MAX + 1)]
    people.append(Person(f"{prefix}importer", "importer"))
    return people


def _admin_login(name: str) -> str:
    return f"{_prefix(name)}admin"


def extract_folder(name: str) -> Path:
    from app.settings import data_dir

    return data_dir() / "bench" / f"load-extract-{name.removeprefix('vigil_load_')}"


def prepare_force(admin_url: str, cases: int, progress: Progress,
                  database_name: str | None = None) -> Force:
    """The load database for ``cases`` cases on the server of ``admin_url``
    (created, seeded, given its people and its extract on first use only)."""
    from app.services import users
    from app.services.context import open_context
    from app.settings import Settings
    from seed.generator import generate

    admin = make_url(admin_url)
    if admin.get_backend_name() != "postgresql":
        raise BadInput(f"--db {admin.render_as_string(hide_password=True)}: the load test "
                       "runs on PostgreSQL (give the server's administrator URL)")
    name = database_name or database_name_for(cases)
    url = admin.set(database=name).render_as_string(hide_password=False)
    people = _people(name)
    folder = extract_folder(name)
    force = Force(admin_url, url, cases, people, folder)
    server = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).scalar()
        if exists:
            database = Database(url)
            try:
                ready = database.is_migrated() and database.meta(FORCE_KEY) == _force_meta(cases)
            finally:
                database.dispose()
            if ready and (folder / "crimes.csv").is_file():
                _overnight_screening(force, progress)
                return force
            progress(f"{name} is incomplete: dropping it and starting again")
        drop_force(admin_url, cases, database_name=name, engine=server)
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))  # sql-safe: our own name
    finally:
        server.dispose()
    database = Database(url)
    try:
        database.upgrade(create_as=SYNTHETIC)
        progress(f"generating {cases:,} cases into {database.safe_url} (first run only)")
        begin = time.perf_counter()
        generate(database, cases=cases, seed=SEED,
                 now=(datetime.now(UTC) - GENERATED_BEFORE).replace(microsecond=0))
        _make_live(database)
        progress(f"generated in {time.perf_counter() - begin:.0f} s; adding the people's logins")
        users.create_first_admin(database, _admin_login(name), "Load test administrator", LIVE)
        admin_url_of = force.url_of(_admin_login(name))
        admin_db = Database(admin_url_of)
        admin_ctx = open_context(Settings(database_url=admin_url_of), database=admin_db,
                                 migrate=False)
        for person in people:
            users.add_user(admin_ctx, username=person.login, display_name=person.login,
                           role=person.role, area=person.area)
        admin_db.dispose()
        progress("exporting the force's extract (vigil export cases) for the import")
        _export(force, folder)
        database.set_meta(FORCE_KEY, _force_meta(cases))
    finally:
        database.dispose()
    _overnight_screening(force, progress)
    return force


def _force_meta(cases: int) -> str:
    """What a prepared load database records of how it was made (one made
    otherwise, e.g. by an earlier version of this file, is made again)."""
    return json.dumps({"cases": cases, "seed": SEED,
                       "generated_before_hours": GENERATED_BEFORE.total_seconds() / 3600})


def people_limits(force: Force) -> None:
    """The README's advice for interactive logins, as a force would set it:
    each person's login (not the importer's, whose one transaction applies a
    whole extract) has its statements cut off at ``PEOPLE_STATEMENT_TIMEOUT``,
    so one runaway query fails (and is counted as an error) instead of
    holding a server process."""
    server = create_engine(force.admin_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            for person in force.people:
                if person.role != "importer":
                    conn.execute(text(f'ALTER ROLE "{person.login}" SET statement_timeout = '  # sql-safe: our names
                                      f"'{PEOPLE_STATEMENT_TIMEOUT}'"))
    finally:
        server.dispose()


def server_audit(force: Force) -> bool:
    """Turn on the server's own audit of every read and write (pgAudit, as
    the README's PostgreSQL deployment section sets it) for the load
    database, when the server preloads it; whether it is on."""
    server = create_engine(force.url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            preload = str(conn.execute(text("SHOW shared_preload_libraries")).scalar() or "")
            if "pgaudit" not in preload:
                return False
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pgaudit"))
            name = make_url(force.url).database
            conn.execute(text(f"ALTER DATABASE \"{name}\" SET pgaudit.log = 'read, write'"))  # sql-safe
            return True
    finally:
        server.dispose()


def _overnight_screening(force: Force, progress: Progress) -> None:
    """The overnight full screening run, once, as an analyst: the morning's
    runs are then incremental, as a force's are."""
    from app.services.context import open_context
    from app.services.screening import run_screening
    from app.services.screening_queue import last_run
    from app.settings import Settings

    url = force.url_of(force.analysts()[0].login)
    database = Database(url)
    try:
        ctx = open_context(Settings(database_url=url), database=database, migrate=False)
        if last_run(ctx) is None:
            progress("the overnight screening run (full, once)")
            run_screening(ctx, full=True)
    finally:
        database.dispose()


def overnight_agendas(force: Force, progress: Progress) -> tuple[float, dict[str, int]]:
    """The overnight preparation of every area's agenda for the morning's
    meeting, as the import's overnight run does it (``vigil import
    --prepare-dmm``), as an analyst; the seconds it took and each area's
    agenda size. Done before every window: each window is a morning after
    the night's preparation."""
    from app.services.context import open_context
    from app.services.dmm import current_meeting_date, prepare_queue
    from app.settings import Settings

    url = force.url_of(force.analysts()[0].login)
    database = Database(url)
    try:
        ctx = open_context(Settings(database_url=url), database=database, migrate=False)
        meeting = current_meeting_date(ctx)
        progress(f"the overnight preparation of every area's agenda for {meeting:%d/%m/%Y}")
        begin = time.perf_counter()
        sizes = {area: prepare_queue(ctx, area=area, meeting_date=meeting).total
                 for area in _areas()}
        return time.perf_counter() - begin, sizes
    finally:
        database.dispose()


def _make_live(database: Database) -> None:
    """Turn the generated force into a live database, as the server's
    administrator: the generator writes its past meetings as no person, which
    a live database's triggers refuse, so the force is generated synthetic and
    then marked live, given the shipped policy as version 1, and its live
    defences (triggers, row-level security, grants) installed again."""
    from app.services import policy_store
    from models import AppMeta

    with database.write() as session:
        for key in (DATABASE_KIND_KEY, CREATED_AS_KEY):
            row = session.get(AppMeta, key)
            if row is not None:
                row.value = LIVE
        policy_store.store_defaults(session, set_by="vigil db upgrade", set_at=datetime.now(UTC))
    database.upgrade(repair=True)


def _export(force: Force, folder: Path) -> None:
    import shutil

    import tui

    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    analyst = force.analysts()[0].login
    code = tui.main(["--db", force.url_of(analyst), "export", "cases", "--purpose",
                     "overnight RMS extract for the morning load test", "-o", f"{folder}/"])
    if code != 0:
        raise BadInput(f"export of the load force's extract failed (exit {code})")


def drop_force(admin_url: str, cases: int, *, database_name: str | None = None,
               engine: Any = None) -> None:
    """Drop the load database and its people's logins (nothing else)."""
    name = database_name or database_name_for(cases)
    server = engine or create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))  # sql-safe
            for login in [_admin_login(name), *(p.login for p in _people(name))]:
                conn.execute(text(f'DROP ROLE IF EXISTS "{login}"'))  # sql-safe: our names
    finally:
        if engine is None:
            server.dispose()
    if engine is None:  # dropping for good, not starting again
        import shutil

        shutil.rmtree(extract_folder(name), ignore_errors=True)


# --- one person's session (a process of its own) -------------------------------------------

@dataclass
class Tally:
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0

    def timed(self, operation: str, fn: Callable[[], Any]) -> Any:
        begin = time.perf_counter()
        try:
            result = fn()
        except ConflictError:
            self.samples.setdefault(operation, []).append(time.perf_counter() - begin)
            self.conflicts += 1
            return None
        except Exception as exc:  # every failure is counted and named
            self.errors.append(f"{operation}: {type(exc).__name__}: {str(exc)[:300]}")
            return None
        self.samples.setdefault(operation, []).append(time.perf_counter() - begin)
        return result


def _pause(rng: random.Random, span: tuple[float, float], deadline: float) -> None:
    """Sleep a random time within ``span``, never past ``deadline``."""
    time.sleep(max(0.0, min(rng.uniform(*span), deadline - time.monotonic())))


def _think(rng: random.Random, span: tuple[float, float], closed: bool,
           deadline: float) -> bool:
    """A person's pause between actions (none in the closed loop); whether
    the window is still open after it. A pause the window's end cut short
    ends the session: everyone acting at the instant the window closes is a
    crowd the harness made, not a morning's."""
    if not closed:
        _pause(rng, span, deadline)
    return time.monotonic() < deadline


def _supervisor(ctx: Any, person: Person, tally: Tally, rng: random.Random, closed: bool,
                deadline: float) -> None:
    from app.services.cases import open_case
    from app.services.dmm import build_queue, current_meeting_date, record_decision

    area = str(person.area)
    meeting = current_meeting_date(ctx)

    def read(audit: bool) -> Any:
        """The page as the DMM screen reads it, then (as the screen does
        behind the rows) the full build the queue says is due."""
        queue = tally.timed("dmm_open" if audit else "dmm_refresh", lambda: build_queue(
            ctx, area=area, meeting_date=meeting, audit=audit, limit=50, defer_full=True))
        if queue is not None and queue.full_refresh_due:
            queue = tally.timed("dmm_rebuild", lambda: build_queue(
                ctx, area=area, meeting_date=meeting, audit=False, limit=50)) or queue
        return queue

    queue = read(True)
    first = [0.5, 0.9]  # done even past the window: every kind is measured at least once
    while first or time.monotonic() < deadline:
        if not _think(rng, SUPERVISOR_THINK, closed, deadline) and not first:
            break
        items = list(queue.items) if queue is not None else []
        # the morning starts with the top item decided and a case opened
        choice = first.pop(0) if first else rng.random()
        if queue is None or choice < 0.1:
            queue = read(True) or queue
        elif choice < 0.45:
            queue = read(False) or queue
        elif choice < 0.75 and items:
            undecided = [item for item in items if item.decision is None] or items
            item = undecided[0]  # both supervisors of the area take the same case
            tally.timed("decide", lambda item=item: record_decision(
                ctx, area=area, meeting_date=meeting, crime_ref=item.crime_ref,
                decision="no_further_action",
                rationale="Reviewed at the morning meeting: risk managed, no further action",
                expected_version=item.case_version))
            # after a decision (or "changed by someone else") the page is read again
            queue = read(False) or queue
        elif items:
            ref = rng.choice(items).crime_ref
            tally.timed("case_open", lambda ref=ref: open_case(ctx, crime_ref=ref))


def _analyst(ctx: Any, person: Person, tally: Tally, rng: random.Random, closed: bool,
             deadline: float) -> None:
    from app.services.screening import run_screening
    from app.services.search import CaseSearch, search_cases

    areas = _areas()
    risks = (None, "high", "medium", "standard", "unassessed")
    # the first analyst starts with a search and a screening run (every kind is
    # measured even in a short window); then one action in twenty is a run
    first = [0.5, 0.0] if person.login.endswith(".analyst.1") else []
    while first or time.monotonic() < deadline:
        if (first.pop(0) if first else rng.random()) < SCREENING_SHARE:
            tally.timed("screening", lambda: run_screening(ctx))
        else:
            criteria = CaseSearch(area=rng.choice(areas), risk=rng.choice(risks),
                                  status=rng.choice((None, "open")), page_size=50)
            tally.timed("search", lambda criteria=criteria: search_cases(ctx, criteria))
        _think(rng, ANALYST_THINK, closed, deadline)


def _importer(ctx: Any, folder: Path, tally: Tally, deadline: float) -> None:
    from app.services.rms_import import import_extract

    def one() -> Any:
        result = import_extract(ctx, folder=folder)
        if not result.ok:
            raise BadInput(f"the extract was refused ({result.error_count} problems): "
                           f"{'; '.join(result.errors[:3])}")
        return result

    while time.monotonic() < deadline:
        tally.timed("import", one)


def low_priority() -> None:
    """Run this process at the batch job's CPU priority (``IMPORT_NICENESS``):
    the people's sessions come first, the import's own Python (reading and
    checking the extract, most of its CPU) takes what they leave. Its server
    backend keeps its priority: it takes the audit log's chain lock when it
    commits, and a starved holder would make every person's audited action
    wait."""
    import os

    os.nice(IMPORT_NICENESS - os.nice(0))


def _arrive(rng: random.Random, person: Person, deadline: float) -> None:
    """Wait for the person's arrival within the window (``ARRIVAL``; the
    import, a batch job already running, starts at once)."""
    span = ARRIVAL.get(person.role)
    if span is not None:
        _pause(rng, span, deadline)


def _session(url: str, person: Person, folder: str, closed: bool, together: bool,
             seconds: float, seed: int, barrier: Any, results: Any) -> None:
    """One person: log on with their own login, wait for everyone, work until
    the window closes, hand back the tally."""
    from app.services.context import open_context
    from app.settings import Settings

    tally = Tally()
    # the app's modules are loaded when a person has logged on, before their first action
    import app.services.cases
    import app.services.dmm
    import app.services.rms_import
    import app.services.screening
    import app.services.search  # noqa: F401

    try:
        database = Database(url)
        if person.role == "importer":
            low_priority()
        ctx = open_context(Settings(database_url=url), database=database, migrate=False)
    except Exception as exc:
        tally.errors.append(f"logon: {type(exc).__name__}: {str(exc)[:300]}")
        barrier.abort()
        results.put((person.login, tally))
        return
    try:
        barrier.wait(timeout=300)
        deadline = time.monotonic() + seconds
        rng = random.Random(f"{seed}:{person.login}")
        if not closed and not together:
            _arrive(rng, person, deadline)
        if person.role == "supervisor":
            _supervisor(ctx, person, tally, rng, closed, deadline)
        elif person.role == "analyst":
            _analyst(ctx, person, tally, rng, closed, deadline)
        else:
            _importer(ctx, Path(folder), tally, deadline)
    except Exception as exc:
        tally.errors.append(f"session: {type(exc).__name__}: {exc}; "
                            f"{traceback.format_exc(limit=3)[-300:]}")
    finally:
        database.dispose()
    results.put((person.login, tally))


def choose_people(force: Force, sessions: int,
                  agenda_sizes: dict[str, int] | None = None) -> list[Person]:
    """``sessions`` people: a supervisor and an analyst, then the other
    supervisors (two per area, who contend), then more analysts; plus the
    importer. 30 sessions: 12 supervisors and 18 analysts. Areas come
    busiest agenda first (``agenda_sizes``), so a small run's supervisor has
    a meeting to work through whatever the day: on a small force an area's
    agenda can be empty on a quiet morning."""
    supervisors, analysts = force.supervisors(), force.analysts()
    if agenda_sizes:
        sizes = agenda_sizes
        supervisors = sorted(supervisors, key=lambda p: -sizes.get(str(p.area), 0))
    order = [supervisors[0], analysts[0], *supervisors[1:], *analysts[1:]]
    if not 1 <= sessions <= len(order):
        raise BadInput(f"--sessions {sessions}: from 1 to {len(order)}")
    return [*order[:sessions], force.importer()]


def run_window(force: Force, sessions: int, seconds: float, *, closed: bool,
               together: bool = False, seed: int = SEED,
               agenda_sizes: dict[str, int] | None = None) -> dict[str, Any]:
    """Run ``sessions`` people and the import for ``seconds``; the figures.
    ``together``: every first action at the window's first instant (with
    think time; the closed loop always starts so)."""
    people = choose_people(force, sessions, agenda_sizes)
    mp = multiprocessing.get_context("fork")
    barrier = mp.Barrier(len(people))
    results = mp.Queue()
    processes = [mp.Process(target=_session, daemon=True, args=(
        force.url_of(person.login), person, str(force.extract), closed, together, seconds,
        seed, barrier, results)) for person in people]
    load_before = _loadavg()
    begin = time.monotonic()
    for process in processes:
        process.start()
    tallies: dict[str, Tally] = {}
    while len(tallies) < len(processes):
        login, tally = results.get(timeout=seconds + 1800)
        tallies[login] = tally
    for process in processes:
        process.join(timeout=60)
    elapsed = time.monotonic() - begin
    return summarise(tallies, people, sessions, seconds, closed, load_before, elapsed,
                     together=together)


def _loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def _pct(samples: list[float], q: float) -> float:
    if len(samples) == 1:
        return round(samples[0] * 1000, 1)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return round(cuts[int(q) - 1] * 1000, 1)


def summarise(tallies: dict[str, Tally], people: list[Person], sessions: int, seconds: float,
              closed: bool, load_before: list[float], elapsed: float, *,
              together: bool = False) -> dict[str, Any]:
    merged: dict[str, list[float]] = {}
    errors: list[str] = []
    conflicts = 0
    for tally in tallies.values():
        for op, samples in tally.samples.items():
            merged.setdefault(op, []).extend(samples)
        errors += tally.errors
        conflicts += tally.conflicts
    operations = []
    for op in OPERATIONS:
        samples = merged.get(op, [])
        if not samples:
            operations.append({"operation": op, "count": 0})
            continue
        operations.append({
            "operation": op, "count": len(samples),
            "per_second": round(len(samples) / seconds, 2),
            "p50_ms": _pct(samples, 50), "p95_ms": _pct(samples, 95),
            "p99_ms": _pct(samples, 99), "max_ms": round(max(samples) * 1000, 1),
        })
    people_ops = sum(len(s) for op, s in merged.items() if op != "import")
    return {
        "mode": ("closed-loop" if closed else
                 "think time, every first action at one instant" if together else
                 "think time, arrivals over the first think span"),
        "sessions": sessions,
        "roles": {role: sum(1 for p in people if p.role == role)
                  for role in ("supervisor", "analyst", "importer")},
        "seconds": seconds,
        "elapsed_seconds": round(elapsed, 1),
        "throughput_per_second": round(people_ops / seconds, 2),
        "operations": operations,
        "errors": len(errors),
        "error_messages": errors[:20],
        "conflicts": conflicts,
        "load_average_before": load_before,
        "load_average_after": _loadavg(),
    }


def run_load(admin_url: str, *, cases: int, sessions: int, seconds: float, closed: bool,
             steps: list[int] | None, progress: Progress, together: bool = False,
             database_name: str | None = None) -> dict[str, Any]:
    """Prepare the force, then one window with think time (``together``:
    every first action at one instant), or (closed loop) one window per
    session count of ``steps``."""
    force = prepare_force(admin_url, cases, progress, database_name=database_name)
    audited = server_audit(force)
    people_limits(force)
    windows = []
    counts = (steps or [sessions]) if closed else [sessions]
    for count in counts:
        prepared, sizes = overnight_agendas(force, progress)
        progress(f"{count} sessions, {'closed loop' if closed else 'think time'}, {seconds:g} s")
        window = run_window(force, count, seconds, closed=closed, together=together,
                            agenda_sizes=sizes)
        window["agenda_sizes"] = sizes
        window["agendas_prepared_seconds"] = round(prepared, 1)
        windows.append(window)
    return {"cases": cases, "database": make_url(force.url).render_as_string(hide_password=True),
            "processes": "one process per session, each with its own engine",
            "cpus": multiprocessing.cpu_count(), "server_audit": audited,
            "import_niceness": IMPORT_NICENESS,
            "people_statement_timeout": PEOPLE_STATEMENT_TIMEOUT, "windows": windows}


def render_table(result: dict[str, Any]) -> str:
    lines = [f"Morning load on {result['database']} ({result['cases']:,} cases, "
             f"{result['cpus']} CPUs; {result['processes']}; server audit (pgAudit) "
             f"{'on' if result.get('server_audit') else 'not available'}; the import at nice "
             f"{result.get('import_niceness', 0)}; people's statement_timeout "
             f"{result.get('people_statement_timeout', 'none')})"]
    for window in result["windows"]:
        roles = window["roles"]
        lines.append("")
        lines.append(f"{window['mode']}: {window['sessions']} sessions ({roles['supervisor']} "
                     f"supervisors, {roles['analyst']} analysts) + {roles['importer']} import, "
                     f"{window['seconds']:g} s; load average before "
                     f"{' '.join(f'{x:.2f}' for x in window['load_average_before'])}, after "
                     f"{' '.join(f'{x:.2f}' for x in window['load_average_after'])}; agendas "
                     f"prepared overnight in {window.get('agendas_prepared_seconds', 0):g} s")
        lines.append(f"{'operation':<12} {'count':>7} {'per s':>7} {'p50 ms':>9} "
                     f"{'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}")
        for row in window["operations"]:
            if not row["count"]:
                lines.append(f"{row['operation']:<12} {0:>7}")
                continue
            lines.append(f"{row['operation']:<12} {row['count']:>7} {row['per_second']:>7.2f} "
                         f"{row['p50_ms']:>9.1f} {row['p95_ms']:>9.1f} {row['p99_ms']:>9.1f} "
                         f"{row['max_ms']:>9.1f}")
        lines.append(f"throughput {window['throughput_per_second']:.2f} operations/s (people); "
                     f"errors {window['errors']}; conflicts {window['conflicts']}")
        lines += [f"  error: {message}" for message in window["error_messages"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the PostgreSQL server's administrator URL")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--closed-loop", action="store_true")
    parser.add_argument("--together", action="store_true",
                        help="every person's first action at the same instant")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args(argv)
    result = run_load(args.db, cases=args.cases, sessions=args.sessions, seconds=args.seconds,
                      closed=args.closed_loop, steps=None, together=args.together,
                      progress=lambda s: print(f"load: {s}", file=sys.stderr))
    print(json.dumps(result, indent=2) if args.format == "json" else render_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
