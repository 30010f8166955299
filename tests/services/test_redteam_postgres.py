"""Red team on a real PostgreSQL server: a live database, its people each
connecting with their own login (created here through `vigil db upgrade
--admin` and `vigil users add`), none of them superuser or BYPASSRLS.

As each runtime role, through a raw DB-API (psycopg) connection, every
tampering attempt of issue 15 is tried and counted: none may succeed. Through
Vigil's services the same logins get the answers of app/services/permissions.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app.db import LIVE, Database
from app.errors import BadInput, DatabaseUnavailable, NotFound, PermissionDenied
from app.services import case_edits, cases, risk, users
from app.services.context import ServiceContext, open_context
from app.services.permissions import Permission, is_allowed
from app.services.users import create_first_admin
from app.settings import Settings
from models import AuditEvent, Case, RiskAssessment
from seed.reference import install_reference
from tests import factories
from tests.conftest import NOW, PG_ENV

pytestmark = pytest.mark.postgres

NORTH_CASE, SOUTH_CASE = "NC/26/700001", "SC/26/700002"


@dataclass
class Force:
    admin_url: str  # the server's administrator (the test's superuser)
    database: Database
    logins: dict[str, str]  # part -> login
    roles: dict[str, str]  # login -> Vigil role
    areas: dict[str, str | None]

    def url(self, login: str) -> str:
        return make_url(self.database.url).set(username=login, password=None).render_as_string(
            hide_password=False)

    def dsn(self, login: str) -> str:
        url = make_url(self.url(login))
        return f"host={url.host} port={url.port} dbname={url.database} user={login}"

    def context(self, login: str) -> ServiceContext:
        database = Database(self.url(login))
        return open_context(Settings(database_url=database.url), database=database, migrate=False)


PEOPLE = (  # part, role, area
    ("sup.n", "supervisor", "Northern"), ("sup.n2", "supervisor", "Northern"),
    ("off.n", "officer", "Northern"), ("analyst", "analyst", None),
    ("auditor", "auditor", None), ("importer", "importer", None),
)


@pytest.fixture(scope="module")
def force() -> Iterator[Force]:
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} is not set: PostgreSQL tests must run in CI")
        pytest.skip(f"PostgreSQL: set {PG_ENV} to run")
    tag = uuid.uuid4().hex[:8]
    name = f"vigil_redteam_{tag}"
    server = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    # every login this module may create, so a failed setup still drops them
    logins: dict[str, str] = {"admin": f"rt{tag}.admin",
                              **{part: f"rt{tag}.{part}" for part, _role, _area in PEOPLE}}
    try:
        database.upgrade(create_as=LIVE)
        with database.write() as session:
            install_reference(session)
            factories.add_case(session, NORTH_CASE, NOW - timedelta(days=2), area="Northern")
            factories.add_case(session, SOUTH_CASE, NOW - timedelta(days=2), area="Southern",
                               victim="V2", suspect="S2")
            session.execute(text("UPDATE crime_case SET risk_level = 'high'"))
        admin = create_first_admin(database, logins["admin"], "Red team admin", LIVE)
        roles = {admin: "admin"}
        areas: dict[str, str | None] = {admin: None}
        made = Force(admin_url, database, logins, roles, areas)
        admin_ctx = made.context(admin)
        for part, role, area in PEOPLE:
            row = users.add_user(admin_ctx, username=logins[part], display_name=part,
                                 role=role, area=area)
            roles[row.username], areas[row.username] = role, area
        admin_ctx.database.dispose()
        yield made
    finally:
        database.dispose()
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for login in logins.values():
                conn.execute(text(f'DROP ROLE IF EXISTS "{login}"'))
        server.dispose()


def test_the_logins_are_neither_superuser_nor_bypass_rls(force: Force) -> None:
    for login in force.logins.values():
        with psycopg.connect(force.dsn(login)) as conn:
            row = conn.execute("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
                               "FROM pg_roles WHERE rolname = session_user").fetchone()
            assert row == (False, False, False, False), login


# --- tampering through psql ----------------------------------------------------------------

Attempt = Callable[[psycopg.Connection, Force, str], bool]  # True: the tampering succeeded


def _fails(conn: psycopg.Connection, sql: str, params: tuple = ()) -> bool:
    """Run ``sql``; True when it raised (the tampering failed)."""
    try:
        with conn.transaction():
            conn.execute(sql, params)
    except psycopg.Error:
        return True
    return False


def _refused(sql: str, params: tuple = ()) -> Attempt:
    return lambda conn, _force, _login: not _fails(conn, sql, params)


def _edit_case_unaudited(conn: psycopg.Connection, force: Force, login: str) -> bool:
    """Change a case with no audit row naming who did it."""
    changed = 0
    for ref in (NORTH_CASE, SOUTH_CASE):
        try:
            with conn.transaction():
                cur = conn.execute("UPDATE crime_case SET summary = summary || ' (edited)' "
                                   "WHERE crime_ref = %s", (ref,))
                if cur.rowcount:
                    audited = conn.execute(
                        "SELECT count(*) FROM audit_event WHERE entity = 'crime_case' "
                        "AND entity_id = %s AND username = %s AND action = 'row_update'",
                        (ref, login)).fetchone()
                    if not audited or not audited[0]:
                        changed += 1
        except psycopg.Error:
            continue
    return changed > 0


def _edit_other_area(conn: psycopg.Connection, force: Force, login: str) -> bool:
    """A Northern supervisor or officer changing a Southern case."""
    if force.roles[login] not in ("supervisor", "officer"):
        return False  # force-wide roles have no other area
    try:
        with conn.transaction():
            cur = conn.execute("UPDATE crime_case SET summary = 'x' WHERE crime_ref = %s",
                               (SOUTH_CASE,))
            return cur.rowcount > 0
    except psycopg.Error:
        return False


def _forge_audit(conn: psycopg.Connection, force: Force, login: str) -> bool:
    try:
        with conn.transaction():
            conn.execute("INSERT INTO audit_event (at, username, role, action, entity, reason) "
                         "VALUES ('2001-01-01T00:00:00Z', 'someone.else', 'supervisor', 'view', "
                         "'case', 'forged')")
    except psycopg.Error:
        return False
    row = conn.execute("SELECT count(*) FROM audit_event WHERE reason = 'forged' AND "
                       "(username = 'someone.else' OR at < '2002-01-01')").fetchone()
    return bool(row and row[0])


def _forge_four_eyes(conn: psycopg.Connection, force: Force, login: str) -> bool:
    try:
        with conn.transaction():
            conn.execute("UPDATE risk_assessment SET approved_by = 'someone.else', "
                         "approved_at = now()")
    except psycopg.Error:
        return False
    row = conn.execute("SELECT count(*) FROM risk_assessment "
                       "WHERE approved_by = 'someone.else'").fetchone()
    return bool(row and row[0])


def _admin_only(sql: str) -> Attempt:
    """Legitimate for an administrator (their job, audited); tampering for anyone else."""
    def attempt(conn: psycopg.Connection, force: Force, login: str) -> bool:
        if force.roles[login] == "admin":
            return False
        return not _fails(conn, sql)
    return attempt


ATTEMPTS: dict[str, Attempt] = {
    "edit a case with no audit": _edit_case_unaudited,
    "edit a case of another area": _edit_other_area,
    "forge an audit event (someone else, 2001)": _forge_audit,
    "edit an audit event": _refused("UPDATE audit_event SET reason = 'x'"),
    "delete audit events": _refused("DELETE FROM audit_event"),
    "truncate the audit log": _refused("TRUNCATE audit_event"),
    "delete the audit chain": _refused("DELETE FROM audit_chain"),
    "add a user": _admin_only("INSERT INTO app_user (username, display_name, role, active) "
                              "VALUES ('ghost', 'Ghost', 'supervisor', true)"),
    "promote oneself": _refused("UPDATE app_user SET role = 'supervisor', area_command = "
                                "'Southern' WHERE username = session_user"),
    "flip the live marker": _refused("UPDATE app_meta SET value = 'training' "
                                     "WHERE key = 'database_kind'"),
    "set the force policy": _admin_only("INSERT INTO policy_version (version, policy_text, "
                                        "sha256, set_by, set_at) VALUES (99, '', '', 'x', now())"),
    "forge a four-eyes approval": _forge_four_eyes,
    "disable the audit triggers": _refused("ALTER TABLE audit_event DISABLE TRIGGER ALL"),
    "drop the row audit trigger": _refused("DROP TRIGGER vigil_row_audit ON crime_case"),
    "drop the audit table": _refused("DROP TABLE audit_event"),
    "turn off row-level security": _refused("ALTER TABLE crime_case DISABLE ROW LEVEL SECURITY"),
    "skip triggers (replication role)": _refused("SET session_replication_role = replica"),
    "create a table (DDL)": _refused("CREATE TABLE public.loot (id integer)"),
    "become the owner": _refused("SET ROLE vigil_owner"),
    "grant oneself administration": _refused("GRANT vigil_admin TO CURRENT_USER"),
    "make the server's superuser a Vigil person": _refused(
        "SELECT vigil_admin_set_login('postgres', 'admin', true)"),
    "turn a group role into a login": _refused(
        "SELECT vigil_admin_set_login('vigil_supervisor', 'admin', true)"),
    "replace an audit function": _refused(
        "CREATE OR REPLACE FUNCTION vigil_audit_stamp() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$"),
}


def test_every_tampering_attempt_fails_for_every_runtime_role(force: Force) -> None:
    with force.database.write() as session:  # something for the four-eyes forgery to aim at
        case_id = session.execute(select(Case.id).where(Case.crime_ref == NORTH_CASE)).scalar()
        session.add(RiskAssessment(case_id=case_id, answers="YNNNNNNNNNN", yes_count=1,
                                   suggested_level="standard", level="standard",
                                   assessor="someone", assessed_at=NOW, approval_required=True))
    tried = succeeded = 0
    got_through: list[str] = []
    for login in force.logins.values():
        with psycopg.connect(force.dsn(login), autocommit=True) as conn:
            for name, attempt in ATTEMPTS.items():
                tried += 1
                if attempt(conn, force, login):
                    succeeded += 1
                    got_through.append(f"{force.roles[login]}: {name}")
    assert tried == len(ATTEMPTS) * len(force.logins) == 161
    assert (succeeded, got_through) == (0, [])


def test_a_psql_update_of_a_case_is_audited_naming_the_login(force: Force) -> None:
    login = force.logins["sup.n"]
    with psycopg.connect(force.dsn(login), autocommit=True) as conn:
        conn.execute("UPDATE crime_case SET summary = 'changed in psql' WHERE crime_ref = %s",
                     (NORTH_CASE,))
    with force.database.read() as session:
        event = session.execute(
            select(AuditEvent).where(AuditEvent.entity == "crime_case",
                                     AuditEvent.entity_id == NORTH_CASE,
                                     AuditEvent.action == "row_update")
            .order_by(AuditEvent.id.desc())).scalars().first()
        server_now = session.execute(text("SELECT now()")).scalar()
    assert event is not None and event.username == login and event.role == "supervisor"
    assert event.after is not None and event.after["summary"] == "changed in psql"
    assert abs((server_now - event.at).total_seconds()) < 600  # the server's clock


# --- through Vigil's services -------------------------------------------------------------

def test_services_as_each_login_answer_as_permissions_py(force: Force) -> None:
    for login, role in force.roles.items():
        ctx = force.context(login)
        try:
            assert (ctx.actor.username, ctx.actor.role, ctx.kind) == (login, role, "live")
            for ref, area in ((NORTH_CASE, "Northern"), (SOUTH_CASE, "Southern")):
                expected = is_allowed(role, Permission.EDIT_CASE, user_area=force.areas[login],
                                      target_area=area)
                with force.database.read() as session:  # the administrator reads no cases
                    version = session.execute(
                        select(Case.version).where(Case.crime_ref == ref)).scalar()
                try:
                    case_edits.add_included_classification(
                        ctx, crime_ref=ref, code="8R", reason=f"seen by {role}",
                        expected_version=version)
                except PermissionDenied:
                    allowed = False
                except BadInput as exc:  # added by an earlier login of the same area
                    allowed = "already" in str(exc)
                else:
                    allowed = True
                assert allowed == expected, (role, ref)
        finally:
            ctx.database.dispose()


def test_live_postgres_refuses_asserted_user_clock_and_policy(force: Force) -> None:
    url = force.url(force.logins["off.n"])
    for settings in (Settings(database_url=url, username=force.logins["sup.n"]),
                     Settings(database_url=url, now=NOW),
                     Settings(database_url=url, policy_path=__import__("pathlib").Path(
                         "seed/policy.toml"))):
        with pytest.raises(BadInput, match="refused on the LIVE database"):
            open_context(settings, migrate=False)
    server = Database(force.database.url)  # the server's superuser is not a Vigil person
    with pytest.raises(PermissionDenied, match="superuser"):
        open_context(Settings(database_url=server.url), database=server, migrate=False)
    server.dispose()


def test_four_eyes_cannot_be_beaten_by_one_login(force: Force) -> None:
    first, second = force.logins["sup.n"], force.logins["sup.n2"]
    ctx = force.context(first)
    try:
        with ctx.read() as session:
            version = session.execute(
                select(Case.version).where(Case.crime_ref == NORTH_CASE)).scalar()
        result = risk.record_risk_assessment(
            ctx, crime_ref=NORTH_CASE, answers="NNNNNNNNNNN", level="standard",
            rationale="threats withdrawn", management_plan=None, expected_version=version)
        assessment_id = result.assessment_id
        with pytest.raises(PermissionDenied, match="four-eyes"):
            risk.approve_risk_assessment(ctx, assessment_id=assessment_id,
                                         expected_version=result.version)
    finally:
        ctx.database.dispose()
    with pytest.raises(BadInput, match="refused"):  # nor as a second name
        open_context(Settings(database_url=force.url(first), username=second), migrate=False)
    with psycopg.connect(force.dsn(first), autocommit=True) as conn:  # nor behind Vigil's back
        assert _fails(conn, "UPDATE risk_assessment SET approved_by = %s WHERE id = %s",
                      (second, assessment_id))
    other = force.context(second)
    try:
        approved = risk.approve_risk_assessment(other, assessment_id=assessment_id,
                                                expected_version=result.version)
        assert approved.approved_by == second
    finally:
        other.database.dispose()


# --- item 5: the browser on live data --------------------------------------------------------

def test_a_web_front_acts_as_the_person_and_the_audit_names_them(
        force: Force, monkeypatch: pytest.MonkeyPatch) -> None:
    import tui
    from app.cli.serve import check_front

    person = force.logins["sup.n"]
    front = person.split(".")[0] + ".web"
    server = create_engine(force.database.url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{front}" LOGIN NOINHERIT IN ROLE vigil_front')
    databases: list[Database] = []
    try:
        front_db = Database(force.url(front))
        person_db = Database(force.url(person))
        acting = Database(force.url(front), act_as=person)
        databases += [front_db, person_db, acting]
        assert check_front(front_db) == front
        served: list[dict[str, object]] = []
        monkeypatch.setattr("app.web.serve", lambda argv, **kw: served.append({"argv": argv, **kw}))
        assert tui.main(["serve", "--db", front_db.url, "--trusted-header", "X-Remote-User"]) == 0
        assert served == [{"argv": [], "host": "127.0.0.1", "port": 8000, "title": "Vigil",
                           "environment": {"VIGIL_DATABASE_URL": front_db.url},
                           "trusted_header": "X-Remote-User"}]
        assert tui.main(["serve", "--db", front_db.url]) == 2  # no trusted front named
        with pytest.raises(BadInput, match="not a web front"):
            check_front(person_db)
        ctx = open_context(Settings(database_url=acting.url), database=acting, migrate=False)
        assert (ctx.actor.username, ctx.actor.role) == (person, "supervisor")
        with ctx.write() as session:
            session.execute(text("UPDATE crime_case SET summary = 'through the web front' "
                                 "WHERE crime_ref = :ref"), {"ref": NORTH_CASE})
        with force.database.read() as session:
            event = session.execute(
                select(AuditEvent).where(AuditEvent.entity == "crime_case",
                                         AuditEvent.action == "row_update")
                .order_by(AuditEvent.id.desc())).scalars().first()
        assert event is not None and event.username == person
        stranger = Database(force.url(front), act_as="nobody.here")
        databases.append(stranger)
        with pytest.raises(DatabaseUnavailable, match="nobody.here"):
            stranger.check_reachable()
        # the front on its own (no SET ROLE) may read or change nothing
        with psycopg.connect(force.dsn(front), autocommit=True) as conn:
            assert _fails(conn, "SELECT count(*) FROM crime_case")
            assert _fails(conn, "UPDATE crime_case SET summary = 'x'")
            assert _fails(conn, "SET ROLE vigil_owner")
    finally:
        for database in databases:
            database.dispose()
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{front}"')
        server.dispose()


def test_the_everyday_services_work_as_each_login(force: Force, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The database's grants and policies let each role do, through Vigil,
    what permissions.py allows, and refuse as a permission (never SQL) what
    it does not."""
    from datetime import date

    from app.services import assurance, breaches, dmm, rms_import, screening_queue, search
    from app.services.search import CaseSearch

    monday = date(2026, 3, 2)
    calls: list[tuple[Permission, str | None, Callable[[ServiceContext], object]]] = [
        (Permission.SEARCH, None, lambda c: search.search_cases(c, CaseSearch())),
        (Permission.VIEW_DMM, None,
         lambda c: dmm.build_queue(c, area="Northern", meeting_date=monday)),
        (Permission.VIEW_BREACHES, None, lambda c: breaches.breach_board(c)),
        (Permission.VIEW_SCREENING, None, lambda c: screening_queue.screening_queue(c)),
        (Permission.VIEW_ASSURANCE, None, lambda c: assurance.assurance_report(
            c, date_from=date(2026, 1, 1), date_to=date(2026, 4, 1))),
    ]
    problems: list[str] = []
    for login, role in force.roles.items():
        ctx = force.context(login)
        try:
            for permission, area, call in calls:
                expected = is_allowed(role, permission, user_area=force.areas[login],
                                      target_area=area)
                try:
                    call(ctx)
                except PermissionDenied:
                    allowed = False
                except Exception as exc:  # collect every role's failures
                    problems.append(f"{role} {permission}: {type(exc).__name__}: {exc}"[:300])
                    continue
                else:
                    allowed = True
                if allowed != expected:
                    problems.append(f"{role} {permission}: allowed={allowed}, expected {expected}")
        finally:
            ctx.database.dispose()
    assert problems == []
    # the nightly import, as the importer's own login
    extract = factories.write_extract(tmp_path / "extract", {
        "crimes.csv": [factories.extract_row("crimes.csv", crime_ref="CR-7001"),
                       factories.extract_row("crimes.csv", crime_ref="CR-7002",
                                             area_command="Southern")],
    })
    importer = force.context(force.logins["importer"])
    try:
        result = rms_import.import_extract(importer, folder=extract)
        assert result.ok, result.errors
    finally:
        importer.database.dispose()
    with force.database.read() as session:
        created = session.execute(select(AuditEvent.username).where(
            AuditEvent.entity == "crime_case", AuditEvent.action == "row_insert",
            AuditEvent.entity_id.in_(["CR-7001", "CR-7002"]))).scalars().all()
    assert created == [force.logins["importer"]] * 2


def test_the_days_decisions_work_as_each_login_and_the_server_stamps_them(force: Force) -> None:
    from app.services import breach_actions, breaches, dmm, orders, screening, screening_flags
    from models import Breach, DmmAction, DmmItem, SpoDecision

    with force.database.write() as session:
        factories.dmm_morning(session)
    supervisor, officer, analyst = (force.context(force.logins[p]) for p in ("sup.n", "off.n", "analyst"))
    try:
        version = breaches.breach_board(supervisor, area="Northern").find("BR/26/0001").case_version
        with pytest.raises(PermissionDenied):
            breach_actions.acknowledge_breach(officer, breach_ref="BR/26/0001", note="seen",
                                        expected_version=version)
        breach_actions.acknowledge_breach(supervisor, breach_ref="BR/26/0001", note="arrest planned",
                                    expected_version=version)
        meeting = dmm.current_meeting_date(supervisor)  # the server's clock decides which
        dmm.build_queue(supervisor, area="Northern", meeting_date=meeting)
        dmm.record_decision(supervisor, area="Northern", meeting_date=meeting,
                            crime_ref="NC/26/0105", decision="actions_set",
                            rationale="safety plan agreed", expected_version=factories.case_version(supervisor, crime_ref="NC/26/0105"))
        dmm.add_action(supervisor, area="Northern", meeting_date=meeting, crime_ref="NC/26/0105",
                       text="Visit the victim today", owner="PC Northern", due_at=None, expected_version=factories.case_version(supervisor, crime_ref="NC/26/0105"))
        with force.database.read() as session:
            version = session.execute(select(Case.version).where(
                Case.crime_ref == "NC/26/0105")).scalar_one()
        orders.record_spo_decision(supervisor, crime_ref="NC/26/0105",
                                   status="considered_not_appropriate",
                                   rationale="no ongoing contact", expected_version=version)
        screening.run_screening(analyst, full=True)
        flag = screening_flags.raise_flag(analyst, crime_ref="NC/26/0102",
                                    suggested_change="add_included_stalking",
                                    reason="repeated unwanted contact")
        with pytest.raises(PermissionDenied):
            screening_flags.decide_flag(analyst, flag_id=flag.id, accept=False, rationale="no", expected_version=factories.case_version(analyst, flag_id=flag.id))
        screening_flags.decide_flag(supervisor, flag_id=flag.id, accept=False,
                              rationale="harassment in law only", expected_version=factories.case_version(supervisor, flag_id=flag.id))
    finally:
        for ctx in (supervisor, officer, analyst):
            ctx.database.dispose()
    login = force.logins["sup.n"]
    with force.database.read() as session:
        server_now = session.execute(text("SELECT now()")).scalar()
        breach = session.execute(select(Breach).where(Breach.breach_ref == "BR/26/0001")).scalar_one()
        item = session.execute(select(DmmItem).where(DmmItem.crime_ref == "NC/26/0105",
                                                     DmmItem.decision.is_not(None))).scalars().first()
        action = session.execute(select(DmmAction)).scalars().first()
        spo = session.execute(select(SpoDecision).order_by(SpoDecision.id.desc())).scalars().first()
    assert breach.acknowledged_by == login
    assert abs((server_now - breach.acknowledged_at).total_seconds()) < 600
    assert item is not None and item.decided_by == login
    assert action is not None and action.created_by == login
    assert spo is not None and spo.decided_by == login
    # the stored agenda is a cache anyone viewing the queue writes; its decisions are not
    for part in ("auditor", "analyst", "off.n"):
        with psycopg.connect(force.dsn(force.logins[part]), autocommit=True) as conn:
            assert _fails(conn, "UPDATE dmm_item SET decision = 'no_further_action', "
                                "rationale = 'forged' WHERE crime_ref = 'NC/26/0105'")
            assert _fails(conn, "DELETE FROM dmm_item WHERE decision IS NOT NULL")


async def test_the_terminal_app_works_as_the_case_working_logins(force: Force) -> None:
    """Every section of the app as each kind of case-working login on the live
    database (own-area writer, read-only, force-wide): the services refuse what
    permissions.py refuses, and the database refuses nothing they allow (no
    refusal by the database, no unexpected error). The administrator and the
    importer see no case sections (their services answer above)."""
    from app.app import VigilApp

    for part in ("sup.n", "off.n", "auditor", "analyst"):
        ctx = force.context(force.logins[part])
        try:
            app = VigilApp(ctx, start="cases")
            async with app.run_test(size=(160, 50)) as pilot:
                for key in "123456":
                    await pilot.press(key)
                    await pilot.pause()
                    await app.workers.wait_for_complete()
                    await pilot.pause()
                errors = [n.message for n in app._notifications if n.severity == "error"
                          and ("database refused" in n.message or "Unexpected" in n.message)]
            assert errors == [], (part, errors)
        finally:
            ctx.database.dispose()


# --- item 6: restricted cases, by row-level security -------------------------------------------

def test_a_restricted_case_is_hidden_by_the_database(force: Force) -> None:
    from app.services import restricted
    from app.services.restricted import RestrictedCase

    owner = force.context(force.logins["sup.n"])
    try:
        version = restricted.version_of(owner, NORTH_CASE)
        restricted.restrict_case(owner, crime_ref=NORTH_CASE, contact="DI Ashdown (PSD)",
                                 named=[], reason="a PC is the victim", expected_version=version)
        sees = {}
        for part in ("sup.n", "sup.n2", "off.n", "analyst", "auditor", "importer"):
            with psycopg.connect(force.dsn(force.logins[part]), autocommit=True) as conn:
                row = conn.execute("SELECT count(*) FROM crime_case WHERE crime_ref = %s",
                                   (NORTH_CASE,)).fetchone()
                sees[part] = bool(row and row[0])
        assert sees == {"sup.n": True, "sup.n2": False, "off.n": False, "analyst": False,
                        "auditor": True, "importer": True}
        officer = force.context(force.logins["off.n"])
        try:
            with pytest.raises(RestrictedCase, match="ask DI Ashdown"):
                cases.open_case(officer, crime_ref=NORTH_CASE)
        finally:
            officer.database.dispose()
        restricted.lift_restriction(owner, crime_ref=NORTH_CASE, reason="cleared",
                                    expected_version=restricted.version_of(owner, NORTH_CASE))
    finally:
        owner.database.dispose()


def test_a_login_holding_no_vigil_role_is_refused_and_audited(force: Force) -> None:
    stranger = force.logins["sup.n"].split(".")[0] + ".stranger"
    server = create_engine(force.database.url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{stranger}" LOGIN')
    try:
        database = Database(force.url(stranger))
        with pytest.raises(BadInput, match="not an active Vigil user") as refused:
            open_context(Settings(database_url=database.url), database=database, migrate=False)
        assert force.logins["sup.n"] not in str(refused.value)  # no usernames listed
        database.dispose()
        with force.database.read() as session:
            event = session.execute(select(AuditEvent).where(
                AuditEvent.entity == "logon", AuditEvent.action == "denied",
                AuditEvent.username == stranger)).scalars().first()
        assert event is not None
    finally:
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{stranger}"')
        server.dispose()


def test_erasure_under_mopi_works_as_the_administrator_and_for_nobody_else(
        force: Force) -> None:
    """A reviewer (the auditor's login) decides disposal; the administrator's
    login, which reads no case data, erases the case through the server's
    erasure function; no other login can, through the services or psql; the
    audit events about the case stay and a stub records what, why and who."""
    from app.services import retention
    from models import Allocation, RetentionDecision, VictimCare

    ref = "NC/23/700009"
    with force.database.write() as session:
        case = factories.add_case(session, ref, NOW - timedelta(days=3 * 365), victim="V9",
                                  suspect="S9", status="closed")
        case.closed_at = NOW - timedelta(days=2 * 365)
        session.add(case)
        session.flush()
        factories.add_risk(session, case, NOW - timedelta(days=3 * 365 - 1))
        factories.add_victim_care(session, case, needs_assessed_at=NOW - timedelta(days=1000))
        session.add(Allocation(case_id=case.id, team="CID", allocated_at=case.reported_at,
                               allocated_by="someone", reason="by policy"))
    reviewer = force.context(force.logins["auditor"])
    admin = force.context(next(login for login, role in force.roles.items() if role == "admin"))
    try:
        retention.decide_retention(reviewer, crime_ref=ref, decision="dispose",
                                   reason="no further policing purpose (MoPI group 3)")
        with force.database.read() as session:
            events_before = session.execute(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.entity_id == ref)).scalar_one()
        tried = got_through = 0
        for part in ("sup.n", "off.n", "analyst", "auditor", "importer"):
            ctx = force.context(force.logins[part])
            try:
                tried += 1
                try:
                    retention.erase_case(ctx, crime_ref=ref, reason="tidy up")
                    got_through += 1
                except PermissionDenied:
                    pass
            finally:
                ctx.database.dispose()
            with psycopg.connect(force.dsn(force.logins[part]), autocommit=True) as conn:
                tried += 1
                if not _fails(conn, "SELECT vigil_erase_case(%s, %s, %s)",
                              (ref, force.logins[part], "psql")):
                    got_through += 1
        assert (tried, got_through) == (10, 0)
        result = retention.erase_case(admin, crime_ref=ref, reason="disposal decided by review")
        assert result.decision == "erased"
        with pytest.raises(NotFound, match="not in Vigil"):
            retention.erase_case(admin, crime_ref=ref, reason="again")
        with force.database.read() as session:
            assert session.execute(select(Case.id).where(Case.crime_ref == ref)).first() is None
            for table in (RiskAssessment, VictimCare, Allocation):
                assert session.execute(select(func.count()).select_from(table).where(
                    table.case_id == case.id)).scalar_one() == 0
            events = session.execute(select(AuditEvent).where(
                AuditEvent.entity_id == ref).order_by(AuditEvent.id)).scalars().all()
            decisions = session.execute(select(RetentionDecision.decision, RetentionDecision.decided_by)
                                        .where(RetentionDecision.crime_ref == ref)
                                        .order_by(RetentionDecision.id)).all()
        assert len(events) > events_before  # nothing of the audit log went
        erased = next(e for e in events if e.action == "delete" and e.entity == "case")
        assert erased.username == admin.actor.username
        assert erased.before["crime_ref"] == ref and erased.before["victim_ref"] == "V9"
        assert "MoPI group 3" in erased.reason and "disposal decided by review" in erased.reason
        assert [d[0] for d in decisions] == ["dispose", "erased"]
        assert decisions[1][1] == admin.actor.username
    finally:
        reviewer.database.dispose()
        admin.database.dispose()
