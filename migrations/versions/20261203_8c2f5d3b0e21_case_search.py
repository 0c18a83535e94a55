"""case search: the search index and the indexes of search's filters

Revision ID: 8c2f5d3b0e21
Revises: 7b1e4c2a9d10
Create Date: 2026-12-03 10:00:00

``case_search`` holds each case's text and normalized contact. PostgreSQL
gets the ``unaccent`` and ``pg_trgm`` extensions (trusted extensions: the
database owner may create them), an immutable ``c311_unaccent`` wrapper, a
generated ``tsvector`` column with a GIN index and trigram indexes for
substring matches; SQLite gets an FTS5 table kept in step by triggers.
Existing cases are indexed from their events. Downgrade drops all of it but
the extensions, which other schemas of the database may use.
"""

import sqlalchemy as sa
from alembic import op

from engine.store import search_index

revision = "8c2f5d3b0e21"
down_revision = "7b1e4c2a9d10"
branch_labels = None
depends_on = None

#: Filter and sort indexes on case (both dialects).
CASE_INDEXES = {
    "ix_case_created": ["created_at"],
    "ix_case_due": ["due_at"],
    "ix_case_entity_created": ["entity_code", "created_at"],
    "ix_case_channel_created": ["channel", "created_at"],
}


def upgrade() -> None:
    """Create the index table, its per-dialect machinery, and fill it."""
    op.create_table(
        "case_search",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("contact_email", sa.Text(), nullable=False),
        sa.Column("contact_digits", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_case_search_case_id_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_search")),
    )
    with op.batch_alter_table("case", schema=None) as batch_op:
        for name, columns in CASE_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgresql_upgrade()
    elif dialect == "sqlite":
        _sqlite_upgrade()
    search_index.backfill(op.get_bind())


def _extension_schema(name: str) -> str:
    """Install extension ``name`` if missing; the schema it lives in."""
    bind = op.get_bind()
    bind.execute(sa.text(f"CREATE EXTENSION IF NOT EXISTS {name}"))
    schema = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = :name"
        ),
        {"name": name},
    ).scalar_one()
    return '"' + str(schema).replace('"', '""') + '"'


def _postgresql_upgrade() -> None:
    """Spanish full text with accents folded, and trigram indexes."""
    unaccent = _extension_schema("unaccent")
    trgm = _extension_schema("pg_trgm")
    # unaccent() is only STABLE (its dictionary could change); an index needs
    # an IMMUTABLE expression, hence the wrapper naming the dictionary. The
    # extension's schema is written out so the function works whatever the
    # search_path of the session.
    op.execute(
        "CREATE FUNCTION c311_unaccent(text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS "
        f"$$ SELECT {unaccent}.unaccent('{unaccent}.unaccent'::regdictionary, $1) $$"
    )
    op.execute(
        "ALTER TABLE case_search ADD COLUMN document_tsv tsvector "
        "GENERATED ALWAYS AS "
        "(to_tsvector('spanish'::regconfig, c311_unaccent(document))) STORED"
    )
    op.execute(
        "CREATE INDEX ix_case_search_document_tsv ON case_search "
        "USING gin (document_tsv)"
    )
    for name, column in (
        ("ix_case_search_email_trgm", "contact_email"),
        ("ix_case_search_digits_trgm", "contact_digits"),
        ("ix_case_search_name_trgm", "contact_name"),
    ):
        op.execute(
            f"CREATE INDEX {name} ON case_search "
            f"USING gin ({column} {trgm}.gin_trgm_ops)"
        )
    op.execute(
        'CREATE INDEX ix_case_number_trgm ON "case" '
        f"USING gin (number {trgm}.gin_trgm_ops)"
    )


def _sqlite_upgrade() -> None:
    """An FTS5 table over case_search.document, kept by triggers."""
    op.execute(
        "CREATE VIRTUAL TABLE case_search_fts USING fts5(document, "
        "content='case_search', content_rowid='case_id', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER case_search_fts_insert AFTER INSERT ON case_search BEGIN "
        "INSERT INTO case_search_fts(rowid, document) "
        "VALUES (new.case_id, new.document); END"
    )
    op.execute(
        "CREATE TRIGGER case_search_fts_delete AFTER DELETE ON case_search BEGIN "
        "INSERT INTO case_search_fts(case_search_fts, rowid, document) "
        "VALUES ('delete', old.case_id, old.document); END"
    )
    op.execute(
        "CREATE TRIGGER case_search_fts_update AFTER UPDATE ON case_search BEGIN "
        "INSERT INTO case_search_fts(case_search_fts, rowid, document) "
        "VALUES ('delete', old.case_id, old.document); "
        "INSERT INTO case_search_fts(rowid, document) "
        "VALUES (new.case_id, new.document); END"
    )


def downgrade() -> None:
    """Drop the index, its machinery and the filter indexes."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_case_number_trgm")
    elif dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS case_search_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS case_search_fts")
    op.drop_table("case_search")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS c311_unaccent(text)")
    with op.batch_alter_table("case", schema=None) as batch_op:
        for name in CASE_INDEXES:
            batch_op.drop_index(name)
