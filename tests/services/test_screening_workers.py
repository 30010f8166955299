"""A full screening run spread over worker processes keeps exactly the
results of a run in one process, writes what a lost worker did not finish
from the parent, and reports a worker's error as itself, on both engines
(the workers are forked in a process of their own, with no other thread;
on PostgreSQL each opens its own connections with the same login)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.db import Database
from seed.generator import generate
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parents[2]


def test_worker_runs_keep_the_results_of_a_run_in_one_process(database: Database) -> None:
    generate(database, cases=2_000, seed=7, now=NOW)
    database.dispose()  # the check's own process is the only one using it
    done = subprocess.run(
        [sys.executable, "-m", "tests.services.screening_workers_check", database.url],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    serial, workers = report["serial"], report["workers"]
    assert "error" not in serial and "error" not in workers, report
    assert serial["worker_pids"] == [] and len(workers["worker_pids"]) == 2
    assert len(serial["results"]) > 30  # the force holds hidden stalking to find
    for way in ("workers", "workers_again", "worker_lost"):
        run = report[way]
        assert run["results"] == serial["results"], way
        assert (run["screened"], run["candidates"]) == (serial["screened"],
                                                        serial["candidates"]), way
    # the same workers answer the next run; a lost one is not used again
    assert report["workers_again"]["worker_pids"] == workers["worker_pids"]
    assert report["worker_lost"]["worker_pids"] == []
    # a worker's exception reaches the caller as itself
    assert report["worker_raises"]["error"].startswith("ValueError: no reading of range ("), \
        report["worker_raises"]
