"""`vigil demo [--reset] [--role ROLE] [--scenario NAME | --list] [--web]`: the training database of synthetic data.

The first run creates the training database (``training.db`` in the data
folder unless ``--db``), marks it training, seeds 5,000 synthetic crimes with
seed 1 at a fixed "demo now" and opens the app as the trainer. The demo now is
the last weekday 08:15 Europe/London (a DMM morning) at the first run; it is
kept in the database (``app_meta`` key ``demo_now``) and reused on later runs
so the story stays the same. ``--now`` overrides it for one session (and, on
the first run, seeds at that time).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from app.cli.base import CliEnv, add_confirm_option, confirm_reset, working
from app.dates import LONDON, DateError, parse_datetime
from app.db import TRAINING, Database
from app.errors import BadInput, DatabaseKindMismatch
from app.services.context import open_context
from app.services.screening import run_screening
from app.settings import Settings, training_database_url
from seed.generator import existing_cases, generate, reset_database
from seed.scenarios import Scenario, get_scenario, load_scenario, scenarios

HELP = "open the training database of synthetic data (created and seeded on first use)"

DEMO_DATABASE_ENV = "VIGIL_DEMO_DATABASE_URL"
DEMO_CASES = 5_000
DEMO_SEED = 1
DEMO_NOW_KEY = "demo_now"
DEMO_TIME = time(8, 15)
ROLES = ("supervisor", "analyst", "officer", "auditor")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reset", action="store_true",
                        help="empty the training database and seed it again (with --db: asks "
                        "for the database's name, or give --yes NAME)")
    add_confirm_option(parser)
    parser.add_argument("--role", choices=ROLES, default=None,
                        help="the role the trainer demonstrates (default: the scenario's, "
                        "else supervisor)")
    parser.add_argument("--scenario", metavar="NAME",
                        help="reset the training database to a scenario (see --list)")
    parser.add_argument("--list", action="store_true", help="describe the scenarios and exit")
    parser.add_argument("--web", action="store_true",
                        help="serve the demo in a web browser on 127.0.0.1 instead of the terminal")
    parser.add_argument("--host", default="127.0.0.1", help="with --web: address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="with --web: port (default 8000)")


def demo_moment(moment: datetime) -> datetime:
    """The last weekday 08:15 Europe/London at or before ``moment`` (aware UTC)."""
    local = moment.astimezone(LONDON)
    day = local.date()
    while True:
        candidate = datetime.combine(day, DEMO_TIME, tzinfo=LONDON)
        if candidate.weekday() < 5 and candidate <= local:
            return candidate.astimezone(UTC)
        day -= timedelta(days=1)


def demo_settings(env: CliEnv, *, role: str | None = None) -> Settings:
    """Settings for the demo: the training database unless ``--db`` names one
    (``VIGIL_DATABASE_URL`` is ignored: it may point at live data)."""
    settings = env.settings(training=True, demo_role=role)
    if not env.option("db"):
        # the browser sessions of `vigil demo --web` get the database this way,
        # never on their command line
        served = os.environ.get(DEMO_DATABASE_ENV)
        settings = settings.with_(database_url=served or training_database_url())
    return settings


def prepare_training_database(settings: Settings, *, database: Database | None = None,
                              reset: bool = False,
                              progress: Callable[[int], None] | None = None,
                              announce: Callable[[str], None] | None = None,
                              ) -> tuple[Database, datetime]:
    """Create or reuse the training database of ``settings`` and return it with
    the moment the demo runs at.

    A live database is refused (and never reset). An empty database is marked
    training and seeded with 5,000 cases (seed 1) at the demo now, which is
    stored for later runs. ``settings.now`` (``--now``) overrides the stored
    moment.
    """
    db = database or Database(settings.database_url)
    db.check_reachable()
    require_training(db)
    if reset and db.is_migrated():
        reset_database(db)
    else:
        db.upgrade(create_as=TRAINING)
    stored = db.meta(DEMO_NOW_KEY)
    stored_at = _parse_stored(stored)
    if existing_cases(db):
        when = settings.now or stored_at or demo_moment(datetime.now(UTC))
        if stored_at is None:
            db.set_meta(DEMO_NOW_KEY, when.isoformat())
        return db, when
    when = settings.now or demo_moment(datetime.now(UTC))
    if announce:
        announce(f"creating the training database {db.safe_url}: {DEMO_CASES:,} synthetic "
                 f"cases (seed {DEMO_SEED}) at {when.astimezone(LONDON):%a %d/%m/%Y %H:%M}")
    generate(db, cases=DEMO_CASES, seed=DEMO_SEED, now=when, training=True, progress=progress)
    db.set_meta(DEMO_NOW_KEY, when.isoformat())
    # screened once, as the force's analysts would have, so the screening
    # screen opens on candidates rather than on "never run"
    analyst = settings.with_(now=when, username="trainer", training=True, demo_role="analyst")
    run_screening(open_context(analyst, database=db, migrate=False), full=True)
    return db, when


def require_training(database: Database) -> None:
    """Demonstrations run only on a new database or one created as training."""
    if not database.is_migrated():
        database.require_empty_or_vigil()
        return
    kind = database.database_kind()
    if kind == TRAINING:
        return
    label = f"a {kind.upper()}" if kind else "an unmarked"
    raise DatabaseKindMismatch(
        f"{database.safe_url} is {label} database: training and demonstrations run only on a "
        "database created as training (run `vigil demo` without --db to use the training "
        "database)")


def _parse_stored(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_datetime(text)
    except DateError:
        return None


SCENARIO_KEY = "scenario"


def list_scenarios() -> str:
    lines: list[str] = []
    for scenario in scenarios().values():
        lines.append(f"{scenario.name}: {scenario.title}")
        lines.append(f"  now {scenario.now.astimezone(LONDON):%a %d/%m/%Y %H:%M} · "
                     f"opens {scenario.start} as {scenario.role}")
        lines += [f"  {line}" for line in scenario.description.splitlines()]
        if scenario.key_moment:
            lines.append(f"  key moment: {scenario.key_moment}")
        lines.append("")
    return "\n".join(lines)


def prepare_scenario(settings: Settings, database: Database, name: str) -> Scenario:
    """Reset the training database to scenario ``name`` (deterministic)."""
    scenario = get_scenario(name)
    database.check_reachable()
    require_training(database)
    if database.is_migrated():
        reset_database(database)
    else:
        database.upgrade(create_as=TRAINING)
    load_scenario(database, scenario)
    database.set_meta(DEMO_NOW_KEY, scenario.now.isoformat())
    database.set_meta(SCENARIO_KEY, scenario.name)
    return scenario


def run(args: argparse.Namespace, env: CliEnv) -> int:
    if args.list:
        env.emit(list_scenarios())
        return 0
    settings = demo_settings(env, role=args.role)
    database = env.database(settings)
    start: str | None = None  # the role's landing section
    area: str | None = None  # the scenario's area, else the role's own
    role = args.role or "supervisor"
    if (args.scenario or args.reset) and env.option("db") and database.is_migrated():
        require_training(database)
        database.require_resettable()
        what = f"vigil demo --scenario {args.scenario}" if args.scenario else "vigil demo --reset"
        confirm_reset(database, args.yes, what)
    if args.scenario:
        scenario = prepare_scenario(settings, database, args.scenario)
        when, start, role = settings.now or scenario.now, scenario.start, args.role or scenario.role
        area = scenario.area
        print(f"vigil: training database reset to scenario {scenario.name}: {scenario.title}",
              file=sys.stderr)
    else:
        with working("creating the training database", total=DEMO_CASES) as progress:
            database, when = prepare_training_database(
                settings, database=database, reset=args.reset,
                progress=lambda done: progress(done),
                announce=lambda text: print(f"vigil: {text}", file=sys.stderr))
        scenario_name = database.meta(SCENARIO_KEY)
        if scenario_name and scenario_name in scenarios():
            start = scenarios()[scenario_name].start
            area = scenarios()[scenario_name].area
            role = args.role or scenarios()[scenario_name].role
    if args.web:
        if not 0 < args.port < 65536:
            raise BadInput(f"--port {args.port}: not a port number")
        from app.web import serve

        argv = ["demo", "--role", role]  # the database through the environment
        if env.option("user"):
            argv += ["--user", env.option("user")]  # type: ignore[list-item]
        if env.option("now"):
            argv += ["--now", env.option("now")]  # type: ignore[list-item]
        print(f"vigil: serving the training demo on http://{args.host}:{args.port}/",
              file=sys.stderr)
        serve(argv, host=args.host, port=args.port, title="Vigil — TRAINING",
              environment={DEMO_DATABASE_ENV: database.url})
        return 0
    session = settings.with_(now=when, username=env.option("user") or "trainer",
                             training=True, demo_role=role)
    context = open_context(session, database=database, migrate=False)
    from app.cli.open_tui import run_app

    return run_app(context, start=start, area=area)
