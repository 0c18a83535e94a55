"""Process tests in a real Chromium: "Probar escenarios" on a version page
shows every scenario passed and the chosen scenario's path on the diagram.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_designer import login


def test_one_click_runs_the_scenarios_and_draws_a_path(
    live_server: str, page: Any
) -> None:
    """Version page → results → another scenario's path on the diagram."""
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, base, "disenador", "/diseno")
    page.goto(f"{base}/diseno/queja/v/1")
    page.get_by_role("link", name="Probar escenarios").click()
    expect(page).to_have_url(f"{base}/diseno/queja/v/1/escenarios")
    expect(page.locator("#resumen-escenarios")).to_contain_text("0 fallaron")

    # The first scenario's path: classified, answered, closed.
    canvas = page.locator("#diagrama-escenario")
    expect(canvas).to_have_class(re.compile("is-ready"))
    for done in ("clasificar_caso", "atender_caso", "fin_respondida"):
        expect(canvas.locator(f'[data-element-id="{done}"]')).to_have_class(
            re.compile("paso-completado")
        )
    expect(canvas.locator('[data-element-id="fin_rechazada"]')).not_to_have_class(
        re.compile("paso-completado")
    )

    # The rejected queja's path instead.
    page.get_by_role(
        "link", name=re.compile("Ver el camino en el diagrama — Queja rechazada")
    ).click()
    expect(page.locator("#diagrama-titulo")).to_contain_text("Queja rechazada")
    canvas = page.locator("#diagrama-escenario")
    expect(canvas).to_have_class(re.compile("is-ready"))
    expect(canvas.locator('[data-element-id="fin_rechazada"]')).to_have_class(
        re.compile("paso-completado")
    )
    expect(canvas.locator('[data-element-id="acusar_recibo"]')).not_to_have_class(
        re.compile("paso-completado")
    )
    check_a11y(page, "scenarios")
    shot(page, "30-designer-scenarios")
    assert errors == []
