"""How a step writes: held rows and objects, deferred UPDATEs, the pipeline.

Each test runs on the suite's database (SQLite, or PostgreSQL where rows go
out in one pipeline) and checks what ends up stored or what is raised.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine import services
from engine.services.platform import Platform
from engine.store import db as dbmod
from engine.store.models import Case, CaseEvent, Entity
from engine.store.numbering import number_and_id

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def new_case(p: Platform, s, number: str, case_id: int | None) -> Case:
    """A transient case row with every required value."""
    version = s.scalar(select(func.min(Case.process_version_id)))
    assert version is not None
    return Case(
        id=case_id,
        number=number,
        case_type="queja",
        process_version_id=version,
        channel="web",
        subject="Prueba",
        access_code_hash="x",
        status="open",
        public_status="Recibida",
        created_at=NOW,
        updated_at=NOW,
        reopen_count=0,
        lock_version=1,
    )


@pytest.fixture
def filed(seeded: Platform) -> Platform:
    """The seeded platform with one case filed (so a version id exists)."""
    services.open_case(
        seeded,
        "queja",
        {
            "categoria": "vias",
            "asunto": "Bache",
            "descripcion": "Un bache enorme en la esquina de la escuela.",
            "ubicacion": "Calle 50",
        },
    )
    return seeded


def test_a_held_case_is_written_before_the_rows_that_refer_to_it(filed):
    """hold_new + hold_row: the case row exists when its event is inserted."""
    p = filed
    with p.db.transaction() as s:
        number, case_id = number_and_id(s, NOW)
        assert (case_id is not None) == p.db.is_postgres
        case = new_case(p, s, number, case_id)
        dbmod.hold_row(
            s,
            CaseEvent,
            {"at": NOW, "kind": "created", "summary": "x", "public": True},
            case,
        )
        if case.id is None:
            dbmod.insert_new(s, case)
        else:
            dbmod.hold_new(s, case)
        dbmod.write_held(s)
    with p.db.read() as s:
        stored = s.scalar(select(Case).where(Case.number == number))
        assert stored is not None
        kinds = s.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == stored.id)
        ).all()
    assert kinds == ["created"]


def test_a_refused_held_row_raises_the_databases_error_and_keeps_nothing(filed):
    """A duplicate tracking number fails as IntegrityError; nothing is stored."""
    p = filed
    with p.db.read() as s:
        taken = s.scalars(select(Case.number)).first()
        before = s.scalar(select(func.count()).select_from(CaseEvent))
    with pytest.raises(IntegrityError), p.db.transaction() as s:
        _, case_id = number_and_id(s, NOW)
        case = new_case(p, s, str(taken), case_id)
        dbmod.hold_row(
            s,
            CaseEvent,
            {"at": NOW, "kind": "created", "summary": "x", "public": True},
            case,
        )
        if case.id is None:
            dbmod.insert_new(s, case)
        else:
            dbmod.hold_new(s, case)
        dbmod.write_held(s)
    with p.db.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent)) == before
        assert s.scalar(select(func.count()).select_from(Case)) == 1
    # The connection went back healthy: the next unit of work runs.
    with p.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Entity))


def test_deferred_updates_are_written_at_commit(filed):
    """UPDATEs held by defer_updates reach the database when the unit commits."""
    p = filed
    rename = (
        update(Entity)
        .where(Entity.code == bindparam("of_code"))
        .values(name=bindparam("new_name"))
    )
    with p.db.transaction() as s:
        dbmod.defer_updates(s)
        dbmod.update_row(s, rename, {"of_code": "MINSA", "new_name": "Salud"})
        dbmod.update_row(s, rename, {"of_code": "MOP", "new_name": "Obras"})
        assert dbmod.deferring(s)
        with p.db.read() as other:  # not yet written
            assert other.get(Entity, "MINSA").name != "Salud"
    with p.db.read() as s:
        names = dict(s.execute(select(Entity.code, Entity.name)).all())
    assert (names["MINSA"], names["MOP"]) == ("Salud", "Obras")


def test_a_deferred_update_that_matches_no_row(filed):
    """SQLite counts each statement's rows: a missing one is stale, all rolls back.

    In PostgreSQL's pipeline no count comes back (the rows a step defers
    there are locked by its transaction): the others are written.
    """
    p = filed
    rename = (
        update(Entity)
        .where(Entity.code == bindparam("of_code"))
        .values(name=bindparam("new_name"))
    )

    def run() -> None:
        with p.db.transaction() as s:
            dbmod.defer_updates(s)
            dbmod.update_row(s, rename, {"of_code": "MINSA", "new_name": "Salud"})
            dbmod.update_row(s, rename, {"of_code": "NADIE", "new_name": "x"})

    if p.db.is_postgres:
        run()
    else:
        with pytest.raises(StaleDataError):
            run()
    with p.db.read() as s:
        renamed = s.get(Entity, "MINSA").name == "Salud"
    assert renamed == p.db.is_postgres
