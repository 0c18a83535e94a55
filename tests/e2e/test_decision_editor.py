"""The designer changes the routing in the decision table editor, in a real
Chromium, and a new case follows it while a running case keeps its version.

1. A citizen files a «basura» queja (version 1: routed to AAUD).
2. The designer opens ``enrutamiento.dmn`` from the version page, chooses
   the «basura» row's entity cell, writes ``"MUPA"`` into it from the list
   of active entities, and saves a new version with a note.
3. A second «basura» queja is filed: the agent's classification comes with
   MUPA suggested and, accepted, the case goes to MUPA; the first case's
   suggestion is still AAUD.

(«basura» because no seed scenario files it: the bundle's process tests
check the routes they use, and would rightly refuse changing those.)
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from engine.store.models import Case
from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_designer import login
from tests.e2e.test_queja_flow import complete, file_queja, logout, open_task

CELL = '#tabla-dmn [data-element-id="regla_basura_entidad"]'


def test_designer_routes_a_category_to_another_entity(
    live_server: str, page: Any, app: Any
) -> None:
    """DMN editor → version 2 → a new «basura» case goes to MUPA."""
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    running, _ = file_queja(page, base, "basura", "Basura sin recoger en la calle 50")

    login(page, base, "disenador", "/diseno")
    page.goto(f"{base}/diseno/queja/v/1")
    page.get_by_role("link", name="Editar la tabla enrutamiento.dmn").click()
    expect(page).to_have_url(f"{base}/diseno/queja/v/1/tablas/enrutamiento.dmn")
    expect(page.locator("#editor-tabla")).to_have_class(re.compile("is-ready"))
    expect(page.locator("#resumen-problemas")).to_have_text(
        "La tabla no tiene problemas."
    )
    cell = page.locator(CELL)
    expect(cell).to_have_text('"AAUD"')

    # Choose the cell, then the entity from the database's list.
    cell.click()
    page.get_by_role("button", name='"MUPA" Municipio de Panamá').click()
    expect(cell).to_have_text('"MUPA"')
    expect(page.locator("#valor-estado")).to_contain_text('"MUPA"')
    check_a11y(page, "decision-editor")
    shot(page, "21-decision-editor")

    page.get_by_label("Nota de la versión").fill("La basura pasa al municipio")
    page.get_by_role("button", name="Guardar como nueva versión").click()
    expect(page).to_have_url(f"{base}/diseno/queja/v/2/tablas/enrutamiento.dmn")
    expect(page.get_by_role("status").first).to_contain_text(
        "Se guardó la tabla enrutamiento.dmn en la versión 2"
    )
    expect(page.locator(CELL)).to_have_text('"MUPA"')
    logout(page)

    new, _ = file_queja(page, base, "basura", "Contenedor desbordado en la esquina")
    login(page, base, "agente", "/tareas")
    open_task(page, "Clasificar la queja", running)
    expect(page.get_by_label("Entidad responsable")).to_have_value("AAUD")
    page.goto(f"{base}/tareas")
    open_task(page, "Clasificar la queja", new)
    expect(page.get_by_label("Entidad responsable")).to_have_value("MUPA")
    page.get_by_role("radio", name="Aceptar y asignar a una entidad").check()
    complete(page, base, new)

    with app.extensions["centro311"].db.read() as s:
        entity = s.scalar(select(Case.entity_code).where(Case.number == new))
    assert entity == "MUPA"
    assert errors == []
