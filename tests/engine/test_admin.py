"""Administration services: entities, people, the audit log and its viewer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine import services
from engine.domain.errors import Conflict, InvalidData, NotAllowed
from engine.domain.views import Actor
from engine.services import accounts, auditing, categories, entities, people
from engine.services.platform import Platform
from engine.store.accounts import AuditLog, User
from engine.store.models import HumanTask

ADMIN = Actor(1, "admin", "Admin", frozenset({"admin"}), client="203.0.113.7")
SUPERVISOR = Actor(2, "supervisor", "Sergio", frozenset({"supervisor_311"}))
AGENT = Actor(3, "agente", "Ana", frozenset({"agente_311"}))
INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua",
    "descripcion": "Hay una fuga de agua potable frente a la escuela.",
}


def admin_of(p: Platform) -> Actor:
    """The seeded admin as an actor (its real id), acting from an address."""
    with p.db.read() as s:
        user = s.scalars(select(User).where(User.username == "admin")).one()
        actor = accounts.actor_from_user(user)
    return Actor(
        actor.id, actor.username, actor.name, actor.roles, client="203.0.113.7"
    )


def user_id(p: Platform, username: str) -> int:
    """The id of a seeded user."""
    with p.db.read() as s:
        return s.scalars(select(User.id).where(User.username == username)).one()


def last_audit(p: Platform) -> Any:
    """The newest audit record (its detail typed loosely, for indexing)."""
    with p.db.read() as s:
        return s.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()


# --- entities -----------------------------------------------------------


def test_an_admin_creates_an_entity_with_its_categories_audited(seeded) -> None:
    """Acronym, full name, sector, inbox address, categories; audited after."""
    admin = admin_of(seeded)
    made = entities.create_entity(
        seeded,
        admin,
        {
            "code": "mida",
            "name": "Ministerio de Desarrollo Agropecuario",
            "sector": "Agro",
            "email": "buzon@mida.gob.pa",
            "categories": "agro, ganaderia agro",
        },
    )
    assert (made.code, made.categories) == ("MIDA", ("agro", "ganaderia"))
    assert categories.category_entities(seeded)["agro"] == ["MIDA"]
    record = last_audit(seeded)
    assert record.action == "entity_created"
    assert record.actor == "admin" and record.client == "203.0.113.7"
    assert record.detail["target"] == "MIDA"
    assert record.detail["after"]["email"] == "buzon@mida.gob.pa"


def test_bad_entity_data_is_named_per_field(seeded) -> None:
    """A bad acronym, no name, a bad address, a bad category: each named."""
    with pytest.raises(InvalidData) as err:
        entities.create_entity(
            seeded,
            admin_of(seeded),
            {"code": "=cmd", "name": "", "email": "x", "categories": "Salud!"},
        )
    assert set(err.value.errors) == {"code", "name", "email", "categories"}
    with pytest.raises(InvalidData) as err:
        entities.create_entity(seeded, admin_of(seeded), {"code": "MINSA", "name": "X"})
    assert "code" in err.value.errors


def test_editing_an_entity_records_before_and_after(seeded) -> None:
    """The audit record of an edit holds the old and the new values."""
    entities.edit_entity(
        seeded,
        admin_of(seeded),
        "MINSA",
        {"name": "Ministerio de Salud", "sector": "Salud", "categories": ["salud"]},
    )
    detail = last_audit(seeded).detail
    assert detail["before"]["sector"] == "" and detail["after"]["sector"] == "Salud"
    assert detail["before"]["categories"] == []
    assert detail["after"]["categories"] == ["salud"]


def test_an_entity_with_open_cases_is_not_deactivated(seeded) -> None:
    """Refused with the number of open cases; without them it is deactivated,
    stops being offered, and comes back when reactivated."""
    number = services.open_case(seeded, "queja", INTAKE).number
    with seeded.db.transaction() as s:
        s.execute(
            text("UPDATE \"case\" SET entity_code = 'IDAAN' WHERE number = :n"),
            {"n": number},
        )
    admin = admin_of(seeded)
    with pytest.raises(entities.OpenCasesRemain) as err:
        entities.set_entity_active(seeded, admin, "IDAAN", False)
    assert err.value.count == 1 and err.value.code == "IDAAN"
    assert entities.get_entity(seeded, admin, "IDAAN").active
    entities.set_entity_active(seeded, admin, "MOP", False)
    assert not entities.get_entity(seeded, admin, "MOP").active
    assert "MOP" not in {e.code for e in accounts.list_entities(seeded) if e.active}
    assert last_audit(seeded).detail["after"] == {"active": False}
    entities.set_entity_active(seeded, admin, "MOP", True)
    assert last_audit(seeded).action == "entity_reactivated"


def test_only_admins_manage_entities_and_people(seeded) -> None:
    """Supervisors and agents are refused by every admin service."""
    for actor in (SUPERVISOR, AGENT):
        with pytest.raises(NotAllowed):
            entities.list_entities_admin(seeded, actor)
        with pytest.raises(NotAllowed):
            entities.create_entity(seeded, actor, {"code": "X", "name": "X"})
        with pytest.raises(NotAllowed):
            entities.set_entity_active(seeded, actor, "MOP", False)
        with pytest.raises(NotAllowed):
            people.list_people(seeded, actor)
        with pytest.raises(NotAllowed):
            people.set_person_active(seeded, actor, user_id(seeded, "agente"), False)


# --- people -------------------------------------------------------------


def test_an_admin_creates_an_enlace_with_several_roles(seeded) -> None:
    """Roles, the enlace's entity, a password of 8+; the password never
    reaches the audit record."""
    made = people.create_person(
        seeded,
        admin_of(seeded),
        {
            "username": "Luis.Perez",
            "full_name": "Luis Pérez",
            "email": "luis@minsa.gob.pa",
            "roles": ["enlace", "agente_311"],
            "entity_codes": ["minsa"],
            "password": "Tres-ranas-verdes-2026",
        },
    )
    assert made.username == "luis.perez" and made.entity_codes == ("MINSA",)
    assert set(made.roles) == {"enlace", "agente_311"}
    actor = accounts.authenticate(
        seeded, "luis.perez", "Tres-ranas-verdes-2026", client="t"
    )
    assert actor.entity_codes == {"MINSA"}
    record = last_audit(seeded)
    assert record.action == "user_created" and "clave" not in str(record.detail)
    assert "password" not in record.detail["after"]


def test_bad_person_data_is_named_per_field(seeded) -> None:
    """Username, name, roles, entity and password are checked together."""
    with pytest.raises(InvalidData) as err:
        people.create_person(
            seeded,
            admin_of(seeded),
            {"username": "a b", "full_name": "", "roles": [], "password": "x"},
        )
    assert set(err.value.errors) == {"username", "full_name", "roles", "password"}
    with pytest.raises(InvalidData) as err:
        people.create_person(
            seeded,
            admin_of(seeded),
            {
                "username": "agente",
                "full_name": "Otra",
                "roles": ["enlace"],
                "password": "Tres-ranas-verdes-2026",
            },
        )
    assert set(err.value.errors) == {"entity_codes"}
    entities.set_entity_active(seeded, admin_of(seeded), "ATTT", False)
    with pytest.raises(InvalidData) as err:
        people.edit_person(
            seeded,
            admin_of(seeded),
            user_id(seeded, "agente"),
            {"full_name": "Ana", "roles": ["enlace"], "entity_codes": ["ATTT"]},
        )
    assert set(err.value.errors) == {"entity_codes"}


def test_deactivating_ends_sessions_and_releases_held_tasks(seeded) -> None:
    """The supervisor's session loads nobody at once, the task they held is
    back in the unclaimed queue with its event, and reactivating lets them in
    with a fresh login."""
    number = services.open_case(seeded, "queja", INTAKE).number
    sup_id = user_id(seeded, "supervisor")
    with seeded.db.read() as s:
        sup = accounts.actor_from_user(s.get(User, sup_id))
        task_id = s.scalars(select(HumanTask.id)).one()
    services.claim_task(seeded, sup, task_id)
    assert accounts.load_actor(seeded, sup_id, sup.session_epoch) is not None

    done = people.set_person_active(seeded, admin_of(seeded), sup_id, False)
    assert done.released == [number] and not done.person.active
    assert accounts.load_actor(seeded, sup_id, sup.session_epoch) is None
    with seeded.db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id is None
    case = services.get_case(seeded, AGENT, number)
    assert "task_released" in [e.kind for e in case.events]
    record = last_audit(seeded)
    assert record.action == "user_deactivated"
    assert record.detail["released"] == [number]
    with pytest.raises(accounts.NotFound):
        accounts.authenticate(seeded, "supervisor", "demo311", client="t")

    people.set_person_active(seeded, admin_of(seeded), sup_id, True)
    assert accounts.authenticate(seeded, "supervisor", "demo311", client="t")


def test_nobody_removes_the_last_admin(seeded) -> None:
    """Not by deactivating them, not by taking the role away, not oneself;
    with a second admin the first one may go."""
    admin = admin_of(seeded)
    with pytest.raises(NotAllowed):
        people.set_person_active(seeded, admin, admin.id, False)
    other = people.create_person(
        seeded,
        admin,
        {
            "username": "jefa",
            "full_name": "Jefa",
            "roles": ["supervisor_311"],
            "password": "Tres-ranas-verdes-2026",
        },
    )
    jefa = Actor(other.id, "jefa", "Jefa", frozenset({"admin"}))
    # The only active admin is "admin": neither path removes them.
    with pytest.raises(Conflict):
        people.set_person_active(seeded, jefa, admin.id, False)
    with pytest.raises(Conflict):
        people.edit_person(
            seeded, jefa, admin.id, {"full_name": "A", "roles": ["agente_311"]}
        )
    people.edit_person(
        seeded, admin, other.id, {"full_name": "Jefa", "roles": ["admin"]}
    )
    people.set_person_active(seeded, jefa, admin.id, False)
    assert not people.get_person(seeded, jefa, admin.id).active


# --- the audit log ------------------------------------------------------


def test_the_viewer_pages_filters_and_is_for_admins_and_supervisors(seeded) -> None:
    """50 a page newest first, by keyset; person, action and day filters;
    agents are refused."""
    with seeded.db.transaction() as s:
        for i in range(60):
            at = datetime(2026, 3, 1 + i % 2, 15, tzinfo=UTC)
            who = ADMIN if i % 3 else SUPERVISOR
            auditing.record(s, at, who, "task_claimed", {"case": f"311-2026-{i:06d}"})
    claims = {"accion": "task_claimed"}
    first = auditing.list_audit(seeded, SUPERVISOR, auditing.audit_query(claims))
    assert len(first.entries) == 50 and first.next_before is not None
    ids = [e.id for e in first.entries]
    assert ids == sorted(ids, reverse=True)
    rest = auditing.list_audit(
        seeded, ADMIN, auditing.audit_query({**claims, "antes": str(first.next_before)})
    )
    assert len(rest.entries) == 10 and rest.next_before is None
    mine = auditing.list_audit(
        seeded, ADMIN, auditing.audit_query({"persona": "supervisor"})
    )
    assert {e.actor for e in mine.entries} == {"supervisor"}
    assert len(mine.entries) == 20
    day = auditing.list_audit(
        seeded,
        ADMIN,
        auditing.audit_query({"desde": "2026-03-02", "hasta": "2026-03-02"}),
    )
    assert len(day.entries) == 30
    by_admin = auditing.list_audit(
        seeded,
        ADMIN,
        auditing.audit_query({"persona": "admin", "accion": "task_claimed"}),
    )
    assert len(by_admin.entries) == 40
    assert {(e.client, e.case is not None) for e in by_admin.entries} == {
        ("203.0.113.7", True)
    }
    assert (
        auditing.list_audit(
            seeded, ADMIN, auditing.audit_query({"accion": "user_created"})
        ).entries
        == []
    )
    with pytest.raises(NotAllowed):
        auditing.list_audit(seeded, AGENT, auditing.audit_query({}))
    with pytest.raises(InvalidData) as err:
        auditing.audit_query({"desde": "ayer"})
    assert set(err.value.errors) == {"desde"}


def test_the_export_is_audited_and_the_log_stays_append_only(seeded) -> None:
    """The export writes its own record first; the database still refuses
    to change or delete a record."""
    entries = list(auditing.export_audit(seeded, SUPERVISOR, auditing.audit_query({})))
    assert entries[0].action == "export_audit" and entries[0].actor == "supervisor"
    with pytest.raises(NotAllowed):
        auditing.export_audit(seeded, AGENT, auditing.audit_query({}))
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), seeded.db.transaction() as s:
            s.execute(text(statement))
