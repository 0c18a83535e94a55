"""Mail goes through the outbox and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
import socket

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import post_form
from webapp.cli import worker_pass


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        """Start empty."""
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        """Store the envelope recipients and the message text."""
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    number = re.search(r'id="numero-caso">([^<]+)<', page).group(1)
    code = re.search(r'id="codigo-acceso">([^<]+)<', page).group(1)
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
    from sqlalchemy import select

    from engine.models import Outbox

    with app.extensions["centro311"].db.read() as s:
        row = s.scalars(select(Outbox)).one()
    assert row.sent_at is None and row.attempts == 1 and row.last_error
