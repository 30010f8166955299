"""What an import did: per-file counts and the delta (new crimes,
reclassifications, risk changes, new breaches, orders granted or expiring,
cases closed), each list capped at :data:`DELTA_LIST_CAP` items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

DELTA_LIST_CAP = 1_000


@dataclass(frozen=True)
class FileCounts:
    file: str
    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Reclassification:
    crime_ref: str
    old_principal: str
    old_included: tuple[str, ...]
    new_principal: str
    new_included: tuple[str, ...]

    def describe(self) -> str:
        def side(principal: str, included: tuple[str, ...]) -> str:
            return principal + (f" (+{', '.join(included)})" if included else "")

        return (f"{self.crime_ref}: {side(self.old_principal, self.old_included)} → "
                f"{side(self.new_principal, self.new_included)}")


@dataclass(frozen=True)
class RiskChange:
    crime_ref: str
    old_level: str | None
    new_level: str


@dataclass(frozen=True)
class NewBreach:
    breach_ref: str
    order_ref: str
    crime_ref: str
    original_crime_ref: str


@dataclass(frozen=True)
class OrderEvent:
    order_ref: str
    crime_ref: str
    kind: str
    status: str
    expires_at: datetime | None


@dataclass(frozen=True)
class DeltaList:
    """The first :data:`DELTA_LIST_CAP` items of a list, and how many there were."""

    total: int = 0
    items: tuple[Any, ...] = ()

    @property
    def truncated(self) -> bool:
        return self.total > len(self.items)


@dataclass(frozen=True)
class ImportDelta:
    new_crimes: DeltaList = DeltaList()
    reclassified: DeltaList = DeltaList()
    risk_changes: DeltaList = DeltaList()
    new_breaches: DeltaList = DeltaList()
    orders_granted: DeltaList = DeltaList()
    orders_expiring: DeltaList = DeltaList()
    cases_closed: DeltaList = DeltaList()

    KINDS = ("new_crimes", "reclassified", "risk_changes", "new_breaches", "orders_granted",
             "orders_expiring", "cases_closed")

    def totals(self) -> dict[str, int]:
        return {kind: getattr(self, kind).total for kind in self.KINDS}

    @property
    def empty(self) -> bool:
        return not any(self.totals().values())


class CappedList:
    def __init__(self) -> None:
        self.total = 0
        self.items: list[Any] = []

    def add(self, item: Any) -> None:
        self.total += 1
        if len(self.items) < DELTA_LIST_CAP:
            self.items.append(item)

    def freeze(self) -> DeltaList:
        return DeltaList(total=self.total, items=tuple(self.items))


@dataclass
class FileTally:
    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ApplyOutcome:
    counts: tuple[FileCounts, ...]
    delta: ImportDelta
    people_created: int
    cases_touched: int
