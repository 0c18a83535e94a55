"""entities, people and the audit viewer: entity details and categories

``entity`` gets its sector and the contact address of its inbox;
``entity_category`` holds the case categories each entity answers (the
routing table's choices, offered to designers and intake). ``audit_log``
gets ``client`` (where an action came from) and an index per filter of the
viewer (person, action), each with the time. Columns are added and dropped
with plain ALTER TABLE (no batch copy), so the audit log's append-only
triggers stay in place both ways.

Revision ID: c6a1e3f5b7d9
Revises: f8c3a5b7d9e1
Create Date: 2026-12-03 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c6a1e3f5b7d9"
down_revision = "f8c3a5b7d9e1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the entity details, the categories table and the audit columns."""
    op.add_column(
        "entity",
        sa.Column("sector", sa.String(length=80), server_default="", nullable=False),
    )
    op.add_column("entity", sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "entity_category",
        sa.Column("entity_code", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_code"],
            ["entity.code"],
            name=op.f("fk_entity_category_entity_code_entity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "entity_code", "category", name=op.f("pk_entity_category")
        ),
    )
    op.create_index("ix_entity_category_category", "entity_category", ["category"])
    op.add_column("audit_log", sa.Column("client", sa.String(length=64)))
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor", "at"])
    op.create_index("ix_audit_log_action_at", "audit_log", ["action", "at"])


def downgrade() -> None:
    """Drop them again (the audit records keep their other columns)."""
    op.drop_index("ix_audit_log_action_at", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_at", table_name="audit_log")
    op.drop_column("audit_log", "client")
    op.drop_index("ix_entity_category_category", table_name="entity_category")
    op.drop_table("entity_category")
    op.drop_column("entity", "email")
    op.drop_column("entity", "sector")
