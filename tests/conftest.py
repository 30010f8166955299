"""Fixtures: a migrated database on SQLite and PostgreSQL, service contexts
for each synthetic user, and a fixed clock.

Test databases are created SYNTHETIC (app.db): they behave as live (no
training banner, trainers refused) but take named users, a fixed clock and a
policy file, which is how tests set identity (``make_context("analyst")``).
``make_context(..., training=True)`` makes the copy a training database. A
true live database, where all three are refused, comes from
``make_live_database`` (tests of the refusals and of the PostgreSQL roles).

PostgreSQL tests need ``VIGIL_TEST_POSTGRES_URL`` (a server URL whose user may
create databases). Without it they are skipped locally; under CI (``CI=true``)
a missing server is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.clock import Clock
from app.db import DATABASE_KIND_KEY, LIVE, SYNTHETIC, TRAINING, Database
from app.policy import Policy, default_policy
from app.services.context import ServiceContext, open_context
from app.settings import Settings
from seed.reference import install_reference
from seed.users import install_users

# Monday 2 March 2026, 08:00 London (GMT): a DMM morning.
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

PG_ENV = "VIGIL_TEST_POSTGRES_URL"
ENGINES = ("sqlite", "postgresql")


def _prepare(database: Database, kind: str = SYNTHETIC) -> None:
    database.upgrade(create_as=kind)
    with database.write() as session:
        install_reference(session)
        install_users(session)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    _prepare(database)
    database.dispose()
    return path


def _pg_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url and os.environ.get("CI") == "true":
        pytest.fail(f"{PG_ENV} is not set: PostgreSQL tests must run in CI")
    return url


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    url = _pg_admin_url()
    if not url:
        yield None
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"vigil_template_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    template_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    database = Database(template_url)
    _prepare(database)
    database.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _new_database(engine: str, tmp_path: Path, sqlite_template: Path,
                  pg_template: str | None) -> Iterator[Database]:
    if engine == "sqlite":
        path = tmp_path / "vigil.db"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite:///{path}")
        yield database
        database.dispose()
        return
    if pg_template is None:
        pytest.skip(f"PostgreSQL: set {PG_ENV} to run")
    admin_url = os.environ[PG_ENV]
    name = f"vigil_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    database = Database(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    yield database
    database.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path,
             pg_template: str | None) -> Iterator[Database]:
    """A migrated database with reference data and the synthetic users, on
    each engine in turn."""
    yield from _new_database(request.param, tmp_path, sqlite_template, pg_template)


@pytest.fixture
def postgres_database(tmp_path: Path, sqlite_template: Path,
                      pg_template: str | None) -> Iterator[Database]:
    """A migrated PostgreSQL database, for behaviour only PostgreSQL has."""
    yield from _new_database("postgresql", tmp_path, sqlite_template, pg_template)


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """The same, on SQLite only (screens, CLI, unit-level service checks)."""
    yield from _new_database("sqlite", tmp_path, sqlite_template, None)


@pytest.fixture
def policy() -> Policy:
    return default_policy()


ContextFactory = Callable[..., ServiceContext]


def _context_factory(database: Database) -> ContextFactory:
    def make(username: str = "supervisor.northern", *, now: datetime = NOW,
             training: bool = False, demo_role: str | None = None,
             policy_path: Path | None = None) -> ServiceContext:
        if training and database.database_kind() == SYNTHETIC:
            # a test copy of the synthetic template serves as a training database
            database.set_meta(DATABASE_KIND_KEY, TRAINING)
            database.set_meta("created_as", TRAINING)
        settings = Settings(database_url=database.url, username=username, now=now,
                            policy_path=policy_path, training=training, demo_role=demo_role)
        return open_context(settings, database=database, migrate=False)

    return make


@pytest.fixture
def make_context(database: Database) -> ContextFactory:
    """``make_context("analyst", now=...)`` on the parametrised database."""
    return _context_factory(database)


@pytest.fixture
def make_sqlite_context(sqlite_database: Database) -> ContextFactory:
    return _context_factory(sqlite_database)


LiveDatabaseFactory = Callable[[str], Database]


@pytest.fixture
def make_live_database(tmp_path: Path) -> Iterator[LiveDatabaseFactory]:
    """``make_live_database("sqlite")`` or ``("postgresql")``: a new, empty
    database created LIVE by the same path as `vigil db upgrade`, with the
    reference data (no users: tests add the ones they need)."""
    made: list[tuple[Database, str | None]] = []

    def make(engine: str) -> Database:
        if engine == "sqlite":
            database = Database(f"sqlite:///{tmp_path / f'live{len(made)}.db'}")
            name = None
        else:
            url = _pg_admin_url()
            if not url:
                pytest.skip(f"PostgreSQL: set {PG_ENV} to run")
            name = f"vigil_live_{uuid.uuid4().hex[:12]}"
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            database = Database(make_url(url).set(database=name).render_as_string(hide_password=False))
        database.upgrade(create_as=LIVE)
        with database.write() as session:
            install_reference(session)
        made.append((database, name))
        return database

    yield make
    for database, name in made:
        database.dispose()
        if name:
            admin = create_engine(os.environ[PG_ENV], isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture
def fixed_clock() -> Clock:
    return Clock.fixed(NOW)


FORCE_CASES = 20_000


@dataclass(frozen=True)
class SeededForce:
    database: Database


@pytest.fixture(scope="session")
def force_20k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededForce]:
    """A 20,000-case synthetic force (seed 1, at NOW), seeded once per test
    session and shared: the calibration tests read it (marked ``force20k``)."""
    from seed.generator import generate

    path = tmp_path_factory.mktemp("force20k") / "force.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade(create_as=SYNTHETIC)
    generate(database, cases=FORCE_CASES, seed=1, now=NOW)
    yield SeededForce(database)
    database.dispose()
