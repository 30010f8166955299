"""A writer killed with SIGKILL mid-transaction: the database stays sound,
committed work is all there and uncommitted work is absent."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select, text

from app.db import Database
from models import AuditEvent, Case
from tests.services.crash_writer import UNCOMMITTED_REASON

ROOT = Path(__file__).resolve().parents[2]


def _integrity(database: Database) -> None:
    if database.dialect == "sqlite":
        with database.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []


def test_killed_writer_leaves_committed_work_only(database: Database) -> None:
    """The writer says it is inside its second transaction (a case and an
    audit event flushed, not committed) and blocks on its standard input; it
    is killed there, so neither row may survive, and the first, committed
    case must."""
    writer = subprocess.Popen([sys.executable, "-m", "tests.services.crash_writer", database.url],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    line = writer.stdout.readline() if writer.stdout else ""
    assert line.strip() == "IN TRANSACTION", writer.stderr.read() if writer.stderr else ""
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL  # killed there, not ended on its own
    _integrity(database)
    with database.read() as session:
        refs = set(session.execute(select(Case.crime_ref).where(
            Case.crime_ref.like("CR/26/%"))).scalars())
        uncommitted_events = session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.reason == UNCOMMITTED_REASON)).scalar()
    assert refs == {"CR/26/000001"}
    assert uncommitted_events == 0
    # and the database takes writes again at once (no lock left behind)
    from tests.conftest import NOW
    from tests.factories import add_case

    with database.write() as session:
        add_case(session, "CR/26/000003", NOW, victim="CRV3", suspect="CRS3")


def test_killed_import_writes_nothing(database: Database, tmp_path: Path) -> None:
    from benchmarks.rms_import import write_synthetic_extract

    folder = tmp_path / "extract"
    write_synthetic_extract(folder, 150_000, 3)  # progress is reported every 100,000 rows
    with database.read() as session:
        before = session.execute(select(func.count()).select_from(Case)).scalar()
    importer = subprocess.Popen(
        [sys.executable, "-m", "tui", "import", str(folder), "--db", database.url,
         "--user", "analyst", "--now", "2026-03-02T08:00:00Z"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert importer.stderr is not None
    seen: list[str] = []
    for line in importer.stderr:  # wait until rows are being written in the transaction
        seen.append(line)
        if "applied" in line:
            break
    assert importer.poll() is None, f"the import ended before it could be killed: {seen[-3:]}"
    importer.send_signal(signal.SIGKILL)
    importer.wait(timeout=30)
    assert importer.returncode == -signal.SIGKILL  # killed mid-import, not finished
    _integrity(database)
    with database.read() as session:
        after = session.execute(select(func.count()).select_from(Case)).scalar()
    assert after == before
