"""Fixtures the screen tests share (a module's own fixture of the same name wins)."""

from __future__ import annotations

import pytest

from app.db import Database
from tests.factories import dmm_morning


@pytest.fixture
def seeded(sqlite_database: Database) -> Database:
    """Monday morning's synthetic DMM force (``dmm_morning``) on SQLite."""
    with sqlite_database.write() as session:
        dmm_morning(session)
    return sqlite_database
