"""Designer pages: roles, deploys (files, zip, refused), modeler, form editor,
file views, the form preview, the case diagram and the citizen's steps."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from tests.conftest import Auth, csrf_token, must_search, post_form, receipt, work

ROOT = Path(__file__).resolve().parents[2]
ALUMBRADO = ROOT / "tests" / "fixtures" / "bundles" / "alumbrado"
QUEJA = {
    "categoria": "salud",
    "asunto": "Sin medicamentos en la farmacia",
    "descripcion": "La farmacia del policentro no tiene medicamentos para la presión.",
}
REPORTE = {
    "direccion": "Calle 50, frente al edificio Global Bank",
    "numero_poste": "PB-1234",
}
GET_URLS = [
    "/diseno",
    "/diseno/desplegar",
    "/diseno/queja/v/1",
    "/diseno/queja/v/1/archivos/queja.bpmn",
    "/diseno/queja/modelador",
    "/diseno/queja/formularios/registro.json",
    "/diseno/queja/v/1/trasladar",
]
POST_URLS = [
    "/diseno/desplegar",
    "/diseno/queja/modelador",
    "/diseno/queja/formularios/registro.json",
    "/diseno/formularios/vista-previa",
    "/diseno/queja/v/1/trasladar",
]


# --------------------------------------------------------------------------
# Helpers


def alumbrado_files() -> list[tuple[str, bytes]]:
    """The alumbrado fixture bundle as (name, bytes) pairs."""
    return [(p.name, p.read_bytes()) for p in sorted(ALUMBRADO.iterdir())]


def as_zip(files: list[tuple[str, bytes]]) -> bytes:
    """A zip archive holding ``files``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def designer(app):
    """A test client logged in as the designer."""
    c = app.test_client()
    Auth(c).login("disenador")
    return c


def upload(client, files: list[tuple[str, bytes]], note: str = "Prueba"):
    """POST files to the deploy form as a multipart upload, like a browser."""
    token = csrf_token(client, "/diseno/desplegar")
    return client.post(
        "/diseno/desplegar",
        data={
            "csrf_token": token,
            "nota": note,
            "archivos": [(io.BytesIO(data), name) for name, data in files],
        },
        content_type="multipart/form-data",
    )


def file_queja(app) -> tuple[str, str]:
    """A citizen files a queja on the web; returns (number, code)."""
    c = app.test_client()
    return receipt(c, post_form(c, "/casos/nuevo/queja", QUEJA))


def inbox_task(app, username: str, number: str) -> str:
    """The name of the task ``username`` sees in the inbox for case ``number``."""
    c = app.test_client()
    Auth(c).login(username)
    inbox = c.get("/tareas").get_data(as_text=True)
    row = next(r for r in inbox.split("<tr>") if number in r)
    return must_search(r'href="/tareas/[0-9a-f-]+">([^<]+)</a>', row).group(1)


def versions_table(client) -> str:
    """The version rows of the designer list (what was deployed, by whom)."""
    html = client.get("/diseno").get_data(as_text=True)
    return "".join(re.findall(r"<tbody>.*?</tbody>", html, re.S))


# --------------------------------------------------------------------------
# Who may design


@pytest.mark.parametrize("url", GET_URLS)
def test_anonymous_visitors_go_to_login(client, url):
    """Every designer page sends anonymous visitors to the login page."""
    resp = client.get(url)
    assert resp.status_code == 302 and "/ingresar" in resp.headers["Location"]


@pytest.mark.parametrize("url", POST_URLS)
def test_anonymous_posts_go_to_login(client, url):
    """A form posted without a login (with a valid CSRF token) goes to login."""
    token = csrf_token(client, "/")
    resp = client.post(url, data={"csrf_token": token})
    assert resp.status_code == 302 and "/ingresar" in resp.headers["Location"]


@pytest.mark.parametrize("url", GET_URLS)
def test_agents_are_refused(client, auth, url):
    """An agent gets 403 on every designer page."""
    auth.login("agente")
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", POST_URLS)
def test_agents_cannot_post(client, auth, url):
    """An agent gets 403 on every designer form, with a valid token."""
    auth.login("agente")
    token = csrf_token(client, "/tareas")
    assert client.post(url, data={"csrf_token": token}).status_code == 403


def test_nav_link_only_for_designers_and_admins(app):
    """The "Diseño" link shows for designers and admins, not for agents."""
    for username, shown in (("disenador", True), ("admin", True), ("agente", False)):
        c = app.test_client()
        Auth(c).login(username)
        html = c.get("/").get_data(as_text=True)
        assert ('href="/diseno"' in html) is shown, username


def test_designers_land_on_their_page_after_login(client, auth):
    """A designer who works no cases starts on /diseno, not on an empty inbox."""
    resp = auth.login("disenador")
    assert resp.status_code == 303 and resp.headers["Location"] == "/diseno"


def test_list_shows_every_case_type_and_version(app):
    """Case types with their versions: number, who, when (Panama), note."""
    c = designer(app)
    html = c.get("/diseno").get_data(as_text=True)
    for key in ("queja", "denuncia", "sugerencia"):
        assert f'href="/diseno/{key}/v/1"' in html
        assert f'href="/diseno/{key}/modelador"' in html
    assert "Versión inicial (semilla)" in html
    assert "sistema" in html
    # When each version was deployed, as Spanish writes dates ("3 dic 2026, 10:15").
    assert re.search(r">\d{1,2} [a-z]{3,4} \d{4}, \d{1,2}:\d\d</time>", html)
    assert 'id="archivos"' in html and 'enctype="multipart/form-data"' in html


# --------------------------------------------------------------------------
# Deploying uploads


def citizen_files_alumbrado_and_agent_sees_it(app) -> None:
    """The new case type is on offer, can be filed, and reaches the agent."""
    home = app.test_client().get("/").get_data(as_text=True)
    assert "Reparación de alumbrado público" in home
    assert 'href="/casos/nuevo/alumbrado"' in home
    c = app.test_client()
    number, _ = receipt(c, post_form(c, "/casos/nuevo/alumbrado", REPORTE))
    assert (
        inbox_task(app, "agente", number) == "Verificar el reporte y asignar la entidad"
    )


def publish_new(c, tipo: str = "alumbrado") -> None:
    """Confirm and publish version 1 of a new case type on its page."""
    url = f"/diseno/{tipo}/v/1/publicar"
    resp = post_form(c, url, {"nota": "Primera versión", "confirmar": "1"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/diseno"


def test_deploy_files_makes_a_new_case_type(app):
    """Several files → version 1 of alumbrado, a draft until the designer
    confirms its title and intake form; then on the home page."""
    c = designer(app)
    resp = upload(c, alumbrado_files(), note="Nuevo: alumbrado público")
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/diseno/alumbrado/v/1/publicar"
    html = c.get("/diseno").get_data(as_text=True)
    assert "alumbrado" in html and "tipo de caso nuevo" in html
    assert "Nuevo: alumbrado público" in html
    assert "alumbrado" not in c.get("/").get_data(as_text=True)
    publish_new(c)
    citizen_files_alumbrado_and_agent_sees_it(app)


def test_deploy_zip_makes_a_new_case_type(app):
    """The same bundle as one zip (in a folder) deploys the same way."""
    c = designer(app)
    files = [(f"alumbrado/{name}", data) for name, data in alumbrado_files()]
    resp = upload(c, [("alumbrado.zip", as_zip(files))])
    assert resp.status_code == 303
    assert "tipo de caso nuevo" in c.get("/diseno").get_data(as_text=True)
    publish_new(c)
    citizen_files_alumbrado_and_agent_sees_it(app)


def test_broken_upload_lists_every_problem_and_deploys_nothing(app):
    """An unknown lane and a form with invalid JSON: 422, both listed."""
    c = designer(app)
    before = versions_table(c)
    files = dict(alumbrado_files())
    files["alumbrado.bpmn"] = files["alumbrado.bpmn"].replace(
        b'<bpmn:lane id="lane_enlace" name="enlace">',
        b'<bpmn:lane id="lane_enlace" name="cuadrilla">',
    )
    files["reparacion.json"] = b'{"type": "object", "properties": {'
    resp = upload(c, list(files.items()))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    table = must_search(
        r'<table class="table problems[^"]*".*?</table>', html, re.S
    ).group(0)
    rows = re.findall(r"<tr class=\"problem problem-(\w+)\">(.*?)</tr>", table, re.S)
    lane = [r for sev, r in rows if "cuadrilla" in r]
    assert lane and "<code>alumbrado.bpmn</code>" in lane[0]
    # The element column names the lane (or the task in it) by its id.
    assert re.search(r"<code>(lane_enlace|reportar_reparacion)</code>", lane[0])
    assert "no es un rol" in lane[0]
    json_rows = [r for sev, r in rows if "<code>reparacion.json</code>" in r]
    assert json_rows and "El JSON no es válido" in json_rows[0]
    assert all(sev == "error" for sev, _ in rows[:2])
    assert "No se desplegó nada" in html
    assert versions_table(c) == before
    assert "alumbrado" not in app.test_client().get("/").get_data(as_text=True)


def fixture_files(name: str) -> list[tuple[str, bytes]]:
    """The files of a bundle under tests/fixtures/invalid/."""
    folder = ROOT / "tests" / "fixtures" / "invalid" / name
    return [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]


def test_warnings_are_listed_after_a_good_deploy(app):
    """A bundle with only warnings deploys; the list shows them once."""
    c = designer(app)
    resp = upload(c, fixture_files("dmn_sin_comodin"))
    assert resp.status_code == 303
    html = c.get("/diseno").get_data(as_text=True)
    assert "se guardó como borrador" in html
    table = must_search(
        r'<table class="table problems[^"]*" id="advertencias".*?</table>', html, re.S
    ).group(0)
    assert "sev-warning" in table and "sev-error" not in table
    assert "<code>prioridad.dmn</code>" in table and "comodín" in table
    assert 'id="advertencias"' not in c.get("/diseno").get_data(as_text=True)


def test_errors_and_warnings_look_different(app):
    """A refused bundle lists errors first, then warnings, each labelled."""
    c = designer(app)
    resp = upload(c, fixture_files("errores_y_avisos"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    severities = re.findall(r'<tr class="problem problem-(\w+)">', html)
    assert "error" in severities and "warning" in severities
    assert severities == sorted(severities)  # "error" < "warning"
    assert "✖</span> Error" in html and "⚠</span> Advertencia" in html


def test_zip_with_path_traversal_is_refused(app):
    """A member named ../x is refused with its message; nothing deployed."""
    c = designer(app)
    before = versions_table(c)
    bad = as_zip([*alumbrado_files(), ("../fuera.json", b"{}")])
    resp = upload(c, [("paquete.zip", bad)])
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "<code>../fuera.json</code>" in html
    assert "contiene «..»" in html
    assert versions_table(c) == before


def test_unsupported_file_and_empty_upload(app):
    """A .exe is named in the message; an empty upload asks for files."""
    c = designer(app)
    resp = upload(c, [("programa.exe", b"MZ")])
    assert resp.status_code == 422
    assert "programa.exe" in resp.get_data(as_text=True)
    token = csrf_token(c, "/diseno/desplegar")
    resp = c.post("/diseno/desplegar", data={"csrf_token": token, "nota": "x"})
    assert resp.status_code == 422
    assert "Elija los archivos" in resp.get_data(as_text=True)


def test_upload_over_the_size_limit_gets_413(app):
    """A request body over MAX_CONTENT_LENGTH is refused before parsing."""
    c = designer(app)
    token = csrf_token(c, "/diseno/desplegar")
    big = b" " * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    # Encoded by hand: the test client would spool a body this big to a
    # temporary file that nothing closes when the app stops reading early.
    body = (
        b"--limite\r\n"
        b'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b"\r\n--limite\r\n"
        b'Content-Disposition: form-data; name="archivos"; filename="enorme.json"'
        b"\r\nContent-Type: application/json\r\n\r\n" + big + b"\r\n--limite--\r\n"
    )
    resp = c.post(
        "/diseno/desplegar",
        data=body,
        content_type="multipart/form-data; boundary=limite",
    )
    assert resp.status_code == 413
    assert "demasiado grande" in resp.get_data(as_text=True)


def test_deploy_needs_csrf(app):
    """The deploy form without its token is refused."""
    c = designer(app)
    data = {"archivos": [(io.BytesIO(b), n) for n, b in alumbrado_files()]}
    resp = c.post("/diseno/desplegar", data=data, content_type="multipart/form-data")
    assert resp.status_code == 400


# --------------------------------------------------------------------------
# Versions and their files


def test_version_page_lists_files_and_the_diagram(app):
    """The version page links each file, the form editor and the viewer."""
    c = designer(app)
    html = c.get("/diseno/queja/v/1").get_data(as_text=True)
    for name in ("queja.bpmn", "registro.json", "enrutamiento.dmn"):
        assert f'href="/diseno/queja/v/1/archivos/{name}"' in html
    assert 'href="/diseno/queja/formularios/registro.json"' in html
    assert 'data-diagram-url="/diseno/queja/v/1/archivos/queja.bpmn"' in html
    assert "bpmn-navigated-viewer.production.min.js" in html
    assert "<script>" not in html  # the CSP allows no inline script
    assert c.get("/diseno/queja/v/9").status_code == 404
    assert c.get("/diseno/nada/v/1").status_code == 404


def test_file_view_is_raw_text_with_a_safe_type(app):
    """XML for diagrams and tables, JSON for forms; nosniff; inline."""
    c = designer(app)
    bpmn = c.get("/diseno/queja/v/1/archivos/queja.bpmn")
    assert bpmn.status_code == 200
    assert bpmn.mimetype == "application/xml"
    assert bpmn.headers["X-Content-Type-Options"] == "nosniff"
    assert bpmn.headers["Content-Disposition"].startswith("inline")
    assert 'id="queja"' in bpmn.get_data(as_text=True)
    dmn = c.get("/diseno/queja/v/1/archivos/plazos.dmn")
    assert dmn.mimetype == "application/xml"
    form = c.get("/diseno/queja/v/1/archivos/registro.json")
    assert form.mimetype == "application/json"
    assert form.headers["X-Content-Type-Options"] == "nosniff"
    assert form.get_json()["type"] == "object"
    assert c.get("/diseno/queja/v/1/archivos/otro.json").status_code == 404
    assert c.get("/diseno/queja/v/1/archivos/..%2Fqueja.bpmn").status_code == 404


# --------------------------------------------------------------------------
# Modeler


def test_modeler_page_loads_the_newest_diagram_without_inline_script(app):
    """The modeler page names the diagram URL and its own script file."""
    c = designer(app)
    html = c.get("/diseno/queja/modelador").get_data(as_text=True)
    assert 'data-diagram-url="/diseno/queja/v/1/archivos/queja.bpmn"' in html
    assert "vendor/modeler/modeler.js" in html
    assert "vendor/bpmn-js/assets/bpmn-js.css" in html
    assert '<label for="elemento-elegido">' in html
    assert 'name="version" value="1"' in html
    assert "<script>" not in html and "onclick" not in html


def renamed_queja(app, old: str, new: str) -> str:
    """The newest queja diagram with a task renamed."""
    xml = designer(app).get("/diseno/queja/v/1/archivos/queja.bpmn")
    text = xml.get_data(as_text=True)
    assert f'name="{old}"' in text
    return text.replace(f'name="{old}"', f'name="{new}"')


def test_modeler_saves_a_new_version_and_cases_keep_theirs(app):
    """v2 renames a task: new cases show the new name, older ones keep theirs."""
    old_number, _ = file_queja(app)
    c = designer(app)
    xml = renamed_queja(app, "Clasificar la queja", "Clasificar y asignar la queja")
    resp = post_form(
        c,
        "/diseno/queja/modelador",
        {"xml": xml, "version": "1", "nota": "Nombre más claro"},
    )
    assert resp.status_code == 303 and resp.headers["Location"] == "/diseno"
    html = c.get("/diseno").get_data(as_text=True)
    assert "versión 2" in html and "Nombre más claro" in html
    new_number, _ = file_queja(app)
    assert inbox_task(app, "agente", new_number) == "Clasificar y asignar la queja"
    assert inbox_task(app, "agente", old_number) == "Clasificar la queja"
    # Each case page draws the diagram of its own version.
    agent = app.test_client()
    Auth(agent).login("agente")
    assert "(versión 1)" in agent.get(f"/casos/{old_number}").get_data(as_text=True)
    assert "(versión 2)" in agent.get(f"/casos/{new_number}").get_data(as_text=True)
    old_xml = agent.get(f"/casos/{old_number}/diagrama.bpmn").get_data(as_text=True)
    new_xml = agent.get(f"/casos/{new_number}/diagrama.bpmn").get_data(as_text=True)
    assert 'name="Clasificar la queja"' in old_xml
    assert 'name="Clasificar y asignar la queja"' in new_xml
    # The version page says what changed.
    v2 = c.get("/diseno/queja/v/2").get_data(as_text=True)
    assert "«Clasificar la queja» ahora se llama «Clasificar y asignar la queja»" in v2


def test_designer_moves_a_running_case_to_the_new_version(app):
    """Chosen open cases move to v2 on request; their task takes the new name."""
    number, _ = file_queja(app)
    c = designer(app)
    xml = renamed_queja(app, "Clasificar la queja", "Clasificar y asignar la queja")
    post_form(c, "/diseno/queja/modelador", {"xml": xml, "version": "1"})
    page = c.get("/diseno/queja/v/2/trasladar").get_data(as_text=True)
    assert f'name="casos" value="{number}"' in page
    empty = post_form(c, "/diseno/queja/v/2/trasladar", {})
    assert empty.status_code == 303
    assert "Elija al menos un caso" in c.get(empty.headers["Location"]).get_data(
        as_text=True
    )
    resp = post_form(c, "/diseno/queja/v/2/trasladar", {"casos": [number]})
    assert resp.status_code == 303
    html = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Se trasladó 1 caso a la versión 2." in html
    assert "No hay casos abiertos en versiones anteriores." in html
    assert inbox_task(app, "agente", number) == "Clasificar y asignar la queja"
    assert c.get("/diseno/queja/v/7/trasladar").status_code == 404


def test_modeler_problems_keep_the_diagram(app):
    """A diagram with an unknown lane: 422, problem listed, XML kept."""
    c = designer(app)
    xml = renamed_queja(app, "supervisor_311", "jefatura")
    resp = post_form(c, "/diseno/queja/modelador", {"xml": xml, "version": "1"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "jefatura" in html and "<code>queja.bpmn</code>" in html
    kept = must_search(r'id="diagrama-xml" value="([^"]*)"', html).group(1)
    assert "name=&#34;jefatura&#34;" in kept or "name=&quot;jefatura&quot;" in kept
    assert "versión 2" not in c.get("/diseno").get_data(as_text=True)


def test_modeler_tells_when_someone_deployed_meanwhile(app):
    """Saving on top of an older version: 409, the diagram kept."""
    c = designer(app)
    xml = renamed_queja(app, "Clasificar la queja", "Otra")
    first = post_form(c, "/diseno/queja/modelador", {"xml": xml, "version": "1"})
    assert first.status_code == 303
    stale = post_form(c, "/diseno/queja/modelador", {"xml": xml, "version": "1"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "desplegó la versión 2 mientras usted editaba" in html
    assert 'name="version" value="2"' in html
    assert 'id="diagrama-xml" value="&lt;?xml' in html


def test_modeler_refuses_an_empty_diagram(app):
    """No XML at all (script failed): 422 with a sentence, nothing deployed."""
    c = designer(app)
    resp = post_form(c, "/diseno/queja/modelador", {"xml": " ", "version": "1"})
    assert resp.status_code == 422
    assert "No llegó ningún diagrama" in resp.get_data(as_text=True)


# --------------------------------------------------------------------------
# Form editor and preview


def preview(client, schema: str, data: str = "", token: str | None = None):
    """POST to the preview endpoint the way form-editor.js does."""
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(
        "/diseno/formularios/vista-previa",
        data={"esquema": schema, "datos": data},
        headers=headers,
    )


def test_preview_renders_the_fields_users_see(app):
    """A valid schema comes back as the rendered fields with their labels."""
    c = designer(app)
    token = csrf_token(c, "/diseno/queja/formularios/registro.json")
    schema = c.get("/diseno/queja/v/1/archivos/registro.json").get_data(as_text=True)
    resp = preview(c, schema, token=token)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<label for="asunto">Asunto' in html
    assert '<label for="descripcion">Descripción' in html
    assert "<html" not in html  # a fragment, not a page


def test_preview_lists_schema_problems(app):
    """Invalid JSON and an invalid schema come back as problems."""
    c = designer(app)
    token = csrf_token(c, "/diseno/queja/formularios/registro.json")
    broken = preview(c, '{"type": "object",', token=token)
    assert broken.status_code == 422
    assert "El JSON no es válido" in broken.get_data(as_text=True)
    bad = '{"type": "object", "properties": {"x": {"type": "nada"}}}'
    invalid = preview(c, bad, token=token)
    assert invalid.status_code == 422
    assert "no es un JSON Schema válido" in invalid.get_data(as_text=True)
    not_object = preview(c, '{"type": "array"}', token=token)
    assert "no es un JSON Schema válido" in not_object.get_data(as_text=True)


def test_preview_tests_sample_data(app):
    """Sample data is validated: the messages show beside each field."""
    c = designer(app)
    token = csrf_token(c, "/diseno/queja/formularios/registro.json")
    schema = c.get("/diseno/queja/v/1/archivos/registro.json").get_data(as_text=True)
    resp = preview(c, schema, '{"asunto": "Hola", "correo": "no-es-correo"}', token)
    html = resp.get_data(as_text=True)
    assert 'id="descripcion-error"' in html and "Este campo es obligatorio." in html
    assert 'id="correo-error"' in html
    assert 'value="Hola"' in html
    assert "no pasan la validación" in html
    ok = preview(
        c,
        schema,
        '{"asunto": "Hola", "categoria": "salud", '
        '"descripcion": "Una descripción suficiente."}',
        token,
    )
    assert "Los datos de prueba son válidos." in ok.get_data(as_text=True)
    bad = preview(c, schema, "[1, 2", token)
    assert "Los datos de prueba no son JSON válido" in bad.get_data(as_text=True)


def test_preview_requires_csrf(app):
    """Without the X-CSRFToken header the preview is refused."""
    c = designer(app)
    assert preview(c, '{"type": "object"}').status_code == 400


def test_form_editor_saves_a_new_version(app):
    """Saving the form deploys v2 with it; the intake shows the new title."""
    c = designer(app)
    html = c.get("/diseno/queja/formularios/registro.json").get_data(as_text=True)
    assert 'id="esquema-json"' in html and "Presentar una queja" in html
    assert "js/form-editor.js" in html and 'data-preview-url="' in html
    assert '<label for="asunto">' in html  # the first preview comes rendered
    schema = c.get("/diseno/queja/v/1/archivos/registro.json").get_data(as_text=True)
    changed = schema.replace('"Presentar una queja"', '"Presentar su queja"')
    resp = post_form(
        c,
        "/diseno/queja/formularios/registro.json",
        {"esquema": changed, "version": "1", "nota": "Título"},
    )
    assert resp.status_code == 303
    intake = app.test_client().get("/casos/nuevo/queja").get_data(as_text=True)
    assert "Presentar su queja" in intake


def test_form_editor_keeps_invalid_json(app):
    """Invalid JSON is refused with the file named; the text is kept."""
    c = designer(app)
    resp = post_form(
        c,
        "/diseno/queja/formularios/registro.json",
        {"esquema": '{"title": "roto"', "version": "1"},
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "<code>registro.json</code>" in html and "El JSON no es válido" in html
    assert "{&#34;title&#34;: &#34;roto&#34;</textarea>" in html
    assert c.get("/diseno/queja/formularios/queja.bpmn").status_code == 404
    assert c.get("/diseno/queja/formularios/nada.json").status_code == 404


# --------------------------------------------------------------------------
# Case diagram and the citizen's steps


def test_case_diagram_for_staff_who_may_see_the_case(app):
    """Agents and the case's enlace get the XML; another entity's gets 403."""
    number, _ = file_queja(app)
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )
    for username in ("agente", "enlace.minsa"):
        c = app.test_client()
        Auth(c).login(username)
        resp = c.get(f"/casos/{number}/diagrama.bpmn")
        assert resp.status_code == 200, username
        assert resp.mimetype == "application/xml"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert '<bpmn:process id="queja"' in resp.get_data(as_text=True)
    other = app.test_client()
    Auth(other).login("enlace.mop")
    assert other.get(f"/casos/{number}/diagrama.bpmn").status_code == 403
    assert other.get(f"/casos/{number}/diagrama.json").status_code == 403
    agent = app.test_client()
    Auth(agent).login("agente")
    assert agent.get("/casos/311-2000-999999/diagrama.bpmn").status_code == 404
    anonymous = app.test_client().get(f"/casos/{number}/diagrama.bpmn")
    assert anonymous.status_code == 302


def test_case_page_shows_the_diagram_and_the_steps_as_text(app):
    """The section names the version, marks steps, and lists them as text."""
    number, _ = file_queja(app)
    c = app.test_client()
    Auth(c).login("agente")
    html = c.get(f"/casos/{number}").get_data(as_text=True)
    assert "Diagrama del caso (versión 1)" in html
    assert f'data-diagram-url="/casos/{number}/diagrama.bpmn"' in html
    assert 'data-current="[&#34;clasificar_caso&#34;]"' in html
    assert "js/case-diagram.js" in html and "<script>" not in html
    done = must_search(r'id="pasos-completados".*?</ol>', html, re.S).group(0)
    assert "Queja recibida" in done and "Sugerir la entidad" in done
    current = must_search(r'id="paso-actual".*?</ul>', html, re.S).group(0)
    assert "Clasificar la queja" in current
    state = c.get(f"/casos/{number}/diagrama.json").get_json()
    assert state["actuales"] == ["clasificar_caso"] and "inicio" in state["completados"]


def current_step(client, number: str, code: str) -> str:
    """The label of the step marked aria-current on the tracking page."""
    html = post_form(client, "/seguimiento", {"numero": number, "codigo": code})
    html = html.get_data(as_text=True)
    steps = re.findall(r'<li class="step step-(\w+)[^"]*"([^>]*)>', html)
    # While the case waits for the citizen, that is a step of its own.
    assert [key for key, _ in steps if key != "su_turno"] == [
        "recibido",
        "revision",
        "asignado",
        "respondido",
        "cerrado",
    ]
    currents = [key for key, attrs in steps if 'aria-current="step"' in attrs]
    assert len(currents) == 1
    return currents[0]


def test_tracking_page_shows_the_citizen_steps(app):
    """Review → assigned → answered and closed; a reopening asks again."""
    citizen = app.test_client()
    number, code = receipt(citizen, post_form(citizen, "/casos/nuevo/queja", QUEJA))
    assert current_step(citizen, number, code) == "revision"
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )
    assert current_step(citizen, number, code) == "asignado"
    work(app, "enlace.minsa", "Acusar recibo", {}, number)
    assert current_step(citizen, number, code) == "asignado"
    work(
        app,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "responder", "respuesta": "Ya llegaron los medicamentos."},
        number,
    )
    # The answer closes a queja (the survey comes after): all steps
    # reached, and rating the answer is the citizen's turn.
    assert current_step(citizen, number, code) == "su_turno"
    html = post_form(citizen, "/seguimiento", {"numero": number, "codigo": code})
    html = html.get_data(as_text=True)
    assert html.count("is-reached") == 5
    # Reached steps say so in words, not only in colour.
    assert re.search(r"step-respondido is-reached.*?completado", html, re.S)

    # An unhappy rating reopens the case: the answer is pending again.
    action = must_search(r'action="(/seguimiento/tareas/[0-9a-f-]+)"', html).group(1)
    token = must_search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = citizen.post(action, data={"calificacion": "1", "csrf_token": token})
    assert resp.status_code == 303
    assert current_step(citizen, number, code) == "asignado"
    html = post_form(citizen, "/seguimiento", {"numero": number, "codigo": code})
    html = html.get_data(as_text=True)
    assert re.search(r'step-respondido">.*?pendiente', html, re.S)
    assert re.search(r'step-cerrado">.*?pendiente', html, re.S)


def test_rejected_case_ends_closed_without_assignment(app):
    """A rejected queja: answered (the reason) and closed, never assigned."""
    citizen = app.test_client()
    number, code = receipt(citizen, post_form(citizen, "/casos/nuevo/queja", QUEJA))
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "rechazar", "motivo_rechazo": "No corresponde a una entidad."},
        number,
    )
    assert current_step(citizen, number, code) == "cerrado"
    html = post_form(citizen, "/seguimiento", {"numero": number, "codigo": code})
    assert re.search(r"step-asignado\".*?pendiente", html.get_data(as_text=True), re.S)


def test_rollback_redeploys_an_older_version(app, client, auth):
    """Deploying v1 again makes its files the newest version (v3)."""
    from engine.services import design
    from engine.services.accounts import authenticate
    from tests.conftest import csrf_token

    p = app.extensions["centro311"]
    designer = authenticate(p, "disenador", "demo311", client="t")
    _, files = design.version_files(p, designer, "queja", 1)
    changed = dict(files)
    changed["queja.bpmn"] = files["queja.bpmn"].replace(
        'name="Clasificar la queja"', 'name="Clasificar (v2)"'
    )
    design.deploy(p, designer, changed, "v2")
    auth.login("disenador")
    token = csrf_token(client, "/diseno/queja/v/1")
    resp = client.post("/diseno/queja/v/1/redesplegar", data={"csrf_token": token})
    assert resp.status_code == 303
    info, newest = design.version_files(p, designer, "queja")
    assert info.version == 3 and newest == files
    assert client.post("/diseno/queja/v/1/redesplegar").status_code == 400  # CSRF


def test_bulk_move_reports_each_case_and_goes_on_in_batches(app):
    """The move page offers to move every movable case of version 1; the
    report lists each case with its result, links it, and says nothing is
    left; without CSRF the post is refused; agents get 403."""
    number, _ = file_queja(app)
    c = designer(app)
    xml = renamed_queja(app, "Clasificar la queja", "Clasificar y asignar la queja")
    post_form(c, "/diseno/queja/modelador", {"xml": xml, "version": "1"})
    page = c.get("/diseno/queja/v/2/trasladar").get_data(as_text=True)
    assert "Versión 1: 1 caso abierto." in page
    assert 'action="/diseno/queja/v/2/trasladar/todos"' in page
    resp = post_form(c, "/diseno/queja/v/2/trasladar/todos", {"desde": "1"})
    assert resp.status_code == 200
    report = resp.get_data(as_text=True)
    assert "Se revisó 1 caso:" in report and "1 trasladado" in report
    assert f'href="/casos/{number}"' in report and "Trasladado" in report
    assert "No quedan casos de la versión 1 por revisar." in report
    assert inbox_task(app, "agente", number) == "Clasificar y asignar la queja"
    bad = c.post("/diseno/queja/v/2/trasladar/todos", data={"desde": "1"})
    assert bad.status_code == 400
    assert (
        post_form(c, "/diseno/queja/v/2/trasladar/todos", {"desde": "x"}).status_code
        == 400
    )
    agent = app.test_client()
    Auth(agent).login("agente")
    token = csrf_token(agent, "/bandeja")
    resp = agent.post(
        "/diseno/queja/v/2/trasladar/todos", data={"desde": "1", "csrf_token": token}
    )
    assert resp.status_code == 403
