"""The tracking page without retyping the code: the receipt's button, one-time
links from mail, and the session keeping case numbers (never the code)."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.store.publishing import Outbox
from tests.conftest import must_search, post_form, receipt, work
from tests.webapp.test_public import session_payload

QUEJA = {
    "categoria": "salud",
    "asunto": "Sin citas en el centro de salud",
    "descripcion": "No dan citas de medicina general desde hace un mes.",
    "correo": "vecina@example.pa",
    "nombre": "Vecina Ejemplo",
}
LINK = re.compile(r"/seguimiento/enlace/([A-Za-z0-9_-]+)")


def last_link(app) -> str:
    """The path of the one-time link in the newest queued mail."""
    with app.extensions["centro311"].db.read() as s:
        body = s.scalars(select(Outbox.body).order_by(Outbox.id.desc())).first()
    assert body
    return must_search(LINK.pattern, body).group(0)


def test_the_receipt_opens_the_case_without_the_code(app, client):
    """'Consultar este caso' shows the case; the cookie holds its number only."""
    number, code = receipt(client, post_form(client, "/casos/nuevo/queja", QUEJA))
    page = client.get(f"/seguimiento?numero={number}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="estado-publico"' in html
    payload = session_payload(client)
    assert number in payload and code not in payload
    # Another browser gets the form, with the number filled in.
    other = app.test_client().get(f"/seguimiento?numero={number}")
    other_html = other.get_data(as_text=True)
    assert 'id="estado-publico"' not in other_html
    assert f'value="{number}"' in other_html


def test_a_mailed_link_works_once(app):
    """The link opens the case in a fresh browser; used again, it asks for
    the code with the number filled in, in Spanish."""
    filer = app.test_client()
    number, _ = receipt(filer, post_form(filer, "/casos/nuevo/queja", QUEJA))
    link = last_link(app)
    reader = app.test_client()
    resp = reader.get(link)
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/seguimiento?numero={number}"
    html = reader.get(resp.headers["Location"]).get_data(as_text=True)
    assert number in html and 'id="estado-publico"' in html
    again = app.test_client().get(link)
    again_html = again.get_data(as_text=True)
    assert again.status_code == 410
    assert "ya se usó o venció" in again_html
    assert f'value="{number}"' in again_html and 'id="estado-publico"' not in again_html
    assert app.test_client().get("/seguimiento/enlace/nada").status_code == 410


def test_the_page_tells_the_whole_story(app):
    """What was filed (no contact data), the entity and its due day, what
    comes next; the question above the answer box; the citizen's answer."""
    citizen = app.test_client()
    number, _ = receipt(citizen, post_form(citizen, "/casos/nuevo/queja", QUEJA))
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )
    html = citizen.get(f"/seguimiento?numero={number}").get_data(as_text=True)
    assert "Lo que usted presentó" in html and QUEJA["asunto"] in html
    assert "Salud (hospitales, centros de salud, medicamentos)" in html
    assert QUEJA["correo"] not in html and QUEJA["nombre"] not in html
    assert "La entidad debe responder antes del" in html
    assert re.search(r'id="plazo-entidad" datetime="[^"]+">\w+ \d+ de \w+<', html)

    work(app, "enlace.minsa", "Acusar recibo", {}, number)
    work(
        app,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "pedir_informacion", "pregunta": "¿En qué centro de salud?"},
        number,
    )
    html = citizen.get(f"/seguimiento?numero={number}").get_data(as_text=True)
    asked = html.index("¿En qué centro de salud?")
    assert html.index("La entidad le pregunta") < asked < html.index("Su respuesta")
    assert "le toca a usted" in html and "Esperando su respuesta" in html
    assert not re.search(r"step-respondido[^>]*aria-current", html)
    action = must_search(r'action="(/seguimiento/tareas/[0-9a-f-]+)"', html).group(1)
    token = must_search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = citizen.post(
        action,
        data={
            "csrf_token": token,
            "numero": number,
            "respuesta_ciudadano": "El de Juan Díaz.",
        },
    )
    assert resp.status_code == 303
    html = citizen.get(f"/seguimiento?numero={number}").get_data(as_text=True)
    assert "El de Juan Díaz." in html  # their own answer, on the timeline
    assert "Gracias" in html


def test_a_task_of_a_case_the_session_may_not_see_is_refused(app):
    """Posting an answer without the right to the case changes nothing: the
    browser is sent to the form that asks for the code."""
    citizen = app.test_client()
    number, _ = receipt(citizen, post_form(citizen, "/casos/nuevo/queja", QUEJA))
    stranger = app.test_client()
    token = must_search(
        r'name="csrf_token" value="([^"]+)"',
        stranger.get("/seguimiento").get_data(as_text=True),
    ).group(1)
    resp = stranger.post(
        "/seguimiento/tareas/whatever",
        data={"csrf_token": token, "numero": number, "respuesta_ciudadano": "x"},
    )
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/seguimiento?numero={number}"
    page = stranger.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="estado-publico"' not in page
