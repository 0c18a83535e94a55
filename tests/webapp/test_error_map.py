"""One error map: the engine's errors become pages in one place, not in a
try/except per view."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.domain.errors import (
    N_,
    Conflict,
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
    ProcessFailed,
    TooManyAttempts,
)
from tests.conftest import Auth, csrf_token, post_form, work

ROOT = Path(__file__).resolve().parents[2]
QUEJA = {
    "categoria": "salud",
    "asunto": "Sin citas",
    "descripcion": "No dan citas de medicina general desde hace un mes.",
}

#: What each route of the test app raises.
RAISED = {
    "no-existe": NotFound(N_("El caso no existe.")),
    "prohibido": NotAllowed(N_("No tiene acceso a este caso.")),
    "adelantado": Conflict(N_("Otra persona ya completó esta tarea.")),
    "intentos": TooManyAttempts(N_("Demasiados intentos.")),
    "fallo": ProcessFailed(N_("El proceso falló: %(detail)s"), detail="x"),
    "datos": InvalidData(
        {
            "motivo": [Message(N_("Este campo es obligatorio."))],
            "": [Message(N_("El formulario recibió campos desconocidos."))],
        }
    ),
}


@pytest.fixture
def raising(app):
    """The app with a route raising each engine error (added before any request)."""

    def boom(kind: str):
        """Raise the engine error named by ``kind``."""
        raise RAISED[kind]

    app.add_url_rule("/_prueba/<kind>", view_func=boom)
    return app.test_client()


@pytest.mark.parametrize(
    ("kind", "status", "heading"),
    [
        ("no-existe", 404, "No encontramos esa página"),
        ("prohibido", 403, "No tiene permiso para ver esto"),
        ("adelantado", 409, "Alguien se adelantó"),
        ("intentos", 429, "Demasiados intentos"),
        ("fallo", 500, "El proceso no pudo continuar"),
    ],
)
def test_each_engine_error_has_its_status_and_sentence(raising, kind, status, heading):
    """The page carries the status, a heading and the engine's own sentence."""
    resp = raising.get(f"/_prueba/{kind}")
    assert resp.status_code == status
    html = resp.get_data(as_text=True)
    assert heading in html
    assert RAISED[kind].message.text.split("%")[0] in html
    assert "Traceback" not in html


def test_invalid_data_without_a_form_lists_the_messages(raising):
    """422 with each field's message (named) and the whole form's."""
    resp = raising.get("/_prueba/datos")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "motivo: Este campo es obligatorio." in html
    assert "<li>El formulario recibió campos desconocidos.</li>" in html


def test_engine_error_pages_are_translated(raising):
    """In English the heading and the engine's sentence are English."""
    token = csrf_token(raising, "/")
    raising.post("/idioma/en", data={"csrf_token": token, "next": "/"})
    html = raising.get("/_prueba/no-existe").get_data(as_text=True)
    assert "El caso no existe." not in html
    assert "No encontramos esa página" not in html


def test_views_map_engine_errors_through_the_error_map(app):
    """Real pages: an unknown case type, another entity's case, a bad day."""
    client = app.test_client()
    resp = client.get("/casos/nuevo/nada")
    assert resp.status_code == 404
    assert "No existe ese tipo de caso." in resp.get_data(as_text=True)
    number = _classified_case(app)
    other = app.test_client()
    Auth(other).login("enlace.mop")
    resp = other.get(f"/casos/{number}")
    assert resp.status_code == 403
    assert "No tiene acceso a este caso." in resp.get_data(as_text=True)
    assert other.get("/tablero").status_code == 200
    agent = app.test_client()
    Auth(agent).login("agente")
    assert agent.get("/tareas/no-existe").status_code == 404
    admin = app.test_client()
    Auth(admin).login("admin")
    token = csrf_token(admin, "/admin/dias-libres")
    for day, status in (("2031-01-02", 404), ("no-es-fecha", 404)):
        resp = admin.post(
            f"/admin/dias-libres/{day}/borrar", data={"csrf_token": token}
        )
        assert resp.status_code == status, day


def test_designer_pages_map_missing_versions(app):
    """A version that does not exist is a 404 page, not an exception."""
    c = app.test_client()
    Auth(c).login("disenador")
    assert c.get("/diseno/queja/v/99").status_code == 404
    assert c.get("/diseno/nada/modelador").status_code == 404
    assert c.get("/diseno/queja/v/99/trasladar").status_code == 404
    # A designer works no cases: the dashboard's NotAllowed is a 403 page.
    assert c.get("/tablero").status_code == 403


def _classified_case(app) -> str:
    """A queja filed on the web and assigned to MINSA; its number."""
    citizen = app.test_client()
    resp = post_form(citizen, "/casos/nuevo/queja", QUEJA)
    page = citizen.get(resp.headers["Location"]).get_data(as_text=True)
    number = page.split('id="numero-caso">', 1)[1].split("<", 1)[0]
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )
    return number


def test_no_view_catches_not_found_or_not_allowed_only_to_abort():
    """The boilerplate stays gone: no ``except NotFound/NotAllowed: abort()``."""
    offenders = []
    for path in sorted((ROOT / "webapp").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ExceptHandler) or node.type is None:
                continue
            names = {
                n.id if isinstance(n, ast.Name) else getattr(n, "attr", "")
                for n in ast.walk(node.type)
            }
            aborts = any(
                isinstance(c, ast.Call) and getattr(c.func, "id", "") == "abort"
                for c in ast.walk(ast.Module(body=node.body, type_ignores=[]))
            )
            if aborts and names & {"NotFound", "NotAllowed"}:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
