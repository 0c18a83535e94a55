"""Open data: the daily files hold every public case's facts, nothing
personal, no reserved identity; one build a day, the last week kept."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import datetime

import pytest
from sqlalchemy import select, update

from engine import services
from engine.domain.clock import FrozenClock
from engine.services import open_data
from engine.services.common import PANAMA
from engine.services.platform import Platform
from engine.store.models import Case
from engine.store.publishing import OpenDataFile

QUEJA = {
    "categoria": "agua",
    "asunto": "Fuga de agua potable",
    "descripcion": "Una tubería rota bota agua potable frente a la escuela.",
    "nombre": "Ana Pérez",
    "correo": "ana@example.com",
}


@pytest.fixture
def center(seeded: Platform) -> Platform:
    """The seeded platform on a frozen clock (Monday 2026-11-02, 10:00)."""
    seeded.clock = FrozenClock(datetime(2026, 11, 2, 10, 0, tzinfo=PANAMA))
    return seeded


def files(p: Platform, day: str = "2026-11-02") -> tuple[list[dict], list[dict]]:
    """The CSV rows and the JSON objects published for ``day``."""
    when = datetime.fromisoformat(day).date()
    table = gzip.decompress(open_data.published_file(p, when, "csv")).decode()
    objects = json.loads(gzip.decompress(open_data.published_file(p, when, "json")))
    return list(csv.DictReader(io.StringIO(table))), objects


def test_files_hold_public_facts_and_nothing_personal(center):
    """Both formats carry the same rows with the documented columns."""
    number = services.open_case(center, "queja", QUEJA).number
    services.open_case(
        center,
        "denuncia",
        {
            "categoria": "salud",
            "asunto": "Cobro indebido",
            "descripcion": "Un funcionario cobra por dar las citas.",
            "correo": "testigo@example.com",
            "identidad_reservada": True,
        },
    )
    assert open_data.publish_due(center) == 1
    rows, objects = files(center)
    assert rows == objects
    assert [r["numero"] for r in rows] == [number]
    assert list(rows[0]) == [name for name, _ in open_data.COLUMNS]
    row = rows[0]
    assert (row["tipo"], row["categoria"], row["canal"]) == ("queja", "agua", "web")
    assert row["recibido"] == "2026-11-02T10:00:00-05:00"
    assert (row["cerrado"], row["a_tiempo"]) == ("", "")
    text = repr(objects)
    for personal in ("Ana", "ana@example.com", "tubería", "Fuga"):
        assert personal not in text


def test_on_time_and_formula_cells(center):
    """A late open case is «no», an early close «si»; formulas neutralised."""
    late = services.open_case(center, "queja", QUEJA).number
    early = services.open_case(center, "queja", QUEJA).number
    with center.db.transaction() as s:
        s.execute(
            update(Case)
            .where(Case.number == late)
            .values(due_at=datetime(2026, 11, 1, 10, 0, tzinfo=PANAMA))
        )
        s.execute(
            update(Case)
            .where(Case.number == early)
            .values(
                status="closed",
                due_at=datetime(2026, 11, 9, 10, 0, tzinfo=PANAMA),
                closed_at=datetime(2026, 11, 2, 9, 0, tzinfo=PANAMA),
                public_status='=HYPERLINK("http://x")',
            )
        )
    open_data.publish_due(center)
    rows, objects = files(center)
    by_number = {r["numero"]: r for r in rows}
    assert by_number[late]["a_tiempo"] == "no"
    assert by_number[early]["a_tiempo"] == "si"
    assert by_number[early]["estado_publico"] == '\'=HYPERLINK("http://x")'
    assert {o["numero"]: o for o in objects}[early]["estado_publico"].startswith("=")


def test_one_build_a_day_and_a_week_kept(center):
    """A second pass the same day builds nothing; a stale claim is taken
    over; files older than a week go."""
    services.open_case(center, "queja", QUEJA)
    assert open_data.publish_due(center) == 1
    assert open_data.publish_due(center) is None
    for _ in range(8):
        center.clock.advance(days=1)
        assert open_data.publish_due(center) == 1
    days = sorted({f.day for f in open_data.published(center)})
    assert len(days) == open_data.KEEP_DAYS
    assert days[-1].isoformat() == "2026-11-10"
    # A build that died half-way (a claim without content) blocks the day
    # for an hour, then another worker takes it over.
    center.clock.advance(days=1)
    today = center.clock().astimezone(PANAMA).date()
    with center.db.transaction() as s:
        s.add(OpenDataFile(day=today, format="csv", started_at=center.clock(), rows=0))
    assert open_data.publish_due(center) is None
    center.clock.advance(hours=2)
    assert open_data.publish_due(center) == 1
    with center.db.read() as s:
        built = s.scalars(select(OpenDataFile).where(OpenDataFile.day == today)).all()
    assert {f.format for f in built if f.content} == {"csv", "json", "figures"}
