"""TOTP second factor and recovery codes (engine services)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest
from sqlalchemy import select

from engine.domain.clock import FrozenClock
from engine.domain.errors import InvalidData, NotAllowed, NotFound, TooManyAttempts
from engine.services import accounts, second_factor, signin
from engine.services.platform import Limits, Platform, SignInSettings
from engine.services.second_factor import NextStep
from engine.store.accounts import AuditLog, RecoveryCode, User, UserTotp
from tests.conftest import DEMO_PASSWORD, IDENTITY_KEY, seed

START = datetime(2026, 12, 4, 14, 0, 5, tzinfo=UTC)


@pytest.fixture
def clock():
    """A clock the tests move."""
    return FrozenClock(START)


@pytest.fixture
def p(db_url, demo_hash, clock):
    """A seeded platform requiring TOTP of supervisors, with small limits."""
    platform = Platform(
        db_url,
        identity_key=IDENTITY_KEY,
        clock=clock,
        limits=Limits(login_attempts=3, login_window_s=900),
        signin=SignInSettings(totp_required_roles=frozenset({"supervisor_311"})),
    )
    seed(platform, demo_hash)
    yield platform
    platform.close()


def actor(p, username):
    """A demo user as an Actor."""
    return accounts.authenticate(p, username, DEMO_PASSWORD, client="setup")


def code_at(secret, when, steps=0):
    """The TOTP code of ``when`` moved by ``steps`` time steps."""
    return pyotp.TOTP(secret).at(when.timestamp() + 30 * steps)


def enrol(p, username):
    """Enrol ``username`` with a code of now; (secret, recovery codes)."""
    who = actor(p, username)
    enrolment = second_factor.start_enrolment(p, who)
    codes = second_factor.confirm_enrolment(
        p, who, code_at(enrolment.secret, p.clock()), client="setup"
    )
    return enrolment.secret, codes


def sign_in(p, username, code, *, client="c", started=None):
    """Password step then code step; the Actor."""
    step = second_factor.password_step(p, username, DEMO_PASSWORD, client=client)
    assert step.next is NextStep.CODE
    return second_factor.code_step(
        p,
        step.actor.id,
        step.actor.session_epoch,
        started or p.clock(),
        code,
        client=client,
    )


def audit(p):
    """The sign-in audit records, oldest first."""
    with p.db.read() as s:
        rows = s.scalars(
            select(AuditLog).where(AuditLog.action != "deploy").order_by(AuditLog.id)
        )
        return [(r.actor, r.action, r.detail) for r in rows]


def test_the_password_step_says_what_comes_next(p):
    """Nothing, enrolment for a required role, a code once enrolled."""
    step = second_factor.password_step(p, "agente", DEMO_PASSWORD, client="c")
    assert step.next is NextStep.DONE
    step = second_factor.password_step(p, "supervisor", DEMO_PASSWORD, client="c")
    assert step.next is NextStep.ENROL
    assert second_factor.must_enrol(p, step.actor)
    assert not second_factor.must_enrol(p, actor(p, "agente"))
    enrol(p, "supervisor")
    assert not second_factor.must_enrol(p, step.actor)
    step = second_factor.password_step(p, "supervisor", DEMO_PASSWORD, client="c")
    assert step.next is NextStep.CODE
    enrol(p, "agente")  # optional for the others
    step = second_factor.password_step(p, "agente", DEMO_PASSWORD, client="c")
    assert step.next is NextStep.CODE


def test_enrolment_keeps_its_secret_encrypted_and_needs_a_right_code(p, clock):
    """The pending secret is the same on every visit, stored encrypted; a
    wrong code does not confirm it; the right one gives ten codes, once."""
    who = actor(p, "agente")
    first = second_factor.start_enrolment(p, who)
    assert second_factor.start_enrolment(p, who).secret == first.secret
    assert first.uri.startswith("otpauth://totp/Centro%20311:agente?")
    assert first.qr_svg.startswith("<svg") and "<script" not in first.qr_svg
    with p.db.read() as s:
        stored = s.get(UserTotp, who.id).secret
    assert first.secret not in stored
    with pytest.raises(InvalidData) as err:
        second_factor.confirm_enrolment(p, who, "000000", client="c")
    assert "code" in err.value.errors
    codes = second_factor.confirm_enrolment(
        p, who, code_at(first.secret, clock()), client="c"
    )
    assert len(codes) == 10 and len(set(codes)) == 10
    with p.db.read() as s:
        hashes = list(s.scalars(select(RecoveryCode.code_hash)))
    assert len(hashes) == 10 and not set(codes) & set(hashes)
    with pytest.raises(NotAllowed):
        second_factor.start_enrolment(p, who)
    assert audit(p)[-1] == (
        "agente",
        "second_factor_enabled",
        {
            "target": "agente",
            "before": {"second_factor": False},
            "after": {"second_factor": True, "recovery_codes": 10},
        },
    )


def test_a_code_works_once_and_only_for_a_later_step(p, clock):
    """Replay of a used code is refused, also the enrolment's own code."""
    secret, _ = enrol(p, "supervisor")
    with pytest.raises(NotFound):  # the enrolment's code, replayed
        sign_in(p, "supervisor", code_at(secret, clock()))
    nxt = code_at(secret, clock(), steps=1)  # a phone a little ahead
    assert sign_in(p, "supervisor", nxt).username == "supervisor"
    with pytest.raises(NotFound):
        sign_in(p, "supervisor", nxt, client="other")
    clock.advance(seconds=90)
    assert sign_in(p, "supervisor", code_at(secret, clock(), steps=-1))
    with pytest.raises(NotFound):  # two steps off: too far
        sign_in(p, "supervisor", code_at(secret, clock(), steps=2))


def test_recovery_codes_work_once_and_renewing_replaces_them(p, clock):
    """Typed loosely (case, dashes), each code works once."""
    _, codes = enrol(p, "supervisor")
    loose = codes[0].lower().replace("-", " ")
    assert sign_in(p, "supervisor", loose).username == "supervisor"
    with pytest.raises(NotFound):
        sign_in(p, "supervisor", codes[0], client="d")
    status = second_factor.status(p, actor(p, "supervisor"))
    assert (status.enabled, status.required, status.recovery_codes_left) == (
        True,
        True,
        9,
    )
    with pytest.raises(InvalidData):
        second_factor.regenerate_recovery_codes(p, actor(p, "supervisor"), "mala")
    fresh = second_factor.regenerate_recovery_codes(
        p, actor(p, "supervisor"), DEMO_PASSWORD
    )
    with pytest.raises(NotFound):
        sign_in(p, "supervisor", codes[1], client="e")
    clock.advance(minutes=16)  # the user's three failures above are past
    assert sign_in(p, "supervisor", fresh[1], client="e")


def test_the_code_step_expires_and_dies_with_the_session_epoch(p, clock):
    """Ten minutes after the password, or after a logout, it is refused."""
    secret, codes = enrol(p, "agente")
    step = second_factor.password_step(p, "agente", DEMO_PASSWORD, client="c")
    started = clock()
    clock.advance(minutes=11)
    with pytest.raises(NotFound):
        second_factor.code_step(
            p, step.actor.id, step.actor.session_epoch, started, codes[0], client="c"
        )
    accounts.end_sessions(p, step.actor.id)
    with pytest.raises(NotFound):
        second_factor.code_step(
            p, step.actor.id, step.actor.session_epoch, clock(), codes[0], client="c"
        )


def test_wrong_codes_are_throttled_per_client_and_per_user(p):
    """Three failures stop the client; other clients' failures count for
    the user too, so spreading guesses over addresses does not help."""
    _, codes = enrol(p, "agente")
    for client in ("a", "b", "c"):
        with pytest.raises(NotFound):
            sign_in(p, "agente", "999999", client=client)
    with pytest.raises(TooManyAttempts):
        sign_in(p, "agente", codes[0], client="fresh")


def test_turning_off_is_refused_where_required_and_asks_the_password(p):
    """A supervisor cannot; an agent can, with the right password."""
    enrol(p, "supervisor")
    with pytest.raises(NotAllowed):
        second_factor.disable_second_factor(p, actor(p, "supervisor"), DEMO_PASSWORD)
    enrol(p, "agente")
    agent = actor(p, "agente")
    with pytest.raises(InvalidData):
        second_factor.disable_second_factor(p, agent, "mala")
    second_factor.disable_second_factor(p, agent, DEMO_PASSWORD)
    assert not second_factor.status(p, agent).enabled
    step = second_factor.password_step(p, "agente", DEMO_PASSWORD, client="c")
    assert step.next is NextStep.DONE
    assert audit(p)[-1][1:] == (
        "second_factor_disabled",
        {
            "target": "agente",
            "before": {"second_factor": True, "recovery_codes": 10},
            "after": {"second_factor": False, "recovery_codes": 0},
        },
    )


def test_an_admin_resets_someones_second_factor(p):
    """Admins only; audited with before and after; the user's sessions end
    and a required role must enrol again."""
    enrol(p, "supervisor")
    target = signin.user_id_of(p, "supervisor")
    with pytest.raises(NotAllowed):
        second_factor.reset_second_factor(p, actor(p, "supervisor"), target)
    with p.db.read() as s:
        epoch = s.get(User, target).session_epoch
    assert second_factor.reset_second_factor(p, actor(p, "admin"), target) == (
        "supervisor"
    )
    with p.db.read() as s:
        assert s.get(User, target).session_epoch == epoch + 1
        assert s.get(UserTotp, target) is None
        assert s.scalars(select(RecoveryCode)).all() == []
    assert audit(p)[-1] == (
        "admin",
        "second_factor_reset",
        {
            "target": "supervisor",
            "before": {"second_factor": True, "recovery_codes": 10},
            "after": {"second_factor": False, "recovery_codes": 0},
        },
    )
    step = second_factor.password_step(p, "supervisor", DEMO_PASSWORD, client="c")
    assert step.next is NextStep.ENROL
    with pytest.raises(NotFound):
        second_factor.reset_second_factor(p, actor(p, "admin"), 9999)
