"""Notes and attachments in a real Chromium, pages checked with axe-core.

The citizen files a queja with a phone photo carrying GPS EXIF: the stored
file has no EXIF. MINSA's enlace adds an internal and a public note on the
case page; the citizen's tracking page shows the public one only.
"""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from engine.store.models import Attachment, AttachmentContent
from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_queja_flow import (
    DESCRIPCION,
    complete,
    login,
    logout,
    open_task,
    track,
)
from tests.sample_files import gps_jpeg

INTERNAL = "Revisar con la dirección regional antes de responder."
PUBLIC = "La dirección regional visitará el centro de salud esta semana."


def test_photo_without_exif_and_notes_to_whom_they_belong(
    live_server: str, page: Any, app: Any
) -> None:
    """GPS photo at intake → stored clean; internal note hidden from the citizen."""
    base = live_server
    photo = gps_jpeg((320, 240))
    assert b"Exif" in photo

    page.goto(f"{base}/casos/nuevo/queja")
    page.get_by_label("Categoría").select_option("salud")
    page.get_by_label("Asunto").fill("Centro de salud cerrado")
    page.get_by_label("Descripción").fill(DESCRIPCION)
    page.get_by_label("Fotos o documentos").set_input_files(
        [{"name": "IMG_2040.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    check_a11y(page, "intake-with-files")
    page.get_by_role("button", name="Enviar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recibimos su caso")
    number = page.locator("#numero-caso").inner_text().strip()
    code = page.locator("#codigo-acceso").inner_text().strip()

    # What was stored is the photo's pixels, without EXIF (no GPS position).
    with app.extensions["centro311"].db.read() as s:
        row = s.scalars(select(Attachment)).one()
        stored = s.scalars(select(AttachmentContent.content)).one()
    assert (row.filename, row.content_type) == ("IMG_2040.jpg", "image/jpeg")
    assert b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert not img.getexif()
        assert img.size == (240, 320)  # the EXIF orientation was applied

    login(page, base, "agente")
    open_task(page, "Clasificar la queja", number)
    page.get_by_role("radio", name="Aceptar y asignar a una entidad").check()
    complete(page, base, number)
    logout(page)

    # MINSA's enlace writes an internal and a public note on the case page.
    login(page, base, "enlace.minsa")
    page.goto(f"{base}/casos/{number}")
    expect(page.get_by_role("link", name="IMG_2040.jpg")).to_be_visible()
    for text, who in (
        (INTERNAL, "Nota interna: solo el personal"),
        (PUBLIC, "Nota pública: también el ciudadano, en el seguimiento del caso"),
    ):
        page.get_by_label("Nota", exact=True).fill(text)
        page.get_by_role("radio", name=who).check()
        page.get_by_role("button", name="Agregar nota").click()
        expect(page.get_by_role("status").first).to_contain_text("Nota")
        expect(page.locator(".timeline")).to_contain_text(text)
    check_a11y(page, "case-with-notes")
    shot(page, "20-case-notes")
    with page.expect_download() as download:
        page.get_by_role("link", name="IMG_2040.jpg").click()
    assert download.value.suggested_filename == "IMG_2040.jpg"
    logout(page)

    # The citizen sees the public note and the photo; never the internal note.
    track(page, base, number, code)
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text(PUBLIC)
    expect(timeline).not_to_contain_text(INTERNAL)
    expect(page.locator("body")).not_to_contain_text(INTERNAL)
    expect(page.get_by_role("link", name="IMG_2040.jpg")).to_be_visible()
    check_a11y(page, "tracking-with-notes")
    shot(page, "21-tracking-notes")
    with page.expect_download() as download:
        page.get_by_role("link", name="IMG_2040.jpg").click()
    assert re.fullmatch(r"IMG_2040\.jpg", download.value.suggested_filename)
