"""The people who may use a database: adding, deactivating, changing roles.

Only an administrator (``Role.ADMIN``) administers users, and every change is
audited. Usernames are normalised (NFKC, case-folded, plain ASCII letters,
digits and ``. _ - @``; no whitespace, format or lookalike characters) so one
person cannot appear under two names that look the same. On PostgreSQL the
person's database login is created or altered too (member of the group role
of their Vigil role; deactivated: it may no longer log in), through the
database's own administration function, which checks the caller is an
administrator again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import Session, select

from app.db import LIVE, Database
from app.dbsecurity_model import OWNER_ROLE
from app.errors import BadInput, NotFound
from app.services.context import ServiceContext
from app.services.permissions import Permission
from app.settings import login_name
from models import AuditEvent, User
from models.enums import AuditAction, Role
from seed.reference import force_organisation

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,62}$")
RESERVED_PREFIXES = ("vigil_", "pg_")
RESERVED_NAMES = frozenset({"postgres", "public"})
AREA_ROLES = frozenset({Role.SUPERVISOR.value, Role.OFFICER.value})
# roles a user may hold on a live database (the trainer works on training databases)
LIVE_ROLES = (Role.SUPERVISOR, Role.ANALYST, Role.OFFICER, Role.AUDITOR, Role.ADMIN, Role.IMPORTER)


def normalise_username(raw: str, *, where: str = "username") -> str:
    """The one spelling of a username, or :class:`BadInput` naming the problem."""
    if not isinstance(raw, str) or not raw:
        raise BadInput(f"{where}: a username is required")
    for char in raw:
        category = unicodedata.category(char)
        if char.isspace() or category.startswith(("Z", "C")):
            raise BadInput(f"{where} {raw!r}: contains a space or an invisible character "
                           f"(U+{ord(char):04X})")
    name = unicodedata.normalize("NFKC", raw).casefold()
    if not USERNAME_PATTERN.fullmatch(name):
        raise BadInput(f"{where} {raw!r}: use 1-63 plain letters a-z, digits and . _ - @, "
                       "starting with a letter or digit")
    if name.startswith(RESERVED_PREFIXES) or name in RESERVED_NAMES:
        raise BadInput(f"{where} {raw!r}: names beginning vigil_ or pg_ (and postgres) belong "
                       "to the database")
    return name


@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    role: str
    area_command: str | None
    active: bool


def _row(user: User) -> UserRow:
    return UserRow(user.username, user.display_name, user.role, user.area_command, user.active)


def _check_role(ctx: ServiceContext, role: str, area: str | None) -> None:
    if role not in {r.value for r in Role}:
        raise BadInput(f"--role {role!r}: choose one of {', '.join(r.value for r in Role)}")
    if role in AREA_ROLES and not area:
        raise BadInput(f"--area is required for a {role}")
    areas = force_organisation(ctx.policy).area_commands
    if area and area not in areas:
        raise BadInput(f"--area {area!r}: not an area command ({', '.join(areas)})")
    if role not in AREA_ROLES and area:
        article = "an" if role[:1] in "aeiou" else "a"
        raise BadInput(f"--area: {article} {role} works force-wide; give an area only to a "
                       "supervisor or an officer")


def _sync_login(ctx: ServiceContext, session: Session, user: User) -> None:
    """On PostgreSQL, the person's login follows their Vigil record."""
    if ctx.database.dialect != "postgresql" or ctx.kind != "live":
        return
    if user.role == Role.TRAINER:
        raise BadInput("a trainer works on training databases only; a live database has no "
                       "trainer logins")
    session.execute(text("SELECT vigil_admin_set_login(:login, :role, :active)"),
                    {"login": user.username, "role": user.role, "active": user.active})


def list_users(ctx: ServiceContext) -> list[UserRow]:
    with ctx.read() as session:
        users = session.exec(select(User).order_by(User.username)).all()
    return [_row(u) for u in users]


def add_user(ctx: ServiceContext, *, username: str, display_name: str, role: str,
             area: str | None = None) -> UserRow:
    ctx.require(Permission.MANAGE_USERS, entity="user", entity_id=None)
    name = normalise_username(username)
    _check_role(ctx, role, area)
    if not display_name.strip():
        raise BadInput("--name: a display name is required")
    with ctx.write() as session:
        if session.exec(select(User).where(User.username == name)).first():
            raise BadInput(f"users add: {name!r} already exists")
        user = User(username=name, display_name=display_name.strip(), role=role,
                    area_command=area)
        session.add(user)
        session.flush()
        _sync_login(ctx, session, user)
        ctx.audit(session, AuditAction.CREATE, "user", name, reason="user added",
                  after={"role": role, "area_command": area, "display_name": user.display_name})
    return _row(user)


def _load(session: Session, username: str) -> User:
    name = normalise_username(username)
    user = session.exec(select(User).where(User.username == name)).first()
    if user is None:
        raise NotFound(f"user {name!r} is not a user of this database")
    return user


def deactivate_user(ctx: ServiceContext, *, username: str, reason: str) -> UserRow:
    ctx.require(Permission.MANAGE_USERS, entity="user", entity_id=username)
    if not reason.strip():
        raise BadInput("--reason: say why the user is deactivated (e.g. left the force)")
    with ctx.write() as session:
        user = _load(session, username)
        if user.username == ctx.actor.username:
            raise BadInput("an administrator cannot deactivate themselves: ask another")
        if not user.active:
            raise BadInput(f"user {user.username!r} is already deactivated")
        user.active = False
        session.add(user)
        session.flush()
        _sync_login(ctx, session, user)
        ctx.audit(session, AuditAction.UPDATE, "user", user.username, reason=reason.strip(),
                  before={"active": True}, after={"active": False})
    return _row(user)


def set_role(ctx: ServiceContext, *, username: str, role: str, area: str | None,
             reason: str) -> UserRow:
    ctx.require(Permission.MANAGE_USERS, entity="user", entity_id=username)
    _check_role(ctx, role, area)
    if not reason.strip():
        raise BadInput("--reason: say why the role changes")
    with ctx.write() as session:
        user = _load(session, username)
        if user.username == ctx.actor.username:
            raise BadInput("an administrator cannot change their own role: ask another")
        before = {"role": user.role, "area_command": user.area_command}
        user.role, user.area_command = role, area
        session.add(user)
        session.flush()
        _sync_login(ctx, session, user)
        ctx.audit(session, AuditAction.UPDATE, "user", user.username, reason=reason.strip(),
                  before=before, after={"role": role, "area_command": area})
    return _row(user)


def install_first_admin(session: Session, *, username: str, display_name: str,
                        dialect: str, live: bool) -> str:
    """The first administrator of a new database (`vigil db upgrade --admin`),
    in the upgrade's own transaction; refused once any administrator exists."""
    name = normalise_username(username, where="--admin")
    existing = session.exec(select(User).where(User.role == Role.ADMIN)).first()
    if existing is not None:
        raise BadInput("--admin: this database already has an administrator; further users "
                       "are added by an administrator with `vigil users add`")
    clash = session.exec(select(User).where(User.username == name)).first()
    if clash is not None:
        raise BadInput(f"--admin {name!r}: already a user of this database")
    session.add(User(username=name, display_name=display_name, role=Role.ADMIN))
    session.flush()
    if dialect == "postgresql" and live:
        role = session.execute(text(
            "SELECT rolsuper OR rolbypassrls OR rolcreaterole AS privileged FROM pg_roles "
            "WHERE rolname = :login"), {"login": name}).first()
        if role is not None and role.privileged:
            raise BadInput(f"--admin {name!r}: that login administers the database server; "
                           "give Vigil's administrator a login of their own")
        quoted = '"' + name.replace('"', '""') + '"'
        if role is None:
            session.execute(text(f"CREATE ROLE {quoted} LOGIN"))
        session.execute(text(f"GRANT vigil_admin TO {quoted}"))
        session.execute(text(f"GRANT {quoted} TO vigil_front"))
    return name


def create_first_admin(database: Database, name: str, display_name: str, kind: str) -> str:
    """The first Vigil administrator (on PostgreSQL also their login), audited."""
    with database.write() as session:
        if database.dialect == "postgresql":
            session.execute(text(f"SET LOCAL ROLE {OWNER_ROLE}"))
            by = session.execute(text("SELECT session_user")).scalar()
        else:
            by = login_name()
        username = install_first_admin(session, username=name, display_name=display_name,
                                       dialect=database.dialect, live=kind == LIVE)
        session.add(AuditEvent(at=database_now(session, database), username=str(by)[:64],
                               role="dbadmin", action=AuditAction.CREATE.value, entity="user",
                               entity_id=username, reason="first administrator (vigil db upgrade)",
                               after={"role": "admin"}))
    return username


def database_now(session: Session, database: Database) -> datetime:
    """The database server's clock (PostgreSQL), or this host's (SQLite)."""
    if database.dialect == "postgresql":
        return session.execute(text("SELECT clock_timestamp()")).scalar_one()
    return datetime.now(UTC)
