"""The admin pages: entities, people, the audit log viewer, and the board.

Every admin action is a CSRF-protected POST, refused on the server to
anyone but an admin, and audited; CSV files neutralise formulas.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select, update

from engine import services
from engine.domain.views import Actor
from engine.services import auditing
from engine.store.accounts import AuditLog, User
from engine.store.models import Case
from tests.conftest import Auth, csrf_token, post_form

INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua",
    "descripcion": "Hay una fuga de agua potable frente a la escuela.",
}


def user_id(app: Any, username: str) -> int:
    """The id of a user of the test app."""
    with app.extensions["centro311"].db.read() as s:
        return s.scalars(select(User.id).where(User.username == username)).one()


def audit_actions(app: Any) -> list[str]:
    """Every audit record's action, oldest first."""
    with app.extensions["centro311"].db.read() as s:
        return list(s.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_admin_pages_refuse_everyone_but_admins(app, client, auth) -> None:
    """Supervisors get 403 on every admin page and action (server side)."""
    auth.login("supervisor")
    sup_token = csrf_token(client, "/buscar")
    for url in (
        "/admin/entidades",
        "/admin/entidades/nueva",
        "/admin/entidades/MOP",
        "/admin/usuarios",
        "/admin/usuarios/nuevo",
        f"/admin/usuarios/{user_id(app, 'agente')}",
    ):
        assert client.get(url).status_code == 403, url
    posts = {
        "/admin/entidades/nueva": {"siglas": "X", "nombre": "X"},
        "/admin/entidades/MOP/activa": {"activa": "0"},
        f"/admin/usuarios/{user_id(app, 'agente')}/activa": {"activa": "0"},
    }
    for url, data in posts.items():
        resp = client.post(url, data={**data, "csrf_token": sup_token})
        assert resp.status_code == 403, url
    assert "entity_deactivated" not in audit_actions(app)
    auth.logout()
    assert client.get("/admin/entidades").status_code == 302  # to the login


def test_admin_actions_need_the_csrf_token(app, client, auth) -> None:
    """A POST without the form's token is refused and changes nothing."""
    auth.login("admin")
    sup = user_id(app, "supervisor")
    resp = client.post(f"/admin/usuarios/{sup}/activa", data={"activa": "0"})
    assert resp.status_code == 400
    resp = client.post("/admin/entidades/MOP/activa", data={"activa": "0"})
    assert resp.status_code == 400
    assert audit_actions(app).count("user_deactivated") == 0
    assert "MOP" in client.get("/admin/entidades").get_data(as_text=True)


def test_an_admin_lands_on_the_admin_area_and_sees_the_board(app, client, auth) -> None:
    """Login takes an admin to the entities; /tablero shows the whole center
    (item 6), without links to case pages admins cannot open."""
    resp = auth.login("admin")
    assert resp.headers["Location"].endswith("/admin/entidades")
    services.open_case(app.extensions["centro311"], "queja", INTAKE)
    board = client.get("/tablero")
    assert board.status_code == 200
    assert 'id="abiertos">1<' in board.get_data(as_text=True)


def test_create_edit_and_deactivate_an_entity(app, client, auth) -> None:
    """Create with categories, edit, refuse with open cases (linking to
    their search), deactivate when none are open; each step audited."""
    auth.login("admin")
    resp = post_form(
        client,
        "/admin/entidades/nueva",
        {
            "siglas": "MIDA",
            "nombre": "Ministerio de Desarrollo Agropecuario",
            "sector": "Agro",
            "correo": "buzon@mida.gob.pa",
            "categorias": "agro, ganaderia",
        },
    )
    assert resp.status_code == 303
    listing = client.get("/admin/entidades").get_data(as_text=True)
    assert "<code>agro</code>, <code>ganaderia</code>" in listing
    bad = post_form(
        client, "/admin/entidades/MIDA", {"nombre": "", "correo": "no es correo"}
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'id="nombre-error"' in page and 'id="correo-error"' in page

    p = app.extensions["centro311"]
    number = services.open_case(p, "queja", INTAKE).number
    with p.db.transaction() as s:
        s.execute(update(Case).where(Case.number == number).values(entity_code="MIDA"))
    token = csrf_token(client, "/admin/entidades/MIDA")
    resp = client.post(
        "/admin/entidades/MIDA/activa", data={"activa": "0", "csrf_token": token}
    )
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "MIDA tiene 1 casos abiertos" in page
    assert 'href="/buscar?entidad=MIDA&amp;estado=open"' in page
    assert "entity_deactivated" not in audit_actions(app)
    token = csrf_token(client, "/admin/entidades/MOP")
    resp = client.post(
        "/admin/entidades/MOP/activa", data={"activa": "0", "csrf_token": token}
    )
    assert resp.status_code == 303
    assert audit_actions(app)[-1] == "entity_deactivated"
    assert "entity_created" in audit_actions(app)


def test_create_a_person_and_deactivate_them_ends_their_session(app, auth) -> None:
    """An admin creates an agent; the agent logs in; the admin deactivates
    them; the agent's very next request is sent to the login page."""
    admin = app.test_client()
    Auth(admin).login("admin")
    bad = post_form(
        admin,
        "/admin/usuarios/nuevo",
        {"usuario": "x y", "nombre": "", "clave": "corta"},
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    for field in ("usuario", "nombre", "roles", "clave"):
        assert f'id="{field}-error"' in page, field
    resp = post_form(
        admin,
        "/admin/usuarios/nuevo",
        {
            "usuario": "pedro.agente",
            "nombre": "Pedro Agente",
            "correo": "pedro@311.gob.pa",
            "roles": ["agente_311"],
            "clave": "Tres-ranas-verdes-2026",
        },
    )
    assert resp.status_code == 303
    agent = app.test_client()
    assert (
        Auth(agent).login("pedro.agente", "Tres-ranas-verdes-2026").status_code == 303
    )
    assert agent.get("/tareas").status_code == 200

    pedro = user_id(app, "pedro.agente")
    token = csrf_token(admin, f"/admin/usuarios/{pedro}")
    resp = admin.post(
        f"/admin/usuarios/{pedro}/activa", data={"activa": "0", "csrf_token": token}
    )
    assert resp.status_code == 303
    after = agent.get("/tareas")
    assert after.status_code == 302 and "/ingresar" in after.headers["Location"]
    assert audit_actions(app)[-1] == "user_deactivated"


def test_the_last_admin_cannot_be_removed_on_the_page(app, client, auth) -> None:
    """Taking the admin role from the only admin answers with the reason."""
    auth.login("admin")
    me = user_id(app, "admin")
    resp = post_form(
        client,
        f"/admin/usuarios/{me}",
        {"nombre": "Admin", "roles": ["agente_311"]},
    )
    assert resp.status_code == 409
    assert "último administrador" in resp.get_data(as_text=True)


def test_the_audit_viewer_and_its_csv(app, client, auth) -> None:
    """Supervisors read the log with Spanish labels and filters; the CSV is
    audited and writes formula-like cells as text; agents get 403."""
    auth.login("admin")
    post_form(client, "/admin/entidades/nueva", {"siglas": "MIDA", "nombre": "M"})
    auth.logout()
    p = app.extensions["centro311"]
    with p.db.transaction() as s:  # a title someone typed, as a target
        who = Actor(0, "admin", "Admin", frozenset({"admin"}))
        auditing.record(s, p.clock(), who, "entity_created", {"target": "=cmd|x"})
    auth.login("supervisor")
    page = client.get("/admin/auditoria?accion=entity_created")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Entidad creada" in text and "MIDA" in text and "<code>admin</code>" in text
    assert "Versión desplegada" not in text.split('id="auditoria"')[1]
    bad = client.get("/admin/auditoria?desde=ayer")
    assert bad.status_code == 422 and 'id="desde-error"' in bad.get_data(as_text=True)

    resp = client.get("/admin/auditoria.csv?accion=entity_created")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Fecha y hora"
    assert [r[3] for r in rows[1:]] == ["entity_created", "entity_created"]
    assert [r[7] for r in rows[1:]] == ["'=cmd|x", "MIDA"]  # newest first
    assert audit_actions(app)[-1] == "export_audit"
    auth.logout()
    auth.login("agente")
    assert client.get("/admin/auditoria").status_code == 403
    assert client.get("/admin/auditoria.csv").status_code == 403


def test_formula_cells_are_neutralised_in_every_csv() -> None:
    """The shared helper writes a leading apostrophe before formula starts."""
    from webapp.csvfile import csv_line

    line = csv_line(["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "ok"])
    cells = next(csv.reader(io.StringIO(line)))
    assert cells == ["'=cmd|' /C calc'!A0", "'+1", "'-2", "'@SUM(A1)", "ok"]


def test_a_person_created_without_a_password_is_invited_by_mail(app) -> None:
    """No password: an invitation goes to their address (queued with the
    account); no password and no address is refused; the person page can
    send another invitation."""
    from sqlalchemy import select

    from engine.store.publishing import Outbox

    admin = app.test_client()
    Auth(admin).login("admin")
    fields = {
        "usuario": "rosa.enlace",
        "nombre": "Rosa Enlace",
        "roles": ["enlace"],
        "entidad": "MOP",
        "clave": "",
    }
    refused = post_form(admin, "/admin/usuarios/nuevo", fields)
    assert refused.status_code == 422
    assert "para enviarle la invitación" in refused.get_data(as_text=True)
    resp = post_form(
        admin, "/admin/usuarios/nuevo", dict(fields, correo="rosa@mop.gob.pa")
    )
    assert resp.status_code == 303
    rosa = user_id(app, "rosa.enlace")
    resp = admin.post(
        f"/admin/usuarios/{rosa}/invitacion",
        data={"csrf_token": csrf_token(admin, f"/admin/usuarios/{rosa}")},
    )
    assert resp.status_code == 303
    with app.extensions["centro311"].db.read() as s:
        sent = s.scalars(select(Outbox).where(Outbox.to == "rosa@mop.gob.pa")).all()
    assert len(sent) == 2
    assert all("/ingresar/invitacion/" in m.body for m in sent)
