"""Alembic migrations of the Vigil schema (versions/). ``HEAD_REVISION`` is the
newest one: a database already there starts without loading Alembic. Add a
migration, move it (a test checks it against Alembic's own head)."""

HEAD_REVISION = "0006_dmm_addenda"
