"""The database's own defences: what it enforces whoever connects.

PostgreSQL (a multi-user deployment):

- **Roles.** A ``NOLOGIN`` owner role, ``vigil_owner``, owns the schema; only
  migrations use it (``vigil db upgrade`` runs them after ``SET ROLE``). One
  ``NOLOGIN`` group role per Vigil role (``vigil_supervisor`` ...
  ``vigil_importer``); each person's own login is a member of one of them.
  The runtime roles get least privilege, derived from
  :data:`app.services.permissions.ALLOWED`: ``SELECT`` where the role reads,
  ``INSERT/UPDATE/DELETE`` on the case tables only for roles that change
  cases, ``INSERT`` and ``SELECT`` only on the audit log, nothing on the
  database marker, no DDL, no ``TRIGGER``, no ownership.
- **Row-level security.** Roles whose changes are area-bound in
  :data:`app.services.permissions.AREA_BOUND` (supervisors, officers) change
  only rows of their own area command; roles whose changes are force-wide
  (analysts, the importer: the RMS import) change any.
- **Audit triggers** (live databases): every row written to a Vigil table is
  audited by the database with the server's clock and the login
  (``session_user``), so a ``psql`` UPDATE is audited like one from Vigil; an
  audit event written by a client is re-stamped with the server's clock and
  the login; the "who and when" columns of decisions (approval, acknowledgement,
  DMM decision, flag decision) are set by the server, and a risk downgrade
  cannot be approved by its assessor.
- **Hash chain** (both engines): each audit event gets a link in
  ``audit_chain`` holding SHA-256 of the previous link and the event's
  canonical text (:func:`canonical_sql`), written by a trigger.

SQLite (one host) gets the append-only triggers and the hash chain; it cannot
tell one person from another, and the README says so.

:func:`install` (re)creates all of it idempotently; :func:`verify` lists what
is missing or changed, by name. What is enforced is data in
:mod:`app.dbsecurity_model`, the hash chain and SQLite's triggers are in
:mod:`app.dbsecurity_chain`, PostgreSQL's functions in
:mod:`app.dbsecurity_functions`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from app.dbsecurity_chain import canonical_sql, sqlite_statements
from app.dbsecurity_functions import ALL_FUNCTIONS, FUNCTIONS_SQL
from app.dbsecurity_model import (
    AGENDA_GUARDED,
    AREA_OF,
    CASE_AREA,
    CHECKED_PRIVILEGES,
    FRONT_ROLE,
    GROUP_ROLES,
    NOT_ROW_AUDITED,
    OWNER_ROLE,
    READABLE,
    STAMPED,
    agenda_viewers,
    area_bound_roles,
    expected,
    writer_roles,
)
from app.errors import DatabaseUnavailable

# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ensure_roles(engine: Engine) -> None:
    """Create the owner and group roles if missing (needs a login with
    CREATEROLE, or a superuser: the force's database administrator), and let
    the owner create in the schema. Several databases of one server share the
    roles; concurrent upgrades are safe."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        me = conn.execute(text(
            "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user")).one()
        existing = set(conn.execute(text(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'vigil\\_%'")).scalars())
        wanted = [OWNER_ROLE, FRONT_ROLE, *GROUP_ROLES.values()]
        missing = [name for name in wanted if name not in existing]
        if missing and not (me.rolsuper or me.rolcreaterole):
            raise DatabaseUnavailable(
                f"role {missing[0]} does not exist and this login may not create roles: "
                "run `vigil db upgrade` as the database administrator (a login with CREATEROLE)")
        for name in missing:
            attributes = "NOLOGIN CREATEROLE" if name == OWNER_ROLE else "NOLOGIN"
            conn.exec_driver_sql(
                f"DO $$ BEGIN CREATE ROLE {_quote(name)} {attributes}; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
        if not me.rolsuper:
            member = conn.execute(text("SELECT pg_has_role(current_user, :r, 'MEMBER')"),
                                  {"r": OWNER_ROLE}).scalar()
            if not member:
                conn.exec_driver_sql(f"GRANT {_quote(OWNER_ROLE)} TO CURRENT_USER")
        can_grant = conn.execute(text(
            "SELECT pg_has_role(current_user, n.nspowner, 'USAGE') OR :su "
            "FROM pg_namespace n WHERE nspname = 'public'"), {"su": bool(me.rolsuper)}).scalar()
        has_create = conn.execute(text(
            "SELECT has_schema_privilege(:r, 'public', 'CREATE')"), {"r": OWNER_ROLE}).scalar()
        if not has_create:
            if not can_grant:
                raise DatabaseUnavailable(
                    f"{OWNER_ROLE} may not create tables in schema public and this login "
                    "cannot grant it: run `vigil db upgrade` as the database's owner")
            conn.exec_driver_sql(f"GRANT USAGE, CREATE ON SCHEMA public TO {_quote(OWNER_ROLE)}")
        conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def become_owner(connection: Any) -> None:
    """Hand Vigil's existing tables, sequences and functions to the owner role
    (a database migrated before it existed), then act as it for the rest of
    the transaction."""
    rows = connection.execute(text(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') "
        "AND pg_get_userbyid(c.relowner) <> :owner"), {"owner": OWNER_ROLE}).all()
    for row in rows:
        connection.exec_driver_sql(f"ALTER TABLE {_quote(row.relname)} OWNER TO {_quote(OWNER_ROLE)}")
    functions = connection.execute(text(
        "SELECT p.oid::regprocedure::text AS sig FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
        "AND pg_get_userbyid(p.proowner) <> :owner"), {"owner": OWNER_ROLE}).scalars().all()
    for signature in functions:
        connection.exec_driver_sql(f"ALTER FUNCTION {signature} OWNER TO {_quote(OWNER_ROLE)}")
    connection.exec_driver_sql(f"SET LOCAL ROLE {_quote(OWNER_ROLE)}")


def _vigil_tables(connection: Any) -> list[str]:
    return list(connection.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname")).scalars())


def _columns(connection: Any, table: str) -> set[str]:
    return set(connection.execute(text(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = :t"), {"t": table}).scalars())



def is_live(connection: Any) -> bool:
    """Live, or not marked (yet): the kind decides which triggers belong."""
    if "app_meta" not in _vigil_tables(connection):
        return True
    kind = connection.execute(text(
        "SELECT value FROM app_meta WHERE key = 'database_kind'")).scalar()
    return kind in (None, "live")


def _area_expr(table: str) -> str:
    return AREA_OF.get(table, CASE_AREA)


def _install_postgresql(connection: Any) -> None:
    tables = _vigil_tables(connection)
    columns = {t: _columns(connection, t) for t in tables}
    live = is_live(connection)
    want = expected(tables, columns, live=live)
    role_names = ", ".join(f"'{r}'" for r in GROUP_ROLES)
    group_names = ", ".join(f"'{g}'" for g in GROUP_ROLES.values())
    from models.tables import erased_tables

    # table names from the models (never input), quoted
    deletes = "\n".join("  DELETE FROM " + _quote(t) + " WHERE case_id = target.id;"  # noqa: S608
                         for t in erased_tables() if t != "dmm_action")
    functions = (FUNCTIONS_SQL.replace("__CANON__", canonical_sql("postgresql", "NEW."))
                 .replace("__ROLE_NAMES__", role_names).replace("__GROUP_NAMES__", group_names)
                 .replace("__ERASE_DELETES__", deletes))
    cursor = connection.connection.cursor()  # no parameters: '%' in the function bodies is literal
    cursor.execute(functions)
    cursor.close()
    everyone = ", ".join(_quote(g) for g in GROUP_ROLES.values())
    for signature in ALL_FUNCTIONS:
        connection.exec_driver_sql(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    for signature in ("vigil_is_live()", "vigil_login()", "vigil_user_role()",
                      "vigil_user_area()", "vigil_case_area(integer)",
                      "vigil_may_see_case(integer)", "vigil_restricted_contact(text)"):
        connection.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {signature} TO {everyone}")
    connection.exec_driver_sql(
        f"GRANT EXECUTE ON FUNCTION vigil_admin_set_login(text,text,boolean) TO {_quote(GROUP_ROLES['admin'])}")
    connection.exec_driver_sql("GRANT EXECUTE ON FUNCTION vigil_record_refused_logon(text) TO PUBLIC")
    connection.exec_driver_sql(
        f"GRANT EXECUTE ON FUNCTION vigil_erase_case(text,text,text) TO {_quote(GROUP_ROLES['admin'])}")
    # whether the database is live, and who is asking: for any login (a web
    # front, a login refused at logon)
    connection.exec_driver_sql("GRANT EXECUTE ON FUNCTION vigil_is_live(), vigil_login() TO PUBLIC")
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {everyone}")
    # grants: exactly the expected ones
    for table in tables:
        connection.exec_driver_sql(f"REVOKE ALL ON TABLE {_quote(table)} FROM PUBLIC, {everyone}")
        for group in GROUP_ROLES.values():
            granted = want.privileges[(group, table)]
            if granted:
                connection.exec_driver_sql(
                    f"GRANT {', '.join(sorted(granted))} ON TABLE {_quote(table)} TO {_quote(group)}")
    sequences = connection.execute(text(
        "SELECT c.relname, d.refobjid::regclass::text AS owner_table FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype IN ('a', 'i') "
        "WHERE n.nspname = 'public' AND c.relkind = 'S'")).all()
    for seq in sequences:
        connection.exec_driver_sql(f"REVOKE ALL ON SEQUENCE {_quote(seq.relname)} FROM PUBLIC, {everyone}")
        owner_table = (seq.owner_table or "").strip('"')
        users = [g for g in GROUP_ROLES.values()
                 if "INSERT" in want.privileges.get((g, owner_table), frozenset())]
        if users:
            connection.exec_driver_sql(
                f"GRANT USAGE ON SEQUENCE {_quote(seq.relname)} TO {', '.join(_quote(u) for u in users)}")
    # row-level security
    writers = writer_roles()
    bound = area_bound_roles()
    forcewide = sorted(GROUP_ROLES[r] for r in writers - bound)
    own_area = sorted(GROUP_ROLES[r] for r in bound)
    for table in sorted(want.rls_tables):
        quoted = _quote(table)
        connection.exec_driver_sql(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
        present = connection.execute(text(
            "SELECT policyname FROM pg_policies WHERE schemaname = 'public' AND tablename = :t"),
            {"t": table}).scalars().all()
        for policy in present:
            if policy.startswith("vigil_"):
                connection.exec_driver_sql(f"DROP POLICY {_quote(policy)} ON {quoted}")
        readable = READABLE.get(table, "true")
        connection.exec_driver_sql(
            f"CREATE POLICY vigil_read ON {quoted} FOR SELECT TO {everyone} USING ({readable})")
        if table in AGENDA_GUARDED:
            viewers = ", ".join(sorted(GROUP_ROLES[r] for r in agenda_viewers()))
            connection.exec_driver_sql(
                f"CREATE POLICY vigil_agenda_insert ON {quoted} FOR INSERT TO {viewers} "
                "WITH CHECK (true)")
            connection.exec_driver_sql(
                f"CREATE POLICY vigil_agenda_update ON {quoted} FOR UPDATE TO {viewers} "
                "USING (true) WITH CHECK (true)")
            connection.exec_driver_sql(
                f"CREATE POLICY vigil_agenda_delete ON {quoted} FOR DELETE TO {viewers} USING (true)")
        for scope, groups, rule in (("forcewide", forcewide, "true"),
                                    ("own_area", own_area, f"{_area_expr(table)} = vigil_user_area()")):
            if not groups:
                continue
            to = ", ".join(groups)
            connection.exec_driver_sql(
                f"CREATE POLICY vigil_{scope}_insert ON {quoted} FOR INSERT TO {to} "
                f"WITH CHECK ({rule})")
            connection.exec_driver_sql(
                f"CREATE POLICY vigil_{scope}_update ON {quoted} FOR UPDATE TO {to} "
                f"USING ({rule}) WITH CHECK ({rule})")
            connection.exec_driver_sql(
                f"CREATE POLICY vigil_{scope}_delete ON {quoted} FOR DELETE TO {to} "
                f"USING ({rule})")
    # triggers
    def trigger(table: str, name: str, definition: str) -> None:
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {_quote(table)}")
        connection.exec_driver_sql(f"CREATE {definition}")

    trigger("audit_event", "audit_event_no_change",
            "TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION vigil_append_only()")
    trigger("audit_event", "audit_event_no_truncate",
            "TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION vigil_append_only()")
    if "audit_subject" in tables:  # the cases an audit event names: append-only too
        trigger("audit_subject", "audit_subject_no_change",
                "TRIGGER audit_subject_no_change BEFORE UPDATE OR DELETE ON audit_subject "
                "FOR EACH ROW EXECUTE FUNCTION vigil_append_only()")
        trigger("audit_subject", "audit_subject_no_truncate",
                "TRIGGER audit_subject_no_truncate BEFORE TRUNCATE ON audit_subject "
                "FOR EACH STATEMENT EXECUTE FUNCTION vigil_append_only()")
    connection.exec_driver_sql("DROP FUNCTION IF EXISTS audit_event_append_only()")
    trigger("audit_event", "vigil_audit_stamp",
            "TRIGGER vigil_audit_stamp BEFORE INSERT ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION vigil_audit_stamp()")
    trigger("audit_event", "vigil_audit_link",
            "CONSTRAINT TRIGGER vigil_audit_link AFTER INSERT ON audit_event "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION vigil_audit_link()")
    for table in ("audit_chain", "policy_version"):
        trigger(table, "vigil_append_only",
                f"TRIGGER vigil_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION vigil_append_only()")
    if not live:  # none of these on a training, synthetic or evaluation database
        for table in tables:
            for name in ("vigil_row_audit", "vigil_agenda_guard",
                         *(f"vigil_stamp_{by}" for t, by, _ in STAMPED if t == table)):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {_quote(table)}")
    for table, guarded in AGENDA_GUARDED.items():
        present = [c for c in guarded if c in columns.get(table, set())]
        if live and table in tables and present:
            arguments = ", ".join(f"'{c}'" for c in present)
            trigger(table, "vigil_agenda_guard",
                    f"TRIGGER vigil_agenda_guard BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION vigil_agenda_guard({arguments})")
    trigger("app_user", "vigil_no_self_change",
            "TRIGGER vigil_no_self_change BEFORE UPDATE ON app_user "
            "FOR EACH ROW EXECUTE FUNCTION vigil_no_self_change()")
    for table in tables if live else []:
        if table not in NOT_ROW_AUDITED:
            trigger(table, "vigil_row_audit",
                    f"TRIGGER vigil_row_audit AFTER INSERT OR UPDATE OR DELETE ON {_quote(table)} "
                    "FOR EACH ROW EXECUTE FUNCTION vigil_row_audit()")
    for table, by_col, at_col in STAMPED if live else ():
        if table in tables:
            trigger(table, f"vigil_stamp_{by_col}",
                    f"TRIGGER vigil_stamp_{by_col} BEFORE INSERT OR UPDATE ON {_quote(table)} "
                    f"FOR EACH ROW EXECUTE FUNCTION vigil_stamp_actor('{by_col}', '{at_col}')")


def install(connection: Any) -> None:
    """(Re)create the defences of this database, idempotently."""
    if connection.dialect.name == "postgresql":
        _install_postgresql(connection)
        return
    for _name, statement in sqlite_statements():
        connection.exec_driver_sql(statement)


def verify(connection: Any) -> list[str]:
    """What is missing or changed compared with :func:`install`, each naming
    the object; empty when all is in place."""
    if connection.dialect.name != "postgresql":
        present = set(connection.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        return [f"trigger {name} is missing" for name, _ in sqlite_statements()
                if name not in present]
    problems: list[str] = []
    roles = {row.rolname: row for row in connection.execute(text(
        "SELECT rolname, rolcanlogin, rolsuper, rolbypassrls FROM pg_roles "
        "WHERE rolname LIKE 'vigil\\_%'"))}
    for name in (OWNER_ROLE, *GROUP_ROLES.values()):
        row = roles.get(name)
        if row is None:
            problems.append(f"role {name} is missing")
        elif row.rolcanlogin or row.rolsuper or row.rolbypassrls:
            problems.append(f"role {name} may log in, is superuser or bypasses row-level security")
    if problems:
        return problems
    tables = _vigil_tables(connection)
    for table in tables:
        owner = connection.execute(text(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = CAST(:t AS regclass)"),
            {"t": _quote(table)}).scalar()
        if owner != OWNER_ROLE:
            problems.append(f"table {table} is owned by {owner}, not {OWNER_ROLE}")
    columns = {t: _columns(connection, t) for t in tables}
    want = expected(tables, columns, live=is_live(connection))
    for (group, table), granted in sorted(want.privileges.items()):
        for privilege in CHECKED_PRIVILEGES:
            has = connection.execute(text("SELECT has_table_privilege(:r, :t, :p)"),
                                     {"r": group, "t": _quote(table), "p": privilege}).scalar()
            if has and privilege not in granted:
                problems.append(f"grant {privilege} on {table} to {group} is not expected")
            elif not has and privilege in granted:
                problems.append(f"grant {privilege} on {table} to {group} is missing")
    rls_on = {row.relname: row.relrowsecurity for row in connection.execute(text(
        "SELECT relname, relrowsecurity FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"))}
    for table in sorted(want.rls_tables):
        if not rls_on.get(table):
            problems.append(f"row-level security on {table} is off")
    policies = {(row.tablename, row.policyname) for row in connection.execute(text(
        "SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'public'"))}
    for table, policy in sorted(want.policies - policies):
        problems.append(f"policy {policy} on {table} is missing")
    triggers = {(row.relname, row.tgname): row.tgenabled for row in connection.execute(text(
        "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c "
        "ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"))}
    for table, name in sorted(want.triggers):
        state = triggers.get((table, name))
        if state is None:
            problems.append(f"trigger {name} on {table} is missing")
        elif state == "D":
            problems.append(f"trigger {name} on {table} is disabled")
    present = set(connection.execute(text(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = 'public'")).scalars())
    for signature in ALL_FUNCTIONS:
        if signature not in present:
            problems.append(f"function {signature} is missing")
    return problems
