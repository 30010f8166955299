"""RMS extract format 2: the risk management plan's dates, the SPO notification
due date and the date of the victim's consent decision

Revision ID: 0003_extract
Revises: 0002
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0003_extract"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("risk_assessment") as batch:
        batch.add_column(sa.Column("plan_set_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("plan_review_due", models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("protective_order") as batch:
        batch.add_column(sa.Column("notification_due_at", models.types.UTCDateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table("victim_care") as batch:
        batch.add_column(sa.Column("consent_at", models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("victim_care") as batch:
        batch.drop_column("consent_at")
    with op.batch_alter_table("protective_order") as batch:
        batch.drop_column("notification_due_at")
    with op.batch_alter_table("risk_assessment") as batch:
        batch.drop_column("plan_review_due")
        batch.drop_column("plan_set_at")
