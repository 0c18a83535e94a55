"""TOTP second factor: enrolment, the code step of sign-in, recovery codes.

Sign-in is two steps for a user with a confirmed TOTP: the password
(:func:`password_step`), then a code or a recovery code (:func:`code_step`).
A user holding a role of ``SignInSettings.totp_required_roles`` without a
confirmed TOTP is signed in but may only enrol (:func:`must_enrol`); they
cannot turn it off. Codes are throttled like passwords (per client and per
user) and a code's time step is kept, so a used code is refused. Recovery
codes are shown once, stored hashed and work once. An admin may remove
someone's second factor (:func:`reset_second_factor`, audited); that ends
the user's sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.domain import second_factor as totp
from engine.domain.enums import Role
from engine.domain.errors import N_, InvalidData, Message, NotAllowed, NotFound
from engine.domain.security import check_password
from engine.domain.views import Actor
from engine.services.accounts import actor_from_user, authenticate
from engine.services.platform import Platform
from engine.services.signin import record
from engine.store.accounts import RecoveryCode, User, UserTotp
from engine.store.throttle import check_rate, count_failure

#: How long the code step waits after the password step.
CODE_STEP_TTL = timedelta(minutes=10)

_BAD_CODE = N_("El código no es válido o ya se usó.")


class NextStep(StrEnum):
    """What sign-in asks after a right password."""

    DONE = "done"
    CODE = "code"
    ENROL = "enrol"


@dataclass(frozen=True)
class PasswordStep:
    """The password was right; ``next`` says what comes before working."""

    actor: Actor
    next: NextStep


@dataclass(frozen=True)
class Enrolment:
    """A pending TOTP enrolment: what the authenticator app needs."""

    secret: str
    uri: str
    qr_svg: str


@dataclass(frozen=True)
class SecondFactorStatus:
    """A user's second factor, as their account page shows it."""

    enabled: bool
    required: bool
    recovery_codes_left: int


def is_required(p: Platform, actor: Actor) -> bool:
    """True if the actor's roles may not work without a second factor."""
    return not actor.roles.isdisjoint(p.signin.totp_required_roles)


def _confirmed(s: Session, user_id: int) -> UserTotp | None:
    """The user's confirmed TOTP row, or None."""
    row = s.get(UserTotp, user_id)
    return row if row is not None and row.confirmed_at is not None else None


def password_step(
    p: Platform, username: str, password: str, *, client: str
) -> PasswordStep:
    """Check the password (throttled, as :func:`authenticate`) and say what
    comes next: nothing, a code, or enrolment for a role that requires it."""
    actor = authenticate(p, username, password, client=client)
    with p.db.read() as s:
        enabled = _confirmed(s, actor.id) is not None
    if enabled:
        return PasswordStep(actor, NextStep.CODE)
    if is_required(p, actor):
        return PasswordStep(actor, NextStep.ENROL)
    return PasswordStep(actor, NextStep.DONE)


def must_enrol(p: Platform, actor: Actor) -> bool:
    """True while a user whose role requires a second factor has none."""
    if not is_required(p, actor):
        return False  # no query for everyone else
    with p.db.read() as s:
        return _confirmed(s, actor.id) is None


def code_step(
    p: Platform,
    user_id: int,
    epoch: int,
    started_at: datetime,
    code: str,
    *,
    client: str,
) -> Actor:
    """Finish sign-in with a TOTP code or a recovery code.

    ``epoch`` and ``started_at`` come from the password step: a step older
    than :data:`CODE_STEP_TTL`, or from before a logout or password change,
    is refused. Failures count per client and per user, under the login
    limits.
    """
    now = p.clock()
    if now - started_at > CODE_STEP_TTL:
        raise NotFound(N_("Pasó demasiado tiempo. Vuelva a ingresar."))
    limits = p.limits
    keys = (f"login:{client}", f"login-user:{user_id}")
    with p.db.transaction() as s:
        for key in keys:
            check_rate(s, key, now, limits.login_attempts, limits.login_window_s)
        user = s.get(User, user_id, with_for_update=True)
        row = _confirmed(s, user_id)
        usable = (
            user is not None
            and user.active
            and user.session_epoch == epoch
            and row is not None
        )
        ok = usable and row is not None and _accept(s, p, row, code, now)
        if not ok:
            for key in keys:
                count_failure(s, key, now, limits.login_window_s)
        actor = actor_from_user(user) if ok and user is not None else None
    if actor is None:
        raise NotFound(_BAD_CODE)
    return actor


def _accept(s: Session, p: Platform, row: UserTotp, code: str, now: datetime) -> bool:
    """Use ``code`` (TOTP or recovery) for the user of ``row``, if valid."""
    if totp.looks_like_totp(code):
        secret = totp.open_secret(_key(p), row.secret)
        step = totp.matching_step(secret, code, now, row.last_step)
        if step is None:
            return False
        row.last_step = step
        return True
    recovery = s.scalars(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == row.user_id,
            RecoveryCode.code_hash == totp.hash_recovery_code(row.user_id, code),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    ).first()
    if recovery is None:
        return False
    recovery.used_at = now
    return True


def _key(p: Platform) -> str:
    """The identity key TOTP secrets are sealed under (required)."""
    if not p.identity_key:
        raise RuntimeError("IDENTITY_KEY is needed to keep TOTP secrets")
    return p.identity_key


def start_enrolment(p: Platform, actor: Actor) -> Enrolment:
    """The pending secret to scan (made now if there is none yet).

    Opening the page again shows the same secret until a code confirms it;
    a user who already has a second factor is refused.
    """
    now = p.clock()
    with p.db.transaction() as s:
        row = s.get(UserTotp, actor.id, with_for_update=True)
        if row is not None and row.confirmed_at is not None:
            raise NotAllowed(N_("Ya tiene activada la verificación en dos pasos."))
        if row is None:
            secret = totp.new_secret()
            s.add(
                UserTotp(
                    user_id=actor.id,
                    secret=totp.seal_secret(_key(p), secret),
                    created_at=now,
                )
            )
        else:
            secret = totp.open_secret(_key(p), row.secret)
    uri = totp.provisioning_uri(secret, actor.username, p.signin.totp_issuer)
    return Enrolment(secret, uri, totp.qr_svg(uri, p.signin.totp_issuer))


def confirm_enrolment(
    p: Platform, actor: Actor, code: str, *, client: str
) -> tuple[str, ...]:
    """Turn the pending TOTP on with a first code; returns the recovery codes.

    The codes are returned this once (only their hashes are kept). Wrong
    codes are throttled like logins.
    """
    now = p.clock()
    limits = p.limits
    key = f"login-user:{actor.id}"
    codes: tuple[str, ...] = ()
    with p.db.transaction() as s:
        check_rate(s, key, now, limits.login_attempts, limits.login_window_s)
        row = s.get(UserTotp, actor.id, with_for_update=True)
        if row is None or row.confirmed_at is not None:
            raise NotFound(N_("No hay una activación pendiente."))
        secret = totp.open_secret(_key(p), row.secret)
        step = totp.matching_step(secret, code, now, row.last_step)
        if step is None:
            count_failure(s, key, now, limits.login_window_s)
        else:
            row.confirmed_at = now
            row.last_step = step
            codes = _new_codes(s, actor.id, now)
            record(
                s,
                p,
                actor.username,
                "second_factor_enabled",
                target=actor.username,
                before={"second_factor": False},
                after={"second_factor": True, "recovery_codes": len(codes)},
            )
    if not codes:
        raise InvalidData({"code": [Message(_BAD_CODE)]})
    return codes


def _new_codes(s: Session, user_id: int, now: datetime) -> tuple[str, ...]:
    """Replace the user's recovery codes with fresh ones; return them."""
    s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = totp.new_recovery_codes()
    for code in codes:
        s.add(
            RecoveryCode(
                user_id=user_id,
                code_hash=totp.hash_recovery_code(user_id, code),
                created_at=now,
            )
        )
    return tuple(codes)


def _check_own_password(
    s: Session, p: Platform, actor: Actor, password: str, now: datetime
) -> bool:
    """The actor's password is right (a wrong one counts as a failed login)."""
    limits = p.limits
    key = f"login-user:{actor.id}"
    check_rate(s, key, now, limits.login_attempts, limits.login_window_s)
    user = s.get(User, actor.id, with_for_update=True)
    ok = user is not None and check_password(user.password_hash, password)
    if not ok:
        count_failure(s, key, now, limits.login_window_s)
    return ok


def regenerate_recovery_codes(
    p: Platform, actor: Actor, password: str
) -> tuple[str, ...]:
    """New recovery codes (the old ones stop working), given the password."""
    now = p.clock()
    codes: tuple[str, ...] = ()
    with p.db.transaction() as s:
        if _check_own_password(s, p, actor, password, now):
            if _confirmed(s, actor.id) is None:
                raise NotFound(N_("No tiene activada la verificación en dos pasos."))
            codes = _new_codes(s, actor.id, now)
            record(
                s, p, actor.username, "recovery_codes_renewed", target=actor.username
            )
    if not codes:
        raise InvalidData(
            {"current_password": [Message(N_("La contraseña no es correcta."))]}
        )
    return codes


def disable_second_factor(p: Platform, actor: Actor, password: str) -> None:
    """Turn one's own TOTP off, given the password; refused where required."""
    if is_required(p, actor):
        raise NotAllowed(
            N_("Su rol exige la verificación en dos pasos: no puede desactivarla.")
        )
    now = p.clock()
    with p.db.transaction() as s:
        ok = _check_own_password(s, p, actor, password, now)
        if ok:
            before = _state(s, actor.id)
            _remove(s, actor.id)
            record(
                s,
                p,
                actor.username,
                "second_factor_disabled",
                target=actor.username,
                before=before,
                after=_state(s, actor.id),
            )
    if not ok:
        raise InvalidData(
            {"current_password": [Message(N_("La contraseña no es correcta."))]}
        )


def _state(s: Session, user_id: int) -> dict[str, object]:
    """A user's second factor for the audit record (no secret)."""
    left = s.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return {
        "second_factor": _confirmed(s, user_id) is not None,
        "recovery_codes": int(left or 0),
    }


def _remove(s: Session, user_id: int) -> None:
    """Delete a user's TOTP and recovery codes."""
    s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    s.execute(delete(UserTotp).where(UserTotp.user_id == user_id))
    s.flush()


def reset_second_factor(p: Platform, actor: Actor, user_id: int) -> str:
    """An admin removes someone's second factor (a lost phone); audited.

    The user's sessions end; a user whose role requires a second factor
    enrols again at their next sign-in. Returns the username.
    """
    if not actor.has(Role.ADMIN):
        raise NotAllowed(
            N_("Solo un administrador restablece la verificación en dos pasos.")
        )
    with p.db.transaction() as s:
        user = s.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound(N_("Ese usuario no existe."))
        before = _state(s, user_id)
        _remove(s, user_id)
        user.session_epoch += 1
        record(
            s,
            p,
            actor.username,
            "second_factor_reset",
            target=user.username,
            before=before,
            after=_state(s, user_id),
        )
        return user.username


def status(p: Platform, actor: Actor) -> SecondFactorStatus:
    """The actor's second factor, for their account page."""
    with p.db.read() as s:
        state = _state(s, actor.id)
    return SecondFactorStatus(
        enabled=bool(state["second_factor"]),
        required=is_required(p, actor),
        recovery_codes_left=int(str(state["recovery_codes"])),
    )
