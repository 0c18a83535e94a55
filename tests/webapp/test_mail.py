"""Mail goes through the outbox and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.store.publishing import Outbox
from tests.conftest import Auth, csrf_token, post_form, receipt
from tests.engine.test_mail_delivery import INJECTED, Inbox, free_port
from webapp.cli import worker_pass


@pytest.fixture
def smtp(app):
    """A local SMTP server the app's worker sends to."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield inbox
    controller.stop()


def test_citizen_gets_number_and_code_by_mail(app, client, smtp):
    """Filing with an email queues a message the worker delivers."""
    resp = post_form(
        client,
        "/casos/nuevo/queja",
        {
            "categoria": "vias",
            "asunto": "Hueco en la vía",
            "descripcion": "Un hueco profundo en la vía Transístmica, carril norte.",
            "correo": "vecina@example.pa",
        },
    )
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    found_number = re.search(r'id="numero-caso">([^<]+)<', page)
    found_code = re.search(r'id="codigo-acceso">([^<]+)<', page)
    assert found_number and found_code
    number, code = found_number.group(1), found_code.group(1)
    assert smtp.messages == []  # nothing leaves before the worker runs
    fired, sent = worker_pass(app)
    assert sent == 1
    ((recipients, text),) = smtp.messages
    assert recipients == ["vecina@example.pa"]
    assert number in text and code in text
    assert worker_pass(app) == (0, 0)  # sent once, not again


def test_unreachable_server_keeps_the_message(app, client):
    """A failed delivery stays queued with its error, for the next pass."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    post_form(
        client,
        "/casos/nuevo/queja",
        {
            "categoria": "agua",
            "asunto": "Sin agua",
            "descripcion": "Llevamos tres días sin agua en el sector de Pedregal.",
            "correo": "vecino@example.pa",
        },
    )
    assert worker_pass(app)[1] == 0
    with app.extensions["centro311"].db.read() as s:
        row = s.scalars(select(Outbox)).one()
    assert row.sent_at is None and row.attempts == 1 and row.last_error
    assert row.failed_at is None and row.next_attempt_at  # retried later


def queue_raw(app, to: str) -> None:
    """Put a message straight into the outbox (as code before validation did)."""
    p = app.extensions["centro311"]
    with p.db.transaction() as s:
        s.add(
            Outbox(
                to=to, subject="Aviso", body="Cuerpo", created_at=p.clock(), attempts=0
            )
        )


def test_newline_address_does_not_stop_the_worker(app, client, smtp):
    """The injected address fails alone; the citizens' mail still goes out."""
    queue_raw(app, INJECTED)
    post_form(
        client,
        "/casos/nuevo/queja",
        {
            "categoria": "vias",
            "asunto": "Hueco en la vía",
            "descripcion": "Un hueco profundo en la vía Transístmica, carril norte.",
            "correo": "vecina@example.pa",
        },
    )
    queue_raw(app, "vecino@example.pa")
    assert worker_pass(app) == (0, 2)
    recipients = sorted(r for rcpts, _ in smtp.messages for r in rcpts)
    assert recipients == ["vecina@example.pa", "vecino@example.pa"]
    assert not any("evil" in text or "Bcc:" in text for _, text in smtp.messages)
    with app.extensions["centro311"].db.read() as s:
        bad = s.scalars(select(Outbox).where(Outbox.sent_at.is_(None))).one()
    assert bad.failed_at is not None and bad.attempts == 1
    assert worker_pass(app) == (0, 0)  # the failed message is not retried


def test_failed_mail_is_shown_to_supervisors_only(app, smtp):
    """/tablero lists failed mail with its error for supervisors, not enlaces."""
    queue_raw(app, INJECTED)
    worker_pass(app)
    supervisor = app.test_client()
    Auth(supervisor).login("supervisor")
    page = supervisor.get("/tablero").get_data(as_text=True)
    assert "Correos que no se pudieron enviar" in page
    assert "InvalidMessage" in page and "victim@example.com" in page
    assert "Bcc: x@evil.test" in page  # shown as text, escaped by Jinja
    enlace = app.test_client()
    Auth(enlace).login("enlace.minsa")
    page = enlace.get("/tablero")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Correos que no se pudieron enviar" not in text
    assert "victim@example.com" not in text


def test_board_without_failed_mail_has_no_section(app, auth, client):
    """No failed mail: supervisors see no empty section."""
    auth.login("supervisor")
    page = client.get("/tablero").get_data(as_text=True)
    assert "Correos que no se pudieron enviar" not in page


def test_mail_follows_the_citizens_language(app, client, smtp):
    """A citizen browsing in English gets the receipt in English over SMTP;
    a call an agent files for someone gets the default, Spanish."""
    from email import message_from_string, policy

    client.post("/idioma/en", data={"csrf_token": csrf_token(client, "/")})
    filing = {
        "categoria": "vias",
        "asunto": "Hueco en la vía",
        "descripcion": "Un hueco profundo en la vía Transístmica, carril norte.",
        "correo": "vecina@example.pa",
    }
    number, code = receipt(client, post_form(client, "/casos/nuevo/queja", filing))
    agent = app.test_client()
    Auth(agent).login("agente")
    post_form(
        agent,
        "/casos/nuevo/queja",
        {**filing, "correo": "llamada@example.pa", "canal": "phone"},
    )
    assert worker_pass(app) == (0, 2)
    by_recipient = {
        rcpts[0]: message_from_string(text, policy=policy.default)
        for rcpts, text in smtp.messages
    }
    english = by_recipient["vecina@example.pa"]
    assert english["Subject"] == f"Centro 311: we received your case {number}"
    plain, rich = (english.get_body(preferencelist=(k,)) for k in ("plain", "html"))
    assert plain is not None and rich is not None
    body = plain.get_content()
    assert f"Access code: {code}" in body and "follow your case at" in body
    html = rich.get_content()
    assert '<html lang="en">' in html and f"{code}</td>" in html
    assert "recibimos su caso" in by_recipient["llamada@example.pa"]["Subject"]
