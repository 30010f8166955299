"""What the database enforces, as data: Vigil's owner and group roles, the
tables each role may write (derived from :data:`app.services.permissions.ALLOWED`),
how a row finds its area command for row-level security, the decision
columns the server stamps, and :func:`expected`, the grants, policies and
triggers :func:`app.dbsecurity.install` makes and :func:`app.dbsecurity.verify`
checks."""

from __future__ import annotations

from dataclasses import dataclass

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
