"""Mail delivery never stops the queue: bad messages fail alone, outages retry.

Real parts only: an aiosmtpd server on the loopback interface (or a port where
nothing listens) and the test's own database, with a frozen clock.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.errors import NotAllowed
from engine.domain.views import Actor
from engine.services import mail
from engine.services.platform import Platform
from engine.store.publishing import Outbox
from tests.conftest import IDENTITY_KEY, seed

INJECTED = "victim@example.com\nBcc: x@evil.test"


class Inbox:
    """An aiosmtpd handler that keeps what it receives.

    Recipients listed in ``refuse`` get that SMTP answer at RCPT TO (for
    example ``550`` for an unknown mailbox, ``450`` for "try later").
    """

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        """Start empty, refusing the given recipients."""
        self.messages: list[tuple[list[str], str]] = []
        self.refuse = refuse or {}

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        """Accept a recipient unless told to refuse it."""
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        """Store the envelope recipients and the message text."""
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(inbox: Inbox, port: int | None = None) -> Iterator[int]:
    """Run an SMTP server for ``inbox`` on ``port`` (a free one by default)."""
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def settings(port: int) -> mail.MailSettings:
    """Mail settings for a server on the loopback interface."""
    return mail.MailSettings(host="127.0.0.1", port=port, timeout=5)


def put(
    p: Platform, to: str, subject: str = "Aviso", case_id: int | None = None
) -> int:
    """Write an outbox row directly (as older code or another writer may have)."""
    with p.db.transaction() as s:
        row = Outbox(
            to=to,
            subject=subject,
            body="Cuerpo del mensaje.",
            case_id=case_id,
            created_at=p.clock(),
            attempts=0,
        )
        s.add(row)
        s.flush()
        return row.id


def rows(p: Platform) -> dict[int, Outbox]:
    """Every outbox row by id."""
    with p.db.read() as s:
        return {r.id: r for r in s.scalars(select(Outbox))}


@pytest.fixture
def clock() -> FrozenClock:
    """A Tuesday morning, frozen."""
    return FrozenClock(datetime(2026, 11, 3, 14, 0, tzinfo=UTC))


@pytest.fixture
def p(db_url: str, clock: FrozenClock) -> Iterator[Platform]:
    """A platform on an empty database and the frozen clock."""
    platform = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    yield platform
    platform.close()


def test_enqueue_refuses_header_injection_without_raising(p, clock):
    """A newline in the address or subject queues nothing; a good one is queued."""
    with p.db.transaction() as s:
        assert mail.enqueue(s, INJECTED, "Aviso", "x", None, clock()) is False
        assert mail.enqueue(s, "sin-arroba", "Aviso", "x", None, clock()) is False
        assert (
            mail.enqueue(s, "a@b.pa", "Aviso\r\nBcc: x@evil.test", "x", None, clock())
            is False
        )
        assert mail.enqueue(s, "a@b.pa", "Aviso\x00", "x", None, clock()) is False
        assert mail.enqueue(s, "Vecina@Example.PA", "Aviso", "a\x00b", None, clock())
    (row,) = rows(p).values()
    assert row.to == "Vecina@example.pa"  # domain normalized, local part kept
    assert row.body == "ab"


def test_newline_address_fails_alone_and_good_mail_goes_out(p, clock):
    """The injected address is failed at once; the others are sent, no Bcc."""
    first = put(p, "uno@example.pa")
    bad = put(p, INJECTED)
    bad_subject = put(p, "tres@example.pa", subject="Hola\nBcc: x@evil.test")
    last = put(p, "dos@example.pa")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        assert mail.send_pending(p, settings(port)) == 2
    recipients = sorted(r for rcpts, _ in inbox.messages for r in rcpts)
    assert recipients == ["dos@example.pa", "uno@example.pa"]
    assert not any("evil" in text or "Bcc" in text for _, text in inbox.messages)
    after = rows(p)
    assert after[first].sent_at == clock() and after[last].sent_at == clock()
    for failed in (bad, bad_subject):
        assert after[failed].failed_at == clock()
        assert after[failed].sent_at is None and after[failed].attempts == 1
        assert (after[failed].last_error or "").startswith("InvalidMessage")
    with smtp_server(Inbox()) as port:  # a failed message is never tried again
        assert mail.send_pending(p, settings(port)) == 0
    assert rows(p)[bad].attempts == 1


def test_unreachable_server_backs_off_then_gives_up(p, clock):
    """Each failed try waits longer (1, 2, 4 … min, at most 1 h), then fails."""
    msg = put(p, "vecino@example.pa")
    down = settings(free_port())  # nothing listens there
    expected_waits = []
    for attempt in range(1, mail.MAX_ATTEMPTS + 1):
        assert mail.send_pending(p, down) == 0
        row = rows(p)[msg]
        assert row.attempts == attempt and row.sent_at is None
        assert "ConnectionRefusedError" in (row.last_error or "")
        if attempt == mail.MAX_ATTEMPTS:
            break
        wait = row.next_attempt_at - clock()
        expected_waits.append(wait)
        # Not due a moment before the wait is over: nothing is tried.
        clock.advance(seconds=wait.total_seconds() - 1)
        assert mail.send_pending(p, down) == 0
        assert rows(p)[msg].attempts == attempt
        clock.advance(seconds=1)
    assert expected_waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(expected_waits) == timedelta(hours=1)
    row = rows(p)[msg]
    assert row.failed_at == clock() and row.next_attempt_at is None
    clock.advance(days=1)
    assert mail.send_pending(p, down) == 0
    assert rows(p)[msg].attempts == mail.MAX_ATTEMPTS  # left the queue


def test_waiting_message_does_not_block_later_ones(p, clock):
    """While one message waits out its backoff, newer ones are sent."""
    port = free_port()
    early = put(p, "primero@example.pa")
    assert mail.send_pending(p, settings(port)) == 0  # server still down
    later = put(p, "segundo@example.pa")
    inbox = Inbox()
    with smtp_server(inbox, port):
        assert mail.send_pending(p, settings(port)) == 1
        assert inbox.messages[0][0] == ["segundo@example.pa"]
        clock.advance(minutes=1)
        assert mail.send_pending(p, settings(port)) == 1
    after = rows(p)
    assert after[later].sent_at and after[early].sent_at
    assert after[early].attempts == 2


def test_server_refusals_5xx_fail_at_once_4xx_retry(p, clock):
    """A 550 for a recipient is final; a 450 is retried after the backoff."""
    gone = put(p, "nadie@example.pa")
    busy = put(p, "ocupado@example.pa")
    inbox = Inbox(
        refuse={
            "nadie@example.pa": "550 5.1.1 No such user",
            "ocupado@example.pa": "450 4.2.1 Mailbox busy",
        }
    )
    with smtp_server(inbox) as port:
        assert mail.send_pending(p, settings(port)) == 0
        after = rows(p)
        assert after[gone].failed_at == clock()
        assert "SMTPRecipientsRefused" in (after[gone].last_error or "")
        assert after[busy].failed_at is None
        assert after[busy].next_attempt_at == clock() + timedelta(minutes=1)
        inbox.refuse.clear()
        clock.advance(minutes=1)
        assert mail.send_pending(p, settings(port)) == 1
    assert rows(p)[busy].sent_at == clock()
    assert inbox.messages[0][0] == ["ocupado@example.pa"]


def test_failed_messages_are_for_supervisors_with_the_case(db_url, clock, demo_hash):
    """Supervisors list failed mail with the case number; enlaces may not."""
    p = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    seed(p, demo_hash)
    opened = services.open_case(
        p,
        "queja",
        {
            "categoria": "salud",
            "asunto": "No hay médico en el centro de salud",
            "descripcion": "Desde el lunes el centro de salud atiende sin médico.",
            "correo": "vecina@example.pa",
        },
    )
    put(p, INJECTED)  # no case: still listed
    inbox = Inbox(refuse={"vecina@example.pa": "550 5.1.1 No such user"})
    with smtp_server(inbox) as port:
        mail.send_pending(p, settings(port))
    supervisor = Actor(1, "supervisor", "Sergio", frozenset({"supervisor_311"}))
    failed = mail.failed_messages(p, supervisor)
    assert failed.count == 2
    by_case = {m.case_number: m for m in failed.messages}
    assert by_case[opened.number].to == "vecina@example.pa"
    assert by_case[opened.number].attempts == 1
    assert "550" in (by_case[opened.number].last_error or "")
    assert by_case[None].to == INJECTED and by_case[None].failed_at == clock()
    assert mail.failed_messages(p, supervisor, limit=1).count == 2
    assert len(mail.failed_messages(p, supervisor, limit=1).messages) == 1
    enlace = Actor(
        2, "enlace.minsa", "Elena", frozenset({"enlace"}), frozenset({"MINSA"})
    )
    with pytest.raises(NotAllowed):
        mail.failed_messages(p, enlace)
    agente = Actor(3, "agente", "Ana", frozenset({"agente_311"}))
    with pytest.raises(NotAllowed):
        mail.failed_messages(p, agente)
    p.close()
