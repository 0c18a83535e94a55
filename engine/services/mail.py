"""Mail through an outbox: written in the case's transaction, sent by the worker.

A message is queued in the same transaction as the change it reports, so a
rolled-back step sends nothing and a committed one is never forgotten. The
worker sends pending messages over SMTP, one claimed row at a time. A message
that can never be sent (a malformed address or header, a recipient the server
refuses for good) is marked failed at once; one that meets a passing problem
(server down, 4xx answer) is retried with exponential backoff and marked
failed after ``MAX_ATTEMPTS``. Failed messages leave the queue, so none of
them blocks the others, and supervisors see them on their dashboard.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from engine.domain.enums import Role
from engine.domain.errors import N_, NotAllowed
from engine.domain.views import Actor
from engine.services.platform import Platform
from engine.store.models import Case
from engine.store.publishing import Outbox

log = logging.getLogger("centro311.mail")

#: Attempts before a message is given up and marked failed. With the backoff
#: below they span about four hours, enough to ride out an SMTP outage.
MAX_ATTEMPTS = 10
#: Wait after the first failed attempt; it doubles after each further one.
RETRY_FIRST = timedelta(minutes=1)
#: Longest wait between two attempts.
RETRY_CAP = timedelta(hours=1)

# Characters that would end a header line (header injection) or that
# PostgreSQL text cannot hold.
_FORBIDDEN_IN_HEADER = frozenset("\r\n\x00")


@dataclass(frozen=True)
class MailSettings:
    """Where and how to send mail."""

    host: str = "localhost"
    port: int = 25
    sender: str = "Centro 311 <no-responder@311.gob.pa>"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class FailedMessage:
    """A message the worker gave up on, as supervisors see it."""

    id: int
    to: str
    subject: str
    attempts: int
    last_error: str | None
    failed_at: datetime
    case_number: str | None


@dataclass(frozen=True)
class FailedMail:
    """The most recent failed messages and how many there are in all."""

    count: int
    messages: tuple[FailedMessage, ...]


class InvalidMessage(ValueError):
    """A message that can never be sent as it is (bad address or header)."""


def check_address(to: str) -> str:
    """The normalized form of the address ``to``; InvalidMessage if it is not one.

    ``email-validator`` refuses CR/LF and other characters that would inject
    headers or recipients, and checks the domain's form without a DNS lookup
    (the worker must not wait on DNS inside a case's transaction).
    """
    try:
        return validate_email(to, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidMessage(f"dirección de correo no válida: {exc}") from exc


def check_subject(subject: str) -> str:
    """``subject`` unchanged; InvalidMessage if it holds CR, LF or NUL."""
    if _FORBIDDEN_IN_HEADER.intersection(subject):
        raise InvalidMessage("el asunto contiene saltos de línea o NUL")
    return subject


def enqueue(
    s: Session,
    to: str,
    subject: str,
    body: str,
    case_id: int | None,
    now: datetime,
    *,
    html: str | None = None,
) -> bool:
    """Queue one message in the current transaction; False if it was refused.

    ``html`` is the message's HTML alternative (sent as multipart/alternative
    with the plain text first).

    It runs inside the transaction of the change it reports, so it never
    raises for a bad message: an invalid address or subject is logged
    (without the address: it is a citizen's contact data) and skipped, and
    the case goes on.
    """
    try:
        address = check_address(to)
        check_subject(subject)
    except InvalidMessage as exc:
        log.warning("mail for case %s not queued: %s", case_id, exc.args[0][:80])
        return False
    s.add(
        Outbox(
            to=address,
            subject=subject[:300],
            # PostgreSQL text cannot hold NUL; it carries no meaning in mail.
            body=body.replace("\x00", ""),
            body_html=html.replace("\x00", "") if html is not None else None,
            case_id=case_id,
            created_at=now,
            attempts=0,
        )
    )
    return True


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (1, 2, …)."""
    # Bound the exponent so a large count cannot overflow timedelta.
    doubled = RETRY_FIRST * (1 << min(max(attempts - 1, 0), 20))
    return min(doubled, RETRY_CAP)


def is_permanent(exc: BaseException) -> bool:
    """True when retrying ``exc``'s message can never succeed.

    Malformed addresses or headers (ValueError, which covers InvalidMessage
    and email-validator's errors) and 5xx answers about the message or its
    recipient are the message's own fault. A 5xx about our login or sender
    is the configuration's, shared by every message: those are retried like
    an outage, so fixing the settings lets the queue drain.
    """
    if isinstance(exc, ValueError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def pending_filter(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """SQL conditions of a message due for an attempt at ``now``."""
    return (
        Outbox.sent_at.is_(None),
        Outbox.failed_at.is_(None),
        or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now),
    )


def send_pending(p: Platform, settings: MailSettings, *, limit: int = 50) -> int:
    """Send the messages due now; returns how many were sent.

    Each message is claimed in its own transaction (``SKIP LOCKED`` on
    PostgreSQL), so several workers never send the same message twice. Any
    exception while building or sending one message is recorded on that
    message (failed at once, or retried later) and the next one goes on;
    only database errors, which concern every message, leave this function.
    """
    sent = 0
    # Each row at most once per call, even if the clock would make it due again.
    seen: set[int] = set()
    for _ in range(limit):
        now = p.clock()
        with p.db.transaction() as s:
            query = (
                select(Outbox).where(*pending_filter(now)).order_by(Outbox.id).limit(1)
            )
            if seen:
                query = query.where(Outbox.id.not_in(seen))
            if p.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            row = s.scalars(query).first()
            if row is None:
                break
            seen.add(row.id)
            row.attempts += 1
            try:
                _send(settings, row.to, row.subject, row.body, row.body_html)
            except Exception as exc:  # noqa: BLE001 - one message never stops the queue
                _record_failure(row, exc, now)
                if _server_unreachable(exc):
                    # Every other message would wait out the same timeout:
                    # leave them for the next pass.
                    break
                continue
            row.sent_at = now
            row.last_error = None
            row.next_attempt_at = None
            sent += 1
    return sent


def _record_failure(row: Outbox, exc: Exception, now: datetime) -> None:
    """Note why ``row`` was not sent and when (if ever) to try it again."""
    row.last_error = f"{exc.__class__.__name__}: {exc}"[:1000]
    if is_permanent(exc) or row.attempts >= MAX_ATTEMPTS:
        row.failed_at = now
        row.next_attempt_at = None
        log.warning("mail %s failed for good: %s", row.id, exc.__class__.__name__)
    else:
        row.next_attempt_at = now + retry_delay(row.attempts)
        log.info("mail %s will be retried: %s", row.id, exc.__class__.__name__)


def _server_unreachable(exc: BaseException) -> bool:
    """True for a network error reaching the server (not an SMTP answer)."""
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def failed_messages(p: Platform, actor: Actor, limit: int = 50) -> FailedMail:
    """The most recent messages given up on (supervisors only), newest first."""
    if not actor.has(Role.SUPERVISOR):
        raise NotAllowed(N_("Solo los supervisores ven los correos fallidos."))
    with p.db.read() as s:
        count = s.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.failed_at.is_not(None))
        )
        rows = s.execute(
            select(Outbox, Case.number)
            .outerjoin(Case, Case.id == Outbox.case_id)
            .where(Outbox.failed_at.is_not(None))
            .order_by(Outbox.failed_at.desc(), Outbox.id.desc())
            .limit(limit)
        ).all()
        messages = tuple(
            FailedMessage(
                id=m.id,
                to=m.to,
                subject=m.subject,
                attempts=m.attempts,
                last_error=m.last_error,
                failed_at=m.failed_at,
                case_number=number,
            )
            for m, number in rows
            if m.failed_at is not None
        )
    return FailedMail(count=int(count or 0), messages=messages)


def _send(
    settings: MailSettings, to: str, subject: str, body: str, html: str | None = None
) -> None:
    """Send one message over SMTP to exactly ``to``: plain text, and with
    ``html`` a multipart/alternative of the text and the HTML part.

    Every header value is checked first, and the envelope recipient is
    given explicitly, so nothing in the data can add a recipient.
    """
    address = check_address(to)
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = address
    message["Subject"] = check_subject(subject)
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message, to_addrs=[address])
