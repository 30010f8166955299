"""Identity and authority: the audit hash chain, the force policy stored in
the database, the policy version on each audit event, restricted cases.

The roles, grants, row-level security and audit triggers are installed after
the migrations by ``app.dbsecurity.install`` (``vigil db upgrade``), so tables
added by later migrations get them too.

Revision ID: 0003_identity
Revises: 0002
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0003_identity"
down_revision: Union[str, None] = "0003_screening"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('audit_chain',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('audit_id')
    )
    op.create_table('policy_version',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('policy_text', sa.Text(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('set_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('version')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    with op.batch_alter_table('crime_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restricted', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('restricted_contact', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
    op.create_table('case_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('granted_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('granted_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['crime_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'username', name='uq_case_access_user')
    )
    with op.batch_alter_table('case_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_access_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_access_case_id'))
    op.drop_table('case_access')
    with op.batch_alter_table('crime_case', schema=None) as batch_op:
        batch_op.drop_column('restricted_contact')
        batch_op.drop_column('restricted')
    if op.get_context().dialect.name == "sqlite":
        # SQLite's batch rebuild of crime_case cannot carry an index on an
        # expression: put back 0003_disclosure's case-blind unique reference
        op.execute("CREATE UNIQUE INDEX uq_case_crime_ref_ci ON crime_case (lower(crime_ref))")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('policy_version')
    if op.get_context().dialect.name == "sqlite":
        # the rebuild drops the table's triggers: audit_event stays append-only (0002)
        for verb, name in (("UPDATE", "audit_event_no_update"), ("DELETE", "audit_event_no_delete")):
            op.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON audit_event "  # sql-safe: constants
                       f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: {verb} refused'); END")
    op.drop_table('policy_version')
    op.drop_table('audit_chain')
