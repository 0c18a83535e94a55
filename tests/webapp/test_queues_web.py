"""The inbox tabs and handing tasks over, through the web pages."""

from __future__ import annotations

import re
from typing import Any

from engine import services
from engine.services import accounts, inbox
from tests.conftest import Auth, csrf_token, post_form

INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua en la vía",
    "descripcion": "Hay una fuga de agua potable frente a la escuela desde el lunes.",
}


def platform(app: Any):
    """The engine platform of the app."""
    return app.extensions["centro311"]


def actor(app: Any, username: str):
    """The Actor of a demo user."""
    return accounts.authenticate(platform(app), username, "demo311", client="t")


def agent_task(app: Any) -> tuple[str, str]:
    """File a queja; (number, id of the agent's task)."""
    p = platform(app)
    number = services.open_case(p, "queja", INTAKE).number
    page = services.list_queue(p, actor(app, "agente"), "role")
    (task,) = [t for t in page.tasks if t.case_number == number]
    return number, task.id


def minsa_task(app: Any) -> tuple[str, str]:
    """A queja routed to MINSA; (number, id of its enlace's task)."""
    number, task_id = agent_task(app)
    services.complete_task(
        platform(app),
        actor(app, "agente"),
        task_id,
        {"decision": "aceptar", "entidad": "MINSA"},
    )
    page = services.list_queue(platform(app), actor(app, "enlace.minsa"), "role")
    (task,) = [t for t in page.tasks if t.case_number == number]
    return number, task.id


def logged_in(app: Any, username: str) -> Any:
    """A client logged in as ``username``."""
    c = app.test_client()
    Auth(c).login(username)
    return c


def test_tabs_show_counts_and_claiming_moves_a_task_to_mine(app):
    """The queue tab lists the task with a Tomar button; after it, "mine"."""
    number, task_id = agent_task(app)
    c = logged_in(app, "agente")
    page = c.get("/tareas").get_data(as_text=True)
    assert re.search(
        r'id="tab-role" aria-current="page">Sin asignar\s*<span class="tab-count">1<',
        page,
    )
    assert re.search(r'id="tab-mine">Mis tareas\s*<span class="tab-count">0<', page)
    assert 'id="tab-entity"' not in page  # agents have no entity tab
    assert f'formaction="/tareas/{task_id}/tomar"' in page
    token = csrf_token(c, "/tareas")
    resp = c.post(
        f"/tareas/{task_id}/tomar",
        data={"csrf_token": token, "next": "/tareas?tab=mine"},
    )
    assert resp.status_code == 303 and resp.headers["Location"] == "/tareas?tab=mine"
    mine = c.get("/tareas?tab=mine").get_data(as_text=True)
    assert "Tomó la tarea" in mine
    assert number in mine and '<span class="holder">Ana Agente</span>' in mine
    assert f'formaction="/tareas/{task_id}/soltar"' in mine
    detail = c.get(f"/tareas/{task_id}").get_data(as_text=True)
    assert "Asignada a Ana Agente desde el" in detail


def test_forms_need_the_csrf_token(app):
    """A claim without the page's token is refused and changes nothing."""
    _, task_id = agent_task(app)
    c = logged_in(app, "agente")
    assert c.post(f"/tareas/{task_id}/tomar").status_code == 400
    assert services.list_queue(platform(app), actor(app, "agente"), "mine").tasks == []


def test_an_enlace_reaches_no_other_entitys_task_by_any_url(app):
    """Every URL of another entity's task answers 403 and changes nothing."""
    number, task_id = minsa_task(app)
    c = logged_in(app, "enlace.mop")
    token = csrf_token(c, "/tareas")
    mop = actor(app, "enlace.mop")
    assert c.get(f"/tareas/{task_id}").status_code == 403
    for action, extra in (
        ("tomar", {}),
        ("soltar", {}),
        ("asignar", {"usuario": str(mop.id)}),
    ):
        resp = c.post(
            f"/tareas/{task_id}/{action}", data={"csrf_token": token, **extra}
        )
        assert resp.status_code == 403, action
    resp = c.post(
        "/tareas/asignar",
        data={"csrf_token": token, "tareas": task_id, "usuario": str(mop.id)},
    )
    assert resp.status_code == 403
    for tab in ("mine", "role", "entity", "overdue"):
        assert number not in c.get(f"/tareas?tab={tab}").get_data(as_text=True)
    assert c.get("/tareas?tab=nada").status_code == 404
    view = services.get_task(platform(app), actor(app, "enlace.minsa"), task_id)
    assert view.assignee is None


def test_completing_a_task_someone_holds_asks_to_confirm(app):
    """409 naming the holder with a confirm button; confirmed, it completes."""
    number, task_id = agent_task(app)
    services.claim_task(platform(app), actor(app, "agente"), task_id)
    c = logged_in(app, "supervisor")
    data = {"decision": "aceptar", "entidad": "MINSA"}
    resp = post_form(c, f"/tareas/{task_id}", data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "Ana Agente tiene esta tarea asignada" in page
    assert 'name="completar_de_todos_modos"' in page
    resp = post_form(c, f"/tareas/{task_id}", {**data, "completar_de_todos_modos": "1"})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    case = c.get(f"/casos/{number}").get_data(as_text=True)
    assert "Tarea tomada" in case and "Tarea completada" in case


def test_a_supervisor_reassigns_from_the_task_page(app):
    """The select offers who may do the task; the timeline says who got it."""
    number, task_id = minsa_task(app)
    c = logged_in(app, "supervisor")
    page = c.get(f"/tareas/{task_id}").get_data(as_text=True)
    options = re.findall(r'<option value="(\d+)">([^<]+)</option>', page)
    minsa = actor(app, "enlace.minsa")
    assert options == [(str(minsa.id), "Elena Enlace (MINSA) (MINSA)")]
    assert "puede reasignarla, no completarla" in page
    resp = post_form(c, f"/tareas/{task_id}/asignar", {"usuario": str(minsa.id)})
    assert resp.status_code == 303
    assert "Tarea asignada a Elena Enlace (MINSA)." in c.get(
        resp.headers["Location"]
    ).get_data(as_text=True)
    case = c.get(f"/casos/{number}").get_data(as_text=True)
    assert "Tarea asignada a Elena Enlace (MINSA)" in case
    mop = actor(app, "enlace.mop")
    resp = post_form(c, f"/tareas/{task_id}/asignar", {"usuario": str(mop.id)})
    assert resp.status_code == 403
    assert (
        post_form(c, f"/tareas/{task_id}/asignar", {"usuario": "x"}).status_code == 400
    )


def test_bulk_assign_and_paging(app, monkeypatch):
    """A supervisor ticks tasks and hands them over; tabs page by due date."""
    tasks = [agent_task(app)[1] for _ in range(3)]
    monkeypatch.setattr(inbox, "PAGE_SIZE", 2)
    c = logged_in(app, "supervisor")
    page = c.get("/tareas?tab=role").get_data(as_text=True)
    assert "Página 1 de 2" in page and 'rel="next"' in page
    assert len(re.findall(r'name="tareas"', page)) == 2
    second = c.get("/tareas?tab=role&pagina=2").get_data(as_text=True)
    assert len(re.findall(r'name="tareas"', second)) == 1
    agent = actor(app, "agente")
    token = csrf_token(c, "/tareas?tab=role")
    resp = c.post(
        "/tareas/asignar",
        data={
            "csrf_token": token,
            "tareas": tasks,
            "usuario": str(agent.id),
            "next": "/tareas?tab=role",
        },
    )
    assert resp.status_code == 303
    after = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "3 tareas asignadas a Ana Agente." in after
    assert re.search(
        r'id="tab-role" aria-current="page">Sin asignar\s*<span class="tab-count">0<',
        after,
    )
    mine = logged_in(app, "agente").get("/tareas").get_data(as_text=True)
    assert re.search(
        r'id="tab-mine" aria-current="page">Mis tareas\s*<span class="tab-count">3<',
        mine,
    )
    empty = c.post("/tareas/asignar", data={"csrf_token": token, "usuario": "1"})
    assert empty.status_code == 303
    agent_client = logged_in(app, "agente")
    token = csrf_token(agent_client, "/tareas")
    resp = agent_client.post(
        "/tareas/asignar",
        data={"csrf_token": token, "tareas": tasks[0], "usuario": str(agent.id)},
    )
    assert resp.status_code == 403
