"""Bulk statements for the import, on the caller's connection and transaction.

SQLAlchemy Core statements throughout; two measured shortcuts on SQLite,
where a million rows would otherwise spend more time in per-row parameter
processing than in SQLite itself:

- ``IN`` lists are passed as one JSON array and expanded with
  ``json_each`` (one bound parameter instead of thousands, and a statement
  SQLAlchemy can cache). SQLite still probes the column's index per value.
- inserts and updates are compiled once per shape and run with the driver's
  ``executemany``, with timestamps converted the way SQLAlchemy stores them
  (naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``). New ids are allocated up front:
  the import holds SQLite's write lock (``BEGIN IMMEDIATE``), so no other
  writer can take them.

On PostgreSQL the same Core statements run through SQLAlchemy's own
``executemany`` (insertmanyvalues batching), ids come back from a second
``IN`` query, and ``IN`` lists are sent in batches, each as one array
parameter (``= ANY(:values)``): rendering and splitting a statement of 5,000
bound parameters per batch was most of the import's client time when the
extract changed nothing (an unchanged 100,000-crime extract: 37 s of the
importer's CPU, 21 s after).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Index,
    Table,
    any_,
    delete,
    func,
    insert,
    inspect,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import Select
from sqlalchemy.sql.expression import bindparam, literal_column

from models.types import UTCDateTime


@dataclass(frozen=True)
class _Shape:
    sql: str
    getter: Callable[[dict[str, Any]], Any]
    defaults: dict[str, Any]
    times: tuple[int, ...]


POSTGRES_IN_BATCH = 5_000
SQLITE_IN_BATCH = 50_000


def batches(values: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def sqlite_when(value: datetime | None) -> str | None:
    """A timestamp as :class:`models.types.UTCDateTime` stores it on SQLite."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat is C-fast; the first 26 characters drop the "+00:00" offset
    return value.isoformat(" ", "microseconds")[:26]


class BulkSql:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.in_batch = SQLITE_IN_BATCH if self.sqlite else POSTGRES_IN_BATCH
        self._compiled: dict[tuple[Any, ...], _Shape] = {}
        self._next_id: dict[str, int] = {}

    # --- reading ---------------------------------------------------------------
    def _members(self, column: Any, values: list[Any]) -> Any:
        if self.sqlite:
            return column.in_(
                select(literal_column("value")).select_from(func.json_each(literal(json.dumps(values))))
            )
        return column == any_(bindparam("members", values, type_=ARRAY(column.type), unique=True))

    def where_in(self, stmt: Select[Any], column: Any, values: Iterable[Any]) -> Iterator[Any]:
        """The rows of ``stmt`` whose ``column`` is one of ``values`` (each
        batch's rows fetched at once, not one driver call per row)."""
        for part in batches(values, self.in_batch):
            yield from self.conn.execute(stmt.where(self._members(column, part))).all()

    # --- writing ---------------------------------------------------------------
    def _shape(self, kind: str, table: Table, keys: tuple[str, ...]) -> _Shape:
        """SQL text, a getter for the positional parameters of a row, the
        column defaults to add to each row, and which positions are timestamps."""
        cache_key = (kind, table.name, keys)
        shape = self._compiled.get(cache_key)
        if shape is None:
            if kind == "insert":
                stmt: Any = insert(table).values({k: bindparam(f"v_{k}") for k in keys})
            else:
                stmt = (update(table).where(table.c.id == bindparam("b_id"))
                        .values({k: bindparam(f"v_{k}") for k in keys if k != "b_id"}))
            compiled = stmt.compile(dialect=self.conn.dialect)
            order: list[str] = []
            defaults: dict[str, Any] = {}
            times: list[int] = []
            for position, name in enumerate(compiled.positiontup or ()):
                key = name[2:] if name.startswith("v_") else name
                column = table.c[key] if key in table.c else None
                if key not in keys:
                    if column is None or column.default is None or not column.default.is_scalar:
                        raise ValueError(f"{table.name}: no value for parameter {name}")
                    defaults[key] = column.default.arg
                if column is not None and isinstance(column.type, UTCDateTime):
                    times.append(position)
                order.append(key)
            getter: Any = itemgetter(*order)
            if len(order) == 1:
                only = order[0]
                getter = lambda row: (row[only],)  # noqa: E731 - itemgetter of one key is no tuple
            shape = _Shape(str(compiled), getter, defaults, tuple(times))
            self._compiled[cache_key] = shape
        return shape

    def _driver_many(self, kind: str, table: Table, rows: list[dict[str, Any]]) -> None:
        shape = self._shape(kind, table, tuple(rows[0]))
        getter, defaults, times = shape.getter, shape.defaults, shape.times
        params: list[Any] = []
        for row in rows:
            if defaults:
                row.update(defaults)
            values = getter(row)
            if times:
                values = list(values)
                for i in times:
                    if values[i] is not None:
                        values[i] = sqlite_when(values[i])
                values = tuple(values)
            params.append(values)
        self.conn.exec_driver_sql(shape.sql, params)

    def _fast(self, table: Table) -> bool:
        return self.sqlite and not any(isinstance(c.type, JSON) for c in table.columns)

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` (dicts with the same keys)."""
        if not rows:
            return
        if self._fast(table):
            self._driver_many("insert", table, rows)
        else:
            self.conn.execute(insert(table), rows)

    def insert_with_ids(self, table: Table, rows: list[dict[str, Any]], key: str) -> dict[Any, int]:
        """Insert ``rows`` and return ``row[key]`` → new id (``key`` is unique)."""
        if not rows:
            return {}
        if self._fast(table):
            start = self._next_id.get(table.name)
            if start is None:
                start = (self.conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
            for offset, row in enumerate(rows):
                row["id"] = start + offset
            self._next_id[table.name] = start + len(rows)
            self._driver_many("insert", table, rows)
            return {row[key]: row["id"] for row in rows}
        self.conn.execute(insert(table), rows)
        column = table.c[key]
        return {value: new_id for new_id, value in self.where_in(
            select(table.c.id, column), column, [row[key] for row in rows])}

    def update_by_id(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Update rows by id: each dict holds ``b_id`` and the new values."""
        if not rows:
            return
        if self._fast(table):
            self._driver_many("update", table, rows)
        else:
            self.conn.execute(update(table).where(table.c.id == bindparam("b_id")), rows)

    def delete_ids(self, table: Table, ids: Iterable[int]) -> None:
        for part in batches(ids, self.in_batch):
            self.conn.execute(delete(table).where(self._members(table.c.id, part)))

    def update_ids(self, table: Table, ids: Iterable[int], **values: Any) -> None:
        for part in batches(ids, self.in_batch):
            self.conn.execute(update(table).where(self._members(table.c.id, part)).values(**values))

    # --- large loads -------------------------------------------------------------
    def suspend_indexes(self, tables: Iterable[Table]) -> list[Index]:
        """Drop the non-unique indexes of ``tables`` (SQLite only) so a large
        load appends rows instead of updating a dozen B-trees per row; give
        the result to :meth:`restore_indexes`. SQLite's DDL is transactional:
        a rolled-back import gets its indexes back, and readers never see them
        missing (they read the last committed schema)."""
        if not self.sqlite:
            return []
        dropped: list[Index] = []
        for table in tables:
            present = {index["name"] for index in inspect(self.conn).get_indexes(table.name)}
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                if not index.unique and index.name in present:
                    index.drop(self.conn)
                    dropped.append(index)
        return dropped

    def restore_indexes(self, indexes: list[Index]) -> None:
        """Build the suspended indexes again, each in one sorted pass."""
        for index in indexes:
            index.create(self.conn)
