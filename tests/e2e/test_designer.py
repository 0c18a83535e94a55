"""The designer in a real Chromium: rename a task in the modeler, save a new
version, and see the new name on a new case's live diagram.

1. The designer opens the modeler for ``queja``, clicks the task
   "Clasificar la queja" on the canvas, renames it in the properties panel
   and saves a new version with a note.
2. A citizen files a queja; the agent opens the case page, whose diagram
   (version 2) shows the new name with the current step marked.
3. The same pages load under the app's real Content-Security-Policy with no
   violation (the ``page`` fixture bypasses the CSP for axe-core).
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import ROOT, check_a11y, shot
from tests.e2e.test_queja_flow import file_queja, logout, track

NEW_NAME = "Clasificar y asignar la queja"
TASK = '[data-element-id="clasificar_caso"]'


def login(page: Any, base: str, username: str, landing: str) -> None:
    """Log in through the login form and land on ``landing``."""
    page.goto(f"{base}/ingresar")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    expect(page).to_have_url(f"{base}{landing}")


def test_rename_a_task_and_see_it_on_a_new_case(live_server: str, page: Any) -> None:
    """Modeler → new version → a new case's diagram shows the new name."""
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The designer's list: every case type with its versions.
    login(page, base, "disenador", "/diseno")
    expect(page.get_by_role("heading", level=1)).to_have_text("Diseño de procesos")
    expect(
        page.get_by_role("heading", level=2, name=re.compile("Queja"))
    ).to_be_visible()
    check_a11y(page, "designer-list")
    shot(page, "13-designer-list")

    # The modeler opens the newest queja diagram.
    page.get_by_role("link", name="Abrir en el modelador — Queja").click()
    expect(page).to_have_url(f"{base}/diseno/queja/modelador")
    task = page.locator(f"#lienzo {TASK}")
    expect(task).to_be_visible()

    # Clicking the task shows its id (read-only) and name in the panel.
    task.click()
    element_id = page.get_by_label("Identificador")
    expect(element_id).to_have_value("clasificar_caso")
    expect(element_id).to_have_attribute("readonly", "")
    name = page.get_by_label("Nombre", exact=True)
    expect(name).to_have_value("Clasificar la queja")
    expect(page.get_by_label("Elemento", exact=True)).to_have_value("clasificar_caso")
    expect(page.locator("#elemento-tipo")).to_have_text("Tarea de usuario")

    # Renaming it in the panel updates the label on the canvas.
    name.fill(NEW_NAME)
    expect(task.locator("text")).to_have_text(re.compile(r"Clasificar y\s*asignar"))
    check_a11y(page, "modeler")
    shot(page, "14-modeler-renamed")

    page.get_by_label("Nota de la versión").fill("Nombre más claro para el agente")
    page.get_by_role("button", name="Guardar como nueva versión").click()
    expect(page).to_have_url(f"{base}/diseno")
    expect(page.get_by_role("status").first).to_contain_text("versión 2")
    expect(page.get_by_text("Nombre más claro para el agente")).to_be_visible()
    shot(page, "15-designer-deployed")
    logout(page)

    # A citizen files a queja: it starts on version 2.
    number, _ = file_queja(page, base, "salud", "Farmacia sin medicamentos")

    # The agent's case page draws version 2 with the current step marked.
    login(page, base, "agente", "/tareas")
    row = page.get_by_role("row").filter(has_text=number)
    expect(row.get_by_role("link", name=NEW_NAME)).to_be_visible()
    page.goto(f"{base}/casos/{number}")
    expect(
        page.get_by_role("heading", level=2, name="Diagrama del caso (versión 2)")
    ).to_be_visible()
    canvas = page.locator("#diagrama-caso")
    expect(canvas).to_have_class(re.compile("is-ready"))
    current = canvas.locator(TASK)
    expect(current).to_have_class(re.compile("paso-actual"))
    expect(current.locator("text")).to_have_text(re.compile(r"Clasificar y\s*asignar"))
    expect(canvas.locator('[data-element-id="inicio"]')).to_have_class(
        re.compile("paso-completado")
    )
    steps = page.locator(".steps-text")
    expect(steps).to_contain_text(NEW_NAME)
    canvas.scroll_into_view_if_needed()
    check_a11y(page, "case-diagram")
    shot(page, "16-case-diagram")
    assert errors == []


def test_pages_keep_the_content_security_policy(live_server: str, browser: Any):
    """The modeler, viewers and form editor run under the real CSP."""
    base = live_server
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: (
            violations.append(msg.text)
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    page.on("pageerror", lambda exc: violations.append(str(exc)))
    try:
        login(page, base, "disenador", "/diseno")
        page.goto(f"{base}/diseno/queja/modelador")
        task = page.locator(f"#lienzo {TASK}")
        task.click()
        page.get_by_label("Nombre", exact=True).fill("Clasificar")
        expect(task.locator("text")).to_have_text("Clasificar")
        page.goto(f"{base}/diseno/queja/v/1")
        expect(page.locator(f".bpmn-canvas {TASK}")).to_be_visible()
        shot(page, "17-version-viewer")
        page.goto(f"{base}/diseno/queja/formularios/registro.json")
        page.get_by_label("Probar datos (JSON)").fill('{"asunto": "x"}')
        expect(page.locator("#descripcion-error")).to_be_visible()
        logout(page)
        number, _ = file_queja(page, base, "salud", "Farmacia sin medicamentos")
        login(page, base, "agente", "/tareas")
        page.goto(f"{base}/casos/{number}")
        expect(page.locator(f"#diagrama-caso {TASK}")).to_have_class(
            re.compile("paso-actual")
        )
        assert violations == []
    finally:
        context.close()


def test_form_editor_live_preview(live_server: str, page: Any) -> None:
    """Typing a new field title shows it in the preview; bad JSON says so."""
    base = live_server
    login(page, base, "disenador", "/diseno")
    page.goto(f"{base}/diseno/queja/formularios/registro.json")
    preview = page.locator("#vista-previa")
    expect(preview.get_by_label(re.compile("^Asunto"))).to_be_visible()
    schema = page.get_by_label("JSON Schema del formulario")
    text = schema.input_value()
    schema.fill(text.replace('"title": "Asunto"', '"title": "Asunto breve"'))
    expect(preview.get_by_label(re.compile("^Asunto breve"))).to_be_visible()
    schema.fill(text[:-5])
    expect(preview).to_contain_text("El JSON no es válido")
    schema.fill(text)
    page.get_by_label("Probar datos (JSON)").fill('{"asunto": "Hola"}')
    expect(preview.locator("#descripcion-error")).to_contain_text("obligatorio")
    expect(preview.locator("#asunto")).to_have_value("Hola")
    check_a11y(page, "form-editor")
    shot(page, "18-form-editor-preview")


def test_refused_upload_and_the_citizen_steps(live_server: str, page: Any) -> None:
    """A refused bundle lists errors and warnings; the citizen sees the steps."""
    base = live_server
    login(page, base, "disenador", "/diseno")
    page.goto(f"{base}/diseno/desplegar")
    folder = ROOT / "tests" / "fixtures" / "invalid" / "errores_y_avisos"
    page.get_by_label("Archivos del paquete").set_input_files(
        sorted(str(p) for p in folder.iterdir())
    )
    page.get_by_label("Nota de la versión").fill("Debe fallar")
    page.get_by_role("button", name="Desplegar").click()
    expect(page.locator("#resumen-problemas")).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Problemas del paquete"))
    expect(table.locator("tr.problem-error").first).to_be_visible()
    expect(table.locator("tr.problem-warning").first).to_be_visible()
    expect(page.get_by_label("Nota de la versión")).to_have_value("Debe fallar")
    check_a11y(page, "deploy-refused")
    shot(page, "19-deploy-refused")
    logout(page)

    number, code = file_queja(page, base, "salud", "Farmacia sin medicamentos")
    track(page, base, number, code)
    current = page.locator('.steps [aria-current="step"]')
    expect(current).to_contain_text("En revisión por el 311")
    expect(current).to_contain_text("paso actual")
    check_a11y(page, "tracking-steps")
    shot(page, "20-tracking-steps")
