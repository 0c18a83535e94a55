"""citizen accounts: one-time sign-in links, and cases found by address

``citizen_sign_in`` holds the links mailed to citizens who ask to see "Mis
casos": the address (lower-cased), the SHA-256 of a random token only, when
it expires and when it was used. ``ix_case_search_contact_email`` finds the
cases filed with one address by equality, at any number of cases: partial
(most cases leave no address), a hash index on PostgreSQL (a B-tree refuses
keys over about 2.7 kB, and a contact holding long text with an "@" could
make one), a B-tree on SQLite. Downgrade drops both: links not yet opened
stop working, and nothing else reads the index.

Revision ID: f7a9b1c3d5e7
Revises: e5b8c0d2f4a6
Create Date: 2026-12-05 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "f7a9b1c3d5e7"
down_revision = "e5b8c0d2f4a6"
branch_labels = None
depends_on = None

#: The partial index's condition, the same on both dialects.
WITH_ADDRESS = sa.text("contact_email <> ''")


def upgrade() -> None:
    """Create the sign-in link table and the address index of case search."""
    op.create_table(
        "citizen_sign_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_sign_in")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_citizen_sign_in_token_hash")),
    )
    op.create_index("ix_citizen_sign_in_email", "citizen_sign_in", ["email"])
    op.create_index(
        "ix_case_search_contact_email",
        "case_search",
        ["contact_email"],
        postgresql_using="hash",
        postgresql_where=WITH_ADDRESS,
        sqlite_where=WITH_ADDRESS,
    )


def downgrade() -> None:
    """Drop the address index and the sign-in link table."""
    op.drop_index("ix_case_search_contact_email", table_name="case_search")
    op.drop_index("ix_citizen_sign_in_email", table_name="citizen_sign_in")
    op.drop_table("citizen_sign_in")
