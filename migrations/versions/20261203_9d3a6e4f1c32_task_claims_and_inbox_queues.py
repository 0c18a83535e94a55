"""task claims and inbox queues: who holds a task, and the tabs' indexes

``human_task`` gets ``assignee_label`` (the holder's name when the task was
claimed or assigned: a completion that meets someone else's claim names them
without another query) and ``claimed_at``. Each inbox tab (mine, a role's
unclaimed queue, an entity's, overdue) walks a partial index over ready
tasks in due-date order, on PostgreSQL and SQLite alike. Downgrade drops
the indexes and the columns; the claim events stay in the append-only
timeline, where older code shows their summary.

Revision ID: 9d3a6e4f1c32
Revises: a4e7b2c9d153
Create Date: 2026-12-03 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "9d3a6e4f1c32"
down_revision = "a4e7b2c9d153"
branch_labels = None
depends_on = None

READY_ONLY = "state = 'ready'"
UNCLAIMED_ONLY = "state = 'ready' AND assignee_id IS NULL"

#: name → (predicate, columns); the same as ``HumanTask.__table_args__``.
INDEXES = {
    "ix_human_task_mine": (READY_ONLY, ["assignee_id", "due_at", "created_at"]),
    "ix_human_task_unclaimed": (UNCLAIMED_ONLY, ["role", "due_at", "created_at"]),
    "ix_human_task_unclaimed_entity": (
        UNCLAIMED_ONLY,
        ["role", "entity_code", "due_at", "created_at"],
    ),
    "ix_human_task_lane": (READY_ONLY, ["role", "due_at", "created_at"]),
    "ix_human_task_lane_entity": (
        READY_ONLY,
        ["role", "entity_code", "due_at", "created_at"],
    ),
}


def upgrade() -> None:
    """Add the claim columns and the partial indexes of the tabs."""
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("assignee_label", sa.String(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True)
        )
    for name, (where, columns) in INDEXES.items():
        op.create_index(
            name,
            "human_task",
            columns,
            unique=False,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    """Drop the indexes and the claim columns."""
    for name in INDEXES:
        op.drop_index(name, table_name="human_task")
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("assignee_label")
