"""The citizen pages read the bundle's texts in the language chosen; staff
pages keep the diagram's Spanish; forms carry the server's messages for the
browser's checks."""

from __future__ import annotations

import html as html_lib
import re

from tests.conftest import Auth, csrf_token, must_search, post_form, receipt, work

QUEJA = {
    "categoria": "salud",
    "asunto": "Sin medicamentos en la farmacia",
    "descripcion": "La farmacia del policentro no tiene medicamentos para la presión.",
}


def in_english(client) -> None:
    """Switch the client's session to English."""
    client.post("/idioma/en", data={"csrf_token": csrf_token(client, "/")})


def text(resp) -> str:
    """A response's page, entities decoded."""
    return html_lib.unescape(resp.get_data(as_text=True))


def test_home_and_intake_in_english(client):
    """Case type titles, the form's title, help, labels and choices."""
    in_english(client)
    home = text(client.get("/"))
    assert "<h3>Complaint</h3>" in home
    assert "<h3>Report of wrongdoing</h3>" in home
    page = text(client.get("/casos/nuevo/denuncia"))
    assert "<h1>Report wrongdoing</h1>" in page
    assert "Keep my identity confidential" in page
    assert ">Drinking water and sewerage</option>" in page
    assert "Reservar mi identidad" not in page


def test_server_errors_name_the_fields_in_english(client):
    """The error summary uses the English field titles and messages."""
    in_english(client)
    resp = post_form(client, "/casos/nuevo/queja", {"asunto": "ab"})
    assert resp.status_code == 422
    page = text(resp)
    assert "Subject: Enter at least 3 characters." in page
    assert "Description: This field is required." in page


def test_forms_carry_the_messages_for_the_browser(client):
    """The browser's checks get the server's sentences, in the language."""
    page = text(client.get("/casos/nuevo/queja"))
    form = must_search(
        r"<form method=\"post\" action=\"/casos/nuevo/queja\"[^>]*>", page
    )
    assert "data-check" in form.group(0)
    assert 'data-msg-required="Este campo es obligatorio."' in form.group(0)
    assert 'data-msg-phone="Escriba un número de teléfono válido."' in form.group(0)
    assert re.search(
        r'data-field="asunto" data-label="Asunto" data-minlength="3" '
        r'data-msg-minlength="Escriba al menos 3 caracteres."',
        page,
    )
    assert 'data-field="telefono" data-label="Teléfono" data-phone' in page
    in_english(client)
    page = text(client.get("/casos/nuevo/queja"))
    assert 'data-msg-required="This field is required."' in page
    assert 'data-msg-minlength="Enter at least 3 characters."' in page
    assert '<script src="/static/js/form-check.js" defer></script>' in page


def test_tracking_in_english_and_in_spanish(app, client):
    """Status, timeline, published fields and the citizen's task in English;
    the same case in Spanish reads the diagram's texts."""
    in_english(client)
    resp = post_form(client, "/casos/nuevo/queja", QUEJA)
    number, code = receipt(client, resp)
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )
    work(app, "enlace.minsa", "Acusar recibo", {}, number)
    work(
        app,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "pedir_informacion", "pregunta": "¿Qué medicamento le faltó?"},
        number,
    )
    page = text(post_form(client, "/seguimiento", {"numero": number, "codigo": code}))
    assert '<strong id="estado-publico">Waiting for information from you</strong>' in (
        page
    )
    assert "Status: <strong>Assigned to the entity</strong>" in page
    assert '<p class="note-label">Question for you</p>' in page
    # The question heads the answer box; the form is named by the task.
    assert "The entity asks you" in page
    assert 'aria-label="Answer the entity\'s question"' in page
    assert "The entity handling your case needs <strong>more information</strong>" in (
        page
    )
    assert '<label for="respuesta_ciudadano">Your answer' in page
    assert "Esperando información" not in page

    spanish = app.test_client()
    page = text(post_form(spanish, "/seguimiento", {"numero": number, "codigo": code}))
    assert '<strong id="estado-publico">Esperando información del ciudadano' in page
    assert '<p class="note-label">Pregunta para usted</p>' in page
    assert "La entidad le pregunta" in page
    assert 'aria-label="Responder la consulta de la entidad"' in page


def test_staff_keep_the_diagrams_spanish(app):
    """An agent who chose English files and reads cases with the bundle's
    Spanish texts (staff work in Spanish); only the interface is English."""
    staff = app.test_client()
    Auth(staff).login("agente")
    in_english(staff)
    page = text(staff.get("/casos/nuevo/queja"))
    assert "<h1>Presentar una queja</h1>" in page
    assert "Submit" in page  # the interface's own words are English
    resp = post_form(staff, "/casos/nuevo/queja", QUEJA)
    assert resp.status_code == 303
    receipt_page = text(staff.get(resp.headers["Location"]))
    assert "<strong>Queja</strong>" in receipt_page
    number = must_search(r'id="numero-caso">([^<]+)<', receipt_page).group(1)
    case_page = text(staff.get(f"/casos/{number}"))
    assert "En revisión por el 311" in case_page
    assert "Under review by 311" not in case_page
