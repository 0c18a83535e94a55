"""Health, headers, configuration and migrations."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from engine.store import db as dbmod
from tests.conftest import drop_schema, migration_url


def test_healthz_ok(client):
    """The health check answers 200 with the database reachable."""
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"db": "ok"}


def test_healthz_503_without_database(tmp_path):
    """An unreachable database gives 503."""
    from webapp import create_app

    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "x",
            "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/db.sqlite",
        }
    )
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.get_json() == {"db": "error"}


def test_security_headers(client):
    """Every page carries the protective headers."""
    resp = client.get("/")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


def test_production_refuses_to_start_without_secret(monkeypatch, tmp_path):
    """Outside development the app needs a real SECRET_KEY."""
    from webapp import create_app
    from webapp.config import MissingSecret

    monkeypatch.delenv("C311_SECRET_KEY", raising=False)
    with pytest.raises(MissingSecret, match="SECRET_KEY"):
        create_app(
            {"ENV": "production", "DATABASE_URL": "sqlite://"}, check_secrets=True
        )


def test_production_refuses_to_start_without_identity_key(monkeypatch):
    """Reserved identities need a sealing key before production starts."""
    from webapp import create_app
    from webapp.config import MissingSecret

    monkeypatch.delenv("C311_IDENTITY_KEY", raising=False)
    with pytest.raises(MissingSecret, match="IDENTITY_KEY"):
        create_app(
            {"ENV": "production", "SECRET_KEY": "s" * 32, "DATABASE_URL": "sqlite://"},
            check_secrets=True,
        )


def test_a_server_gets_one_line_and_an_exit_status(monkeypatch, capsys):
    """Built for a web server (no flag, no flask command): one line, no app.

    A :class:`SystemExit`, which gunicorn lets through without a traceback;
    ``test_readme_commands`` runs gunicorn itself.
    """
    from webapp import SERVER_REFUSAL_STATUS, create_app

    monkeypatch.delenv("C311_SECRET_KEY", raising=False)
    with pytest.raises(SystemExit) as stopped:
        create_app({"ENV": "production", "DATABASE_URL": "sqlite://"})
    assert stopped.value.code == SERVER_REFUSAL_STATUS
    err = capsys.readouterr().err
    assert err.startswith("Error: Falta SECRET_KEY") and err.count("\n") == 1


def test_session_cookie_is_secure_in_production():
    """Production cookies are Secure and HttpOnly."""
    from engine.domain.sealing import new_key
    from webapp import create_app

    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "s" * 32,
            "IDENTITY_KEY": new_key(),
            "DATABASE_URL": "sqlite://",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_migrations_go_both_ways(tmp_path):
    """upgrade head → downgrade base → upgrade head leaves the full schema."""
    url = migration_url(tmp_path, "mig_test")
    dbmod.upgrade(url)
    dbmod.downgrade(url, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    dbmod.upgrade(url)
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "case",
        "workflow_state",
        "human_task",
        "case_event",
        "process_version",
    } <= tables
    drop_schema("mig_test")


def test_database_outage_gives_a_503_page_even_when_logged_in(app, auth):
    """A logged-in agent meets an outage: the app's own 503 page, not a bare 500."""
    from engine.store.db import Database

    auth.login("agente")
    p = app.extensions["centro311"]
    working = p.db
    p.db = Database(f"sqlite:///{app.instance_path}/missing/dir/db.sqlite")
    try:
        resp = auth.client.get("/tareas")
    finally:
        p.db.dispose()
        p.db = working
    html = resp.get_data(as_text=True)
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "30"
    assert "no está disponible por un momento" in html
    assert "Ana Agente" not in html  # rendered without loading the user
    # The database is back: the same session works again.
    assert auth.client.get("/tareas").status_code == 200
