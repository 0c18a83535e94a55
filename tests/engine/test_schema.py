"""The models and the migrations describe the same schema."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from engine.store import search_index
from engine.store.models import Base


def modelled(name: str | None, type_: str, parents: Any) -> bool:
    """Leave out what the search migration adds beside the models.

    The full-text machinery is per dialect (a generated tsvector column and
    GIN/trigram indexes on PostgreSQL, an FTS5 table and its shadow tables on
    SQLite); :data:`engine.store.search_index.UNMODELLED` lists it.
    """
    return not search_index.is_unmodelled(name)


def test_models_match_the_migrations(db_url: str) -> None:
    """Autogenerate finds nothing to add, drop or alter after ``upgrade head``."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": modelled}
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
