"""A writer that is killed mid-transaction by the crash test.

Usage: python -m tests.services.crash_writer DB_URL
Commits one case, then opens a second transaction, writes a case and an
audit event, says so on stdout, and waits to be killed: it blocks reading
standard input, which the test keeps open and never writes to.
"""

from __future__ import annotations

import sys

from app.db import Database
from models import AuditEvent
from models.enums import AuditAction
from tests.conftest import NOW
from tests.factories import add_case

UNCOMMITTED_REASON = "written by a transaction that is killed before it commits"


def main() -> None:
    database = Database(sys.argv[1])
    with database.write() as session:
        add_case(session, "CR/26/000001", NOW, victim="CRV1", suspect="CRS1")
    with database.write() as session:
        add_case(session, "CR/26/000002", NOW, victim="CRV2", suspect="CRS2")
        session.add(AuditEvent(at=NOW, username="crash.writer", role="analyst",
                               action=AuditAction.CREATE, entity="case",
                               entity_id="CR/26/000002", reason=UNCOMMITTED_REASON))
        session.flush()
        print("IN TRANSACTION", flush=True)
        sys.stdin.read()  # until killed (the test never closes it first)


if __name__ == "__main__":
    main()
