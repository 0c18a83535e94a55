"""Migration b2d5f7a9c1e3 adds version status and publication, the practice
flag of cases and the guard that lets practice cases' events go; and goes
back down (SQLite here, PostgreSQL in the PostgreSQL pass)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.store import db as dbmod
from tests.conftest import drop_schema, migration_url

BEFORE = "f7a9b1c3d5e7"
REVISION = "b2d5f7a9c1e3"
SCHEMA = "drafts_mig_test"
AT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> Any:
    """A database of its own at the revision before, with one version and
    one case with an event."""
    found = migration_url(tmp_path, SCHEMA)
    dbmod.upgrade(found, BEFORE)
    engine = sa.create_engine(found)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO process_version (id, case_type, version, title,"
                " content_hash, files, deployed_by, deployed_at, note)"
                " VALUES (1, 'queja', 1, 'Queja', 'h', '{}', 'sistema', :at, '')"
            ),
            {"at": AT},
        )
        conn.execute(
            sa.text(
                'INSERT INTO "case" (id, number, case_type, process_version_id,'
                " channel, subject, access_code_hash, status, public_status,"
                " created_at, updated_at, lock_version)"
                " VALUES (1, '311-2026-000001', 'queja', 1, 'web', '', 'x',"
                " 'open', '', :at, :at, 1)"
            ),
            {"at": AT},
        )
        conn.execute(
            sa.text(
                "INSERT INTO case_event (case_id, at, kind, actor_label, summary,"
                " public) VALUES (1, :at, 'created', '', '', true)"
            ),
            {"at": AT},
        )
    engine.dispose()
    yield found
    drop_schema(SCHEMA)


def _add_practice_case(conn: sa.Connection) -> None:
    """A second case, flagged practice, with one event."""
    conn.execute(
        sa.text(
            'INSERT INTO "case" (id, number, case_type, process_version_id,'
            " channel, subject, access_code_hash, status, public_status,"
            " created_at, updated_at, lock_version, practice)"
            " VALUES (2, '311-2026-000002', 'queja', 1, 'web', '', 'x',"
            " 'open', '', :at, :at, 1, true)"
        ),
        {"at": AT},
    )
    conn.execute(
        sa.text(
            "INSERT INTO case_event (case_id, at, kind, actor_label, summary,"
            " public) VALUES (2, :at, 'created', '', '', true)"
        ),
        {"at": AT},
    )


def test_status_publication_and_practice_come_and_go(url):
    """Existing versions are published by their deployer, existing cases are
    real; only practice cases' events may be deleted; downgrade drops the
    practice cases and restores the strict guard."""
    engine = sa.create_engine(url)
    dbmod.upgrade(url, REVISION)
    inspector = sa.inspect(engine)
    columns = {c["name"] for c in inspector.get_columns("process_version")}
    assert {"status", "published_at", "published_by", "published_note"} <= columns
    assert "practice" in {c["name"] for c in inspector.get_columns("case")}
    assert "ix_case_practice" in {i["name"] for i in inspector.get_indexes("case")}
    with engine.begin() as conn:
        status, by, at = conn.execute(
            sa.text("SELECT status, published_by, published_at FROM process_version")
        ).one()
        assert (status, by) == ("published", "sistema")
        assert at is not None
        assert conn.execute(sa.text('SELECT practice FROM "case"')).scalar_one() in (
            False,
            0,
        )
        _add_practice_case(conn)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM case_event WHERE case_id = 2"))
    with pytest.raises(sa.exc.DatabaseError), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM case_event WHERE case_id = 1"))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO case_event (case_id, at, kind, actor_label, summary,"
                " public) VALUES (2, :at, 'created', '', '', true)"
            ),
            {"at": AT},
        )

    dbmod.downgrade(url, BEFORE)
    inspector = sa.inspect(engine)
    columns = {c["name"] for c in inspector.get_columns("process_version")}
    assert "status" not in columns and "published_note" not in columns
    assert "practice" not in {c["name"] for c in inspector.get_columns("case")}
    with engine.begin() as conn:
        assert conn.execute(sa.text('SELECT id FROM "case"')).scalars().all() == [1]
        assert conn.execute(
            sa.text("SELECT case_id FROM case_event")
        ).scalars().all() == [1]
    with pytest.raises(sa.exc.DatabaseError), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM case_event"))
    dbmod.upgrade(url, REVISION)
    engine.dispose()
