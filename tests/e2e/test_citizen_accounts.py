"""Mis casos in a real Chromium, fed by real mail (issue 11, item 6).

A citizen has two quejas filed with her address: one filed for her (as an
agent would on the phone), one she files on the web. She asks for a sign-in
link on "Mis casos", reads it from the test SMTP server, opens it on another
device, sees both cases and opens one without typing its code. Every new
page (the form, its error summary, "Le enviamos un enlace", the list) passes
axe-core at 390 px and 1280 px, in Spanish and in English.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from engine import services
from tests.e2e.conftest import (
    at_both_widths,
    mail_text,
    send_all_mail,
)

ANA = "ana.perez@example.pa"
BY_PHONE = {
    "categoria": "vias",
    "asunto": "Hueco frente a la escuela",
    "descripcion": "Hay un hueco enorme frente a la escuela desde hace un mes.",
    "nombre": "Ana Pérez",
    "correo": ANA,
    "telefono": "6123-4567",
}


def sign_in_link(inbox: Any, base: str, subject_has: str) -> str:
    """The sign-in link of the newest message to Ana whose subject says
    ``subject_has`` (it points at PUBLIC_URL, the live server)."""
    for to, raw in reversed(inbox.messages):
        if to != [ANA]:
            continue
        subject, text = mail_text(raw)
        if subject_has in subject:
            found = re.search(
                rf"{re.escape(base)}/mis-casos/entrar/[A-Za-z0-9_-]+", text
            )
            assert found, text
            return found.group(0)
    raise AssertionError(f"no mail to {ANA} about {subject_has!r}")


def test_sign_in_by_mail_and_see_mis_casos(
    live_server: str, browser: Any, app: Any, smtp: Any
) -> None:
    """Two cases, one link by mail, both cases listed, one opened codeless;
    then the same pages in English."""
    base = live_server
    p = app.extensions["centro311"]
    p.public_url = base
    by_phone = services.open_case(p, "queja", BY_PHONE).number

    # Ana files a second queja on the web, leaving her address.
    laptop = browser.new_context(bypass_csp=True, locale="es-PA")
    page = laptop.new_page()
    page.goto(f"{base}/casos/nuevo/queja")
    page.get_by_label("Categoría").select_option("salud")
    page.get_by_label("Asunto").fill("Sin citas de medicina general")
    page.get_by_label("Descripción").fill(
        "Desde hace un mes no dan citas de medicina general en la mañana."
    )
    page.get_by_label("Correo electrónico").fill("Ana.Perez@example.pa")
    page.get_by_role("button", name="Enviar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
    on_the_web = page.locator("#numero-caso").inner_text().strip()

    # "Mis casos" in the header: one field; a bad address is named in the
    # error summary and kept.
    page.get_by_role("link", name="Mis casos").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mis casos")
    at_both_widths(page, "mis-casos-form")
    page.get_by_label("Correo electrónico").fill("ana en example.pa")
    page.get_by_role("button", name="Enviarme el enlace").click()
    summary = page.locator("#resumen-errores")
    expect(summary).to_contain_text(
        "Correo electrónico: Escriba un correo electrónico válido."
    )
    expect(page.get_by_label("Correo electrónico")).to_have_value("ana en example.pa")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_attribute("href", "#correo")
    at_both_widths(page, "mis-casos-form-error")
    page.get_by_label("Correo electrónico").fill(ANA)
    page.get_by_role("button", name="Enviarme el enlace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Le enviamos un enlace")
    expect(page.get_by_role("status")).to_contain_text("en unos minutos recibirá")
    at_both_widths(page, "mis-casos-sent")
    laptop.close()

    # The link arrives over SMTP; on her phone it signs her in, once.
    send_all_mail(app)
    link = sign_in_link(smtp, base, "Mis casos")
    phone = browser.new_context(bypass_csp=True, locale="es-PA")
    page = phone.new_page()
    page.goto(link)
    expect(page).to_have_url(f"{base}/mis-casos")
    expect(page.locator("#correo-confirmado")).to_contain_text(ANA)
    rows = page.locator("#mis-casos tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(on_the_web)
    expect(rows.nth(0)).to_contain_text("Sin citas de medicina general")
    expect(rows.nth(1)).to_contain_text(by_phone)
    expect(rows.nth(1)).to_contain_text("En revisión por el 311")
    at_both_widths(page, "mis-casos-list")

    # A case opens without its code.
    page.get_by_role("link", name=by_phone).click()
    expect(page).to_have_url(f"{base}/seguimiento?numero={by_phone}")
    expect(
        page.get_by_role("heading", level=2, name=re.compile(by_phone))
    ).to_be_visible()
    expect(page.locator("#estado-publico")).to_have_text("En revisión por el 311")
    expect(page.get_by_label("Código de acceso")).to_have_count(0)

    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("ya se usó o venció")

    # In English: the list, then signed out, the form, its errors, the
    # "sent" page and a new link.
    page.goto(f"{base}/mis-casos")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My cases")
    expect(page.locator("#mis-casos tbody tr").nth(1)).to_contain_text(
        "Under review by 311"
    )
    at_both_widths(page, "mis-casos-list-en")
    page.get_by_role("button", name="Sign out of My cases").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "You signed out of My cases."
    )
    expect(page.get_by_role("link", name="My cases")).to_be_visible()
    at_both_widths(page, "mis-casos-form-en")
    page.get_by_role("button", name="Send me the link").click()
    expect(page.locator("#resumen-errores")).to_contain_text(
        "Email: Enter your email address."
    )
    at_both_widths(page, "mis-casos-form-error-en")
    page.get_by_label("Email").fill(ANA)
    page.get_by_role("button", name="Send me the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("We sent you a link")
    at_both_widths(page, "mis-casos-sent-en")
    send_all_mail(app)
    page.goto(sign_in_link(smtp, base, "My cases"))
    expect(page.locator("#mis-casos tbody tr")).to_have_count(2)
    phone.close()
