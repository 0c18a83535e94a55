"""Phone intake in a real Chromium: the agent types the caller's phone, sees
their earlier case, uses their data, names the entity and files; the new
case goes straight to the entity (its first task is the acknowledgement,
not classification) — on a desktop window and on a phone-sized one."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from engine import services
from engine.services.accounts import authenticate
from engine.store.models import Case, HumanTask
from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_queja_flow import login, logout

EARLIER = {
    "categoria": "agua",
    "asunto": "Fuga en la acera",
    "descripcion": "Sale agua de la acera frente a mi casa desde ayer.",
    "nombre": "Rosa Elena Ábrego",
    "correo": "rosa.abrego@example.pa",
    "telefono": "6123-4567",
}


def test_agent_finds_the_caller_by_phone_and_files_to_the_entity(
    app: Any, live_server: str, page: Any
) -> None:
    p = app.extensions["centro311"]
    agent = authenticate(p, "agente", "demo311", client="e2e")
    earlier = services.open_case(p, "queja", EARLIER, actor=agent, channel="phone")
    base = live_server
    login(page, base, "agente")
    page.goto(f"{base}/casos/nuevo/queja")
    expect(page.locator("#linea-311")).to_contain_text("Línea 311")
    expect(page.get_by_label("Canal por el que llega el caso")).to_have_value("phone")

    # Typed as the caller says it; the page asks as the agent types.
    page.get_by_label("Buscar a quien llama").press_sequentially(
        "+507 6123 4567", delay=20
    )
    caller = page.get_by_role("article", name="Rosa Elena Ábrego")
    expect(caller.get_by_role("link", name=earlier.number)).to_be_visible()
    expect(caller).to_contain_text("Queja")
    expect(caller).to_contain_text("Abierto")
    check_a11y(page, "phone-intake-lookup")
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "phone-intake-desktop")

    caller.get_by_role("button", name="Usar estos datos").click()
    expect(page.get_by_label("Nombre", exact=True)).to_have_value("Rosa Elena Ábrego")
    expect(page.get_by_label("Correo electrónico")).to_have_value(
        "rosa.abrego@example.pa"
    )
    expect(page.get_by_label("Teléfono", exact=True)).to_have_value("6123-4567")

    page.get_by_label("Entidad que debe atender el caso").select_option("MINSA")
    page.get_by_label("Categoría").select_option("salud")
    page.get_by_label("Asunto").fill("Sin medicamentos")
    page.get_by_label("Descripción").fill(
        "No hay medicamentos para la presión en la policlínica."
    )

    # On a phone nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at 390px"
    check_a11y(page, "phone-intake-mobile")
    shot(page, "phone-intake-mobile")

    page.get_by_role("button", name="Enviar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
    number = page.locator("#numero-caso").inner_text().strip()
    with p.db.read() as s:
        tasks = s.execute(
            select(HumanTask.bpmn_id, HumanTask.entity_code)
            .join(Case, Case.id == HumanTask.case_id)
            .where(Case.number == number, HumanTask.state == "ready")
        ).all()
    assert [tuple(t) for t in tasks] == [("acusar_recibo", "MINSA")]

    # MINSA's enlace has it in the inbox at once.
    logout(page)
    login(page, base, "enlace.minsa")
    row = page.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("Acusar recibo")
    expect(page).to_have_url(re.compile(r"/tareas$"))
