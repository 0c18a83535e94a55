"""The designer's comparison page (/diseno/<tipo>/comparar)."""

from __future__ import annotations

import html
import json
import re

from engine.services import design, versions
from tests.conftest import Auth, without_scenarios
from tests.engine.test_scenarios import who
from tests.engine.test_version_diff import changed_bpmn


def deploy_second_version(app) -> None:
    """Version 2 of queja: a renamed task, a property, a new form field and
    salud routed to MOP."""
    p = app.extensions["centro311"]
    designer = who(p, "disenador")
    _, files = design.version_files(p, designer, "queja")
    form = json.loads(files["registro.json"])
    form["properties"]["barrio"] = {"type": "string", "title": "Barrio"}
    versions.deploy(
        p,
        designer,
        without_scenarios(  # they expect the old status and routing
            {
                **files,
                "queja.bpmn": changed_bpmn(),
                "registro.json": json.dumps(form, ensure_ascii=False),
                "enrutamiento.dmn": files["enrutamiento.dmn"].replace(
                    '"MINSA"', '"MOP"', 1
                ),
                "messages.en.json": files["messages.en.json"].replace(
                    '"Recibida"', '"Recibida por el 311"'
                ),
            }
        ),
        "v2",
    )


def marked(page: str, attribute: str) -> list[list[str]]:
    """The id lists of every viewer's ``attribute`` on the page."""
    return [
        json.loads(html.unescape(m))
        for m in re.findall(attribute + r'="([^"]*)"', page)
    ]


def test_the_page_marks_both_diagrams_and_lists_every_change(app):
    """Both diagrams carry the changed ids for their markers; the lists
    (readable without JavaScript) name the task, the field and the rule."""
    deploy_second_version(app)
    c = app.test_client()
    Auth(c).login("disenador")
    resp = c.get("/diseno/queja/comparar?de=1&a=2")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert [sorted(ids) for ids in marked(page, "data-changed")] == [
        ["clasificar_caso", "inicio"],
        ["clasificar_caso", "inicio"],
    ]
    assert marked(page, "data-added") == [[]] and marked(page, "data-removed") == [[]]
    assert "Clasificar y asignar la queja" in page
    assert "<code>barrio</code>" in page
    assert "regla_salud" in page and "&#34;MOP&#34;" in page
    assert page.count("/diseno/queja/v/") >= 2  # both diagrams' files


def test_the_default_compares_with_the_version_before(app):
    """``a`` alone compares with ``a - 1``; the version page links there."""
    deploy_second_version(app)
    c = app.test_client()
    Auth(c).login("disenador")
    page = c.get("/diseno/queja/comparar?a=2").get_data(as_text=True)
    assert "Versión 1 frente a versión 2" in page
    assert "/diseno/queja/comparar?a=2" in c.get("/diseno/queja/v/2").get_data(
        as_text=True
    )
    assert "/comparar" not in c.get("/diseno/queja/v/1").get_data(as_text=True)


def test_bad_versions_are_404_and_other_roles_403(app):
    """Unknown, zero or non-numeric versions: 404; agents: 403."""
    c = app.test_client()
    Auth(c).login("disenador")
    for query in ("de=1&a=7", "a=1", "a=x", "de=0&a=1"):
        assert c.get(f"/diseno/queja/comparar?{query}").status_code == 404, query
    agent = app.test_client()
    Auth(agent).login("agente")
    assert agent.get("/diseno/queja/comparar?de=1&a=1").status_code == 403
