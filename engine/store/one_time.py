"""One-time tokens: rows found by the digest of a mailed token, used once.

Tracking links and citizen sign-in links share the shape: ``token_hash``,
``expires_at`` and ``used_at`` columns. :func:`use_token` finds the row and
marks it used in the caller's transaction only if nobody used it first, so
two clicks at once open it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from engine.domain.security import token_digest

#: Longest token accepted (``token_urlsafe(32)`` gives 43 characters).
MAX_TOKEN = 64


def use_token(
    s: Session,
    model: Any,
    token: str,
    now: datetime,
    *columns: Any,
    join: tuple[Any, Any] | None = None,
) -> tuple[Row[Any] | None, bool]:
    """The row of ``token`` (id, expiry, ``columns``) and whether it was used now.

    ``model`` is a mapped class with ``id``, ``token_hash``, ``expires_at``
    and ``used_at``; ``join`` an optional (target, on clause) for ``columns``
    of another table. The row comes back even when the token had been used
    or has expired (the second value is then False); an unknown or
    over-long token gives ``(None, False)``.
    """
    if not 0 < len(token) <= MAX_TOKEN:
        return None, False
    query = select(model.id, model.expires_at, *columns).where(
        model.token_hash == token_digest(token)
    )
    if join is not None:
        query = query.join(*join)
    row = s.execute(query).first()
    if row is None or row.expires_at <= now:
        return row, False
    marked = s.execute(
        update(model)
        .where(model.id == row.id, model.used_at.is_(None))
        .values(used_at=now)
    )
    return row, bool(getattr(marked, "rowcount", 0))
