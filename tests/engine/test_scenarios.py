"""DOMAIN.md's acceptance scenarios through the services, on a frozen clock.

Each test files a case, works it as the people involved would (agent, enlace,
supervisor, citizen), moves the clock and runs the worker, and checks what the
case store says: deadlines, public status, overdue flags, closings, reopenings,
surveys and the timeline the citizen sees.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.errors import NotAllowed
from engine.services import accounts
from engine.services.platform import Platform
from engine.store.models import Case, HumanTask, SurveyResponse
from engine.workflow.calendar import PANAMA
from tests.conftest import IDENTITY_KEY, seed

QUEJA = {
    "categoria": "salud",
    "asunto": "No hay médico en el centro de salud",
    "descripcion": "Desde el lunes el centro de salud de Pedregal atiende sin médico.",
    "correo": "vecina@example.pa",
}


def pa(y: int, m: int, d: int, hour: int = 9, minute: int = 0) -> datetime:
    """An instant in Panama time."""
    return datetime(y, m, d, hour, minute, tzinfo=PANAMA)


@pytest.fixture
def clock() -> FrozenClock:
    """Scenario 1's moment: Friday 2026-10-30, 19:00 in Panama."""
    return FrozenClock(pa(2026, 10, 30, 19))


@pytest.fixture
def p(db_url: str, clock: FrozenClock, demo_hash: str):
    """A seeded platform on the frozen clock."""
    platform = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    seed(platform, demo_hash)
    yield platform
    platform.close()


def who(p: Platform, username: str):
    """A demo user's Actor."""
    return accounts.authenticate(p, username, "demo311", client="scenarios")


def do(p: Platform, username: str, task_name: str, data: dict, number: str) -> None:
    """Complete the ready task ``task_name`` of case ``number`` as ``username``."""
    actor = who(p, username)
    tasks = [
        t
        for t in services.list_tasks(p, actor)
        if t.case_number == number and t.name == task_name
    ]
    assert tasks, f"{username} has no '{task_name}' for {number}"
    services.complete_task(p, actor, tasks[0].id, data)


def case_row(p: Platform, number: str) -> Case:
    """The case row."""
    with p.db.read() as s:
        return s.scalars(select(Case).where(Case.number == number)).one()


def citizen(p: Platform, opened, task_name: str, data: dict) -> None:
    """The citizen completes a task shown on the tracking page."""
    public = services.track_case(p, opened.number, opened.access_code, client="c")
    (task,) = [t for t in public.tasks if t.name == task_name]
    services.complete_citizen_task(
        p, opened.number, opened.access_code, task.id, data, client="c"
    )


def accept(p: Platform, number: str, entity: str | None = None) -> None:
    """The agent accepts (keeping the suggested entity unless one is given)."""
    data = {"decision": "aceptar"}
    if entity:
        data["entidad"] = entity
    else:
        data["entidad"] = case_data(p, number, "clasificar_caso")["entidad"]
    do(p, "agente", "Clasificar la queja", data, number)


def case_data(p: Platform, number: str, _task: str) -> dict:
    """What the agent's task form comes filled with (the suggested entity)."""
    agent = who(p, "agente")
    (task,) = [t for t in services.list_tasks(p, agent) if t.case_number == number]
    return services.get_task(p, agent, task.id).prefill


def test_scenario_1_phone_call_friday_night(p, clock):
    """A call at 19:00 Friday: acknowledgement due Wednesday 2026-11-04."""
    opened = services.open_case(
        p, "queja", QUEJA, actor=who(p, "agente"), channel="phone"
    )
    accept(p, opened.number)
    case = case_row(p, opened.number)
    assert case.entity_code == "MINSA" and case.channel == "phone"
    assert case.due_at == pa(2026, 11, 4, 23, 59).replace(second=59)


def test_scenario_2_web_filing_before_the_december_holidays(p, clock):
    """Filed Friday 2026-12-18: due Wednesday 2026-12-23 (Dec 21 observed)."""
    clock.at = pa(2026, 12, 18, 22)
    opened = services.open_case(p, "queja", QUEJA)
    accept(p, opened.number)
    assert case_row(p, opened.number).due_at == pa(2026, 12, 23, 23, 59).replace(
        second=59
    )
    with p.db.read() as s:
        from engine.store.publishing import Outbox

        (receipt,) = [
            m for m in s.scalars(select(Outbox)) if "recibimos su caso" in m.subject
        ]
    assert opened.number in receipt.body and opened.access_code in receipt.body


def test_admin_day_off_moves_new_deadlines(p, clock):
    """A decreed day off (Monday 2026-11-02) is skipped by later deadlines."""
    from datetime import date

    accounts_admin = who(p, "admin")
    services.add_day_off(p, accounts_admin, date(2026, 11, 2), "Asueto decretado")
    with pytest.raises(NotAllowed):
        services.add_day_off(p, who(p, "agente"), date(2026, 11, 6), "No")
    opened = services.open_case(p, "queja", QUEJA)
    accept(p, opened.number)
    # Mon 2 (asueto) and Tue 3, Thu 5 (holidays) skipped: Wed 4, Fri 6.
    assert case_row(p, opened.number).due_at == pa(2026, 11, 6, 23, 59).replace(
        second=59
    )


def test_scenario_3_reserved_identity(p, clock):
    """The enlace never sees the identity; a supervisor unseals it, audited."""
    data = {
        "categoria": "salud",
        "asunto": "Cobro indebido en el hospital",
        "descripcion": "Un funcionario cobra por citas que deberían ser gratuitas.",
        "nombre": "Testigo Reservado",
        "correo": "testigo@example.pa",
        "identidad_reservada": True,
    }
    opened = services.open_case(p, "denuncia", data)
    row = case_row(p, opened.number)
    assert row.identity_reserved and row.contact is None
    assert "Testigo" not in (row.sealed_contact or "")
    do(
        p,
        "agente",
        "Clasificar la denuncia",
        {"decision": "aceptar", "entidad": "MINSA"},
        opened.number,
    )
    enlace = who(p, "enlace.minsa")
    view = services.get_case(p, enlace, opened.number)
    assert view.contact is None and view.identity_reserved
    assert "Testigo" not in repr(view)
    with pytest.raises(NotAllowed):
        services.unseal_identity(p, enlace, opened.number, "Quiero saber quién es.")
    with pytest.raises(NotAllowed):
        services.unseal_identity(
            p, who(p, "agente"), opened.number, "Motivo suficiente."
        )
    contact = services.unseal_identity(
        p, who(p, "supervisor"), opened.number, "Requerimiento del Ministerio Público."
    )
    assert contact == {"nombre": "Testigo Reservado", "correo": "testigo@example.pa"}
    events = services.get_case(p, who(p, "supervisor"), opened.number).events
    audit = [e for e in events if e.kind == "identity_unsealed"]
    assert audit[0].actor == "Sergio Supervisor"
    assert audit[0].data == {
        "reason": "Requerimiento del Ministerio Público.",
        "role": "supervisor_311",
    }
    assert not audit[0].public
    # No mail is queued to a sealed address.
    with p.db.read() as s:
        from engine.store.publishing import Outbox

        assert s.scalars(select(Outbox)).all() == []


def transfer_mop_to_idaan(p: Platform, number: str) -> None:
    """MOP acknowledges, says it is not its competence; the agent moves it."""
    do(p, "enlace.mop", "Acusar recibo", {}, number)
    do(
        p,
        "enlace.mop",
        "Atender la queja",
        {
            "accion": "no_competencia",
            "motivo_no_competencia": "La tubería rota es de agua: es del IDAAN.",
        },
        number,
    )
    do(p, "agente", "Transferir a otra entidad", {"entidad": "IDAAN"}, number)


def test_scenario_4_transfer_keeps_the_number(p, clock):
    """MOP: not our competence → agent routes to IDAAN; both in the history."""
    opened = services.open_case(p, "queja", {**QUEJA, "categoria": "vias"})
    accept(p, opened.number)
    transfer_mop_to_idaan(p, opened.number)
    row = case_row(p, opened.number)
    assert row.entity_code == "IDAAN" and row.status == "open"
    public = services.track_case(p, opened.number, opened.access_code, client="c")
    assigned = [e.data["entity"] for e in public.timeline if e.kind == "assigned"]
    assert assigned == ["MOP", "IDAAN"]
    moved = [e.data for e in public.timeline if e.kind == "transferred"]
    # Recorded with the role of the agent whose transfer moved it.
    assert moved == [{"from": "MOP", "to": "IDAAN", "role": "agente_311"}]
    assert public.public_status == "Asignada a la entidad"
    assert services.list_tasks(p, who(p, "enlace.mop")) == []


def test_scenario_5_reminder_then_escalation(p, clock):
    """No acknowledgement: a reminder before the deadline, escalation at it."""
    opened = services.open_case(p, "queja", QUEJA)
    accept(p, opened.number)
    clock.at = pa(2026, 11, 4, 9)  # the reminder is due 24 h before the end
    assert services.fire_due_timers(p) == 1
    events = [
        e.kind for e in services.get_case(p, who(p, "supervisor"), opened.number).events
    ]
    assert "reminder" in events and "overdue" not in events
    assert case_row(p, opened.number).overdue_at is None
    clock.at = pa(2026, 11, 5, 8)
    assert services.fire_due_timers(p) == 1
    row = case_row(p, opened.number)
    assert row.overdue_at == clock.at
    supervisor_tasks = services.list_tasks(p, who(p, "supervisor"))
    assert [t.name for t in supervisor_tasks if t.case_number == opened.number] == [
        "Atender el plazo vencido"
    ]
    board = services.dashboard(p, who(p, "supervisor"))
    assert [c.number for c in board.overdue] == [opened.number]
    # The enlace's task is still there; acknowledging clears the flag.
    do(p, "enlace.minsa", "Acusar recibo", {}, opened.number)
    assert case_row(p, opened.number).overdue_at is None


def test_scenario_6_low_rating_reopens_with_new_deadline(p, clock):
    """Closed with an answer; 2/5 within 10 days reopens to the same entity."""
    opened = services.open_case(p, "queja", QUEJA)
    accept(p, opened.number)
    do(p, "enlace.minsa", "Acusar recibo", {}, opened.number)
    do(
        p,
        "enlace.minsa",
        "Atender la queja",
        {
            "accion": "responder",
            "respuesta": "Ya asignamos un médico de 7:00 a 15:00.",
        },
        opened.number,
    )
    row = case_row(p, opened.number)
    assert row.status == "closed" and row.public_status == "Respondida"
    clock.at = pa(2026, 11, 9, 10)
    citizen(
        p,
        opened,
        "Calificar la atención",
        {"calificacion": 2, "comentario": "No se resolvió"},
    )
    row = case_row(p, opened.number)
    assert row.status == "open" and row.reopen_count == 1 and row.closed_at is None
    assert row.entity_code == "MINSA"
    # 10 business days from Monday 9th, skipping the holiday of the 10th.
    assert row.due_at == pa(2026, 11, 24, 23, 59).replace(second=59)
    tasks = services.list_tasks(p, who(p, "enlace.minsa"))
    assert [t.name for t in tasks] == ["Atender la queja"]
    with p.db.read() as s:
        (survey,) = s.scalars(select(SurveyResponse)).all()
    assert (survey.rating, survey.comment, survey.entity_code) == (
        2,
        "No se resolvió",
        "MINSA",
    )


def test_good_rating_closes_for_good(p, clock):
    """A 5/5 rating ends the case at 'Cerrada'."""
    opened = services.open_case(p, "queja", QUEJA)
    accept(p, opened.number)
    do(p, "enlace.minsa", "Acusar recibo", {}, opened.number)
    do(
        p,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "responder", "respuesta": "Resuelto con un médico nuevo."},
        opened.number,
    )
    assert case_row(p, opened.number).milestone == "cerrado"
    citizen(p, opened, "Calificar la atención", {"calificacion": 5})
    row = case_row(p, opened.number)
    assert row.status == "closed" and row.public_status == "Cerrada"
    assert row.next_timer_at is None
    # The rating step left the case at its last milestone (it never went
    # back to "respondido").
    assert row.milestone == "cerrado"


def test_the_survey_window_closes_when_nobody_rates(p, clock):
    """Answered (closed) and never rated: past the survey deadline the
    worker fires its timer although the case is closed; the survey goes
    away and the case ends at 'Cerrada' with no timer left."""
    opened = services.open_case(p, "queja", QUEJA)
    accept(p, opened.number)
    do(p, "enlace.minsa", "Acusar recibo", {}, opened.number)
    do(
        p,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "responder", "respuesta": "Resuelto con un médico nuevo."},
        opened.number,
    )
    row = case_row(p, opened.number)
    assert row.status == "closed" and row.next_timer_at is not None
    clock.at = row.next_timer_at + timedelta(minutes=1)
    assert services.fire_due_timers(p) == 1
    row = case_row(p, opened.number)
    assert (row.status, row.public_status) == ("closed", "Cerrada")
    assert row.next_timer_at is None and row.milestone == "cerrado"
    with p.db.read() as s:
        ready = s.scalars(
            select(HumanTask).where(
                HumanTask.case_id == row.id, HumanTask.state == "ready"
            )
        ).all()
    assert ready == []


def test_scenario_8_idea_gets_an_official_answer(p, clock):
    """A sugerencia: acknowledgement deadline only; 'en evaluación' closes it."""
    opened = services.open_case(
        p,
        "sugerencia",
        {
            "categoria": "ambiente",
            "asunto": "Más árboles en el parque",
            "descripcion": "Propongo sembrar árboles y poner bancas en el parque.",
        },
    )
    do(
        p,
        "agente",
        "Clasificar la idea o sugerencia",
        {"decision": "aceptar", "entidad": "MUPA"},
        opened.number,
    )
    row = case_row(p, opened.number)
    # 5 business days: Nov 2, 4, 6, 9, 11 (3, 5 and 10 are holidays).
    assert row.due_at == pa(2026, 11, 11, 23, 59).replace(second=59)
    enlace = who(p, "enlace.mupa")
    (task,) = services.list_tasks(p, enlace)
    services.complete_task(
        p,
        enlace,
        task.id,
        {
            "dictamen": "en_evaluacion",
            "respuesta": "La propuesta pasa a la Dirección de Parques para su estudio.",
        },
    )
    row = case_row(p, opened.number)
    assert row.status == "closed" and row.public_status == "Idea en evaluación"


def test_scenario_9_question_pauses_and_silence_closes(p, clock):
    """The enlace asks; the deadline pauses; 10 business days of silence close it."""
    opened = services.open_case(p, "queja", QUEJA)
    accept(p, opened.number)
    do(p, "enlace.minsa", "Acusar recibo", {}, opened.number)
    do(
        p,
        "enlace.minsa",
        "Atender la queja",
        {
            "accion": "pedir_informacion",
            "pregunta": "¿A qué hora fue al centro de salud?",
        },
        opened.number,
    )
    row = case_row(p, opened.number)
    assert row.public_status == "Esperando información del ciudadano"
    # Only the citizen's own deadline runs (10 business days from Friday
    # 30th, skipping the holidays of Nov 3, 5 and 10); the entity's is paused.
    assert row.due_at == pa(2026, 11, 18, 23, 59).replace(second=59)
    assert services.list_tasks(p, who(p, "enlace.minsa")) == []
    clock.at = pa(2026, 11, 18, 20)
    assert services.fire_due_timers(p) == 0
    clock.at = pa(2026, 11, 19, 8)
    assert services.fire_due_timers(p) == 1
    row = case_row(p, opened.number)
    assert row.status == "closed"
    assert row.public_status == "Cerrada por falta de información"


def test_scenario_9_answer_resumes_the_entity_deadline(p, clock):
    """Answered questions resume the entity's remaining business days."""
    opened = services.open_case(p, "queja", QUEJA)
    accept(p, opened.number)
    do(p, "enlace.minsa", "Acusar recibo", {}, opened.number)
    before = case_row(p, opened.number).due_at
    do(
        p,
        "enlace.minsa",
        "Atender la queja",
        {
            "accion": "pedir_informacion",
            "pregunta": "¿A qué hora fue al centro de salud?",
        },
        opened.number,
    )
    clock.at = pa(2026, 11, 12, 10)
    citizen(
        p,
        opened,
        "Responder la consulta de la entidad",
        {"respuesta_ciudadano": "A las 3:00 p. m."},
    )
    row = case_row(p, opened.number)
    assert row.public_status == "En atención por la entidad"
    assert row.due_at is not None and before is not None and row.due_at > before
    (task,) = services.list_tasks(p, who(p, "enlace.minsa"))
    assert (
        services.get_task(p, who(p, "enlace.minsa"), task.id).case.data[
            "respuesta_ciudadano"
        ]
        == "A las 3:00 p. m."
    )
