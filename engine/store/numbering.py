"""Tracking numbers: ``311-AAAA-NNNNNN``, one sequence per year."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from engine.store.db import insert_ignore
from engine.store.models import TrackingSequence

PANAMA = ZoneInfo("America/Panama")
# Built once: on SQLite building the statement costs more than running it.
_BUMP = (
    update(TrackingSequence)
    .where(TrackingSequence.year == bindparam("of_year"))
    .values(last=TrackingSequence.last + 1)
    .returning(TrackingSequence.last)
)


def next_number(s: Session, now: datetime) -> str:
    """The next tracking number of the year: ``311-AAAA-NNNNNN``."""
    year = {"of_year": now.astimezone(PANAMA).year}
    # A plain Core UPDATE … RETURNING on the session's connection: no ORM
    # bookkeeping is needed for a counter.
    conn = s.connection()
    last = conn.execute(_BUMP, year).scalar()
    if last is None:  # first case of the year
        insert_ignore(s, TrackingSequence, {"year": year["of_year"], "last": 0})
        last = conn.execute(_BUMP, year).scalar_one()
    return f"311-{year['of_year']}-{last:06d}"
