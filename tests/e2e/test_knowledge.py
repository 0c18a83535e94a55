"""The knowledge base in a real Chromium: a supervisor writes and publishes
an article; an agent files a consulta by phone, finds the article from the
intake page's panel and picks it, and the case closes at once; the citizen's
tracking page shows the answer and the article."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_queja_flow import login, logout

TITLE = "Cómo renovar el pasaporte"
BODY = (
    "El pasaporte se renueva **en línea** en el sitio de la Autoridad de "
    "Pasaportes.\n\n- Cita previa\n- Pago en banco"
)


def test_agent_answers_a_consulta_from_an_article(live_server: str, page: Any):
    """Write and publish; file by phone picking the article from the panel;
    closed at once; the tracking page shows the article."""
    base = live_server
    login(page, base, "supervisor")
    page.get_by_role("link", name="Conocimiento").click()
    page.get_by_role("link", name="Nuevo artículo").click()
    page.get_by_label("Título").fill(TITLE)
    page.get_by_label("Tema").fill("Trámites")
    page.get_by_label("Contenido").fill(BODY)
    page.get_by_role("button", name="Vista previa").click()
    expect(page.locator(".panel strong")).to_have_text("en línea")
    page.get_by_label("Publicar ya (los agentes lo verán)").check()
    page.get_by_role("button", name="Guardar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("#estado-articulo")).to_have_text("Publicado")
    check_a11y(page, "kb-article")
    shot(page, "kb-article-desktop")
    logout(page)

    login(page, base, "agente")
    page.goto(f"{base}/casos/nuevo/consulta")
    page.get_by_label("Canal por el que llega el caso").select_option("phone")
    page.get_by_label("Categoría").select_option("otro")
    page.get_by_label("Asunto").fill("Renovar el pasaporte")
    page.get_by_label("Su pregunta").fill("¿Dónde renuevo mi pasaporte vencido?")
    page.get_by_label("Buscar artículos").fill("Renovar PASAPORTE")
    page.get_by_role("region", name="Base de conocimiento").get_by_role(
        "button", name="Buscar", exact=True
    ).click()
    results = page.locator(".kb-panel-results")
    expect(results.get_by_role("link", name=TITLE)).to_be_visible()
    results.get_by_role("button", name="Usar este artículo").click()
    picked = page.get_by_label("Artículo que responde la consulta")
    expect(picked.locator("option:checked")).to_have_text(TITLE)
    page.get_by_label("Respuesta dada al ciudadano").fill(
        "Le indiqué que se renueva en línea con cita previa."
    )
    check_a11y(page, "kb-intake")
    shot(page, "kb-intake-desktop")
    page.get_by_role("button", name="Enviar", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
    number = page.locator("#numero-caso").inner_text().strip()
    code = page.locator("#codigo-acceso").inner_text().strip()
    logout(page)

    page.goto(f"{base}/seguimiento")
    page.get_by_label("Número de caso").fill(number)
    page.get_by_label("Código de acceso").fill(code)
    page.get_by_role("button", name="Consultar").click()
    expect(page.locator("#estado-publico")).to_have_text("Respondida")
    answer = page.get_by_role("region", name="El artículo que responde su consulta")
    expect(answer.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(answer.locator("strong")).to_have_text("en línea")
    expect(page.get_by_text("Le indiqué que se renueva en línea")).to_be_visible()
    expect(page.get_by_text("cerrado", exact=False).first).to_be_visible()
    check_a11y(page, "kb-tracking")
    shot(page, "kb-tracking-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at 390px"
    shot(page, "kb-tracking-mobile")
