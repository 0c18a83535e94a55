"""Migration f8c3a5b7d9e1 gives open cases the category their filing named,
in batches, leaves closed ones alone, and goes back down.

Runs on SQLite, and on PostgreSQL in the suite's PostgreSQL pass (a schema
of its own), like the other migration tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.store import db as dbmod
from tests.conftest import bare_case, database_at, insert_cases, sa_metadata

BEFORE = "9d3a6e4f1c32"
REVISION = "f8c3a5b7d9e1"
SCHEMA = "dup_mig_test"
AT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
#: More open cases than one backfill batch holds.
OPEN_CASES = 1005
CATEGORIES = ("agua", "vias", "salud")


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to the revision before this one."""
    with database_at(tmp_path, SCHEMA, BEFORE) as found:
        yield found


def fill(engine: sa.Engine) -> None:
    """Open cases with a category in their ``created`` event, one without,
    and a closed one (never a duplicate candidate: not backfilled)."""
    total = OPEN_CASES + 2
    insert_cases(
        engine,
        [
            bare_case(i, AT, status="closed" if i == total else "open")
            for i in range(1, total + 1)
        ],
        AT,
    )
    events = sa_metadata(engine, "case_event").tables["case_event"]
    with engine.begin() as conn:
        conn.execute(
            events.insert(),
            [
                {
                    "case_id": i,
                    "at": AT,
                    "kind": "created",
                    "actor_label": "",
                    "summary": "",
                    "data": {
                        "channel": "web",
                        "data": {}
                        if i == OPEN_CASES + 1
                        else {"categoria": CATEGORIES[i % 3]},
                    },
                    "public": True,
                }
                for i in range(1, total + 1)
            ],
        )


def test_open_cases_get_their_category_and_the_columns_go_back(url):
    """Upgrade fills ``category`` of open cases; downgrade drops the columns."""
    engine = sa.create_engine(url)
    fill(engine)
    dbmod.upgrade(url, REVISION)
    with engine.connect() as conn:
        rows: dict[int, str | None] = dict(
            conn.execute(sa.text('SELECT id, category FROM "case"')).all()
        )
        merged = conn.execute(
            sa.text('SELECT count(*) FROM "case" WHERE merged_children = 0')
        ).scalar()
    assert rows[1] == CATEGORIES[1] and rows[OPEN_CASES] == CATEGORIES[OPEN_CASES % 3]
    assert all(rows[i] == CATEGORIES[i % 3] for i in range(1, OPEN_CASES + 1))
    assert rows[OPEN_CASES + 1] is None  # filed without a category
    assert rows[OPEN_CASES + 2] is None  # closed
    assert merged == OPEN_CASES + 2
    dbmod.downgrade(url, BEFORE)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("case")}
    assert not {"category", "parent_id", "merged_children"} & columns
    engine.dispose()
