"""Forms that always work, in a real Chromium: a new case type with a
required yes/no (the tree-pruning request) deployed with zero code, filed
with a native date input, and its *no* branch run by an agent after an
error summary that takes the focus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from engine import services
from engine.bundles.reading import read_bundle_dir
from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_queja_flow import login, open_task, track

PODA = Path(__file__).resolve().parents[1] / "fixtures" / "bundles" / "poda"
ANSWER = "El árbol está en propiedad privada: la poda le corresponde al dueño."


def test_a_required_yes_no_can_be_answered_no(
    live_server: str, page: Any, app: Any
) -> None:
    """Sí/No radios with no default; "No" closes the case as the diagram says."""
    base = live_server
    services.deploy_version(
        app.extensions["centro311"], read_bundle_dir(PODA), deployed_by="tests"
    )

    page.goto(f"{base}/casos/nuevo/poda")
    page.get_by_label("Asunto").fill("Rama sobre los cables")
    page.get_by_label("Dirección").fill("Calle 50, frente al banco")
    observed = page.get_by_label("Desde cuándo lo nota")
    assert observed.get_attribute("type") == "date"
    observed.fill("2026-11-02")
    page.get_by_role("button", name="Enviar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
    number = page.locator("#numero-caso").inner_text().strip()
    code = page.locator("#codigo-acceso").inner_text().strip()

    login(page, base, "agente")
    open_task(page, "Evaluar la solicitud de poda", number)
    question = page.get_by_role("group", name="¿La solicitud procede?")
    yes, no = (
        question.get_by_role("radio", name="Sí"),
        question.get_by_role("radio", name="No"),
    )
    expect(yes).not_to_be_checked()
    expect(no).not_to_be_checked()
    assert (
        page.get_by_label("Fecha y hora de la visita").get_attribute("type")
        == "datetime-local"
    )

    # Nothing answered: the summary takes the focus and links to each field.
    page.get_by_role("button", name="Completar tarea").click()
    summary = page.locator("#resumen-errores")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(2)
    check_a11y(page, "form-error-summary")
    shot(page, "forms-01-summary")
    summary.get_by_role("link", name="¿La solicitud procede?").click()
    expect(page.locator("#procede-0")).to_be_focused()

    no.check()
    page.get_by_label("Respuesta al ciudadano").fill(ANSWER)
    page.get_by_role("button", name="Completar tarea").click()
    expect(page).to_have_url(f"{base}/tareas")

    track(page, base, number, code)
    expect(page.locator("#estado-publico")).to_have_text("No procede")
    expect(page.get_by_text(ANSWER)).to_be_visible()
    shot(page, "forms-02-no-branch")
