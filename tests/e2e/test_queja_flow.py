"""Quejas end to end in a real Chromium, pages checked with axe-core on the way.

1. The citizen files on the web, the 311 agent routes it to MINSA, MINSA's
   enlace acknowledges and answers, the citizen reads the answer on the
   tracking page and rates it.
2. MOP's enlace says "not our competence", the agent transfers the case to
   MUPA, MUPA asks the citizen a question, the citizen answers on the
   tracking page, and MUPA sees the answer.
"""

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


def file_queja(page: Any, base: str, categoria: str, asunto: str) -> tuple[str, str]:
    """File a queja on the web; returns (number, code) from the receipt."""
    page.goto(f"{base}/casos/nuevo/queja")
    page.get_by_label("Categoría").select_option(categoria)
    page.get_by_label("Asunto").fill(asunto)
    page.get_by_label("Descripción").fill(DESCRIPCION)
    page.get_by_role("button", name="Enviar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
    number = page.locator("#numero-caso").inner_text().strip()
    code = page.locator("#codigo-acceso").inner_text().strip()
    return number, code


def track(page: Any, base: str, number: str, code: str) -> None:
    """Open the tracking page of a case."""
    page.goto(f"{base}/seguimiento")
    page.get_by_label("Número de caso").fill(number)
    page.get_by_label("Código de acceso").fill(code)
    page.get_by_role("button", name="Consultar").click()
    expect(
        page.get_by_role("heading", level=2, name=re.compile(number))
    ).to_be_visible()


def complete(page: Any, base: str, number: str) -> None:
    """Submit the task form and come back to an inbox without that case's task."""
    page.get_by_role("button", name="Completar tarea").click()
    expect(page).to_have_url(f"{base}/tareas")


def test_queja_from_citizen_to_answer(live_server: str, page: Any) -> None:
    """Web intake → agent → MINSA acknowledges and answers → citizen rates."""
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
    page.get_by_label("Categoría").select_option("salud")
    page.get_by_label("Asunto").fill(ASUNTO)
    page.get_by_role("button", name="Enviar").click()
    expect(page.locator("#resumen-errores")).to_be_visible()
    descripcion = page.get_by_label("Descripción")
    expect(descripcion).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#descripcion-error")).not_to_be_empty()
    expect(page.get_by_label("Asunto")).to_have_value(ASUNTO)
    expect(page.get_by_label("Categoría")).to_have_value("salud")
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

    # The 311 agent accepts it; routing already suggests MINSA.
    login(page, base, "agente")
    row = page.get_by_role("row").filter(has_text=number)
    expect(row.get_by_role("link", name="Clasificar la queja")).to_be_visible()
    check_a11y(page, "agent-inbox")
    shot(page, "05-agent-inbox")
    open_task(page, "Clasificar la queja", number)
    expect(page.get_by_label("Entidad responsable")).to_have_value("MINSA")
    page.get_by_role("radio", name="Aceptar y asignar a una entidad").check()
    check_a11y(page, "agent-task")
    shot(page, "06-agent-task")
    complete(page, base, number)
    expect(page.get_by_role("row").filter(has_text=number)).to_have_count(0)
    logout(page)

    # MINSA's enlace acknowledges, then answers the citizen.
    login(page, base, "enlace.minsa")
    open_task(page, "Acusar recibo", number)
    complete(page, base, number)
    open_task(page, "Atender la queja", number)
    page.get_by_role("radio", name="Responder al ciudadano").check()
    page.get_by_label("Respuesta al ciudadano").fill(RESPUESTA)
    check_a11y(page, "enlace-task")
    shot(page, "07-enlace-task")
    complete(page, base, number)
    expect(page.get_by_role("row").filter(has_text=number)).to_have_count(0)
    logout(page)

    # The citizen reads the answer on the tracking page and rates it.
    track(page, base, number, code)
    expect(page.locator("#estado-publico")).to_have_text("Respondida")
    expect(page.locator(".timeline")).to_contain_text(RESPUESTA)
    check_a11y(page, "tracking")
    shot(page, "08-tracking")
    page.get_by_role("radio", name="5 — Muy satisfecho").check()
    page.get_by_role("button", name="Enviar respuesta").click()
    expect(page.get_by_role("status").first).to_contain_text("Gracias")
    expect(page.locator("#estado-publico")).to_have_text("Cerrada")
    shot(page, "09-tracking-rated")


def test_transfer_and_question_to_the_citizen(live_server: str, page: Any) -> None:
    """MOP → not competent → agent transfers to MUPA → MUPA asks → citizen answers."""
    base = live_server
    number, code = file_queja(page, base, "vias", "Alcantarilla sin tapa")

    login(page, base, "agente")
    open_task(page, "Clasificar la queja", number)
    expect(page.get_by_label("Entidad responsable")).to_have_value("MOP")
    page.get_by_role("radio", name="Aceptar y asignar a una entidad").check()
    complete(page, base, number)
    logout(page)

    login(page, base, "enlace.mop")
    open_task(page, "Acusar recibo", number)
    complete(page, base, number)
    open_task(page, "Atender la queja", number)
    page.get_by_role("radio", name="No es competencia de mi entidad").check()
    page.get_by_label("Por qué no es competencia de su entidad").fill(
        "Las alcantarillas de calles internas las atiende el municipio."
    )
    complete(page, base, number)
    logout(page)

    login(page, base, "agente")
    open_task(page, "Transferir a otra entidad", number)
    page.get_by_label("Nueva entidad responsable").select_option("MUPA")
    shot(page, "10-transfer")
    complete(page, base, number)
    logout(page)

    # The citizen sees the transfer on the tracking page: same number.
    track(page, base, number, code)
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("no es de su competencia")
    expect(timeline).to_contain_text("MOP")
    expect(timeline).to_contain_text("MUPA")

    login(page, base, "enlace.mupa")
    open_task(page, "Acusar recibo", number)
    complete(page, base, number)
    open_task(page, "Atender la queja", number)
    page.get_by_role("radio", name="Pedir información al ciudadano").check()
    page.get_by_label("Pregunta para el ciudadano").fill(
        "¿Frente a qué número de casa está la alcantarilla?"
    )
    complete(page, base, number)
    logout(page)

    # The citizen answers the question on the tracking page.
    track(page, base, number, code)
    expect(page.locator("#estado-publico")).to_have_text(
        "Esperando información del ciudadano"
    )
    expect(page.locator(".timeline")).to_contain_text("Frente a qué número de casa")
    check_a11y(page, "tracking-question")
    shot(page, "11-citizen-question")
    page.get_by_role("button", name="Enviar respuesta").click()  # empty: refused
    expect(page.locator("#respuesta_ciudadano-error")).to_be_visible()
    page.get_by_label("Su respuesta").fill("Frente a la casa 14-B, calle 3.")
    page.get_by_role("button", name="Enviar respuesta").click()
    expect(page.get_by_role("status").first).to_contain_text("Gracias")
    expect(page.locator("#estado-publico")).to_have_text("En atención por la entidad")

    # MUPA sees the citizen's answer on its task.
    login(page, base, "enlace.mupa")
    open_task(page, "Atender la queja", number)
    expect(
        page.locator("dl.data").get_by_text("Frente a la casa 14-B, calle 3.")
    ).to_be_visible()
    shot(page, "12-enlace-sees-answer")
