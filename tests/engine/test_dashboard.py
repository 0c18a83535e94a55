"""The dashboard's figures: what each one counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from engine import services
from engine.services.accounts import authenticate
from engine.store.models import Case

QUEJA = {
    "categoria": "vias",
    "asunto": "Bache",
    "descripcion": "Un bache enorme frente a la escuela de la esquina.",
    "ubicacion": "Calle 50",
}


def test_closed_counts_the_last_thirty_days_and_errors_are_listed(seeded):
    """Closed 5 days ago counts, 40 days ago not; an errored open case is listed."""
    p = seeded
    numbers = [services.open_case(p, "queja", QUEJA).number for _ in range(4)]
    now = datetime.now(UTC)
    with p.db.transaction() as s:
        for number, days in ((numbers[0], 5), (numbers[1], 40)):
            s.execute(
                update(Case)
                .where(Case.number == number)
                .values(status="closed", closed_at=now - timedelta(days=days))
            )
        s.execute(update(Case).where(Case.number == numbers[2]).values(error="Falló"))
    supervisor = authenticate(p, "supervisor", "demo311", client="tests")
    board = services.dashboard(p, supervisor)
    assert board.closed_days == 30
    assert board.closed_cases == 1
    assert board.open_cases == 2
    assert [c.number for c in board.errored] == [numbers[2]]


def test_overdue_is_flagged_or_past_the_deadline_per_scope(seeded):
    """Overdue: open and flagged by the worker or past its deadline; on time:
    deadline ahead or none; closed cases never. An enlace counts its entity."""
    p = seeded
    numbers = [services.open_case(p, "queja", QUEJA).number for _ in range(5)]
    now = p.clock()
    day = timedelta(days=1)
    changes = [
        {"entity_code": "MOP", "due_at": now + day, "overdue_at": now - day},
        {"entity_code": "MOP", "due_at": now - day, "overdue_at": None},
        {"entity_code": "MOP", "due_at": now + day, "overdue_at": None},
        {"entity_code": "MINSA", "due_at": None, "overdue_at": None},
        {"entity_code": "MOP", "due_at": now - 2 * day, "status": "closed"},
    ]
    with p.db.transaction() as s:
        for number, values in zip(numbers, changes, strict=True):
            s.execute(update(Case).where(Case.number == number).values(**values))
    board = services.dashboard(
        p, authenticate(p, "supervisor", "demo311", client="tests")
    )
    assert (board.open_cases, board.overdue_cases) == (4, 2)
    assert [c.number for c in board.overdue] == [numbers[1], numbers[0]]
    mop = services.dashboard(
        p, authenticate(p, "enlace.mop", "demo311", client="tests")
    )
    assert (mop.open_cases, mop.overdue_cases, mop.entity_codes) == (3, 2, ("MOP",))
    minsa = services.dashboard(
        p, authenticate(p, "enlace.minsa", "demo311", client="tests")
    )
    assert (minsa.open_cases, minsa.overdue_cases, minsa.overdue) == (1, 0, [])
