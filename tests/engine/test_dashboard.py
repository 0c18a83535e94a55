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
