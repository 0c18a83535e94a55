"""Drafts and practice mode in a real Chromium.

1. The designer renames a task in the modeler and saves it as a draft: the
   draft's page says no new case uses it.
2. In practice mode the designer files a practice case on the draft and
   completes its first task (the agent's lane); the case carries the
   "Práctica" badge and never reaches the agent's inbox.
3. The designer publishes the draft with a note; a citizen's new case runs
   on it (the agent's task has the new name).
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.conftest import must_search
from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_designer import TASK, login
from tests.e2e.test_queja_flow import DESCRIPCION, file_queja, logout

NEW_NAME = "Clasificar la queja recibida"


def test_draft_practice_and_publish(live_server: str, page: Any) -> None:
    """Modeler draft → practice case worked → published → citizen uses it."""
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # 1. A draft from the modeler.
    login(page, base, "disenador", "/diseno")
    page.goto(f"{base}/diseno/queja/modelador")
    task = page.locator(f"#lienzo {TASK}")
    task.click()
    page.get_by_label("Nombre", exact=True).fill(NEW_NAME)
    page.get_by_label("Nota de la versión").fill("Nombre más claro")
    page.get_by_label("Guardar como borrador").check()
    page.get_by_role("button", name="Guardar como nueva versión").click()
    expect(page).to_have_url(f"{base}/diseno/queja/v/2")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Borrador")
    expect(page.get_by_role("status").first).to_contain_text("borrador 2")
    check_a11y(page, "draft-version")
    shot(page, "40-draft-version")

    # 2. Practice mode: file a practice case on the draft and work its task.
    page.get_by_role("link", name="Probar en modo práctica").click()
    expect(page).to_have_url(f"{base}/diseno/queja/v/2/practica")
    page.get_by_label("Categoría").select_option("salud")
    page.get_by_label("Asunto").fill("Prueba del borrador")
    page.get_by_label("Descripción").fill(DESCRIPCION)
    page.get_by_role("button", name="Presentar el caso de práctica").click()
    expect(page).to_have_url(f"{base}/diseno/queja/v/2/practica")
    status = page.get_by_role("status").first
    expect(status).to_contain_text("caso de práctica")
    number = must_search(r"311-\d{4}-\d{6}", status.inner_text()).group(0)
    row = page.locator("#tabla-practica tr").filter(has_text=number)
    expect(row.get_by_text("Práctica")).to_be_visible()
    check_a11y(page, "practice-page")
    shot(page, "41-practice-page")
    row.get_by_role("link", name=NEW_NAME).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Práctica")
    page.get_by_role("radio", name="Aceptar y asignar a una entidad").check()
    page.get_by_label("Entidad responsable").select_option("MINSA")
    check_a11y(page, "practice-task")
    page.get_by_role("button", name="Completar tarea").click()
    expect(page).to_have_url(f"{base}/diseno/queja/v/2/practica")
    row = page.locator("#tabla-practica tr").filter(has_text=number)
    expect(row.get_by_role("link", name="Acusar recibo")).to_be_visible()
    shot(page, "42-practice-worked")

    # 3. Publish with a note.
    page.goto(f"{base}/diseno/queja/v/2")
    page.get_by_role("link", name="Publicar…").click()
    page.get_by_role("button", name="Publicar").click()
    expect(page.locator("#nota-error")).to_be_visible()
    page.get_by_label(re.compile("^Nota de la publicación")).fill(
        "Probado en modo práctica"
    )
    check_a11y(page, "publish")
    shot(page, "43-publish")
    page.get_by_role("button", name="Publicar").click()
    expect(page).to_have_url(f"{base}/diseno")
    expect(page.get_by_role("status").first).to_contain_text("versión 2")
    versions = page.get_by_role("table", name="Versiones de Queja")
    expect(versions.get_by_role("row").nth(1)).to_contain_text("vigente")
    expect(versions).to_contain_text("Probado en modo práctica")
    logout(page)

    # A citizen's new case runs on version 2; the practice case is nowhere
    # in the agent's inbox.
    citizen, _ = file_queja(page, base, "salud", "Farmacia sin medicamentos")
    login(page, base, "agente", "/tareas")
    expect(
        page.get_by_role("row")
        .filter(has_text=citizen)
        .get_by_role("link", name=NEW_NAME)
    ).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=number)).to_have_count(0)
    page.goto(f"{base}/casos/{number}")
    expect(page.get_by_role("heading", level=1)).not_to_contain_text(number)
    assert errors == []
