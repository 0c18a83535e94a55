"""The intake's place in a real Chromium: address plus an optional map pin.

1. Keyboard only, at 1280 px and at 390 px, under the app's real
   Content-Security-Policy: the citizen types the queja, focuses the map,
   zooms with + and moves it with the arrows, pins its centre with "Usar el
   centro del mapa", attaches a photo through the file chooser opened with
   the space bar, and files; the case stores exactly the pinned point. The
   map tiles answer empty (tests never reach OpenStreetMap): the page says
   the map could not load and everything still works.
2. A second browser context with JavaScript disabled: no map, two plain
   coordinate fields; a point outside Panama is refused with everything
   typed kept, the corrected one is filed with a photo, and the tracking
   page shows the address and the point.
Pages are checked with axe-core (0 violations).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine import services
from engine.store.models import Attachment, Case
from tests.e2e.conftest import AXE, check_a11y, shot
from tests.e2e.test_queja_flow import DESCRIPCION, login, track
from tests.sample_files import plain_png

TILES = "https://tile.openstreetmap.org/**"
ADDRESS = "Calle 50, frente a la parada del Banco General"
#: Tab presses allowed to reach a field (the header's links come first).
MAX_TABS = 60
#: Collects the page's Content-Security-Policy violations.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def empty_tiles(context: Any) -> list[str]:
    """Answer every tile request with an empty body; returns the URLs asked."""
    asked: list[str] = []

    def answer(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=b"")

    context.route(TILES, answer)
    return asked


def tab_to(page: Any, selector: str, *, back: bool = False) -> None:
    """Press Tab (Shift+Tab: ``back``) until ``selector`` has the focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} never got the focus by Tab")


#: Where the map stands: its pane's offset (pans) and zoom proxy (zooms).
MAP_STATE = """() => {
  const pane = document.querySelector('.leaflet-map-pane');
  const proxy = document.querySelector('.leaflet-proxy');
  return pane.style.transform + '|' + (proxy ? proxy.style.transform : '');
}"""
#: True once the map moved from ``before`` and its animation ended.
MAP_SETTLED = (
    "(before) => (" + MAP_STATE + ")() !== before && !/leaflet-(pan|zoom)-anim/"
    ".test(document.querySelector('.leaflet-map-pane').className)"
)


def map_key(page: Any, key: str) -> None:
    """Press a key on the focused map and wait until the map has moved.

    Leaflet ignores a pan key while the previous pan still animates, as a
    person pressing keys one by one would never notice.
    """
    before = page.evaluate(MAP_STATE)
    page.keyboard.press(key)
    page.wait_for_function(MAP_SETTLED, arg=before)


def type_into(page: Any, selector: str, text: str) -> None:
    """Tab to a field and type ``text`` with the keyboard."""
    tab_to(page, selector)
    page.keyboard.type(text)


def stored_case(app: Any, number: str) -> tuple[Case, int]:
    """The case row and how many files it has."""
    with app.extensions["centro311"].db.read() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        files = len(
            s.scalars(select(Attachment).where(Attachment.case_id == case.id)).all()
        )
        s.expunge(case)
    return case, files


@pytest.mark.parametrize("width", [1280, 390])
def test_keyboard_only_queja_with_a_photo_and_a_map_pin(
    app: Any, live_server: str, browser: Any, width: int
) -> None:
    """Every step by keyboard; the stored point is the one the page pinned."""
    base = live_server
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="es-PA"
    )
    # axe-core and the CSP watch come as init scripts: the app's policy
    # stays enforced (it would refuse an injected script tag).
    context.add_init_script(script=CSP_WATCH)
    context.add_init_script(path=str(AXE))
    asked = empty_tiles(context)
    page = context.new_page()
    try:
        page.goto(f"{base}/casos/nuevo/queja")
        tab_to(page, "#categoria")
        while page.locator("#categoria").input_value() != "vias":
            page.keyboard.press("ArrowDown")
        type_into(page, "#asunto", "Hueco en la calle")
        type_into(page, "#descripcion", DESCRIPCION)
        type_into(page, "#ubicacion", ADDRESS)

        # The map: pin its centre, then focus it, zoom in with +, move it
        # with the arrows, and pin the new centre.
        tab_to(page, "#mapa")
        expect(page.locator("#mapa-herramientas")).to_be_visible()
        tab_to(page, "#mapa-centro")
        page.keyboard.press("Enter")
        status = page.locator("#mapa-estado")
        expect(status).to_contain_text("Punto marcado")
        first = (
            page.locator("#latitud").input_value(),
            page.locator("#longitud").input_value(),
        )
        tab_to(page, "#mapa", back=True)
        for key in ("NumpadAdd", "NumpadAdd", "ArrowUp", "ArrowRight", "ArrowRight"):
            map_key(page, key)
        tab_to(page, "#mapa-centro")
        page.keyboard.press("Enter")
        latitude = page.locator("#latitud").input_value()
        longitude = page.locator("#longitud").input_value()
        expect(status).to_have_text(
            f"Punto marcado: latitud {latitude}, longitud {longitude}."
        )
        # North and east of where it was: the arrows moved the map.
        assert float(latitude) > float(first[0]), (first, latitude)
        assert float(longitude) > float(first[1]), (first, longitude)
        assert re.fullmatch(r"[78]\.\d{5}|9\.\d{5}", latitude), latitude
        assert re.fullmatch(r"-(7[7-9]|8[0-3])\.\d{5}", longitude), longitude
        assert asked, "the map asked for no tiles"
        # Tiles that do not load leave the form working, and say so.
        expect(page.locator("#mapa-aviso")).to_have_text(
            "El mapa no se pudo cargar. Puede escribir las coordenadas o dejar "
            "solo la dirección."
        )

        # The photo, through the file chooser the space bar opens.
        tab_to(page, "#adjuntos")
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Space")
        chooser.value.set_files(
            [{"name": "hueco.png", "mimeType": "image/png", "buffer": plain_png()}]
        )
        check_a11y(page, f"intake-map-{width}")
        shot(page, f"location-intake-keyboard-{width}")
        tab_to(page, "button[type=submit].button")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
        number = page.locator("#numero-caso").inner_text().strip()
        assert page.evaluate("window.__cspViolations") == []
    finally:
        context.close()

    case, files = stored_case(app, number)
    assert (case.latitude, case.longitude) == (float(latitude), float(longitude))
    assert files == 1


def test_without_javascript_typed_coordinates(
    app: Any, live_server: str, browser: Any
) -> None:
    """No map without JavaScript: the fields take the point; a bad one is
    refused keeping what was typed; the good one is filed and tracked."""
    base = live_server
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="es-PA",
        java_script_enabled=False,
    )
    asked = empty_tiles(context)
    page = context.new_page()
    photo = {"name": "acera.png", "mimeType": "image/png", "buffer": plain_png()}
    try:
        page.goto(f"{base}/casos/nuevo/queja")
        expect(page.locator("#mapa-herramientas")).to_be_hidden()
        expect(
            page.get_by_role("button", name="Usar el centro del mapa")
        ).to_be_hidden()
        page.get_by_label("Categoría").select_option("vias")
        page.get_by_label("Asunto").fill("Acera rota")
        page.get_by_label("Descripción").fill(DESCRIPCION)
        page.get_by_label("Ubicación").fill(ADDRESS)
        page.get_by_label("Latitud").fill("40.71280")
        page.get_by_label("Longitud").fill("-79,51973")
        page.get_by_label("Fotos o documentos").set_input_files([photo])
        page.get_by_role("button", name="Enviar").click()

        summary = page.locator("#resumen-errores")
        expect(summary).to_contain_text(
            "Latitud: Ese punto queda fuera de Panamá: la latitud va de 7.0 a 9.8."
        )
        expect(page.get_by_label("Asunto")).to_have_value("Acera rota")
        expect(page.get_by_label("Ubicación")).to_have_value(ADDRESS)
        expect(page.get_by_label("Latitud")).to_have_value("40.71280")
        expect(page.get_by_label("Longitud")).to_have_value("-79,51973")
        expect(page.get_by_label("Latitud")).to_have_attribute("aria-invalid", "true")
        shot(page, "location-intake-nojs-error")

        page.get_by_label("Latitud").fill("8,98235")
        page.get_by_label("Fotos o documentos").set_input_files([photo])
        page.get_by_role("button", name="Enviar").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
        number = page.locator("#numero-caso").inner_text().strip()
        code = page.locator("#codigo-acceso").inner_text().strip()

        track(page, base, number, code)
        expect(page.locator("#caso-direccion")).to_have_text(ADDRESS)
        point = page.locator("#caso-punto")
        expect(point).to_contain_text("8.98235, -79.51973")
        expect(
            point.get_by_role("link", name="Ver en OpenStreetMap")
        ).to_have_attribute("href", re.compile(r"mlat=8\.98235&mlon=-79\.51973"))
        shot(page, "location-tracking-nojs")
        assert asked == []  # no map, no tiles
    finally:
        context.close()

    case, files = stored_case(app, number)
    assert (case.latitude, case.longitude) == (8.98235, -79.51973)
    assert files == 1


def test_pages_with_a_place_pass_axe(app: Any, live_server: str, page: Any) -> None:
    """The intake with a coordinate missing, the tracking page and the staff
    case page with a place: clear messages, no accessibility violations."""
    base = live_server
    empty_tiles(page.context)
    page.goto(f"{base}/casos/nuevo/queja")
    # Everything else right: the browser lets it through, the server names
    # the missing coordinate.
    page.get_by_label("Categoría").select_option("vias")
    page.get_by_label("Asunto").fill("Hueco en la calle")
    page.get_by_label("Descripción").fill(DESCRIPCION)
    page.get_by_label("Latitud").fill("8.9")
    page.get_by_role("button", name="Enviar").click()
    expect(page.locator("#resumen-errores")).to_contain_text(
        "Longitud: Indique la latitud y la longitud, o deje las dos vacías."
    )
    expect(page.get_by_label("Latitud")).to_have_value("8.9")
    check_a11y(page, "intake-coordinates-error")

    p = app.extensions["centro311"]
    opened = services.open_case(
        p,
        "queja",
        {
            "categoria": "vias",
            "asunto": "Hueco en la calle",
            "descripcion": DESCRIPCION,
            "ubicacion": ADDRESS,
        },
        latitude=8.98235,
        longitude=-79.51973,
    )
    track(page, base, opened.number, opened.access_code)
    expect(page.locator("#caso-punto")).to_contain_text("8.98235, -79.51973")
    check_a11y(page, "tracking-with-place")
    login(page, base, "agente")
    page.goto(f"{base}/casos/{opened.number}")
    expect(page.locator("#caso-punto")).to_contain_text("8.98235, -79.51973")
    expect(page.locator("#caso-direccion")).to_have_count(0)  # among the data
    expect(page.locator(".facts.data")).to_contain_text(ADDRESS)
    check_a11y(page, "case-page-with-place")
    shot(page, "location-case-page")


def test_my_location_typing_and_removing_the_point(
    app: Any, live_server: str, browser: Any
) -> None:
    """ "Usar mi ubicación" pins where the device is; typed coordinates move
    the pin; "Quitar el punto" empties both fields; a device outside Panama
    is refused with a message. The agent's phone intake has the same map."""
    base = live_server
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="es-PA",
        geolocation={"latitude": 9.0001234, "longitude": -79.5004321},
        permissions=["geolocation"],
    )
    empty_tiles(context)
    page = context.new_page()
    try:
        login(page, base, "agente")
        page.goto(f"{base}/casos/nuevo/queja")
        status = page.locator("#mapa-estado")
        page.get_by_role("button", name="Usar mi ubicación").click()
        expect(status).to_have_text(
            "Punto marcado: latitud 9.00012, longitud -79.50043."
        )
        expect(page.get_by_label("Latitud")).to_have_value("9.00012")
        expect(page.locator(".leaflet-marker-icon")).to_have_count(1)
        page.get_by_role("button", name="Quitar el punto").click()
        expect(status).to_have_text("Se quitó el punto. Basta con la dirección.")
        expect(page.get_by_label("Latitud")).to_have_value("")
        expect(page.get_by_label("Longitud")).to_have_value("")
        expect(page.locator(".leaflet-marker-icon")).to_have_count(0)
        page.get_by_label("Latitud").fill("8.5")
        page.get_by_label("Longitud").fill("-80.2")
        page.get_by_label("Longitud").press("Tab")
        expect(page.locator(".leaflet-marker-icon")).to_have_count(1)
        context.set_geolocation({"latitude": 40.7128, "longitude": -74.006})
        page.get_by_role("button", name="Usar mi ubicación").click()
        expect(status).to_have_text(
            "Ese punto queda fuera de Panamá. Mueva el mapa hacia Panamá."
        )
        expect(page.get_by_label("Latitud")).to_have_value("8.5")
    finally:
        context.close()
