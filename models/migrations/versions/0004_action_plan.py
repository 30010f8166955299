"""The force's action plan, dip sampling and the figures they need:
recommendations and their dated updates; dip samples, their files and the
findings per checklist item; training records, perpetrator programmes and
referrals to them; on each case the PIN's authorising superintendent, the
arrest and the digital lines of enquiry.

Revision ID: 0004_action_plan
Revises: 0003_identity
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision: str = '0004_action_plan'
down_revision: Union[str, None] = '0003_identity'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('dip_sample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_command', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('per_stratum', sa.Integer(), nullable=False),
    sa.Column('reviewer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('checklist_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('drawn_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('drawn_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dip_sample', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dip_sample_area_command'), ['area_command'], unique=False)

    op.create_table('perpetrator_programme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('area_command', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('available_from', sa.Date(), nullable=False),
    sa.Column('available_to', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('perpetrator_programme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_perpetrator_programme_area_command'), ['area_command'], unique=False)

    op.create_table('recommendation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('report', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('theme', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('published_text', sa.Text(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('evidence_requirement', sa.Text(), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('text_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    op.create_table('training_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('course', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('officer', 'course', 'completed_on', name='uq_training_record')
    )
    with op.batch_alter_table('training_record', schema=None) as batch_op:
        batch_op.create_index('ix_training_officer', ['officer', 'completed_on'], unique=False)

    op.create_table('dip_sample_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('crime_ref', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('stratum', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('reviewed_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['sample_id'], ['dip_sample.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sample_id', 'crime_ref', name='uq_dip_sample_file')
    )
    with op.batch_alter_table('dip_sample_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dip_sample_file_crime_ref'), ['crime_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_dip_sample_file_reviewed_at'), ['reviewed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dip_sample_file_sample_id'), ['sample_id'], unique=False)

    op.create_table('recommendation_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recommendation_id', sa.Integer(), nullable=False),
    sa.Column('written_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('written_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recommendation_update', schema=None) as batch_op:
        batch_op.create_index('ix_recommendation_update_at', ['recommendation_id', 'written_at'], unique=False)

    op.create_table('dip_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('item', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['dip_sample_file.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('file_id', 'item', name='uq_dip_finding')
    )
    with op.batch_alter_table('dip_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dip_finding_file_id'), ['file_id'], unique=False)

    op.create_table('perpetrator_referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('referred_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('referred_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['crime_case.id'], ),
    sa.ForeignKeyConstraint(['programme_id'], ['perpetrator_programme.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('perpetrator_referral', schema=None) as batch_op:
        batch_op.create_index('ix_perpetrator_referral_at', ['referred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_perpetrator_referral_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_perpetrator_referral_programme_id'), ['programme_id'], unique=False)

    with op.batch_alter_table('crime_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_authorised_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('arrested_at', models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('digital_enquiries', sa.Text(), nullable=True))




def downgrade() -> None:
    with op.batch_alter_table('crime_case', schema=None) as batch_op:
        batch_op.drop_column('digital_enquiries')
        batch_op.drop_column('arrested_at')
        batch_op.drop_column('pin_authorised_by')
    if op.get_context().dialect.name == "sqlite":
        # SQLite's batch rebuild of crime_case cannot carry an index on an
        # expression: put back 0003_disclosure's case-blind unique reference
        op.execute("CREATE UNIQUE INDEX uq_case_crime_ref_ci ON crime_case (lower(crime_ref))")

    _drop_table('perpetrator_referral', op.f('ix_perpetrator_referral_programme_id'), op.f('ix_perpetrator_referral_case_id'), 'ix_perpetrator_referral_at')
    _drop_table('dip_finding', op.f('ix_dip_finding_file_id'))
    _drop_table('recommendation_update', 'ix_recommendation_update_at')
    _drop_table('dip_sample_file', op.f('ix_dip_sample_file_sample_id'), op.f('ix_dip_sample_file_reviewed_at'), op.f('ix_dip_sample_file_crime_ref'))
    _drop_table('training_record', 'ix_training_officer')
    _drop_table('recommendation')
    _drop_table('perpetrator_programme', op.f('ix_perpetrator_programme_area_command'))
    _drop_table('dip_sample', op.f('ix_dip_sample_area_command'))


def _drop_table(name: str, *indexes: str) -> None:
    """Drop the indexes of table ``name`` (in this order), then the table."""
    if indexes:
        with op.batch_alter_table(name, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(index)
    op.drop_table(name)
