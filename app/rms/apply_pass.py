"""What every file's writes share: the import's connection and who imports,
the cases it touched (whose versions it bumps), the counters and the delta,
and the helpers that look cases up by crime_ref, write rows in bulk and
record an audit event per changed case."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from app.errors import BadInput
from app.rms.bulk import BulkSql
from app.rms.delta import CappedList, FileTally, ImportDelta
from app.rms.formats import Vocabulary, format_when
from app.rms.tables import T_CASE
from models.enums import AuditAction

SOURCE_REASON = "RMS extract"


class ExtractChanged(BadInput):
    """A file no longer reads as it did when it was validated."""


# --- helpers -----------------------------------------------------------------
def differs(old: Any, record_values: dict[str, Any], names: Sequence[str]) -> dict[str, tuple[Any, Any]]:
    changed: dict[str, tuple[Any, Any]] = {}
    for name in names:
        before = getattr(old, name)
        after = record_values[name]
        if before != after:
            changed[name] = (before, after)
    return changed


def shown(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_when(value)
    if isinstance(value, frozenset | set | tuple | list):
        return sorted(value)
    return value


@dataclass
class ApplyPass:
    """The state one extract's apply pass keeps on ``conn`` (the import's
    transaction), and the writes every file shares."""

    conn: Connection
    vocab: Vocabulary
    username: str
    audit_role: str
    previous_import_at: datetime | None = None
    on_chunk: Callable[[str, int], None] | None = None
    max_case_id: int = 0
    decisions_given: bool = False
    touched: set[int] = field(default_factory=set)
    people_created: int = 0
    counters: dict[str, FileTally] = field(default_factory=dict)
    _delta: dict[str, CappedList] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.now = self.vocab.now
        self.policy = self.vocab.policy
        self.sql = BulkSql(self.conn)
        self.max_case_id = self.conn.execute(select(func.max(T_CASE.c.id))).scalar() or 0
        self._delta = {kind: CappedList() for kind in ImportDelta.KINDS}

    def _is_existing(self, case_id: int) -> bool:
        return case_id <= self.max_case_id

    def _audit(self, rows: list[dict[str, Any]], crime_ref: str, reason: str,
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        rows.append({
            "at": self.now, "username": self.username, "role": self.audit_role,
            "action": AuditAction.UPDATE.value, "entity": "case", "entity_id": crime_ref,
            "reason": reason,
            "before": {k: shown(v) for k, v in before.items()} if before is not None else None,
            "after": {k: shown(v) for k, v in after.items()} if after is not None else None,
        })

    def _write(self, table: Any, rows: list[dict[str, Any]]) -> None:
        self.sql.insert(table, rows)

    def _update_by_id(self, table: Any, rows: list[dict[str, Any]]) -> None:
        self.sql.update_by_id(table, rows)

    def _case_ids(self, refs: Iterable[str], *columns: Any) -> dict[str, Any]:
        """crime_ref → row(id, crime_ref, *columns) for the refs; every ref must exist."""
        wanted = set(refs)
        found: dict[str, Any] = {}
        stmt = select(T_CASE.c.id, T_CASE.c.crime_ref, *columns)
        for row in self.sql.where_in(stmt, T_CASE.c.crime_ref, wanted):
            found[row.crime_ref] = row
        missing = wanted - found.keys()
        if missing:
            raise ExtractChanged(f"crime '{sorted(missing)[0]}' is no longer in Vigil or the "
                                 "extract; nothing was written")
        return found


class Values:
    """A row-like holder for values written earlier in the same chunk."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
