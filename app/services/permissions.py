"""Who may do what. One table, checked by every service action.

Areas: supervisors and officers change cases of their own area command only;
analysts and auditors work force-wide (read). A trainer acts only on a
training database, as the role they demonstrate. The administrator manages
users and the force policy and sees no case data; the importer is the nightly
RMS import's login. On PostgreSQL the same table is enforced by the database
(app.dbsecurity_model derives its grants and row-level security from it).
"""

from __future__ import annotations

from enum import StrEnum

from models.enums import Role


class Permission(StrEnum):
    VIEW_CASE = "view_case"
    EDIT_CASE = "edit_case"
    APPROVE_RISK_DOWNGRADE = "approve_risk_downgrade"
    VIEW_DMM = "view_dmm"
    VIEW_WORKLIST = "view_worklist"
    DECIDE_DMM = "decide_dmm"
    VIEW_BREACHES = "view_breaches"
    RECORD_BREACH = "record_breach"
    ACT_ON_BREACH = "act_on_breach"
    MANAGE_ORDERS = "manage_orders"
    RUN_SCREENING = "run_screening"
    RAISE_FLAG = "raise_flag"
    DECIDE_FLAG = "decide_flag"
    VIEW_SCREENING = "view_screening"
    VIEW_ASSURANCE = "view_assurance"
    IMPORT = "import"
    EXPORT = "export"
    VIEW_AUDIT = "view_audit"
    SEARCH = "search"
    REVIEW_RETENTION = "review_retention"
    ERASE_CASE = "erase_case"
    MANAGE_USERS = "manage_users"
    SET_POLICY = "set_policy"
    VERIFY_AUDIT = "verify_audit"
    RESTRICT_CASE = "restrict_case"
    DRAW_SAMPLE = "draw_sample"
    REVIEW_SAMPLE = "review_sample"
    VIEW_SAMPLES = "view_samples"
    EDIT_ACTION_PLAN = "edit_action_plan"
    VIEW_ACTION_PLAN = "view_action_plan"


_S, _A, _O, _U = Role.SUPERVISOR, Role.ANALYST, Role.OFFICER, Role.AUDITOR
_ADMIN, _I = Role.ADMIN, Role.IMPORTER

ALLOWED: dict[Permission, frozenset[Role]] = {
    Permission.VIEW_CASE: frozenset({_S, _A, _O, _U}),
    Permission.EDIT_CASE: frozenset({_S, _O}),
    Permission.APPROVE_RISK_DOWNGRADE: frozenset({_S}),
    Permission.VIEW_DMM: frozenset({_S, _A, _U}),
    # the work queue of standing gaps: officers see their own area's teams
    Permission.VIEW_WORKLIST: frozenset({_S, _A, _O, _U}),
    Permission.DECIDE_DMM: frozenset({_S}),
    Permission.VIEW_BREACHES: frozenset({_S, _A, _O, _U}),
    Permission.RECORD_BREACH: frozenset({_S, _O}),
    Permission.ACT_ON_BREACH: frozenset({_S}),
    Permission.MANAGE_ORDERS: frozenset({_S, _O}),
    Permission.RUN_SCREENING: frozenset({_A}),
    Permission.RAISE_FLAG: frozenset({_A}),
    Permission.DECIDE_FLAG: frozenset({_S}),
    Permission.VIEW_SCREENING: frozenset({_S, _A, _U}),
    Permission.VIEW_ASSURANCE: frozenset({_S, _A, _U}),
    Permission.IMPORT: frozenset({_A, _I}),
    Permission.EXPORT: frozenset({_S, _A, _U}),
    Permission.VIEW_AUDIT: frozenset({_S, _U}),
    Permission.SEARCH: frozenset({_S, _A, _O, _U}),
    # MoPI: the force's reviewers (auditors) decide retain or dispose; only an
    # administrator erases, and only a case a reviewer decided to dispose of
    Permission.REVIEW_RETENTION: frozenset({_U, _ADMIN}),
    Permission.ERASE_CASE: frozenset({_ADMIN}),
    # administration: users and the force policy; the administrator sees no case data
    Permission.MANAGE_USERS: frozenset({_ADMIN}),
    Permission.SET_POLICY: frozenset({_ADMIN}),
    Permission.VERIFY_AUDIT: frozenset({_U, _ADMIN}),
    # mark a case restricted (an officer or member of staff involved), name who may see it
    Permission.RESTRICT_CASE: frozenset({_S}),
    # dip sampling: analysts and auditors draw samples of case files; auditors
    # (the force's reviewers) review them against the checklist, never their own cases
    Permission.DRAW_SAMPLE: frozenset({_A, _U}),
    Permission.REVIEW_SAMPLE: frozenset({_U}),
    Permission.VIEW_SAMPLES: frozenset({_S, _A, _U}),
    # the action plan: texts, owners, status and dated updates; the
    # administrator edits it too but attaches no figures (sees no case data)
    Permission.EDIT_ACTION_PLAN: frozenset({_A, _ADMIN}),
    Permission.VIEW_ACTION_PLAN: frozenset({_S, _A, _U, _ADMIN}),
}

# Permissions limited to the user's own area command (for roles that have one).
AREA_BOUND: frozenset[Permission] = frozenset(
    {
        Permission.EDIT_CASE,
        Permission.DECIDE_DMM,
        Permission.RECORD_BREACH,
        Permission.ACT_ON_BREACH,
        Permission.MANAGE_ORDERS,
        Permission.APPROVE_RISK_DOWNGRADE,
        Permission.DECIDE_FLAG,
        Permission.VIEW_WORKLIST,
        Permission.RESTRICT_CASE,
    }
)


def is_allowed(role: str, permission: Permission, *, user_area: str | None,
               target_area: str | None) -> bool:
    """Pure check: may ``role`` (already resolved for training) do ``permission``
    on something in ``target_area``?"""
    try:
        as_role = Role(role)
    except ValueError:
        return False
    if as_role not in ALLOWED[permission]:
        return False
    if permission in AREA_BOUND and target_area is not None and user_area is not None:
        return user_area == target_area
    return True


# --- refusals in words ----------------------------------------------------------
# what a permission lets someone do (after "cannot") and the verb for whoever may
ACTION_WORDS: dict[Permission, tuple[str, str]] = {
    Permission.EDIT_CASE: ("change cases", "changes them"),
    Permission.APPROVE_RISK_DOWNGRADE: ("approve risk downgrades", "approves them"),
    Permission.DECIDE_DMM: ("record DMM decisions, actions or discussed marks", "records them"),
    Permission.RECORD_BREACH: ("record breaches", "records them"),
    Permission.ACT_ON_BREACH: ("acknowledge, escalate or ask to re-assess breaches",
                               "does"),
    Permission.MANAGE_ORDERS: ("record orders", "records them"),
    Permission.RUN_SCREENING: ("run screening", "runs it"),
    Permission.RAISE_FLAG: ("flag crimes for reclassification", "flags them"),
    Permission.DECIDE_FLAG: ("decide screening flags", "decides"),
    Permission.EXPORT: ("save or export case data", "exports it"),
    Permission.REVIEW_SAMPLE: ("review sampled files", "reviews them"),
    Permission.DRAW_SAMPLE: ("draw dip samples", "draws them"),
    Permission.EDIT_ACTION_PLAN: ("update the action plan", "updates it"),
    Permission.RESTRICT_CASE: ("restrict cases", "restricts them"),
}

ROLE_WORDS: dict[str, tuple[str, str]] = {  # (one, many)
    Role.SUPERVISOR: ("a supervisor", "Supervisors"),
    Role.ANALYST: ("an analyst", "Analysts"),
    Role.TRAINER: ("a trainer", "Trainers"),
    Role.OFFICER: ("an officer", "Officers"),
    Role.AUDITOR: ("an auditor", "Auditors"),
    Role.ADMIN: ("an administrator", "Administrators"),
    Role.IMPORTER: ("the import login", "The import login"),
}


def refusal(role: str, permission: Permission, *, user_area: str | None = None,
            target_area: str | None = None) -> str | None:
    """Why ``role`` may not do ``permission`` (in ``target_area``), in words,
    and who may: "Analysts cannot decide screening flags; a supervisor of the
    area decides". None when it is allowed."""
    if is_allowed(role, permission, user_area=user_area, target_area=target_area):
        return None
    what, verb = ACTION_WORDS.get(permission, (permission.value.replace("_", " "), "does"))
    many = ROLE_WORDS.get(role, (role, role.capitalize() + "s"))[1]
    bound = permission in AREA_BOUND
    if bound and is_allowed(role, permission, user_area=None, target_area=None):
        return (f"{many} of {user_area} cannot {what} for {target_area}; "
                f"a {role} of {target_area} {verb}")
    who = [ROLE_WORDS.get(r, (r.value, r.value))[0]
           for r in ALLOWED[permission] if r not in (Role.IMPORTER,)]
    who.sort()
    people = " or ".join(who) if len(who) <= 2 else ", ".join(who[:-1]) + " or " + who[-1]
    where = " of the area" if bound else ""
    return f"{many} cannot {what}; {people}{where} {verb}"
