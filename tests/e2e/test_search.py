"""Case search in a real Chromium: an agent records a call, then finds the
case at /buscar by a word of its description and by the caller's phone —
on a desktop window and on a phone-sized one."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_queja_flow import login

DESCRIPCION = (
    "Desde el lunes el alcantarillado de la calle Uruguay se desborda "
    "cada vez que llueve y el agua entra a los comercios."
)


def file_phone_case(page: Any, base: str) -> str:
    """The agent files a queja taken by phone; returns its number."""
    page.goto(f"{base}/casos/nuevo/queja")
    page.get_by_label("Canal por el que llega el caso").select_option("phone")
    page.get_by_label("Categoría").select_option("agua")
    page.get_by_label("Asunto").fill("Alcantarilla desbordada")
    page.get_by_label("Descripción").fill(DESCRIPCION)
    page.get_by_label("Nombre").fill("Rogelio Candanedo")
    page.get_by_label("Teléfono").fill("6234-5678")
    page.get_by_role("button", name="Enviar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
    return page.locator("#numero-caso").inner_text().strip()


def test_agent_finds_a_phone_case_by_text_and_by_phone(
    live_server: str, page: Any
) -> None:
    """By a word of the description (no accent typed), then by the phone
    written another way; the result links to the case page."""
    base = live_server
    login(page, base, "agente")
    number = file_phone_case(page, base)

    page.get_by_role("link", name="Buscar casos").click()
    expect(page.get_by_role("heading", level=1, name="Buscar casos")).to_be_visible()
    page.get_by_label("Texto").fill("alcantarillado desborda")
    page.get_by_role("button", name="Buscar", exact=True).click()
    results = page.get_by_role("table")
    expect(results.get_by_role("link", name=number)).to_be_visible()
    expect(page.get_by_role("heading", level=2)).to_have_text("1 caso encontrado")
    check_a11y(page, "search-results")
    shot(page, "search-desktop")

    page.get_by_role("link", name="Limpiar").click()
    page.get_by_label("Contacto: correo, teléfono o nombre").fill("+507 6234 5678")
    page.get_by_role("button", name="Buscar", exact=True).click()
    row = page.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("Rogelio Candanedo")
    expect(page.get_by_label("Contacto: correo, teléfono o nombre")).to_have_value(
        "+507 6234 5678"
    )

    # On a phone the results are cards: nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_label("Texto").fill("alcantarillado")
    page.get_by_role("button", name="Buscar", exact=True).click()
    expect(page.get_by_role("link", name=number)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at 390px"
    check_a11y(page, "search-mobile")
    shot(page, "search-mobile")

    page.get_by_role("link", name=number).click()
    expect(page).to_have_url(re.compile(rf"/casos/{number}$"))
