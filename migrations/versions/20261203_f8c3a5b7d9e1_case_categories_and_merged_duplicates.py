"""case categories and merged duplicates: a case's parent and its category

``case.category`` holds the intake form's ``categoria`` (the routing
table's input), so likely duplicates are looked up among the open cases of
the same category, newest first, through a partial index. ``parent_id``
points a merged duplicate at the case that answers for it, and
``merged_children`` counts a parent's duplicates so that a status change
looks for their reporters only when there are some. The category of the
open cases filed before this revision is read from their ``created``
event (closed cases are never duplicate candidates). Downgrade drops the
columns and indexes; merge events stay in the append-only timeline.

Revision ID: f8c3a5b7d9e1
Revises: 9d3a6e4f1c32
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "f8c3a5b7d9e1"
down_revision = "9d3a6e4f1c32"
branch_labels = None
depends_on = None

OPEN_ONLY = "status = 'open'"
MERGED_ONLY = "parent_id IS NOT NULL"
#: How many open cases get their category per statement while backfilling.
BATCH = 1000


def upgrade() -> None:
    """Add the columns, backfill open cases' categories, create the indexes."""
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "merged_children", sa.Integer(), server_default="0", nullable=False
            )
        )
        batch_op.create_foreign_key(
            "fk_case_parent_id_case", "case", ["parent_id"], ["id"]
        )
    _backfill_categories()
    op.create_index(
        "ix_case_open_category",
        "case",
        ["category", "created_at"],
        postgresql_where=sa.text(OPEN_ONLY),
        sqlite_where=sa.text(OPEN_ONLY),
    )
    op.create_index(
        "ix_case_parent",
        "case",
        ["parent_id"],
        postgresql_where=sa.text(MERGED_ONLY),
        sqlite_where=sa.text(MERGED_ONLY),
    )


def _backfill_categories() -> None:
    """Copy ``categoria`` from the ``created`` event of every open case."""
    conn = op.get_bind()
    case = sa.table(
        "case",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("category", sa.String),
    )
    event = sa.table(
        "case_event",
        sa.column("case_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("data", sa.JSON),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(event.c.case_id, event.c.data)
            .join(case, case.c.id == event.c.case_id)
            .where(
                case.c.status == "open",
                event.c.kind == "created",
                event.c.case_id > last,
            )
            .order_by(event.c.case_id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        values = []
        for case_id, data in rows:
            category = ((data or {}).get("data") or {}).get("categoria")
            if isinstance(category, str) and category:
                values.append({"of_case": case_id, "value": category[:60]})
        if values:
            conn.execute(
                case.update()
                .where(case.c.id == sa.bindparam("of_case"))
                .values(category=sa.bindparam("value")),
                values,
            )
        last = rows[-1][0]


def downgrade() -> None:
    """Drop the indexes and the columns."""
    op.drop_index("ix_case_parent", table_name="case")
    op.drop_index("ix_case_open_category", table_name="case")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_parent_id_case", type_="foreignkey")
        batch_op.drop_column("merged_children")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("category")
