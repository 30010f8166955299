"""Identity, clock and policy on live databases; user administration; the
audit chain; resets only where they belong (both engines where they apply)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

import tui
from app.db import Database
from app.errors import BadInput, PermissionDenied
from app.services import audit_verify, policy_store, users
from app.services.context import open_context
from app.services.users import install_first_admin, normalise_username
from app.settings import Settings
from models import AuditEvent, Case, User
from tests.conftest import NOW

OS_USER = "host.admin"


@pytest.fixture
def os_user(monkeypatch: pytest.MonkeyPatch) -> str:
    """The operating-system user a live SQLite database believes."""
    monkeypatch.setenv("LOGNAME", OS_USER)
    return OS_USER


def _live_sqlite_with_admin(make_live_database) -> Database:  # type: ignore[no-untyped-def]
    database: Database = make_live_database("sqlite")
    with database.write() as session:
        install_first_admin(session, username=OS_USER, display_name="Host admin",
                            dialect="sqlite", live=True)
    return database


# --- item 0 / 7: what a live database believes ---------------------------------------------

@pytest.mark.parametrize("option", [["--user", "analyst"], ["--now", "2001-01-01T00:00:00Z"],
                                    ["--policy", "seed/policy.toml"]])
def test_live_sqlite_refuses_asserted_identity_clock_and_policy(
        make_live_database, os_user: str, option: list[str],  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture[str]) -> None:
    database = _live_sqlite_with_admin(make_live_database)
    assert tui.main(["users", "list", "--db", database.url, *option]) == 2
    err = capsys.readouterr().err
    assert "refused on the LIVE database" in err and option[0] in err
    # the same names through the environment
    variable = {"--user": "VIGIL_USER", "--now": "VIGIL_NOW", "--policy": "VIGIL_POLICY"}[option[0]]
    os.environ[variable] = option[1]
    try:
        assert tui.main(["users", "list", "--db", database.url]) == 2
    finally:
        del os.environ[variable]
    # without them the operating-system user is the identity
    assert tui.main(["users", "list", "--db", database.url]) == 0
    assert OS_USER in capsys.readouterr().out


def test_asserted_identity_accepted_on_training_synthetic_and_evaluation(
        make_context, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert make_context("analyst").actor.username == "analyst"  # synthetic test copy
    assert make_context("trainer", training=True).actor.real_role == "trainer"
    url = f"sqlite:///{tmp_path / 'eval.db'}"
    assert tui.main(["db", "upgrade", "--evaluation", "--admin", "evaluator", "--db", url]) == 0
    assert tui.main(["users", "list", "--db", url, "--user", "evaluator",
                     "--now", "2026-03-02T08:00:00Z", "--policy", "seed/policy.toml"]) == 0
    err = capsys.readouterr().err
    assert "EVALUATION database" in err
    assert tui.main(["users", "add", "ana", "--name", "Analyst", "--role", "analyst",
                     "--db", url, "--user", "evaluator"]) == 0
    assert tui.main(["assurance", "--from", "2026-01-01", "--to", "2026-03-01", "--db", url,
                     "--user", "ana", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "EVALUATION (sample data, not live)" in out and '"evaluation": true' in out
    ctx = open_context(Settings(database_url=url, username="evaluator", now=NOW))
    assert ctx.kind == "evaluation" and ctx.now() == NOW and "EVALUATION" in ctx.describe()
    ctx.database.dispose()


def test_live_sqlite_file_is_private_and_a_world_readable_one_refused(
        make_live_database, os_user: str, tmp_path: Path,  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'force.db'}"
    (tmp_path / "new").mkdir()
    assert tui.main(["db", "upgrade", "--admin", OS_USER, "--db", url]) == 0
    path = tmp_path / "new" / "force.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert tui.main(["users", "list", "--db", url]) == 2
    assert "can be read by every user of this host" in capsys.readouterr().err
    path.chmod(0o600)
    assert tui.main(["users", "list", "--db", url]) == 0


def test_logons_and_refused_logons_are_audited_without_listing_users(
        make_live_database, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    database = _live_sqlite_with_admin(make_live_database)
    monkeypatch.setenv("LOGNAME", "stranger")
    with pytest.raises(BadInput) as refused:
        open_context(Settings(database_url=database.url), database=database, migrate=False)
    assert OS_USER not in str(refused.value) and "administrator" in str(refused.value)
    monkeypatch.setenv("LOGNAME", OS_USER)
    ctx = open_context(Settings(database_url=database.url), database=database, migrate=False)
    assert ctx.actor.username == OS_USER and ctx.policy_version == "1"
    with database.read() as session:
        events = session.execute(select(AuditEvent.username, AuditEvent.action, AuditEvent.entity)
                                 .where(AuditEvent.entity == "logon")
                                 .order_by(AuditEvent.id)).all()
    assert [tuple(e) for e in events] == [("stranger", "denied", "logon"),
                                          (OS_USER, "login", "logon")]


# --- item 3: administration is a role ------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("Supervisor.Northern", "supervisor.northern"), ("ＰＳ.Ｅxample", "ps.example"),
])
def test_usernames_are_normalised(raw: str, expected: str) -> None:
    assert normalise_username(raw) == expected


@pytest.mark.parametrize("raw", ["supervisor.northern ", "super\u200bvisor", "sup ervisor",
                                 "supеrvisor", "", "-x", "vigil_owner", "postgres"])
def test_lookalike_and_invisible_usernames_refused(raw: str) -> None:
    with pytest.raises(BadInput):
        normalise_username(raw)


def test_only_an_administrator_administers_users(make_context, database: Database) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        install_first_admin(session, username="it.admin", display_name="IT", dialect="sqlite",
                            live=False)
    for who in ("officer.northern", "supervisor.northern", "analyst", "auditor"):
        with pytest.raises(PermissionDenied):
            users.add_user(make_context(who), username="ps.new", display_name="PS New",
                           role="supervisor", area="Southern")
    admin = make_context("it.admin")
    with pytest.raises(BadInput, match="already exists"):
        users.add_user(admin, username="Supervisor.Northern", display_name="Lookalike",
                       role="supervisor", area="Northern")
    added = users.add_user(admin, username="PS.New", display_name="PS New", role="supervisor",
                           area="Southern")
    assert added.username == "ps.new"
    users.set_role(admin, username="ps.new", role="officer", area="Southern", reason="moved")
    users.deactivate_user(admin, username="ps.new", reason="left the force")
    with pytest.raises(BadInput, match="not an active Vigil user"):
        make_context("ps.new")
    with pytest.raises(BadInput, match="cannot deactivate themselves"):
        users.deactivate_user(admin, username="it.admin", reason="oops")
    with database.read() as session:
        actions = session.execute(select(AuditEvent.action).where(
            AuditEvent.entity == "user", AuditEvent.entity_id == "ps.new")).scalars().all()
        assert actions == ["create", "update", "update"]
        assert session.execute(select(User.active).where(User.username == "ps.new")).scalar() is False


def test_first_admin_only_once(database: Database) -> None:
    with database.write() as session:
        install_first_admin(session, username="it.admin", display_name="IT",
                            dialect=database.dialect, live=False)
    with database.write() as session, pytest.raises(BadInput, match="already has an administrator"):
        install_first_admin(session, username="it.admin2", display_name="IT",
                            dialect=database.dialect, live=False)


# --- item 4: the force's policy --------------------------------------------------------------

def test_policy_is_stored_versioned_and_set_only_by_an_administrator(
        make_context, database: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with database.write() as session:
        install_first_admin(session, username="it.admin", display_name="IT",
                            dialect=database.dialect, live=False)
    force = tmp_path / "force.toml"
    force.write_text("[risk]\nmedium_from_yes = 3\nhigh_from_yes = 7\n", encoding="utf-8")
    with pytest.raises(PermissionDenied):
        policy_store.set_policy(make_context("supervisor.northern"), path=str(force), note="mine")
    assert make_context("analyst").policy_version == "default"
    version = policy_store.set_policy(make_context("it.admin"), path=str(force),
                                      note="force thresholds")
    analyst = make_context("analyst")
    assert analyst.policy_version == str(version) and analyst.policy.risk.high_from_yes == 7
    with analyst.write() as session:
        analyst.audit(session, "view", "case", "X")
    with database.read() as session:
        last = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
        assert last is not None and last.policy_version == str(version)
        changed = session.execute(select(AuditEvent).where(AuditEvent.entity == "policy",
                                                       AuditEvent.action == "update")).scalar_one()
        assert changed.username == "it.admin" and changed.reason == "force thresholds"
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk]\nhigh_from_yes = 'x'\n", encoding="utf-8")
    with pytest.raises(BadInput, match="risk.high_from_yes"):
        policy_store.set_policy(make_context("it.admin"), path=str(bad), note="typo")
    assert [h.version for h in policy_store.view_history(analyst)] == [version]


# --- item 2: the audit chain -----------------------------------------------------------------

EDIT = "UPDATE audit_event SET reason = 'nothing to see' WHERE id = "
DELETE = "DELETE FROM audit_event WHERE id = "


def _tamper(database: Database, statement: str, event_id: int) -> None:
    """What the host's administrator could do: triggers off, then edit or delete."""
    if database.dialect == "sqlite":
        with sqlite3.connect(database.engine.url.database) as conn:
            conn.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
            conn.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
            conn.execute(statement + "?", (event_id,))
        return
    with database.engine.begin() as conn:  # the server's superuser, triggers off for the session
        conn.exec_driver_sql("SET session_replication_role = replica")
        conn.exec_driver_sql(statement + "%(id)s", {"id": event_id})


def test_audit_verify_detects_an_edited_and_a_deleted_event(
        make_context, database: Database) -> None:  # type: ignore[no-untyped-def]
    auditor = make_context("auditor")
    for n in range(4):
        with auditor.write() as session:
            auditor.audit(session, "view", "case", f"NC/26/{n:04d}", reason="looked")
    report = audit_verify.verify(auditor)
    assert report.ok and report.links >= 4
    with database.read() as session:
        ids = session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars().all()
    _tamper(database, EDIT, ids[1])
    _tamper(database, DELETE, ids[2])
    problems = audit_verify.verify(make_context("auditor")).problems
    assert any(f"audit event {ids[1]} " in p and "altered" in p for p in problems)
    assert any(f"audit event {ids[2]} " in p and "deleted" in p for p in problems)
    assert tui.main(["audit", "verify", "--db", database.url, "--user", "auditor"]) == 1
    with pytest.raises(PermissionDenied):
        audit_verify.verify(make_context("officer.northern"))


# --- issue 16 item 1: resets only where they belong -----------------------------------------

def _seed(url: str, *extra: str) -> int:
    return tui.main(["seed", "--cases", "20", "--db", url, "--now", "2026-03-02T08:00:00Z",
                     *extra])


def test_resets_refuse_live_unmarked_and_extract_fed_databases(
        make_live_database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    tried = refused = 0
    live = make_live_database("sqlite")
    name = Path(live.engine.url.database).name
    for argv in (["seed", "--cases", "5", "--reset", "--yes", name, "--db", live.url],
                 ["demo", "--reset", "--yes", name, "--db", live.url],
                 ["demo", "--scenario", "night-breach", "--yes", name, "--db", live.url]):
        tried += 1
        refused += tui.main(argv) != 0
    # unmarked at creation, marked training later (the README's old deployment state)
    unmarked = Database(f"sqlite:///{tmp_path / 'unmarked.db'}")
    unmarked.upgrade()
    unmarked.mark_kind("training")
    for argv in (["demo", "--reset", "--yes", "unmarked.db", "--db", unmarked.url],
                 ["seed", "--cases", "5", "--training", "--reset", "--yes", "unmarked.db",
                  "--db", unmarked.url]):
        tried += 1
        refused += tui.main(argv) != 0
    # a synthetic database that has received an RMS extract
    fed = f"sqlite:///{tmp_path / 'fed.db'}"
    assert _seed(fed) == 0
    with sqlite3.connect(tmp_path / "fed.db") as conn:
        conn.execute("INSERT INTO import_batch (started_at, username, source, counts, delta) "
                     "VALUES ('2026-03-01 00:00:00', 'analyst', '/x', '{}', '{}')")
    tried += 1
    refused += _seed(fed, "--reset", "--yes", "fed.db") != 0
    err = capsys.readouterr().err
    print(f"resets of live, unmarked and extract-fed databases tried {tried}, "
          f"got through {tried - refused}")
    assert (tried, refused) == (6, 6)
    assert "LIVE database: refusing to reset" in err and "marked training after it was created" in err
    assert "received 1 RMS extract" in err
    with live.read() as session:
        assert session.execute(text("SELECT count(*) FROM classification")).scalar() > 0
    unmarked.dispose()


def test_resets_refuse_a_live_postgresql_database_with_users_and_audit(
        make_live_database, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """A live PostgreSQL database holding real users and audit but no cases:
    seed --reset, demo --reset and a scenario all refuse it, and it keeps
    every user and audit event."""
    from app.services.users import create_first_admin

    live = make_live_database("postgresql")
    create_first_admin(live, "force.admin", "Force administrator", "live")
    with live.read() as session:
        users_before = session.execute(select(func.count()).select_from(User)).scalar_one()
        audit_before = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    name = live.engine.url.database
    tried = got_through = 0
    for argv in (["seed", "--cases", "5", "--reset", "--yes", name, "--db", live.url],
                 ["demo", "--reset", "--yes", name, "--db", live.url],
                 ["demo", "--scenario", "night-breach", "--yes", name, "--db", live.url]):
        tried += 1
        got_through += tui.main(argv) == 0
    capsys.readouterr()
    with live.read() as session:
        assert session.execute(select(func.count()).select_from(User)).scalar_one() \
            == users_before
        assert session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() \
            >= audit_before
        assert session.execute(select(func.count()).select_from(Case)).scalar_one() == 0
    print(f"resets of a live PostgreSQL database tried {tried}, got through {got_through}")
    assert (tried, got_through) == (3, 0)


def test_reset_keeps_another_applications_tables_and_needs_the_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"
    assert _seed(url) == 0
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE other_app_notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO other_app_notes (body) VALUES ('keep me')")
    assert _seed(url, "--reset") == 2
    assert "confirm with --yes shared.db" in capsys.readouterr().err
    assert _seed(url, "--reset", "--yes", "other.db") == 2
    assert _seed(url, "--reset", "--yes", "shared.db") == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT body FROM other_app_notes").fetchall() == [("keep me",)]
        assert conn.execute("SELECT count(*) FROM crime_case").fetchone()[0] == 20
        kind = conn.execute("SELECT value FROM app_meta WHERE key = 'database_kind'").fetchone()
        assert kind == ("synthetic",)


# --- item 8: vigil db upgrade verifies -----------------------------------------------------

@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_db_upgrade_names_a_missing_defence_and_repairs_it(
        make_live_database, engine: str, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    database: Database = make_live_database(engine)
    if engine == "sqlite":
        drop, named = "DROP TRIGGER audit_event_chain", "trigger audit_event_chain is missing"
    else:
        drop = "DROP TRIGGER vigil_audit_link ON audit_event"
        named = "trigger vigil_audit_link on audit_event is missing"
    with database.engine.begin() as conn:
        conn.exec_driver_sql(drop)
    database.dispose()
    assert tui.main(["db", "upgrade", "--db", database.url]) == 1
    err = capsys.readouterr().err
    assert named in err and "--repair" in err and "up to date" not in err
    assert tui.main(["db", "upgrade", "--repair", "--db", database.url]) == 0
    assert tui.main(["db", "upgrade", "--db", database.url]) == 0
    assert "triggers, grants and policies verified" in capsys.readouterr().err


# --- item 5: vigil serve on live data ----------------------------------------------------------

def test_serve_on_live_refuses_without_an_authenticating_front(
        make_live_database, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[dict[str, object]] = []
    monkeypatch.setattr("app.web.serve", lambda argv, **kw: served.append({"argv": argv, **kw}))
    live = make_live_database("sqlite")
    assert tui.main(["serve", "--db", live.url]) == 2
    assert "needs an authenticating front" in capsys.readouterr().err
    assert tui.main(["serve", "--db", live.url, "--trusted-header", "X-Remote-User"]) == 2
    assert "use PostgreSQL" in capsys.readouterr().err
    assert served == []


def test_serve_on_live_postgres_needs_a_front_login_on_loopback(
        make_live_database, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[dict[str, object]] = []
    monkeypatch.setattr("app.web.serve", lambda argv, **kw: served.append({"argv": argv, **kw}))
    live = make_live_database("postgresql")
    assert tui.main(["serve", "--db", live.url]) == 2
    assert tui.main(["serve", "--db", live.url, "--trusted-header", "X-Remote-User",
                     "--host", "0.0.0.0"]) == 2
    assert "loopback only" in capsys.readouterr().err
    # the server's superuser is no web front
    assert tui.main(["serve", "--db", live.url, "--trusted-header", "X-Remote-User"]) == 2
    assert "not a web front" in capsys.readouterr().err
    assert served == []


def test_the_trusted_header_is_believed_only_from_loopback() -> None:
    from app.web import person_from_request

    headers = {"X-Remote-User": "PS.Example"}
    assert person_from_request("127.0.0.1", headers, "X-Remote-User") == "ps.example"
    assert person_from_request("10.0.0.7", headers, "X-Remote-User") is None
    assert person_from_request("127.0.0.1", {}, "X-Remote-User") is None
    assert person_from_request("::1", {"X-Remote-User": "a b"}, "X-Remote-User") is None


def test_serve_passes_no_database_url_on_a_command_line(
        make_context, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    served: list[dict[str, object]] = []
    monkeypatch.setattr("app.web.serve", lambda argv, **kw: served.append({"argv": argv, **kw}))
    assert tui.main(["serve", "--db", database.url, "--user", "analyst"]) == 0
    (call,) = served
    assert database.url not in " ".join(call["argv"])  # type: ignore[arg-type]
    assert call["environment"] == {"VIGIL_DATABASE_URL": database.url}


# --- item 6: restricted cases -------------------------------------------------------------------

def test_a_restricted_case_shows_only_that_it_exists_and_whom_to_ask(
        make_context, database: Database) -> None:  # type: ignore[no-untyped-def]
    from app.services import cases, restricted, search
    from app.services.restricted import RestrictedCase
    from app.services.search import CaseSearch
    from tests import factories

    with database.write() as session:
        factories.add_case(session, "NC/26/880001", NOW, area="Northern")
    supervisor = make_context("supervisor.northern")
    with pytest.raises(PermissionDenied):  # another area's supervisor may not restrict it
        restricted.restrict_case(make_context("supervisor.southern"), crime_ref="NC/26/880001",
                                 contact="DI Ashdown (PSD)", named=[], reason="staff involved",
                                 expected_version=1)
    restricted.restrict_case(supervisor, crime_ref="NC/26/880001", contact="DI Ashdown (PSD)",
                             named=["inspector.northern"], reason="a PC is the suspect",
                             expected_version=1)
    for who in ("officer.northern", "analyst", "supervisor.southern"):
        ctx = make_context(who)
        with pytest.raises(RestrictedCase, match="ask DI Ashdown"):
            cases.open_case(ctx, crime_ref="NC/26/880001", reason="curious")
        (row,) = search.search_cases(ctx, CaseSearch(crime_ref="NC/26/880001")).rows
        assert row.summary == "RESTRICTED — ask DI Ashdown (PSD)" and row.victim_ref == "restricted"
    from app.services.audit_trail import case_audit_trail

    with pytest.raises(RestrictedCase):  # nor its audit trail
        case_audit_trail(make_context("supervisor.southern"), crime_ref="NC/26/880001")
    assert case_audit_trail(make_context("auditor"), crime_ref="NC/26/880001")
    for who in ("inspector.northern", "supervisor.northern", "auditor"):
        record = cases.open_case(make_context(who), crime_ref="NC/26/880001", reason="named")
        assert record is not None
        (row,) = search.search_cases(make_context(who), CaseSearch(crime_ref="NC/26/880001")).rows
        assert not row.summary.startswith("RESTRICTED")
    with database.read() as session:
        denied = session.execute(select(AuditEvent.username).where(
            AuditEvent.entity == "case", AuditEvent.entity_id == "NC/26/880001",
            AuditEvent.action == "denied",
            AuditEvent.reason == "restricted case: content not shown")).scalars().all()
    assert sorted(denied) == ["analyst", "officer.northern", "supervisor.southern",
                              "supervisor.southern"]
    restricted.lift_restriction(supervisor, crime_ref="NC/26/880001", reason="cleared",
                                expected_version=2)
    assert cases.open_case(make_context("officer.northern"), crime_ref="NC/26/880001")
    assert tui.main(["restrict", "show", "NC/26/880001", "--db", database.url,
                     "--user", "officer.northern"]) == 0


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_resets_never_touch_another_applications_database(
        engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """seed --reset on another application's SQLite file; a scenario on another
    application's PostgreSQL database holding a `person` table of 500 rows."""
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_ENV

    if engine == "sqlite":
        path = tmp_path / "other-app.db"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT)")
            conn.executemany("INSERT INTO person (name) VALUES (?)", [(f"p{i}",) for i in range(500)])
        url, name = f"sqlite:///{path}", path.name
        argv = ["seed", "--cases", "5", "--reset", "--yes", name, "--db", url]
    else:
        server_url = os.environ.get(PG_ENV)
        if not server_url:
            pytest.skip(f"PostgreSQL: set {PG_ENV} to run")
        import uuid

        from sqlalchemy import create_engine

        name = f"other_app_{uuid.uuid4().hex[:10]}"
        server = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        other = create_engine(url)
        with other.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE person (id serial PRIMARY KEY, name text)")
            conn.exec_driver_sql("INSERT INTO person (name) SELECT 'p' || g FROM generate_series(1, 500) g")
        other.dispose()
        argv = ["demo", "--scenario", "night-breach", "--yes", name, "--db", url]
    try:
        assert tui.main(argv) != 0
        assert "not Vigil's" in capsys.readouterr().err
        check = Database(url)
        with check.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM person")).scalar() == 500
            assert not check.is_migrated()
        check.dispose()
    finally:
        if engine == "postgresql":
            with server.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            server.dispose()
