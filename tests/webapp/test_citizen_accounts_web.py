"""Mis casos on the web: the sign-in form, the mailed link, the list, opening
a case without its code, signing out, and the intake form prefilled."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from engine.domain.clock import FrozenClock
from engine.services import citizen_accounts
from engine.store.publishing import Outbox
from tests.conftest import (
    IDENTITY_KEY,
    Auth,
    csrf_token,
    must_search,
    post_form,
    receipt,
)
from tests.webapp.test_public import session_payload

ANA = "ana.perez@example.pa"
QUEJA = {
    "categoria": "salud",
    "asunto": "Sin citas en el centro de salud",
    "descripcion": "No dan citas de medicina general desde hace un mes.",
    "nombre": "Ana Pérez",
    "correo": ANA,
    "telefono": "6123-4567",
}
RESERVED = {
    "categoria": "salud",
    "asunto": "Cobro indebido de citas",
    "descripcion": "Un funcionario cobra por citas que deberían ser gratuitas.",
    "nombre": "Ana Reservada",
    "correo": ANA,
    "telefono": "6555-1212",
    "identidad_reservada": "1",
}
LINK = re.compile(r"/mis-casos/entrar/[A-Za-z0-9_-]+")


def file_case(app, data=QUEJA, case_type="queja"):
    """File a case on the web from a browser of its own: its number."""
    c = app.test_client()
    number, _ = receipt(c, post_form(c, f"/casos/nuevo/{case_type}", data))
    return number


def last_link(app) -> str:
    """The path of the sign-in link in the newest queued mail."""
    with app.extensions["centro311"].db.read() as s:
        body = s.scalars(
            select(Outbox.body)
            .where(Outbox.case_id.is_(None))
            .order_by(Outbox.id.desc())
        ).first()
    assert body
    return must_search(LINK.pattern, body).group(0)


def ask_link(client, address=ANA):
    """Submit the Mis casos form."""
    return post_form(client, "/mis-casos", {"correo": address})


def signed_in(app, address=ANA):
    """A browser signed in to Mis casos with ``address``."""
    c = app.test_client()
    assert ask_link(c, address).status_code == 303
    resp = c.get(last_link(app))
    assert resp.status_code == 303 and resp.headers["Location"] == "/mis-casos"
    return c


def test_the_header_offers_mis_casos_in_both_languages(app, client):
    """The public header links to /mis-casos, in English as "My cases"."""
    assert 'href="/mis-casos">Mis casos<' in client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/")
    client.post("/idioma/en", data={"csrf_token": token, "next": "/"})
    html = client.get("/mis-casos").get_data(as_text=True)
    assert 'href="/mis-casos">My cases<' in html
    assert "Send me the link" in html and "Enviarme" not in html


def test_the_form_needs_its_csrf_token(client):
    """A post without the token is refused and mails nothing."""
    assert client.post("/mis-casos", data={"correo": ANA}).status_code == 400


def test_the_answer_is_the_same_whatever_the_address(app, client):
    """A known and an unknown address land on the same page, each mailed."""
    file_case(app)
    pages = []
    for address in (ANA, "nadie@example.pa"):
        c = app.test_client()
        resp = ask_link(c, address)
        assert resp.status_code == 303
        assert resp.headers["Location"] == "/mis-casos/enviado"
        page = c.get(resp.headers["Location"]).get_data(as_text=True)
        pages.append(re.sub(r'value="[^"]+"', "", page))
        assert last_link(app)
    assert pages[0] == pages[1]
    assert "Le enviamos un enlace" in pages[0] and "20 minutos" in pages[0]
    assert ANA not in pages[0]


def test_a_bad_address_gets_the_error_summary_and_keeps_what_was_typed(client):
    """422, GOV.UK summary linking the field, the value kept; in English too."""
    resp = ask_link(client, "ana en example")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'class="error-summary"' in html
    assert (
        'href="#correo">Correo electrónico: Escriba un correo electrónico válido.'
        in (html)
    )
    assert 'id="correo-error"' in html and 'aria-invalid="true"' in html
    assert 'value="ana en example"' in html
    empty = ask_link(client, "").get_data(as_text=True)
    assert "Escriba su correo electrónico." in empty
    token = csrf_token(client, "/")
    client.post("/idioma/en", data={"csrf_token": token, "next": "/"})
    english = ask_link(client, "nope").get_data(as_text=True)
    assert "Email: Enter a valid email address." in english


def test_too_many_requests_say_so(app, client):
    """Past the per-address limit: 429 with a sentence, nothing mailed."""
    limit = app.extensions["centro311"].signin.citizen_address_requests
    for _ in range(limit):
        assert ask_link(app.test_client()).status_code == 303
    resp = ask_link(client)
    assert resp.status_code == 429
    assert "Demasiadas solicitudes seguidas" in resp.get_data(as_text=True)


def test_the_link_signs_in_once_and_lists_the_cases(app):
    """The link lands on the list (both cases, newest first, no reserved
    denuncia); the cookie does not show the address; used again, 410."""
    first = file_case(app)
    second = file_case(app, {**QUEJA, "correo": "Ana.Perez@Example.PA"})
    reserved = file_case(app, RESERVED, "denuncia")
    other = file_case(app, {**QUEJA, "correo": "otra@example.pa"})
    c = app.test_client()
    ask_link(c)
    link = last_link(app)
    resp = c.get(link)
    assert resp.status_code == 303
    html = c.get("/mis-casos").get_data(as_text=True)
    assert f"Casos presentados con {ANA}" in html
    listed = re.findall(r'href="/mis-casos/caso/([^"]+)"', html)
    assert listed == [second, first]
    assert reserved not in html and other not in html
    assert "Queja" in html and QUEJA["asunto"] in html
    assert "En revisión por el 311" in html
    assert ANA not in session_payload(c)
    again = app.test_client().get(link)
    assert again.status_code == 410
    assert "ya se usó o venció" in again.get_data(as_text=True)
    assert app.test_client().get("/mis-casos/entrar/nada").status_code == 410


def test_a_case_opens_without_its_code(app):
    """The list's link grants the case to the session and shows it; a case
    of another address is 404; without signing in, the form."""
    number = file_case(app)
    other = file_case(app, {**QUEJA, "correo": "otra@example.pa"})
    c = signed_in(app)
    resp = c.get(f"/mis-casos/caso/{number}")
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/seguimiento?numero={number}"
    page = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="estado-publico"' in page and number in page
    assert c.get(f"/mis-casos/caso/{other}").status_code == 404
    stranger = app.test_client()
    resp = stranger.get(f"/mis-casos/caso/{number}")
    assert resp.status_code == 303 and resp.headers["Location"] == "/mis-casos"
    html = stranger.get(f"/seguimiento?numero={number}").get_data(as_text=True)
    assert 'id="estado-publico"' not in html


def test_signing_out_forgets_the_address_and_the_cases(app):
    """After "Salir de Mis casos": the form again, the case needs its code."""
    number = file_case(app)
    c = signed_in(app)
    c.get(f"/mis-casos/caso/{number}")
    token = csrf_token(c, "/mis-casos")
    resp = c.post("/mis-casos/salir", data={"csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"] == "/mis-casos"
    html = c.get("/mis-casos").get_data(as_text=True)
    assert "Salió de Mis casos." in html and 'name="correo"' in html
    page = c.get(f"/seguimiento?numero={number}").get_data(as_text=True)
    assert 'id="estado-publico"' not in page
    assert c.post("/mis-casos/salir").status_code == 400  # CSRF


def test_staff_sign_in_and_citizen_sign_in_do_not_mix(app):
    """A staff login starts a fresh session (the citizen is signed out);
    a citizen's sign-out leaves a staff sign-in alone."""
    file_case(app)
    c = signed_in(app)
    Auth(c).login("agente")
    assert 'name="correo"' in c.get("/mis-casos").get_data(as_text=True)
    ask_link(c)
    c.get(last_link(app))
    assert "Casos presentados con" in c.get("/mis-casos").get_data(as_text=True)
    token = csrf_token(c, "/mis-casos")
    c.post("/mis-casos/salir", data={"csrf_token": token})
    assert c.get("/tareas").status_code == 200


def test_a_sign_in_lasts_a_session(app):
    """Past ``PERMANENT_SESSION_LIFETIME`` from the link, the form again."""
    clock = FrozenClock(datetime(2026, 12, 4, 14, 0, tzinfo=UTC))
    app.extensions["centro311"].clock = clock
    c = signed_in(app)
    clock.advance(seconds=app.permanent_session_lifetime.total_seconds() - 1)
    assert "Casos presentados con" in c.get("/mis-casos").get_data(as_text=True)
    clock.advance(seconds=2)
    assert 'name="correo"' in c.get("/mis-casos").get_data(as_text=True)


def test_the_list_pages(app, monkeypatch):
    """Three cases, two a page: the pager links to the next page."""
    monkeypatch.setattr(citizen_accounts, "PAGE_SIZE", 2)
    numbers = [file_case(app) for _ in range(3)]
    c = signed_in(app)
    first = c.get("/mis-casos").get_data(as_text=True)
    assert "Página 1 de 2" in first and 'href="/mis-casos?pagina=2"' in first
    second = c.get("/mis-casos?pagina=2").get_data(as_text=True)
    assert re.findall(r'href="/mis-casos/caso/([^"]+)"', second) == [numbers[0]]
    assert c.get("/mis-casos?pagina=x" + "9" * 50).status_code == 200


def test_the_intake_form_is_prefilled_for_a_signed_in_citizen(app):
    """Signed in: contact fields from the latest ordinary case and the
    confirmed address (never from a reserved denuncia); anonymous citizens
    and agents get an empty form, as before."""
    file_case(app)
    file_case(app, RESERVED, "denuncia")
    c = signed_in(app, ANA.upper())
    for case_type in ("queja", "denuncia"):
        html = c.get(f"/casos/nuevo/{case_type}").get_data(as_text=True)
        assert f'value="{ANA}"' in html
        assert 'value="Ana Pérez"' in html and 'value="6123-4567"' in html
        assert "Ana Reservada" not in html and "6555-1212" not in html
    anonymous = app.test_client().get("/casos/nuevo/queja").get_data(as_text=True)
    assert ANA not in anonymous and "Ana Pérez" not in anonymous
    agent = app.test_client()
    Auth(agent).login("agente")
    ask_link(agent)
    agent.get(last_link(app))
    html = agent.get("/casos/nuevo/queja").get_data(as_text=True)
    assert ANA not in html and "Ana Pérez" not in html


def test_a_prefilled_filing_is_listed_and_filing_stays_open_to_all(app):
    """The signed-in citizen files with the prefilled contact; the new case
    joins the list. Without signing in, filing works as before."""
    c = signed_in(app)
    values = {k: v for k, v in QUEJA.items() if k not in ("nombre", "telefono")}
    number, _ = receipt(c, post_form(c, "/casos/nuevo/queja", values))
    html = c.get("/mis-casos").get_data(as_text=True)
    assert re.findall(r'href="/mis-casos/caso/([^"]+)"', html) == [number]
    assert file_case(app, {**QUEJA, "correo": ""})


def test_the_limits_come_from_the_configuration(db_url, monkeypatch):
    """C311_CITIZEN_* variables set the link's lifetime and the limits."""
    from webapp import create_app

    monkeypatch.setenv("C311_CITIZEN_LINK_TTL_S", "600")
    monkeypatch.setenv("C311_CITIZEN_ADDRESS_MAX_REQUESTS", "2")
    application = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "test-secret",
            "IDENTITY_KEY": IDENTITY_KEY,
            "DATABASE_URL": db_url,
        }
    )
    try:
        settings = application.extensions["centro311"].signin
        assert settings.citizen_link_ttl_s == 600
        assert settings.citizen_address_requests == 2
        assert settings.citizen_client_requests == 20  # the default
    finally:
        application.extensions["centro311"].close()
