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
is missing or changed, by name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

from app.errors import DatabaseUnavailable
from app.services.permissions import ALLOWED, AREA_BOUND, Permission
from models.enums import Role

OWNER_ROLE = "vigil_owner"
GROUP_ROLES: dict[str, str] = {
    Role.SUPERVISOR.value: "vigil_supervisor",
    Role.ANALYST.value: "vigil_analyst",
    Role.OFFICER.value: "vigil_officer",
    Role.AUDITOR.value: "vigil_auditor",
    Role.ADMIN.value: "vigil_admin",
    Role.IMPORTER.value: "vigil_importer",
}
# Login roles of an authenticating web front (`vigil serve`) that may SET ROLE
# to a person's login: the audit then names the person, not the front.
FRONT_ROLE = "vigil_front"

# Permissions that change data (everything else only reads).
WRITE_PERMISSIONS: frozenset[Permission] = frozenset({
    Permission.EDIT_CASE, Permission.APPROVE_RISK_DOWNGRADE, Permission.DECIDE_DMM,
    Permission.RECORD_BREACH, Permission.ACT_ON_BREACH, Permission.MANAGE_ORDERS,
    Permission.RUN_SCREENING, Permission.RAISE_FLAG, Permission.DECIDE_FLAG, Permission.IMPORT,
    Permission.RESTRICT_CASE,
})

# Tables only the owner (migrations) and the administration functions write.
GOVERNANCE_TABLES = ("app_meta", "app_user", "audit_event", "audit_chain", "policy_version",
                     "alembic_version", "audit_subject", "retention_decision",
                     "dip_sample", "dip_sample_file", "dip_finding",
                     "recommendation", "recommendation_update")
# Dip samples: drawn by analysts and auditors, reviewed by auditors.
SAMPLE_TABLES = ("dip_sample", "dip_sample_file", "dip_finding")
# The action plan: edited by analysts and the administrator.
ACTION_PLAN_TABLES = ("recommendation", "recommendation_update")
# Append-only parts of the audit log every runtime role adds to (never changes).
AUDIT_APPEND_TABLES = ("audit_event", "audit_subject")
# Reference data an administrator loads (organisation, classifications).
REFERENCE_TABLES = ("classification",)
# What the administrator reads (no case data).
ADMIN_READS = ("app_meta", "app_user", "audit_event", "audit_chain", "policy_version",
               "alembic_version", "classification", *ACTION_PLAN_TABLES)

# Row-level security: how a row of each table finds its area command.
AREA_OF: dict[str, str] = {
    "crime_case": "area_command",
    "dmm_meeting": "area_command",
    "breach": "vigil_case_area(original_case_id)",
}
# Rows a role reads (row-level security); every other table: all rows.
READABLE: dict[str, str] = {
    "crime_case": "NOT restricted OR vigil_may_see_case(id)",
}
# Tables hanging off a case by ``case_id`` get the case's area.
CASE_AREA = "vigil_case_area(case_id)"

# Decision columns whose "who" and "when" the server sets on a live database.
STAMPED: tuple[tuple[str, str, str], ...] = (
    ("risk_assessment", "approved_by", "approved_at"),
    ("breach", "acknowledged_by", "acknowledged_at"),
    ("breach", "escalated_by", "escalated_at"),
    ("dmm_item", "decided_by", "decided_at"),
    ("dmm_item", "discussed_by", "discussed_at"),
    ("screening_flag", "decided_by", "decided_at"),
    ("spo_decision", "decided_by", "decided_at"),
    ("dmm_action", "created_by", "created_at"),
)

# The stored DMM agendas: a cache of the queue that whoever views the queue
# writes (supervisors of any area, analysts, auditors); what a meeting
# decided in them is guarded by vigil_agenda_guard (a supervisor of the area).
AGENDA_GUARDED: dict[str, tuple[str, ...]] = {
    "dmm_meeting": ("chaired_by", "closed_at"),
    "dmm_item": ("decision", "rationale", "decided_by", "decided_at", "discussed_at",
                 "discussed_by"),
}

# Tables not audited row by row (the audit log itself, Alembic's bookkeeping).
NOT_ROW_AUDITED = ("audit_event", "audit_chain", "alembic_version", "audit_subject",
                   "ref_sequence")

NULL_MARK = "\u2400"
SEPARATOR = "\u241f"
AUDIT_COLUMNS = ("id", "at", "username", "role", "action", "entity", "entity_id", "reason",
                 "before", "after", "policy_version")


def writer_roles() -> frozenset[str]:
    return frozenset(r.value for p in WRITE_PERMISSIONS for r in ALLOWED[p]) | {Role.IMPORTER.value}


def agenda_viewers() -> frozenset[str]:
    """Roles that view the DMM queue, and so write its stored agenda."""
    return frozenset(r.value for r in ALLOWED[Permission.VIEW_DMM])


def area_bound_roles() -> frozenset[str]:
    """Roles all of whose changes are bound to their own area command."""
    bound: set[str] = set()
    for role in writer_roles():
        held = [p for p in WRITE_PERMISSIONS if role in {r.value for r in ALLOWED[p]}]
        if held and all(p in AREA_BOUND for p in held):
            bound.add(role)
    return frozenset(bound)


def canonical_sql(dialect: str, prefix: str = "") -> str:
    """SQL giving an audit event's canonical text (hashed into the chain);
    ``prefix`` is ``NEW.`` in a trigger or a table alias."""
    parts: list[str] = []
    for column in AUDIT_COLUMNS:
        quoted = '"before"' if column == "before" else column
        ref = f"{prefix}{quoted}"
        if column == "at":
            expr = (f"to_char({ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
                    if dialect == "postgresql" else f"CAST({ref} AS TEXT)")
        else:
            expr = f"CAST({ref} AS TEXT)"
        parts.append(f"coalesce({expr}, '{NULL_MARK}')")
    return f" || '{SEPARATOR}' || ".join(parts)


def link_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------
# SQLite
# --------------------------------------------------------------------------

def _sqlite_statements() -> list[tuple[str, str]]:
    canon = canonical_sql("sqlite", "NEW.")
    # built from column names only, no input
    chain = " ".join((
        "CREATE TRIGGER IF NOT EXISTS audit_event_chain AFTER INSERT ON audit_event BEGIN",
        "INSERT INTO audit_chain (seq, audit_id, prev_hash, hash)",
        "SELECT coalesce((SELECT max(seq) FROM audit_chain), 0) + 1, NEW.id, p.h,",
        f"vigil_sha256(p.h || {canon})",
        "FROM (SELECT coalesce((SELECT hash FROM audit_chain ORDER BY seq DESC LIMIT 1), '')",
        "AS h) p; END"))
    stmts = [
        ("audit_event_no_update",
         "CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event "
         "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END"),
        ("audit_event_no_delete",
         "CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event "
         "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END"),
        ("audit_event_chain", chain),
    ]
    for table in ("audit_chain", "policy_version"):
        for op in ("UPDATE", "DELETE"):
            name = f"{table}_no_{op.lower()}"
            stmts.append((name, f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {table} "
                                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"))
    return stmts


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


FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION vigil_is_live() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce((SELECT value = 'live' FROM app_meta WHERE key = 'database_kind'), true)
$$;

-- The person acting: their login, or, through an authenticating web front
-- that SET ROLE to the person's login, that login.
CREATE OR REPLACE FUNCTION vigil_login() RETURNS text
LANGUAGE sql STABLE AS $$
  -- the role GUC, not current_user: inside SECURITY DEFINER functions
  -- current_user is the owner
  SELECT CASE WHEN current_setting('role') <> 'none'
               AND pg_has_role(session_user, 'vigil_front', 'MEMBER')
              THEN current_setting('role') ELSE session_user::text END
$$;

CREATE OR REPLACE FUNCTION vigil_user_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT role FROM app_user WHERE username = vigil_login() AND active
$$;

CREATE OR REPLACE FUNCTION vigil_user_area() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT area_command FROM app_user WHERE username = vigil_login() AND active
$$;

CREATE OR REPLACE FUNCTION vigil_case_area(case_key integer) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT area_command FROM crime_case WHERE id = case_key
$$;

-- Restricted cases: content for the named users, auditors and the importer only.
CREATE OR REPLACE FUNCTION vigil_may_see_case(case_key integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT pg_has_role(vigil_login(), 'vigil_auditor', 'MEMBER')
      OR pg_has_role(vigil_login(), 'vigil_importer', 'MEMBER')
      OR EXISTS (SELECT 1 FROM case_access a
                  WHERE a.case_id = case_key AND a.username = vigil_login())
$$;

-- That a restricted case exists, and whom to ask: for everyone.
CREATE OR REPLACE FUNCTION vigil_restricted_contact(ref text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(restricted_contact, area_command || ' area command')
    FROM crime_case WHERE crime_ref = ref AND restricted
$$;

-- Every audit event written on a live database names the login and carries
-- the server's clock, whatever the client wrote.
CREATE OR REPLACE FUNCTION vigil_audit_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF vigil_is_live() THEN
    NEW.at := clock_timestamp();
    NEW.username := left(vigil_login(), 64);
    NEW.role := left(coalesce(vigil_user_role(), 'db:' || current_user::text), 16);
  END IF;
  RETURN NEW;
END $$;

-- The hash chain: one link per audit event, at commit, one transaction at a time.
CREATE OR REPLACE FUNCTION vigil_audit_link() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  last_seq integer;
  last_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(762105, 1);
  SELECT seq, hash INTO last_seq, last_hash FROM audit_chain ORDER BY seq DESC LIMIT 1;
  INSERT INTO audit_chain (seq, audit_id, prev_hash, hash)
  VALUES (coalesce(last_seq, 0) + 1, NEW.id, coalesce(last_hash, ''),
          encode(sha256(convert_to(coalesce(last_hash, '') || (__CANON__), 'UTF8')), 'hex'));
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION vigil_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;

-- Row audit on a live database: what changed, by whom, when (server clock).
CREATE OR REPLACE FUNCTION vigil_row_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  old_row jsonb;
  new_row jsonb;
  changed_old jsonb;
  changed_new jsonb;
  row_key jsonb;
BEGIN
  IF NOT vigil_is_live() THEN
    RETURN NULL;
  END IF;
  old_row := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
  new_row := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
  row_key := coalesce(new_row, old_row);
  IF TG_OP = 'UPDATE' THEN
    SELECT jsonb_object_agg(o.key, o.value), jsonb_object_agg(o.key, new_row -> o.key)
      INTO changed_old, changed_new
      FROM jsonb_each(old_row) o WHERE new_row -> o.key IS DISTINCT FROM o.value;
    IF changed_old IS NULL THEN
      RETURN NULL;
    END IF;
  ELSE
    changed_old := old_row;
    changed_new := new_row;
  END IF;
  INSERT INTO audit_event (at, username, role, action, entity, entity_id, reason, "before", "after")
  VALUES (clock_timestamp(), left(vigil_login(), 64), 'db', 'row_' || lower(TG_OP),
          TG_TABLE_NAME,
          left(coalesce(row_key ->> 'crime_ref', row_key ->> 'id', row_key ->> 'case_id',
                        row_key ->> 'key', row_key ->> 'version', row_key ->> 'code'), 64),
          'row changed in the database', changed_old::json, changed_new::json);
  RETURN NULL;
END $$;

-- Who decided and when: set by the server on a live database.
CREATE OR REPLACE FUNCTION vigil_stamp_actor() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  by_col text := TG_ARGV[0];
  at_col text := TG_ARGV[1];
  new_row jsonb;
  old_by text;
BEGIN
  IF NOT vigil_is_live() THEN
    RETURN NEW;
  END IF;
  new_row := to_jsonb(NEW);
  old_by := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) ->> by_col END;
  IF new_row ->> by_col IS NULL
     OR new_row ->> by_col IS NOT DISTINCT FROM old_by THEN
    RETURN NEW;
  END IF;
  NEW := jsonb_populate_record(NEW, jsonb_build_object(by_col, left(vigil_login(), 64),
                                                       at_col, now()));
  new_row := to_jsonb(NEW);
  IF by_col = 'approved_by' AND new_row ? 'assessor'
     AND new_row ->> 'approved_by' = new_row ->> 'assessor' THEN
    RAISE EXCEPTION 'four-eyes: % assessed this risk and may not approve its downgrade',
      new_row ->> 'assessor';
  END IF;
  RETURN NEW;
END $$;

-- What a meeting decided (TG_ARGV: the columns) only a supervisor of the area
-- records, changes or removes; the rest of a stored agenda is a cache.
CREATE OR REPLACE FUNCTION vigil_agenda_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
  new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
  any_row jsonb := coalesce(to_jsonb(NEW), to_jsonb(OLD));
  col text;
  area text;
  touched boolean := false;
BEGIN
  IF vigil_is_live() THEN
    FOREACH col IN ARRAY TG_ARGV LOOP
      IF (old_row ->> col) IS DISTINCT FROM (new_row ->> col) THEN
        touched := true;
      END IF;
    END LOOP;
  END IF;
  IF touched THEN
    area := CASE WHEN any_row ? 'area_command' THEN any_row ->> 'area_command'
                 ELSE vigil_case_area((any_row ->> 'case_id')::integer) END;
    IF coalesce(vigil_user_role(), '') <> 'supervisor' OR area IS DISTINCT FROM vigil_user_area() THEN
      RAISE EXCEPTION 'only a supervisor of % records, changes or removes what a meeting decided',
        coalesce(area, 'the area');
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;

-- Nobody changes their own role, area or active flag, not even an administrator.
CREATE OR REPLACE FUNCTION vigil_no_self_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.username = vigil_login() AND (NEW.role IS DISTINCT FROM OLD.role
      OR NEW.area_command IS DISTINCT FROM OLD.area_command
      OR NEW.active IS DISTINCT FROM OLD.active OR NEW.username IS DISTINCT FROM OLD.username) THEN
    RAISE EXCEPTION '% may not change their own Vigil user', OLD.username;
  END IF;
  RETURN NEW;
END $$;

-- Administration of logins: only for members of vigil_admin; only the Vigil
-- group roles are ever granted; never a superuser or an owner.
CREATE OR REPLACE FUNCTION vigil_admin_set_login(login text, vigil_role text, active boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  target record;
  group_name text;
BEGIN
  IF NOT pg_has_role(session_user, 'vigil_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'only a Vigil administrator may change logins';
  END IF;
  IF login LIKE 'vigil\_%' OR login LIKE 'pg\_%' OR login IN ('postgres', 'public') THEN
    RAISE EXCEPTION 'login % is reserved for the database', login;
  END IF;
  IF vigil_role NOT IN (__ROLE_NAMES__) THEN
    RAISE EXCEPTION 'unknown Vigil role %', vigil_role;
  END IF;
  SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb,
         pg_has_role(oid, 'vigil_owner', 'MEMBER') AS owner
    INTO target FROM pg_roles WHERE rolname = login;
  IF FOUND AND (target.rolsuper OR target.rolbypassrls OR target.rolcreaterole
                OR target.rolcreatedb OR target.owner) THEN
    RAISE EXCEPTION 'login % is a database administrator and cannot be a Vigil person', login;
  END IF;
  IF NOT FOUND THEN
    EXECUTE format('CREATE ROLE %I LOGIN', login);
  END IF;
  IF active THEN
    EXECUTE format('ALTER ROLE %I LOGIN', login);
    -- an authenticating web front (vigil serve) may act as the person
    EXECUTE format('GRANT %I TO vigil_front', login);
  ELSE
    EXECUTE format('ALTER ROLE %I NOLOGIN', login);
    IF pg_has_role('vigil_front', login, 'MEMBER') THEN
      EXECUTE format('REVOKE %I FROM vigil_front', login);
    END IF;
  END IF;
  FOREACH group_name IN ARRAY ARRAY[__GROUP_NAMES__] LOOP
    IF group_name <> 'vigil_' || vigil_role AND pg_has_role(login, group_name, 'MEMBER') THEN
      EXECUTE format('REVOKE %I FROM %I', group_name, login);
    END IF;
  END LOOP;
  EXECUTE format('GRANT %I TO %I', 'vigil_' || vigil_role, login);
END $$;

-- MoPI erasure (app.services.retention.erase_case) for an administrator, who
-- reads no case data: only a case a reviewer other than the eraser decided to
-- dispose of, never one linked to other records. The case's rows go; the
-- audit log stays (the caller writes the erasure's event, with the stub this
-- returns, in the same transaction).
CREATE OR REPLACE FUNCTION vigil_erase_case(ref text, eraser text, why text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  target crime_case%ROWTYPE;
  latest record;
  orders integer;
  stub jsonb;
BEGIN
  IF NOT pg_has_role(session_user, 'vigil_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'only a Vigil administrator may erase a case';
  END IF;
  SELECT * INTO target FROM crime_case WHERE crime_ref = ref FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'crime % is not in Vigil', ref;
  END IF;
  SELECT decision, decided_by, decided_at, reason INTO latest FROM retention_decision
   WHERE crime_ref = ref ORDER BY decided_at DESC, id DESC LIMIT 1;
  IF NOT FOUND OR latest.decision <> 'dispose' THEN
    RAISE EXCEPTION '%: no reviewer has decided to dispose of it (vigil retention decide REF --dispose --reason ...)', ref;
  END IF;
  IF latest.decided_by IN (eraser, vigil_login()) THEN
    RAISE EXCEPTION '%: the reviewer who decided disposal may not also erase it', ref;
  END IF;
  IF EXISTS (SELECT 1 FROM crime_case WHERE linked_case_id = target.id)
     OR EXISTS (SELECT 1 FROM breach WHERE original_case_id = target.id
                                        OR breach_case_id = target.id) THEN
    RAISE EXCEPTION '% is linked to other records: review and erase them together, the breaches first', ref;
  END IF;
  SELECT count(*) INTO orders FROM protective_order WHERE case_id = target.id;
  stub := jsonb_build_object(
    'crime_ref', target.crime_ref, 'reported_at', target.reported_at,
    'area_command', target.area_command, 'principal_code', target.principal_code,
    'status', target.status, 'closed_at', target.closed_at,
    'victim_ref', (SELECT person_ref FROM person WHERE id = target.victim_id),
    'suspect_ref', (SELECT person_ref FROM person WHERE id = target.suspect_id),
    'decided_by', latest.decided_by, 'decided_at', latest.decided_at,
    'decision_reason', latest.reason, 'orders_erased', orders);
  DELETE FROM dmm_action WHERE case_id = target.id
     OR item_id IN (SELECT id FROM dmm_item WHERE case_id = target.id);
__ERASE_DELETES__
  DELETE FROM crime_case WHERE id = target.id;
  INSERT INTO retention_decision (crime_ref, decision, reason, decided_by, decided_at)
  VALUES (ref, 'erased', why, eraser, clock_timestamp());
  RETURN stub;
END $$;

-- A refused logon is audited even for a login that may do nothing else.
CREATE OR REPLACE FUNCTION vigil_record_refused_logon(why text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  INSERT INTO audit_event (at, username, role, action, entity, entity_id, reason)
  VALUES (clock_timestamp(), left(session_user::text, 64), 'none', 'denied', 'logon', NULL,
          left(why, 500))
$$;
"""

DEFINER_FUNCTIONS = ("vigil_is_live()", "vigil_user_role()", "vigil_user_area()",
                     "vigil_case_area(integer)", "vigil_may_see_case(integer)",
                     "vigil_restricted_contact(text)", "vigil_audit_link()",
                     "vigil_admin_set_login(text,text,boolean)",
                     "vigil_record_refused_logon(text)", "vigil_erase_case(text,text,text)")
ALL_FUNCTIONS = (*DEFINER_FUNCTIONS, "vigil_login()", "vigil_audit_stamp()",
                 "vigil_append_only()", "vigil_row_audit()", "vigil_stamp_actor()",
                 "vigil_no_self_change()", "vigil_agenda_guard()")


@dataclass(frozen=True)
class Expected:
    """What :func:`install` makes on PostgreSQL, for :func:`verify`."""

    privileges: dict[tuple[str, str], frozenset[str]]  # (group role, table) -> privileges
    rls_tables: frozenset[str]
    policies: frozenset[tuple[str, str]]  # (table, policy)
    triggers: frozenset[tuple[str, str]]  # (table, trigger)


CHECKED_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def expected(tables: list[str], columns: dict[str, set[str]], *, live: bool = True) -> Expected:
    """``live``: the row audit, the server's stamps and the agenda guard are
    installed on live databases only (they would do nothing elsewhere, at a
    cost on every row of a seed or an import)."""
    writers = writer_roles()
    bound = area_bound_roles()
    privileges: dict[tuple[str, str], frozenset[str]] = {}
    for role, group in GROUP_ROLES.items():
        for table in tables:
            granted: set[str] = set()
            if role == Role.ADMIN.value:
                if table in ADMIN_READS:
                    granted.add("SELECT")
                if table == "app_user":
                    granted |= {"INSERT", "UPDATE"}
                if table == "policy_version":
                    granted.add("INSERT")
            else:
                granted.add("SELECT")
                if role in writers and table not in GOVERNANCE_TABLES \
                        and table not in REFERENCE_TABLES:
                    granted |= {"INSERT", "UPDATE", "DELETE"}
            if table in AUDIT_APPEND_TABLES:
                granted.add("INSERT")
            if table == "retention_decision" and role in {
                    r.value for r in ALLOWED[Permission.REVIEW_RETENTION]}:
                granted |= {"INSERT", "UPDATE"}
            if table in SAMPLE_TABLES and role in {
                    r.value for p in (Permission.DRAW_SAMPLE, Permission.REVIEW_SAMPLE)
                    for r in ALLOWED[p]}:
                granted |= {"INSERT", "UPDATE"}
            if table in ACTION_PLAN_TABLES and role in {
                    r.value for r in ALLOWED[Permission.EDIT_ACTION_PLAN]}:
                granted |= {"INSERT", "UPDATE"}
            if table in AGENDA_GUARDED and role in agenda_viewers():
                granted |= {"INSERT", "UPDATE", "DELETE"}
            privileges[(group, table)] = frozenset(granted)
    rls = {t for t in tables if t in AREA_OF or "case_id" in columns.get(t, set())}
    policies: set[tuple[str, str]] = set()
    for table in rls:
        policies.add((table, "vigil_read"))
        if table in AGENDA_GUARDED:
            for command in ("insert", "update", "delete"):
                policies.add((table, f"vigil_agenda_{command}"))
        for scope, present in (("forcewide", writers - bound), ("own_area", bound)):
            if present:
                for command in ("insert", "update", "delete"):
                    policies.add((table, f"vigil_{scope}_{command}"))
    triggers: set[tuple[str, str]] = {
        ("audit_event", "audit_event_no_change"), ("audit_event", "audit_event_no_truncate"),
        ("audit_event", "vigil_audit_stamp"), ("audit_event", "vigil_audit_link"),
        ("audit_chain", "vigil_append_only"), ("policy_version", "vigil_append_only"),
        ("app_user", "vigil_no_self_change"),
    }
    if live:
        for table in tables:
            if table not in NOT_ROW_AUDITED:
                triggers.add((table, "vigil_row_audit"))
        for table, by_col, _at_col in STAMPED:
            if table in tables:
                triggers.add((table, f"vigil_stamp_{by_col}"))
        for table in AGENDA_GUARDED:
            if table in tables:
                triggers.add((table, "vigil_agenda_guard"))
    if "audit_subject" in tables:
        triggers |= {("audit_subject", "audit_subject_no_change"),
                     ("audit_subject", "audit_subject_no_truncate")}
    return Expected(privileges=privileges, rls_tables=frozenset(rls),
                    policies=frozenset(policies), triggers=frozenset(triggers))


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
    for _name, statement in _sqlite_statements():
        connection.exec_driver_sql(statement)


def verify(connection: Any) -> list[str]:
    """What is missing or changed compared with :func:`install`, each naming
    the object; empty when all is in place."""
    if connection.dialect.name != "postgresql":
        present = set(connection.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        return [f"trigger {name} is missing" for name, _ in _sqlite_statements()
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
