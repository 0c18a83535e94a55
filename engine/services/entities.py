"""Entities (``/admin/entidades``): create, edit, deactivate, reactivate.

Admins only, each change one transaction with its audit record (actor,
target, before and after). An entity is never deleted (its cases keep its
code); it is deactivated. One with open cases is deactivated only by
moving them to another active entity the admin chooses
(:func:`deactivate_entity`; the entities answering the same categories are
offered first, :func:`transfer_choices`): each case is transferred as a
staff transfer would, in the same transaction. The categories each entity
answers are stored here for the routing table's choices
(:func:`category_entities`, and the deploy's warnings about the routing
table, :func:`routing_warnings`); the routing DMN itself stays the
designers'.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.domain.admin import EntityAdmin, EntityDeactivated, TransferChoice
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
from engine.services import entity_transfer
from engine.services.auditing import record
from engine.services.platform import Platform
from engine.store.accounts import User, UserEntity
from engine.store.models import Case, Entity, EntityCategory

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
                "%(code)s tiene %(n)s casos abiertos: elija la entidad que los"
                " recibirá al desactivarla."
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
    refused with :class:`OpenCasesRemain` (see :func:`deactivate_entity`,
    which moves them).
    """
    if not active:
        return deactivate_entity(p, actor, code).entity
    require_admin(actor)
    with p.db.transaction() as s:
        row = _locked(s, code)
        if row.active:
            return _view(row)
        row.active = True
        s.flush()
        record(
            s,
            p.clock(),
            actor,
            "entity_reactivated",
            {
                "target": row.code,
                "before": {"active": False},
                "after": {"active": True},
            },
        )
        return _view(row)


def deactivate_entity(
    p: Platform, actor: Actor, code: str, transfer_to: str | None = None
) -> EntityDeactivated:
    """Deactivate an entity, first moving its open cases to ``transfer_to``.

    One transaction: each open case is transferred as a staff transfer
    would (public events, the new entity's queue, claims released) with an
    audit record of its own, then the entity is deactivated (one more).
    Without open cases ``transfer_to`` is not needed; with them and no
    ``transfer_to``, :class:`OpenCasesRemain`. The same entity or an
    inactive or unknown one is refused under ``transfer_to``.
    """
    require_admin(actor)
    target_code = (transfer_to or "").strip().upper() or None
    with p.db.transaction() as s:
        row, target = _locked_pair(s, code, target_code)
        if not row.active:
            return EntityDeactivated(_view(row))
        count = _open_cases(s, [row.code]).get(row.code, 0)
        if count and target_code is None:
            raise OpenCasesRemain(row.code, count)
        moved: list[str] = []
        now = p.clock()
        if target_code is not None:
            target = _transfer_target(row, target, target_code)
            # A case assigned to the entity while the first round ran (a step
            # committed meanwhile) is moved by the next one.
            for _round in range(3):
                batch = entity_transfer.transfer_open_cases(s, actor, row, target, now)
                moved += batch
                if not batch:
                    break
        row.active = False
        s.flush()
        detail: dict[str, Any] = {
            "target": row.code,
            "before": {"active": True},
            "after": {"active": False},
        }
        if moved:
            detail["transferred"] = {"to": target_code, "cases": len(moved)}
        record(s, now, actor, "entity_deactivated", detail)
        return EntityDeactivated(_view(row), target_code if moved else None, len(moved))


def _locked_pair(
    s: Session, code: str, other: str | None
) -> tuple[Entity, Entity | None]:
    """The entity and the one receiving its cases, locked in acronym order
    (two admins moving cases between the same two never deadlock)."""
    code = code.strip().upper()
    rows = {
        r.code: r
        for r in s.scalars(
            select(Entity)
            .where(Entity.code.in_({code, other or code}))
            .order_by(Entity.code)
            .with_for_update()
        )
    }
    if code not in rows:
        raise NotFound(N_("Esa entidad no existe."))
    return rows[code], rows.get(other or "")


def _transfer_target(row: Entity, target: Entity | None, code: str) -> Entity:
    """The entity receiving ``row``'s cases, or :class:`InvalidData`."""
    if code == row.code:
        message = N_("Elija otra entidad: los casos no pueden quedarse en %(code)s.")
    elif target is None:
        message = N_("La entidad %(code)s no existe.")
    elif not target.active:
        message = N_("La entidad %(code)s está inactiva: elija una entidad activa.")
    else:
        return target
    raise InvalidData({"transfer_to": [Message(message, {"code": code})]})


def transfer_choices(p: Platform, actor: Actor, code: str) -> list[TransferChoice]:
    """The active entities that may receive ``code``'s open cases: those
    answering more of its categories first, then the rest, by acronym."""
    require_admin(actor)
    with p.db.read() as s:
        row = s.get(Entity, code.strip().upper())
        if row is None:
            raise NotFound(N_("Esa entidad no existe."))
        own = {c.category for c in row.categories}
        shared: dict[str, list[str]] = {}
        for entity, category in s.execute(
            select(EntityCategory.entity_code, EntityCategory.category)
            .where(EntityCategory.category.in_(own))
            .order_by(EntityCategory.category)
        ):
            shared.setdefault(entity, []).append(category)
        others = s.execute(
            select(Entity.code, Entity.name)
            .where(Entity.active.is_(True), Entity.code != row.code)
            .order_by(Entity.code)
        )
        choices = [
            TransferChoice(other, name, tuple(shared.get(other, ())))
            for other, name in others
        ]
    return sorted(choices, key=lambda c: -len(c.shared))


def _locked(s: Session, code: str) -> Entity:
    """The entity row, locked for the change."""
    row = s.get(Entity, code.strip().upper(), with_for_update=True)
    if row is None:
        raise NotFound(N_("Esa entidad no existe."))
    return row
