"""Queues in a real Chromium: an agent claims a task from the unclaimed tab,
the supervisor reassigns it to another agent from the task page, and the new
holder finds it under "Mis tareas" — on a desktop window and a phone."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from engine import services
from engine.services import accounts
from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_queja_flow import login, logout

INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua en la vía",
    "descripcion": "Hay una fuga de agua potable frente a la escuela desde el lunes.",
}


def test_agent_claims_and_supervisor_reassigns(
    app: Any, live_server: str, page: Any
) -> None:
    """Claim, reassign, and the new holder's "mine" tab, with the timeline."""
    p = app.extensions["centro311"]
    number = services.open_case(p, "queja", INTAKE).number
    accounts.create_user(
        p, "agente2", "Beto Agente", "demo311", ["agente_311"], min_password=1
    )
    base = live_server

    login(page, base, "agente")
    page.get_by_role("link", name="Sin asignar").click()
    row = page.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("Sin asignar")
    row.get_by_role("button", name="Tomar").click()
    expect(page.get_by_role("status").first).to_contain_text("Tomó la tarea")
    expect(page.get_by_role("row").filter(has_text=number)).to_have_count(0)
    page.get_by_role("link", name="Mis tareas 1").click()
    expect(page.get_by_role("row").filter(has_text=number)).to_contain_text(
        "Ana Agente"
    )
    check_a11y(page, "inbox-mine")
    logout(page)

    login(page, base, "supervisor")
    page.goto(f"{base}/tareas?tab=role")
    expect(page.get_by_role("row").filter(has_text=number)).to_have_count(0)
    page.goto(f"{base}/casos/{number}")
    page.get_by_role("link", name="Clasificar la queja").first.click()
    expect(page.locator("#asignada")).to_contain_text("Ana Agente")
    page.get_by_label("Persona", exact=True).select_option(label="Beto Agente")
    page.get_by_role("button", name="Asignar").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Tarea asignada a Beto Agente."
    )
    expect(page.locator("#asignada")).to_contain_text("Asignada a Beto Agente")
    check_a11y(page, "task-reassigned")
    shot(page, "task-reassign-desktop")
    page.goto(f"{base}/casos/{number}")
    expect(page.locator(".timeline")).to_contain_text("Tarea tomada")
    expect(page.locator(".timeline")).to_contain_text("Tarea asignada a Beto Agente")
    logout(page)

    page.get_by_role("link", name="Ingresar").click()
    page.get_by_label("Usuario").fill("agente2")
    page.get_by_label("Contraseña").fill("demo311")
    page.get_by_role("button", name="Ingresar").click()
    mine = page.get_by_role("link", name="Mis tareas 1")
    expect(mine).to_have_attribute("aria-current", "page")
    row = page.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("Beto Agente")
    shot(page, "inbox-mine-desktop")

    # On a phone the rows are cards: nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the inbox is {width}px wide at 390px"
    check_a11y(page, "inbox-mobile")
    shot(page, "inbox-mine-mobile")
    row.get_by_role("link", name="Clasificar la queja").click()
    shot(page, "task-mobile")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the task page is {width}px wide at 390px"
