"""One-time links that open a case's tracking page without its access code.

Every mail to a citizen (and the receipt) carries a fresh link: a random
token of 256 bits in the address, only its SHA-256 stored with the case,
an expiry (:data:`LINK_TTL`) and when it was used. Opening a link once
marks it used and names the case; the web layer then lets that browser
session see the case (the session keeps the case number, never the code).
A used, expired or unknown link names no case it should not: a used or
expired one gives back its case number (the page asks for the code with
the number filled in), an unknown one nothing. Failures count against the
client like wrong access codes do, under the same limits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from engine.domain.errors import N_, NotFound
from engine.domain.security import token_digest
from engine.services.platform import Platform
from engine.store.db import hold_row
from engine.store.models import Case
from engine.store.one_time import use_token
from engine.store.publishing import TrackingLink
from engine.store.throttle import check_rate, count_failure

#: How long a mailed link works.
LINK_TTL = timedelta(days=30)
#: The path of a link under ``Platform.public_url``.
LINK_PATH = "/seguimiento/enlace/"


class LinkNotValid(NotFound):
    """The link is unknown, used or expired; ``number`` is its case's, if known."""

    def __init__(self, number: str | None) -> None:
        """Say so in the citizen's words; keep the case number for the form."""
        super().__init__(
            N_(
                "Este enlace ya se usó o venció. Escriba el número de caso y el "
                "código de acceso para consultarlo."
            )
        )
        self.number = number


@dataclass(frozen=True)
class OpenedLink:
    """The case a valid link opened."""

    number: str


def issue_link(s: Session, p: Platform, case: Case, now: datetime) -> str:
    """A fresh one-time link to ``case``, stored in the caller's transaction.

    The row is held with the step's other appended rows (see
    :func:`engine.store.db.hold_row`), so a new case gets it with its id.
    """
    token = secrets.token_urlsafe(32)
    hold_row(
        s,
        TrackingLink,
        {
            "token_hash": token_digest(token),
            "created_at": now,
            "expires_at": now + LINK_TTL,
            "used_at": None,
        },
        case,
    )
    return f"{p.public_url}{LINK_PATH}{token}"


def open_link(p: Platform, token: str, *, client: str) -> OpenedLink:
    """Use a link once: the case it opens, or :class:`LinkNotValid`.

    One transaction: the link is marked used only if nobody used it first
    (two clicks at once open it once). Past the client's limit of failed
    attempts it raises :class:`TooManyAttempts` before looking.
    """
    now = p.clock()
    limits = p.limits
    per_client = f"track:{client}"
    window = limits.tracking_window_s
    with p.db.transaction() as s:
        check_rate(s, per_client, now, limits.tracking_client_attempts, window)
        row, used = use_token(
            s,
            TrackingLink,
            token,
            now,
            Case.number,
            join=(Case, Case.id == TrackingLink.case_id),
        )
        if not used:
            count_failure(s, per_client, now, window)
    if not used:
        raise LinkNotValid(str(row.number) if row is not None else None)
    assert row is not None
    return OpenedLink(number=str(row.number))
