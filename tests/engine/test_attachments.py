"""Attachments: content checks, storage with the step, notes, who sees what."""

from __future__ import annotations

import io
import warnings

import pytest
from PIL import Image
from sqlalchemy import select

from engine import services
from engine.domain import attachments as checks
from engine.domain.errors import InvalidData, NotAllowed, NotFound
from engine.domain.views import Upload
from engine.services import accounts
from engine.services.platform import Platform
from engine.store.models import Attachment, AttachmentContent, CaseEvent
from tests.sample_files import (
    exe_bytes,
    gif_javascript,
    gps_jpeg,
    jpeg_with_zip_and_html,
    office,
    pdf,
    plain_png,
    png_bomb,
)

MB = 1024 * 1024
INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua en la vía",
    "descripcion": "Hay una fuga de agua potable frente a la escuela desde el lunes.",
}


def check(name: str, data: bytes, **kw) -> checks.CheckedFile:
    """Run the content checks with the default limits (or ``kw``)."""
    limits = {"max_bytes": 10 * MB, "max_pixels": 40_000_000, **kw}
    return checks.inspect(name, data, **limits)


def refusal(name: str, data: bytes, **kw) -> str:
    """The message a refused file gets."""
    with pytest.raises(checks.FileRefused) as refused:
        check(name, data, **kw)
    message = refused.value.message
    return message.text % message.params


def login(p: Platform, username: str):
    """The Actor of a demo user."""
    return accounts.authenticate(p, username, "demo311", client="tests")


def classify(p: Platform, number: str, entity: str, task: str) -> None:
    """The agent accepts the case for ``entity``."""
    agent = login(p, "agente")
    (t,) = [
        t
        for t in services.list_tasks(p, agent)
        if t.case_number == number and t.name == task
    ]
    services.complete_task(p, agent, t.id, {"decision": "aceptar", "entidad": entity})


# --- Content checks ----------------------------------------------------------


def test_photo_loses_gps_exif_and_comment_but_keeps_its_look():
    """A phone photo is re-encoded: no EXIF (GPS), no comment, turned upright."""
    original = gps_jpeg((64, 48))
    assert b"Exif" in original and b"comentario-oculto" in original
    kept = check("IMG_0001.JPG", original)
    assert kept.content_type == "image/jpeg"
    assert kept.filename == "IMG_0001.jpg"
    assert b"Exif" not in kept.content
    assert b"comentario-oculto" not in kept.content
    with Image.open(io.BytesIO(kept.content)) as img:
        assert not img.getexif()
        assert img.getexif().get_ifd(0x8825) == {}
        assert "exif" not in img.info and "comment" not in img.info
        # Orientation 6 was applied to the pixels: the photo stands upright.
        assert img.size == (48, 64)


def test_png_named_jpg_is_stored_as_png():
    """The type comes from the content; the name follows the type."""
    kept = check("foto.jpg", plain_png())
    assert (kept.content_type, kept.filename) == ("image/png", "foto.png")


def test_program_named_jpg_is_refused_naming_the_file():
    """An .exe renamed .jpg is a program, whatever its name says."""
    message = refusal("vacaciones.jpg", exe_bytes())
    assert "«vacaciones.jpg»" in message and "programa" in message


def test_html_and_unknown_types_are_refused():
    """Anything that is not an image, PDF or office document is refused."""
    html = b"<html><script>alert(1)</script></html>"
    assert "no es de un tipo aceptado" in refusal("pagina.jpg", html)
    assert "no es de un tipo aceptado" in refusal("datos.csv", b"a,b\n1,2\n")


def test_jpeg_zip_html_polyglot_keeps_only_the_image():
    """What follows the image (a ZIP, a script) is not kept: only pixels are."""
    kept = check("doble.jpg", jpeg_with_zip_and_html())
    assert kept.content_type == "image/jpeg"
    assert b"PK\x03\x04" not in kept.content
    assert b"<script" not in kept.content and b"alert" not in kept.content
    with Image.open(io.BytesIO(kept.content)) as img:
        img.verify()


def test_gif_javascript_polyglot_is_re_encoded_without_the_script():
    """A GIF that is also JavaScript comes out as a plain PNG of its pixels."""
    kept = check("animado.gif", gif_javascript())
    assert (kept.content_type, kept.filename) == ("image/png", "animado.png")
    assert b"alert" not in kept.content and not kept.content.startswith(b"GIF")


def test_decompression_bomb_is_refused_from_its_header():
    """Huge dimensions are refused before any pixel is decoded."""
    bomb = png_bomb(60000, 60000)
    assert len(bomb) < 200
    assert "demasiado grande" in refusal("bomba.png", bomb)


def test_pillows_bomb_warning_is_a_refusal_not_a_warning():
    """Above Pillow's own limit, even with a looser setting, it is refused."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        message = refusal("grande.png", png_bomb(10000, 10000), max_pixels=10**12)
    assert "demasiado grande" in message


def test_oversize_and_empty_files_are_refused():
    """Per-file size limit, with the limit in the message; empty files too."""
    assert "pesa más de 1 MB." in refusal("informe.pdf", pdf(b"x" * MB), max_bytes=MB)
    assert "está vacío" in refusal("nada.pdf", b"")


def test_broken_image_is_refused():
    """A JPEG header without an image behind it is refused."""
    assert "dañada" in refusal("rota.jpg", gps_jpeg()[:40])


def test_pdf_is_kept_as_is_but_active_content_is_refused():
    """PDFs: accepted byte for byte; JavaScript (even #-escaped) refused."""
    document = pdf()
    kept = check("oficio.pdf", document)
    assert kept.content == document and kept.content_type == "application/pdf"
    assert "programas" in refusal("js.pdf", pdf(b"<< /S /JavaScript /JS (app) >>"))
    assert "programas" in refusal("js2.pdf", pdf(b"<< /S /J#61vaScript >>"))
    assert "dañado" in refusal("corto.pdf", document[:20])


@pytest.mark.parametrize("kind", ["docx", "xlsx", "pptx", "odt", "ods"])
def test_office_documents_are_kept_as_is(kind):
    """Office documents with their format's structure are accepted unchanged."""
    document = office(kind)
    kept = check(f"informe.{kind}", document)
    assert kept.content == document and kept.filename == f"informe.{kind}"


def test_office_documents_with_macros_or_programs_are_refused():
    """Macros, programs inside, or a plain ZIP: refused."""
    macro = office("docx", {"word/vbaProject.bin": b"macro"})
    assert "macros" in refusal("carta.docx", macro)
    hidden = office("xlsx", {"xl/media/image1.png": exe_bytes()})
    assert "macros o programas" in refusal("hoja.xlsx", hidden)
    zipped = office("docx")
    plain = zipped.replace(b"[Content_Types].xml", b"[Content_Typez].xml")
    assert "no es un documento de oficina" in refusal("falso.docx", plain)


def test_file_names_are_made_safe():
    """No paths, controls or quotes; the detected type's extension."""
    assert checks.safe_name("../../etc/pass\x00wd.jpg", "png") == "passwd.png"
    assert checks.safe_name('C:\\fotos\\"a<b>".pdf', "pdf") == "ab.pdf"
    assert checks.safe_name("", "pdf") == "adjunto.pdf"


# --- Stored with the case ----------------------------------------------------


def test_intake_photo_is_stored_without_exif_with_the_case(seeded):
    """A citizen's GPS photo: stored re-encoded, listed for staff and citizen."""
    photo = Upload("adjuntos", "calle.jpg", gps_jpeg())
    opened = services.open_case(seeded, "queja", INTAKE, files=[photo])
    with seeded.db.read() as s:
        (row,) = s.scalars(select(Attachment)).all()
        content = s.scalars(select(AttachmentContent.content)).one()
    assert (row.source, row.public, row.sealed) == ("intake", True, False)
    assert row.size == len(content) and b"Exif" not in content
    staff = services.get_case(seeded, login(seeded, "agente"), opened.number)
    assert [a.filename for a in staff.attachments] == ["calle.jpg"]
    public = services.track_case(seeded, opened.number, opened.access_code, client="c")
    assert [a.id for a in public.attachments] == [row.id]
    got = services.citizen_attachment(
        seeded, opened.number, opened.access_code, row.id, client="c"
    )
    assert got.content == content


def test_a_refused_file_files_nothing_and_names_the_field(seeded):
    """One bad file: InvalidData keyed by its input, and no case is filed."""
    files = [
        Upload("adjuntos", "ok.png", plain_png()),
        Upload("adjuntos", "virus.jpg", exe_bytes()),
    ]
    with pytest.raises(InvalidData) as invalid:
        services.open_case(seeded, "queja", INTAKE, files=files)
    assert list(invalid.value.errors) == ["adjuntos"]
    assert invalid.value.errors["adjuntos"][0].params["name"] == "virus.jpg"
    with seeded.db.read() as s:
        assert s.scalars(select(Attachment)).all() == []


def test_limits_per_upload_and_per_case(seeded):
    """Too many files at once, or more than the case's total, are refused."""
    seeded.limits.attachment_files = 2
    many = [Upload("adjuntos", f"{i}.png", plain_png()) for i in range(3)]
    with pytest.raises(InvalidData):
        services.open_case(seeded, "queja", INTAKE, files=many)
    seeded.limits.attachment_case_bytes = len(pdf(b"x" * 3000)) + 100
    opened = services.open_case(
        seeded, "queja", INTAKE, files=[Upload("adjuntos", "a.pdf", pdf(b"x" * 3000))]
    )
    agent = login(seeded, "agente")
    with pytest.raises(InvalidData) as full:
        services.add_note(
            seeded,
            agent,
            opened.number,
            "Otro documento",
            False,
            [Upload("adjuntos", "b.pdf", pdf(b"y" * 200))],
        )
    assert "en total" in full.value.errors["adjuntos"][0].text


# --- Notes ---------------------------------------------------------------------


def test_internal_note_never_reaches_the_citizen_and_public_note_does(seeded):
    """Service-level filtering: the citizen's timeline and files leave it out."""
    opened = services.open_case(seeded, "queja", INTAKE)
    classify(seeded, opened.number, "MINSA", "Clasificar la queja")
    enlace = login(seeded, "enlace.minsa")
    services.add_note(
        seeded,
        enlace,
        opened.number,
        "Interno: revisar el contrato del proveedor.",
        False,
        [Upload("adjuntos", "contrato.pdf", pdf())],
    )
    services.add_note(
        seeded,
        enlace,
        opened.number,
        "Una cuadrilla visitará el lugar el jueves.",
        True,
        [Upload("adjuntos", "aviso.png", plain_png())],
    )
    public = services.track_case(seeded, opened.number, opened.access_code, client="c")
    notes = [e for e in public.timeline if e.kind == "note"]
    assert [e.data["text"] for e in notes] == [
        "Una cuadrilla visitará el lugar el jueves."
    ]
    assert "contrato" not in repr(public)
    assert [a.filename for a in public.attachments] == ["aviso.png"]
    (internal_file,) = [
        a
        for a in services.get_case(seeded, enlace, opened.number).attachments
        if not a.public
    ]
    with pytest.raises(NotFound):
        services.citizen_attachment(
            seeded, opened.number, opened.access_code, internal_file.id, client="c"
        )
    staff = services.get_case(seeded, enlace, opened.number)
    assert [(e.public, e.actor) for e in staff.events if e.kind == "note"] == [
        (False, "Elena Enlace (MINSA)"),
        (True, "Elena Enlace (MINSA)"),
    ]
    found = services.search_cases(
        seeded, login(seeded, "agente"), services.case_query({"q": "proveedor"})
    )
    assert [hit.number for hit in found.hits] == [opened.number]


def test_notes_need_text_and_staff(seeded):
    """An empty note is refused beside its field; nobody but staff writes one."""
    opened = services.open_case(seeded, "queja", INTAKE)
    with pytest.raises(InvalidData) as empty:
        services.add_note(seeded, login(seeded, "agente"), opened.number, "  ", True)
    assert list(empty.value.errors) == ["nota"]
    with pytest.raises(NotAllowed):
        services.add_note(seeded, login(seeded, "disenador"), opened.number, "x", True)


def test_enlace_of_another_entity_reaches_no_case_note_or_file(seeded):
    """MOP's enlace: no note on a MINSA case, no file of it by any id."""
    opened = services.open_case(
        seeded, "queja", INTAKE, files=[Upload("adjuntos", "f.png", plain_png())]
    )
    classify(seeded, opened.number, "MINSA", "Clasificar la queja")
    mop = login(seeded, "enlace.mop")
    minsa = login(seeded, "enlace.minsa")
    (photo,) = services.get_case(seeded, minsa, opened.number).attachments
    with pytest.raises(NotAllowed):
        services.add_note(seeded, mop, opened.number, "Hola", False)
    with pytest.raises(NotAllowed):
        services.get_attachment(seeded, mop, opened.number, photo.id)
    # Its own case's number with another case's file id: no such file there.
    other = services.open_case(seeded, "queja", INTAKE)
    classify(seeded, other.number, "MOP", "Clasificar la queja")
    with pytest.raises(NotFound):
        services.get_attachment(seeded, mop, other.number, photo.id)
    assert services.get_attachment(seeded, minsa, opened.number, photo.id).content


# --- Sealed with a reserved identity -----------------------------------------


def test_identifying_file_of_a_reserved_denuncia_is_sealed(seeded):
    """Encrypted at rest, hidden from the enlace and the citizen, opened audited."""
    data = {
        "categoria": "salud",
        "asunto": "Cobro indebido",
        "descripcion": "Un funcionario cobra por citas que deberían ser gratuitas.",
        "nombre": "Testigo",
        "identidad_reservada": True,
    }
    cedula = Upload("adjuntos_identificantes", "cedula_juan.png", plain_png(), True)
    evidence = Upload("adjuntos", "recibo.pdf", pdf())
    opened = services.open_case(seeded, "denuncia", data, files=[cedula, evidence])
    classify(seeded, opened.number, "MINSA", "Clasificar la denuncia")
    enlace = login(seeded, "enlace.minsa")
    listed = {
        a.filename: a
        for a in services.get_case(seeded, enlace, opened.number).attachments
    }
    assert set(listed) == {"adjunto-reservado.png", "recibo.pdf"}
    sealed = listed["adjunto-reservado.png"]
    assert sealed.sealed and not listed["recibo.pdf"].sealed
    with seeded.db.read() as s:
        stored = s.get(AttachmentContent, sealed.id)
        assert stored is not None and b"PNG" not in stored.content
    assert services.get_attachment(
        seeded, enlace, opened.number, listed["recibo.pdf"].id
    )
    supervisor = login(seeded, "supervisor")
    for actor in (enlace, supervisor):
        with pytest.raises(NotAllowed):
            services.get_attachment(seeded, actor, opened.number, sealed.id)
    with pytest.raises(NotAllowed):
        services.unseal_attachment(
            seeded, enlace, opened.number, sealed.id, "Quiero ver quién es."
        )
    public = services.track_case(seeded, opened.number, opened.access_code, client="c")
    assert [a.filename for a in public.attachments] == ["recibo.pdf"]
    reason = "Oficio 55 del Ministerio Público, fiscalía anticorrupción."
    opened_file = services.unseal_attachment(
        seeded, supervisor, opened.number, sealed.id, reason
    )
    assert opened_file.content == check("c.png", plain_png()).content
    with seeded.db.read() as s:
        audit = s.scalars(
            select(CaseEvent.data).where(CaseEvent.kind == "identity_unsealed")
        ).all()
    assert audit == [
        {"reason": reason, "attachment": sealed.id, "role": "supervisor_311"}
    ]
    enlace_view = services.get_case(seeded, enlace, opened.number)
    assert reason not in repr(enlace_view)
