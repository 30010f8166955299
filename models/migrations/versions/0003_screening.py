"""screening: one open flag per crime; each run records the crimes it covered

- ``uq_screening_flag_open``: a partial unique index, at most one open
  screening flag per crime (two analysts raising a flag at once on
  PostgreSQL could store two). Open duplicates already stored are closed
  first, oldest kept open, each closing written to the audit log.
- ``screening_run.scope_start``: the earliest report time a run screened
  (NULL: every crime). An incremental run re-screens the crimes changed
  since the last finished run that covered at least as much.
- ``screening_result`` keeps only the crimes that qualify for the queue.

Revision ID: 0003_screening
Revises: 0002
"""
from datetime import UTC, datetime
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0003_screening"
down_revision: Union[str, None] = "0003_disclosure"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPEN = sa.text("status = 'open'")


def _close_duplicate_open_flags() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT f.id, f.case_id, c.crime_ref FROM screening_flag f "
        "JOIN crime_case c ON c.id = f.case_id WHERE f.status = 'open' ORDER BY f.case_id, f.id"
    )).all()
    kept: dict[int, int] = {}
    now = datetime.now(UTC)
    for flag_id, case_id, crime_ref in rows:
        if case_id not in kept:
            kept[case_id] = flag_id
            continue
        why = (f"duplicate of open screening flag #{kept[case_id]} (raised at the same time); "
               "closed when one open flag per crime became enforced")
        bind.execute(sa.text(
            "UPDATE screening_flag SET status = 'rejected', decided_by = 'vigil', "
            "decided_at = :now, rationale = :why WHERE id = :id"
        ), {"now": now, "why": why, "id": flag_id})
        bind.execute(sa.text(
            "INSERT INTO audit_event (at, username, role, action, entity, entity_id, reason) "
            "VALUES (:now, 'vigil', 'system', 'update', 'case', :ref, :reason)"
        ), {"now": now, "ref": crime_ref, "reason": f"screening flag #{flag_id}: {why}"})


def upgrade() -> None:
    _close_duplicate_open_flags()
    with op.batch_alter_table('screening_flag', schema=None) as batch_op:
        batch_op.create_index('uq_screening_flag_open', ['case_id'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)
    with op.batch_alter_table('screening_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope_start', models.types.UTCDateTime(timezone=True),
                                      nullable=True))
    # Results of crimes that do not qualify are no longer kept.
    op.execute("DELETE FROM screening_result WHERE qualifies = false")


def downgrade() -> None:
    with op.batch_alter_table('screening_run', schema=None) as batch_op:
        batch_op.drop_column('scope_start')
    with op.batch_alter_table('screening_flag', schema=None) as batch_op:
        batch_op.drop_index('uq_screening_flag_open', sqlite_where=OPEN, postgresql_where=OPEN)
