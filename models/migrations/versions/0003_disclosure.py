"""disclosure and collection audit, reference sequences, crime references
unique whatever their letter case, retention decisions

Revision ID: 0003_disclosure
Revises: 0002
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types

revision: str = "0003_disclosure"
down_revision: Union[str, None] = "0003_extract"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# references the services hand out: name -> (table, id column) to start after
SEQUENCES = {"breach_ref_seq": "breach", "order_ref_seq": "protective_order"}


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    op.create_table(
        "audit_subject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_event_id", sa.Integer(), nullable=False),
        sa.Column("crime_ref", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.ForeignKeyConstraint(["audit_event_id"], ["audit_event.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_subject", schema=None) as batch_op:
        batch_op.create_index("ix_audit_subject_ref", ["crime_ref", "audit_event_id"], unique=False)
    op.create_table(
        "ref_sequence",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "retention_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crime_ref", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("decided_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_review_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("retention_decision", schema=None) as batch_op:
        batch_op.create_index("ix_retention_ref_at", ["crime_ref", "decided_at"], unique=False)
    op.execute("CREATE UNIQUE INDEX uq_case_crime_ref_ci ON crime_case (lower(crime_ref))")

    if dialect == "sqlite":
        for name, table in SEQUENCES.items():
            op.execute(f"INSERT INTO ref_sequence (name, value) "  # sql-safe: constants
                       f"SELECT '{name}', COALESCE(MAX(id), 0) FROM {table}")
        op.execute(
            "CREATE TRIGGER audit_subject_no_update BEFORE UPDATE ON audit_subject "
            "BEGIN SELECT RAISE(ABORT, 'audit_subject is append-only: UPDATE refused'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_subject_no_delete BEFORE DELETE ON audit_subject "
            "BEGIN SELECT RAISE(ABORT, 'audit_subject is append-only: DELETE refused'); END"
        )
    else:
        for name, table in SEQUENCES.items():
            op.execute(f"CREATE SEQUENCE IF NOT EXISTS {name}")  # sql-safe: constants
            op.execute(f"SELECT setval('{name}', COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, "
                       "false)")
        op.execute(
            "CREATE TRIGGER audit_subject_no_change BEFORE UPDATE OR DELETE ON audit_subject "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_subject_no_truncate BEFORE TRUNCATE ON audit_subject "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER audit_subject_no_update")
        op.execute("DROP TRIGGER audit_subject_no_delete")
    else:
        op.execute("DROP TRIGGER audit_subject_no_change ON audit_subject")
        op.execute("DROP TRIGGER audit_subject_no_truncate ON audit_subject")
        for name in SEQUENCES:
            op.execute(f"DROP SEQUENCE IF EXISTS {name}")  # sql-safe: constants
    op.execute("DROP INDEX uq_case_crime_ref_ci")
    with op.batch_alter_table("retention_decision", schema=None) as batch_op:
        batch_op.drop_index("ix_retention_ref_at")
    op.drop_table("retention_decision")
    op.drop_table("ref_sequence")
    with op.batch_alter_table("audit_subject", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_subject_ref")
    op.drop_table("audit_subject")
