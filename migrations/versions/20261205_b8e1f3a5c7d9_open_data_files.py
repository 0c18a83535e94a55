"""open data: the daily files of cases the worker publishes

Revision ID: b8e1f3a5c7d9
Revises: a7d0e2f4b6c8
Create Date: 2026-12-05 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b8e1f3a5c7d9"
down_revision = "a7d0e2f4b6c8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "open_data_file",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("day", "format", name=op.f("pk_open_data_file")),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("open_data_file")
