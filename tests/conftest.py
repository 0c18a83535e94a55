"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL in the
second pass of `make test`), platforms, apps, clients and logins."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, func, select, text

from engine import services
from engine.bundles.registry import SpecCache
from engine.domain.sealing import new_key
from engine.domain.security import hash_password
from engine.services.accounts import (
    DEMO_ENTITIES,
    DEMO_USERS,
    ensure_roles,
    upsert_entity,
)
from engine.services.platform import Platform
from engine.store import db as dbmod
from engine.store.accounts import User, UserEntity, UserRole
from engine.store.models import Base

ROOT = Path(__file__).resolve().parent.parent
ON_POSTGRES = os.environ.get("C311_TEST_ON_POSTGRES") == "1"
IN_CI = os.environ.get("CI") == "true"
DEMO_PASSWORD = "demo311"
IDENTITY_KEY = new_key()
_SPECS = SpecCache()  # parsed specs are immutable: share them across tests


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tag tests by folder so `-m e2e` and friends select them."""
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def postgres_url() -> str:
    """The PostgreSQL URL of the test run; fails in CI when there is none."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        if IN_CI:
            pytest.fail("CI=true but TEST_DATABASE_URL is not set")
        pytest.skip("TEST_DATABASE_URL not set")
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return url


def migration_url(tmp_path: Path, schema: str) -> str:
    """A database of its own for a migration test: an SQLite file, or on
    PostgreSQL a fresh ``schema`` (see :func:`drop_schema`) as search path."""
    if not ON_POSTGRES:
        return f"sqlite:///{tmp_path}/{schema}.db"
    url = postgres_url()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    """Remove a migration test's PostgreSQL schema (nothing to do on SQLite)."""
    if ON_POSTGRES:
        engine = create_engine(postgres_url())
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def without_scenarios(files: dict[str, str]) -> dict[str, str]:
    """A bundle's files without its process tests (``tests/*.json``): for a
    test that deploys a changed seed bundle whose scenarios no longer hold."""
    return {k: v for k, v in files.items() if not k.startswith("tests/")}


@contextmanager
def database_at(tmp_path: Path, schema: str, revision: str) -> Iterator[str]:
    """A migration test's own database (see :func:`migration_url`) migrated
    to ``revision``; its PostgreSQL schema is dropped afterwards."""
    found = migration_url(tmp_path, schema)
    dbmod.upgrade(found, revision)
    try:
        yield found
    finally:
        drop_schema(schema)


def bare_case(case_id: int, at: datetime, **columns: Any) -> dict[str, Any]:
    """The columns of a bare ``case`` row as every revision has them (on
    process version 1; ``columns`` add to or override them)."""
    return {
        "id": case_id,
        "number": f"311-2026-{case_id:06d}",
        "case_type": "queja",
        "process_version_id": 1,
        "channel": "web",
        "subject": "",
        "access_code_hash": "x",
        "status": "open",
        "public_status": "",
        "created_at": at,
        "updated_at": at,
        "lock_version": 1,
        **columns,
    }


def insert_cases(engine: Any, rows: list[dict[str, Any]], at: datetime) -> None:
    """Insert ``rows`` (see :func:`bare_case`) into a migration test's
    database, with the process version 1 they point at if it is missing."""
    meta = sa_metadata(engine, "process_version", "case")
    versions, cases = meta.tables["process_version"], meta.tables["case"]
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(versions)).scalar() == 0:
            conn.execute(
                versions.insert(),
                {
                    "id": 1,
                    "case_type": "queja",
                    "version": 1,
                    "title": "Queja",
                    "content_hash": "0" * 64,
                    "files": {},
                    "deployed_by": "admin",
                    "deployed_at": at,
                    "note": "",
                },
            )
        conn.execute(cases.insert(), rows)


def sa_metadata(engine: Any, *tables: str) -> MetaData:
    """The reflected ``tables`` of a migration test's database."""
    meta = MetaData()
    meta.reflect(engine, only=list(tables))
    return meta


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a template SQLite file, or the PG database."""
    if ON_POSTGRES:
        url = postgres_url()
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        dbmod.upgrade(url)
        return url
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path}"
    dbmod.upgrade(url)
    return str(path)


@pytest.fixture
def db_url(_template: str, tmp_path: Path) -> str:
    """A database of its own for each test, migrated to head and empty."""
    if ON_POSTGRES:
        engine = create_engine(_template)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return _template
    target = tmp_path / "c311.db"
    shutil.copyfile(_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def platform(db_url: str) -> Iterator[Platform]:
    """An engine platform on the test's database."""
    p = Platform(db_url, specs=_SPECS, identity_key=IDENTITY_KEY)
    yield p
    p.close()


@pytest.fixture(scope="session")
def demo_hash() -> str:
    """The demo password hashed once (scrypt is slow on purpose)."""
    return hash_password(DEMO_PASSWORD)


def seed(p: Platform, password_hash: str) -> None:
    """Deploy the seed definitions and create the demo entities and users."""
    services.deploy_seed(p, ROOT / "bpmn", ROOT / "forms")
    ensure_roles(p)
    for code, name in DEMO_ENTITIES.items():
        upsert_entity(p, code, name)
    with p.db.transaction() as s:
        for username, (name, roles, entities) in DEMO_USERS.items():
            user = User(
                username=username,
                full_name=name,
                password_hash=password_hash,
                created_at=p.clock(),
                active=True,
            )
            user.roles = [UserRole(role_key=r) for r in roles]
            user.entities = [UserEntity(entity_code=e) for e in entities]
            s.add(user)


@pytest.fixture
def seeded(platform: Platform, demo_hash: str) -> Platform:
    """A platform with the queja deployed and the demo users."""
    seed(platform, demo_hash)
    return platform


@pytest.fixture
def app(db_url: str, demo_hash: str, tmp_path: Path) -> Iterator[Any]:
    """The Flask app on the test database, seeded."""
    from webapp import create_app

    application = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "test-secret",
            "IDENTITY_KEY": IDENTITY_KEY,
            "DATABASE_URL": db_url,
            "SERVER_NAME": None,
        }
    )
    application.instance_path = str(tmp_path / "instance")
    seed(application.extensions["centro311"], demo_hash)
    yield application
    application.extensions["centro311"].close()


@pytest.fixture
def client(app: Any) -> Any:
    """A test client."""
    return app.test_client()


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: Any, url: str) -> str:
    """Fetch a page and return the CSRF token of its form."""
    page = client.get(url)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post_form(client: Any, url: str, data: dict[str, Any], **kw: Any) -> Any:
    """POST a form the way a browser does: with the page's CSRF token."""
    token = csrf_token(client, url)
    return client.post(url, data={**data, "csrf_token": token}, **kw)


class Auth:
    """Log in and out as demo users."""

    def __init__(self, client: Any) -> None:
        """Bind to a test client."""
        self.client = client

    def login(self, username: str, password: str = DEMO_PASSWORD) -> Any:
        """Log in through the login form."""
        return post_form(
            self.client, "/ingresar", {"usuario": username, "clave": password}
        )

    def logout(self) -> Any:
        """Log out through the logout form."""
        return self.client.post(
            "/salir", data={"csrf_token": csrf_token(self.client, "/")}
        )


def receipt(client: Any, resp: Any) -> tuple[str, str]:
    """(number, code) from the confirmation page a filing redirected to."""
    assert resp.status_code == 303, resp.get_data(as_text=True)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    number = re.search(r'id="numero-caso">([^<]+)<', page)
    code = re.search(r'id="codigo-acceso">([^<]+)<', page)
    assert number and code, "no case number on the confirmation page"
    return number.group(1), code.group(1)


def work(app: Any, username: str, task_name: str, data: dict, number: str) -> None:
    """A staff member completes a task of a case through the web pages."""
    c = app.test_client()
    Auth(c).login(username)
    inbox = c.get("/tareas").get_data(as_text=True)
    row = next(r for r in inbox.split("<tr>") if number in r and task_name in r)
    link = re.search(rf'href="(/tareas/[0-9a-f-]+)">{re.escape(task_name)}<', row)
    assert link, f"no '{task_name}' link for {number}"
    resp = post_form(c, link.group(1), data)
    assert resp.status_code == 303, resp.get_data(as_text=True)


@pytest.fixture
def auth(client: Any) -> Auth:
    """Login helper bound to the client."""
    return Auth(client)


def must_search(pattern: str, text: str, flags: int = 0) -> re.Match[str]:
    """``re.search`` that fails the test, with the pattern, when nothing matches."""
    found = re.search(pattern, text, flags)
    assert found is not None, f"{pattern!r} not found"
    return found
