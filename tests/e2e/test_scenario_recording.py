"""A designer saves a practice case as a process test, in a real Chromium,
and sees it pass on the new draft's scenario page."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_designer import login
from tests.webapp.test_scenario_recording_web import URL, practice_case


def test_save_a_practice_case_as_a_scenario(
    app: Any, live_server: str, page: Any
) -> None:
    """Practice page → name → saved in draft 2 → its scenarios passed."""
    number = practice_case(app)
    base = live_server
    login(page, base, "disenador", "/diseno")
    page.goto(f"{base}{URL}")
    row = page.locator("#tabla-practica tbody tr", has_text=number)
    row.get_by_label("Nombre del escenario").fill("Clasificada en práctica")
    check_a11y(page, "practice-record")
    shot(page, "designer-practice-record")
    row.get_by_role("button", name="Guardar como escenario").click()
    expect(page).to_have_url(f"{base}/diseno/queja/v/2/escenarios")
    expect(page.get_by_role("status").first).to_contain_text(
        "Se guardó el escenario «Clasificada en práctica» en el borrador 2"
    )
    expect(page.locator("main")).to_contain_text("Clasificada en práctica")
    check_a11y(page, "scenario-results-recorded")
    shot(page, "designer-scenario-recorded")
