"""drafts and practice cases: version status, publication, case.practice

``process_version`` gains ``status`` (``draft`` or ``published``; existing
versions are published), and who published it, when, with which note.
``case`` gains ``practice`` (false for existing cases) and a partial index
over the few practice cases, which real lists leave out. Practice cases are
the only cases ever deleted: the append-only guard of ``case_event`` now lets
the events of a practice case go (and nothing else); ``audit_log`` keeps its
guard untouched. Downgrade deletes the practice cases' rows first (they would
pass for real cases otherwise), then restores the guard and drops the
columns.

Revision ID: b2d5f7a9c1e3
Revises: f7a9b1c3d5e7
Create Date: 2026-12-06 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b2d5f7a9c1e3"
down_revision = "f7a9b1c3d5e7"
branch_labels = None
depends_on = None

SQLITE_GUARD = """
CREATE TRIGGER case_event_append_only_DELETE
BEFORE DELETE ON case_event
{when}BEGIN SELECT RAISE(ABORT, 'case_event is append-only'); END
"""

SQLITE_UNLESS_PRACTICE = (
    'WHEN NOT EXISTS (SELECT 1 FROM "case" WHERE id = OLD.case_id AND practice = 1)\n'
)

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION case_event_append_only_unless_practice()
RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (
    SELECT 1 FROM "case" WHERE id = OLD.case_id AND practice
  ) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'case_event is append-only';
END;
$$ LANGUAGE plpgsql
"""

PG_TRIGGER = (
    "CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE "
    "ON case_event FOR EACH ROW EXECUTE FUNCTION {function}()"
)

#: Tables holding a case's own rows (deleted by name: a downgrade may run
#: without SQLite's foreign-key enforcement, so no cascade is relied on).
CASE_ROWS = (
    "case_event",
    "outbox",
    "human_task",
    "workflow_state",
    "case_search",
    "attachment",
    "attachment_content",
    "survey_response",
    "tracking_link",
)


def upgrade() -> None:
    """Add the columns and the index; let practice cases' events be deleted."""
    with op.batch_alter_table("process_version") as batch:
        batch.add_column(
            sa.Column(
                "status",
                sa.String(length=10),
                nullable=False,
                server_default="published",
            )
        )
        batch.add_column(
            sa.Column("published_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("published_by", sa.String(length=80), nullable=True))
        batch.add_column(
            sa.Column("published_note", sa.Text(), nullable=False, server_default="")
        )
    # Existing versions were published when they were deployed.
    op.execute(
        "UPDATE process_version SET published_at = deployed_at, "
        "published_by = deployed_by"
    )
    op.add_column(
        "case",
        sa.Column("practice", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.create_index(
        "ix_case_practice",
        "case",
        ["id"],
        postgresql_where=sa.text("practice"),
        sqlite_where=sa.text("practice = 1"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER case_event_append_only_DELETE")
        op.execute(SQLITE_GUARD.format(when=SQLITE_UNLESS_PRACTICE))
    elif dialect == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute("DROP TRIGGER case_event_append_only ON case_event")
        op.execute(PG_TRIGGER.format(function="case_event_append_only_unless_practice"))


def downgrade() -> None:
    """Delete practice cases, restore the strict guard, drop the columns."""
    case = sa.table(
        "case",
        sa.column("id", sa.Integer),
        sa.column("parent_id", sa.Integer),
        sa.column("practice", sa.Boolean),
    )
    practice = sa.select(case.c.id).where(case.c.practice == sa.true())
    for name in CASE_ROWS:
        rows = sa.table(name, sa.column("case_id", sa.Integer))
        op.execute(sa.delete(rows).where(rows.c.case_id.in_(practice)))
    op.execute(
        sa.update(case).where(case.c.parent_id.in_(practice)).values(parent_id=None)
    )
    op.execute(sa.delete(case).where(case.c.id.in_(practice)))
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER case_event_append_only_DELETE")
        op.execute(SQLITE_GUARD.format(when=""))
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER case_event_append_only ON case_event")
        op.execute(PG_TRIGGER.format(function="case_event_append_only"))
        op.execute("DROP FUNCTION case_event_append_only_unless_practice()")
    op.drop_index("ix_case_practice", table_name="case")
    with op.batch_alter_table("case") as batch:
        batch.drop_column("practice")
    with op.batch_alter_table("process_version") as batch:
        batch.drop_column("published_note")
        batch.drop_column("published_by")
        batch.drop_column("published_at")
        batch.drop_column("status")
