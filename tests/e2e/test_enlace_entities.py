"""An enlace of two entities in a real Chromium: the dashboard names both,
and an article is written for the entity it picks among its own. The pages
pass axe."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_queja_flow import login


def test_the_enlace_picks_one_of_its_entities(live_server: str, page: Any) -> None:
    """The dashboard's title names IDAAN and MIVIOT; the article form offers
    exactly those two, and the saved article is MIVIOT's."""
    login(page, live_server, "enlace.vivienda")
    page.goto(f"{live_server}/tablero")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tablero · IDAAN, MIVIOT")
    shot(page, "enlace-entities-board")
    page.goto(f"{live_server}/conocimiento/nuevo")
    entity = page.get_by_label("Entidad")
    expect(entity.locator("option")).to_have_count(2)
    page.get_by_label("Título").fill("Bonos de vivienda")
    page.get_by_label("Tema").fill("Vivienda")
    entity.select_option("MIVIOT")
    page.get_by_label("Contenido").fill("Los bonos se solicitan en el MIVIOT.")
    check_a11y(page, "enlace-entities-article-form")
    shot(page, "enlace-entities-article-form")
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator("main")).to_contain_text("MIVIOT — Ministerio de Vivienda")
