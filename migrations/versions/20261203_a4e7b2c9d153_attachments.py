"""attachments: files of cases, their metadata and (by default) their bytes

Revision ID: a4e7b2c9d153
Revises: b5f8c3d0e264
Create Date: 2026-12-03 13:00:00

``attachment`` describes each file (case, where it came with, safe name,
detected type, size, hash, who, when, public/identifying/sealed flags, the
store holding its bytes); ``attachment_content`` holds the bytes for the
default ``database`` store. Downgrade drops both (and every file).
"""

import sqlalchemy as sa
from alembic import op

revision = "a4e7b2c9d153"
down_revision = "b5f8c3d0e264"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two tables."""
    op.create_table(
        "attachment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("store", sa.String(length=40), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("identifying", sa.Boolean(), nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_attachment_case_id_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_attachment_created_by_id_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    op.create_index("ix_attachment_case", "attachment", ["case_id", "created_at"])
    op.create_table(
        "attachment_content",
        sa.Column("attachment_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachment.id"],
            name=op.f("fk_attachment_content_attachment_id_attachment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_attachment_content_case_id_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attachment_id", name=op.f("pk_attachment_content")),
    )


def downgrade() -> None:
    """Drop the two tables (the files go with them)."""
    op.drop_table("attachment_content")
    op.drop_index("ix_attachment_case", table_name="attachment")
    op.drop_table("attachment")
