"""enlaces of several entities: ``user_entity`` replaces ``user.entity_code``

An enlace may represent more than one entity. Upgrade creates
``user_entity`` (user, entity; both the key), copies every user's entity
into it and drops the column. Downgrade puts the column back with each
user's first entity by acronym (the others are lost: the old schema holds
one) and drops the table.

Revision ID: c3f6a8b0d2e4
Revises: f6c9d1e3a5b7
Create Date: 2026-12-04 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c3f6a8b0d2e4"
down_revision = "f6c9d1e3a5b7"
branch_labels = None
depends_on = None

_user = sa.table("user", sa.column("id"), sa.column("entity_code"))
_user_entity = sa.table("user_entity", sa.column("user_id"), sa.column("entity_code"))


def upgrade() -> None:
    """Create the table, copy each user's entity into it, drop the column."""
    op.create_table(
        "user_entity",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("entity_code", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_user_entity_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entity_code"],
            ["entity.code"],
            name=op.f("fk_user_entity_entity_code_entity"),
        ),
        sa.PrimaryKeyConstraint("user_id", "entity_code", name=op.f("pk_user_entity")),
    )
    op.execute(
        _user_entity.insert().from_select(
            ["user_id", "entity_code"],
            sa.select(_user.c.id, _user.c.entity_code).where(
                _user.c.entity_code.is_not(None)
            ),
        )
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint("fk_user_entity_code_entity", type_="foreignkey")
        batch_op.drop_column("entity_code")


def downgrade() -> None:
    """Put the column back with each user's first entity; drop the table."""
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("entity_code", sa.String(length=20), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_user_entity_code_entity", "entity", ["entity_code"], ["code"]
        )
    first = (
        sa.select(sa.func.min(_user_entity.c.entity_code))
        .where(_user_entity.c.user_id == _user.c.id)
        .scalar_subquery()
    )
    op.execute(_user.update().values(entity_code=first))
    op.drop_table("user_entity")
