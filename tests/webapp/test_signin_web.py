"""Sign-in pages: the code step, forced enrolment, links, Mi cuenta, CLI."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from engine.services import accounts, signin
from engine.store.accounts import AuditLog
from engine.store.publishing import Outbox
from tests.conftest import IDENTITY_KEY, Auth, csrf_token, must_search, post_form, seed

GOOD = "tres tigres comen trigo"


@pytest.fixture
def app(db_url, demo_hash, tmp_path):
    """The app requiring TOTP of supervisors (the suite's default is none)."""
    from webapp import create_app

    application = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "test-secret",
            "IDENTITY_KEY": IDENTITY_KEY,
            "DATABASE_URL": db_url,
            "TOTP_REQUIRED_ROLES": ["supervisor_311"],
        }
    )
    application.instance_path = str(tmp_path / "instance")
    seed(application.extensions["centro311"], demo_hash)
    yield application
    application.extensions["centro311"].close()


def enrol_on_page(client):
    """Enrol through /cuenta/doble-factor; (secret, recovery codes)."""
    page = client.get("/cuenta/doble-factor").get_data(as_text=True)
    secret = must_search(r'id="clave-secreta">([A-Z2-7]+)<', page).group(1)
    assert "<svg" in page
    code = pyotp.TOTP(secret).now()
    resp = post_form(client, "/cuenta/doble-factor", {"codigo": code})
    assert resp.headers["Location"] == "/cuenta/codigos"
    shown = client.get("/cuenta/codigos").get_data(as_text=True)
    codes = re.findall(r"<code>([A-Z2-9]{5}-[A-Z2-9]{5})</code>", shown)
    assert len(codes) == 10
    # Shown once: the page is gone on the next visit.
    assert client.get("/cuenta/codigos").headers["Location"] == "/cuenta"
    return secret, codes


def test_a_required_role_must_enrol_before_anything_else(client):
    """A supervisor without TOTP signs in but reaches only enrolment."""
    resp = Auth(client).login("supervisor")
    assert resp.status_code == 303
    for url in ("/tareas", "/buscar", "/cuenta"):
        assert client.get(url).headers["Location"] == "/cuenta/doble-factor"
    page = client.get("/cuenta/doble-factor").get_data(as_text=True)
    assert "Su rol exige la verificación en dos pasos" in page
    enrol_on_page(client)
    assert client.get("/tareas").status_code == 200
    account = client.get("/cuenta").get_data(as_text=True)
    assert "no puede desactivarla" in account
    assert "/cuenta/doble-factor/desactivar" not in account


def test_with_totp_the_password_alone_signs_nobody_in(client):
    """After the password comes the code page; only a code finishes it."""
    auth = Auth(client)
    auth.login("agente")
    secret, codes = enrol_on_page(client)
    auth.logout()
    resp = auth.login("agente")
    assert resp.headers["Location"] == "/ingresar/codigo"
    assert client.get("/tareas").headers["Location"].startswith("/ingresar")
    wrong = post_form(client, "/ingresar/codigo", {"codigo": "123456"})
    assert wrong.status_code == 401
    assert "no es válido o ya se usó" in wrong.get_data(as_text=True)
    used = pyotp.TOTP(secret).now()  # the enrolment's code: a replay
    assert post_form(client, "/ingresar/codigo", {"codigo": used}).status_code == 401
    resp = post_form(client, "/ingresar/codigo", {"codigo": codes[3]})
    assert resp.status_code == 303 and resp.headers["Location"] == "/tareas"
    assert client.get("/tareas").status_code == 200
    assert "9 códigos de recuperación" in client.get("/cuenta").get_data(as_text=True)


def test_the_code_page_without_a_password_step_goes_back(client):
    """No pending sign-in: back to the login page."""
    assert client.get("/ingresar/codigo").headers["Location"] == "/ingresar"


def test_forgot_password_answers_alike_and_needs_csrf(app, client):
    """Known and unknown addresses get the same page; only one gets mail."""
    p = app.extensions["centro311"]
    accounts.create_user(
        p, "nora", "Nora", None, ["enlace"], entity_codes=["MOP"], email="nora@mop.pa"
    )
    answers = []
    for address in ("nadie@mop.pa", "nora@mop.pa"):
        resp = post_form(client, "/ingresar/olvide", {"correo": address})
        answers.append((resp.status_code, resp.headers["Location"]))
        answers.append(client.get("/ingresar").get_data(as_text=True).count("Si esa"))
    assert answers[0:2] == answers[2:4] == [(303, "/ingresar"), 1]
    with p.db.read() as s:
        assert list(s.scalars(select(Outbox.to))) == ["nora@mop.pa"]
    bad = post_form(client, "/ingresar/olvide", {"correo": "no-es-correo"})
    assert bad.status_code == 422 and 'id="correo-error"' in bad.get_data(as_text=True)
    assert client.post("/ingresar/olvide", data={"correo": "x@y.pa"}).status_code == 400


def test_invitation_page_sets_a_password_once(app, client):
    """Mismatch and weak passwords are named; the good one signs in."""
    p = app.extensions["centro311"]
    created = accounts.create_user(
        p,
        "nora",
        "Nora Nueva",
        None,
        ["enlace"],
        entity_codes=["MOP"],
        email="n@mop.pa",
    )
    admin = accounts.authenticate(p, "admin", "demo311", client="t")
    signin.invite_user(p, admin, created.id)
    with p.db.read() as s:
        body = s.scalars(select(Outbox.body)).one()
    url = must_search(r"http://[^/]+(/ingresar/invitacion/\S+)", body).group(1)
    page = client.get(url).get_data(as_text=True)
    assert "nora (Nora Nueva)" in page
    resp = post_form(client, url, {"nueva": GOOD, "repetir": GOOD + "x"})
    assert resp.status_code == 422 and "no coinciden" in resp.get_data(as_text=True)
    resp = post_form(client, url, {"nueva": "password1234", "repetir": "password1234"})
    assert 'id="nueva-error"' in resp.get_data(as_text=True)
    resp = post_form(client, url, {"nueva": GOOD, "repetir": GOOD})
    assert resp.headers["Location"] == "/ingresar"
    assert client.get(url).status_code == 404
    assert Auth(client).login("nora", GOOD).headers["Location"] == "/tareas"
    assert client.get("/ingresar/restablecer/" + "x" * 101).status_code == 404


def test_account_page_changes_the_password(client):
    """The current password is asked; a mismatch is named; the session stays."""
    auth = Auth(client)
    auth.login("agente")
    page = client.get("/cuenta").get_data(as_text=True)
    assert "Cambiar la contraseña" in page and "Activar la verificación" in page
    wrong = post_form(
        client, "/cuenta", {"actual": "mala", "nueva": GOOD, "repetir": GOOD}
    )
    assert wrong.status_code == 422 and 'id="actual-error"' in wrong.get_data(
        as_text=True
    )
    resp = post_form(
        client, "/cuenta", {"actual": "demo311", "nueva": GOOD, "repetir": GOOD}
    )
    assert resp.headers["Location"] == "/cuenta"
    assert client.get("/tareas").status_code == 200  # this browser stays in
    auth.logout()
    assert auth.login("agente").status_code == 401
    assert auth.login("agente", GOOD).status_code == 303


def test_account_forms_need_csrf(client):
    """Every form of Mi cuenta refuses a POST without its token."""
    Auth(client).login("agente")
    for url in ("/cuenta", "/cuenta/doble-factor", "/cuenta/codigos"):
        assert client.post(url, data={"clave": "demo311"}).status_code == 400
    assert client.post("/cuenta/doble-factor/desactivar").status_code == 400


def test_turning_totp_off_from_the_account_page(client):
    """An agent may turn it off with the password."""
    Auth(client).login("agente")
    enrol_on_page(client)
    token = csrf_token(client, "/cuenta")
    client.post("/cuenta/doble-factor/desactivar", data={"csrf_token": token})
    assert "Desactivar" in client.get("/cuenta").get_data(as_text=True)
    token = csrf_token(client, "/cuenta")
    client.post(
        "/cuenta/doble-factor/desactivar",
        data={"csrf_token": token, "clave": "demo311"},
    )
    assert "No activada" in client.get("/cuenta").get_data(as_text=True)


def test_cli_invites_and_resets_a_second_factor(app):
    """`flask invite` and `flask reset-2fa` act as the first admin, audited."""
    p = app.extensions["centro311"]
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "nora",
            "--name",
            "Nora",
            "--role",
            "enlace",
            "--entity",
            "MOP",
            "--email",
            "nora@mop.pa",
            "--invite",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Invitación enviada a nora@mop.pa." in result.output
    assert "Invitación enviada" in runner.invoke(args=["invite", "nora"]).output
    refused = runner.invoke(args=["invite", "agente"])
    assert refused.exit_code == 1 and "correo" in refused.output
    by_agent = runner.invoke(args=["invite", "nora", "--by", "agente"])
    assert "no es administrador" in by_agent.output
    result = runner.invoke(args=["reset-2fa", "supervisor"])
    assert result.exit_code == 0, result.output
    weak = runner.invoke(
        args=["create-user", "beto", "--name", "B", "--role", "agente_311"],
        input="password1234\npassword1234\n",
    )
    assert weak.exit_code == 1 and "más usadas" in weak.output
    with p.db.read() as s:
        actions = list(
            s.scalars(
                select(AuditLog.action)
                .where(AuditLog.action != "deploy")
                .order_by(AuditLog.id)
            )
        )
    assert actions == ["user_invited", "user_invited", "second_factor_reset"]
