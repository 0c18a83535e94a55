"""Sign-in in a real Chromium: a new enlace gets an invitation by mail (a
local SMTP server), chooses a password, enrols TOTP and signs in with a
code the test computes, on a desktop window and a phone-sized one."""

from __future__ import annotations

import time
from email import message_from_string
from email.policy import default as default_policy
from typing import Any

import pyotp
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from engine.services import accounts, signin
from tests.conftest import DEMO_PASSWORD, must_search
from tests.e2e.conftest import check_a11y, shot
from tests.engine.test_mail_delivery import Inbox, free_port
from webapp.cli import worker_pass

PASSWORD = "cinco patos cruzan el canal"


@pytest.fixture
def smtp(app: Any) -> Any:
    """A local SMTP server the app's worker sends to."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield inbox
    controller.stop()


def mailed_link(inbox: Inbox, base: str) -> str:
    """The sign-in link of the one message received, on the live server."""
    ((recipients, raw),) = inbox.messages
    assert recipients == ["nora@mop.gob.pa"]
    part = message_from_string(raw, policy=default_policy).get_body()
    assert part is not None
    body = part.get_content()
    path = must_search(r"https?://[^/\s]+(/ingresar/invitacion/\S+)", body).group(1)
    return base + path


def test_invited_enlace_sets_password_enrols_totp_and_signs_in(
    app: Any, live_server: str, page: Any, smtp: Inbox
) -> None:
    """Invitation → password → TOTP enrolment → sign-in with a code."""
    p = app.extensions["centro311"]
    base = live_server
    created = accounts.create_user(
        p,
        "nora.mop",
        "Nora Enlace (MOP)",
        None,
        ["enlace"],
        entity_codes=["MOP"],
        email="nora@mop.gob.pa",
    )
    admin = accounts.authenticate(p, "admin", DEMO_PASSWORD, client="e2e")
    signin.invite_user(p, admin, created.id)
    assert worker_pass(app) == (0, 1)
    link = mailed_link(smtp, base)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenida al Centro 311"
    )
    check_a11y(page, "signin-invitation")
    page.get_by_label("Contraseña nueva", exact=True).fill("password1234")
    page.get_by_label("Repita la contraseña nueva").fill("password1234")
    page.get_by_role("button", name="Guardar la contraseña").click()
    expect(page.locator("#nueva-error")).to_contain_text("más usadas")
    check_a11y(page, "signin-invitation-error")
    page.get_by_label("Contraseña nueva", exact=True).fill(PASSWORD)
    page.get_by_label("Repita la contraseña nueva").fill(PASSWORD)
    page.get_by_role("button", name="Guardar la contraseña").click()
    expect(page).to_have_url(f"{base}/ingresar")
    expect(page.get_by_role("status").first).to_contain_text("Contraseña guardada")

    page.get_by_label("Usuario").fill("nora.mop")
    page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    expect(page).to_have_url(f"{base}/tareas")
    page.get_by_role("link", name="Nora Enlace (MOP)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mi cuenta")
    check_a11y(page, "signin-account")
    page.get_by_role("link", name="Activar la verificación en dos pasos").click()
    secret = page.locator("#clave-secreta").inner_text()
    expect(page.locator(".qr svg")).to_be_visible()
    check_a11y(page, "signin-enrol")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "signin-enrol-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1200, "height": 900})
    totp = pyotp.TOTP(secret)
    page.get_by_label("Código de la aplicación").fill(totp.now())
    page.get_by_role("button", name="Activar").click()
    expect(page).to_have_url(f"{base}/cuenta/codigos")
    expect(page.locator("#codigos-recuperacion li")).to_have_count(10)
    check_a11y(page, "signin-recovery-codes")
    page.get_by_role("link", name="Ya los guardé").click()
    page.get_by_role("button", name="Salir").click()

    page.goto(f"{base}/ingresar")
    page.get_by_label("Usuario").fill("nora.mop")
    page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    expect(page).to_have_url(f"{base}/ingresar/codigo")
    check_a11y(page, "signin-code")
    # The enrolment used the current step's code: a replay would be
    # refused, so sign in with the next step's (phones run a little ahead).
    page.get_by_label("Código").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verificar").click()
    expect(page).to_have_url(f"{base}/tareas")
    expect(page.get_by_role("link", name="Nora Enlace (MOP)")).to_be_visible()
