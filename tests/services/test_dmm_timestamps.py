"""The DMM's reads convert the driver's timestamps themselves: SQLite's naive
UTC text (with or without fractions of a second, a bare date, text that
already names an offset) and PostgreSQL's aware datetimes all come out as the
same aware UTC instant the generic conversion gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.services.dmm.common import as_utc


@pytest.mark.parametrize("text", [
    "2026-02-24 13:45:12.123456", "2026-02-24 13:45:12", "2026-02-24 13:45",
    "2026-02-24T13:45:12.5", "2026-02-24", "2026-02-24T13:45:12+00:00",
])
def test_sqlite_text_reads_as_the_utc_instant_it_names(text: str) -> None:
    expected = datetime.fromisoformat(text).replace(tzinfo=UTC)
    converted = as_utc(text)
    assert converted == expected and converted.utcoffset() == timedelta(0)


def test_driver_datetimes_and_null() -> None:
    naive = datetime(2026, 2, 24, 13, 45)
    assert as_utc(naive) == naive.replace(tzinfo=UTC)
    aware = datetime(2026, 2, 24, 14, 45, tzinfo=timezone(timedelta(hours=1)))
    assert as_utc(aware) == datetime(2026, 2, 24, 13, 45, tzinfo=UTC)
    assert as_utc(aware).tzinfo is UTC
    assert as_utc(None) is None
