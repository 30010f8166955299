"""What a process made while it started is kept out of the collector's walks.

By the time a person has logged on, the process holds about a hundred
thousand objects that live as long as it does: modules, classes, the tables'
metadata, the policy and its compiled rules. Python's cyclic collector walks
every one of them in each full collection, and the first requests after a
logon allocate enough (compiled statements, their caches) to set off several:
measured on the first DMM open of a fresh process on PostgreSQL, 35-40 ms of
its 90 ms of client CPU. :func:`keep_startup_objects` moves what exists at
logon to the collector's permanent generation (``gc.freeze``), once per
process, so later collections walk only what the requests made. Nothing is
switched off: objects made after it are collected as before.
"""

from __future__ import annotations

import gc

_kept = False


def keep_startup_objects() -> None:
    """Move every object alive now out of the collector's walks (once per
    process; a no-op when something froze them already)."""
    global _kept
    if _kept:
        return
    _kept = True
    if gc.get_freeze_count() == 0:
        gc.freeze()
