"""case milestone: where the case stands among its diagram's milestones

``case.milestone`` holds the key of the citizen's milestone the case
reached last (the diagram's ``hito``); each move is also a public
``milestone`` event, so the tracking page knows which milestones were
reached. Cases filed before stay without one (their page shows the first
milestone until their next step). Downgrade drops the column; the events
stay in the append-only timeline.

Revision ID: e4a6c8f0b2d5
Revises: c6a1e3f5b7d9
Create Date: 2026-12-03 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e4a6c8f0b2d5"
down_revision = "c6a1e3f5b7d9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column."""
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("milestone", sa.String(length=40), nullable=True))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("milestone")
