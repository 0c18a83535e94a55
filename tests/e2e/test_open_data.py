"""The open-data page in Chromium, on a phone and a desktop, with axe-core."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import update

from engine import services
from engine.store.models import Case
from tests.e2e.conftest import check_a11y, shot
from webapp.cli import worker_pass

QUEJA = {
    "categoria": "agua",
    "asunto": "Fuga de agua potable",
    "descripcion": "Una tubería rota bota agua potable frente a la escuela.",
}


def test_open_data_page(live_server: str, page: Any, app: Any) -> None:
    """Files listed with their size and rows; every column explained."""
    services.open_case(app.extensions["centro311"], "queja", QUEJA)
    worker_pass(app)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/")
        page.get_by_role("link", name="Datos abiertos").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Datos abiertos")
        expect(page.get_by_role("link", name="Casos en CSV")).to_be_visible()
        expect(page.locator("dt code")).to_have_count(10)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        check_a11y(page, f"open-data-{width}")
        shot(page, f"open-data-{width}")


def cases_of_two_entities(app: Any) -> None:
    """Cases at MINSA (one closed on time) and at MOP (one overdue)."""
    p = app.extensions["centro311"]
    numbers = [services.open_case(p, "queja", QUEJA).number for _ in range(3)]
    now = p.clock()
    with p.db.transaction() as s:
        for number, values in zip(
            numbers,
            (
                dict(
                    entity_code="MINSA",
                    status="closed",
                    closed_at=now,
                    due_at=now + timedelta(days=3),
                ),
                dict(entity_code="MINSA"),
                dict(entity_code="MOP", due_at=now - timedelta(days=2)),
            ),
            strict=True,
        ):
            s.execute(update(Case).where(Case.number == number).values(**values))
    worker_pass(app)


def test_transparency_page_without_javascript(
    live_server: str, browser: Any, app: Any
) -> None:
    """Chart and table are drawn by the server: no script needed."""
    cases_of_two_entities(app)
    context = browser.new_context(java_script_enabled=False, locale="es-PA")
    try:
        page = context.new_page()
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{live_server}/transparencia")
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Cómo responde cada entidad"
            )
            expect(page.locator("#cifras tbody tr")).to_have_count(2)
            expect(page.locator("svg.bars rect.bar-fill")).to_have_count(2)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            shot(page, f"transparency-{width}")
    finally:
        context.close()


def test_transparency_page_passes_axe(live_server: str, page: Any, app: Any) -> None:
    """axe-core finds nothing on the page, on a phone and a desktop."""
    cases_of_two_entities(app)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/transparencia")
        check_a11y(page, f"transparency-{width}")
