"""The server-side functions of a PostgreSQL database (``SECURITY DEFINER``
where they read what the caller may not): who is asking and their area, the
audit stamps and the row audit, the append-only guards, the agenda guard,
login administration and the erasure of a case. ``__CANON__`` and the other
markers are filled in by :func:`app.dbsecurity.install`."""

from __future__ import annotations

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
