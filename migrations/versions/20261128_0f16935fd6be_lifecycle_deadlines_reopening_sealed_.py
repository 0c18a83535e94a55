"""lifecycle: deadlines, reopening, sealed identity, surveys, days off, outbox

Revision ID: 0f16935fd6be
Revises: 210959ce5349
Create Date: 2026-11-28 03:52:05.483282
"""

import sqlalchemy as sa
from alembic import op

revision = "0f16935fd6be"
down_revision = "210959ce5349"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "day_off",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_day_off")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_outbox_case_id_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending", ["sent_at", "id"], unique=False)

    op.create_table(
        "survey_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_type", sa.String(length=60), nullable=False),
        sa.Column("entity_code", sa.String(length=20), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_survey_response_case_id_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_response")),
    )
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.create_index("ix_survey_response_case", ["case_id"], unique=False)

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "identity_reserved", sa.Boolean(), server_default="0", nullable=False
            )
        )
        batch_op.add_column(sa.Column("sealed_contact", sa.Text(), nullable=True))
        batch_op.create_index("ix_case_overdue", ["overdue_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_overdue")
        batch_op.drop_column("sealed_contact")
        batch_op.drop_column("identity_reserved")
        batch_op.drop_column("reopen_count")
        batch_op.drop_column("overdue_at")

    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_response_case")

    op.drop_table("survey_response")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    op.drop_table("day_off")
