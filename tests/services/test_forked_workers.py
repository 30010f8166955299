"""Forked workers run their ``prepare`` step as soon as they are forked, and
a failure there reaches no one but the request that meets it again. Run in a
process of its own: forking needs a process with no other thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.services.process_probe import run_probe

PROBE = r"""
import json, os, sys
from app.db import Database
from app.services.context import open_context
from app.services.forked_workers import ForkedWorkers, can_fork
from app.settings import Settings
from datetime import datetime, UTC

prepared = {}

def prepare(ctx):
    prepared["user"] = ctx.actor.username
    prepared["pid"] = os.getpid()

def refuse(ctx):
    raise RuntimeError("cannot prepare")

def answer(ctx, request):
    if request == "fail":
        raise ValueError("the request itself failed")
    yield {"prepared": prepared.get("user"), "in_worker": prepared.get("pid") == os.getpid()}

database = Database(sys.argv[1])
settings = Settings(database_url=database.url, username="analyst",
                    now=datetime(2026, 3, 2, 8, tzinfo=UTC))
ctx = open_context(settings, database=database, migrate=False)
seen = {"can_fork": can_fork()}
if can_fork():
    workers = ForkedWorkers(ctx, answer, count=2, prepare=prepare)
    seen["answers"] = [value for _index, value in workers.map(["a", "b"])]
    workers.close()
    workers = ForkedWorkers(ctx, answer, count=1, prepare=refuse)
    seen["after_refusal"] = [value for _index, value in workers.map(["a"])]
    try:
        list(workers.map(["fail"]))
    except ValueError as exc:
        seen["request_error"] = str(exc)
    workers.close()
    seen["parent_prepared"] = bool(prepared)
print(json.dumps(seen))
"""


def test_workers_prepare_when_forked_and_a_failed_preparation_loses_nothing(
        tmp_path: Path, sqlite_template: Path) -> None:
    seen = run_probe(PROBE, tmp_path, sqlite_template)
    if not seen["can_fork"]:
        pytest.skip("this system cannot fork worker processes")
    # each worker prepared itself, in its own process, as the forking user
    assert seen["answers"] == [{"prepared": "analyst", "in_worker": True}] * 2
    assert seen["parent_prepared"] is False
    # a preparation that fails leaves the worker serving
    assert seen["after_refusal"] == [{"prepared": None, "in_worker": False}]
    assert seen["request_error"] == "the request itself failed"
