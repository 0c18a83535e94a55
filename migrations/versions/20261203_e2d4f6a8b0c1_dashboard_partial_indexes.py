"""dashboard partial indexes: open cases by deadline, recent closures, errors

Revision ID: e2d4f6a8b0c1
Revises: 8c2f5d3b0e21
Create Date: 2026-12-03 13:30:00

The dashboard counts open cases past their deadline, cases closed in the
last 30 days and lists cases in error. At a million cases each of those
read most of the table; partial indexes (PostgreSQL and SQLite alike) keep
each to the few rows it is about.
"""

import sqlalchemy as sa
from alembic import op

revision = "e2d4f6a8b0c1"
down_revision = "8c2f5d3b0e21"
branch_labels = None
depends_on = None

#: name → (column, condition)
INDEXES = {
    "ix_case_open_due": ("due_at", "status = 'open'"),
    "ix_case_open_overdue": (
        "overdue_at",
        "status = 'open' AND overdue_at IS NOT NULL",
    ),
    "ix_case_closed_at": ("closed_at", "status = 'closed'"),
    "ix_case_errored": ("id", "error IS NOT NULL"),
}


def upgrade() -> None:
    """Create the partial indexes."""
    for name, (column, condition) in INDEXES.items():
        op.create_index(
            name,
            "case",
            [column],
            postgresql_where=sa.text(condition),
            sqlite_where=sa.text(condition),
        )


def downgrade() -> None:
    """Drop them."""
    for name in INDEXES:
        op.drop_index(name, table_name="case")
