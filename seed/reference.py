"""Reference data shipped in ``seed/``: classifications, the S-DASH
questionnaire, the force's areas, teams and support services."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlmodel import Session

from app.policy import Policy
from models import Classification

SEED_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ClassificationRef:
    code: str
    title: str
    family: str
    is_stalking: bool
    screen_for_stalking: bool
    order_kinds: tuple[str, ...]

    @property
    def is_breach(self) -> bool:
        return self.family == "breach"


@dataclass(frozen=True)
class Questionnaire:
    tool: str
    version: str
    title: str
    ask_when: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class ServiceRef:
    code: str
    name: str
    specialist: bool


@dataclass(frozen=True)
class Organisation:
    area_commands: tuple[str, ...]
    teams: tuple[str, ...]
    search_powers: tuple[str, ...]
    services: tuple[ServiceRef, ...]
    names: dict[str, str] = field(default_factory=dict, compare=False)

    def name_of(self, code: str) -> str:
        """The name of an area command or team (its code when it has none)."""
        return self.names.get(code, code)


def _toml(name: str) -> dict:
    with (SEED_DIR / name).open("rb") as handle:
        return tomllib.load(handle)


@cache
def classifications() -> dict[str, ClassificationRef]:
    rows = _toml("classifications.toml")["classification"]
    return {
        row["code"]: ClassificationRef(
            code=row["code"],
            title=row["title"],
            family=row["family"],
            is_stalking=row.get("is_stalking", False),
            screen_for_stalking=row.get("screen_for_stalking", False),
            order_kinds=tuple(row.get("order_kinds", ())),
        )
        for row in rows
    }


@cache
def questionnaire(tool: str = "S-DASH", version: str = "2009") -> Questionnaire:
    for path in sorted((SEED_DIR / "questionnaires").glob("*.toml")):
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
        if raw["tool"] == tool and raw["version"] == version:
            return Questionnaire(
                tool=raw["tool"],
                version=raw["version"],
                title=raw["title"],
                ask_when=raw["ask_when"],
                questions=tuple(raw["questions"]),
            )
    raise KeyError(f"no questionnaire {tool} version {version} in seed/questionnaires")


@cache
def organisation() -> Organisation:
    raw = _toml("organisation.toml")
    return Organisation(
        area_commands=tuple(raw["area_commands"]),
        teams=tuple(raw["teams"]),
        search_powers=tuple(raw["search_powers"]),
        services=tuple(ServiceRef(**row) for row in raw["service"]),
    )


def force_organisation(policy: Policy) -> Organisation:
    """The force's organisation: its area commands and teams from the policy
    in force (``[organisation]``, loaded by ``vigil policy set``), else the
    synthetic force's shipped ``seed/organisation.toml``; support services and
    search powers from the shipped reference."""
    shipped = organisation()
    own = policy.organisation
    if not own.area_commands:
        return shipped
    return dataclasses.replace(shipped,
                               area_commands=tuple(u.code for u in own.area_commands),
                               teams=tuple(u.code for u in own.teams),
                               names={u.code: u.name for u in
                                      (*own.area_commands, *own.teams) if u.name})


def breach_code_for_order(kind: str) -> str:
    for ref in classifications().values():
        if kind in ref.order_kinds:
            return ref.code
    raise KeyError(f"no breach classification for order kind {kind}")


def install_reference(session: Session) -> None:
    """Insert or refresh the classification table from ``seed/``."""
    for ref in classifications().values():
        row = session.get(Classification, ref.code)
        values = dict(
            title=ref.title,
            family=ref.family,
            is_stalking=ref.is_stalking,
            screen_for_stalking=ref.screen_for_stalking,
            is_breach=ref.is_breach,
            order_kinds=",".join(ref.order_kinds) or None,
        )
        if row is None:
            session.add(Classification(code=ref.code, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
