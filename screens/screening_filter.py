"""The screening queue's `/` filter line: ``area:``, ``team:``, ``flag:``,
``min:``, ``since:`` and otherwise a crime reference prefix, read into a
:class:`QueueFilter` against the force's areas and teams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.dates import DateError, format_local, local_midnight, parse_date
from app.errors import BadInput
from app.services.screening_queue import FLAG_FILTERS
from seed.reference import Organisation, organisation


@dataclass(frozen=True)
class QueueFilter:
    """What the `/` filter line asks for: ``area:``, ``team:``, ``flag:``,
    ``min:``, ``since:`` and otherwise a crime reference prefix."""

    text: str | None = None
    area: str | None = None
    team: str | None = None
    flag_status: str | None = None
    min_score: float | None = None
    since: datetime | None = None
    page: int = 0

    def describe(self) -> str:
        parts = []
        for name in ("area", "team", "flag_status", "min_score", "text"):
            value = getattr(self, name)
            if value not in (None, ""):
                parts.append(f"{name.replace('_status', '')}={value}")
        if self.since:
            parts.append(f"since={format_local(self.since, '%d/%m/%Y')}")
        return " ".join(parts) or "all candidates"


def _pick(value: str, known: tuple[str, ...], what: str) -> str:
    for option in known:
        if option.lower() == value.lower():
            return option
    raise BadInput(f"{what} {value!r}: expected one of {', '.join(known)}")


def parse_filter(line: str, *, default_area: str | None,
                 org: Organisation | None = None) -> QueueFilter:
    """Read the filter line, e.g. ``area:Southern flag:open min:4 NC/26``
    (areas and teams of ``org``, the force's organisation)."""
    org = org or organisation()
    values: dict[str, Any] = {"area": default_area}
    words = []
    for token in line.split():
        key, sep, value = token.partition(":")
        key = key.lower()
        if not sep or not value:
            words.append(token)
        elif key == "area":
            values["area"] = None if value.lower() == "all" else _pick(
                value, org.area_commands, "area")
        elif key == "team":
            values["team"] = _pick(value, org.teams, "team")
        elif key == "flag":
            values["flag_status"] = _pick(value, FLAG_FILTERS, "flag")
        elif key == "min":
            try:
                values["min_score"] = float(value)
            except ValueError:
                raise BadInput(f"min:{value}: expected a number") from None
        elif key == "since":
            try:
                values["since"] = local_midnight(parse_date(value))
            except DateError as exc:
                raise BadInput(f"since: {exc}") from None
        else:
            words.append(token)
    return QueueFilter(text=" ".join(words) or None, **values)
