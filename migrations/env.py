"""Alembic environment: targets the engine's SQLAlchemy metadata."""

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from engine.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a live connection (batch mode keeps SQLite happy)."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    # A plain engine: on SQLite foreign keys stay off while batch migrations
    # copy and rename tables (with them on, dropping the old copy of a parent
    # table would cascade into its children).
    connectable = create_engine(url, poolclass=NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
