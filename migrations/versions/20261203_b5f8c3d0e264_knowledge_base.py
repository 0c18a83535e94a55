"""knowledge base: articles per entity and topic, and their full-text index

Revision ID: b5f8c3d0e264
Revises: e2d4f6a8b0c1
Create Date: 2026-12-03 13:00:00

``kb_article`` holds the articles staff answer common questions from
(entity empty: a general 311 article). Their text is searched like cases
(``engine.store.search_index``): on PostgreSQL a generated ``tsvector``
column (``spanish`` configuration, accents folded by the ``c311_unaccent``
function of the case-search revision) with a GIN index; on SQLite an FTS5
table over title, topic and body, kept in step by triggers. Downgrade drops
all of it.
"""

import sqlalchemy as sa
from alembic import op

revision = "b5f8c3d0e264"
down_revision = "e2d4f6a8b0c1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the article table and its per-dialect full-text index."""
    op.create_table(
        "kb_article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_code", sa.String(length=20), nullable=True),
        sa.Column("topic", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_code"],
            ["entity.code"],
            name=op.f("fk_kb_article_entity_code_entity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article")),
    )
    with op.batch_alter_table("kb_article", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kb_article_published_updated", ["published", "updated_at"]
        )
        batch_op.create_index("ix_kb_article_entity_topic", ["entity_code", "topic"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "ALTER TABLE kb_article ADD COLUMN document_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('spanish'::regconfig, "
            "c311_unaccent(title || ' ' || topic || ' ' || body))) STORED"
        )
        op.execute(
            "CREATE INDEX ix_kb_article_document_tsv ON kb_article "
            "USING gin (document_tsv)"
        )
    elif dialect == "sqlite":
        _sqlite_upgrade()


def _sqlite_upgrade() -> None:
    """An FTS5 table over the articles' text, kept by triggers."""
    op.execute(
        "CREATE VIRTUAL TABLE kb_article_fts USING fts5(title, topic, body, "
        "content='kb_article', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER kb_article_fts_insert AFTER INSERT ON kb_article BEGIN "
        "INSERT INTO kb_article_fts(rowid, title, topic, body) "
        "VALUES (new.id, new.title, new.topic, new.body); END"
    )
    op.execute(
        "CREATE TRIGGER kb_article_fts_delete AFTER DELETE ON kb_article BEGIN "
        "INSERT INTO kb_article_fts(kb_article_fts, rowid, title, topic, body) "
        "VALUES ('delete', old.id, old.title, old.topic, old.body); END"
    )
    op.execute(
        "CREATE TRIGGER kb_article_fts_update AFTER UPDATE ON kb_article BEGIN "
        "INSERT INTO kb_article_fts(kb_article_fts, rowid, title, topic, body) "
        "VALUES ('delete', old.id, old.title, old.topic, old.body); "
        "INSERT INTO kb_article_fts(rowid, title, topic, body) "
        "VALUES (new.id, new.title, new.topic, new.body); END"
    )


def downgrade() -> None:
    """Drop the index machinery and the table."""
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS kb_article_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS kb_article_fts")
    with op.batch_alter_table("kb_article", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_article_entity_topic")
        batch_op.drop_index("ix_kb_article_published_updated")
    op.drop_table("kb_article")
