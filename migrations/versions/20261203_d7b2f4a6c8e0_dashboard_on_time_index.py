"""dashboard: open cases on time by entity and deadline

Revision ID: d7b2f4a6c8e0
Revises: e4a6c8f0b2d5
Create Date: 2026-12-03 16:00:00

The dashboard counts overdue cases as open cases minus those on time (not
flagged overdue, deadline ahead or none). The on-time count reads this
partial index alone, for the whole center or one entity: at a million
cases the overdue condition itself (flagged or past the deadline) read
the table's pages.
"""

import sqlalchemy as sa
from alembic import op

revision = "d7b2f4a6c8e0"
down_revision = "e4a6c8f0b2d5"
branch_labels = None
depends_on = None

CONDITION = "status = 'open' AND overdue_at IS NULL"


def upgrade() -> None:
    """Create the partial index."""
    op.create_index(
        "ix_case_open_unmarked",
        "case",
        ["entity_code", "due_at"],
        postgresql_where=sa.text(CONDITION),
        sqlite_where=sa.text(CONDITION),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_case_open_unmarked", table_name="case")
