"""Throttling: failed attempts per key in a window (tracking, logins)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain.errors import N_, TooManyAttempts
from engine.store.accounts import RateLimit
from engine.store.db import insert_ignore

_TOO_MANY_FAILURES = N_(
    "Demasiados intentos fallidos. Espere unos minutos y vuelva a intentarlo."
)
#: For limits on requests that are not failures (sign-in links asked for).
TOO_MANY_REQUESTS = N_(
    "Demasiadas solicitudes seguidas. Espere unos minutos y vuelva a intentarlo."
)


def check_rate(
    s: Session,
    key: str,
    now: datetime,
    limit: int,
    window: int,
    message: str = _TOO_MANY_FAILURES,
) -> None:
    """Raise TooManyAttempts if ``key`` counted ``limit`` times in the window.

    ``message`` is the (untranslated) sentence the error carries: by default
    about failed attempts.
    """
    row = s.get(RateLimit, key)
    if row is None:
        return
    if now - row.window_start > timedelta(seconds=window):
        return
    if row.count >= limit:
        raise TooManyAttempts(message)


def count_failure(s: Session, key: str, now: datetime, window: int) -> None:
    """Count one failure for ``key`` (a new window starts when the old one ends)."""
    insert_ignore(s, RateLimit, {"key": key, "window_start": now, "count": 0})
    row = s.execute(
        select(RateLimit).where(RateLimit.key == key).with_for_update()
    ).scalar_one()
    if now - row.window_start > timedelta(seconds=window):
        row.window_start = now
        row.count = 0
    row.count += 1
