"""Migration c3f6a8b0d2e4 moves each user's entity into ``user_entity`` and
drops ``user.entity_code``; downgrade puts the column back with each user's
first entity by acronym.

Runs on SQLite, and on PostgreSQL in the suite's PostgreSQL pass (a schema
of its own), like the other migration tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.store import db as dbmod
from tests.conftest import database_at

BEFORE = "f6c9d1e3a5b7"
REVISION = "c3f6a8b0d2e4"
SCHEMA = "user_entity_mig_test"
AT = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to the revision before this one."""
    with database_at(tmp_path, SCHEMA, BEFORE) as found:
        yield found


def user(user_id: int, entity: str | None) -> dict[str, Any]:
    """A user row of the old schema."""
    return {
        "id": user_id,
        "username": f"u{user_id}",
        "full_name": f"Persona {user_id}",
        "password_hash": "x",
        "active": True,
        "entity_code": entity,
        "created_at": AT,
        "session_epoch": 0,
    }


def test_entities_move_to_user_entity_and_back(url: str) -> None:
    """Upgrade copies every non-null entity and drops the column; downgrade
    restores the column with the first entity (by acronym) and drops the
    table."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine, only=["entity", "user"])
    entities, users = meta.tables["entity"], meta.tables["user"]
    with engine.begin() as conn:
        conn.execute(
            entities.insert(),
            [
                {"code": code, "name": code, "active": True, "sector": ""}
                for code in ("MINSA", "MOP", "IDAAN")
            ],
        )
        conn.execute(users.insert(), [user(1, "MOP"), user(2, None), user(3, "MINSA")])
    dbmod.upgrade(url, REVISION)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("user")}
    assert "entity_code" not in columns
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text("SELECT user_id, entity_code FROM user_entity ORDER BY user_id")
        ).all()
        assert [tuple(r) for r in rows] == [(1, "MOP"), (3, "MINSA")]
        # An enlace of two entities: the downgrade keeps the first by acronym.
        conn.execute(sa.text("INSERT INTO user_entity VALUES (1, 'IDAAN'), (2, 'MOP')"))
    dbmod.downgrade(url, BEFORE)
    assert "user_entity" not in sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        back = conn.execute(
            sa.text('SELECT id, entity_code FROM "user" ORDER BY id')
        ).all()
    assert [tuple(r) for r in back] == [(1, "IDAAN"), (2, "MOP"), (3, "MINSA")]
    # The foreign key came back with the column.
    keys = sa.inspect(engine).get_foreign_keys("user")
    assert any(
        k["referred_table"] == "entity" and k["constrained_columns"] == ["entity_code"]
        for k in keys
    )
    engine.dispose()
