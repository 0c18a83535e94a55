"""Passwords: invitations and resets by mail, the policy, changing one's own.

A mailed link carries a random token (256 bits); only its SHA-256 is
stored, with its purpose (invite or reset), user and expiry. A link works
once: setting a password with it marks it used and closes the user's other
open links, and setting a password ends every session the user had
(``session_epoch``). Asking for a reset answers the same whether the address
is known or not, and is limited per client and per address; a wrong token
counts as a failed attempt of the client, like a wrong password. The policy
(:mod:`engine.domain.passwords`) applies whenever a password is chosen.
Every change is recorded in ``audit_log`` in its own transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.domain.enums import Role, TokenPurpose
from engine.domain.errors import N_, InvalidData, Message, NotAllowed, NotFound
from engine.domain.passwords import policy_problems
from engine.domain.security import check_password, hash_password, token_digest
from engine.domain.views import Actor
from engine.services import mail, notify
from engine.services.accounts import NO_PASSWORD, actor_from_user
from engine.services.platform import Platform
from engine.store.accounts import AuditLog, SignInToken, User, UserRole
from engine.store.throttle import check_rate, count_failure

#: URL paths of the mailed links, under ``Platform.public_url``.
LINK_PATHS = {
    TokenPurpose.INVITE: "/ingresar/invitacion/",
    TokenPurpose.RESET: "/ingresar/restablecer/",
}

_BAD_LINK = N_("El enlace no es válido, ya se usó o venció. Pida uno nuevo.")


@dataclass(frozen=True)
class InvitationSent:
    """An invitation queued for a user."""

    username: str
    email: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkHolder:
    """Whom a valid mailed link is for (shown on the set-password page)."""

    username: str
    full_name: str
    purpose: str
    expires_at: datetime


def record(s: Session, p: Platform, actor: str, action: str, **detail: Any) -> None:
    """An ``audit_log`` record in the caller's transaction."""
    s.add(AuditLog(at=p.clock(), actor=actor, action=action, detail=detail))


def check_policy(p: Platform, password: str, username: str, full_name: str) -> None:
    """Raise InvalidData (field ``password``) if the policy refuses it."""
    problems = policy_problems(
        password, p.signin.password_policy, username=username, full_name=full_name
    )
    if problems:
        raise InvalidData({"password": problems})


def has_password(user: User) -> bool:
    """True if the user has chosen a password (not just been invited)."""
    return user.password_hash != NO_PASSWORD


def _issue(
    s: Session, p: Platform, user: User, purpose: TokenPurpose, now: datetime
) -> tuple[str, datetime]:
    """A new token for ``user`` (its hash stored), and when it expires."""
    ttl = (
        p.signin.invite_ttl_s
        if purpose is TokenPurpose.INVITE
        else p.signin.reset_ttl_s
    )
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=ttl)
    s.add(
        SignInToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=expires,
        )
    )
    return token, expires


def link(p: Platform, purpose: TokenPurpose, token: str) -> str:
    """The address a mailed token opens."""
    return f"{p.public_url}{LINK_PATHS[purpose]}{token}"


def user_id_of(p: Platform, username: str) -> int:
    """The id of the user ``username`` (NotFound if there is none)."""
    with p.db.read() as s:
        found = s.scalar(select(User.id).where(User.username == username))
    if found is None:
        raise NotFound(N_("No existe el usuario «%(user)s»."), user=username)
    return int(found)


def administrator(p: Platform, username: str | None = None) -> Actor:
    """The admin a command acts as (default: the first active admin).

    NotFound for an unknown or inactive user, or no active admin at all;
    NotAllowed for a user who is not an admin.
    """
    with p.db.read() as s:
        query = select(User).where(User.active.is_(True))
        if username is None:
            query = query.join(UserRole).where(UserRole.role_key == Role.ADMIN)
        else:
            query = query.where(User.username == username)
        user = s.scalars(query.order_by(User.id).limit(1)).first()
        actor = actor_from_user(user) if user is not None else None
    if actor is None:
        raise NotFound(N_("No hay un administrador activo con ese nombre."))
    if not actor.has(Role.ADMIN):
        raise NotAllowed(N_("«%(user)s» no es administrador."), user=actor.username)
    return actor


def invite_user(p: Platform, actor: Actor, user_id: int) -> InvitationSent:
    """Mail a user a link to choose their password; admins only, audited.

    The user needs an email address. Earlier invitations stay valid until
    one link is used (then all close) or they expire.
    """
    if not actor.has(Role.ADMIN):
        raise NotAllowed(N_("Solo un administrador invita usuarios."))
    with p.db.transaction() as s:
        user = s.get(User, user_id, with_for_update=True)
        if user is None or not user.active:
            raise NotFound(N_("Ese usuario no existe."))
        return invite_in(s, p, actor, user, p.clock())


def invite_in(
    s: Session, p: Platform, actor: Actor, user: User, now: datetime
) -> InvitationSent:
    """Queue ``user``'s invitation in the caller's transaction, audited (the
    caller has checked that ``actor`` is an admin and ``user`` active)."""
    if not user.email:
        raise InvalidData(
            {"email": [Message(N_("El usuario no tiene correo electrónico."))]}
        )
    token, expires = _issue(s, p, user, TokenPurpose.INVITE, now)
    message = notify.render(
        "invitation",
        p.language,
        full_name=user.full_name,
        username=user.username,
        link=link(p, TokenPurpose.INVITE, token),
        days=max(1, p.signin.invite_ttl_s // 86400),
    )
    if not notify.queue(s, user.email, message, None, now):
        raise InvalidData(
            {"email": [Message(N_("La dirección de correo no es válida."))]}
        )
    state = {"password_set": has_password(user)}
    record(
        s,
        p,
        actor.username,
        "user_invited",
        target=user.username,
        before=state,
        after={**state, "invitation_expires_at": expires.isoformat()},
    )
    return InvitationSent(user.username, user.email, expires)


def request_password_reset(p: Platform, address: str, *, client: str) -> None:
    """Mail a reset link to the active users with this address, if any.

    The answer is the same whether or not the address is known (nothing is
    returned); requests are limited per client and per address alike, so
    the limit tells nothing either. Each request counts.
    """
    try:
        normalized = mail.check_address(address.strip()).casefold()
    except mail.InvalidMessage:
        raise InvalidData(
            {"email": [Message(N_("Escriba una dirección de correo válida."))]}
        ) from None
    now = p.clock()
    settings = p.signin
    keys = (f"reset:{client}", f"reset-address:{normalized}"[:200])
    with p.db.transaction() as s:
        for key in keys:
            check_rate(s, key, now, settings.reset_requests, settings.reset_window_s)
        for key in keys:
            count_failure(s, key, now, settings.reset_window_s)
        users = s.scalars(
            select(User).where(
                func.lower(User.email) == normalized, User.active.is_(True)
            )
        ).all()
        for user in users:
            token, _ = _issue(s, p, user, TokenPurpose.RESET, now)
            message = notify.render(
                "password_reset",
                p.language,
                full_name=user.full_name,
                username=user.username,
                link=link(p, TokenPurpose.RESET, token),
                minutes=max(1, settings.reset_ttl_s // 60),
            )
            notify.queue(s, user.email or normalized, message, None, now)


def _open_token(
    s: Session, purpose: TokenPurpose, token: str, now: datetime, *, lock: bool
) -> tuple[SignInToken, User] | None:
    """The unused, unexpired token row and its active user, or None."""
    query = select(SignInToken).where(
        SignInToken.token_hash == token_digest(token),
        SignInToken.purpose == purpose.value,
    )
    row = s.scalars(query.with_for_update() if lock else query).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    user = s.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


def check_link(
    p: Platform, purpose: TokenPurpose, token: str, *, client: str
) -> LinkHolder:
    """Whom a mailed link is for; NotFound if it is unknown, used or expired.

    A bad token counts as a failed attempt of the client (login limits).
    """
    now = p.clock()
    limits = p.limits
    key = f"login:{client}"
    with p.db.transaction() as s:
        check_rate(s, key, now, limits.login_attempts, limits.login_window_s)
        found = _open_token(s, purpose, token, now, lock=False)
        if found is None:
            count_failure(s, key, now, limits.login_window_s)
            holder = None
        else:
            row, user = found
            holder = LinkHolder(
                user.username, user.full_name, row.purpose, row.expires_at
            )
    if holder is None:
        raise NotFound(_BAD_LINK)
    return holder


def set_password_by_link(
    p: Platform, purpose: TokenPurpose, token: str, password: str, *, client: str
) -> str:
    """Choose a password with a mailed link; returns the username.

    The link is used up, every other open link of the user closes and every
    session of the user ends. The user then signs in (with the second factor
    if they have one).
    """
    holder = check_link(p, purpose, token, client=client)
    check_policy(p, password, holder.username, holder.full_name)
    # Hash outside the transaction: scrypt is slow on purpose.
    password_hash = hash_password(password)
    now = p.clock()
    with p.db.transaction() as s:
        found = _open_token(s, purpose, token, now, lock=True)
        if found is None:  # used by a concurrent request since the check
            raise NotFound(_BAD_LINK)
        row, user = found
        s.get(User, user.id, with_for_update=True)
        before = {"password_set": has_password(user)}
        user.password_hash = password_hash
        user.session_epoch += 1
        s.execute(
            update(SignInToken)
            .where(SignInToken.user_id == user.id, SignInToken.used_at.is_(None))
            .values(used_at=now)
        )
        record(
            s,
            p,
            user.username,
            "password_set_by_link",
            target=user.username,
            purpose=row.purpose,
            before=before,
            after={"password_set": True},
        )
        return user.username


def change_password(
    p: Platform, actor: Actor, current: str, new: str, *, client: str
) -> Actor:
    """A user changes their own password, giving the current one.

    Wrong current passwords are throttled like logins. Every other session
    of the user ends; the returned Actor carries the new session epoch, so
    the web layer can keep this browser signed in.
    """
    check_policy(p, new, actor.username, actor.name)
    new_hash = hash_password(new)
    now = p.clock()
    limits = p.limits
    key = f"login:{client}"
    with p.db.transaction() as s:
        check_rate(s, key, now, limits.login_attempts, limits.login_window_s)
        user = s.get(User, actor.id, with_for_update=True)
        if user is None or not user.active:
            raise NotFound(N_("Ese usuario no existe."))
        ok = check_password(user.password_hash, current)
        if ok:
            user.password_hash = new_hash
            user.session_epoch += 1
            record(s, p, actor.username, "password_changed", target=actor.username)
            s.flush()
            changed = actor_from_user(user)
        else:
            count_failure(s, key, now, limits.login_window_s)
    if not ok:
        raise InvalidData(
            {"current_password": [Message(N_("La contraseña actual no es correcta."))]}
        )
    return changed
