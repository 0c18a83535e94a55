"""The citizen's pages in Spanish and English, on a phone and on a desktop.

1. Every citizen page (home, the intake form of each case type with and
   without errors, the receipt, tracking: look-up, wrong code, the case with
   a question waiting for the citizen) has no axe-core violation, in both
   languages, 390 and 1280 pixels wide; in English the bundle's own texts
   (titles, labels, statuses, milestones, the citizen's task) are English.
2. Forms are checked in the browser with the server's messages: the same
   summary and the same messages beside the fields as the server gives with
   JavaScript off, without sending anything; leaving a field checks it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import work
from tests.e2e.conftest import check_a11y, shot

pytestmark = pytest.mark.e2e

CASE_TYPES = ("queja", "denuncia", "sugerencia", "consulta")
WIDTHS = (390, 1280)
ASUNTO = "Centro de salud sin atención"
DESCRIPCION = "El centro de salud de Juan Díaz cerró a las 3:00 p. m. sin aviso."


@pytest.fixture
def contexts(browser: Any) -> Iterator[Any]:
    """New browser contexts on demand (width, JavaScript), closed at the end."""
    made: list[Any] = []

    def new(width: int = 1280, *, javascript: bool = True) -> Any:
        context = browser.new_context(
            bypass_csp=True,
            viewport={"width": width, "height": 900},
            locale="es-PA",
            java_script_enabled=javascript,
        )
        made.append(context)
        return context.new_page()

    yield new
    for context in made:
        context.close()


def choose_language(page: Any, base: str, lang: str) -> None:
    """Open the home page and switch to ``lang`` with the header button."""
    page.goto(f"{base}/")
    if lang == "en":
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")


def checked(page: Any, name: str) -> None:
    """axe-core on the page, and its screenshot."""
    check_a11y(page, name)
    shot(page, name)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ["es", "en"])
def test_citizen_pages_in_both_languages(
    app: Any, live_server: str, contexts: Any, lang: str, width: int
) -> None:
    """No axe violation on any citizen page; the bundle's texts follow the
    language chosen."""
    base = live_server
    page = contexts(width)
    en = lang == "en"
    tag = f"{lang}-{width}"
    choose_language(page, base, lang)
    expect(
        page.get_by_role("heading", level=3, name="Complaint" if en else "Queja")
    ).to_be_visible()
    checked(page, f"languages-home-{tag}")

    for key in CASE_TYPES:
        page.goto(f"{base}/casos/nuevo/{key}")
        checked(page, f"languages-intake-{key}-{tag}")

    # Errors: found in the browser (JavaScript on), then by the server.
    page.goto(f"{base}/casos/nuevo/queja")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "File a complaint" if en else "Presentar una queja"
    )
    page.get_by_label("Email" if en else "Correo electrónico").fill("ana@")
    page.get_by_role("button", name="Submit" if en else "Enviar").click()
    expect(page.locator("#resumen-errores")).to_be_focused()
    checked(page, f"languages-intake-errors-{tag}")

    # A good filing: the receipt names the case type in the language.
    page.get_by_label("Category" if en else "Categoría").select_option("salud")
    page.get_by_label("Subject" if en else "Asunto").fill(ASUNTO)
    page.get_by_label("Description" if en else "Descripción").fill(DESCRIPCION)
    page.get_by_label("Email" if en else "Correo electrónico").fill("")
    page.get_by_role("button", name="Submit" if en else "Enviar").click()
    receipt = page.get_by_role("status")
    expect(receipt).to_contain_text("Complaint" if en else "Queja")
    expect(receipt).to_contain_text(
        "Under review by 311" if en else "En revisión por el 311"
    )
    checked(page, f"languages-confirmation-{tag}")
    number = page.locator("#numero-caso").inner_text().strip()
    code = page.locator("#codigo-acceso").inner_text().strip()

    # Tracking: the look-up, a wrong code, then the case waiting for the
    # citizen's answer to the entity's question.
    page.goto(f"{base}/seguimiento")
    checked(page, f"languages-track-{tag}")
    page.get_by_label("Case number" if en else "Número de caso").fill(number)
    page.get_by_label("Access code" if en else "Código de acceso").fill("NOPE-NOPE")
    page.get_by_role("button", name="Check" if en else "Consultar").click()
    expect(page.get_by_role("alert")).to_be_visible()
    checked(page, f"languages-track-wrong-{tag}")

    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )
    work(app, "enlace.minsa", "Acusar recibo", {}, number)
    work(
        app,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "pedir_informacion", "pregunta": "¿Qué medicamento le faltó?"},
        number,
    )
    page.get_by_label("Case number" if en else "Número de caso").fill(number)
    page.get_by_label("Access code" if en else "Código de acceso").fill(code)
    page.get_by_role("button", name="Check" if en else "Consultar").click()
    expect(page.locator("#estado-publico")).to_have_text(
        "Waiting for information from you"
        if en
        else "Esperando información del ciudadano"
    )
    task = page.locator(".citizen-task")
    # The question heads the answer box; the form bears the task's name.
    expect(task.get_by_role("heading", level=3)).to_contain_text(
        "The entity asks you" if en else "La entidad le pregunta"
    )
    expect(
        task.get_by_role(
            "form",
            name="Answer the entity's question"
            if en
            else "Responder la consulta de la entidad",
        )
    ).to_be_visible()
    if en:
        expect(task.get_by_label("Your answer")).to_be_visible()
        expect(page.locator(".timeline")).to_contain_text("Question for you")
    checked(page, f"languages-track-case-{tag}")
    # The answer sent empty: the browser says so beside the field.
    task.locator("button[type=submit]").click()
    expect(page.locator("#resumen-errores")).to_be_focused()
    checked(page, f"languages-track-task-errors-{tag}")
    task.locator("textarea").fill("Losartán 50 mg.")
    task.locator("button[type=submit]").click()
    expect(page.get_by_role("status").first).to_be_visible()
    checked(page, f"languages-track-answered-{tag}")

    # The entity answers: the citizen rates the answer (radio buttons).
    work(
        app,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "responder", "respuesta": "Ya hay Losartán en la farmacia."},
        number,
    )
    page.reload()
    expect(page.locator("#estado-publico")).to_have_text(
        "Answered" if en else "Respondida"
    )
    survey = page.locator(".citizen-task")
    expect(survey.get_by_role("heading", level=3)).to_contain_text(
        "Rate the answer" if en else "Califique la respuesta"
    )
    expect(
        survey.get_by_role(
            "form", name="Rate the service" if en else "Calificar la atención"
        )
    ).to_be_visible()
    survey.locator("button[type=submit]").click()
    expect(page.locator("#resumen-errores")).to_be_focused()
    checked(page, f"languages-track-survey-errors-{tag}")
    survey.get_by_label("5 — Very satisfied" if en else "5 — Muy satisfecho").check()
    expect(page.locator("#calificacion-error")).to_have_count(0)
    checked(page, f"languages-track-survey-{tag}")

    # A page that does not exist.
    page.goto(f"{base}/casos/nuevo/no-existe")
    checked(page, f"languages-not-found-{tag}")


def summary_and_messages(page: Any) -> tuple[list[str], dict[str, str]]:
    """The error summary's lines and the message beside each field."""
    lines = [t.strip() for t in page.locator("#resumen-errores li").all_inner_texts()]
    beside = {}
    for found in page.locator("ul.field-errors").all():
        field = str(found.get_attribute("id")).removesuffix("-error")
        beside[field] = found.inner_text().strip()
    return sorted(lines), beside


def fill_badly(page: Any, en: bool) -> None:
    """A queja with a short subject, no description, a wrong email and phone."""
    page.get_by_label("Subject" if en else "Asunto").fill("ab")
    page.get_by_label("Email" if en else "Correo electrónico").fill("ana@")
    page.get_by_label("Phone" if en else "Teléfono").fill("123")
    page.get_by_role("button", name="Submit" if en else "Enviar").click()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_browser_says_what_the_server_says(
    live_server: str, contexts: Any, lang: str
) -> None:
    """With JavaScript the same summary and messages as without, and nothing
    is sent until the form is right."""
    base = live_server
    en = lang == "en"
    server_page = contexts(javascript=False)
    choose_language(server_page, base, lang)
    server_page.goto(f"{base}/casos/nuevo/queja")
    fill_badly(server_page, en)
    expect(server_page.locator("#resumen-errores")).to_be_visible()
    server_says = summary_and_messages(server_page)

    page = contexts()
    choose_language(page, base, lang)
    page.goto(f"{base}/casos/nuevo/queja")
    # The phone check needs its library: wait until the page has loaded it.
    page.wait_for_function("() => window.libphonenumber !== undefined")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    fill_badly(page, en)
    expect(page.locator("#resumen-errores")).to_be_focused()
    assert summary_and_messages(page) == server_says
    assert posts == []
    lines, beside = server_says
    assert set(beside) == {"categoria", "asunto", "descripcion", "correo", "telefono"}
    assert beside["asunto"] == (
        "Enter at least 3 characters." if en else "Escriba al menos 3 caracteres."
    )
    shot(page, f"languages-browser-check-{lang}")
    # The summary's links lead to their fields.
    page.locator("#resumen-errores a").first.click()
    expect(page.locator("#categoria")).to_be_focused()


def test_leaving_a_field_checks_it_again(live_server: str, contexts: Any) -> None:
    """A mistyped address is pointed out on leaving the field, and the
    message goes (from the field and the summary) once it is right; tabbing
    through an empty field says nothing."""
    base = live_server
    page = contexts()
    page.goto(f"{base}/casos/nuevo/queja")
    page.wait_for_function("() => window.libphonenumber !== undefined")
    page.get_by_label("Asunto").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#asunto-error")).to_have_count(0)
    email = page.get_by_label("Correo electrónico")
    email.fill("ana@correo")
    email.press("Tab")
    expect(page.locator("#correo-error")).to_have_text(
        "Escriba un correo electrónico válido."
    )
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute("aria-describedby", re.compile("correo-error"))
    phone = page.get_by_label("Teléfono")
    phone.fill("6123-4567")
    phone.press("Tab")
    expect(page.locator("#telefono-error")).to_have_count(0)
    page.get_by_role("button", name="Enviar").click()
    expect(page.locator("#resumen-errores li")).to_have_count(4)
    email.fill("ana@correo.pa")
    email.press("Tab")
    expect(page.locator("#correo-error")).to_have_count(0)
    expect(email).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#resumen-errores li")).to_have_count(3)
    # A choice made clears its own message at once.
    page.get_by_label("Categoría").select_option("agua")
    page.get_by_label("Categoría").press("Tab")
    expect(page.locator("#categoria-error")).to_have_count(0)
