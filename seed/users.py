"""The synthetic force's users: for each area command two supervisors (so the
four-eyes rule can be shown) and an officer; force-wide analysts, an auditor
and a trainer. Names are invented."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from models import User
from models.enums import Role
from seed.reference import organisation

_SURNAMES = ("Ashdown", "Brackley", "Carrow", "Denholm", "Elsworth", "Fairley", "Garside",
             "Hebden", "Ilford", "Jessop", "Kirkham", "Lowther", "Marchant", "Nettleton",
             "Ormsby", "Pendle", "Quarry", "Rawcliffe", "Selsey", "Thornaby")


@dataclass(frozen=True)
class UserSpec:
    username: str
    display_name: str
    role: str
    area_command: str | None


def synthetic_users() -> list[UserSpec]:
    users: list[UserSpec] = []
    names = iter(_SURNAMES)
    for area in organisation().area_commands:
        slug = area.lower()
        users.append(UserSpec(f"supervisor.{slug}", f"PS {next(names)} ({area})", Role.SUPERVISOR, area))
        users.append(UserSpec(f"inspector.{slug}", f"Insp {next(names)} ({area})", Role.SUPERVISOR, area))
        users.append(UserSpec(f"officer.{slug}", f"PC {area} Duty Officer", Role.OFFICER, area))
    users += [
        UserSpec("analyst", f"Analyst {next(names)}", Role.ANALYST, None),
        UserSpec("analyst2", f"Analyst {next(names)}", Role.ANALYST, None),
        UserSpec("auditor", "Information Assurance Auditor", Role.AUDITOR, None),
        UserSpec("trainer", "Force Trainer", Role.TRAINER, None),
    ]
    return users


def install_users(session: Session) -> int:
    """Add the synthetic users that are missing; returns how many were added."""
    existing = set(session.exec(select(User.username)).all())
    added = 0
    for spec in synthetic_users():
        if spec.username in existing:
            continue
        session.add(User(username=spec.username, display_name=spec.display_name,
                         role=spec.role, area_command=spec.area_command))
        added += 1
    return added
