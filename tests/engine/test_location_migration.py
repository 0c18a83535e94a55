"""Migration d4a7b9c1e3f5 adds the case's map pin and goes back down.

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
from tests.conftest import bare_case, database_at, insert_cases

BEFORE = "b8e1f3a5c7d9"
REVISION = "d4a7b9c1e3f5"
SCHEMA = "location_mig_test"
AT = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to the revision before this one."""
    with database_at(tmp_path, SCHEMA, BEFORE) as found:
        yield found


def add_case(engine: sa.Engine, case_id: int, **extra: Any) -> None:
    """A bare case row (and its process version the first time)."""
    insert_cases(engine, [bare_case(case_id, AT, **extra)], AT)


def columns(engine: sa.Engine) -> set[str]:
    """The case table's column names."""
    return {c["name"] for c in sa.inspect(engine).get_columns("case")}


def test_cases_get_an_empty_point_and_the_columns_go_back(url):
    """Upgrade: earlier cases have no point, new ones keep theirs exactly;
    downgrade drops both columns, keeping the cases; upgrade works again."""
    engine = sa.create_engine(url)
    add_case(engine, 1)
    dbmod.upgrade(url, REVISION)
    assert {"latitude", "longitude"} <= columns(engine)
    add_case(engine, 2, latitude=8.98235, longitude=-79.51973)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text('SELECT id, latitude, longitude FROM "case" ORDER BY id')
        ).all()
    assert [tuple(r) for r in rows] == [(1, None, None), (2, 8.98235, -79.51973)]
    dbmod.downgrade(url, BEFORE)
    assert not {"latitude", "longitude"} & columns(engine)
    with engine.connect() as conn:
        count = conn.execute(sa.text('SELECT count(*) FROM "case"')).scalar()
    assert count == 2
    dbmod.upgrade(url, REVISION)
    assert {"latitude", "longitude"} <= columns(engine)
    engine.dispose()
