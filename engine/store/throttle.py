"""Throttling: failed attempts per key in a window (tracking, logins)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain.errors import N_, TooManyAttempts
from engine.store.accounts import RateLimit
from engine.store.db import insert_ignore


def check_rate(s: Session, key: str, now: datetime, limit: int, window: int) -> None:
    """Raise TooManyAttempts if ``key`` failed ``limit`` times in the window."""
    row = s.get(RateLimit, key)
    if row is None:
        return
    if now - row.window_start > timedelta(seconds=window):
        return
    if row.count >= limit:
        raise TooManyAttempts(
            N_(
                "Demasiados intentos fallidos. "
                "Espere unos minutos y vuelva a intentarlo."
            )
        )


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
