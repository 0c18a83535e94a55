"""Designer pages for drafts: save as draft, publish with a note (a new case
type confirmed first), discard, and practice mode (file, list, delete)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from engine.bundles import registry
from tests.conftest import Auth, csrf_token, must_search, post_form, without_scenarios

ROOT = Path(__file__).resolve().parents[2]
ALUMBRADO = ROOT / "tests" / "fixtures" / "bundles" / "alumbrado"
QUEJA = {
    "categoria": "salud",
    "asunto": "Sin medicamentos en la farmacia",
    "descripcion": "La farmacia del policentro no tiene medicamentos para la presión.",
}


def logged_in(app, username: str = "disenador"):
    """A test client logged in as ``username``."""
    c = app.test_client()
    Auth(c).login(username)
    return c


def save_draft(c) -> None:
    """Save the modeler's diagram (renamed task) as draft 2 of queja."""
    page = c.get("/diseno/queja/v/1/archivos/queja.bpmn").get_data(as_text=True)
    xml = page.replace('name="Clasificar la queja"', 'name="Clasificar (borrador)"')
    resp = post_form(
        c,
        "/diseno/queja/modelador",
        {"xml": xml, "version": "1", "nota": "Probar", "borrador": "1"},
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    assert resp.headers["Location"] == "/diseno/queja/v/2"


def test_a_modeler_draft_is_listed_and_serves_no_new_case(app):
    """The draft is tagged on the list and its page; intake stays on v1."""
    c = logged_in(app)
    save_draft(c)
    page = c.get("/diseno/queja/v/2").get_data(as_text=True)
    assert "Borrador: aún no se usa para casos nuevos" in page
    assert "/diseno/queja/v/2/publicar" in page and "/diseno/queja/v/2/practica" in page
    listed = c.get("/diseno").get_data(as_text=True)
    assert "tag-draft" in listed
    # The citizen's intake still files on version 1.
    resp = post_form(app.test_client(), "/casos/nuevo/queja", QUEJA)
    assert resp.status_code == 303
    agent = logged_in(app, "agente").get("/tareas").get_data(as_text=True)
    assert "Clasificar la queja" in agent and "Clasificar (borrador)" not in agent


def test_upload_as_draft_and_publish_with_a_note(app):
    """Upload with the draft box → draft page; publish needs a note (kept on
    a refusal); then new cases use it."""
    c = logged_in(app)
    # Loose files (not a zip) carry no process tests.
    files = without_scenarios(
        registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"]
    )
    resp = c.post(
        "/diseno/desplegar",
        data={
            "csrf_token": csrf_token(c, "/diseno/desplegar"),
            "nota": "Igual que la semilla",
            "borrador": "1",
            "archivos": [
                (io.BytesIO(text.encode()), name) for name, text in files.items()
            ],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303 and resp.headers["Location"] == "/diseno/queja/v/2"
    refused = post_form(c, "/diseno/queja/v/2/publicar", {"nota": "   "})
    assert refused.status_code == 422
    assert 'id="nota-error"' in refused.get_data(as_text=True)
    long_note = "x" * 1001
    refused = post_form(c, "/diseno/queja/v/2/publicar", {"nota": long_note})
    assert refused.status_code == 422 and long_note in refused.get_data(as_text=True)
    resp = post_form(c, "/diseno/queja/v/2/publicar", {"nota": "Lista"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/diseno"
    listed = c.get("/diseno").get_data(as_text=True)
    assert "Se publicó la versión 2" in listed
    row = must_search(
        r"<tr>\s*<td[^>]*><a href=\"/diseno/queja/v/2\".*?</tr>", listed, re.S
    )
    assert "vigente" in row.group(0)


def test_a_new_case_type_is_confirmed_before_publishing(app):
    """The publication page shows the title and intake form; without the
    confirmation box it refuses, keeping the note."""
    c = logged_in(app)
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(ALUMBRADO.iterdir())]
    resp = c.post(
        "/diseno/desplegar",
        data={
            "csrf_token": csrf_token(c, "/diseno/desplegar"),
            "nota": "",
            "archivos": files,
        },
        content_type="multipart/form-data",
    )
    assert resp.headers["Location"] == "/diseno/alumbrado/v/1/publicar"
    page = c.get("/diseno/alumbrado/v/1/publicar").get_data(as_text=True)
    assert "Tipo de caso nuevo" in page and "Reparación de alumbrado público" in page
    assert 'name="direccion"' in page and 'name="confirmar"' in page
    refused = post_form(c, "/diseno/alumbrado/v/1/publicar", {"nota": "Primera"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="confirmar-error"' in text and ">Primera</textarea>" in text
    assert "alumbrado" not in app.test_client().get("/").get_data(as_text=True)
    resp = post_form(
        c, "/diseno/alumbrado/v/1/publicar", {"nota": "Primera", "confirmar": "1"}
    )
    assert resp.status_code == 303
    assert "/casos/nuevo/alumbrado" in app.test_client().get("/").get_data(as_text=True)


def test_practice_cases_are_filed_worked_badged_and_deleted(app):
    """File two practice cases on the draft; staff cannot see them; the
    designer deletes one, then all; discarding the draft leaves v1."""
    c = logged_in(app)
    save_draft(c)
    url = "/diseno/queja/v/2/practica"
    refused = post_form(c, url, {"categoria": "salud", "asunto": "Sin descripción"})
    assert refused.status_code == 422
    assert 'value="Sin descripción"' in refused.get_data(as_text=True)
    numbers = []
    for _ in range(2):
        resp = post_form(c, url, QUEJA)
        assert resp.status_code == 303 and resp.headers["Location"] == url
        page = c.get(url).get_data(as_text=True)
        numbers.append(must_search(r"caso de práctica (311-\d{4}-\d{6})", page)[1])
    page = c.get(url).get_data(as_text=True)
    assert page.count('class="tag tag-practice"') == 3  # heading + two rows
    task = must_search(r'href="(/tareas/[0-9a-f-]+)">Clasificar \(borrador\)', page)
    task_page = c.get(task[1]).get_data(as_text=True)
    assert "tag-practice" in task_page
    case_page = c.get(f"/casos/{numbers[0]}").get_data(as_text=True)
    assert "tag-practice" in case_page

    agent = logged_in(app, "agente")
    assert agent.get(url).status_code == 403
    assert agent.get(f"/casos/{numbers[0]}").status_code == 403
    assert agent.get(task[1]).status_code == 403
    assert numbers[0] not in agent.get("/tareas").get_data(as_text=True)

    token = csrf_token(c, url)
    assert c.post(f"{url}/{numbers[0]}/borrar").status_code == 400  # no CSRF
    resp = c.post(f"{url}/{numbers[0]}/borrar", data={"csrf_token": token})
    assert resp.status_code == 303
    page = c.get(url).get_data(as_text=True)
    assert numbers[0] not in page.split("Casos de práctica de la versión")[1]
    resp = c.post(f"{url}/borrar", data={"csrf_token": token})
    assert resp.status_code == 303
    assert "Aún no hay casos de práctica" in c.get(url).get_data(as_text=True)

    resp = c.post("/diseno/queja/v/2/descartar", data={"csrf_token": token})
    assert resp.status_code == 303
    assert c.get("/diseno/queja/v/2").status_code == 404
