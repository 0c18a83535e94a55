"""Deactivating an entity with open cases: every case moves to the entity
the admin chooses, as a staff transfer moves it, in one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, insert, select

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.errors import InvalidData, NotAllowed
from engine.services import common, entities
from engine.services.platform import Platform
from engine.store.accounts import AuditLog
from engine.store.models import Case, HumanTask, WorkflowState
from engine.workflow import runtime
from engine.workflow.calendar import PANAMA
from tests.conftest import IDENTITY_KEY, seed
from tests.engine.test_scenarios import QUEJA, accept, do, who

VIAS = {**QUEJA, "categoria": "vias"}
FINISHED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR


@pytest.fixture
def p(db_url: str, demo_hash: str) -> Iterator[Platform]:
    """A seeded platform on a frozen clock (a Monday morning in Panama)."""
    clock = FrozenClock(datetime(2026, 11, 9, 9, 0, tzinfo=PANAMA))
    platform = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    seed(platform, demo_hash)
    yield platform
    platform.close()


def categories(p, code: str, *keys: str) -> None:
    """Give a demo entity the categories it answers."""
    view = entities.get_entity(p, who(p, "admin"), code)
    entities.edit_entity(
        p,
        who(p, "admin"),
        code,
        {"name": view.name, "sector": view.sector, "categories": list(keys)},
    )


def task_of(p, number: str) -> HumanTask:
    """The case's one ready task row."""
    with p.db.read() as s:
        return s.scalars(
            select(HumanTask)
            .join(Case, Case.id == HumanTask.case_id)
            .where(Case.number == number, HumanTask.state == "ready")
        ).one()


def test_open_cases_move_with_the_deactivation_and_continue_there(p) -> None:
    """MOP holds a case waiting on its acknowledgement, claimed by its
    enlace: deactivated towards MINSA, the case is MINSA's, the claim is
    released, the task is in MINSA's queue and the next step stays there;
    the citizen's timeline shows the transfer; audited per case."""
    opened = services.open_case(p, "queja", VIAS)
    accept(p, opened.number)
    mop = who(p, "enlace.mop")
    services.claim_task(p, mop, task_of(p, opened.number).id)

    done = entities.deactivate_entity(p, who(p, "admin"), "MOP", "minsa")
    assert (done.to, done.moved, done.entity.active) == ("MINSA", 1, False)

    task = task_of(p, opened.number)
    assert (task.entity_code, task.assignee_id) == ("MINSA", None)
    assert services.list_tasks(p, mop) == []
    public = services.track_case(p, opened.number, opened.access_code, client="t")
    assigned = [e.data["entity"] for e in public.timeline if e.kind == "assigned"]
    assert assigned == ["MOP", "MINSA"]
    moved = [e.data for e in public.timeline if e.kind == "transferred"]
    assert moved == [{"from": "MOP", "to": "MINSA", "role": "admin"}]
    staff = services.get_case(p, who(p, "supervisor"), opened.number).events
    released = [e for e in staff if e.kind == "task_released"]
    assert released[0].data["from"] == "Mario Enlace (MOP)" and not released[0].public

    do(p, "enlace.minsa", "Acusar recibo", {}, opened.number)
    following = task_of(p, opened.number)
    assert (following.name, following.entity_code) == ("Atender la queja", "MINSA")
    with p.db.read() as s:
        case = s.scalars(select(Case).where(Case.number == opened.number)).one()
        assert case.entity_code == "MINSA"
        actions = list(
            s.scalars(
                select(AuditLog.action).where(
                    AuditLog.action.in_(["case_transferred", "entity_deactivated"])
                )
            )
        )
        record = s.scalars(
            select(AuditLog).where(AuditLog.action == "case_transferred")
        ).one()
    assert actions == ["case_transferred", "entity_deactivated"]
    assert record.detail == {
        "case": opened.number,
        "from": "MOP",
        "to": "MINSA",
        "released": ["Mario Enlace (MOP)"],
    }


def test_a_transfer_needs_another_active_entity(p) -> None:
    """No receiving entity, the same one, an inactive or unknown one: each
    refused in Spanish; nothing moves, the entity stays active."""
    opened = services.open_case(p, "queja", VIAS)
    accept(p, opened.number)
    admin = who(p, "admin")
    with pytest.raises(entities.OpenCasesRemain):
        entities.deactivate_entity(p, admin, "MOP")
    entities.set_entity_active(p, admin, "ATTT", False)
    for target, text in (
        ("MOP", "no pueden quedarse en MOP"),
        ("ATTT", "ATTT está inactiva"),
        ("NADA", "NADA no existe"),
    ):
        with pytest.raises(InvalidData) as err:
            entities.deactivate_entity(p, admin, "MOP", target)
        (message,) = err.value.errors["transfer_to"]
        assert text in message.text % message.params
    assert entities.get_entity(p, admin, "MOP").active
    assert task_of(p, opened.number).entity_code == "MOP"
    with pytest.raises(NotAllowed):
        entities.deactivate_entity(p, who(p, "supervisor"), "MOP", "MINSA")


def test_entities_answering_the_same_categories_are_offered_first(p) -> None:
    """MOP answers vías and puentes: MUPA (both) before MINSA (vías), then
    the others by acronym; MOP itself and inactive entities are not offered."""
    categories(p, "MOP", "vias", "puentes")
    categories(p, "MINSA", "salud", "vias")
    categories(p, "MUPA", "puentes", "vias", "basura")
    entities.set_entity_active(p, who(p, "admin"), "ATTT", False)
    choices = entities.transfer_choices(p, who(p, "admin"), "MOP")
    assert [c.code for c in choices[:3]] == ["MUPA", "MINSA", "AAUD"]
    assert choices[0].shared == ("puentes", "vias")
    assert {"MOP", "ATTT"}.isdisjoint(c.code for c in choices)


def test_two_thousand_open_cases_move_in_one_request(p) -> None:
    """A large entity's 2,000 open cases move in one transaction: each its
    events and audit record, every ready task in the new queue."""
    number = services.open_case(p, "queja", VIAS).number
    accept(p, number)
    clone_cases(p, number, 1999)
    done = entities.deactivate_entity(p, who(p, "admin"), "MOP", "MINSA")
    assert done.moved == 2000
    with p.db.read() as s:
        assert (
            s.scalar(
                select(func.count()).where(
                    Case.entity_code == "MOP", Case.status == "open"
                )
            )
            == 0
        )
        assert (
            s.scalar(
                select(func.count()).where(
                    HumanTask.entity_code == "MINSA", HumanTask.state == "ready"
                )
            )
            == 2000
        )
        assert (
            s.scalar(select(func.count()).where(AuditLog.action == "case_transferred"))
            == 2000
        )


def clone_cases(p, number: str, copies: int) -> None:
    """``copies`` more open cases like ``number``: the case row, its
    workflow state and its ready task, under new ids and numbers."""
    with p.db.transaction() as s:
        conn = s.connection()
        case = conn.execute(select(Case.__table__).where(Case.number == number)).one()
        state = conn.execute(
            select(WorkflowState.__table__).where(WorkflowState.case_id == case.id)
        ).one()
        task = conn.execute(
            select(HumanTask.__table__)
            .where(HumanTask.case_id == case.id)
            .where(HumanTask.state == "ready")
        ).one()
        first = conn.execute(select(func.max(Case.id))).scalar_one() + 1
        ids = range(first, first + copies)
        conn.execute(
            insert(Case),
            [
                {
                    **case._asdict(),
                    "id": i,
                    "number": f"311-2026-9{i:05d}",
                    "intake_key": None,
                }
                for i in ids
            ],
        )
        conn.execute(
            insert(WorkflowState),
            [{**state._asdict(), "case_id": i} for i in ids],
        )
        conn.execute(
            insert(HumanTask),
            [{**task._asdict(), "id": str(uuid4()), "case_id": i} for i in ids],
        )


def test_the_stored_state_moves_pending_tasks_and_keeps_history(p) -> None:
    """On a real state (MOP's acknowledgement pending, its reminder timer
    already fired): every unfinished task restored from the moved state
    names MINSA where it named MOP, every finished one keeps its data, and
    nothing else in any task's data changes."""
    opened = services.open_case(p, "queja", VIAS)
    accept(p, opened.number)
    with p.db.read() as s:
        due = s.scalars(select(Case.next_timer_at)).one()
    p.clock.at = due + timedelta(minutes=1)
    assert services.fire_due_timers(p) == 1  # the reminder, non-interrupting
    with p.db.read() as s:
        case = s.scalars(select(Case).where(Case.number == opened.number)).one()
        stored = s.get(WorkflowState, case.id)
        parsed = common.parsed_by_id(p, s, case.process_version_id)
    moved = runtime.move_entity(stored.state, stored.format_version, "MOP", "MINSA")
    before = runtime.load_state(parsed, stored.state, stored.format_version)
    after = runtime.load_state(parsed, moved, runtime.FORMAT_VERSION)
    old = {str(t.id): t for t in runtime.all_tasks(before)}
    changed = finished = 0
    for task in runtime.all_tasks(after):
        was = old[str(task.id)]
        assert task.state == was.state
        if was.data.get("entidad") == "MOP" and not task.state & FINISHED:
            assert task.data == {**was.data, "entidad": "MINSA"}
            changed += 1
        else:
            assert task.data == was.data
            finished += task.state == TaskState.COMPLETED
    assert changed >= 2 and finished >= 5  # the ready task, its timers; history
    assert any(
        t.state == TaskState.COMPLETED and t.data.get("entidad") == "MOP"
        for t in runtime.all_tasks(after)
    )


def test_a_chain_of_tasks_deeper_than_the_recursion_limit_moves() -> None:
    """A state whose tasks form a chain of 5,000 (a case reminded for years)
    moves without hitting Python's recursion limit, whatever the order the
    tasks are stored in: the last, pending task
    inherits MOP through every delta and ends up naming MINSA explicitly;
    the first, finished one keeps MOP."""
    depth = 5_000
    ids = [str(uuid4()) for _ in range(depth)]
    tasks: dict[str, dict[str, Any]] = {
        ids[0]: {
            "id": ids[0],
            "parent": None,
            "state": int(TaskState.COMPLETED),
            "data": {"entidad": "MOP"},
        }
    }
    for parent, task_id in zip(ids, ids[1:], strict=False):
        tasks[task_id] = {
            "id": task_id,
            "parent": parent,
            "state": int(TaskState.COMPLETED),
            "delta": {"updates": {}, "deletions": []},
        }
    tasks[ids[-1]]["state"] = int(TaskState.READY)
    # Children before parents: nothing promises the stored order, and this
    # one makes every lookup walk the whole chain.
    state = json.dumps({"tasks": dict(reversed(tasks.items()))})
    moved = json.loads(
        runtime.move_entity(state, runtime.FORMAT_VERSION, "MOP", "MINSA")
    )["tasks"]
    assert moved[ids[-1]]["delta"]["updates"] == {"entidad": "MINSA"}
    assert moved[ids[0]]["data"] == {"entidad": "MOP"}
    assert moved[ids[depth // 2]]["delta"]["updates"] == {}
