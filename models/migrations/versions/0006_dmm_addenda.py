"""DMM minutes close when the next meeting starts: later changes are addenda,
with who and when (dmm_addendum).

The grants, row-level security and row audit of the new table are installed
after the migrations by ``app.dbsecurity.install`` (it hangs off a case by
``case_id``).

Revision ID: 0006_dmm_addenda
Revises: 0005_plan_review_index
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0006_dmm_addenda"
down_revision: Union[str, None] = "0005_plan_review_index"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('dmm_addendum',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('change', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('recorded_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['crime_case.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['dmm_meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dmm_addendum', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dmm_addendum_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dmm_addendum_meeting_id'), ['meeting_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dmm_addendum', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dmm_addendum_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_dmm_addendum_case_id'))
    op.drop_table('dmm_addendum')
