"""Migration f7a9b1c3d5e7 adds the citizens' sign-in links and the address
index of case search, and goes back down (SQLite here, PostgreSQL in the
PostgreSQL pass)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.store import db as dbmod
from tests.conftest import database_at

BEFORE = "e5b8c0d2f4a6"
REVISION = "f7a9b1c3d5e7"
SCHEMA = "citizen_mig_test"
INDEX = "ix_case_search_contact_email"


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to the revision before this one."""
    with database_at(tmp_path, SCHEMA, BEFORE) as found:
        yield found


def test_sign_in_links_and_the_address_index_come_and_go(url):
    """Upgrade creates ``citizen_sign_in`` (token hashes unique) and the
    partial address index (hash on PostgreSQL); downgrade removes both and
    keeps case search."""
    engine = sa.create_engine(url)
    dbmod.upgrade(url, REVISION)
    inspector = sa.inspect(engine)
    assert "citizen_sign_in" in inspector.get_table_names()
    columns = {c["name"] for c in inspector.get_columns("citizen_sign_in")}
    assert columns == {
        "id",
        "email",
        "token_hash",
        "created_at",
        "expires_at",
        "used_at",
    }
    uniques = inspector.get_unique_constraints("citizen_sign_in")
    assert [u["column_names"] for u in uniques] == [["token_hash"]]
    (index,) = [i for i in inspector.get_indexes("case_search") if i["name"] == INDEX]
    assert index["column_names"] == ["contact_email"]
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            definition = conn.execute(
                sa.text(
                    "SELECT indexdef FROM pg_indexes"
                    " WHERE indexname = :n AND schemaname = current_schema()"
                ),
                {"n": INDEX},
            ).scalar_one()
            assert "USING hash" in definition
        else:
            definition = conn.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": INDEX}
            ).scalar_one()
        assert "contact_email <> ''" in definition.replace("::text", "")

    dbmod.downgrade(url, BEFORE)
    inspector = sa.inspect(engine)
    assert "citizen_sign_in" not in inspector.get_table_names()
    assert INDEX not in {i["name"] for i in inspector.get_indexes("case_search")}
    assert "case_search" in inspector.get_table_names()
    engine.dispose()
