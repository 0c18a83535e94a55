"""The intake's place through the web layer: the coordinate fields, their
messages, the map's assets and Content-Security-Policy, the place on the
case and tracking pages, and the three-file limit at intake."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from engine.store.models import Case
from tests.conftest import IDENTITY_KEY, csrf_token, must_search, post_form, receipt
from tests.sample_files import plain_png
from webapp.config import map_tiles_origin

GOOD = {
    "categoria": "vias",
    "asunto": "Hueco en la calle",
    "descripcion": "Un hueco grande frente a la parada de buses desde hace un mes.",
    "ubicacion": "Vía España y calle 50",
}


def stored_point(app: Any, number: str) -> tuple[float | None, float | None]:
    """The case's stored latitude and longitude."""
    with app.extensions["centro311"].db.read() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        return case.latitude, case.longitude


def test_intake_offers_the_map_below_the_address(client):
    """The queja's form: the map tools (hidden until the script shows them)
    and two labelled coordinate fields right after the address; Leaflet is
    loaded from the app's own static folder."""
    html = client.get("/casos/nuevo/queja").get_data(as_text=True)
    address, pin, name = (
        html.index('id="ubicacion"'),
        html.index('class="field location-pin'),
        html.index('id="nombre"'),
    )
    assert address < pin < name
    assert '<div class="map-tools" id="mapa-herramientas" hidden' in html
    assert 'data-bounds="7.0,-83.1,9.8,-77.1"' in html
    for field in ("latitud", "longitud"):
        assert f'<label for="{field}">' in html
        assert f'id="{field}" name="{field}"' in html
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "/static/js/location-map.js" in html
    assert "hasta 3 archivos" in html


def test_forms_without_an_address_have_no_map(client, app):
    """A sugerencia asks for no place: no map, no coordinates, and posted
    coordinates are ignored."""
    html = client.get("/casos/nuevo/sugerencia").get_data(as_text=True)
    assert 'id="latitud"' not in html and "leaflet" not in html
    data = {k: v for k, v in GOOD.items() if k != "ubicacion"}
    resp = post_form(
        client, "/casos/nuevo/sugerencia", {**data, "latitud": "abc", "longitud": ""}
    )
    number, _ = receipt(client, resp)
    assert stored_point(app, number) == (None, None)


def test_filing_with_typed_coordinates(client, app):
    """Coordinates typed with a decimal comma are stored on the case."""
    resp = post_form(
        client,
        "/casos/nuevo/queja",
        {**GOOD, "latitud": "8,98235", "longitud": " -79.51973 "},
    )
    number, _ = receipt(client, resp)
    assert stored_point(app, number) == (8.98235, -79.51973)


def test_a_bad_point_keeps_everything_typed(client, app):
    """Out of Panama: 422, the message beside the field and in the summary,
    every value kept; nothing filed."""
    resp = post_form(
        client,
        "/casos/nuevo/queja",
        {**GOOD, "latitud": "40.7", "longitud": "abc"},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Latitud: Ese punto queda fuera de Panamá" in html
    assert (
        "Longitud: Escriba un número con punto decimal, por ejemplo -79.51973." in html
    )
    assert 'value="40.7"' in html and 'value="abc"' in html
    assert 'value="Hueco en la calle"' in html and "Vía España y calle 50" in html
    assert 'id="latitud-error"' in html
    with app.extensions["centro311"].db.read() as s:
        assert s.scalars(select(Case)).first() is None


def test_the_message_in_english(client):
    """The messages are translated like the rest of the page."""
    token = csrf_token(client, "/")
    client.post("/idioma/en", data={"csrf_token": token, "next": "/"})
    resp = post_form(client, "/casos/nuevo/queja", {**GOOD, "latitud": "8.9"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Give both the latitude and the longitude, or leave both empty." in html
    assert "Point on the map (optional)" in html


def test_four_files_at_intake_are_refused(client):
    """The fourth file: a clear message, the text kept."""
    files = [(io.BytesIO(plain_png()), f"{i}.png") for i in range(4)]
    resp = post_form(
        client,
        "/casos/nuevo/queja",
        {**GOOD, "adjuntos": files},
        content_type="multipart/form-data",
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Adjunte como máximo 3 archivos a la vez." in html
    assert 'value="Hueco en la calle"' in html


def test_staff_and_tracking_pages_show_the_place(client, app, auth):
    """The tracking page: address, coordinates and a map link; the staff
    case page: the coordinates and the link (the address is in its data)."""
    resp = post_form(
        client,
        "/casos/nuevo/queja",
        {**GOOD, "latitud": "8.98235", "longitud": "-79.51973"},
    )
    number, code = receipt(client, resp)
    page = post_form(
        client, "/seguimiento", {"numero": number, "codigo": code}
    ).get_data(as_text=True)
    assert "Vía España y calle 50" in page
    link = "https://www.openstreetmap.org/?mlat=8.98235&amp;mlon=-79.51973"
    assert link in page
    auth.login("agente")
    staff = client.get(f"/casos/{number}").get_data(as_text=True)
    assert must_search(r'id="caso-punto"><span class="coords-text">([^<]+)<', staff)[
        1
    ] == ("8.98235, -79.51973")
    assert link in staff


def test_content_security_policy_allows_the_tiles_as_images_only(client):
    """The tile server's origin joins img-src, and nothing else."""
    policy = client.get("/casos/nuevo/queja").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["img-src"] == "'self' data: https://tile.openstreetmap.org"
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert policy.count("openstreetmap") == 1


def test_without_a_tile_server_there_is_no_map(db_url, tmp_path):
    """MAP_TILE_URL empty: the policy stays as it was and the page offers
    the typed coordinates only."""
    from webapp import create_app

    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "x",
            "IDENTITY_KEY": IDENTITY_KEY,
            "DATABASE_URL": db_url,
            "MAP_TILE_URL": "",
        }
    )
    from tests.conftest import seed

    seed(app.extensions["centro311"], "x")
    resp = app.test_client().get("/casos/nuevo/queja")
    html = resp.get_data(as_text=True)
    assert "img-src 'self' data:;" in resp.headers["Content-Security-Policy"]
    assert 'id="latitud"' in html and 'id="mapa"' not in html
    assert "leaflet" not in html
    app.extensions["centro311"].close()


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        (
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "https://tile.openstreetmap.org",
        ),
        ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", ""),
        ("javascript:alert(1)", ""),
        ("/tiles/{z}/{x}/{y}.png", ""),
        ("", ""),
    ],
)
def test_map_tiles_origin(url, origin):
    """Only a plain http(s) host reaches the policy."""
    assert map_tiles_origin(url) == origin


def test_phone_intake_stores_the_point(client, app, auth):
    """An agent filing a call gives the same two fields."""
    auth.login("agente")
    html = client.get("/casos/nuevo/queja").get_data(as_text=True)
    assert 'id="latitud"' in html and 'id="mapa"' in html
    resp = post_form(
        client,
        "/casos/nuevo/queja",
        {**GOOD, "canal": "phone", "latitud": "9.1", "longitud": "-79.4"},
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    with app.extensions["centro311"].db.read() as s:
        case = s.scalars(select(Case)).one()
    assert (case.channel, case.latitude, case.longitude) == ("phone", 9.1, -79.4)
