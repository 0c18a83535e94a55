"""directory import: the checked files waiting for their apply

``directory_upload`` keeps the text of a directory CSV an admin checked
(the dry run) by its SHA-256, until the apply names that hash or the
upload expires; web processes keep nothing between requests.

Revision ID: b2e5d7f9a1c3
Revises: a9d4c6e8f0b2
Create Date: 2026-12-04 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b2e5d7f9a1c3"
down_revision = "a9d4c6e8f0b2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table of kept uploads."""
    op.create_table(
        "directory_upload",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_directory_upload")),
    )
    op.create_index(
        "ix_directory_upload_uploaded_at", "directory_upload", ["uploaded_at"]
    )


def downgrade() -> None:
    """Drop it (uploads waiting for an apply are lost: upload them again)."""
    op.drop_index("ix_directory_upload_uploaded_at", table_name="directory_upload")
    op.drop_table("directory_upload")
