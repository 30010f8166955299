"""A logon moves what the process made while it started out of the cyclic
collector's walks, once; what is made afterwards is still collected, and a
fork for worker processes leaves the logon's freeze in place. Run in a
process of its own: the collector's state belongs to the whole process."""

from __future__ import annotations

from pathlib import Path

from tests.services.process_probe import run_probe

PROBE = r"""
import gc, json, sys, weakref
from app.db import Database
from app.services.context import open_context
from app.services.forked_workers import ForkedWorkers, can_fork
from app.settings import Settings
from datetime import datetime, UTC

def double(ctx, n):
    yield n * 2

seen = {"before": gc.get_freeze_count()}
database = Database(sys.argv[1])
settings = Settings(database_url=database.url, username="analyst",
                    now=datetime(2026, 3, 2, 8, tzinfo=UTC))
ctx = open_context(settings, database=database, migrate=False)
seen["after_logon"] = gc.get_freeze_count()
open_context(settings, database=database, migrate=False)
seen["after_second_logon"] = gc.get_freeze_count()

class Node:
    pass

node = Node()
node.me = node  # a cycle made after the logon
alive = weakref.ref(node)
del node
gc.collect()
seen["cycle_collected"] = alive() is None
if can_fork():
    workers = ForkedWorkers(ctx, double, count=1)
    seen["worker_answer"] = list(workers.map([21]))
    workers.close()
    seen["after_fork"] = gc.get_freeze_count()
print(json.dumps(seen))
"""


def test_a_logon_freezes_the_start_up_objects_once_and_keeps_collecting(
        tmp_path: Path, sqlite_template: Path) -> None:
    seen = run_probe(PROBE, tmp_path, sqlite_template)
    assert seen["before"] == 0
    assert seen["after_logon"] > 0
    # once per process: the second logon's objects are not frozen
    assert seen["after_second_logon"] <= seen["after_logon"]
    assert seen["cycle_collected"] is True
    if "after_fork" in seen:
        assert seen["worker_answer"] == [[0, 42]]
        assert seen["after_fork"] >= seen["after_logon"] - 100  # not thawed
