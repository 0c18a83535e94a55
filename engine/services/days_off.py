"""Decreed days off (asuetos) that deadlines skip."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.domain.enums import Role
from engine.domain.errors import (
    N_,
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
)
from engine.domain.views import (
    Actor,
)
from engine.services.platform import Platform
from engine.store.models import (
    DayOff,
)


def list_days_off(p: Platform) -> list[tuple[Any, str]]:
    """Decreed days off, by date."""
    with p.db.read() as s:
        return [(d.day, d.name) for d in s.scalars(select(DayOff).order_by(DayOff.day))]


def add_day_off(p: Platform, actor: Actor, day: Any, name: str) -> None:
    """Add a day off (admins); deadlines computed from now on skip it."""
    if not actor.has(Role.ADMIN):
        raise NotAllowed(N_("Solo un administrador gestiona los días libres."))
    name = name.strip()
    if not name:
        raise InvalidData({"nombre": [Message(N_("Este campo es obligatorio."))]})
    with p.db.transaction() as s:
        if s.get(DayOff, day) is not None:
            raise InvalidData({"dia": [Message(N_("Ese día ya está registrado."))]})
        s.add(
            DayOff(
                day=day,
                name=name[:200],
                created_by=actor.username,
                created_at=p.clock(),
            )
        )
    p.calendar_cache = None


def remove_day_off(p: Platform, actor: Actor, day: Any) -> None:
    """Remove a day off (admins)."""
    if not actor.has(Role.ADMIN):
        raise NotAllowed(N_("Solo un administrador gestiona los días libres."))
    with p.db.transaction() as s:
        row = s.get(DayOff, day)
        if row is None:
            raise NotFound(N_("Ese día no está registrado."))
        s.delete(row)
    p.calendar_cache = None
