"""Sessions: constant-time login and server-side revocation of cookies."""

from __future__ import annotations

import statistics
import time

import pytest

from engine.domain.errors import InvalidData, NotAllowed, NotFound
from engine.services import accounts
from engine.store.accounts import User
from tests.conftest import DEMO_PASSWORD, Auth

COOKIE = "session"


def copy_cookie(source, target) -> None:
    """Give ``target`` a copy of ``source``'s session cookie (a stolen copy)."""
    cookie = source.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie to copy"
    target.set_cookie(COOKIE, cookie.value)


def inbox_status(client) -> tuple[int, str]:
    """Status of /tareas and where it redirects to (if it does)."""
    resp = client.get("/tareas")
    return resp.status_code, resp.headers.get("Location", "")


def logged_in_pair(app):
    """Two clients sharing one logged-in agent session: the browser and a copy."""
    browser = app.test_client()
    Auth(browser).login("agente")
    copy = app.test_client()
    copy_cookie(browser, copy)
    assert inbox_status(copy)[0] == 200  # the copy works before revocation
    return browser, copy


def timed_login(p, username: str) -> float:
    """Seconds a failed login of ``username`` takes."""
    start = time.perf_counter()
    with pytest.raises(NotFound):
        accounts.authenticate(p, username, "clave-equivocada", client="timing")
    return time.perf_counter() - start


def test_login_takes_as_long_for_unknown_users(app):
    """A wrong password and an unknown (or inactive) user cost the same.

    Before, an unknown user skipped scrypt and answered about 7× faster,
    which told an attacker which usernames exist.
    """
    p = app.extensions["centro311"]
    p.limits.login_attempts = 1000  # measure the check, not the throttle
    with p.db.transaction() as s:
        user = s.query(User).filter_by(username="enlace.mop").one()
        user.active = False
    runs: dict[str, list[float]] = {"agente": [], "nadie.existe": [], "enlace.mop": []}
    for name in runs:  # warm-up: first queries and the dummy hash
        timed_login(p, name)
    for _ in range(5):
        for name, times in runs.items():
            times.append(timed_login(p, name))
    known = statistics.median(runs["agente"])
    for other in ("nadie.existe", "enlace.mop"):
        median = statistics.median(runs[other])
        ratio = max(known, median) / min(known, median)
        assert ratio < 2, f"{other}: {median * 1000:.1f} ms vs {known * 1000:.1f} ms"


def test_logout_revokes_every_copy_of_the_cookie(app):
    """After logout, a copy of the cookie taken before is sent to the login.

    Logging in again afterwards gets a working session (only old ones end).
    """
    browser, copy = logged_in_pair(app)
    Auth(browser).logout()
    status, location = inbox_status(copy)
    assert status == 302
    assert "/ingresar" in location
    assert inbox_status(browser)[0] == 302
    Auth(browser).login("agente")
    assert inbox_status(browser)[0] == 200
    assert inbox_status(copy)[0] == 302


def test_password_change_revokes_sessions_and_old_password(app):
    """An admin's password change logs the user out everywhere."""
    p = app.extensions["centro311"]
    browser, copy = logged_in_pair(app)
    admin = accounts.authenticate(p, "admin", DEMO_PASSWORD, client="t")
    agent = accounts.authenticate(p, "agente", DEMO_PASSWORD, client="t")
    changed = accounts.set_password(p, admin, agent.id, "una-clave-nueva")
    assert changed.session_epoch > agent.session_epoch
    for client in (browser, copy):
        status, location = inbox_status(client)
        assert status == 302 and "/ingresar" in location
    assert Auth(browser).login("agente").status_code == 401  # old password
    assert Auth(browser).login("agente", "una-clave-nueva").status_code == 303
    assert inbox_status(browser)[0] == 200


def test_users_change_their_own_password_only(app):
    """The user themself or an admin; the new password is long enough."""
    p = app.extensions["centro311"]
    agent = accounts.authenticate(p, "agente", DEMO_PASSWORD, client="t")
    other = accounts.authenticate(p, "supervisor", DEMO_PASSWORD, client="t")
    with pytest.raises(NotAllowed):
        accounts.set_password(p, other, agent.id, "una-clave-nueva")
    with pytest.raises(InvalidData) as err:
        accounts.set_password(p, agent, agent.id, "corta")
    assert "password" in err.value.errors
    accounts.set_password(p, agent, agent.id, "mi-clave-propia")
    assert accounts.authenticate(p, "agente", "mi-clave-propia", client="t")
    with p.db.read() as s:
        stored = s.get(User, agent.id).password_hash
    assert "mi-clave-propia" not in stored and stored.startswith("scrypt$")


def test_session_ids_name_the_epoch(app):
    """The session holds "<id>:<epoch>"; ids without an epoch are refused."""
    client = app.test_client()
    Auth(client).login("agente")
    with client.session_transaction() as sess:
        user_id, _sep, epoch = sess["_user_id"].partition(":")
        assert epoch == "0"
        sess["_user_id"] = user_id  # a cookie issued before epochs existed
    status, location = inbox_status(client)
    assert status == 302 and "/ingresar" in location
    for forged in ("abc", f"{user_id}:x", f"{user_id}:1", f"{user_id}:²"):
        with client.session_transaction() as sess:
            sess["_user_id"] = forged
        assert inbox_status(client)[0] == 302


def test_load_actor_checks_the_epoch(app):
    """The engine loads a user only in their current session epoch."""
    p = app.extensions["centro311"]
    agent = accounts.authenticate(p, "agente", DEMO_PASSWORD, client="t")
    assert accounts.load_actor(p, agent.id, agent.session_epoch) == agent
    accounts.end_sessions(p, agent.id)
    assert accounts.load_actor(p, agent.id, agent.session_epoch) is None
    fresh = accounts.load_actor(p, agent.id, agent.session_epoch + 1)
    assert fresh is not None and fresh.session_epoch == agent.session_epoch + 1
