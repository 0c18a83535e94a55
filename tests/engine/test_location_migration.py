"""Migration d4a7b9c1e3f5 adds the case's map pin and goes back down.

Runs on SQLite, and on PostgreSQL in the suite's PostgreSQL pass (a schema
of its own), like the other migration tests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.store import db as dbmod
from tests.conftest import drop_schema, migration_url

BEFORE = "b8e1f3a5c7d9"
REVISION = "d4a7b9c1e3f5"
SCHEMA = "location_mig_test"
AT = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> Any:
    """A database of its own, migrated to the revision before this one."""
    found = migration_url(tmp_path, SCHEMA)
    dbmod.upgrade(found, BEFORE)
    yield found
    drop_schema(SCHEMA)


def add_case(engine: sa.Engine, case_id: int, **extra: Any) -> None:
    """A bare case row (and its process version the first time)."""
    meta = sa.MetaData()
    meta.reflect(engine, only=["process_version", "case"])
    versions, cases = meta.tables["process_version"], meta.tables["case"]
    with engine.begin() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(versions)).scalar() == 0:
            conn.execute(
                versions.insert(),
                {
                    "id": 1,
                    "case_type": "queja",
                    "version": 1,
                    "title": "Queja",
                    "content_hash": "0" * 64,
                    "files": {},
                    "deployed_by": "admin",
                    "deployed_at": AT,
                    "note": "",
                },
            )
        conn.execute(
            cases.insert(),
            {
                "id": case_id,
                "number": f"311-2026-{case_id:06d}",
                "case_type": "queja",
                "process_version_id": 1,
                "channel": "web",
                "subject": "",
                "access_code_hash": "x",
                "status": "open",
                "public_status": "",
                "created_at": AT,
                "updated_at": AT,
                "lock_version": 1,
                **extra,
            },
        )


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
