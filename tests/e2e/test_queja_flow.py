"""A queja end to end in a real Chromium: the citizen files it on the web, the
311 agent classifies it to MINSA, MINSA's enlace answers, and the citizen reads
the answer on the tracking page. Pages are checked with axe-core on the way."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import check_a11y, shot

ASUNTO = "Centro de salud sin atención en la tarde"
DESCRIPCION = (
    "El martes a las 3:00 p. m. el centro de salud de Juan Díaz estaba cerrado "
    "aunque el horario publicado dice que atiende hasta las 7:00 p. m."
)
RESPUESTA = (
    "Gracias por avisarnos. La dirección regional ajustó los turnos y desde el "
    "lunes el centro de salud atiende hasta las 7:00 p. m. como corresponde."
)


def login(page: Any, base: str, username: str) -> None:
    """Log in through the login form and land on the inbox."""
    page.goto(f"{base}/ingresar")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    expect(page).to_have_url(f"{base}/tareas")


def logout(page: Any) -> None:
    """Log out with the header button."""
    page.get_by_role("button", name="Salir").click()
    expect(page.get_by_role("link", name="Ingresar")).to_be_visible()


def open_task(page: Any, name: str, number: str) -> None:
    """Open the inbox task `name` of case `number`."""
    row = page.get_by_role("row").filter(has_text=number)
    link = row.get_by_role("link", name=name)
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()


def test_queja_from_citizen_to_answer(live_server: str, page: Any) -> None:
    base = live_server

    # The citizen files a queja on the web.
    page.goto(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_a11y(page, "home")
    shot(page, "01-home")
    page.get_by_role("link", name=re.compile(r"Presentar: Queja")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Presentar una queja")
    check_a11y(page, "intake")
    shot(page, "02-intake")

    # Submitting without the description keeps what was typed and says why.
    page.get_by_label("Asunto").fill(ASUNTO)
    page.get_by_role("button", name="Enviar").click()
    expect(page.locator("#resumen-errores")).to_be_visible()
    descripcion = page.get_by_label("Descripción")
    expect(descripcion).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#descripcion-error")).to_be_visible()
    expect(page.locator("#descripcion-error")).not_to_be_empty()
    expect(page.get_by_label("Asunto")).to_have_value(ASUNTO)
    check_a11y(page, "intake-errors")
    shot(page, "03-intake-errors")

    descripcion.fill(DESCRIPCION)
    page.get_by_label("Correo electrónico").fill("vecina@example.com")
    page.get_by_role("button", name="Enviar").click()

    # The receipt shows the tracking number and the access code.
    expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
    expect(page.locator("#numero-caso")).to_have_text(re.compile(r"^311-\d{4}-\d{6}$"))
    expect(page.locator("#codigo-acceso")).not_to_be_empty()
    number = page.locator("#numero-caso").inner_text().strip()
    code = page.locator("#codigo-acceso").inner_text().strip()
    check_a11y(page, "confirmation")
    shot(page, "04-confirmation")

    # The 311 agent classifies it and routes it to MINSA.
    login(page, base, "agente")
    row = page.get_by_role("row").filter(has_text=number)
    expect(row.get_by_role("link", name="Clasificar la queja")).to_be_visible()
    check_a11y(page, "agent-inbox")
    shot(page, "05-agent-inbox")
    open_task(page, "Clasificar la queja", number)
    page.get_by_role("radio", name="Aceptar y asignar a una entidad").check()
    page.get_by_label("Entidad responsable").select_option("MINSA")
    check_a11y(page, "agent-task")
    shot(page, "06-agent-task")
    page.get_by_role("button", name="Completar tarea").click()
    expect(page).to_have_url(f"{base}/tareas")
    expect(page.get_by_role("status").first).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=number)).to_have_count(0)
    logout(page)

    # MINSA's enlace answers the citizen.
    login(page, base, "enlace.minsa")
    open_task(page, "Responder al ciudadano", number)
    page.get_by_label("Respuesta al ciudadano").fill(RESPUESTA)
    check_a11y(page, "enlace-task")
    shot(page, "07-enlace-task")
    page.get_by_role("button", name="Completar tarea").click()
    expect(page).to_have_url(f"{base}/tareas")
    expect(page.get_by_role("row").filter(has_text=number)).to_have_count(0)
    logout(page)

    # The citizen reads the answer on the tracking page.
    page.goto(f"{base}/seguimiento")
    page.get_by_label("Número de caso").fill(number)
    page.get_by_label("Código de acceso").fill(code)
    page.get_by_role("button", name="Consultar").click()
    expect(page.locator("#estado-publico")).to_have_text("Respondida")
    expect(page.locator(".timeline")).to_contain_text(RESPUESTA)
    check_a11y(page, "tracking")
    shot(page, "08-tracking")
