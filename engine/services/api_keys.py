"""API keys of the outside systems that file cases through Open311.

Admins create and revoke keys (audited); a key's text is shown once, when
it is created, and only its SHA-256 is stored. :func:`client_of` finds the
system a key names and counts its requests against a per-key limit.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.domain.enums import Role
from engine.domain.errors import N_, InvalidData, Message, NotAllowed, NotFound
from engine.domain.open311 import ApiClient, ApiKeyView, NewApiKey
from engine.domain.security import token_digest
from engine.domain.views import Actor
from engine.services.auditing import record
from engine.services.platform import Platform
from engine.store.accounts import ApiKey
from engine.store.throttle import check_rate, count_failure

#: What every key starts with, so a leaked one is recognisable in a scan.
KEY_PREFIX = "c311_"
#: Characters of the key kept in clear, to tell keys apart.
SHOWN = 12
#: Longest key accepted (a longer ``api_key`` is refused unread).
MAX_KEY_LENGTH = 100
NAME_LENGTH = 80


def require_admin(actor: Actor) -> None:
    """Refuse anyone but an admin."""
    if not actor.has(Role.ADMIN):
        raise NotAllowed(N_("Solo un administrador gestiona las claves de la API."))


def _view(row: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_by=row.created_by,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def list_keys(p: Platform, actor: Actor) -> list[ApiKeyView]:
    """Every key, active ones first, by name."""
    require_admin(actor)
    with p.db.read() as s:
        rows = s.scalars(
            select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.name)
        )
        return [_view(r) for r in rows]


def _checked_name(raw: str) -> str:
    name = " ".join(str(raw or "").split())
    if not name:
        problem = Message(N_("Escriba el nombre del sistema que usará la clave."))
    elif len(name) > NAME_LENGTH:
        problem = Message(
            N_("Demasiado largo (máximo %(n)s caracteres)."), {"n": NAME_LENGTH}
        )
    elif not name.isprintable():
        problem = Message(N_("El nombre tiene caracteres no válidos."))
    else:
        return name
    raise InvalidData({"nombre": [problem]})


def create_key(p: Platform, actor: Actor, name: str) -> NewApiKey:
    """A new key for the system ``name``; its text is returned this once."""
    require_admin(actor)
    name = _checked_name(name)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    now = p.clock()
    try:
        with p.db.transaction() as s:
            if s.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
                raise _name_taken()
            row = ApiKey(
                name=name,
                key_hash=token_digest(key),
                prefix=key[:SHOWN],
                created_by=actor.username,
                created_at=now,
            )
            s.add(row)
            s.flush()
            record(s, now, actor, "api_key_created", {"key": name})
            view = _view(row)
    except IntegrityError:  # the same name created at the same time
        raise _name_taken() from None
    return NewApiKey(view=view, key=key)


def _name_taken() -> InvalidData:
    return InvalidData(
        {"nombre": [Message(N_("Ya hay una clave con ese nombre."))]},
    )


def revoke_key(p: Platform, actor: Actor, key_id: int) -> ApiKeyView:
    """Revoke a key at once (idempotent); audited."""
    require_admin(actor)
    now = p.clock()
    with p.db.transaction() as s:
        row = s.get(ApiKey, key_id, with_for_update=True)
        if row is None:
            raise NotFound(N_("Esa clave no existe."))
        if row.revoked_at is None:
            row.revoked_at = now
            record(s, now, actor, "api_key_revoked", {"key": row.name})
        return _view(row)


def client_of(
    s: Session,
    key: str | None,
    now: datetime,
    *,
    limit: int,
    window: int,
    client: str | None = None,
) -> ApiClient | None:
    """The system an active key names, its request counted; None if unknown.

    Every call counts against the key's limit of ``limit`` requests in
    ``window`` seconds (:class:`TooManyAttempts` beyond it), in the caller's
    transaction.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    row = s.scalar(
        select(ApiKey).where(
            ApiKey.key_hash == token_digest(key), ApiKey.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    bucket = f"open311:{row.id}"
    check_rate(s, bucket, now, limit, window)
    # The throttle counts "failures"; here every request counts.
    count_failure(s, bucket, now, window)
    return ApiClient(id=row.id, name=row.name, client=client)
