"""The service context: database, clock, policy and the acting user.

Every use case takes a :class:`ServiceContext`. It owns the sessions
(``read()`` / ``write()``), the permission check (``require``) and the audit
log (``audit``). Screens and the CLI build one through
:func:`open_context` and call services only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import Session, select

from app.clock import Clock
from app.db import LIVE, TRAINING, Database
from app.errors import BadInput, PermissionDenied
from app.policy import Policy, load_policy
from app.services.permissions import Permission, is_allowed
from app.settings import Settings
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
    _extra: dict[str, Any] = field(default_factory=dict)

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
            )
        )

    def describe(self) -> str:
        kind = "TRAINING" if self.training else "live"
        return f"{self.actor.display_name} ({self.actor.role}, {self.actor.area_command or 'force-wide'}) on {kind} {self.database.safe_url}"


def resolve_actor(session: Session, username: str, *, demo_role: str | None,
                  training: bool) -> Actor:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        known = session.exec(select(User.username).order_by(User.username).limit(8)).all()
        hint = f" Known users include: {', '.join(known)}." if known else (
            " The database has no users yet: run `vigil seed` or `vigil demo`."
        )
        raise BadInput(f"user {username!r} is not a Vigil user of this database.{hint}")
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


def open_context(settings: Settings, *, database: Database | None = None,
                 migrate: bool = True) -> ServiceContext:
    """Build the context for ``settings``: open and migrate the database,
    check it is training or live as asked, resolve the user, load the policy."""
    policy = load_policy(settings.policy_path)
    db = database or Database(settings.database_url)
    if migrate:
        db.upgrade()
    db.require_kind(TRAINING if settings.training else LIVE)
    with db.read() as session:
        actor = resolve_actor(
            session, settings.username, demo_role=settings.demo_role, training=settings.training
        )
    return ServiceContext(
        database=db, clock=settings.clock, policy=policy, actor=actor, training=settings.training
    )


def system_context(database: Database, *, clock: Clock, policy: Policy | None = None,
                   training: bool = False, username: str = "system") -> ServiceContext:
    """A context for maintenance commands run on the host (seed, import by the
    administrator, migrations): audited under ``username`` as an analyst."""
    return ServiceContext(
        database=database,
        clock=clock,
        policy=policy or load_policy(None),
        actor=Actor(username=username, display_name="Vigil system", role=Role.ANALYST,
                    area_command=None, real_role=Role.ANALYST),
        training=training,
    )


def dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), sort_keys=True)
