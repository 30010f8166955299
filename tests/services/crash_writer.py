"""A writer that is killed mid-transaction by the crash test.

Usage: python -m tests.services.crash_writer DB_URL
Commits one case, then opens a second transaction, writes a case and an
audit event, says so on stdout, and waits to be killed.
"""

from __future__ import annotations

import sys
import time

from app.db import Database
from tests.conftest import NOW
from tests.factories import add_case


def main() -> None:
    database = Database(sys.argv[1])
    with database.write() as session:
        add_case(session, "CR/26/000001", NOW, victim="CRV1", suspect="CRS1")
    with database.write() as session:
        add_case(session, "CR/26/000002", NOW, victim="CRV2", suspect="CRS2")
        session.flush()
        print("IN TRANSACTION", flush=True)
        time.sleep(600)


if __name__ == "__main__":
    main()
