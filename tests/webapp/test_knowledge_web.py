"""The knowledge base pages (/conocimiento), the search panel on the staff
intake and task pages, and a consulta answered from an article on the web."""

from __future__ import annotations

import re

from engine import services
from engine.services.accounts import authenticate
from tests.conftest import Auth, csrf_token, post_form, receipt

HOSTILE = "\"' OR 1=1 -- & | ! ( ) * :"
ARTICLE = {
    "titulo": "Cómo renovar el pasaporte",
    "tema": "Trámites",
    "entidad": "",
    "texto": "Se renueva **en línea**.\n\n<script>alert('x')</script>",
    "publicado": "1",
}


def write(app, published: bool = True) -> int:
    """A general article written by the supervisor through the engine."""
    p = app.extensions["centro311"]
    actor = authenticate(p, "supervisor", "demo311", client="t")
    return services.create_article(
        p,
        actor,
        {
            "title": ARTICLE["titulo"],
            "topic": ARTICLE["tema"],
            "body": ARTICLE["texto"],
            "published": published,
        },
    ).id


def test_supervisor_writes_and_publishes_an_article(client, auth: Auth):
    """The form saves, the page renders Markdown and escapes HTML, and the
    article is published, withdrawn and published again."""
    auth.login("supervisor")
    resp = post_form(client, "/conocimiento/nuevo", {**ARTICLE, "publicado": ""})
    assert resp.status_code == 303
    url = resp.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "<strong>en línea</strong>" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "Borrador" in page
    resp = post_form(client, url + "/publicacion", {"publicado": "1", "version": "1"})
    assert resp.status_code == 303
    assert 'id="estado-articulo">Publicado' in client.get(url).get_data(as_text=True)
    # The page still shows version 1: publishing it again is a stale change.
    resp = post_form(client, url + "/publicacion", {"publicado": "0", "version": "1"})
    assert resp.status_code == 409


def test_preview_renders_without_saving(client, auth: Auth):
    """The preview button shows the rendered text and stores nothing."""
    auth.login("supervisor")
    resp = post_form(
        client, "/conocimiento/nuevo", {**ARTICLE, "accion": "vista_previa"}
    )
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Vista previa" in page and "<strong>en línea</strong>" in page
    listing = client.get("/conocimiento?borradores=1").get_data(as_text=True)
    assert "Cómo renovar el pasaporte" not in listing


def test_missing_fields_are_named(client, auth: Auth):
    """An empty title and body come back beside their fields (422)."""
    auth.login("supervisor")
    resp = post_form(
        client, "/conocimiento/nuevo", {**ARTICLE, "titulo": "", "texto": ""}
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'id="titulo-error"' in page and 'id="texto-error"' in page


def test_a_stale_edit_answers_409_keeping_the_text(app, client, auth: Auth):
    """Two editors open the same version; the second save gets 409."""
    article = write(app)
    auth.login("supervisor")
    url = f"/conocimiento/{article}/editar"
    token = csrf_token(client, url)
    form = {**ARTICLE, "version": "1", "csrf_token": token}
    first = client.post(url, data={**form, "texto": "Primera versión."})
    assert first.status_code == 303
    second = client.post(url, data={**form, "texto": "Segunda versión."})
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert 'id="conflicto"' in page and "Segunda versión." in page


def test_agents_read_but_do_not_write(app, client, auth: Auth):
    """Agents see published articles only and may not write."""
    write(app)
    draft = write(app, published=False)
    auth.login("agente")
    assert client.get("/conocimiento/nuevo").status_code == 403
    assert client.get(f"/conocimiento/{draft}").status_code == 404
    page = client.get("/conocimiento?q=pasaporte").get_data(as_text=True)
    assert page.count("Cómo renovar el pasaporte") == 1
    assert "Nuevo artículo" not in page


def test_enlace_may_not_edit_another_entitys_article(app, client, auth: Auth):
    """A general article is the 311's: an enlace gets 403 on its edit page."""
    article = write(app)
    auth.login("enlace.mop")
    assert client.get(f"/conocimiento/{article}/editar").status_code == 403
    assert client.get("/conocimiento/nuevo").status_code == 200


def test_hostile_search_is_answered(app, client, auth: Auth):
    """SQL and full-text syntax characters are text, on the page and panel."""
    write(app)
    auth.login("agente")
    for url in ("/conocimiento", "/conocimiento/panel"):
        resp = client.get(url, query_string={"q": HOSTILE, "entidad": "'--"})
        assert resp.status_code == 200
        assert "Cómo renovar el pasaporte" not in resp.get_data(as_text=True)
    resp = client.get("/conocimiento", query_string={"q": "x" * 201})
    assert resp.status_code == 422


def test_anonymous_visitors_are_sent_to_login(client):
    """The knowledge base is for staff."""
    resp = client.get("/conocimiento")
    assert resp.status_code in (302, 303) and "/ingresar" in resp.headers["Location"]


def test_panel_on_staff_intake_and_task_pages_only(app, client, auth: Auth):
    """Agents get the panel and the article choice; citizens neither."""
    article = write(app)
    citizen = client.get("/casos/nuevo/consulta").get_data(as_text=True)
    assert "data-kb-panel" not in citizen and 'name="articulo"' not in citizen
    auth.login("agente")
    intake = client.get("/casos/nuevo/consulta").get_data(as_text=True)
    assert "data-kb-panel" in intake
    assert f'<option value="{article}">Cómo renovar el pasaporte</option>' in intake
    panel = client.get("/conocimiento/panel?q=pasaporte").get_data(as_text=True)
    assert f'data-article-id="{article}"' in panel
    p = app.extensions["centro311"]
    opened = services.open_case(
        p,
        "consulta",
        {
            "categoria": "otro",
            "asunto": "Pasaporte",
            "descripcion": "¿Dónde renuevo mi pasaporte?",
        },
    )
    inbox = client.get("/tareas").get_data(as_text=True)
    row = next(r for r in inbox.split("<tr>") if opened.number in r)
    link = re.search(r'href="(/tareas/[0-9a-f-]+)"', row)
    assert link
    task = client.get(link.group(1)).get_data(as_text=True)
    assert "data-kb-panel" in task and 'name="articulo"' in task


def test_consulta_answered_at_first_contact_on_the_web(app, client, auth: Auth):
    """An agent files by phone with the article: the receipt says
    Respondida and the citizen's tracking page shows the article."""
    article = write(app)
    auth.login("agente")
    resp = post_form(
        client,
        "/casos/nuevo/consulta",
        {
            "canal": "phone",
            "categoria": "otro",
            "asunto": "Renovar pasaporte",
            "descripcion": "¿Dónde renuevo mi pasaporte vencido?",
            "articulo": str(article),
            "respuesta": "Le expliqué que se renueva en línea.",
        },
    )
    number, code = receipt(client, resp)
    auth.logout()
    tracked = post_form(client, "/seguimiento", {"numero": number, "codigo": code})
    page = tracked.get_data(as_text=True)
    assert 'id="estado-publico">Respondida' in page
    assert "El artículo que responde su consulta" in page
    assert "<strong>en línea</strong>" in page and "<script>alert" not in page
    assert "Le expliqué que se renueva en línea." in page
