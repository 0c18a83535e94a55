"""Mail through an outbox: written in the case's transaction, sent by the worker.

A message is queued in the same transaction as the change it reports, so a
rolled-back step sends nothing and a committed one is never forgotten. The
worker sends pending messages over SMTP and retries failures a few times.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Outbox
from engine.platform import Platform

MAX_ATTEMPTS = 5


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


def enqueue(
    s: Session, to: str, subject: str, body: str, case_id: int | None, now: object
) -> None:
    """Queue one message in the current transaction."""
    s.add(
        Outbox(
            to=to[:254],
            subject=subject[:300],
            body=body,
            case_id=case_id,
            created_at=now,
            attempts=0,
        )
    )


def send_pending(p: Platform, settings: MailSettings, *, limit: int = 50) -> int:
    """Send queued messages; returns how many were sent.

    Each message is claimed in its own transaction (``SKIP LOCKED`` on
    PostgreSQL), so several workers never send the same message twice.
    """
    sent = 0
    failed: set[int] = set()
    for _ in range(limit):
        with p.db.transaction() as s:
            query = (
                select(Outbox)
                .where(Outbox.sent_at.is_(None), Outbox.attempts < MAX_ATTEMPTS)
                .order_by(Outbox.id)
                .limit(1)
            )
            if failed:
                query = query.where(Outbox.id.not_in(failed))
            if p.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            row = s.scalars(query).first()
            if row is None:
                break
            row.attempts += 1
            try:
                _send(settings, row.to, row.subject, row.body)
            except (OSError, smtplib.SMTPException) as exc:
                row.last_error = f"{exc.__class__.__name__}: {exc}"[:1000]
                failed.add(row.id)
                continue
            row.sent_at = p.clock()
            row.last_error = None
            sent += 1
    return sent


def _send(settings: MailSettings, to: str, subject: str, body: str) -> None:
    """Send one plain-text message over SMTP."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)
