"""Entities (``/admin/entidades``): create, edit, deactivate, reactivate.

Admins only, each change one transaction with its audit record (actor,
target, before and after). An entity is never deleted (its cases keep its
code); it is deactivated, and only while it has no open case: moving a
case to another entity is the diagram's own transfer (an enlace sends the
case back to the 311 to be classified again), so the admin is told how
many cases are open and where to find them instead. The categories each
entity answers are stored here for the routing table's choices
(:func:`category_entities`); the routing DMN itself stays the designers'.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.domain.admin import EntityAdmin
from engine.domain.enums import CaseStatus, Role
from engine.domain.errors import (
    N_,
    Conflict,
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
)
from engine.domain.views import Actor
from engine.services.auditing import record
from engine.services.platform import Platform
from engine.store.models import Case, Entity, EntityCategory, User, UserEntity

#: An acronym: capital letters and digits, maybe with a dash or dot.
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9.-]{0,19}$")
#: A category key as forms and the routing table write it (``seguro_social``).
_CATEGORY = re.compile(r"^[a-z0-9_]{1,30}$")
#: An address with one ``@`` and a dot after it: enough to catch typing slips.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class OpenCasesRemain(Conflict):
    """The entity still has open cases; ``count`` says how many."""

    def __init__(self, code: str, count: int) -> None:
        """Keep the entity and the count, for a link to those cases."""
        super().__init__(
            N_(
                "%(code)s tiene %(n)s casos abiertos: transfiéralos o ciérrelos"
                " antes de desactivarla."
            ),
            code=code,
            n=count,
        )
        self.code = code
        self.count = count


def require_admin(actor: Actor) -> None:
    """Refuse anyone but an admin."""
    if not actor.has(Role.ADMIN):
        raise NotAllowed(N_("Solo un administrador gestiona las entidades."))


def _view(row: Entity, open_cases: int = 0, people: int = 0) -> EntityAdmin:
    """An entity row as plain data."""
    return EntityAdmin(
        code=row.code,
        name=row.name,
        sector=row.sector or "",
        email=row.email,
        active=row.active,
        categories=tuple(sorted(c.category for c in row.categories)),
        open_cases=open_cases,
        people=people,
    )


def snapshot(row: Entity) -> dict[str, Any]:
    """What the audit record keeps of an entity, before or after a change
    (also what an import compares a row with, to find it unchanged)."""
    return {
        "name": row.name,
        "sector": row.sector or "",
        "email": row.email,
        "active": row.active,
        "categories": sorted(c.category for c in row.categories),
    }


def _open_cases(s: Session, codes: Iterable[str] | None = None) -> dict[str, int]:
    """Open cases per entity (``ix_case_entity_status``)."""
    query = (
        select(Case.entity_code, func.count())
        .where(Case.status == CaseStatus.OPEN, Case.entity_code.is_not(None))
        .group_by(Case.entity_code)
    )
    if codes is not None:
        query = query.where(Case.entity_code.in_(list(codes)))
    return {str(code): int(n) for code, n in s.execute(query).all()}


def list_entities_admin(p: Platform, actor: Actor) -> list[EntityAdmin]:
    """Every entity, active first, by acronym, with open cases and people."""
    require_admin(actor)
    with p.db.read() as s:
        open_cases = _open_cases(s)
        people = dict(
            s.execute(
                select(UserEntity.entity_code, func.count())
                .join(User, User.id == UserEntity.user_id)
                .where(User.active.is_(True))
                .group_by(UserEntity.entity_code)
            ).all()
        )
        rows = s.scalars(select(Entity).order_by(Entity.active.desc(), Entity.code))
        return [
            _view(r, open_cases.get(r.code, 0), int(people.get(r.code, 0)))
            for r in rows
        ]


def get_entity(p: Platform, actor: Actor, code: str) -> EntityAdmin:
    """One entity, for the edit page, with its open cases counted."""
    require_admin(actor)
    with p.db.read() as s:
        row = s.get(Entity, code.upper())
        if row is None:
            raise NotFound(N_("Esa entidad no existe."))
        return _view(row, _open_cases(s, [row.code]).get(row.code, 0))


def checked_code(raw: Any) -> str:
    """The acronym as stored (upper case), or :class:`InvalidData` under
    ``code`` (the form and the directory import share the rule)."""
    code = str(raw or "").strip().upper()
    if not _CODE.match(code):
        raise InvalidData(
            {
                "code": [
                    Message(N_("Escriba las siglas: mayúsculas y números, hasta 20."))
                ]
            }
        )
    return code


def checked_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The entity's fields from a form or an imported row, or
    :class:`InvalidData` naming each bad one. ``categories`` is a list or
    text separated by commas/spaces."""
    errors: dict[str, list[Message]] = {}
    name = str(data.get("name") or "").strip()[:200]
    sector = str(data.get("sector") or "").strip()[:80]
    email = str(data.get("email") or "").strip()[:254] or None
    raw = data.get("categories") or ()
    if isinstance(raw, str):
        raw = re.split(r"[\s,;]+", raw)
    categories = sorted({str(c).strip().lower() for c in raw if str(c).strip()})
    if not name:
        errors["name"] = [Message(N_("Este campo es obligatorio."))]
    if email and not _EMAIL.match(email):
        errors["email"] = [Message(N_("Escriba un correo electrónico válido."))]
    bad = [c for c in categories if not _CATEGORY.match(c)]
    if bad:
        errors["categories"] = [
            Message(
                N_(
                    "Categoría no válida: %(category)s (minúsculas, números"
                    " y guion bajo)."
                ),
                {"category": bad[0][:40]},
            )
        ]
    if errors:
        raise InvalidData(errors)
    return {"name": name, "sector": sector, "email": email, "categories": categories}


def create_entity(p: Platform, actor: Actor, data: Mapping[str, Any]) -> EntityAdmin:
    """A new active entity; ``data`` as :func:`edit_entity` plus ``code``."""
    require_admin(actor)
    errors: dict[str, list[Message]] = {}
    code = ""
    try:
        code = checked_code(data.get("code"))
    except InvalidData as exc:
        errors = dict(exc.errors)
    try:
        values = checked_fields(data)
    except InvalidData as exc:
        errors = {**exc.errors, **errors}
    if errors:
        raise InvalidData(errors)
    with p.db.transaction() as s:
        if s.get(Entity, code) is not None:
            raise InvalidData({"code": [Message(N_("Esas siglas ya existen."))]})
        row = new_entity(code, values)
        s.add(row)
        s.flush()
        record(
            s,
            p.clock(),
            actor,
            "entity_created",
            {"target": code, "after": snapshot(row)},
        )
        return _view(row)


def edit_entity(
    p: Platform, actor: Actor, code: str, data: Mapping[str, Any]
) -> EntityAdmin:
    """Change an entity's name, sector, inbox address and categories; audited.

    ``data``: ``name`` (the full name), ``sector``, ``email``, ``categories``.
    The acronym stays: cases and people refer to it.
    """
    require_admin(actor)
    values = checked_fields(data)
    with p.db.transaction() as s:
        row = _locked(s, code)
        before = snapshot(row)
        update_entity(row, values)
        s.flush()
        after = snapshot(row)
        if after != before:
            record(
                s,
                p.clock(),
                actor,
                "entity_edited",
                {"target": row.code, "before": before, "after": after},
            )
        return _view(row)


def new_entity(code: str, values: Mapping[str, Any]) -> Entity:
    """A new active entity row from :func:`checked_fields`' values."""
    row = Entity(
        code=code,
        name=values["name"],
        sector=values["sector"],
        email=values["email"],
        active=True,
    )
    row.categories = [EntityCategory(category=c) for c in values["categories"]]
    return row


def update_entity(row: Entity, values: Mapping[str, Any]) -> None:
    """Give ``row`` the name, sector, address and categories of ``values``
    (categories it keeps stay the same rows)."""
    row.name = values["name"]
    row.sector = values["sector"]
    row.email = values["email"]
    kept = {c.category: c for c in row.categories}
    row.categories = [
        kept.get(c) or EntityCategory(category=c) for c in values["categories"]
    ]


def set_entity_active(
    p: Platform, actor: Actor, code: str, active: bool
) -> EntityAdmin:
    """Deactivate (no open case left) or reactivate an entity; audited.

    A deactivated entity is no longer offered at intake nor in the routing
    choices; its closed cases keep it. With open cases the deactivation is
    refused with :class:`OpenCasesRemain`.
    """
    require_admin(actor)
    with p.db.transaction() as s:
        row = _locked(s, code)
        if row.active == active:
            return _view(row)
        if not active:
            count = _open_cases(s, [row.code]).get(row.code, 0)
            if count:
                raise OpenCasesRemain(row.code, count)
        row.active = active
        s.flush()
        record(
            s,
            p.clock(),
            actor,
            "entity_reactivated" if active else "entity_deactivated",
            {
                "target": row.code,
                "before": {"active": not active},
                "after": {"active": active},
            },
        )
        return _view(row)


def _locked(s: Session, code: str) -> Entity:
    """The entity row, locked for the change."""
    row = s.get(Entity, code.strip().upper(), with_for_update=True)
    if row is None:
        raise NotFound(N_("Esa entidad no existe."))
    return row


def category_entities(p: Platform) -> dict[str, list[str]]:
    """Category → the active entities that answer it (the routing choices)."""
    with p.db.read() as s:
        rows = s.execute(
            select(EntityCategory.category, EntityCategory.entity_code)
            .join(Entity, Entity.code == EntityCategory.entity_code)
            .where(Entity.active.is_(True))
            .order_by(EntityCategory.category, EntityCategory.entity_code)
        ).all()
    found: dict[str, list[str]] = {}
    for category, code in rows:
        found.setdefault(category, []).append(code)
    return found
