"""The open-data page in Chromium, on a phone and a desktop, with axe-core."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from engine import services
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
