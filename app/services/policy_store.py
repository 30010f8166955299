"""The force policy stored in the database: versioned, set only by an
administrator, audited.

On a live database the newest stored version is in effect for everyone; a
``--policy`` file is refused there (training, synthetic and evaluation
databases still take one, for demonstrations and tests). Each version keeps
the whole TOML text the administrator gave, so `vigil policy show` prints
exactly what is in force and `vigil policy history` who set each version, when
and why. The version in effect is on the service context
(``ctx.policy_version``) and on every audit event.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import Session

from app.errors import BadInput, PolicyError
from app.policy import DEFAULT_POLICY_PATH, Policy, default_policy, policy_from_mapping
from models import PolicyVersion

if TYPE_CHECKING:
    from app.services.context import ServiceContext

DEFAULT_VERSION = "default"


@dataclass(frozen=True)
class StoredPolicy:
    version: int
    sha256: str
    set_by: str
    set_at: datetime
    note: str | None


def _parse(policy_text: str, *, where: str) -> Policy:
    try:
        overrides = tomllib.loads(policy_text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy {where}: {exc}") from None
    try:
        return policy_from_mapping(overrides, source=where)
    except PolicyError as exc:  # name the file: `file: key: problem`
        if where.startswith("file "):
            raise PolicyError(f"{where.removeprefix('file ')}: {exc}") from None
        raise


def file_version(path: Path) -> str:
    """The version a policy file is known by in the audit log (its digest)."""
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "file"
    return f"file:{digest[:12]}"


def current(session: Session) -> tuple[Policy, str]:
    """The policy in effect and its version: the newest stored version, or the
    shipped defaults when none is stored."""
    row = session.execute(
        select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1)).scalars().first()
    if row is None:
        return default_policy(), DEFAULT_VERSION
    return _cached(row.version, row.sha256, row.policy_text), str(row.version)


_CACHE: dict[tuple[int, str], Policy] = {}


def _cached(version: int, sha256: str, policy_text: str) -> Policy:
    key = (version, sha256)
    if key not in _CACHE:
        _CACHE[key] = _parse(policy_text, where=f"stored version {version}")
    return _CACHE[key]


def store(session: Session, *, policy_text: str, set_by: str, set_at: datetime,
          note: str | None, where: str) -> int:
    """Validate ``policy_text`` and store it as the next version."""
    _parse(policy_text, where=where)
    newest = session.execute(select(func.max(PolicyVersion.version))).scalar() or 0
    row = PolicyVersion(version=newest + 1, policy_text=policy_text,
                        sha256=hashlib.sha256(policy_text.encode("utf-8")).hexdigest(),
                        set_by=set_by, set_at=set_at, note=note)
    session.add(row)
    session.flush()
    return row.version


def store_defaults(session: Session, *, set_by: str, set_at: datetime) -> int:
    """Version 1 of a new live database: the shipped defaults, as text."""
    return store(session, policy_text=DEFAULT_POLICY_PATH.read_text(encoding="utf-8"),
                 set_by=set_by, set_at=set_at, note="shipped defaults (database created)",
                 where=str(DEFAULT_POLICY_PATH))


def read_policy_file(path: str) -> str:
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"policy file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"policy file {path}: cannot be read ({exc})") from None


def history(session: Session) -> list[StoredPolicy]:
    rows = session.execute(select(PolicyVersion).order_by(PolicyVersion.version)).scalars().all()
    return [StoredPolicy(r.version, r.sha256, r.set_by, r.set_at, r.note) for r in rows]


def text_of(session: Session, version: int | None = None) -> tuple[str, str]:
    """(version, TOML text) of ``version`` or of the policy in effect."""
    query = select(PolicyVersion)
    if version is None:
        query = query.order_by(PolicyVersion.version.desc()).limit(1)
    else:
        query = query.where(PolicyVersion.version == version)
    row = session.execute(query).scalars().first()
    if row is None:
        if version is not None:
            raise BadInput(f"--version {version}: no such policy version")
        return DEFAULT_VERSION, DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    return str(row.version), row.policy_text


def set_policy(ctx: ServiceContext, *, path: str, note: str) -> int:
    """Store the policy file at ``path`` as the next version (administrators
    only): validated first, audited with its digest and the reason."""
    from app.services.permissions import Permission
    from models.enums import AuditAction

    ctx.require(Permission.SET_POLICY, entity="policy")
    if not note.strip():
        raise BadInput("--note: say why the policy changes (it is kept with the version)")
    policy_text = read_policy_file(path)
    with ctx.write() as session:
        _before, previous = current(session)
        version = store(session, policy_text=policy_text, set_by=ctx.actor.username,
                        set_at=ctx.now(), note=note.strip(), where=f"file {path}")
        ctx.audit(session, AuditAction.UPDATE, "policy", str(version), reason=note.strip(),
                  before={"version": previous},
                  after={"version": version,
                         "sha256": hashlib.sha256(policy_text.encode("utf-8")).hexdigest()})
    return version


def view_history(ctx: ServiceContext) -> list[StoredPolicy]:
    with ctx.read() as session:
        return history(session)


def view_text(ctx: ServiceContext, version: int | None = None) -> tuple[str, str]:
    with ctx.read() as session:
        return text_of(session, version)
