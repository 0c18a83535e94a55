"""Attachments and notes through the web: forms, downloads, headers, access."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import select

from engine.store.models import Attachment
from tests.conftest import Auth, csrf_token, must_search, post_form, work
from tests.sample_files import exe_bytes, gps_jpeg, pdf, plain_png

GOOD = {
    "categoria": "basura",
    "asunto": "Basura sin recoger",
    "descripcion": "Hace dos semanas que no pasa el camión por la calle 12.",
}


def file_with(client, files: list[tuple[bytes, str]], **extra):
    """POST the queja intake with files (multipart, like a browser)."""
    token = csrf_token(client, "/casos/nuevo/queja")
    data = {
        **GOOD,
        **extra,
        "csrf_token": token,
        "adjuntos": [(io.BytesIO(content), name) for content, name in files],
    }
    return client.post(
        "/casos/nuevo/queja", data=data, content_type="multipart/form-data"
    )


def filed(client, resp) -> tuple[str, str]:
    """(number, code) from the confirmation page a filing redirected to."""
    assert resp.status_code == 303, resp.get_data(as_text=True)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    number = must_search(r'id="numero-caso">([^<]+)<', page).group(1)
    code = must_search(r'id="codigo-acceso">([^<]+)<', page).group(1)
    return number, code


def attachment_ids(app) -> list[str]:
    """Every stored attachment id, oldest first."""
    with app.extensions["centro311"].db.read() as s:
        return list(s.scalars(select(Attachment.id).order_by(Attachment.created_at)))


def test_download_is_an_attachment_with_safe_headers_and_no_exif(app, client):
    """Staff download the citizen's photo: attachment, nosniff, no cache, no GPS."""
    number, _ = filed(client, file_with(client, [(gps_jpeg(), "mi foto ñ.jpg")]))
    (attachment_id,) = attachment_ids(app)
    staff = app.test_client()
    Auth(staff).login("agente")
    page = staff.get(f"/casos/{number}").get_data(as_text=True)
    assert f"/casos/{number}/adjuntos/{attachment_id}" in page
    resp = staff.get(f"/casos/{number}/adjuntos/{attachment_id}")
    assert resp.status_code == 200
    assert resp.mimetype == "image/jpeg"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''mi%20foto%20%C3%B1.jpg" in disposition
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert b"Exif" not in resp.data
    with Image.open(io.BytesIO(resp.data)) as img:
        assert not img.getexif()


def test_disguised_file_is_refused_beside_its_input_keeping_the_text(client):
    """An .exe named .jpg: 422, the message names it, the typed text stays."""
    resp = file_with(client, [(exe_bytes(), "foto.jpg")])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="adjuntos-error"' in html
    assert "«foto.jpg» es un programa" in html
    assert "Hace dos semanas que no pasa el camión" in html


def test_oversize_file_is_refused_with_a_message(app, client):
    """A file over ATTACHMENT_MAX_BYTES gets the limit in the message."""
    # Small numbers: the test client spools bodies over 500 KB to files.
    app.extensions["centro311"].limits.attachment_max_bytes = 100 * 1024
    big = pdf(b"x" * (100 * 1024))
    resp = file_with(client, [(big, "informe.pdf")])
    assert resp.status_code == 422
    assert "«informe.pdf» pesa más de 100 KB" in resp.get_data(as_text=True)


def test_upload_forms_accept_more_than_max_content_length(app, client):
    """The intake takes files above MAX_CONTENT_LENGTH; other forms do not."""
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    document = pdf(b"z" * 200_000)
    number, _ = filed(client, file_with(client, [(document, "grande.pdf")]))
    assert number
    token = csrf_token(client, "/seguimiento")
    resp = client.post(
        "/seguimiento", data={"numero": "x" * 100_000, "csrf_token": token}
    )
    assert resp.status_code == 413


def test_notes_internal_and_public_reach_only_whom_they_should(app, client):
    """The enlace adds both; tracking shows the public note and its file only."""
    number, code = filed(client, file_with(client, []))
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MUPA"},
        number,
    )
    enlace = app.test_client()
    Auth(enlace).login("enlace.mupa")
    url = f"/casos/{number}"
    for text, visibility, name in (
        ("Nota solo para el equipo de aseo.", "interna", "interno.pdf"),
        ("Pasaremos a recoger la basura el viernes.", "publica", "ruta.png"),
    ):
        token = csrf_token(enlace, url)
        content = pdf() if name.endswith(".pdf") else plain_png()
        resp = enlace.post(
            f"{url}/notas",
            data={
                "nota": text,
                "visibilidad": visibility,
                "csrf_token": token,
                "adjuntos": [(io.BytesIO(content), name)],
            },
            content_type="multipart/form-data",
        )
        assert resp.status_code == 303, resp.get_data(as_text=True)
    staff_page = enlace.get(url).get_data(as_text=True)
    assert "Nota solo para el equipo de aseo." in staff_page
    assert "Pasaremos a recoger la basura el viernes." in staff_page
    track = post_form(client, "/seguimiento", {"numero": number, "codigo": code})
    html = track.get_data(as_text=True)
    assert "Pasaremos a recoger la basura el viernes." in html
    assert "Nota solo para el equipo de aseo." not in html
    assert "ruta.png" in html and "interno.pdf" not in html
    internal_id, public_id = attachment_ids(app)
    assert client.get(f"/seguimiento/adjuntos/{public_id}").status_code == 200
    assert client.get(f"/seguimiento/adjuntos/{internal_id}").status_code == 404


def test_empty_note_re_renders_with_the_message(app):
    """No text: 422 with the message beside the note field."""
    staff = app.test_client()
    Auth(staff).login("agente")
    number, _ = filed(staff, file_with(staff, []))
    resp = staff.post(
        f"/casos/{number}/notas",
        data={"nota": " ", "csrf_token": csrf_token(staff, f"/casos/{number}")},
    )
    assert resp.status_code == 422
    assert 'id="nota-error"' in resp.get_data(as_text=True)


def test_other_entitys_enlace_reaches_nothing_by_any_url(app, client):
    """MOP's enlace: case page, note form, file download, all refused."""
    number, code = filed(client, file_with(client, [(plain_png(), "a.png")]))
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MUPA"},
        number,
    )
    (attachment_id,) = attachment_ids(app)
    mop = app.test_client()
    Auth(mop).login("enlace.mop")
    assert mop.get(f"/casos/{number}").status_code == 403
    assert mop.get(f"/casos/{number}/adjuntos/{attachment_id}").status_code == 403
    token = csrf_token(mop, "/tareas")
    resp = mop.post(
        f"/casos/{number}/notas", data={"nota": "Hola", "csrf_token": token}
    )
    assert resp.status_code == 403
    assert mop.get(f"/casos/{number}/adjuntos/no-existe").status_code in (403, 404)
    # Anonymous visitors are sent to log in; a citizen without the tracking
    # session gets nothing either.
    anonymous = app.test_client()
    resp = anonymous.get(f"/casos/{number}/adjuntos/{attachment_id}")
    assert resp.status_code in (302, 401)
    resp = anonymous.get(f"/seguimiento/adjuntos/{attachment_id}")
    assert resp.status_code == 303 and "/seguimiento" in resp.headers["Location"]
    assert code


def test_citizen_task_and_staff_task_take_files(app, client):
    """Files sent with a staff task are internal to staff."""
    number, code = filed(client, file_with(client, []))
    staff = app.test_client()
    Auth(staff).login("agente")
    inbox = staff.get("/tareas").get_data(as_text=True)
    link = must_search(r'href="(/tareas/[0-9a-f-]+)">Clasificar la queja<', inbox)
    token = csrf_token(staff, link.group(1))
    resp = staff.post(
        link.group(1),
        data={
            "decision": "aceptar",
            "entidad": "MUPA",
            "csrf_token": token,
            "adjuntos": [(io.BytesIO(pdf()), "memo.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    with app.extensions["centro311"].db.read() as s:
        row = s.scalars(select(Attachment)).one()
    assert (row.source, row.public, row.filename) == ("task", False, "memo.pdf")
    track = post_form(client, "/seguimiento", {"numero": number, "codigo": code})
    assert "memo.pdf" not in track.get_data(as_text=True)
    assert re.search(
        r'enctype="multipart/form-data"',
        staff.get(f"/casos/{number}").get_data(as_text=True),
    )
