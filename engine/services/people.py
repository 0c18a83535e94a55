"""People (``/admin/usuarios``): create, edit, deactivate and reactivate staff.

Admins only, each change one transaction with its audit record (actor,
target, before and after). A person holds one or more roles; an enlace
represents one or more entities (``user_entity``). Deactivating someone
ends every session they have at once (their session epoch is bumped and
an inactive user loads nobody) and gives the tasks they held back to
their queues (:func:`engine.services.queues.release_held_tasks`); taking a
role or an entity away gives back the tasks they may no longer do, in the
same transaction. Nobody removes the last active admin, by deactivation
or by taking the role away.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.domain.admin import Deactivated, Person
from engine.domain.enums import Role, TaskState
from engine.domain.errors import (
    N_,
    Conflict,
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
)
from engine.domain.security import hash_password
from engine.domain.views import ROLES, Actor
from engine.services.accounts import (
    NO_PASSWORD,
    actor_from_user,
    entity_rows,
    password_errors,
    role_errors,
)
from engine.services.auditing import record
from engine.services.platform import Platform
from engine.services.queues import release_held_tasks
from engine.store.accounts import User, UserEntity, UserRole
from engine.store.models import Entity, HumanTask

#: Roles an admin gives staff (citizens have accounts of their own kind).
STAFF_ROLE_KEYS = tuple(r for r in ROLES if r != Role.CITIZEN)
#: What a username may be: lower-case letters, digits, dot, dash, underscore.
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
#: An address with one ``@`` and a dot after it: enough to catch typing slips.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def require_admin(actor: Actor) -> None:
    """Refuse anyone but an admin."""
    if not actor.has(Role.ADMIN):
        raise NotAllowed(N_("Solo un administrador gestiona a las personas."))


def _person(user: User, held: int = 0) -> Person:
    """A user row as plain data."""
    return Person(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        email=user.email,
        roles=tuple(
            r for r in STAFF_ROLE_KEYS if r in {x.role_key for x in user.roles}
        ),
        entity_codes=tuple(sorted(user.entity_codes)),
        active=user.active,
        created_at=user.created_at,
        held_tasks=held,
        invitation_pending=user.password_hash == NO_PASSWORD,
    )


def snapshot(user: User) -> dict[str, Any]:
    """What the audit record keeps of a person, before or after a change
    (also what an import compares a row with, to find it unchanged)."""
    return {
        "full_name": user.full_name,
        "email": user.email,
        "roles": sorted(r.role_key for r in user.roles),
        "entities": sorted(user.entity_codes),
        "active": user.active,
    }


def list_people(p: Platform, actor: Actor) -> list[Person]:
    """Every staff account, active first, by name, with the tasks each holds."""
    require_admin(actor)
    with p.db.read() as s:
        held = dict(
            s.execute(
                select(HumanTask.assignee_id, func.count())
                .where(
                    HumanTask.state == TaskState.READY,
                    HumanTask.assignee_id.is_not(None),
                )
                .group_by(HumanTask.assignee_id)
            ).all()
        )
        users = s.scalars(
            select(User).order_by(User.active.desc(), User.full_name, User.id)
        )
        return [_person(u, int(held.get(u.id, 0))) for u in users]


def get_person(p: Platform, actor: Actor, user_id: int) -> Person:
    """One person, for the edit page."""
    require_admin(actor)
    with p.db.read() as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound(N_("Ese usuario no existe."))
        return _person(user, held_count(s, user_id))


def checked_username(raw: Any) -> str:
    """The username as stored (lower case), or :class:`InvalidData` under
    ``username`` (the form and the directory import share the rule)."""
    username = str(raw or "").strip().lower()
    if not _USERNAME.match(username):
        raise InvalidData(
            {
                "username": [
                    Message(
                        N_(
                            "Use de 2 a 80 letras minúsculas, números, punto,"
                            " guion o guion bajo."
                        )
                    )
                ]
            }
        )
    return username


def _checked(
    s: Session, data: Mapping[str, Any], user: User | None = None
) -> dict[str, Any]:
    """The person's fields from a form, the entities looked up in ``s``
    (an entity deactivated since ``user`` got it may stay theirs)."""
    kept = user.entity_codes if user is not None else frozenset()

    def entity_problem(code: str) -> Message | None:
        """Why ``code`` is not an entity to choose (None: it is)."""
        row = s.get(Entity, code)
        if row is None or not (row.active or code in kept):
            return Message(N_("%(code)s no es una entidad activa."), {"code": code})
        return None

    return checked_fields(data, entity_problem)


def split_entities(value: Any) -> list[str]:
    """Entity acronyms from a list (the form's checkboxes) or from one text
    (an import's cell: separated by semicolons; commas and spaces are taken
    too), upper case, each once, in the order given."""
    if isinstance(value, str):
        parts: list[str] = re.split(r"[\s,;]+", value)
    else:
        parts = [str(v) for v in value or ()]
    return list(dict.fromkeys(c.strip().upper() for c in parts if c.strip()))


def checked_fields(
    data: Mapping[str, Any], entity_problem: Callable[[str], Message | None]
) -> dict[str, Any]:
    """The person's fields from a form or an imported row, or
    :class:`InvalidData` naming each bad one (the same rules on create, edit
    and import). ``entity_codes`` is a list of acronyms or one text of them
    (:func:`split_entities`); ``entity_problem`` says what is wrong with one
    of an enlace's entity codes (None: nothing), so an import can accept an
    entity created earlier in its own file."""
    errors: dict[str, list[Message]] = {}
    full_name = str(data.get("full_name") or "").strip()[:200]
    email = str(data.get("email") or "").strip()[:254] or None
    roles = tuple(dict.fromkeys(str(r) for r in data.get("roles") or ()))
    entities = split_entities(data.get("entity_codes"))
    if not full_name:
        errors["full_name"] = [Message(N_("Este campo es obligatorio."))]
    if email and not _EMAIL.match(email):
        errors["email"] = [Message(N_("Escriba un correo electrónico válido."))]
    if not roles:
        errors["roles"] = [Message(N_("Elija al menos un rol."))]
    elif Role.CITIZEN in roles:
        errors["roles"] = [
            Message(N_("Rol desconocido: %(role)s"), {"role": "ciudadano"})
        ]
    errors.update(role_errors(roles, entities))
    if Role.LIAISON not in roles:
        entities = []  # only enlaces represent entities
    else:
        problems = [m for m in map(entity_problem, entities) if m is not None]
        if problems:
            errors["entity_codes"] = problems
    if errors:
        raise InvalidData(errors)
    return {
        "full_name": full_name,
        "email": email,
        "roles": roles,
        "entities": sorted(entities),
    }


def create_person(p: Platform, actor: Actor, data: Mapping[str, Any]) -> Person:
    """A new staff account with its roles and a first password; audited.

    ``data``: ``username``, ``full_name``, ``email``, ``roles`` (a list),
    ``entity_codes`` (an enlace's, a list), ``password``. Without a password the account
    has none until the person follows an invitation (then it needs an
    email; the caller sends it: ``signin.invite_user``).
    """
    require_admin(actor)
    username = ""
    password = str(data.get("password") or "") or None
    full_name = str(data.get("full_name") or "").strip()
    try:
        username = checked_username(data.get("username"))
    except InvalidData as exc:
        errors: dict[str, list[Message]] = dict(exc.errors)
    else:
        errors = {}
    errors.update(password_errors(p, password, username=username, full_name=full_name))
    if password is None and not str(data.get("email") or "").strip():
        errors["email"] = [
            Message(
                N_(
                    "Escriba su correo para enviarle la invitación, o dé una "
                    "contraseña inicial."
                )
            )
        ]
    with p.db.read() as s:
        try:
            values = _checked(s, data)
        except InvalidData as exc:
            errors = {**exc.errors, **errors}
    if errors:
        raise InvalidData(errors)
    # Hash outside the transaction: scrypt is slow on purpose.
    password_hash = NO_PASSWORD if password is None else hash_password(password)
    with p.db.transaction() as s:
        if s.scalars(select(User.id).where(User.username == username)).first():
            raise InvalidData(
                {"username": [Message(N_("Ese nombre de usuario ya existe."))]}
            )
        user = new_user(username, values, password_hash, p.clock())
        s.add(user)
        s.flush()
        record(
            s,
            p.clock(),
            actor,
            "user_created",
            {"target": username, "user_id": user.id, "after": snapshot(user)},
        )
        return _person(user)


def edit_person(
    p: Platform, actor: Actor, user_id: int, data: Mapping[str, Any]
) -> Person:
    """Change a person's name, mail, roles and entities; audited.

    Taking the admin role from the last active admin is refused. The tasks
    they hold that their new roles and entities no longer let them do go
    back to their queues in the same transaction (each release audited,
    and the case numbers in the edit's record under ``released``).
    """
    require_admin(actor)
    with p.db.transaction() as s:
        user = _locked_user(s, user_id)
        values = _checked(s, data, user)
        before = snapshot(user)
        was_admin = Role.ADMIN in before["roles"]
        if was_admin and Role.ADMIN not in values["roles"] and user.active:
            _keep_an_admin(s, user.id)
        update_user(user, values)
        s.flush()
        after = snapshot(user)
        released = release_lost_tasks(s, p, actor, user)
        if after != before:
            record(
                s,
                p.clock(),
                actor,
                "user_edited",
                {
                    "target": user.username,
                    "user_id": user.id,
                    "before": before,
                    "after": after,
                    "released": released,
                },
            )
        return _person(user, held_count(s, user.id))


def release_lost_tasks(s: Session, p: Platform, actor: Actor, user: User) -> list[str]:
    """Give back the tasks ``user`` holds that their roles and entities
    (as just changed, flushed) no longer let them do; the case numbers."""
    return release_held_tasks(s, p, actor, user.id, now_as=actor_from_user(user))


def held_count(s: Session, user_id: int) -> int:
    """How many ready tasks the person holds."""
    return int(
        s.scalar(
            select(func.count()).where(
                HumanTask.state == TaskState.READY, HumanTask.assignee_id == user_id
            )
        )
        or 0
    )


def new_user(
    username: str, values: Mapping[str, Any], password_hash: str, now: datetime
) -> User:
    """A new active account from :func:`checked_fields`' values."""
    user = User(
        username=username,
        full_name=values["full_name"],
        email=values["email"],
        password_hash=password_hash,
        created_at=now,
        active=True,
    )
    user.roles = [UserRole(role_key=r) for r in values["roles"]]
    user.entities = entity_rows(values["entities"])
    return user


def update_user(user: User, values: Mapping[str, Any]) -> None:
    """Give ``user`` the name, mail, entities and roles of ``values`` (roles
    and entities they keep stay the same rows)."""
    user.full_name = values["full_name"]
    user.email = values["email"]
    kept = {r.role_key: r for r in user.roles}
    user.roles = [kept.get(r) or UserRole(role_key=r) for r in values["roles"]]
    entities = {e.entity_code: e for e in user.entities}
    user.entities = [
        entities.get(c) or UserEntity(entity_code=c) for c in values["entities"]
    ]


def set_person_active(
    p: Platform, actor: Actor, user_id: int, active: bool
) -> Deactivated:
    """Deactivate or reactivate a person; audited.

    Deactivation ends their sessions at once (the epoch is bumped; an
    inactive user loads nobody either) and releases the tasks they hold,
    in the same transaction. Nobody deactivates themself (another admin
    does), and the last active admin stays.
    """
    require_admin(actor)
    if not active and user_id == actor.id:
        raise NotAllowed(
            N_("No puede desactivarse a sí mismo; pídalo a otro administrador.")
        )
    with p.db.transaction() as s:
        user = _locked_user(s, user_id)
        if user.active == active:
            return Deactivated(_person(user))
        released: list[str] = []
        if not active:
            if any(r.role_key == Role.ADMIN for r in user.roles):
                _keep_an_admin(s, user.id)
            user.active = False
            user.session_epoch += 1
            released = release_held_tasks(s, p, actor, user.id)
        else:
            user.active = True
        s.flush()
        record(
            s,
            p.clock(),
            actor,
            "user_deactivated" if not active else "user_reactivated",
            {
                "target": user.username,
                "user_id": user.id,
                "before": {"active": not active},
                "after": {"active": active},
                "released": released,
            },
        )
        return Deactivated(_person(user), released)


def _locked_user(s: Session, user_id: int) -> User:
    """The user row, locked for the change."""
    user = s.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(N_("Ese usuario no existe."))
    return user


def _keep_an_admin(s: Session, leaving: int) -> None:
    """Refuse a change that would leave no active admin.

    The admins' rows are locked in id order first, so two admins removing
    each other at the same time cannot both succeed.
    """
    admins = list(
        s.scalars(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role_key == Role.ADMIN, User.active.is_(True))
            .order_by(User.id)
            .with_for_update(of=User)
        )
    )
    if not [a for a in admins if a != leaving]:
        raise Conflict(N_("No se puede quitar al último administrador activo."))
