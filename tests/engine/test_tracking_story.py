"""The whole story on the tracking page, one-time links, and the mail that
tells it (issue 11 items 2, 3 and 5), on a real database.

A queja with an email goes: filed → MINSA asks the citizen a question → the
citizen answers → MINSA answers → the citizen rates 1 → reopened. Each step
the citizen hears of comes with its texts and a fresh one-time link.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_string, policy

import pytest
from sqlalchemy import select

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.errors import NotFound, TooManyAttempts
from engine.domain.security import token_digest
from engine.domain.views import OpenedCase
from engine.services import case_links, mail
from engine.services.accounts import DEMO_ENTITIES
from engine.services.case_links import LinkNotValid
from engine.services.platform import Platform
from engine.store.publishing import Outbox, TrackingLink
from tests.engine.test_mail_delivery import Inbox, smtp_server
from tests.engine.test_mail_delivery import settings as mail_settings
from tests.engine.test_services import INTAKE, login

#: Monday 2 November 2026, 10:00 in Panama (Nov 3 is a holiday).
MONDAY = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
QUESTION = "¿Frente a qué número de casa está la fuga? <b>gracias</b>"
ANSWER = "La cuadrilla reparó la tubería frente a la casa 14-B el martes."
LINK = re.compile(r"http://127\.0\.0\.1:5000/seguimiento/enlace/([A-Za-z0-9_-]+)")


@pytest.fixture
def clock() -> FrozenClock:
    """Monday 2 November 2026, frozen."""
    return FrozenClock(MONDAY)


@pytest.fixture
def p(seeded: Platform, clock: FrozenClock) -> Platform:
    """The seeded platform on the frozen clock."""
    seeded.clock = clock
    return seeded


def mails(p: Platform) -> list[Outbox]:
    """Every queued message, oldest first."""
    with p.db.read() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


def enlace_does(p: Platform, number: str, name: str, data: dict) -> None:
    """MINSA's enlace completes its task ``name`` of case ``number`` (an
    hour after whatever happened before)."""
    clock = p.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(hours=1)
    enlace = login(p, "enlace.minsa")
    (task,) = [
        t
        for t in services.list_tasks(p, enlace)
        if t.case_number == number and t.name == name
    ]
    services.complete_task(p, enlace, task.id, data)


def file_and_route(p: Platform, data: dict | None = None) -> OpenedCase:
    """A queja with an email, accepted for MINSA and acknowledged."""
    opened = services.open_case(
        p, "queja", data or {**INTAKE, "correo": "ana@example.pa", "nombre": "Ana"}
    )
    agent = login(p, "agente")
    (task,) = [
        t for t in services.list_tasks(p, agent) if t.case_number == opened.number
    ]
    services.complete_task(
        p, agent, task.id, {"decision": "aceptar", "entidad": "MINSA"}
    )
    enlace_does(p, opened.number, "Acusar recibo", {})
    return opened


def token_of(message: Outbox) -> str:
    """The one-time link's token in a mail's text."""
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(1)


def test_a_receipt_link_opens_the_case_once(p):
    """The receipt's link names the case once; then it asks for the code."""
    opened = services.open_case(p, "queja", {**INTAKE, "correo": "ana@example.pa"})
    (receipt,) = mails(p)
    assert opened.access_code in receipt.body  # the code too, for later
    token = token_of(receipt)
    assert services.open_link(p, token, client="c").number == opened.number
    with pytest.raises(LinkNotValid) as used:
        services.open_link(p, token, client="c")
    assert used.value.number == opened.number  # the form comes prefilled
    with pytest.raises(LinkNotValid) as unknown:
        services.open_link(p, "no-such-token", client="c")
    assert unknown.value.number is None
    # Only the token's hash is stored.
    with p.db.read() as s:
        (row,) = s.scalars(select(TrackingLink))
    assert row.token_hash == token_digest(token) and token not in str(row.token_hash)
    assert row.expires_at - row.created_at == case_links.LINK_TTL


def test_an_expired_link_asks_for_the_code(p, clock):
    """Thirty days on, the link no longer opens the case."""
    opened = services.open_case(p, "queja", {**INTAKE, "correo": "ana@example.pa"})
    token = token_of(mails(p)[0])
    clock.advance(days=30, seconds=1)
    with pytest.raises(LinkNotValid) as expired:
        services.open_link(p, token, client="c")
    assert expired.value.number == opened.number


def test_wrong_links_count_like_wrong_codes(p):
    """Guessing links is throttled per client, like guessing codes."""
    p.limits.tracking_client_attempts = 3
    services.open_case(p, "queja", {**INTAKE, "correo": "ana@example.pa"})
    token = token_of(mails(p)[0])
    for guess in ("a", "b", "c"):
        with pytest.raises(LinkNotValid):
            services.open_link(p, guess, client="guesser")
    with pytest.raises(TooManyAttempts):
        services.open_link(p, token, client="guesser")
    assert services.open_link(p, token, client="other").number  # others go on


def test_the_mails_tell_the_story_each_with_a_fresh_link(p):
    """Receipt, question (its text, link to answer), answer (its text, link to
    rate), reopening: each mail has its own link and an HTML part."""
    opened = file_and_route(p)
    enlace_does(
        p,
        opened.number,
        "Atender la queja",
        {"accion": "pedir_informacion", "pregunta": QUESTION},
    )
    question = mails(p)[-1]
    assert question.subject == (
        "Centro 311: la entidad le hace una pregunta sobre su caso "
        f"{opened.number} — Esperando información del ciudadano"
    )
    assert QUESTION in question.body
    # Ten business days from Monday 2 Nov, past November's holidays.
    assert "jueves 19 de noviembre" in question.body
    assert question.body_html is not None
    assert "&lt;b&gt;gracias&lt;/b&gt;" in question.body_html
    assert "<b>gracias</b>" not in question.body_html

    case = services.tracked_case(p, opened.number)
    services.complete_tracked_task(
        p, opened.number, case.tasks[0].id, {"respuesta_ciudadano": "Casa 14-B."}
    )
    enlace_does(
        p,
        opened.number,
        "Atender la queja",
        {"accion": "responder", "respuesta": ANSWER},
    )
    answered = mails(p)[-1]
    assert answered.subject == (
        f"Centro 311: respuesta a su caso {opened.number} — Respondida"
    )
    assert ANSWER in answered.body and "Califique la respuesta" in answered.body
    case = services.tracked_case(p, opened.number)
    services.complete_tracked_task(
        p, opened.number, case.tasks[0].id, {"calificacion": 1}
    )
    reopened = mails(p)[-1]
    assert reopened.subject.startswith(
        f"Centro 311: reabrimos su caso {opened.number} — "
    )

    every = mails(p)
    assert all(m.to == "ana@example.pa" for m in every)
    tokens = [token_of(m) for m in every]
    assert len(set(tokens)) == len(tokens)  # a fresh link in each
    assert all(m.body_html and token_of(m) in m.body_html for m in every)
    # Any of them opens the case (once).
    assert services.open_link(p, tokens[2], client="c").number == opened.number


def test_the_tracking_view_tells_the_whole_story(p):
    """What the citizen filed (no personal data), the entity and its due
    date, the question above the answer box, their answer, what comes next."""
    opened = file_and_route(p)
    case = services.tracked_case(p, opened.number)
    assert case.entity_name == DEMO_ENTITIES["MINSA"]
    assert case.next_step == "entity"
    assert case.entity_due_at is not None and case.entity_due_at > MONDAY
    labels = dict(case.submission)
    assert labels["Asunto"] == INTAKE["asunto"]
    assert labels["Categoría"] == "Agua potable y alcantarillado"  # its label
    assert "Correo electrónico" not in labels and "Nombre" not in labels
    assert "ana@example.pa" not in repr(case)

    enlace_does(
        p,
        opened.number,
        "Atender la queja",
        {"accion": "pedir_informacion", "pregunta": QUESTION},
    )
    case = services.tracked_case(p, opened.number)
    (task,) = case.tasks
    assert task.context == (("Pregunta para usted", QUESTION),)
    assert not task.survey and case.next_step == "answer"
    assert case.entity_due_at is None  # the entity's clock is paused
    current = [m for m in case.milestones if m.current]
    assert [m.key for m in current] == ["su_turno"]
    assert not any(m.key == "respondido" and m.current for m in case.milestones)

    services.complete_tracked_task(
        p, opened.number, task.id, {"respuesta_ciudadano": "Casa 14-B."}
    )
    enlace_does(
        p,
        opened.number,
        "Atender la queja",
        {"accion": "responder", "respuesta": ANSWER},
    )
    case = services.tracked_case(p, opened.number)
    (task,) = case.tasks
    assert task.survey and case.next_step == "rate"
    assert task.context == (("Respuesta de la entidad", ANSWER),)
    mine = [e for e in case.timeline if e.kind == "task_completed"]
    assert [e.role for e in mine] == ["ciudadano"]
    assert mine[0].fields == (("Su respuesta", "Casa 14-B."),)

    services.complete_tracked_task(
        p, opened.number, task.id, {"calificacion": 4, "comentario": "Bien"}
    )
    case = services.tracked_case(p, opened.number)
    assert case.next_step == "closed" and not case.tasks
    rated = [e.fields for e in case.timeline if e.kind == "task_completed"]
    assert rated[-1] == (
        ("Calificación", "4 — Satisfecho"),
        ("Comentario (opcional)", "Bien"),
    )
    # Staff names never reach the citizen.
    assert all(e.actor == "" for e in case.timeline)


def test_a_reserved_identity_never_shows(p):
    """A reserved denuncia's identity is on neither the page nor in mail."""
    opened = services.open_case(
        p,
        "denuncia",
        {
            "categoria": "salud",
            "asunto": "Cobros indebidos",
            "descripcion": "Un funcionario cobra por citas que son gratuitas.",
            "nombre": "Persona Reservada",
            "correo": "reservada@example.pa",
            "telefono": "6123-4567",
            "identidad_reservada": True,
        },
    )
    case = services.tracked_case(p, opened.number)
    assert case.identity_reserved
    shown = repr(case)
    for secret in ("Persona Reservada", "reservada@example.pa", "6123-4567"):
        assert secret not in shown
    assert mails(p) == []  # no address kept, no mail


def test_an_unknown_number_is_not_found_through_the_session_path(p):
    """The session path names no case that does not exist."""
    with pytest.raises(NotFound):
        services.tracked_case(p, "311-2026-999999")


def test_a_message_with_html_goes_out_as_text_and_html(p):
    """The sender sends multipart/alternative: the text first, then the HTML,
    whose values stay escaped; a message without HTML stays plain text."""
    services.open_case(p, "queja", {**INTAKE, "correo": "ana@example.pa"})
    with p.db.transaction() as s:
        assert mail.enqueue(s, "luis@example.pa", "Aviso", "Solo texto.", None, MONDAY)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        assert mail.send_pending(p, mail_settings(port)) == 2
    (_, first), (_, second) = inbox.messages
    receipt = message_from_string(first, policy=policy.default)
    assert receipt.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in receipt.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    html_part = receipt.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert '<html lang="es">' in html and "/seguimiento/enlace/" in html
    plain = message_from_string(second, policy=policy.default)
    assert plain.get_content_type() == "text/plain"
