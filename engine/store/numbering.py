"""Tracking numbers: ``311-AAAA-NNNNNN``, one sequence per year."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, update
from sqlalchemy.orm import Session

from engine.store.db import insert_ignore
from engine.store.models import TrackingSequence

PANAMA = ZoneInfo("America/Panama")
# Built once: on SQLite building the statement costs more than running it.
_BUMP_ONLY = (
    update(TrackingSequence)
    .where(TrackingSequence.year == bindparam("of_year"))
    .values(last=TrackingSequence.last + 1)
)
_BUMP = _BUMP_ONLY.returning(TrackingSequence.last)


# On PostgreSQL the same round trip takes the new case's id from its
# sequence, so the case's INSERT need not wait for it (see hold_new).
_BUMP_AND_ID = _BUMP_ONLY.returning(
    TrackingSequence.last,
    func.nextval(func.pg_get_serial_sequence('"case"', "id")),
)


def next_number(s: Session, now: datetime) -> str:
    """The next tracking number of the year: ``311-AAAA-NNNNNN``."""
    return number_and_id(s, now)[0]


def number_and_id(s: Session, now: datetime) -> tuple[str, int | None]:
    """The next tracking number of the year and, on PostgreSQL, the next case id.

    The number reads ``311-AAAA-NNNNNN``. Where the database gives ids only
    on INSERT (SQLite) the id is None.
    """
    year = {"of_year": now.astimezone(PANAMA).year}
    # A plain Core UPDATE … RETURNING on the session's connection: no ORM
    # bookkeeping is needed for a counter.
    conn = s.connection()
    bump = _BUMP_AND_ID if conn.dialect.name == "postgresql" else _BUMP
    row = conn.execute(bump, year).first()
    if row is None:  # first case of the year
        insert_ignore(s, TrackingSequence, {"year": year["of_year"], "last": 0})
        row = conn.execute(bump, year).one()
    case_id = int(row[1]) if len(row) > 1 else None
    return f"311-{year['of_year']}-{row[0]:06d}", case_id
