"""case location: the point on the map a case was filed for

``case.latitude`` and ``case.longitude`` hold the optional map pin the
citizen (or the agent, on the phone) set at intake, in WGS 84 degrees; the
address stays the intake form's text field. The intake service sets both or
neither, inside Panama (:mod:`engine.domain.geo`); they are case data, not
the citizen's personal data: Open311 and the dashboards read them. Cases
filed before have none. Plain nullable columns: on SQLite adding them needs
no copy of the case table. Downgrade drops them (and the points with them).

Revision ID: d4a7b9c1e3f5
Revises: b8e1f3a5c7d9
Create Date: 2026-12-04 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d4a7b9c1e3f5"
down_revision = "b8e1f3a5c7d9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the two columns."""
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
