"""Bad input: control characters get a 400 page, database errors hide values."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Auth, csrf_token, post_form

GOOD = {
    "categoria": "basura",
    "asunto": "Basura sin recoger",
    "descripcion": "Hace dos semanas que no pasa el camión por la calle 12.",
}
MESSAGE = "caracteres de control"


def refused(resp) -> bool:
    """True if ``resp`` is the 400 page for control characters."""
    return resp.status_code == 400 and MESSAGE in resp.get_data(as_text=True)


def staff(app, username: str):
    """A client logged in as ``username``."""
    client = app.test_client()
    Auth(client).login(username)
    return client


def test_nul_in_intake_subject(client):
    """A NUL in asunto is refused with a message; nothing is filed."""
    resp = post_form(client, "/casos/nuevo/queja", {**GOOD, "asunto": "Basura\x00"})
    assert refused(resp)
    assert "Caracteres no válidos" in resp.get_data(as_text=True)


def test_nul_in_login_username(client):
    """A NUL in the username is refused before any look-up."""
    resp = post_form(client, "/ingresar", {"usuario": "agente\x00", "clave": "x"})
    assert refused(resp)


def test_nul_in_tracking_number(client):
    """A NUL in numero, posted or in the query string, is refused."""
    resp = post_form(client, "/seguimiento", {"numero": "311\x00", "codigo": "ABCD"})
    assert refused(resp)
    assert refused(client.get("/seguimiento?numero=311-2026%00"))


def test_nul_in_case_path(app):
    """A NUL in /casos/<numero> is refused."""
    assert refused(staff(app, "agente").get("/casos/311-2026-%00"))


def test_nul_in_task_path(app):
    """A NUL in /tareas/<id> is refused, on GET and on POST."""
    client = staff(app, "agente")
    assert refused(client.get("/tareas/%00abc"))
    token = csrf_token(client, "/tareas")
    assert refused(client.post("/tareas/%00abc", data={"csrf_token": token}))


def test_nul_in_day_off_name(app):
    """A NUL in the name of a day off is refused."""
    client = staff(app, "admin")
    resp = post_form(
        client, "/admin/dias-libres", {"dia": "2030-02-05", "nombre": "Feriado\x00"}
    )
    assert refused(resp)
    assert "Feriado" not in client.get("/admin/dias-libres").get_data(as_text=True)


@pytest.mark.parametrize("char", ["\x01", "\x08", "\x1b", "\x1f", "\x0b", "\x0c"])
def test_other_control_characters_are_refused(client, char):
    """Every C0 control character but tab, CR and LF is refused.

    Tab, CR and LF stay ordinary text (a description with lines files).
    """
    resp = post_form(client, "/casos/nuevo/queja", {**GOOD, "asunto": f"a{char}b"})
    assert refused(resp)
    description = "Primera línea\r\nSegunda línea\n\tcon sangría."
    resp = post_form(client, "/casos/nuevo/queja", {**GOOD, "descripcion": description})
    assert resp.status_code == 303


def test_keys_are_checked_too(client):
    """Control characters in query or form keys are refused like values."""
    assert refused(client.get("/?a%00b=1"))
    assert refused(client.get("/?a%07b"))
    resp = post_form(client, "/casos/nuevo/queja", {**GOOD, "campo\x00": "x"})
    assert refused(resp)


def test_message_is_translated(client):
    """The refusal speaks the user's language."""
    client.post("/idioma/en", data={"csrf_token": csrf_token(client, "/")})
    resp = client.get("/casos/nuevo/%00")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "control characters" in html
    assert MESSAGE not in html


def test_database_errors_hide_parameters(platform):
    """A failing statement's error shows no bound value (contact data)."""
    secret = "vecina.secreta@example.pa"
    with pytest.raises(DBAPIError) as err, platform.db.transaction() as s:
        s.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": secret})
    assert secret not in str(err.value)
    assert re.search(r"parameters hidden", str(err.value))
