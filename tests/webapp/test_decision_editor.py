"""The decision table editor's pages: who may use them, checking a table,
saving it as a new version, and refusals that keep the designer's table."""

from __future__ import annotations

import html

from engine.services import decisions
from tests.conftest import csrf_token, post_form
from tests.engine.test_design import who

URL = "/diseno/queja/v/1/tablas/enrutamiento.dmn"


def routing_xml(app) -> str:
    """The stored routing table of queja version 1."""
    p = app.extensions["centro311"]
    return decisions.open_decision_table(
        p, who(p, "disenador"), "queja", 1, "enrutamiento.dmn"
    ).xml


def page_text(resp) -> str:
    """A response's HTML with entities decoded (hidden fields included)."""
    return html.unescape(resp.get_data(as_text=True))


def test_anonymous_visitors_go_to_login_and_agents_are_refused(client, auth):
    """Designers only: login first; an agent gets 403 on GET and POST."""
    resp = client.get(URL)
    assert resp.status_code == 302 and "/ingresar" in resp.headers["Location"]
    auth.login("agente")
    assert client.get(URL).status_code == 403
    token = csrf_token(client, "/tareas")
    assert client.post(URL, data={"csrf_token": token}).status_code == 403


def test_the_version_page_links_each_table_to_the_editor(client, auth):
    """Both tables of a version open in the editor, with what the database
    offers beside them and no problems for the seed table."""
    auth.login("disenador")
    version = client.get("/diseno/queja/v/1").get_data(as_text=True)
    assert URL in version and "/diseno/queja/v/1/tablas/plazos.dmn" in version
    text = page_text(client.get(URL))
    assert "Tabla de decisión enrutamiento.dmn" in text
    assert "La tabla no tiene problemas." in text
    assert 'data-value=""CSS""' in text and "Caja de Seguro Social" in text
    assert 'data-value=""salud""' in text
    assert client.get("/diseno/queja/v/1/tablas/registro.json").status_code == 404
    assert client.get("/diseno/queja/v/9/tablas/plazos.dmn").status_code == 404


def test_checking_lists_warnings_and_keeps_the_table(app, client, auth):
    """«Comprobar» shows an overlap warning and nothing is deployed."""
    auth.login("disenador")
    xml = routing_xml(app).replace(
        '<text>"servicios_publicos"</text>', '<text>"basura"</text>'
    )
    resp = post_form(
        client, URL, {"xml": xml, "nota": "", "accion": "comprobar", "version": "1"}
    )
    assert resp.status_code == 200
    text = page_text(resp)
    assert "problem-warning" in text and "pueden coincidir" in text
    assert xml in text
    assert "/diseno/queja/v/2" not in client.get("/diseno").get_data(as_text=True)


def test_a_refused_save_lists_errors_and_keeps_table_and_note(app, client, auth):
    """A FEEL list cell: 422, the error listed, table and note as sent."""
    auth.login("disenador")
    xml = routing_xml(app).replace(
        '<text>"agua"</text>', '<text>"agua", "alcantarillado"</text>'
    )
    resp = post_form(
        client,
        URL,
        {"xml": xml, "nota": "Agua y más", "accion": "guardar", "version": "1"},
    )
    assert resp.status_code == 422
    text = page_text(resp)
    assert "No se guardó nada" in text and "problem-error" in text
    assert '? in ("agua", "alcantarillado")' in text
    assert xml in text and "Agua y más" in text


def test_saving_deploys_a_new_version_and_opens_its_table(app, client, auth):
    """A good table: 303 to the new version's table, which says so; a save
    based on the older version afterwards is a 409 that keeps the table."""
    auth.login("disenador")
    # «basura»: no seed scenario files it, so rerouting keeps them passing.
    xml = routing_xml(app).replace('<text>"AAUD"</text>', '<text>"MUPA"</text>')
    data = {
        "xml": xml,
        "nota": "Basura al municipio",
        "accion": "guardar",
        "version": "1",
    }
    resp = post_form(client, URL, data)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(
        "/diseno/queja/v/2/tablas/enrutamiento.dmn"
    )
    text = page_text(client.get(resp.headers["Location"]))
    assert "Se guardó la tabla enrutamiento.dmn en la versión 2" in text
    stale = post_form(client, URL, data)
    assert stale.status_code == 409
    assert "mientras usted editaba" in page_text(stale) and xml in page_text(stale)


def test_posts_need_the_csrf_token(client, auth):
    """Without the form's token the post is refused."""
    auth.login("disenador")
    assert (
        client.post(URL, data={"xml": "<x/>", "accion": "guardar"}).status_code == 400
    )
