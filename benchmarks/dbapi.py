"""What the hand-written baselines share: DB-API placeholders and timestamp
parameters for sqlite3 and psycopg, fetching rows, and one-line summaries."""

from __future__ import annotations

import sqlite3
import statistics
from datetime import UTC, datetime
from typing import Any


def is_sqlite(connection: Any) -> bool:
    return isinstance(connection, sqlite3.Connection)


def placeholders(connection: Any, statement: str) -> str:
    """sqlite3 takes ``?`` placeholders, psycopg ``%s``."""
    return statement if is_sqlite(connection) else statement.replace("?", "%s")


def when(connection: Any, moment: datetime) -> Any:
    """A timestamp parameter as each engine stores it (SQLite: naive UTC text
    in SQLAlchemy's format; PostgreSQL: an aware datetime)."""
    if is_sqlite(connection):
        return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def rows(connection: Any, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    try:
        cursor.execute(placeholders(connection, statement), params)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def summary(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{label:34s} median {statistics.median(ms):8.1f} ms  p95 {p95:8.1f} ms  (n={len(ms)})"
