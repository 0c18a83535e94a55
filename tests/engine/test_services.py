"""Case services on a real database: intake, tasks, scoping, conflicts, tracking."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine import services
from engine.domain.errors import (
    Conflict,
    InvalidData,
    NotAllowed,
    NotFound,
    TooManyAttempts,
)
from engine.services import accounts
from engine.services.platform import Platform
from engine.store.models import CaseEvent, WorkflowState

INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua en la vía",
    "descripcion": "Hay una fuga de agua potable frente a la escuela desde el lunes.",
}


def login(p: Platform, username: str):
    """The Actor of a demo user."""
    return accounts.authenticate(p, username, "demo311", client="tests")


def open_and_classify(p: Platform, entity: str = "MINSA") -> str:
    """File a queja and route it to ``entity``; returns the case number."""
    opened = services.open_case(p, "queja", INTAKE)
    agent = login(p, "agente")
    (task,) = [
        t for t in services.list_tasks(p, agent) if t.case_number == opened.number
    ]
    services.complete_task(
        p, agent, task.id, {"decision": "aceptar", "entidad": entity}
    )
    return opened.number


def test_open_case_gives_number_code_and_first_task(seeded):
    """A valid intake creates the case, its number, code and the agent's task."""
    opened = services.open_case(seeded, "queja", {**INTAKE, "correo": "ana@example.pa"})
    assert re.fullmatch(r"311-\d{4}-\d{6}", opened.number)
    assert len(opened.access_code) == 8
    assert opened.public_status == "En revisión por el 311"
    tasks = services.list_tasks(seeded, login(seeded, "agente"))
    assert [(t.case_number, t.name) for t in tasks] == [
        (opened.number, "Clasificar la queja")
    ]


def test_numbers_are_consecutive_within_the_year(seeded):
    """Tracking numbers count up per year."""
    first = services.open_case(seeded, "queja", INTAKE).number
    second = services.open_case(seeded, "queja", INTAKE).number
    assert int(second[-6:]) == int(first[-6:]) + 1
    assert first[:9] == second[:9]


def test_personal_data_stays_out_of_the_workflow(seeded):
    """Name and email go to the case contact, not the workflow state."""
    opened = services.open_case(
        seeded, "queja", {**INTAKE, "nombre": "Ana Pérez", "correo": "ana@example.pa"}
    )
    with seeded.db.read() as s:
        states = [w.state for w in s.scalars(select(WorkflowState))]
    assert states and all("ana@example.pa" not in st for st in states)
    case = services.get_case(seeded, login(seeded, "agente"), opened.number)
    assert case.contact == {"nombre": "Ana Pérez", "correo": "ana@example.pa"}
    assert "correo" not in case.data


def test_invalid_intake_lists_every_field(seeded):
    """Missing and too-long fields are reported per field; nothing is stored."""
    with pytest.raises(InvalidData) as err:
        services.open_case(
            seeded, "queja", {"asunto": "x" * 151, "correo": "no-es-correo"}
        )
    fields = err.value.errors
    assert set(fields) == {"categoria", "asunto", "descripcion", "correo"}
    assert fields["asunto"][0].params == {"limit": 150}
    assert fields["descripcion"][0].text == "Este campo es obligatorio."
    with seeded.db.read() as s:
        assert s.scalar(text('SELECT count(*) FROM "case"')) == 0


def test_phone_channel_is_for_agents_only(seeded):
    """Citizens cannot claim another channel; agents can record phone calls."""
    with pytest.raises(NotAllowed):
        services.open_case(seeded, "queja", INTAKE, channel="phone")
    agent = login(seeded, "agente")
    opened = services.open_case(seeded, "queja", INTAKE, actor=agent, channel="phone")
    assert services.get_case(seeded, agent, opened.number).channel == "phone"


def test_enlace_sees_only_its_entity(seeded):
    """After routing to MINSA, only MINSA's enlace gets the answer task."""
    number = open_and_classify(seeded, "MINSA")
    minsa = services.list_tasks(seeded, login(seeded, "enlace.minsa"))
    assert [(t.case_number, t.name) for t in minsa] == [(number, "Acusar recibo")]
    assert services.list_tasks(seeded, login(seeded, "enlace.mop")) == []
    assert services.list_tasks(seeded, login(seeded, "agente")) == []


def test_wrong_entity_or_role_may_not_work_the_task(seeded):
    """The service refuses a task of another entity or role, by id."""
    number = open_and_classify(seeded, "MINSA")
    (task,) = services.list_tasks(seeded, login(seeded, "enlace.minsa"))
    for username in ("enlace.mop", "agente", "disenador"):
        actor = login(seeded, username)
        with pytest.raises(NotAllowed):
            services.get_task(seeded, actor, task.id)
        with pytest.raises(NotAllowed):
            services.complete_task(seeded, actor, task.id, {})
    with pytest.raises(NotAllowed):
        services.get_case(seeded, login(seeded, "enlace.mop"), number)


def test_second_completion_is_a_conflict_naming_the_winner(seeded):
    """Completing a task twice: the second gets Conflict saying who did it."""
    services.open_case(seeded, "queja", INTAKE)
    agent, supervisor = login(seeded, "agente"), login(seeded, "supervisor")
    (task,) = services.list_tasks(seeded, agent)
    services.complete_task(
        seeded,
        agent,
        task.id,
        {
            "decision": "rechazar",
            "motivo_rechazo": "No corresponde a una entidad pública.",
        },
    )
    with pytest.raises(Conflict) as err:
        services.complete_task(
            seeded, supervisor, task.id, {"decision": "aceptar", "entidad": "MOP"}
        )
    assert err.value.message.params["who"] == "Ana Agente"
    assert "Ana Agente ya completó esta tarea" in str(err.value)


def test_rejection_closes_with_public_reason(seeded):
    """A rejected queja closes and the citizen reads the reason."""
    opened = services.open_case(seeded, "queja", INTAKE)
    agent = login(seeded, "agente")
    (task,) = services.list_tasks(seeded, agent)
    reason = "Su queja corresponde a una empresa privada."
    done = services.complete_task(
        seeded, agent, task.id, {"decision": "rechazar", "motivo_rechazo": reason}
    )
    assert done.closed and done.public_status == "Rechazada"
    public = services.track_case(seeded, opened.number, opened.access_code, client="c1")
    notes = [e for e in public.timeline if e.kind == "public_note"]
    assert notes[0].data["fields"][0]["value"] == reason
    assert public.status == "closed"


def test_answer_reaches_the_citizen_and_internal_data_does_not(seeded):
    """The enlace's answer is public; the agent's classification is not."""
    opened = services.open_case(seeded, "queja", INTAKE)
    agent = login(seeded, "agente")
    (task,) = services.list_tasks(seeded, agent)
    services.complete_task(
        seeded, agent, task.id, {"decision": "aceptar", "entidad": "MINSA"}
    )
    enlace = login(seeded, "enlace.minsa")
    (ack,) = services.list_tasks(seeded, enlace)
    services.complete_task(seeded, enlace, ack.id, {})
    (answer,) = services.list_tasks(seeded, enlace)
    text_ = "Enviamos una cuadrilla el martes; la fuga quedó reparada."
    services.complete_task(
        seeded, enlace, answer.id, {"accion": "responder", "respuesta": text_}
    )
    public = services.track_case(seeded, opened.number, opened.access_code, client="c")
    assert public.public_status == "Respondida"
    assert [t.name for t in public.tasks] == ["Calificar la atención"]
    assert public.entity_name == "Ministerio de Salud"
    kinds = [e.kind for e in public.timeline]
    assert "task_completed" not in kinds
    assert any(
        f["value"] == text_ for e in public.timeline for f in e.data.get("fields", [])
    )
    assert all(e.actor == "" for e in public.timeline)
    staff = services.get_case(seeded, agent, opened.number)
    assert staff.status == "closed"
    assert any(e.kind == "task_completed" and not e.public for e in staff.events)


def test_tracking_needs_both_parts_and_throttles(seeded):
    """Wrong number and wrong code look the same; failures are throttled."""
    opened = services.open_case(seeded, "queja", INTAKE)
    seeded.limits.tracking_attempts = 3
    with pytest.raises(NotFound) as wrong_code:
        services.track_case(seeded, opened.number, "ZZZZZZZZ", client="ip1")
    with pytest.raises(NotFound) as wrong_number:
        services.track_case(seeded, "311-2000-000001", opened.access_code, client="ip1")
    assert wrong_code.value.message == wrong_number.value.message
    for wrong in ("AAAAAAAA", "BBBBBBBB"):
        with pytest.raises(NotFound):
            services.track_case(seeded, opened.number, wrong, client="ip1")
    with pytest.raises(TooManyAttempts):
        services.track_case(seeded, opened.number, opened.access_code, client="ip1")
    # Another client is not affected, and codes are read loosely.
    loose = opened.access_code.lower()[:4] + "-" + opened.access_code.lower()[4:]
    assert services.track_case(seeded, opened.number, loose, client="ip2").number == (
        opened.number
    )


def test_tracking_throttle_is_per_case_so_an_office_is_not_locked_out(seeded):
    """Guesses at one case lock that case for that client, not its neighbours.

    Citizens behind one public address (an office) track their own cases
    while somebody there guesses at another; only past the looser per-client
    limit is the whole address refused.
    """
    guessed = services.open_case(seeded, "queja", INTAKE)
    mine = services.open_case(seeded, "queja", INTAKE)
    seeded.limits.tracking_attempts = 3
    seeded.limits.tracking_client_attempts = 6
    for _ in range(3):
        with pytest.raises(NotFound):
            services.track_case(seeded, guessed.number, "ZZZZZZZZ", client="office")
    with pytest.raises(TooManyAttempts):
        services.track_case(
            seeded, guessed.number, guessed.access_code, client="office"
        )
    tracked = services.track_case(
        seeded, mine.number, mine.access_code, client="office"
    )
    assert tracked.number == mine.number
    # Sweeping many numbers from one address hits the per-client limit.
    for n in range(3):
        with pytest.raises(NotFound):
            services.track_case(
                seeded, f"311-2000-00000{n}", "ZZZZZZZZ", client="office"
            )
    with pytest.raises(TooManyAttempts):
        services.track_case(seeded, mine.number, mine.access_code, client="office")


def test_audit_trail_is_append_only(seeded):
    """The database refuses to update or delete audit events."""
    services.open_case(seeded, "queja", INTAKE)
    for statement in ("UPDATE case_event SET summary = 'x'", "DELETE FROM case_event"):
        with pytest.raises(DBAPIError), seeded.db.transaction() as s:
            s.execute(text(statement))
    with seeded.db.read() as s:
        assert s.scalar(select(CaseEvent.summary).limit(1)) != "x"


def test_login_is_throttled_per_client(seeded):
    """Repeated bad passwords lock the client out for the window."""
    seeded.limits.login_attempts = 2
    for _ in range(2):
        with pytest.raises(NotFound):
            accounts.authenticate(seeded, "agente", "mala", client="ipx")
    with pytest.raises(TooManyAttempts):
        accounts.authenticate(seeded, "agente", "demo311", client="ipx")
    assert accounts.authenticate(
        seeded, "agente", "demo311", client="ipy"
    ).username == ("agente")
