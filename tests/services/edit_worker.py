"""A separate process editing cases at the same time as another: each edit is
a reallocation with a unique officer label; a conflict is reported, never
lost. Prints JSON: {"landed": [...labels], "conflicts": n, "errors": [...]}.

Usage: python -m tests.services.edit_worker DB_URL NAME EDITS CRIME_REF [CRIME_REF ...]
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from sqlalchemy import select

from app.errors import ConflictError
from app.services.case_edits import reallocate
from app.services.context import open_context
from app.settings import Settings
from models import Case


def main() -> None:
    url, name, edits, *refs = sys.argv[1:]
    settings = Settings(database_url=url, username="supervisor.northern",
                        now=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    ctx = open_context(settings, migrate=False)
    landed: list[str] = []
    conflicts = 0
    errors: list[str] = []
    for index in range(int(edits)):
        crime_ref = refs[index % len(refs)]
        label = f"{name}-{index}"
        with ctx.read() as session:
            version = session.execute(select(Case.version).where(Case.crime_ref == crime_ref)).scalar()
        try:
            reallocate(ctx, crime_ref=crime_ref, team="CID", officer=label,
                       reason="load test", expected_version=version)
            landed.append(label)
        except ConflictError:
            conflicts += 1
        except Exception as exc:  # reported to the test, which fails on it
            errors.append(f"{type(exc).__name__}: {exc}")
    ctx.database.dispose()
    json.dump({"landed": landed, "conflicts": conflicts, "errors": errors[:5]}, sys.stdout)


if __name__ == "__main__":
    main()
