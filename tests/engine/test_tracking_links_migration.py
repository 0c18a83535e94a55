"""Migration e5b8c0d2f4a6 adds the one-time link table and the outbox's HTML
column, and goes back down (SQLite here, PostgreSQL in the PostgreSQL pass)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.store import db as dbmod
from tests.conftest import database_at

BEFORE = "d4a7b9c1e3f5"
REVISION = "e5b8c0d2f4a6"
SCHEMA = "links_mig_test"


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to the revision before this one."""
    with database_at(tmp_path, SCHEMA, BEFORE) as found:
        yield found


def test_links_and_html_mail_come_and_go(url):
    """Upgrade creates ``tracking_link`` and ``outbox.body_html``; downgrade
    removes both and keeps the outbox."""
    engine = sa.create_engine(url)
    dbmod.upgrade(url, REVISION)
    inspector = sa.inspect(engine)
    assert "tracking_link" in inspector.get_table_names()
    columns = {c["name"] for c in inspector.get_columns("tracking_link")}
    assert {"case_id", "token_hash", "expires_at", "used_at"} <= columns
    assert "body_html" in {c["name"] for c in inspector.get_columns("outbox")}
    dbmod.downgrade(url, BEFORE)
    inspector = sa.inspect(engine)
    assert "tracking_link" not in inspector.get_table_names()
    assert "body_html" not in {c["name"] for c in inspector.get_columns("outbox")}
    engine.dispose()
