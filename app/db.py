"""Engines, sessions and migrations for SQLite (embedded) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on, a busy timeout, and
``BEGIN IMMEDIATE`` for write transactions so two writers queue instead of
failing with "database is locked" half way through. PostgreSQL runs with JIT
off: the product's queries are short and JIT made them slower.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from app.errors import DatabaseBusy, DatabaseKindMismatch, DatabaseUnavailable
from models import AppMeta
from models.migrations import HEAD_REVISION

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "models" / "migrations"

_BEGIN = {
    "DEFERRED": "BEGIN DEFERRED",
    "IMMEDIATE": "BEGIN IMMEDIATE",
}

DATABASE_KIND_KEY = "database_kind"
TRAINING = "training"
LIVE = "live"


# How long a SQLite write waits for another writer before giving up.
BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")  # sql-safe: an int
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(_BEGIN[mode])


def _is_busy(exc: OperationalError) -> bool:
    text_of = str(exc.orig or exc).lower()
    return "database is locked" in text_of or "database is busy" in text_of


def create_vigil_engine(url: str, *, echo: bool = False,
                        busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``url`` with the product's connection settings."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            f"database URL {url!r} cannot be read: expected e.g. sqlite:///vigil.db "
            "or postgresql+psycopg://user:password@host/db"
        ) from None
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                folder = Path(parsed.database).expanduser().resolve().parent
                if not folder.is_dir():
                    raise DatabaseUnavailable(f"database URL {url!r}: folder {folder} does not exist")
            engine = create_engine(parsed, echo=echo, connect_args={"timeout": 30})
            _configure_sqlite(engine, busy_timeout_ms)
            return engine
        if backend == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            return create_engine(
                parsed,
                echo=echo,
                pool_pre_ping=True,
                connect_args={"options": "-c jit=off"},
            )
    except NoSuchModuleError:
        pass
    raise DatabaseUnavailable(
        f"database URL {url!r}: only sqlite:/// and postgresql+psycopg:// are supported"
    )


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic is imported only to migrate

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


@dataclass
class Database:
    """One database: its engine, a write engine, sessions and migrations."""

    url: str
    busy_timeout_ms: int = BUSY_TIMEOUT_MS
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = create_vigil_engine(self.url, busy_timeout_ms=self.busy_timeout_ms)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def write_engine(self) -> Engine:
        if self.dialect == "sqlite":
            return self.engine.execution_options(sqlite_begin="IMMEDIATE")
        return self.engine

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; no commit."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on error.
        A write that waited the whole busy timeout for another (SQLite has one
        writer at a time) is rolled back and reported as :class:`DatabaseBusy`."""
        with Session(self.write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                if _is_busy(exc):
                    raise DatabaseBusy(
                        f"{self.safe_url} is busy with another long write; nothing was saved. "
                        "Try again in a minute (an RMS import holds it while it runs)."
                    ) from None
                raise
            except BaseException:
                session.rollback()
                raise

    def check_reachable(self) -> None:
        try:
            with self.engine.connect():
                pass
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailable(f"cannot open database {self.safe_url}: {reason}") from None

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def schema_revision(self) -> str | None:
        """The migration the schema is at (None: not migrated)."""
        if not self.is_migrated():
            return None
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent). A schema
        already at the newest one is left alone without loading Alembic, which
        would add a third of a second to every start."""
        self.check_reachable()
        if self.schema_revision() == HEAD_REVISION:
            return
        from alembic import command

        config = alembic_config(self.engine)
        with self.write_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def refresh_statistics(self) -> None:
        """Refresh the query planner's statistics after a bulk load (a seed, an
        RMS import). PostgreSQL plans from them: without them its estimates
        for the recent-activity reads of the DMM queue are a third of the
        table and it scans the whole of it. SQLite keeps no statistics unless
        asked and plans these queries from the indexes alone; it is left so."""
        if self.dialect != "postgresql":
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()

    def is_migrated(self) -> bool:
        try:
            return inspect(self.engine).has_table("alembic_version")
        except OperationalError:
            return False

    # --- training / live marking ---------------------------------------
    def database_kind(self) -> str | None:
        with self.read() as session:
            row = session.get(AppMeta, DATABASE_KIND_KEY)
            return row.value if row else None

    def mark_kind(self, kind: str) -> None:
        with self.write() as session:
            row = session.get(AppMeta, DATABASE_KIND_KEY)
            if row is None:
                session.add(AppMeta(key=DATABASE_KIND_KEY, value=kind))
            elif row.value != kind:
                raise DatabaseKindMismatch(
                    f"{self.safe_url} is a {row.value} database and cannot be marked {kind}"
                )

    def require_kind(self, kind: str) -> None:
        """Refuse to open a training database as live, or a live one as training."""
        current = self.database_kind()
        if current is None:
            self.mark_kind(kind)
        elif current != kind:
            if current == TRAINING:
                raise DatabaseKindMismatch(
                    f"{self.safe_url} is a TRAINING database of synthetic data: "
                    "open it with `vigil demo`, never as a live database"
                )
            raise DatabaseKindMismatch(
                f"{self.safe_url} is a LIVE database: training and demonstrations "
                "never run on live data (use `vigil demo`)"
            )

    def meta(self, key: str) -> str | None:
        with self.read() as session:
            row = session.exec(select(AppMeta).where(AppMeta.key == key)).first()
            return row[0].value if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as session:
            row = session.get(AppMeta, key)
            if row is None:
                session.add(AppMeta(key=key, value=value))
            else:
                row.value = value

    def backup(self, target: Path) -> None:
        """A consistent online copy (SQLite backup API)."""
        if self.dialect != "sqlite":
            raise DatabaseUnavailable(
                "online backup of PostgreSQL is done with pg_dump, e.g. "
                "`pg_dump --format=custom --file vigil.dump DBNAME` (see README)"
            )
        target = Path(target)
        if not target.parent.is_dir():
            raise DatabaseUnavailable(f"backup folder {target.parent} does not exist")
        source_path = self.engine.url.database
        with sqlite3.connect(source_path) as source, sqlite3.connect(target) as dest:
            source.backup(dest)
        dest.close()

    def dispose(self) -> None:
        self.engine.dispose()


def null_pool_engine(url: str) -> Engine:
    """An engine without pooling, for short-lived helper processes."""
    return create_engine(url, poolclass=NullPool)
