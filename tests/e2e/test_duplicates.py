"""Three reports of one leak (DOMAIN scenario 7) in a real Chromium.

Three citizens file the same leak on the web, each with an email. At
triage the agent sees the other two as likely duplicates and merges them
under the first; MINSA answers the parent; the worker's mail reaches all
three reporters through a real SMTP server, and a duplicate's tracking
page shows the parent's answer. Pages checked with axe-core.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_queja_flow import complete, login, logout, open_task, track
from tests.engine.test_mail_delivery import Inbox
from webapp.cli import worker_pass

LEAK = "Una tubería rota bota agua potable frente a la escuela de la calle 50."
REPORTERS = ("ana@example.pa", "beto@example.pa", "carla@example.pa")
ANSWER = "La cuadrilla del IDAAN reparó la tubería de la calle 50 el martes."


def file_leak(page: Any, base: str, subject: str, email: str) -> tuple[str, str]:
    """A citizen files the leak with their email: (number, code)."""
    page.goto(f"{base}/casos/nuevo/queja")
    page.get_by_label("Categoría").select_option("agua")
    page.get_by_label("Asunto").fill(subject)
    page.get_by_label("Descripción").fill(LEAK)
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_role("button", name="Enviar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
    return (
        page.locator("#numero-caso").inner_text().strip(),
        page.locator("#codigo-acceso").inner_text().strip(),
    )


def test_three_reports_merged_one_answer_reaches_three_reporters(
    live_server: str, page: Any, app: Any, smtp: Inbox
) -> None:
    """Merge at triage; the parent's answer mails every reporter."""
    base = live_server
    subjects = ("Fuga de agua en la calle 50", "Tubería rota", "Agua botándose")
    filed = [
        file_leak(page, base, s, e) for s, e in zip(subjects, REPORTERS, strict=True)
    ]
    (parent, _), (second, second_code), (third, _) = filed
    worker_pass(app)  # the receipts go out
    smtp.messages.clear()

    login(page, base, "agente")
    open_task(page, "Clasificar la queja", parent)
    panel = page.get_by_role("region", name="Duplicados")
    expect(panel.get_by_role("heading", name="Posibles duplicados")).to_be_visible()
    for number in (second, third):
        panel.get_by_role("checkbox", name=re.compile(number)).check()
    panel.get_by_label(re.compile("Nota para los ciudadanos")).fill(
        "Vecinos reportaron la misma fuga; la atendemos en un solo caso."
    )
    check_a11y(page, "triage-duplicates")
    shot(page, "dup-01-triage")
    panel.get_by_role("button", name="Unir a este caso").click()
    expect(
        page.get_by_role("status").or_(page.get_by_role("alert")).first
    ).to_contain_text("Se unieron 2 casos")
    expect(panel.get_by_text("2 casos unidos a este")).to_be_visible()
    page.get_by_role("radio", name="Aceptar y asignar a una entidad").check()
    page.get_by_label("Entidad responsable").select_option("IDAAN")
    complete(page, base, parent)
    logout(page)

    login(page, base, "supervisor")
    page.goto(f"{base}/casos/{second}")
    expect(page.get_by_role("heading", name="Unido a otro caso")).to_be_visible()
    check_a11y(page, "merged-child")
    shot(page, "dup-02-child")
    logout(page)

    # IDAAN's enlace is created for the test: the demo has none.
    from engine.services import accounts

    accounts.create_user(
        app.extensions["centro311"],
        "enlace.idaan",
        "Iris Idaan",
        "demo311",
        ["enlace"],
        entity_codes=["IDAAN"],
        min_password=1,
    )
    login(page, base, "enlace.idaan")
    open_task(page, "Acusar recibo", parent)
    complete(page, base, parent)
    open_task(page, "Atender la queja", parent)
    page.get_by_role("radio", name="Responder al ciudadano").check()
    page.get_by_label("Respuesta al ciudadano").fill(ANSWER)
    complete(page, base, parent)
    logout(page)

    worker_pass(app)
    told = {
        to
        for recipients, text in smtp.messages
        for to in recipients
        if "Respondida" in text
    }
    assert told == set(REPORTERS)

    track(page, base, second, second_code)
    merged = page.get_by_role("region", name=re.compile(f"junto al caso {parent}"))
    expect(merged.get_by_text(ANSWER)).to_be_visible()
    expect(merged.get_by_text("Respondida").first).to_be_visible()
    check_a11y(page, "tracking-merged")
    shot(page, "dup-03-tracking")
