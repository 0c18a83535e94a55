"""Staff pages: login, inbox scoping, task completion, 403 and 409."""

from __future__ import annotations

import re
import threading

import pytest

from engine import services
from tests.conftest import Auth, csrf_token, must_search, post_form

GOOD = {
    "categoria": "transito",
    "asunto": "Semáforo dañado",
    "descripcion": "El semáforo de la vía España con calle 50 no funciona.",
}


def file_case(client):
    """File a queja anonymously; returns its number."""
    resp = post_form(client, "/casos/nuevo/queja", GOOD)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    return must_search(r'id="numero-caso">([^<]+)<', page).group(1)


def task_link(html: str, name: str) -> str:
    """The URL of the task named ``name`` in an inbox page."""
    match = re.search(rf'href="(/tareas/[0-9a-f-]+)">{re.escape(name)}</a>', html)
    assert match, f"{name} not in inbox"
    return match.group(1)


def test_login_wrong_password_then_right(client, auth):
    """A wrong password says so without telling which part was wrong."""
    resp = auth.login("agente", "incorrecta")
    assert resp.status_code == 401
    assert "Usuario o contraseña incorrectos." in resp.get_data(as_text=True)
    resp = auth.login("agente")
    assert resp.status_code == 303 and resp.headers["Location"] == "/tareas"


def test_pages_need_login(client):
    """Staff pages send anonymous visitors to the login page."""
    resp = client.get("/tareas")
    assert resp.status_code == 302 and "/ingresar" in resp.headers["Location"]


def test_logout_is_a_post_with_csrf(client, auth):
    """A GET cannot log anyone out; the form can."""
    auth.login("agente")
    assert client.get("/salir").status_code == 405
    auth.logout()
    assert client.get("/tareas").status_code == 302


def test_inbox_shows_only_the_role_and_entity(app, client, auth):
    """Agent sees classification; only MINSA's enlace sees MINSA's answer task."""
    number = file_case(client)
    auth.login("agente")
    inbox = client.get("/tareas").get_data(as_text=True)
    assert number in inbox
    link = task_link(inbox, "Clasificar la queja")
    page = client.get(link).get_data(as_text=True)
    assert "Semáforo dañado" in page  # the case summary is beside the form
    assert '<option value="MINSA">' in page
    resp = post_form(client, link, {"decision": "aceptar", "entidad": "MINSA"})
    assert resp.status_code == 303
    auth.logout()

    auth.login("enlace.mop")
    assert number not in client.get("/tareas").get_data(as_text=True)
    auth.logout()
    auth.login("enlace.minsa")
    inbox = client.get("/tareas").get_data(as_text=True)
    assert task_link(inbox, "Acusar recibo")


def test_forbidden_task_by_url_is_403(app, client, auth):
    """Knowing a task's URL does not let another role or entity in."""
    file_case(client)
    auth.login("agente")
    link = task_link(
        client.get("/tareas").get_data(as_text=True), "Clasificar la queja"
    )
    post_form(client, link, {"decision": "aceptar", "entidad": "MINSA"})
    auth.logout()
    auth.login("enlace.minsa")
    answer = task_link(client.get("/tareas").get_data(as_text=True), "Acusar recibo")
    auth.logout()

    auth.login("enlace.mop")
    assert client.get(answer).status_code == 403
    token = csrf_token(client, "/tareas")
    resp = client.post(answer, data={"nota": "x" * 30, "csrf_token": token})
    assert resp.status_code == 403
    auth.logout()
    auth.login("agente")
    assert client.get(answer).status_code == 403
    assert client.get("/tareas/00000000-0000-0000-0000-000000000000").status_code == 404


def test_invalid_task_form_keeps_input(app, client, auth):
    """Accepting without an entity re-renders with the message."""
    file_case(client)
    auth.login("agente")
    link = task_link(
        client.get("/tareas").get_data(as_text=True), "Clasificar la queja"
    )
    resp = post_form(client, link, {"decision": "aceptar"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'value="aceptar" checked' in html
    assert 'id="entidad-error"' in html


def test_second_completion_gets_409_naming_who(app, auth):
    """Two agents on the same task: the second gets 409 and a sentence."""
    first = app.test_client()
    second = app.test_client()
    file_case(first)
    Auth(first).login("agente")
    Auth(second).login("supervisor")
    link = task_link(first.get("/tareas").get_data(as_text=True), "Clasificar la queja")
    # Both open the form before either submits.
    token_2 = csrf_token(second, link)
    ok = post_form(first, link, {"decision": "aceptar", "entidad": "MOP"})
    assert ok.status_code == 303
    late = second.post(
        link, data={"decision": "aceptar", "entidad": "IDAAN", "csrf_token": token_2}
    )
    html = late.get_data(as_text=True)
    assert late.status_code == 409
    assert "Ana Agente ya completó esta tarea el" in html


@pytest.mark.postgres
def test_concurrent_completions_exactly_one_wins(app):
    """Two truly concurrent requests on PostgreSQL: one 303, one 409."""
    assert app.extensions["centro311"].db.is_postgres
    clients = [app.test_client(), app.test_client()]
    file_case(clients[0])
    Auth(clients[0]).login("agente")
    Auth(clients[1]).login("supervisor")
    link = task_link(
        clients[0].get("/tareas").get_data(as_text=True), "Clasificar la queja"
    )
    tokens = [csrf_token(c, link) for c in clients]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def submit(i: int) -> None:
        barrier.wait()
        results[i] = clients[i].post(
            link,
            data={
                "decision": "aceptar",
                "entidad": ["MOP", "IDAAN"][i],
                "csrf_token": tokens[i],
            },
        )

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    codes = sorted(r.status_code for r in results)
    assert codes == [303, 409]
    loser = next(r for r in results if r.status_code == 409)
    assert "ya completó esta tarea" in loser.get_data(as_text=True)
    p = app.extensions["centro311"]
    with p.db.read() as s:
        from sqlalchemy import text

        completed = s.scalar(
            text("SELECT count(*) FROM case_event WHERE kind = 'task_completed'")
        )
        assigned = s.scalar(
            text("SELECT count(*) FROM case_event WHERE kind = 'assigned'")
        )
    assert completed == 1 and assigned == 1


def test_case_page_shows_timeline_to_staff(app, client, auth):
    """The case page lists the audit events with who did what."""
    number = file_case(client)
    auth.login("agente")
    link = task_link(
        client.get("/tareas").get_data(as_text=True), "Clasificar la queja"
    )
    post_form(
        client,
        link,
        {"decision": "rechazar", "motivo_rechazo": "No es una entidad del Estado."},
    )
    html = client.get(f"/casos/{number}").get_data(as_text=True)
    assert "Ana Agente" in html
    assert "No es una entidad del Estado." in html
    assert "Rechazada" in html
    auth.logout()
    auth.login("enlace.mop")
    assert client.get(f"/casos/{number}").status_code == 403


def test_agent_files_a_phone_queja(app, client, auth):
    """An agent records a call: channel phone, number to read out."""
    auth.login("agente")
    page = client.get("/casos/nuevo/queja").get_data(as_text=True)
    assert 'id="canal"' in page
    resp = post_form(client, "/casos/nuevo/queja", {**GOOD, "canal": "phone"})
    conf = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Lea en voz alta" in conf
    number = must_search(r'id="numero-caso">([^<]+)<', conf).group(1)
    p = app.extensions["centro311"]
    from engine.services.accounts import authenticate

    case = services.get_case(
        p, authenticate(p, "agente", "demo311", client="t"), number
    )
    assert case.channel == "phone"


def test_citizen_cannot_pick_a_channel(client, app):
    """An anonymous POST with canal=phone is still a web case."""
    resp = post_form(client, "/casos/nuevo/queja", {**GOOD, "canal": "phone"})
    assert resp.status_code == 303
    conf = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Lea en voz alta" not in conf


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/casos/311-2026-000001", "/casos/311-2026-000001"),
        ("//evil.example/x", "/tareas"),
        ("/\\evil.example/x", "/tareas"),
        ("https://evil.example/", "/tareas"),
    ],
)
def test_login_follows_only_same_site_next(client, target, expected):
    """After login only a plain relative path is followed (no open redirect)."""
    token = csrf_token(client, "/ingresar")
    resp = client.post(
        "/ingresar",
        query_string={"next": target},
        data={"usuario": "agente", "clave": "demo311", "csrf_token": token},
    )
    assert resp.status_code == 303
    assert resp.headers["Location"] == expected


def test_language_switch_does_not_redirect_off_site(client):
    """The language form's `next` cannot send people to another site."""
    token = csrf_token(client, "/")
    resp = client.post(
        "/idioma/en", data={"csrf_token": token, "next": "/\\evil.example"}
    )
    assert resp.headers["Location"] == "/"


def test_task_panel_shows_declared_fields_not_the_diagrams_variables(app, client, auth):
    """Labelled intake fields with their value labels; no internal variables."""
    file_case(client)
    auth.login("agente")
    page = client.get(
        task_link(client.get("/tareas").get_data(as_text=True), "Clasificar la queja")
    )
    html = page.get_data(as_text=True)
    panel = html[html.index("Datos del caso") :]
    assert "Categoría" in panel
    for internal in ("tipo_caso", "entidad_sugerida", "dias_acuse", "reaperturas"):
        assert internal not in panel, internal


def test_timeline_labels_answers_by_their_own_form(app, client, auth):
    """A completed task's answers: its form's titles and the enum's labels."""
    number = file_case(client)
    auth.login("agente")
    link = task_link(
        client.get("/tareas").get_data(as_text=True), "Clasificar la queja"
    )
    token = csrf_token(client, link)
    resp = client.post(
        link, data={"decision": "aceptar", "entidad": "MUPA", "csrf_token": token}
    )
    assert resp.status_code == 303
    html = client.get(f"/casos/{number}").get_data(as_text=True)
    answers = must_search(r'<dl class="small-facts">(.*?)</dl>', html, re.S).group(1)
    assert "<dt>Decisión</dt><dd>Aceptar y asignar a una entidad</dd>" in answers
    assert ">aceptar<" not in answers
