"""hardening: session epochs, intake idempotency keys, mail retries

Revision ID: 5a7c3e9d1b20
Revises: 24012511f893
Create Date: 2026-11-29 23:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "5a7c3e9d1b20"
down_revision = "24012511f893"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision (new columns are nullable or have a default)."""
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intake_key", sa.String(length=64)))
        batch_op.create_unique_constraint(
            batch_op.f("uq_case_intake_key"), ["intake_key"]
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("failed_at")
        batch_op.drop_column("next_attempt_at")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_case_intake_key"), type_="unique")
        batch_op.drop_column("intake_key")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
