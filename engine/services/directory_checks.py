"""Checking the rows of a directory file against what is stored.

The admin pages' rules and messages (:mod:`engine.services.entities`,
:mod:`engine.services.people`) for each row, plus what only a file can get
wrong: the same acronym or username twice, a person naming an entity that
is neither stored nor created earlier in the file, a person's cell in an
entity's row, the last admin's role taken away. A valid row becomes a
:class:`Plan`: create it, change it, or nothing (equal to what is stored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain.directory import (
    ENTITY_ONLY,
    ENTITY_ROW,
    PERSON_ONLY,
    PERSON_ROW,
    DirectoryFile,
    FileRow,
    RowProblem,
)
from engine.domain.enums import Role
from engine.domain.errors import N_, InvalidData, Message
from engine.services import entities, people
from engine.store.accounts import User, UserRole
from engine.store.models import Entity

#: The services' field keys → the file's columns, for problems' columns.
_ENTITY_COLUMNS = {
    "code": "siglas",
    "name": "nombre",
    "sector": "sector",
    "email": "correo",
    "categories": "categorias",
}
_PERSON_COLUMNS = {
    "username": "usuario",
    "full_name": "nombre",
    "email": "correo",
    "roles": "roles",
    "entity_codes": "entidad",
}


@dataclass
class Plan:
    """What one valid row does: create (no ``before``), change or nothing."""

    kind: str
    key: str
    values: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any]

    @property
    def unchanged(self) -> bool:
        """Whether the row equals what is stored."""
        return self.before == self.after


@dataclass
class Directory:
    """What the database holds that the file's rows are checked against."""

    entities: dict[str, Entity]
    users: dict[str, User]
    admins: set[str]
    #: Acronyms and usernames of the file's rows so far → their line.
    codes: dict[str, int] = field(default_factory=dict)
    usernames: dict[str, int] = field(default_factory=dict)


def load_directory(s: Session, found: DirectoryFile, *, lock: bool) -> Directory:
    """Every entity, the file's people that exist and the active admins.

    With ``lock`` the rows the file may change are locked (``FOR NO KEY
    UPDATE``: cases being filed for an entity, which take a key-share lock,
    are not held up), and so are the active admins, so two imports cannot
    both take the last admin's role away.
    """
    codes = {r.cells.get("siglas", "").strip().upper() for r in found.rows}
    names = {r.cells.get("usuario", "").strip().lower() for r in found.rows}
    all_entities = {e.code: e for e in s.scalars(select(Entity))}
    if lock and codes:
        locked = select(Entity).where(Entity.code.in_(codes))
        s.scalars(locked.with_for_update(key_share=True)).all()
    users = select(User).where(User.username.in_(names))
    if lock:
        users = users.with_for_update(key_share=True)
    admins = (
        select(User.username)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role_key == Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
    )
    if lock:
        admins = admins.with_for_update(of=User)
    return Directory(
        entities=all_entities,
        users={u.username: u for u in s.scalars(users)},
        admins=set(s.scalars(admins)),
    )


def check_rows(
    found: DirectoryFile, directory: Directory
) -> tuple[list[RowProblem], list[Plan]]:
    """Every problem of the file's rows, and the plan of each valid row."""
    problems = list(found.problems)
    plans: list[Plan] = []
    admin_removed_at: int | None = None
    for row in found.rows:
        kind = row.cells.get("tipo", "").strip().lower()
        if kind == ENTITY_ROW:
            plan = _entity_row(row, found.columns, directory, problems)
        elif kind == PERSON_ROW:
            had = set(directory.admins)
            plan = _person_row(row, found.columns, directory, problems)
            if had - directory.admins:
                admin_removed_at = row.line
        else:
            problems.append(
                RowProblem(
                    row.line,
                    "tipo",
                    Message(N_("Escriba «entidad» o «persona» en la columna tipo.")),
                )
            )
            plan = None
        if plan is not None:
            plans.append(plan)
    if admin_removed_at is not None and not directory.admins:
        problems.append(
            RowProblem(
                admin_removed_at,
                "roles",
                Message(N_("No se puede quitar al último administrador activo.")),
            )
        )
    return problems, plans


def _entity_row(
    row: FileRow,
    columns: tuple[str, ...],
    directory: Directory,
    problems: list[RowProblem],
) -> Plan | None:
    """Check an entity row; its plan, or None after adding its problems."""
    errors: dict[str, list[Message]] = {}
    problems.extend(_foreign_cells(row, PERSON_ONLY))
    code = ""
    try:
        code = entities.checked_code(row.cells.get("siglas"))
    except InvalidData as exc:
        errors.update(exc.errors)
    if code in directory.codes:
        errors["code"] = [
            Message(
                N_("Las siglas %(key)s ya aparecen en la línea %(line)s."),
                {"key": code, "line": directory.codes[code]},
            )
        ]
    elif code:
        directory.codes[code] = row.line
    existing = directory.entities.get(code)
    stored = entities.snapshot(existing) if existing is not None else None
    kept = stored or {}
    data = {
        "name": _cell(row, columns, "nombre", kept.get("name")),
        "sector": _cell(row, columns, "sector", kept.get("sector")),
        "email": _cell(row, columns, "correo", kept.get("email")),
        "categories": _cell(row, columns, "categorias", kept.get("categories")),
    }
    values: dict[str, Any] = {}
    try:
        values = entities.checked_fields(data)
    except InvalidData as exc:
        errors = {**exc.errors, **errors}
    if errors:
        problems.extend(_problems(row.line, errors, _ENTITY_COLUMNS))
        return None
    after = {
        "name": values["name"],
        "sector": values["sector"],
        "email": values["email"],
        "active": existing.active if existing is not None else True,
        "categories": values["categories"],
    }
    return Plan(ENTITY_ROW, code, values, stored, after)


def _person_row(
    row: FileRow,
    columns: tuple[str, ...],
    directory: Directory,
    problems: list[RowProblem],
) -> Plan | None:
    """Check a person row; its plan, or None after adding its problems.

    Keeps ``directory.admins`` current: who will be an active admin once
    the rows so far are applied.
    """
    errors: dict[str, list[Message]] = {}
    problems.extend(_foreign_cells(row, ENTITY_ONLY))
    username = ""
    try:
        username = people.checked_username(row.cells.get("usuario"))
    except InvalidData as exc:
        errors.update(exc.errors)
    if username in directory.usernames:
        errors["username"] = [
            Message(
                N_("El usuario %(key)s ya aparece en la línea %(line)s."),
                {"key": username, "line": directory.usernames[username]},
            )
        ]
    elif username:
        directory.usernames[username] = row.line
    existing = directory.users.get(username)
    stored = people.snapshot(existing) if existing is not None else None
    kept = stored or {}
    raw_roles = _cell(row, columns, "roles", kept.get("roles"))
    data = {
        "full_name": _cell(row, columns, "nombre", kept.get("full_name")),
        "email": _cell(row, columns, "correo", kept.get("email")),
        "roles": _split(raw_roles) if isinstance(raw_roles, str) else raw_roles,
        "entity_codes": _cell(row, columns, "entidad", kept.get("entities")),
    }

    def entity_problem(code: str) -> Message | None:
        """Why an enlace may not represent ``code`` (None: it may)."""
        entity = directory.entities.get(code)
        if entity is not None:
            current = existing is not None and code in existing.entity_codes
            if entity.active or current:
                return None
            return Message(N_("%(code)s no es una entidad activa."), {"code": code})
        if code in directory.codes:
            return None  # created by an earlier row of the file
        return Message(
            N_(
                "La entidad %(code)s no existe ni aparece en una fila anterior"
                " del archivo."
            ),
            {"code": code},
        )

    values: dict[str, Any] = {}
    try:
        values = people.checked_fields(data, entity_problem)
    except InvalidData as exc:
        errors = {**exc.errors, **errors}
    if existing is None and not data["email"]:
        errors.setdefault("email", []).append(
            Message(N_("Escriba el correo: la invitación para entrar llega ahí."))
        )
    if errors:
        problems.extend(_problems(row.line, errors, _PERSON_COLUMNS))
        return None
    active = existing.active if existing is not None else True
    if active and Role.ADMIN in values["roles"]:
        directory.admins.add(username)
    else:
        directory.admins.discard(username)
    after = {
        "full_name": values["full_name"],
        "email": values["email"],
        "roles": sorted(values["roles"]),
        "entities": values["entities"],
        "active": active,
    }
    return Plan(PERSON_ROW, username, values, stored, after)


def _cell(row: FileRow, columns: tuple[str, ...], name: str, stored: Any) -> Any:
    """The row's cell ``name``; what is stored when the file has no such
    column (empty for a new row)."""
    if name in columns:
        return row.cells.get(name, "")
    return "" if stored is None else stored


def _split(cell: str) -> list[str]:
    """Role keys written with spaces, commas or semicolons between them."""
    return [r.lower() for r in re.split(r"[\s,;]+", cell) if r]


def _foreign_cells(row: FileRow, columns: tuple[str, ...]) -> Iterator[RowProblem]:
    """A problem per filled cell that belongs to the other kind of row."""
    for name in columns:
        if row.cells.get(name):
            yield RowProblem(
                row.line,
                name,
                Message(
                    N_("La columna %(column)s no se usa en una fila de %(kind)s."),
                    {"column": name, "kind": row.cells.get("tipo", "").lower()},
                ),
            )


def _problems(
    line: int, errors: Mapping[str, list[Message]], columns: Mapping[str, str]
) -> Iterator[RowProblem]:
    """The services' per-field messages as problems under the file's columns."""
    for key, messages in errors.items():
        for message in messages:
            yield RowProblem(line, columns.get(key, key), message)
