"""Running a probe script in a Python process of its own, against a copy of
the seeded SQLite template: for what belongs to a whole process (the
collector's state, forking), which a test inside pytest's cannot see."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_probe(probe: str, tmp_path: Path, sqlite_template: Path) -> dict[str, Any]:
    """Run ``probe`` (Python source) with the copy's URL as its argument; the
    last line it prints is JSON, returned as read."""
    path = tmp_path / "force.db"
    shutil.copy(sqlite_template, path)
    done = subprocess.run([sys.executable, "-c", probe, f"sqlite:///{path}"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
