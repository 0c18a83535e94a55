"""The modeler's properties panel on the server: its settings and its checks."""

from __future__ import annotations

import json
import re

from tests.conftest import Auth, csrf_token

MODELER = "/diseno/queja/modelador"
CHECK = "/diseno/modelador/comprobar"
PREVIEW = "/diseno/modelador/instrucciones"


def logged_in(app, username: str = "disenador"):
    """A test client logged in as ``username``."""
    c = app.test_client()
    Auth(c).login(username)
    return c


def post_json(client, url: str, body, token: str | None):
    """POST JSON the way the panel does, with the CSRF token in a header."""
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(
        url, data=json.dumps(body), headers=headers, content_type="application/json"
    )


def test_modeler_page_carries_the_panels_settings(app):
    """Forms, roles, marks, URLs and Spanish labels in a JSON block."""
    html = logged_in(app).get(MODELER).get_data(as_text=True)
    assert "vendor/modeler/modeler.js" in html and "vendor/modeler/modeler.css" in html
    block = re.search(
        r'<script type="application/json" id="modelador-ajustes">(.*?)</script>',
        html,
        re.S,
    )
    assert block
    settings = json.loads(block.group(1))
    assert "registro.json" in settings["forms"]
    assert "clasificacion.json" in settings["forms"]
    assert [r["value"] for r in settings["roles"]] == [
        "agente_311",
        "supervisor_311",
        "enlace",
        "ciudadano",
    ]
    assert settings["roles"][2]["label"] == "enlace — Enlace de entidad"
    assert "cerrado" in [m["value"] for m in settings["marks"]]
    assert settings["checkUrl"] == CHECK and settings["previewUrl"] == PREVIEW
    assert settings["formUrl"] == "/diseno/queja/formularios/__NAME__"
    assert settings["labels"]["estado"] == "Estado público"
    assert settings["lint"]["centro311/lane-role"].startswith("El nombre del carril")
    assert settings["translations"]["Name"] == "Nombre"


def test_check_endpoint_answers_what_a_deploy_would_say(app):
    """Sound code is ok; unsafe code comes back with the compiler's reason."""
    c = logged_in(app)
    token = csrf_token(c, MODELER)
    ok = post_json(c, CHECK, {"kind": "condition", "source": "x == 1"}, token)
    assert ok.status_code == 200 and ok.get_json() == {"ok": True, "problems": []}
    bad = post_json(c, CHECK, {"kind": "script", "source": "import os"}, token)
    body = bad.get_json()
    assert bad.status_code == 200 and body["ok"] is False
    assert body["problems"][0].startswith("El script o condición no es seguro")
    timer = post_json(
        c, CHECK, {"kind": "timer", "source": "P2D", "timer": "timeDuration"}, token
    )
    assert "sin comillas" in timer.get_json()["problems"][0]


def test_check_endpoint_is_guarded(app):
    """CSRF token, designer role and a JSON object are required; size bounded."""
    c = logged_in(app)
    token = csrf_token(c, MODELER)
    body = {"kind": "script", "source": "x = 1"}
    assert post_json(c, CHECK, body, None).status_code == 400
    assert post_json(c, CHECK, ["x"], token).status_code == 400
    assert post_json(c, CHECK, {"kind": "script"}, token).status_code == 400
    long = post_json(c, CHECK, {"kind": "script", "source": "x" * 20_001}, token)
    assert long.get_json()["ok"] is False
    assert "demasiado largo" in long.get_json()["problems"][0]
    agent = logged_in(app, "agente")
    agent_token = csrf_token(agent, "/tareas")
    assert post_json(agent, CHECK, body, agent_token).status_code == 403
    anonymous = app.test_client()
    anonymous_token = csrf_token(anonymous, "/ingresar")
    refused = post_json(anonymous, CHECK, body, anonymous_token)
    assert refused.status_code == 302 and "/ingresar" in refused.headers["Location"]


def test_instructions_preview_renders_markdown_safely(app):
    """Markdown becomes HTML; HTML typed by the designer stays text."""
    c = logged_in(app)
    token = csrf_token(c, MODELER)
    resp = post_json(
        c, PREVIEW, {"text": "Lea **todo**.\n\n<script>alert(1)</script>"}, token
    )
    html = resp.get_json()["html"]
    assert resp.status_code == 200 and "<strong>todo</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    too_long = post_json(c, PREVIEW, {"text": "x" * 20_001}, token)
    assert too_long.status_code == 422
    assert "demasiado largas" in too_long.get_json()["problems"][0]
    assert post_json(c, PREVIEW, {"text": 3}, token).status_code == 400
