"""open311: API keys of outside systems

Revision ID: a7d0e2f4b6c8
Revises: c3f6a8b0d2e4
Create Date: 2026-12-05 19:00:00

Keys are stored as their SHA-256 only; a revoked key keeps its row.
"""

import sqlalchemy as sa
from alembic import op

revision = "a7d0e2f4b6c8"
down_revision = "c3f6a8b0d2e4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("name", name=op.f("uq_api_key_name")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("api_key")
