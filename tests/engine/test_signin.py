"""Sign-in by mail links and the password policy (engine services)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.domain.clock import FrozenClock
from engine.domain.enums import TokenPurpose
from engine.domain.errors import (
    InvalidData,
    NotAllowed,
    NotFound,
    TooManyAttempts,
)
from engine.domain.passwords import PasswordPolicy, policy_problems
from engine.domain.security import token_digest
from engine.services import accounts, signin
from engine.services.platform import Limits, Platform, SignInSettings
from engine.store.accounts import AuditLog, SignInToken, User
from engine.store.publishing import Outbox
from tests.conftest import DEMO_PASSWORD, IDENTITY_KEY, must_search, seed

START = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
GOOD = "tres tigres comen trigo"
POLICY = PasswordPolicy()


@pytest.fixture
def clock():
    """A clock the tests move."""
    return FrozenClock(START)


@pytest.fixture
def p(db_url, demo_hash, clock):
    """A seeded platform on a frozen clock, small limits, a new enlace."""
    platform = Platform(
        db_url,
        identity_key=IDENTITY_KEY,
        clock=clock,
        limits=Limits(login_attempts=3, login_window_s=900),
        signin=SignInSettings(reset_requests=2, reset_window_s=3600),
    )
    seed(platform, demo_hash)
    accounts.create_user(
        platform,
        "nuevo.enlace",
        "Nora Nueva",
        None,
        ["enlace"],
        entity_codes=["MOP"],
        email="Nora@Example.pa",
    )
    yield platform
    platform.close()


def actor(p, username):
    """A demo user as an Actor."""
    return accounts.authenticate(p, username, DEMO_PASSWORD, client="setup")


def user_id(p, username):
    """The id of ``username``."""
    return signin.user_id_of(p, username)


def token_in_mail(p, purpose=TokenPurpose.INVITE):
    """The token of the newest mailed link of ``purpose``."""
    with p.db.read() as s:
        body = s.scalars(select(Outbox.body).order_by(Outbox.id.desc())).first()
    path = signin.LINK_PATHS[purpose]
    return must_search(re.escape(path) + r"([A-Za-z0-9_-]+)", body).group(1)


# --- the policy ---------------------------------------------------------


def test_policy_is_about_length_not_composition():
    """Long passphrases of lower-case words, spaces and accents are fine."""
    for ok in (GOOD, "pájaros en el árbol alto", "mi-clave-propia", "x7#Lq!p2Zr9v"):
        assert policy_problems(ok, POLICY, username="ana") == [], ok


def test_policy_refuses_short_long_common_weak_and_own_name():
    """Each refusal says why; the minimum and maximum are configurable."""

    def why(password, **kw):
        (message,) = policy_problems(password, POLICY, username="nora.p", **kw)
        return message.text

    assert "al menos" in why("corta1!")
    assert "máximo" in why("a" * 129)
    assert policy_problems("b" * 128, POLICY) != []  # long but a repetition
    assert "usuario" in why("soy-NORA.P-2026")
    assert "más usadas" in why("qwerty123456")
    assert "más usadas" in why("Password1234")  # case does not help
    assert "fácil de adivinar" in why("aaaaaaaaaaaaaaaa")
    assert "fácil de adivinar" in why("123456789abcdefg")
    assert "fácil de adivinar" in why("centro311centro311")
    eight = PasswordPolicy(min_length=8, max_length=20)
    assert policy_problems("lluvia en colón", eight) == []
    assert policy_problems("lluvia en colón" * 2, eight)[0].params == {"n": 20}


def test_set_password_and_create_user_follow_the_policy(p):
    """Admins and users choosing a password meet the policy; the demo
    data's explicit length-only check is kept."""
    admin = actor(p, "admin")
    with pytest.raises(InvalidData) as err:
        accounts.set_password(p, admin, user_id(p, "agente"), "password1234")
    assert "password" in err.value.errors
    with pytest.raises(InvalidData):
        accounts.create_user(p, "beto", "Beto", "beto-password", ["agente_311"])
    accounts.create_user(p, "beto", "Beto", GOOD, ["agente_311"])
    accounts.create_user(p, "demo2", "Demo", "demo311", ["agente_311"], min_password=1)
    assert accounts.authenticate(p, "demo2", "demo311", client="c")


# --- invitations --------------------------------------------------------


def test_invitation_is_mailed_with_a_hashed_token_and_audited(p):
    """An admin invites; the mail has the link, the database only its hash."""
    sent = signin.invite_user(p, actor(p, "admin"), user_id(p, "nuevo.enlace"))
    assert sent.email == "Nora@Example.pa"
    assert sent.expires_at == START.replace(day=11)
    with p.db.read() as s:
        (mail,) = s.scalars(select(Outbox)).all()
        row = s.scalars(select(SignInToken)).one()
        audit = s.scalars(select(AuditLog).where(AuditLog.action != "deploy")).one()
    token = token_in_mail(p)
    assert mail.to == "Nora@example.pa"  # domain normalized by the outbox
    assert f"{p.public_url}/ingresar/invitacion/{token}" in mail.body
    assert "nuevo.enlace" in mail.body and "7 día" in mail.body
    assert row.token_hash == token_digest(token) and token not in row.token_hash
    assert (audit.actor, audit.action) == ("admin", "user_invited")
    assert audit.detail["target"] == "nuevo.enlace"
    assert audit.detail["before"] == {"password_set": False}
    assert audit.detail["after"]["password_set"] is False
    assert audit.detail["after"]["invitation_expires_at"] == sent.expires_at.isoformat()


def test_only_admins_invite_and_only_users_with_an_address(p):
    """A supervisor may not invite; a user without email cannot be."""
    with pytest.raises(NotAllowed):
        signin.invite_user(p, actor(p, "supervisor"), user_id(p, "nuevo.enlace"))
    with pytest.raises(InvalidData) as err:
        signin.invite_user(p, actor(p, "admin"), user_id(p, "agente"))
    assert "email" in err.value.errors
    with pytest.raises(NotFound):
        signin.invite_user(p, actor(p, "admin"), 9999)


def test_an_invited_user_has_no_password_until_the_link(p):
    """No password matches an invited account; the link sets one, once."""
    signin.invite_user(p, actor(p, "admin"), user_id(p, "nuevo.enlace"))
    token = token_in_mail(p)
    with pytest.raises(NotFound):
        accounts.authenticate(p, "nuevo.enlace", "!", client="c")
    holder = signin.check_link(p, TokenPurpose.INVITE, token, client="c")
    assert (holder.username, holder.full_name) == ("nuevo.enlace", "Nora Nueva")
    with pytest.raises(InvalidData):
        signin.set_password_by_link(
            p, TokenPurpose.INVITE, token, "nuevo.enlace-2026", client="c"
        )
    name = signin.set_password_by_link(p, TokenPurpose.INVITE, token, GOOD, client="c")
    assert name == "nuevo.enlace"
    assert accounts.authenticate(p, "nuevo.enlace", GOOD, client="c")
    with pytest.raises(NotFound):  # single use
        signin.set_password_by_link(
            p, TokenPurpose.INVITE, token, GOOD + "!", client="c2"
        )
    with p.db.read() as s:
        actions = list(
            s.scalars(
                select(AuditLog.action)
                .where(AuditLog.action != "deploy")
                .order_by(AuditLog.id)
            )
        )
    assert actions == ["user_invited", "password_set_by_link"]


def test_using_a_link_closes_the_others_and_ends_sessions(p):
    """Two invitations and a reset are open; using one closes them all."""
    admin = actor(p, "admin")
    uid = user_id(p, "nuevo.enlace")
    signin.invite_user(p, admin, uid)
    first = token_in_mail(p)
    signin.invite_user(p, admin, uid)
    second = token_in_mail(p)
    signin.request_password_reset(p, "nora@example.pa", client="c")
    reset = token_in_mail(p, TokenPurpose.RESET)
    with p.db.read() as s:
        epoch = s.get(User, uid).session_epoch
    signin.set_password_by_link(p, TokenPurpose.INVITE, second, GOOD, client="c")
    for purpose, token in ((TokenPurpose.INVITE, first), (TokenPurpose.RESET, reset)):
        with pytest.raises(NotFound):
            signin.check_link(p, purpose, token, client="c")
    with p.db.read() as s:
        assert s.get(User, uid).session_epoch == epoch + 1
        assert all(t.used_at for t in s.scalars(select(SignInToken)))


def test_links_expire_and_keep_to_their_purpose(p, clock):
    """A reset link is not an invitation; a week-old invitation is dead."""
    signin.invite_user(p, actor(p, "admin"), user_id(p, "nuevo.enlace"))
    token = token_in_mail(p)
    with pytest.raises(NotFound):
        signin.check_link(p, TokenPurpose.RESET, token, client="c")
    clock.advance(days=7)
    with pytest.raises(NotFound):
        signin.check_link(p, TokenPurpose.INVITE, token, client="c2")


def test_bad_tokens_are_throttled_like_logins(p):
    """Guessing tokens counts as failed logins of the client."""
    for _ in range(3):
        with pytest.raises(NotFound):
            signin.check_link(p, TokenPurpose.RESET, "guess", client="bot")
    with pytest.raises(TooManyAttempts):
        signin.check_link(p, TokenPurpose.RESET, "guess", client="bot")


# --- resets -------------------------------------------------------------


def test_reset_answers_alike_for_known_and_unknown_addresses(p, clock):
    """Same (empty) answer; mail only for a known, active address."""
    signin.request_password_reset(p, "nadie@example.pa", client="a")
    with p.db.read() as s:
        assert s.scalars(select(Outbox)).all() == []
    signin.request_password_reset(p, "NORA@example.pa", client="b")
    token = token_in_mail(p, TokenPurpose.RESET)
    with p.db.read() as s:
        (mail,) = s.scalars(select(Outbox)).all()
    assert "60 minutos" in mail.body
    clock.advance(minutes=59)
    signin.set_password_by_link(p, TokenPurpose.RESET, token, GOOD, client="b")
    assert accounts.authenticate(p, "nuevo.enlace", GOOD, client="b")


def test_reset_links_expire_after_an_hour(p, clock):
    """RESET_TTL_S: an hour later the link is dead."""
    signin.request_password_reset(p, "nora@example.pa", client="a")
    token = token_in_mail(p, TokenPurpose.RESET)
    clock.advance(hours=1)
    with pytest.raises(NotFound):
        signin.set_password_by_link(p, TokenPurpose.RESET, token, GOOD, client="a")


def test_reset_requests_are_limited_per_address_and_per_client(p, clock):
    """Per address whether or not it exists; per client over addresses."""
    for address in ("nora@example.pa", "nadie@example.pa"):
        for n in range(2):
            signin.request_password_reset(p, address, client=f"c{address}{n}")
        with pytest.raises(TooManyAttempts):
            signin.request_password_reset(p, address, client="fresh")
    clock.advance(hours=2)
    signin.request_password_reset(p, "a@example.pa", client="one")
    signin.request_password_reset(p, "b@example.pa", client="one")
    with pytest.raises(TooManyAttempts):
        signin.request_password_reset(p, "c@example.pa", client="one")
    with pytest.raises(InvalidData):
        signin.request_password_reset(p, "no es un correo", client="two")


# --- changing one's own password ----------------------------------------


def test_change_password_asks_the_current_one(p):
    """Wrong current password refused (and counted); the new one is checked."""
    agent = actor(p, "agente")
    with pytest.raises(InvalidData) as err:
        signin.change_password(p, agent, "equivocada", GOOD, client="c")
    assert "current_password" in err.value.errors
    with pytest.raises(InvalidData) as err:
        signin.change_password(p, agent, DEMO_PASSWORD, "corta", client="c")
    assert "password" in err.value.errors
    changed = signin.change_password(p, agent, DEMO_PASSWORD, GOOD, client="c")
    assert changed.session_epoch == agent.session_epoch + 1
    assert accounts.authenticate(p, "agente", GOOD, client="c")
    with p.db.read() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action != "deploy")).one()
    assert (audit.action, audit.detail) == ("password_changed", {"target": "agente"})
