"""Admin pages in a real Chromium: a supervisor is deactivated while logged
in, and their open session stops working on their next request; the task
they held goes back to the queue. The admin pages pass axe."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from engine.store.models import HumanTask
from tests.e2e.conftest import (
    check_a11y,
    deactivate_signed_in_supervisor,
    shot,
    supervisor_holds_a_case,
)

INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua en la vía",
    "descripcion": "Hay una fuga de agua potable frente a la escuela desde el lunes.",
}


def test_a_deactivated_supervisor_is_logged_out_at_once(
    app: Any, live_server: str, browser: Any
) -> None:
    """Two browsers: the supervisor holds a task; the admin deactivates them
    on /admin/usuarios; the supervisor's next click lands on the login page."""
    p = app.extensions["centro311"]
    number, task_id = supervisor_holds_a_case(p, INTAKE)
    deactivate_signed_in_supervisor(browser, live_server, number)
    with p.db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id is None


def test_an_admin_gives_an_enlace_several_entities_with_checkboxes(
    app: Any, live_server: str, page: Any
) -> None:
    """The person page lists the entities as labelled checkboxes; the enlace
    of IDAAN and MIVIOT loses MIVIOT and gains MOP; unticking every one is
    refused beside the field, keeping the rest of the form. Passes axe."""
    page.goto(f"{live_server}/ingresar")
    page.get_by_label("Usuario").fill("admin")
    page.get_by_label("Contraseña").fill("demo311")
    page.get_by_role("button", name="Ingresar").click()
    page.get_by_role("link", name="Personas").click()
    row = page.locator("#persona-enlace\\.vivienda")
    expect(row).to_contain_text("IDAAN, MIVIOT")
    row.get_by_role("link", name="Irene Enlace (IDAAN y MIVIOT)").click()
    group = page.get_by_role("group", name="Entidades (enlaces)")
    expect(group.get_by_role("checkbox", name="IDAAN", exact=False)).to_be_checked()
    miviot = group.get_by_role("checkbox", name="MIVIOT", exact=False)
    expect(miviot).to_be_checked()
    check_a11y(page, "admin-person-entities")
    shot(page, "admin-person-entities")
    miviot.uncheck()
    group.get_by_role("checkbox", name="MOP —", exact=False).check()
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator("#persona-enlace\\.vivienda")).to_contain_text("IDAAN, MOP")

    page.locator("#persona-enlace\\.vivienda").get_by_role("link").click()
    for box in group.get_by_role("checkbox").all():
        box.uncheck()
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator("#entidad-error")).to_contain_text(
        "Un enlace debe representar al menos a una entidad."
    )
    expect(page.get_by_label("Nombre completo")).to_have_value(
        "Irene Enlace (IDAAN y MIVIOT)"
    )
    shot(page, "admin-person-entities-refused")
