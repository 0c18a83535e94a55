"""Admin pages in a real Chromium: a supervisor is deactivated while logged
in, and their open session stops working on their next request; the task
they held goes back to the queue. The admin pages pass axe."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from engine import services
from engine.services import accounts
from engine.store.models import HumanTask, User
from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_queja_flow import login

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
    number = services.open_case(p, "queja", INTAKE).number
    with p.db.read() as s:
        sup = accounts.actor_from_user(
            s.scalars(select(User).where(User.username == "supervisor")).one()
        )
        task_id = s.scalars(select(HumanTask.id)).one()
    services.claim_task(p, sup, task_id)
    base = live_server
    contexts = [
        browser.new_context(
            bypass_csp=True, viewport={"width": 1200, "height": 900}, locale="es-PA"
        )
        for _ in range(2)
    ]
    try:
        sup_page, admin_page = (c.new_page() for c in contexts)
        login(sup_page, base, "supervisor")
        expect(sup_page.get_by_role("row").filter(has_text=number)).to_be_visible()

        admin_page.goto(f"{base}/ingresar")
        admin_page.get_by_label("Usuario").fill("admin")
        admin_page.get_by_label("Contraseña").fill("demo311")
        admin_page.get_by_role("button", name="Ingresar").click()
        expect(admin_page).to_have_url(f"{base}/admin/entidades")
        check_a11y(admin_page, "admin-entities")
        admin_page.get_by_role("link", name="Personas").click()
        check_a11y(admin_page, "admin-people")
        row = admin_page.get_by_role("row").filter(has_text="Sergio Supervisor")
        expect(row).to_contain_text("1")  # the task they hold
        row.get_by_role("link", name="Sergio Supervisor").click()
        check_a11y(admin_page, "admin-person")
        admin_page.get_by_role("button", name="Desactivar a Sergio Supervisor").click()
        expect(admin_page.get_by_role("status").first).to_contain_text(
            "sus sesiones terminaron y 1 tarea volvió a su cola"
        )
        shot(admin_page, "admin-people-deactivated")

        sup_page.get_by_role("link", name="Buscar casos").click()
        expect(sup_page).to_have_url(f"{base}/ingresar?next=%2Fbuscar")
        expect(sup_page.get_by_role("link", name="Buscar casos")).to_have_count(0)

        admin_page.get_by_role("link", name="Auditoría").first.click()
        table = admin_page.locator("#auditoria")
        expect(table).to_contain_text("Persona desactivada")
        expect(table).to_contain_text("Tarea liberada")
        check_a11y(admin_page, "admin-audit")
        shot(admin_page, "admin-audit")
    finally:
        for c in contexts:
            c.close()
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
