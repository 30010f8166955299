"""Regenerate the initial schema migration from the models.

Until Vigil has a deployed release the schema lives in one initial revision:
``python -m models.migrations.regenerate`` rewrites ``0001_initial_schema.py``
from ``SQLModel.metadata``. After a release, add revisions with
``alembic revision --autogenerate`` instead.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from alembic import command

from app.db import MIGRATIONS_DIR, Database, alembic_config

INITIAL = MIGRATIONS_DIR / "versions" / "0001_initial_schema.py"


def main() -> None:
    INITIAL.unlink(missing_ok=True)
    versions = MIGRATIONS_DIR / "versions"
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as parked:
        later = [p for p in versions.glob("*.py") if p.name != INITIAL.name]
        for path in later:  # generate 0001 alone, against an empty database
            shutil.move(path, Path(parked) / path.name)
        database = Database(f"sqlite:///{Path(folder) / 'empty.db'}")
        config = alembic_config(database.engine)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(
                config,
                message="initial schema",
                autogenerate=True,
                rev_id="0001",
                head="base",
            )
        database.dispose()
        for path in later:
            shutil.move(Path(parked) / path.name, path)
    generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
    if generated != INITIAL:
        generated.rename(INITIAL)
    print(f"wrote {INITIAL.relative_to(MIGRATIONS_DIR.parent.parent)}")


if __name__ == "__main__":
    main()
