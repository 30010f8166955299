"""A fresh, single-threaded process as ``vigil`` starts: the DMM's first page
computed in a child process, answered once, against the same page computed
directly. Prints JSON: {"forked": bool, "parent": pid, "page": [...refs],
"direct": [...refs], "total": n, "error": "..."}.

Usage: python -m tests.screens.first_page_child DB_URL
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime

from app.services.context import open_context
from app.services.dmm import build_queue
from app.services.dmm.first_page import PAGE_SIZE, FirstPage, start_first_page
from app.settings import Settings

MONDAY = date(2026, 3, 2)


def main() -> None:
    settings = Settings(database_url=sys.argv[1], username="supervisor.northern",
                        now=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    ctx = open_context(settings, migrate=False)
    first = start_first_page(ctx, in_child=True)
    assert first is not None
    forked = first.child_pid is not None and first.child_pid != os.getpid()
    page = first.build_queue(ctx, area="Northern", meeting_date=MONDAY, audit=True,
                             limit=PAGE_SIZE, offset=0, reason=None, text=None,
                             defer_full=True)
    direct = build_queue(ctx, area="Northern", meeting_date=MONDAY, limit=PAGE_SIZE,
                         defer_full=True)
    error = ""
    try:  # an error in the child reaches the caller as the error itself
        FirstPage(ctx, "Nowhere", MONDAY, in_child=True).build_queue(
            ctx, area="Nowhere", meeting_date=MONDAY, audit=True, limit=PAGE_SIZE,
            offset=0, defer_full=True)
    except Exception as exc:  # reported to the test
        error = f"{type(exc).__name__}: {exc}"
    print(json.dumps({
        "forked": forked, "parent": os.getpid(),
        "page": [item.crime_ref for item in page.items],
        "direct": [item.crime_ref for item in direct.items],
        "total": page.total, "error": error,
    }))


if __name__ == "__main__":
    main()
