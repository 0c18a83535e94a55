"""The database schema for operators: apply or revert migrations."""

from __future__ import annotations

from engine.store import db


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations to ``url`` up to ``revision``."""
    db.upgrade(url, revision)


def downgrade(url: str, revision: str = "-1") -> None:
    """Revert migrations of ``url`` down to ``revision``."""
    db.downgrade(url, revision)
