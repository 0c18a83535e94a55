"""Deactivating an entity with open cases in a real Chromium: the page
asks where they go, offering the entities answering its categories first;
the chosen one receives them. The page passes axe and fits 390 px."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from engine import services
from engine.services import entities
from engine.store.models import Case
from tests.e2e.conftest import admin_signs_in, check_a11y, shot
from tests.engine.test_scenarios import who

VIAS = {
    "categoria": "vias",
    "asunto": "Hueco en la vía",
    "descripcion": "Hay un hueco enorme frente a la escuela desde hace un mes.",
}


def test_an_entity_with_open_cases_is_deactivated_moving_them(
    app: Any, live_server: str, page: Any
) -> None:
    """MOP (vías) has two open cases: MUPA (vías too) is offered first;
    confirming moves both to MUPA and lists MOP as inactive."""
    p = app.extensions["centro311"]
    admin = who(p, "admin")
    for code, keys in (("MOP", ["vias"]), ("MUPA", ["vias", "basura"])):
        name = entities.get_entity(p, admin, code).name
        entities.edit_entity(p, admin, code, {"name": name, "categories": keys})
    agent = who(p, "agente")
    numbers = [
        services.open_case(
            p, "queja", VIAS, actor=agent, channel="phone", entity_code="MOP"
        ).number
        for _ in range(2)
    ]
    admin_signs_in(page, live_server)
    page.get_by_role("link", name="MOP", exact=True).click()
    expect(page.locator("#activacion")).to_contain_text("MOP tiene 2 casos abiertos")
    picker = page.get_by_label("Entidad que recibe los casos")
    expect(picker.locator("optgroup").first).to_have_attribute(
        "label", "Atienden las mismas categorías"
    )
    expect(picker.locator("option").nth(1)).to_have_text(
        "MUPA — Municipio de Panamá (vias)"
    )
    check_a11y(page, "admin-entity-transfer")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "admin-entity-transfer-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1200, "height": 900})

    page.get_by_role("button", name="Transferir 2 casos y desactivar MOP").click()
    expect(page).to_have_url(f"{live_server}/admin/entidades/MOP")
    expect(page.get_by_role("status").first).to_contain_text(
        "elija la entidad que los recibirá"
    )
    picker.select_option("MUPA")
    page.get_by_role("button", name="Transferir 2 casos y desactivar MOP").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Entidad MOP desactivada: 2 casos pasaron a MUPA."
    )
    shot(page, "admin-entity-transferred")
    with p.db.read() as s:
        moved = s.scalars(select(Case.entity_code).where(Case.number.in_(numbers)))
        assert list(moved) == ["MUPA", "MUPA"]
