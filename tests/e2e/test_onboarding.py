"""Onboarding a country in a real Chromium, as one chain (issue 10): an
admin imports 150 entities and 300 enlaces (a file the test makes), fixing
the row the dry run flagged; a new enlace from that file receives an
invitation mail (a local SMTP server), sets a password, enrols TOTP and
signs in with a code the test computes; a supervisor is deactivated and
their open session stops working on the next request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from engine.store.accounts import User, UserEntity
from engine.store.models import Entity, HumanTask
from tests.directory_fixture import directory_csv
from tests.e2e.conftest import (
    accept_invitation_and_enrol,
    admin_signs_in,
    deactivate_signed_in_supervisor,
    import_country,
    mailed_link,
    send_all_mail,
    supervisor_holds_a_case,
)
from tests.engine.test_mail_delivery import Inbox

PASSWORD = "siete garzas sobre el manglar"
INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua en la vía",
    "descripcion": "Hay una fuga de agua potable frente a la escuela desde el lunes.",
}


def test_import_invite_enrol_and_deactivate_in_one_chain(
    app: Any, live_server: str, page: Any, browser: Any, smtp: Inbox, tmp_path: Path
) -> None:
    """Import (flagged row fixed) → 300 invitations mailed → one enlace
    enrols TOTP and signs in with a computed code → the admin, still in the
    same browser session, deactivates a signed-in supervisor, who is out at
    the next request."""
    p = app.extensions["centro311"]
    base = live_server
    number, task_id = supervisor_holds_a_case(p, INTAKE)

    admin_signs_in(page, base)
    import_country(page, tmp_path / "pais.csv", directory_csv(150, 2))
    with p.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Entity)) == 161
        assert (
            s.scalar(
                select(func.count())
                .select_from(UserEntity)
                .where(UserEntity.entity_code.like("ENT%"))
            )
            == 300
        )
    page.get_by_role("link", name="Personas").click()
    expect(page.locator("#persona-enlace1\\.ent042")).to_contain_text(
        "Invitación pendiente"
    )

    assert send_all_mail(app) == 300
    link = mailed_link(smtp, base, "enlace1@ent42.gob.pa")
    enlace = browser.new_context(
        bypass_csp=True, viewport={"width": 1200, "height": 900}, locale="es-PA"
    )
    try:
        accept_invitation_and_enrol(
            enlace.new_page(),
            base,
            link,
            "enlace1.ent042",
            "Enlace 1 de la institución 42",
            PASSWORD,
        )
    finally:
        enlace.close()
    page.goto(f"{base}/admin/usuarios")
    expect(page.locator("#persona-enlace1\\.ent042")).not_to_contain_text(
        "Invitación pendiente"
    )

    deactivate_signed_in_supervisor(browser, base, number, admin_page=page)
    with p.db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id is None
        supervisor = s.scalars(select(User).where(User.username == "supervisor")).one()
        assert not supervisor.active
