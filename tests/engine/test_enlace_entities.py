"""An enlace may represent more than one entity: what it sees and works,
how admins give and take entities (and the tasks that go back with them),
and the directory import's ``;`` cells."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine import services
from engine.domain.errors import InvalidData, NotAllowed
from engine.services import accounts, directory, entities, knowledge, notify, people
from engine.services.platform import Platform
from engine.store.accounts import AuditLog
from engine.store.models import Case, CaseEvent, HumanTask
from tests.directory_fixture import rows_csv
from tests.engine.test_admin import admin_of, user_id
from tests.engine.test_directory import read
from tests.engine.test_queues import enlace_task, ids, login

#: The demo enlace of IDAAN and MIVIOT.
ENLACE = "enlace.vivienda"


def holder(p: Platform, task_id: str) -> int | None:
    """Who holds a task now."""
    with p.db.read() as s:
        task = s.get(HumanTask, task_id)
        assert task is not None
        return task.assignee_id


def audits(p: Platform, action: str) -> list[Any]:
    """The audit details of ``action``, oldest first."""
    with p.db.read() as s:
        return [
            r.detail
            for r in s.scalars(
                select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
            )
        ]


def test_the_actor_carries_every_entity(seeded) -> None:
    """Signing in gives the enlace both its entities."""
    assert login(seeded, ENLACE).entity_codes == {"IDAAN", "MIVIOT"}
    assert login(seeded, "enlace.mop").entity_codes == {"MOP"}
    assert login(seeded, "agente").entity_codes == frozenset()


def test_queues_search_case_and_dashboard_cover_both_entities(seeded) -> None:
    """Both entities' tasks in the entity and unclaimed tabs, their cases in
    the search, the case page and the dashboard; MOP's in none of them."""
    idaan_number, idaan_task = enlace_task(seeded, "IDAAN")
    miviot_number, miviot_task = enlace_task(seeded, "MIVIOT")
    mop_number, mop_task = enlace_task(seeded, "MOP")
    enlace = login(seeded, ENLACE)
    for tab in ("entity", "role"):
        shown = ids(services.list_queue(seeded, enlace, tab))
        assert sorted(shown) == sorted([idaan_task, miviot_task]), tab
    assert {t.id for t in services.list_tasks(seeded, enlace)} == {
        idaan_task,
        miviot_task,
    }
    found = services.search_cases(seeded, enlace, services.case_query({}))
    assert {h.number for h in found.hits} == {idaan_number, miviot_number}
    only_mop = services.search_cases(
        seeded, enlace, services.case_query({"entidad": "MOP"})
    )
    assert only_mop.hits == []
    options = services.search_options(seeded, enlace)
    assert [e.code for e in options.entities] == ["IDAAN", "MIVIOT"]
    assert services.get_case(seeded, enlace, miviot_number).number == miviot_number
    with pytest.raises(NotAllowed):
        services.get_case(seeded, enlace, mop_number)
    board = services.dashboard(seeded, enlace)
    assert board.entity_codes == ("IDAAN", "MIVIOT") and board.open_cases == 2
    # It claims a task of each entity, never MOP's.
    services.claim_task(seeded, enlace, idaan_task)
    services.claim_task(seeded, enlace, miviot_task)
    with pytest.raises(NotAllowed):
        services.claim_task(seeded, enlace, mop_task)
    mine = services.list_queue(seeded, enlace, "mine")
    assert sorted(ids(mine)) == sorted([idaan_task, miviot_task])


def test_the_enlace_is_offered_for_both_entities_and_mailed_for_both(seeded) -> None:
    """A supervisor may hand either entity's task to it; alerts for a case
    of either entity reach its address, not a third entity's."""
    accounts.create_user(
        seeded,
        "enlace.doble",
        "Dora Doble",
        "demo311",
        ["enlace"],
        entity_codes=["ATTT", "CSS"],
        email="dora@css.gob.pa",
        min_password=1,
    )
    _, css_task = enlace_task(seeded, "CSS")
    supervisor = login(seeded, "supervisor")
    view = services.get_task(seeded, supervisor, css_task)
    choices = {u.name: u.entity_codes for u in view.assignable}
    assert choices["Dora Doble"] == ("ATTT", "CSS")
    services.assign_task(seeded, supervisor, css_task, user_id(seeded, "enlace.doble"))
    with seeded.db.read() as s:
        assert notify.staff_emails(s, "enlace", "ATTT") == ["dora@css.gob.pa"]
        assert notify.staff_emails(s, "enlace", "CSS") == ["dora@css.gob.pa"]
        assert notify.staff_emails(s, "enlace", "MOP") == []


def test_knowledge_articles_of_either_entity(seeded) -> None:
    """The enlace writes for either of its entities (it must say which),
    never for a third one; it sees its drafts of both."""
    enlace = login(seeded, ENLACE)
    article = {"title": "Cortes de agua", "topic": "agua", "body": "Texto."}
    with pytest.raises(InvalidData) as err:
        knowledge.create_article(seeded, enlace, article)
    assert set(err.value.errors) == {"entity_code"}
    with pytest.raises(InvalidData):
        knowledge.create_article(seeded, enlace, {**article, "entity_code": "MOP"})
    water = knowledge.create_article(
        seeded, enlace, {**article, "entity_code": "idaan"}
    )
    homes = knowledge.create_article(
        seeded, enlace, {**article, "title": "Bonos", "entity_code": "MIVIOT"}
    )
    assert (water.entity_code, homes.entity_code) == ("IDAAN", "MIVIOT")
    assert knowledge.may_write(enlace, "MIVIOT") and not knowledge.may_write(
        enlace, "MOP"
    )
    drafts = knowledge.search_articles(
        seeded, enlace, knowledge.article_query({}, drafts=True)
    )
    assert {a.id for a in drafts.articles} == {water.id, homes.id}
    # An enlace of one entity still writes without choosing.
    single = knowledge.create_article(seeded, login(seeded, "enlace.mop"), article)
    assert single.entity_code == "MOP"


def test_an_admin_gives_several_entities_checked_and_audited(seeded) -> None:
    """Every entity must exist and be active, an enlace needs one; the
    person and its audit record list them all."""
    admin = admin_of(seeded)
    data = {
        "username": "rita",
        "full_name": "Rita",
        "email": "rita@mop.gob.pa",
        "roles": ["enlace"],
        "password": "Tres-ranas-verdes-2026",
    }
    with pytest.raises(InvalidData) as err:
        people.create_person(seeded, admin, {**data, "entity_codes": []})
    assert set(err.value.errors) == {"entity_codes"}
    with pytest.raises(InvalidData) as err:
        people.create_person(seeded, admin, {**data, "entity_codes": ["MOP", "NADA"]})
    assert [m.params for m in err.value.errors["entity_codes"]] == [{"code": "NADA"}]
    entities.set_entity_active(seeded, admin, "ATTT", False)
    with pytest.raises(InvalidData) as err:
        people.create_person(seeded, admin, {**data, "entity_codes": ["ATTT"]})
    assert set(err.value.errors) == {"entity_codes"}
    made = people.create_person(
        seeded, admin, {**data, "entity_codes": ["mupa", "MOP", "MOP"]}
    )
    assert made.entity_codes == ("MOP", "MUPA")
    assert audits(seeded, "user_created")[-1]["after"]["entities"] == ["MOP", "MUPA"]
    # Someone who is no enlace keeps no entity.
    agent = people.edit_person(
        seeded,
        admin,
        made.id,
        {"full_name": "Rita", "roles": ["agente_311"], "entity_codes": ["MOP"]},
    )
    assert agent.entity_codes == ()


def test_removing_an_entity_or_the_role_releases_those_tasks(seeded) -> None:
    """Taking MIVIOT away gives back its task, audited, in the edit's
    transaction; IDAAN's stays held until the enlace role goes too."""
    admin = admin_of(seeded)
    enlace = login(seeded, ENLACE)
    idaan_number, idaan_task = enlace_task(seeded, "IDAAN")
    miviot_number, miviot_task = enlace_task(seeded, "MIVIOT")
    services.claim_task(seeded, enlace, idaan_task)
    services.claim_task(seeded, enlace, miviot_task)
    vivienda = user_id(seeded, ENLACE)
    edit = {"full_name": "Irene", "roles": ["enlace"], "entity_codes": ["IDAAN"]}
    person = people.edit_person(seeded, admin, vivienda, edit)
    assert person.entity_codes == ("IDAAN",) and person.held_tasks == 1
    assert holder(seeded, miviot_task) is None
    assert holder(seeded, idaan_task) == vivienda
    record = audits(seeded, "user_edited")[-1]
    assert record["released"] == [miviot_number]
    assert record["before"]["entities"] == ["IDAAN", "MIVIOT"]
    assert record["after"]["entities"] == ["IDAAN"]
    released = audits(seeded, "task_released")
    assert [(r["case"], r["task_id"]) for r in released] == [
        (miviot_number, miviot_task)
    ]
    with seeded.db.read() as s:
        kinds = s.scalars(
            select(CaseEvent.kind)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(Case.number == miviot_number)
        ).all()
    assert "task_released" in kinds
    # Back in MIVIOT's unclaimed queue, for MIVIOT's enlaces.
    assert miviot_task not in ids(
        services.list_queue(seeded, login(seeded, ENLACE), "role")
    )
    # Now the role itself goes: the IDAAN task is given back as well.
    people.edit_person(seeded, admin, vivienda, {**edit, "roles": ["agente_311"]})
    assert holder(seeded, idaan_task) is None
    assert audits(seeded, "user_edited")[-1]["released"] == [idaan_number]


def test_an_edit_keeps_tasks_the_person_may_still_do(seeded) -> None:
    """Adding an entity, or changing only the name, releases nothing."""
    admin = admin_of(seeded)
    _, task_id = enlace_task(seeded, "MOP")
    services.claim_task(seeded, login(seeded, "enlace.mop"), task_id)
    mop = user_id(seeded, "enlace.mop")
    people.edit_person(
        seeded,
        admin,
        mop,
        {"full_name": "Mario", "roles": ["enlace"], "entity_codes": ["MOP", "MUPA"]},
    )
    assert holder(seeded, task_id) == mop
    assert audits(seeded, "user_edited")[-1]["released"] == []
    assert audits(seeded, "task_released") == []


def test_the_import_takes_several_entities_and_is_idempotent(seeded) -> None:
    """``IDAAN; MIVIOT`` in the entity column: an enlace of both; the same
    file again changes nothing; a file dropping one gives back its tasks."""
    admin = admin_of(seeded)
    row = {
        "tipo": "persona",
        "usuario": "nuevo.enlace",
        "nombre": "Nuevo Enlace",
        "correo": "nuevo@idaan.gob.pa",
        "roles": "enlace",
        "entidad": "IDAAN; miviot",
    }
    done = directory.apply_directory(seeded, admin, read(rows_csv([row])))
    assert done.people.created == 1
    listed = {x.username: x for x in people.list_people(seeded, admin)}
    assert listed["nuevo.enlace"].entity_codes == ("IDAAN", "MIVIOT")
    again = directory.check_directory(seeded, admin, read(rows_csv([row])))
    assert again.people.unchanged == 1 and again.people.updated == 0
    # The download writes both, and imports back unchanged.
    download = directory.directory_rows(seeded, admin)
    assert any("IDAAN; MIVIOT" in r for r in download)
    _, task_id = enlace_task(seeded, "MIVIOT")
    services.claim_task(seeded, login(seeded, ENLACE), task_id)
    dropped = {**row, "usuario": ENLACE, "nombre": "Irene", "entidad": "IDAAN"}
    dropped.pop("correo")
    changed = directory.apply_directory(seeded, admin, read(rows_csv([dropped])))
    assert changed.people.updated == 1
    assert holder(seeded, task_id) is None
    assert audits(seeded, "user_edited")[-1]["released"]


def test_a_cell_naming_an_unknown_entity_names_it(seeded) -> None:
    """One bad acronym among several is named in the row's problem."""
    row = {
        "tipo": "persona",
        "usuario": "otro",
        "nombre": "Otro",
        "correo": "o@b.pa",
        "roles": "enlace",
        "entidad": "MOP;NADA",
    }
    check = directory.check_directory(seeded, admin_of(seeded), read(rows_csv([row])))
    assert [(p.column, p.message.params) for p in check.problems] == [
        ("entidad", {"code": "NADA"})
    ]
