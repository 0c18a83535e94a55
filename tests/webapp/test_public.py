"""Public pages: home, intake with validation, confirmation, tracking."""

from __future__ import annotations

import re
import zlib

from itsdangerous.encoding import base64_decode
from sqlalchemy import func, select

from engine.store.models import Case
from tests.conftest import csrf_token, must_search, post_form, receipt

GOOD = {
    "categoria": "basura",
    "asunto": "Basura sin recoger",
    "descripcion": "Hace dos semanas que no pasa el camión por la calle 12.",
}


def file_case(client, **extra):
    """File a queja through the form; returns (number, code)."""
    resp = post_form(client, "/casos/nuevo/queja", {**GOOD, **extra})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    number = must_search(r'id="numero-caso">([^<]+)<', page).group(1)
    code = must_search(r'id="codigo-acceso">([^<]+)<', page).group(1)
    return number, code


def test_home_lists_deployed_case_types(client):
    """The home page offers the deployed queja with a link to its form."""
    html = client.get("/").get_data(as_text=True)
    assert "Queja" in html
    assert 'href="/casos/nuevo/queja"' in html


def test_unknown_case_type_is_404(client):
    """A case type nobody deployed does not exist."""
    assert client.get("/casos/nuevo/inexistente").status_code == 404


def test_intake_form_is_labelled(client):
    """Every field has a label tied to it; required ones say so."""
    html = client.get("/casos/nuevo/queja").get_data(as_text=True)
    for name in ("asunto", "descripcion", "ubicacion", "nombre", "correo", "telefono"):
        assert f'<label for="{name}">' in html
        assert f'id="{name}"' in html
    assert 'id="descripcion" name="descripcion" required' in html
    assert "Una queja es" in html  # the form's description is shown


def test_invalid_intake_keeps_text_and_shows_messages(client):
    """Errors sit beside their fields and the citizen's text stays."""
    text = "Texto con <b>etiquetas</b> y acentos: ñandú"
    resp = post_form(
        client,
        "/casos/nuevo/queja",
        {"asunto": text, "descripcion": "corto", "correo": "sin-arroba"},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Texto con &lt;b&gt;etiquetas&lt;/b&gt; y acentos: ñandú" in html
    assert ">corto</textarea>" in html
    assert 'value="sin-arroba"' in html
    assert 'id="descripcion-error"' in html
    assert "Escriba al menos 10 caracteres." in html
    assert "Escriba un correo electrónico válido." in html
    assert 'aria-invalid="true"' in html


def test_oversized_field_is_refused_with_a_message(client, app):
    """A field beyond the size limit gets a message, not a 500."""
    app.config["MAX_FIELD_CHARS"] = 5000
    resp = post_form(client, "/casos/nuevo/queja", {**GOOD, "descripcion": "x" * 6000})
    assert resp.status_code == 422
    assert "demasiado largo" in resp.get_data(as_text=True)
    resp = post_form(client, "/casos/nuevo/queja", {**GOOD, "descripcion": "x" * 4001})
    assert resp.status_code == 422
    assert "Escriba como máximo 4000 caracteres." in resp.get_data(as_text=True)


def test_huge_body_gets_413_page(client, app):
    """A request body over MAX_CONTENT_LENGTH is refused politely."""
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    # The intake carries files: its limit is MAX_CONTENT_LENGTH plus a case's
    # attachments (ATTACHMENT_CASE_BYTES), here none.
    app.config["ATTACHMENT_CASE_BYTES"] = 0
    token = csrf_token(client, "/casos/nuevo/queja")
    resp = client.post(
        "/casos/nuevo/queja",
        data={**GOOD, "descripcion": "y" * 20_000, "csrf_token": token},
    )
    assert resp.status_code == 413
    assert "demasiado grande" in resp.get_data(as_text=True)


def test_form_without_csrf_token_is_refused(client):
    """CSRF protection covers the public intake."""
    resp = client.post("/casos/nuevo/queja", data=GOOD)
    assert resp.status_code == 400
    assert "caducó" in resp.get_data(as_text=True)


def test_confirmation_then_tracking(client):
    """The number and code from the confirmation open the tracking page."""
    number, code = file_case(client, correo="vecino@example.pa")
    assert re.fullmatch(r"311-\d{4}-\d{6}", number)
    resp = post_form(client, "/seguimiento", {"numero": number, "codigo": code})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert number in html
    assert "En revisión por el 311" in html
    assert "vecino@example.pa" not in html  # personal data is not on the page


def test_wrong_number_or_code_look_the_same(client):
    """No way to tell whether the number or the code was wrong."""
    number, code = file_case(client)
    bad_code = post_form(client, "/seguimiento", {"numero": number, "codigo": "XXXX"})
    bad_number = post_form(
        client, "/seguimiento", {"numero": "311-1999-000001", "codigo": code}
    )
    assert bad_code.status_code == bad_number.status_code == 404

    def message(resp):
        return must_search(r'role="alert">([^<]+)<', resp.get_data(as_text=True)).group(
            1
        )

    assert message(bad_code) == message(bad_number)


def test_repeated_wrong_tries_are_throttled(client, app):
    """Past the limit even the right code gets 429 for a while."""
    app.extensions["centro311"].limits.tracking_attempts = 3
    number, code = file_case(client)
    for _ in range(3):
        post_form(client, "/seguimiento", {"numero": number, "codigo": "NOPE1234"})
    resp = post_form(client, "/seguimiento", {"numero": number, "codigo": code})
    assert resp.status_code == 429
    assert "Demasiados intentos" in resp.get_data(as_text=True)


def test_english_is_available(client):
    """The language switch turns the interface to English."""
    token = csrf_token(client, "/")
    client.post("/idioma/en", data={"csrf_token": token, "next": "/"})
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Track" in html


_IDEMPOTENCY = re.compile(r'name="idempotencia" value="([^"]+)"')


def session_payload(client) -> str:
    """The session cookie's payload as anyone holding the cookie can read it.

    The cookie is signed, not encrypted: itsdangerous's payload is base64
    JSON, zlib-compressed when it starts with '.'.
    """
    value = client.get_cookie("session").value
    compressed = value.startswith(".")
    data = base64_decode(value.lstrip(".").split(".")[0])
    return (zlib.decompress(data) if compressed else data).decode()


def test_access_code_is_not_readable_in_the_cookie(client):
    """After filing and after tracking, the cookie holds no code in clear."""
    resp = post_form(client, "/casos/nuevo/queja", GOOD)
    payload = session_payload(client)
    assert '"opened"' in payload  # the receipt is there, sealed
    number, code = receipt(client, resp)
    assert code not in payload
    resp = post_form(client, "/seguimiento", {"numero": number, "codigo": code})
    assert resp.status_code == 200
    payload = session_payload(client)
    assert '"tracking"' in payload
    assert code not in payload and code not in session_payload(client)
    # Tracking still works across requests from the sealed session.
    again = client.get(f"/seguimiento?numero={number}")
    assert again.status_code == 200
    assert "En revisión por el 311" in again.get_data(as_text=True)


def test_confirmation_shows_the_code_once(client):
    """A reload of the confirmation shows the number, not the code."""
    number, code = file_case(client, correo="vecino@example.pa")
    again = client.get("/casos/confirmacion").get_data(as_text=True)
    assert number in again
    assert code not in again and 'id="codigo-acceso"' not in again
    assert "ya se mostró" in again
    assert "vecino@example.pa" in again  # and was sent there by mail


def intake_form(client) -> tuple[str, str]:
    """(CSRF token, idempotency key) of a freshly rendered intake form."""
    html = client.get("/casos/nuevo/queja").get_data(as_text=True)
    token = must_search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return token, must_search(_IDEMPOTENCY.pattern, html).group(1)


def count_cases(app) -> int:
    """Cases stored."""
    with app.extensions["centro311"].db.read() as s:
        return s.scalar(select(func.count()).select_from(Case))


def test_double_submit_files_one_case(client, app):
    """The same rendered form posted twice files one case and shows it twice."""
    token, key = intake_form(client)
    assert len(key) >= 32
    form = {**GOOD, "csrf_token": token, "idempotencia": key}
    number, code = receipt(client, client.post("/casos/nuevo/queja", data=form))
    second = client.post("/casos/nuevo/queja", data=form)
    assert second.status_code == 303
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert count_cases(app) == 1
    assert f'id="numero-caso">{number}<' in page
    assert "ya se había enviado" in page
    assert code not in page
    # A new rendering of the form is a new filing.
    token, other_key = intake_form(client)
    assert other_key != key
    form = {**GOOD, "csrf_token": token, "idempotencia": other_key}
    other, _ = receipt(client, client.post("/casos/nuevo/queja", data=form))
    assert other != number and count_cases(app) == 2


def test_double_click_still_shows_the_code_once(client, app):
    """When the second submit answers before the first receipt was seen."""
    token, key = intake_form(client)
    form = {**GOOD, "csrf_token": token, "idempotencia": key}
    client.post("/casos/nuevo/queja", data=form)
    number, code = receipt(client, client.post("/casos/nuevo/queja", data=form))
    assert count_cases(app) == 1 and code
    page = client.get("/casos/confirmacion").get_data(as_text=True)
    assert number in page and code not in page


def test_form_with_errors_keeps_its_key(client, app):
    """A re-rendered form keeps the key, so its corrected submit files once."""
    token, key = intake_form(client)
    form = {**GOOD, "csrf_token": token, "idempotencia": key, "descripcion": "corto"}
    resp = client.post("/casos/nuevo/queja", data=form)
    assert resp.status_code == 422
    assert f'name="idempotencia" value="{key}"' in resp.get_data(as_text=True)
    assert count_cases(app) == 0
    form["descripcion"] = GOOD["descripcion"]
    receipt(client, client.post("/casos/nuevo/queja", data=form))
    assert client.post("/casos/nuevo/queja", data=form).status_code == 303
    assert count_cases(app) == 1
