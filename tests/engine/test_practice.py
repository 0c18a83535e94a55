"""Practice mode: designers file and work practice cases on any version;
practice cases stay out of every real list and are deleted, audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from engine import services
from engine.bundles import registry
from engine.domain.clock import FrozenClock
from engine.domain.errors import NotAllowed, NotFound
from engine.domain.open311 import RequestQuery
from engine.domain.workspace import CaseQuery
from engine.services import (
    accounts,
    case_moves,
    citizen_accounts,
    design,
    open311_requests,
    open_data,
    practice,
    transparency,
)
from engine.services.common import PANAMA
from engine.store.accounts import AuditLog
from engine.store.models import (
    Case,
    CaseEvent,
    CaseSearch,
    HumanTask,
    WorkflowState,
)
from engine.store.publishing import Outbox

ROOT = Path(__file__).resolve().parents[2]
INTAKE = {
    "categoria": "salud",
    "asunto": "Sin citas en la policlínica de San Miguelito",
    "descripcion": "No dan citas de medicina general en la policlínica.",
}


def who(p, username):
    """A demo user's Actor."""
    return accounts.authenticate(p, username, "demo311", client="t")


@pytest.fixture
def center(seeded):
    """The seeded platform on a frozen clock, with a draft v2 of queja."""
    seeded.clock = FrozenClock(datetime(2026, 11, 2, 10, 0, tzinfo=PANAMA))
    files = dict(registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"])
    files["queja.bpmn"] = files["queja.bpmn"].replace(
        'name="Clasificar la queja"', 'name="Clasificar la queja (borrador)"'
    )
    design.deploy(seeded, who(seeded, "disenador"), files, "", draft=True)
    return seeded


def ready(p, number: str) -> list[HumanTask]:
    """The ready task rows of a case."""
    with p.db.read() as s:
        return list(
            s.scalars(
                select(HumanTask)
                .join(Case, Case.id == HumanTask.case_id)
                .where(Case.number == number, HumanTask.state == "ready")
            )
        )


def classify(p, actor, number: str) -> None:
    """Accept the case for MINSA (the agent's lane)."""
    (task,) = ready(p, number)
    services.complete_task(
        p, actor, task.id, {"decision": "aceptar", "entidad": "MINSA"}
    )


def test_a_designer_practices_a_draft_working_every_lane(center):
    """Filed on the draft, flagged; the designer does the agent's, the
    enlace's and the citizen's tasks; the case closes."""
    designer = who(center, "disenador")
    shown = practice.practice_intake(center, designer, "queja", 2)
    assert "categoria" in shown.form.schema["properties"]
    opened = practice.open_practice_case(center, designer, "queja", 2, INTAKE)
    with center.db.read() as s:
        case = s.scalar(select(Case).where(Case.number == opened.number))
        assert case.practice
    (task,) = ready(center, opened.number)
    assert task.name == "Clasificar la queja (borrador)"
    view = services.get_task(center, designer, task.id)
    assert view.may_complete and view.case.practice
    classify(center, designer, opened.number)
    (ack,) = ready(center, opened.number)
    assert ack.role == "enlace"
    services.complete_task(center, designer, ack.id, {})
    (answer,) = ready(center, opened.number)
    services.complete_task(
        center,
        designer,
        answer.id,
        {"accion": "responder", "respuesta": "Se abrió la agenda de citas."},
    )
    (rating,) = ready(center, opened.number)
    assert rating.role == "ciudadano"
    (listed,) = practice.list_practice_cases(center, designer, "queja", 2)
    assert listed.number == opened.number
    assert [t.id for t in listed.tasks] == [rating.id]
    assert listed.created_by == designer.name


def test_only_designers_practice_and_only_on_practice_cases(center):
    """Staff cannot file, see or work practice cases; designers cannot work
    real cases."""
    designer = who(center, "disenador")
    agent = who(center, "agente")
    with pytest.raises(NotAllowed):
        practice.open_practice_case(center, agent, "queja", 2, INTAKE)
    with pytest.raises(NotAllowed):
        services.open_case(center, "queja", INTAKE, actor=agent, practice_version=1)
    with pytest.raises(NotAllowed):
        practice.practice_intake(center, agent, "queja", 2)
    with pytest.raises(NotAllowed):
        practice.list_practice_cases(center, agent, "queja", 2)
    opened = practice.open_practice_case(center, designer, "queja", 2, INTAKE)
    (task,) = ready(center, opened.number)
    with pytest.raises(NotAllowed):
        services.get_task(center, agent, task.id)
    with pytest.raises(NotAllowed):
        services.complete_task(
            center, agent, task.id, {"decision": "aceptar", "entidad": "MINSA"}
        )
    with pytest.raises(NotAllowed):
        services.get_case(center, who(center, "supervisor"), opened.number)
    real = services.open_case(center, "queja", INTAKE)
    (real_task,) = ready(center, real.number)
    with pytest.raises(NotAllowed):
        services.complete_task(
            center, designer, real_task.id, {"decision": "aceptar", "entidad": "MINSA"}
        )
    with pytest.raises(NotAllowed):
        practice.delete_practice_case(center, agent, opened.number)


def test_practice_cases_stay_out_of_every_real_list(center):
    """Inbox, task list, search, dashboard, transparency, Open311, open data
    and duplicates count the real case only."""
    designer = who(center, "disenador")
    agent = who(center, "agente")
    real = services.open_case(center, "queja", INTAKE)
    fake = practice.open_practice_case(center, designer, "queja", 1, INTAKE)
    # Queues of real staff: only the real case's classification.
    assert [t.case_number for t in services.list_tasks(center, agent)] == [real.number]
    queue = services.list_queue(center, agent, "role")
    assert [t.case_number for t in queue.tasks] == [real.number]
    assert queue.counts["role"] == 1
    # Both classified for MINSA (the practice one by the designer).
    classify(center, agent, real.number)
    classify(center, designer, fake.number)
    enlace = who(center, "enlace.minsa")
    assert [t.case_number for t in services.list_tasks(center, enlace)] == [real.number]
    found = services.search_cases(center, agent, CaseQuery())
    assert [h.number for h in found.hits] == [real.number]
    found = services.search_cases(center, enlace, CaseQuery(text="policlínica"))
    assert [h.number for h in found.hits] == [real.number]
    board = services.dashboard(center, who(center, "supervisor"))
    assert board.open_cases == 1
    figures = transparency.figures(center, center.clock() + timedelta(hours=1))
    (minsa,) = [e for e in figures["entities"] if e["code"] == "MINSA"]
    assert minsa["received"] == 1
    listed = open311_requests.list_requests(center, RequestQuery())
    assert [r.service_request_id for r in listed] == [real.number]
    with pytest.raises(NotFound):
        open311_requests.get_request(center, fake.number)
    files, rows = open_data.build(center, center.clock())
    assert rows == 1 and fake.number.encode() not in files["csv"]
    # The practice case, same category and words, is no duplicate candidate.
    assert services.duplicate_candidates(center, agent, real.number) == []


def test_deleting_practice_cases_removes_their_rows_and_is_audited(center):
    """One case, then all of a version: every row of theirs goes, the real
    case and the append-only guard of real events stay."""
    designer = who(center, "disenador")
    real = services.open_case(center, "queja", INTAKE)
    first = practice.open_practice_case(center, designer, "queja", 2, INTAKE)
    second = practice.open_practice_case(center, designer, "queja", 2, INTAKE)
    third = practice.open_practice_case(center, designer, "queja", 2, INTAKE)
    with pytest.raises(NotFound):
        practice.delete_practice_case(center, designer, real.number)
    practice.delete_practice_case(center, designer, first.number)
    assert practice.delete_practice_cases(center, designer, "queja", 2) == 2
    with center.db.read() as s:
        assert list(s.scalars(select(Case.number))) == [real.number]
        (case_id,) = s.scalars(select(Case.id))
        for model, column in (
            (CaseEvent, CaseEvent.case_id),
            (HumanTask, HumanTask.case_id),
            (WorkflowState, WorkflowState.case_id),
            (CaseSearch, CaseSearch.case_id),
        ):
            others = s.scalar(
                select(func.count()).select_from(model).where(column != case_id)
            )
            assert others == 0, model
        audits = [
            a.detail
            for a in s.scalars(
                select(AuditLog).where(AuditLog.action == "practice_deleted")
            )
        ]
    assert audits == [
        {"case_type": "queja", "cases": [first.number]},
        {
            "case_type": "queja",
            "version": 2,
            "cases": [second.number, third.number],
        },
    ]
    # Real cases' events stay append-only.
    with pytest.raises(sa.exc.DatabaseError), center.db.transaction() as s:
        s.execute(sa.delete(CaseEvent))


def test_a_practice_case_is_in_nobodys_mis_casos(center):
    """Filed with a citizen's address, it is not listed for that address."""
    designer = who(center, "disenador")
    address = "vecina@example.pa"
    real = services.open_case(center, "queja", {**INTAKE, "correo": address})
    practice.open_practice_case(
        center, designer, "queja", 2, {**INTAKE, "correo": address}
    )
    found = citizen_accounts.my_cases(center, address)
    assert [c.number for c in found.cases] == [real.number]
    assert found.total == 1


def test_real_cases_never_move_onto_a_draft(center):
    """Moving a real case to the draft is refused with a reason; a practice
    case on version 1 may move there."""
    designer = who(center, "disenador")
    real = services.open_case(center, "queja", INTAKE)
    fake = practice.open_practice_case(center, designer, "queja", 1, INTAKE)
    refused = case_moves.migrate_cases(
        center, designer, "queja", 2, [real.number, fake.number]
    )
    assert list(refused) == [real.number]
    assert "borrador" in refused[real.number][0].text
    (task,) = ready(center, fake.number)
    assert task.name == "Clasificar la queja (borrador)"


def test_nobody_is_mailed_about_a_practice_case(center):
    """Filed with a citizen's address and classified (which mails the
    citizen on a real case), a practice case queues no mail at all; the
    real case filed alongside does."""
    designer = who(center, "disenador")
    address = "vecina@example.pa"
    real = services.open_case(center, "queja", {**INTAKE, "correo": address})
    fake = practice.open_practice_case(
        center, designer, "queja", 2, {**INTAKE, "correo": address}
    )
    classify(center, designer, fake.number)
    classify(center, who(center, "agente"), real.number)
    with center.db.read() as s:
        mailed = s.execute(
            select(Case.number, func.count(Outbox.id))
            .join(Outbox, Outbox.case_id == Case.id)
            .group_by(Case.number)
        ).all()
    assert dict(mailed) == {real.number: 2}  # receipt, then the new status
