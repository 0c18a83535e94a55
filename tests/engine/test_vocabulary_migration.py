"""Migration 7b1e4c2a9d10 moves stored data to English keys and channel
values, and back, without weakening the append-only audit trail.

Runs on SQLite, and on PostgreSQL in the suite's PostgreSQL pass (a schema
of its own), like the other migration tests.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from engine.store import db as dbmod
from tests.conftest import bare_case, database_at, insert_cases, sa_metadata

BEFORE = "5a7c3e9d1b20"
REVISION = "7b1e4c2a9d10"
SCHEMA = "vocab_test"
AT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)

#: Designers' workflow variables whose names collide with old payload keys:
#: they are designer vocabulary and must come through untouched.
WORKFLOW_DATA = {
    "asunto": "Hueco en la vía",
    "entidad": "MOP",
    "nombre": "Variable del diseñador",
    "estado": "lo que el diseñador quiera",
    "desde": "2026-11-01",
    "campos": [{"etiqueta": "no es una nota", "valor": 1}],
    "canal": "presencial",
}

#: (kind, old payload, new payload), as stored before and after.
EVENTS: list[tuple[str, Any, Any]] = [
    (
        "created",
        {"canal": "presencial", "datos": WORKFLOW_DATA},
        {"channel": "in_person", "data": WORKFLOW_DATA},
    ),
    ("created", {"canal": "correo", "datos": {}}, {"channel": "email", "data": {}}),
    ("created", {"canal": "phone", "datos": {}}, {"channel": "phone", "data": {}}),
    (
        "assigned",
        {"entidad": "MOP", "nombre": "Ministerio de Obras Públicas"},
        {"entity": "MOP", "name": "Ministerio de Obras Públicas"},
    ),
    ("status", {"estado": "Recibida"}, {"status": "Recibida"}),
    ("closed", {"fin": "fin_rechazo"}, {"end_event": "fin_rechazo"}),
    ("closed", {}, {}),
    ("reopened", {"reaperturas": 2}, {"reopen_count": 2}),
    ("overdue", {}, {}),
    ("reminder", {"entidad": "MOP"}, {"entity": "MOP"}),
    (
        "transferred",
        {"desde": "MOP", "hacia": "IDAAN"},
        {"from": "MOP", "to": "IDAAN"},
    ),
    ("migrated", {"desde": 1, "hacia": 2}, {"from": 1, "to": 2}),
    (
        "task_completed",
        {"tarea": "Clasificar la queja", "datos": WORKFLOW_DATA, "por": "Ana"},
        {"task": "Clasificar la queja", "data": WORKFLOW_DATA, "by": "Ana"},
    ),
    (
        "public_note",
        {
            "campos": [
                {"etiqueta": "Respuesta al ciudadano", "valor": "Reparado."},
                {"etiqueta": "Plazo", "valor": 3},
            ]
        },
        {
            "fields": [
                {"label": "Respuesta al ciudadano", "value": "Reparado."},
                {"label": "Plazo", "value": 3},
            ]
        },
    ),
    ("error", {"error": "ZeroDivisionError"}, {"error": "ZeroDivisionError"}),
    (
        "identity_unsealed",
        {"motivo": "Oficio de la Fiscalía."},
        {"reason": "Oficio de la Fiscalía."},
    ),
    ("status", None, None),
]
#: Case channels before and after.
CHANNELS = [
    ("web", "web"),
    ("phone", "phone"),
    ("presencial", "in_person"),
    ("correo", "email"),
]
#: Enough plain status events to need several batches.
FILLER = 1100


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to the revision before this one."""
    with database_at(tmp_path, SCHEMA, BEFORE) as found:
        yield found


def fill_old_rows(engine: sa.Engine) -> None:
    """Cases and events as the code before this revision wrote them."""
    insert_cases(
        engine,
        [
            bare_case(i, AT, channel=old)
            for i, (old, _new) in enumerate(CHANNELS, start=1)
        ],
        AT,
    )
    events = sa_metadata(engine, "case_event").tables["case_event"]
    with engine.begin() as conn:
        rows = [(kind, old) for kind, old, _new in EVENTS]
        rows += [("status", {"estado": f"Paso {n}"}) for n in range(FILLER)]
        conn.execute(
            events.insert(),
            [
                {
                    "case_id": 1,
                    "at": AT,
                    "kind": kind,
                    "actor_label": "",
                    "summary": "",
                    "data": data,
                    "public": True,
                }
                for kind, data in rows
            ],
        )


def stored(engine: sa.Engine) -> tuple[list[Any], list[str]]:
    """(event payloads by id, case channels by id)."""
    events = sa.table("case_event", sa.column("id"), sa.column("data", sa.JSON()))
    cases = sa.table("case", sa.column("id"), sa.column("channel"))
    with engine.connect() as conn:
        payloads = list(
            conn.execute(sa.select(events.c.data).order_by(events.c.id)).scalars()
        )
        channels = list(
            conn.execute(sa.select(cases.c.channel).order_by(cases.c.id)).scalars()
        )
    return payloads, channels


def triggers(engine: sa.Engine) -> list[tuple[str, str]]:
    """The triggers on ``case_event`` as the database holds them."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            query = (
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE tgrelid = 'case_event'::regclass AND NOT tgisinternal "
                "ORDER BY tgname"
            )
        else:
            query = (
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'case_event' ORDER BY name"
            )
        return [(str(a), str(b)) for a, b in conn.exec_driver_sql(query)]


def assert_append_only(engine: sa.Engine) -> None:
    """The database still refuses to change or remove an event."""
    for statement in (
        "UPDATE case_event SET summary = 'x'",
        "DELETE FROM case_event",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)


def case_columns(engine: sa.Engine) -> set[str]:
    """Column names of ``case``."""
    return {c["name"] for c in sa.inspect(engine).get_columns("case")}


def test_upgrade_writes_english_and_downgrade_restores_spanish(url: str) -> None:
    """Old rows → English keys and channels, triggers intact; and back."""
    engine = sa.create_engine(url)
    try:
        fill_old_rows(engine)
        original = copy.deepcopy(stored(engine))
        guards = triggers(engine)
        assert len(guards) == (1 if engine.dialect.name == "postgresql" else 2)

        dbmod.upgrade(url, REVISION)
        payloads, channels = stored(engine)
        assert payloads[: len(EVENTS)] == [new for _kind, _old, new in EVENTS]
        assert payloads[len(EVENTS) :] == [
            {"status": f"Paso {n}"} for n in range(FILLER)
        ]
        assert channels == [new for _old, new in CHANNELS]
        assert "language" in case_columns(engine)
        assert triggers(engine) == guards
        assert_append_only(engine)

        dbmod.downgrade(url, BEFORE)
        assert stored(engine) == original
        assert "language" not in case_columns(engine)
        assert triggers(engine) == guards
        assert_append_only(engine)

        # Upgrading twice over the same rows changes nothing more.
        dbmod.upgrade(url, REVISION)
        dbmod.downgrade(url, BEFORE)
        assert stored(engine) == original
    finally:
        engine.dispose()
