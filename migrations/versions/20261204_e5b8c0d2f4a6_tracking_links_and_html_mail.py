"""tracking links: one-time signed links to a case; an HTML part for mail

``tracking_link`` holds the links mailed to citizens (and put in receipts):
the SHA-256 of a random token only, the case it opens, when it expires and
when it was used. ``outbox.body_html`` is the optional HTML alternative of a
message (plain text stays the main part). Downgrade drops both: links not
yet opened stop working, queued messages go out as plain text.

Revision ID: e5b8c0d2f4a6
Revises: d4a7b9c1e3f5
Create Date: 2026-12-04 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e5b8c0d2f4a6"
down_revision = "d4a7b9c1e3f5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the link table and add the HTML column to the outbox."""
    op.create_table(
        "tracking_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_tracking_link_case_id_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tracking_link_token_hash")),
    )
    op.create_index("ix_tracking_link_case_id", "tracking_link", ["case_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("body_html", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the HTML column and the link table."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("body_html")
    op.drop_index("ix_tracking_link_case_id", table_name="tracking_link")
    op.drop_table("tracking_link")
