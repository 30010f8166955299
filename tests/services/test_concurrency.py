"""Two processes editing the same cases at once: every edit lands or is
reported as a conflict; nothing is lost; no "database is locked" failure."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import Database
from app.errors import DatabaseBusy
from models import Allocation, Case
from tests.conftest import NOW
from tests.factories import add_case

ROOT = Path(__file__).resolve().parents[2]
EDITS = 500
REFS = ["NC/26/900001", "NC/26/900002", "NC/26/900003"]


def test_two_processes_lose_no_update(database: Database) -> None:
    with database.write() as session:
        for index, ref in enumerate(REFS):
            add_case(session, ref, NOW, victim=f"VC{index}", suspect=f"SC{index}")
    workers = [
        subprocess.Popen([sys.executable, "-m", "tests.services.edit_worker", database.url,
                          name, str(EDITS), *REFS],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("first", "second")
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-3000:]
        results.append(json.loads(out))
    for result in results:
        assert result["errors"] == []
        assert len(result["landed"]) + result["conflicts"] == EDITS
    landed = {label for result in results for label in result["landed"]}
    with database.read() as session:
        recorded = set(session.execute(
            select(Allocation.officer).where(Allocation.reason == "load test")).scalars())
        versions = session.execute(select(Case.version).where(Case.crime_ref.in_(REFS))).scalars()
        total_version_bumps = sum(v - 1 for v in versions)
    assert recorded == landed  # every reported success is in the database, nothing else
    assert total_version_bumps == len(landed)
    assert len(landed) > EDITS // 2  # both made progress


def test_a_write_that_waits_out_another_is_reported_and_saves_nothing(
        sqlite_database: Database) -> None:
    """SQLite has one writer: a write kept waiting past the busy timeout (by a
    long import, say) is rolled back with a message, not a crash."""
    impatient = Database(sqlite_database.url, busy_timeout_ms=100)
    holder = sqlite3.connect(sqlite_database.url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseBusy, match="busy with another long write; nothing was saved"):
            with impatient.write() as session:
                add_case(session, "NC/26/BUSY1", NOW)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with impatient.write() as session:
        add_case(session, "NC/26/BUSY2", NOW)
    with impatient.read() as session:
        refs = set(session.execute(select(Case.crime_ref)).scalars())
    assert "NC/26/BUSY2" in refs and "NC/26/BUSY1" not in refs
    impatient.dispose()
