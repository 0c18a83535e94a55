"""Web pages of the lifecycle: citizen answers and surveys, reserved identity."""

from __future__ import annotations

import logging
import re

from tests.conftest import Auth, must_search, post_form, receipt, work

QUEJA = {
    "categoria": "salud",
    "asunto": "Sin medicamentos en la farmacia",
    "descripcion": "La farmacia del policentro no tiene medicamentos para la presión.",
}


def answered_queja(app, client):
    """File a queja and take it to the entity's answer; returns (number, code)."""
    number, code = receipt(client, post_form(client, "/casos/nuevo/queja", QUEJA))
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )
    work(app, "enlace.minsa", "Acusar recibo", {}, number)
    return number, code


def test_citizen_answers_a_question_on_the_tracking_page(app, client):
    """The question shows on the tracking page; the answer goes to the entity."""
    number, code = answered_queja(app, client)
    work(
        app,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "pedir_informacion", "pregunta": "¿Qué medicamento le faltó?"},
        number,
    )
    page = post_form(client, "/seguimiento", {"numero": number, "codigo": code})
    html = page.get_data(as_text=True)
    assert "¿Qué medicamento le faltó?" in html
    action = must_search(r'action="(/seguimiento/tareas/[0-9a-f-]+)"', html).group(1)
    # Empty answer: refused beside the field.
    token = must_search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    bad = client.post(action, data={"respuesta_ciudadano": "", "csrf_token": token})
    assert bad.status_code == 422
    assert 'id="respuesta_ciudadano-error"' in bad.get_data(as_text=True)
    ok = client.post(
        action, data={"respuesta_ciudadano": "Losartán 50 mg.", "csrf_token": token}
    )
    assert ok.status_code == 303
    html = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "Recibimos su respuesta" in html
    assert "En atención por la entidad" in html
    # Another visitor without the code cannot answer for the citizen.
    stranger = app.test_client()
    resp = stranger.post(action, data={"respuesta_ciudadano": "x"})
    assert resp.status_code in (302, 303, 400)


def test_survey_on_the_tracking_page_reopens_on_low_rating(app, client):
    """After the answer the citizen rates it; 1/5 reopens the case."""
    number, code = answered_queja(app, client)
    work(
        app,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "responder", "respuesta": "Llegó un lote nuevo el lunes."},
        number,
    )
    html = post_form(
        client, "/seguimiento", {"numero": number, "codigo": code}
    ).get_data(as_text=True)
    assert "Llegó un lote nuevo el lunes." in html
    assert 'name="calificacion" value="1"' in html
    action = must_search(r'action="(/seguimiento/tareas/[0-9a-f-]+)"', html).group(1)
    token = must_search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = client.post(
        action,
        data={
            "calificacion": "1",
            "comentario": "Sigue sin haber",
            "csrf_token": token,
        },
    )
    assert resp.status_code == 303
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Caso reabierto" in html
    assert re.search(r'id="estado-publico">En atención por la entidad<', html)
    assert "Reaperturas" in html


def test_reserved_identity_never_reaches_staff_pages(app, client, caplog):
    """Name, email and phone of a reserved denuncia appear on no staff page."""
    secret = {
        "nombre": "Rosa Reservada Quintero",
        "correo": "rosa.reservada@example.pa",
        "telefono": "6123-9876",
    }
    caplog.set_level(logging.DEBUG)
    resp = post_form(
        client,
        "/casos/nuevo/denuncia",
        {
            "categoria": "salud",
            "asunto": "Cobros indebidos",
            "descripcion": "Un funcionario pide dinero para adelantar citas médicas.",
            "identidad_reservada": "1",
            **secret,
        },
    )
    number, code = receipt(client, resp)
    work(
        app,
        "agente",
        "Clasificar la denuncia",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )

    def leaks(html: str) -> list[str]:
        return [v for v in secret.values() if v in html]

    pages = []
    for username in ("agente", "enlace.minsa", "supervisor"):
        c = app.test_client()
        Auth(c).login(username)
        inbox = c.get("/tareas").get_data(as_text=True)
        pages.append(inbox)
        for link in re.findall(r'href="(/tareas/[0-9a-f-]+)"', inbox):
            pages.append(c.get(link).get_data(as_text=True))
        pages.append(c.get(f"/casos/{number}").get_data(as_text=True))
        if username != "agente":
            pages.append(c.get("/tablero").get_data(as_text=True))
    tracked = post_form(client, "/seguimiento", {"numero": number, "codigo": code})
    pages.append(tracked.get_data(as_text=True))
    assert len(pages) >= 8
    for html in pages:
        assert leaks(html) == []
    assert any("Identidad reservada" in p for p in pages)
    assert leaks(caplog.text) == []

    # The supervisor sees it only after giving a reason, and it is audited.
    sup = app.test_client()
    Auth(sup).login("supervisor")
    url = f"/casos/{number}/identidad"
    refused = sup.post(url, data={"motivo": "x", "csrf_token": _token(sup, number)})
    assert refused.status_code == 422 and leaks(refused.get_data(as_text=True)) == []
    opened = sup.post(
        url,
        data={
            "motivo": "Solicitud formal de la Fiscalía.",
            "csrf_token": _token(sup, number),
        },
    )
    assert opened.status_code == 200
    assert "Rosa Reservada Quintero" in opened.get_data(as_text=True)
    after = sup.get(f"/casos/{number}").get_data(as_text=True)
    assert leaks(after) == []
    assert "Solicitud formal de la Fiscalía." in after  # the audit event
    enlace = app.test_client()
    Auth(enlace).login("enlace.minsa")
    assert (
        enlace.post(
            url,
            data={"motivo": "Quiero verla ya.", "csrf_token": _token(enlace, number)},
        ).status_code
        == 403
    )


def _token(client, number: str) -> str:
    """A CSRF token from the case page."""
    html = client.get(f"/casos/{number}").get_data(as_text=True)
    return must_search(r'name="csrf_token" value="([^"]+)"', html).group(1)
