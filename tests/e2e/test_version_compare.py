"""The version comparison in a real Chromium: both diagrams drawn side by
side with the changed elements marked, and the page accessible."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_designer import login
from tests.webapp.test_version_compare import deploy_second_version


def test_both_diagrams_mark_what_changed(app: Any, live_server: str, page: Any) -> None:
    """Version 2 renamed a task and changed the start event: on both
    drawings those two elements carry the "changed" marker, nothing is
    marked added or removed, and axe-core finds no violation."""
    deploy_second_version(app)
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, base, "disenador", "/diseno")
    page.goto(f"{base}/diseno/queja/v/2")
    page.get_by_role("link", name="Comparar con la versión 1 en el diagrama").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Versión 1 frente a versión 2"
    )
    for side in ("antes", "despues"):
        viewer = page.locator(f'section[aria-labelledby="{side}"] .bpmn-canvas')
        expect(viewer).to_have_class("bpmn-canvas is-ready")
        changed = viewer.locator(".djs-element.diff-cambiado")
        expect(changed).to_have_count(2)
        ids = sorted(changed.evaluate_all("els => els.map(e => e.dataset.elementId)"))
        assert ids == ["clasificar_caso", "inicio"]
        assert viewer.locator(".diff-anadido, .diff-quitado").count() == 0
    expect(page.locator("#cambios-formularios")).to_contain_text("barrio")
    expect(page.locator("#cambios-tablas")).to_contain_text('"MOP"')
    check_a11y(page, "version-compare")
    shot(page, "designer-version-compare")
    assert errors == []


def test_bulk_move_from_the_browser(app: Any, live_server: str, page: Any) -> None:
    """Two open cases on version 1 (one classified, one waiting to be
    classified), version 2 moves classification to the supervisor: the
    designer moves "all that can" of version 1 and reads, case by case,
    that one moved and why the other did not."""
    from engine import services
    from tests.engine.test_case_moves import classification_goes_to_the_supervisor
    from tests.engine.test_design import INTAKE
    from tests.engine.test_scenarios import accept

    p = app.extensions["centro311"]
    moved = services.open_case(p, "queja", INTAKE).number
    stays = services.open_case(p, "queja", INTAKE).number
    accept(p, moved)
    classification_goes_to_the_supervisor(p)
    base = live_server
    login(page, base, "disenador", "/diseno")
    page.goto(f"{base}/diseno/queja/v/2/trasladar")
    expect(page.locator("#en-bloque")).to_be_visible()
    check_a11y(page, "move-cases")
    shot(page, "designer-move-cases")
    page.get_by_role(
        "button", name="Trasladar los que se puedan de la versión 1"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Traslado de la versión 1 a la versión 2"
    )
    rows = page.locator("#informe tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=moved)).to_contain_text("Trasladado")
    expect(rows.filter(has_text=stays)).to_contain_text("No se trasladó")
    expect(page.get_by_role("status")).to_contain_text("1 trasladado")
    check_a11y(page, "move-report")
    shot(page, "designer-move-report")
