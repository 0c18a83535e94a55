"""The citizen's side in a real Chromium, fed by real mail (issue 11).

The citizen files a queja with an email; the receipt arrives over SMTP with
a one-time link that opens the case without typing the code. MINSA asks a
question: the mail's link opens the question above the answer box. MINSA
answers: the mail's link opens the answer, which the citizen rates. Every
tracking page is checked with axe-core at 390 px and 1280 px.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.conftest import work
from tests.e2e.conftest import at_both_widths, mail_text
from tests.engine.test_mail_delivery import Inbox
from webapp.cli import worker_pass

QUESTION = "¿En qué centro de salud le negaron la cita, y qué día?"
REPLY = "En el centro de salud de Juan Díaz, el martes 27."
ANSWER = (
    "Gracias por avisarnos. Desde el lunes el centro de salud de Juan Díaz "
    "abre la agenda de medicina general a las 7:00 a. m."
)


def delivered(app: Any, inbox: Inbox) -> tuple[str, str]:
    """Run the worker once; (subject, plain text) of the one new message."""
    before = len(inbox.messages)
    worker_pass(app)
    assert len(inbox.messages) == before + 1
    _, raw = inbox.messages[-1]
    return mail_text(raw)


def link_in(text: str, base: str) -> str:
    """The one-time link in a mail's text (it points at PUBLIC_URL)."""
    found = re.search(rf"{re.escape(base)}/seguimiento/enlace/[A-Za-z0-9_-]+", text)
    assert found, text
    return found.group(0)


def test_from_the_receipt_mail_to_the_rating(
    live_server: str, browser: Any, app: Any, smtp: Inbox
) -> None:
    """Receipt mail → case without the code → question → answer → rating."""
    base = live_server
    app.extensions["centro311"].public_url = base

    # The citizen files on the web, leaving an email.
    filing = browser.new_context(bypass_csp=True, locale="es-PA")
    page = filing.new_page()
    page.goto(f"{base}/casos/nuevo/queja")
    page.get_by_label("Categoría").select_option("salud")
    page.get_by_label("Asunto").fill("Sin citas de medicina general")
    page.get_by_label("Descripción").fill(
        "Desde hace un mes no dan citas de medicina general en la mañana."
    )
    page.get_by_label("Correo electrónico").fill("vecina@example.pa")
    page.get_by_role("button", name="Enviar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
    number = page.locator("#numero-caso").inner_text().strip()
    code = page.locator("#codigo-acceso").inner_text().strip()
    # "Consultar este caso" opens it right away, no code typed.
    page.get_by_role("link", name="Consultar este caso").click()
    expect(page.locator("#estado-publico")).to_have_text("En revisión por el 311")
    filing.close()

    # The receipt arrives by mail with the number, the code and a link.
    subject, text = delivered(app, smtp)
    assert number in subject and code in text
    receipt_link = link_in(text, base)

    # On another device (a fresh browser) the link opens the case.
    phone = browser.new_context(bypass_csp=True, locale="es-PA")
    page = phone.new_page()
    page.goto(receipt_link)
    expect(
        page.get_by_role("heading", level=2, name=re.compile(number))
    ).to_be_visible()
    expect(page.locator("#siguiente-paso")).to_contain_text("el 311 revisa su caso")
    expect(page.get_by_text("Sin citas de medicina general")).to_be_visible()
    at_both_widths(page, "tracking-received")
    # The link worked once: opening it again asks for the code.
    page.goto(receipt_link)
    expect(page.get_by_role("alert")).to_contain_text("ya se usó o venció")
    expect(page.get_by_label("Número de caso")).to_have_value(number)
    at_both_widths(page, "tracking-used-link")

    # The 311 routes it to MINSA, which acknowledges and asks a question.
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )
    work(app, "enlace.minsa", "Acusar recibo", {}, number)
    worker_pass(app)  # the status mails of those steps
    smtp.messages.clear()
    work(
        app,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "pedir_informacion", "pregunta": QUESTION},
        number,
    )
    subject, text = delivered(app, smtp)
    assert "pregunta" in subject and QUESTION in text

    # The question mail's link opens the question above the answer box.
    page.goto(link_in(text, base))
    task = page.get_by_role("region", name="La entidad le pregunta")
    expect(task).to_contain_text(QUESTION)
    expect(page.locator(".step.is-waiting")).to_contain_text("Esperando su respuesta")
    expect(page.locator(".step-respondido")).to_contain_text("pendiente")
    at_both_widths(page, "tracking-question")
    task.get_by_label("Su respuesta").fill(REPLY)
    task.get_by_role("button", name="Enviar respuesta").click()
    expect(page.get_by_role("status").first).to_contain_text("Gracias")
    expect(page.locator(".timeline")).to_contain_text(REPLY)
    expect(page.locator("#siguiente-paso")).to_contain_text(
        "La entidad debe responder antes del"
    )
    at_both_widths(page, "tracking-answered-question")

    # MINSA answers; the mail carries the answer and a link to rate it.
    worker_pass(app)  # the status mail of the citizen's reply
    smtp.messages.clear()
    work(
        app,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "responder", "respuesta": ANSWER},
        number,
    )
    subject, text = delivered(app, smtp)
    assert "respuesta" in subject and ANSWER in text
    page.goto(link_in(text, base))
    rating = page.get_by_role("region", name="Califique la respuesta")
    expect(rating).to_contain_text(ANSWER)
    at_both_widths(page, "tracking-rate")
    rating.get_by_role("radio", name="4 — Satisfecho").check()
    rating.get_by_role("button", name="Enviar respuesta").click()
    expect(page.get_by_role("status").first).to_contain_text("Gracias")
    expect(page.locator("#estado-publico")).to_have_text("Cerrada")
    expect(page.locator(".timeline")).to_contain_text("4 — Satisfecho")
    at_both_widths(page, "tracking-closed")
    phone.close()
