"""``/transparencia``: each entity's figures over twelve months, computed by
the worker once a day; the fair on-time rate counts late open cases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from engine import services
from engine.services import transparency
from engine.services.common import PANAMA
from engine.store.models import Case, SurveyResponse
from webapp.cli import worker_pass

QUEJA = {
    "categoria": "salud",
    "asunto": "Sin medicamentos en la farmacia",
    "descripcion": "La farmacia del policentro no tiene medicamentos para la presión.",
}


def test_figures_and_the_page(app, client):
    """Three MINSA cases: one closed on time in 2 business days, one closed
    late, one open past its deadline: fair rate 1 / (2 + 1)."""
    p = app.extensions["centro311"]
    numbers = [services.open_case(p, "queja", QUEJA).number for _ in range(3)]
    now = p.clock()
    monday = datetime(2026, 9, 7, 9, 0, tzinfo=PANAMA)  # no holiday near
    with p.db.transaction() as s:
        rows = {
            numbers[0]: dict(
                status="closed",
                created_at=monday,
                closed_at=monday + timedelta(days=2),
                due_at=monday + timedelta(days=5),
            ),
            numbers[1]: dict(
                status="closed",
                created_at=monday,
                closed_at=monday + timedelta(days=9),
                due_at=monday + timedelta(days=5),
            ),
            numbers[2]: dict(due_at=now - timedelta(days=1)),
        }
        for number, values in rows.items():
            s.execute(
                update(Case)
                .where(Case.number == number)
                .values(entity_code="MINSA", **values)
            )
        case_id = s.query(Case.id).filter(Case.number == numbers[0]).scalar()
        s.add(
            SurveyResponse(
                case_id=case_id,
                case_type="queja",
                entity_code="MINSA",
                rating=4,
                comment="",
                at=now,
            )
        )
    assert "todavía no hay ninguna" in client.get("/transparencia").get_data(
        as_text=True
    )
    worker_pass(app)
    found = transparency.latest(p)
    assert found is not None
    minsa = next(e for e in found.entities if e.code == "MINSA")
    assert (minsa.received, minsa.closed, minsa.closed_on_time) == (3, 2, 1)
    assert minsa.overdue_open == 1
    assert minsa.on_time_rate == 1 / 3
    # Monday to Wednesday is 2 business days, to the next Wednesday 7.
    assert minsa.median_days == 4.5
    assert (minsa.surveys, minsa.satisfaction) == (1, 4.0)
    html = client.get("/transparencia").get_data(as_text=True)
    assert "33\xa0%" in html  # Spanish percent, the fair rate
    assert '<svg role="img"' in html
    assert "Ministerio de Salud" in html
