"""The service context: database, clock, policy and the acting user.

Every use case takes a :class:`ServiceContext`. It owns the sessions
(``read()`` / ``write()``), the permission check (``require``) and the audit
log (``audit``). Screens and the CLI build one through
:func:`open_context` and call services only.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC as UTC_
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from app.clock import Clock
from app.db import ASSERTED_IDENTITY_KINDS, EVALUATION, LIVE, TRAINING, Database
from app.errors import BadInput, PermissionDenied
from app.policy import Policy, load_policy
from app.services.permissions import Permission, is_allowed
from app.settings import Settings, login_name
from models import AuditEvent, User
from models.enums import AuditAction, Role


@dataclass(frozen=True)
class Actor:
    """The person using Vigil, as the services see them."""

    username: str
    display_name: str
    role: str  # the role they act in (a trainer's demonstrated role in training)
    area_command: str | None
    real_role: str  # the role on their user record

    @property
    def is_trainer(self) -> bool:
        return self.real_role == Role.TRAINER


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass
class ServiceContext:
    database: Database
    clock: Clock
    policy: Policy
    actor: Actor
    training: bool = False
    # the database's kind (app.db: live, training, synthetic, evaluation)
    kind: str = LIVE
    # the force policy in effect: a stored version number ("3"), "default"
    # (the shipped defaults) or "file:<digest>" (a --policy file, not on live)
    policy_version: str = "default"
    _extra: dict[str, Any] = field(default_factory=dict)

    @property
    def evaluation(self) -> bool:
        return self.kind == EVALUATION

    def now(self) -> datetime:
        return self.clock.now()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.database.read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.database.write() as session:
            yield session

    # --- permissions ----------------------------------------------------
    def allowed(self, permission: Permission, *, area: str | None = None) -> bool:
        if self.actor.is_trainer and not self.training:
            return False
        return is_allowed(
            self.actor.role, permission, user_area=self.actor.area_command, target_area=area
        )

    def require(
        self,
        permission: Permission,
        *,
        area: str | None = None,
        entity: str = "permission",
        entity_id: str | None = None,
    ) -> None:
        """Raise :class:`PermissionDenied` (and audit the attempt) unless allowed."""
        if self.allowed(permission, area=area):
            return
        where = f" in {area}" if area else ""
        reason = f"{permission.value} denied to {self.actor.role} {self.actor.username}{where}"
        with self.write() as session:
            self.audit(session, AuditAction.DENIED, entity, entity_id, reason=reason)
        if self.actor.is_trainer and not self.training:
            raise PermissionDenied("trainers act only on a training database (`vigil demo`)")
        if area and self.actor.area_command and area != self.actor.area_command and is_allowed(
            self.actor.role, permission, user_area=None, target_area=None
        ):
            raise PermissionDenied(
                f"{self.actor.username} ({self.actor.area_command}) may not "
                f"{permission.value.replace('_', ' ')} in {area}"
            )
        raise PermissionDenied(
            f"a {self.actor.role} may not {permission.value.replace('_', ' ')}"
        )

    # --- audit ----------------------------------------------------------
    def audit(
        self,
        session: Session,
        action: AuditAction | str,
        entity: str,
        entity_id: str | int | None = None,
        *,
        reason: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Add an audit event to ``session``'s transaction (DPA 2018 s62)."""
        role = self.actor.role
        if self.actor.is_trainer:
            role = f"trainer:{self.actor.role}"[:16]
        session.add(
            AuditEvent(
                at=self.now(),
                username=self.actor.username,
                role=role,
                action=str(action),
                entity=entity,
                entity_id=None if entity_id is None else str(entity_id),
                reason=reason,
                before=_jsonable(before) if before is not None else None,
                after=_jsonable(after) if after is not None else None,
                policy_version=self.policy_version,
            )
        )

    def describe(self) -> str:
        kind = "TRAINING" if self.training else ("EVALUATION" if self.evaluation else self.kind)
        return f"{self.actor.display_name} ({self.actor.role}, {self.actor.area_command or 'force-wide'}) on {kind} {self.database.safe_url}"


def _refuse_logon(database: Database, username: str, why: str) -> None:
    """Audit a refused logon (the log names the login, never other users)."""
    try:
        with database.write() as session:
            if database.dialect == "postgresql":
                session.execute(text("SELECT vigil_record_refused_logon(:why)"), {"why": why})
            else:
                session.add(AuditEvent(at=datetime.now(UTC_), username=username[:64],
                                       role="none", action=AuditAction.DENIED.value,
                                       entity="logon", reason=why[:500]))
    except Exception:
        return


def resolve_actor(session: Session, username: str, *, demo_role: str | None,
                  training: bool) -> Actor:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        any_user = session.exec(select(User.id).limit(1)).first()
        hint = (" Ask a Vigil administrator to add you (`vigil users add`)." if any_user
                else " The database has no users yet: `vigil db upgrade --admin NAME` "
                "creates the first administrator, who adds people with `vigil users add "
                "NAME --role ROLE --area AREA`; the cases come with `vigil import FOLDER`. "
                "For synthetic data and users: `vigil demo`.")
        raise BadInput(f"{username!r} is not an active Vigil user of this database.{hint}")
    role = user.role
    if demo_role:
        if user.role != Role.TRAINER or not training:
            raise BadInput("only a trainer on a training database can choose a role to demonstrate")
        if demo_role not in {Role.SUPERVISOR, Role.ANALYST, Role.OFFICER, Role.AUDITOR}:
            raise BadInput(f"role {demo_role!r}: choose supervisor, analyst, officer or auditor")
        role = demo_role
    elif user.role == Role.TRAINER and training:
        role = Role.SUPERVISOR
    return Actor(
        username=user.username,
        display_name=user.display_name,
        role=role,
        area_command=user.area_command,
        real_role=user.role,
    )


def refuse_asserted_on_live(settings: Settings, database: Database) -> None:
    asserted = settings.asserted()
    if asserted:
        raise BadInput(
            f"{', '.join(asserted)}: refused on the LIVE database {database.safe_url}. "
            "There identity is your own login (PostgreSQL: your database login; SQLite: "
            "your operating-system user), time is the server's clock and the force policy "
            "is the one stored in the database (`vigil policy show`). Named users, a fixed "
            "clock and policy files are for training, synthetic and evaluation databases.")


def check_sqlite_file(database: Database) -> None:
    """A live SQLite file must not be readable by every user of the host."""
    path = database.engine.url.database
    if not path or path == ":memory:":
        return
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise BadInput(
            f"{path}: the LIVE database file can be read by every user of this host "
            f"(mode {stat.S_IMODE(mode):04o}): `chmod 600 {path}` (or 660 for a named group "
            "of this host's users); a database for many people belongs on PostgreSQL")


def authenticated_login(database: Database) -> str:
    """Who authenticated: the PostgreSQL login, or the operating-system user."""
    from app.services.users import normalise_username

    if database.dialect != "postgresql":
        return normalise_username(login_name(), where="operating-system user")
    with database.read() as session:
        row = session.execute(text(
            "SELECT vigil_login() AS login, r.rolsuper, r.rolbypassrls FROM pg_roles r "
            "WHERE r.rolname = session_user")).one()
    if row.rolsuper or row.rolbypassrls:
        why = "a superuser or BYPASSRLS login may not use a live Vigil database"
        _refuse_logon(database, row.login, why)
        raise PermissionDenied(
            f"{why}: connect with your own login (the database administrator's login "
            "administers the server, not cases)")
    from app.dbsecurity_model import GROUP_ROLES

    with database.read() as session:
        member = session.execute(
            text("SELECT bool_or(pg_has_role(vigil_login(), g, 'MEMBER')) FROM unnest(CAST(:groups AS text[])) g"),
            {"groups": list(GROUP_ROLES.values())}).scalar()
    if not member:
        _refuse_logon(database, row.login, "login holds no Vigil role")
        raise BadInput(f"{row.login!r} is not an active Vigil user of this database. "
                       "Ask a Vigil administrator to add you (`vigil users add`).")
    return str(row.login)


def require_membership(session: Session, actor: Actor) -> None:
    """On live PostgreSQL the login must hold the group role of the person's
    Vigil role: the database then enforces the same role the services do."""
    from app.dbsecurity_model import GROUP_ROLES

    group = GROUP_ROLES.get(actor.real_role)
    member = group is not None and session.execute(
        text("SELECT pg_has_role(vigil_login(), :g, 'MEMBER')"), {"g": group}).scalar()
    if not member:
        raise BadInput(f"{actor.username!r}: this database login does not hold the role "
                       f"{group or actor.real_role} of its Vigil user; ask a Vigil administrator "
                       "(`vigil users set-role`)")


def _server_clock(database: Database) -> Clock:
    if database.dialect != "postgresql":
        return Clock.system()
    with database.read() as session:
        at = session.execute(text("SELECT clock_timestamp()")).scalar()
    return Clock.anchored(at)


def open_context(settings: Settings, *, database: Database | None = None,
                 migrate: bool = True) -> ServiceContext:
    """Build the context for ``settings``: open and migrate the database,
    check it is training or live as asked, find who is acting, load the policy.

    On a live database the user, clock and policy are never taken from
    ``settings`` (they are refused): the user is the authenticated login, the
    clock the server's, the policy the one stored in the database. On
    training, synthetic and evaluation databases they are believed."""
    from app.services import policy_store
    from app.services.startup import keep_startup_objects

    db = database or Database(settings.database_url)
    if migrate:
        db.upgrade(create_as=LIVE)
    try:
        kind = db.require_kind(TRAINING if settings.training else LIVE)
    except PermissionDenied:  # PostgreSQL: a login the database grants nothing
        with db.read() as session:
            login = str(session.execute(text("SELECT vigil_login()")).scalar())
        _refuse_logon(db, login, "login holds no Vigil role")
        raise BadInput(f"{login!r} is not an active Vigil user of this database. "
                       "Ask a Vigil administrator to add you (`vigil users add`).") from None
    asserted_ok = kind in ASSERTED_IDENTITY_KINDS
    if not asserted_ok:
        refuse_asserted_on_live(settings, db)
        if db.dialect == "sqlite":
            check_sqlite_file(db)
        username = authenticated_login(db)
        clock = _server_clock(db)
    else:
        username = settings.username or login_name()
        clock = settings.clock
    with db.read() as session:
        if settings.policy_path is not None and asserted_ok:
            policy = load_policy(settings.policy_path)
            version = policy_store.file_version(Path(settings.policy_path))
        else:
            policy, version = policy_store.current(session)
        try:
            actor = resolve_actor(session, username, demo_role=settings.demo_role,
                                  training=settings.training)
            if not asserted_ok and db.dialect == "postgresql":
                require_membership(session, actor)
        except BadInput as exc:
            refused = exc
        else:
            refused = None
    if refused is not None:
        _refuse_logon(db, username, "not an active Vigil user of this database")
        raise refused
    context = ServiceContext(
        database=db, clock=clock, policy=policy, actor=actor, training=settings.training,
        kind=kind, policy_version=version,
    )
    if kind in (LIVE, EVALUATION):
        with context.write() as session:
            context.audit(session, AuditAction.LOGIN, "logon", None,
                          reason=f"logon ({'database login' if db.dialect == 'postgresql' and kind == LIVE else 'named' if asserted_ok else 'operating-system user'})")
    keep_startup_objects()
    return context


def system_context(database: Database, *, clock: Clock, policy: Policy | None = None,
                   training: bool = False, username: str = "system") -> ServiceContext:
    """A context for maintenance commands on synthetic and training databases
    (seed, benchmarks): audited under ``username`` as an analyst. Never for a
    live database, where every command acts as the person who logged on."""
    kind = database.database_kind() or LIVE
    if kind == LIVE:
        raise BadInput(f"{database.safe_url} is a LIVE database: maintenance on it is done "
                       "by a logged-on user (an administrator or an analyst), never as 'system'")
    return ServiceContext(
        database=database,
        clock=clock,
        policy=policy or load_policy(None),
        actor=Actor(username=username, display_name="Vigil system", role=Role.ANALYST,
                    area_command=None, real_role=Role.ANALYST),
        training=training,
        kind=kind,
    )


def dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), sort_keys=True)
