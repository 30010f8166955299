"""pgAudit on a live database: every read a person makes is logged by the
server with their login (README, PostgreSQL deployment).

Needs a server started with ``shared_preload_libraries = pgaudit`` and a
``log_line_prefix`` holding ``%u@%d``, whose log file is named by
``VIGIL_TEST_POSTGRES_LOG`` (CI's server is started so). Elsewhere it is
skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db import LIVE, Database
from app.services import search, users
from app.services.context import open_context
from app.services.search import CaseSearch
from app.services.users import create_first_admin
from app.settings import Settings

pytestmark = pytest.mark.postgres

LOG_ENV = "VIGIL_TEST_POSTGRES_LOG"


def _server_ready(database: Database) -> Path:
    log = os.environ.get(LOG_ENV)
    with database.engine.connect() as conn:
        preload = conn.execute(text("SHOW shared_preload_libraries")).scalar() or ""
        prefix = conn.execute(text("SHOW log_line_prefix")).scalar() or ""
    ready = log and "pgaudit" in preload and "%u@%d" in prefix
    if not ready:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI's PostgreSQL must preload pgaudit, log %u@%d and name its log in {LOG_ENV}")
        pytest.skip("the PostgreSQL server does not preload pgaudit (or its log is not named)")
    return Path(log)  # type: ignore[arg-type]


def test_pgaudit_logs_a_persons_reads_with_their_login(make_live_database) -> None:  # type: ignore[no-untyped-def]
    database: Database = make_live_database("postgresql")
    log = _server_ready(database)
    name = database.engine.url.database
    with database.engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pgaudit")
        conn.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET pgaudit.log = 'read, write'")
    tag = name.rsplit("_", 1)[-1][:8]
    admin = create_first_admin(database, f"pa{tag}.admin", "Admin", LIVE)
    person = f"pa{tag}.sup"
    logins = [admin, person]
    try:
        def as_login(login: str) -> Database:
            from sqlalchemy.engine import make_url

            return Database(make_url(database.url).set(username=login, password=None)
                            .render_as_string(hide_password=False))

        admin_db = as_login(admin)
        users.add_user(open_context(Settings(database_url=admin_db.url), database=admin_db,
                                    migrate=False),
                       username=person, display_name="PS", role="supervisor", area="Northern")
        admin_db.dispose()
        person_db = as_login(person)
        start = log.stat().st_size
        search.search_cases(open_context(Settings(database_url=person_db.url),
                                         database=person_db, migrate=False), CaseSearch())
        person_db.dispose()
        with log.open(encoding="utf-8", errors="replace") as handle:
            handle.seek(start)
            lines = handle.read().splitlines()
        reads = [line for line in lines
                 if f"{person}@{name}" in line and "AUDIT: SESSION" in line and ",READ," in line]
        assert any("crime_case" in line for line in reads), lines[-20:]
    finally:
        with database.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for login in logins:
                conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{login}"')
