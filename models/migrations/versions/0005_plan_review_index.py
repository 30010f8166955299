"""An index on the risk management plan's review date: the DMM reads the plans
whose review has fallen due (a standing gap) as a range, not a table scan.

Revision ID: 0005_plan_review_index
Revises: 0004_action_plan
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0005_plan_review_index'
down_revision: Union[str, None] = '0004_action_plan'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('risk_assessment', schema=None) as batch_op:
        batch_op.create_index('ix_risk_plan_review', ['plan_review_due'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('risk_assessment', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_plan_review')
