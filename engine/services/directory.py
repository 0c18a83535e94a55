"""Bulk import of entities and people from one CSV (``/admin/importar``,
``flask import-directory``).

One file, one row per entity or person (column ``tipo``: ``entidad`` or
``persona``; :data:`engine.domain.directory.COLUMNS`). The rows are checked
with the admin pages' own rules and messages plus what only a file can get
wrong (:mod:`engine.services.directory_checks`). The dry
run lists every problem; the apply checks again and writes every row or
none, in one transaction. A row equal to what is stored changes nothing,
so importing the same file twice does nothing the second time. A column
left out of the file keeps what is stored (an update of names alone does
not empty the categories).

Audit: each created or changed entity and person gets the record the admin
pages write (``entity_created``, ``user_edited``…, before and after, with
the import's hash), and the import one summary (``directory_imported``:
file, hash, source, counts). One small record per target keeps the log's
filters and its CSV useful: a single record holding 450 targets' before
and after would be one cell of about 100 KB, past what a spreadsheet cell
holds (32,767 characters). Unchanged rows write nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import IO, Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.domain.directory import (
    COLUMNS,
    ENTITY_ROW,
    PERSON_ROW,
    Counts,
    DirectoryFile,
    ImportCheck,
    ImportRefused,
    ImportResult,
    RowProblem,
)
from engine.domain.enums import Role
from engine.domain.errors import N_, Conflict, NotFound
from engine.domain.views import Actor
from engine.services import entities, people, signin
from engine.services.accounts import NO_PASSWORD, actor_from_user
from engine.services.auditing import record
from engine.services.directory_checks import Plan, check_rows, load_directory
from engine.services.directory_file import read_directory, read_text
from engine.services.platform import Platform
from engine.store.accounts import DirectoryUpload, User, UserRole
from engine.store.models import Entity

#: How long a checked upload waits for its apply.
KEEP_UPLOAD = timedelta(hours=2)


def require_admin(actor: Actor) -> None:
    """Refuse anyone but an admin (the admin pages' own check)."""
    entities.require_admin(actor)


def importer(p: Platform, username: str | None = None) -> Actor:
    """The admin a command-line import acts as (default: the first active
    admin); :class:`NotFound` or :class:`NotAllowed` otherwise."""
    with p.db.read() as s:
        query = select(User).where(User.active.is_(True))
        if username is None:
            query = query.join(UserRole).where(UserRole.role_key == Role.ADMIN)
        else:
            query = query.where(User.username == username)
        user = s.scalars(query.order_by(User.id).limit(1)).first()
        if user is None:
            raise NotFound(N_("No hay ningún administrador activo con ese usuario."))
        actor = actor_from_user(user)
    require_admin(actor)
    return actor


def read_file(p: Platform, stream: IO[bytes], filename: str) -> DirectoryFile:
    """A directory file read within the platform's limits (see
    :func:`engine.services.directory_file.read_directory`)."""
    return read_directory(
        stream,
        filename,
        max_rows=p.limits.import_max_rows,
        max_bytes=p.limits.import_max_bytes,
    )


def check_upload(
    p: Platform, actor: Actor, stream: IO[bytes], filename: str
) -> ImportCheck:
    """The dry run of an uploaded file; a clean one is kept for its apply.

    Raises :class:`UnreadableFile` for a file that is not a UTF-8 CSV
    within the limits. The kept text is found again by its hash
    (:func:`apply_upload`) for :data:`KEEP_UPLOAD`.
    """
    entities.require_admin(actor)
    found = read_file(p, stream, filename)
    check = check_directory(p, actor, found)
    if check.applicable:
        now = p.clock()
        with p.db.transaction() as s:
            s.execute(
                delete(DirectoryUpload).where(
                    DirectoryUpload.uploaded_at < now - KEEP_UPLOAD
                )
            )
            s.merge(
                DirectoryUpload(
                    sha256=found.sha256,
                    filename=found.filename,
                    content=found.text,
                    uploaded_by=actor.username,
                    uploaded_at=now,
                )
            )
    return check


def check_directory(p: Platform, actor: Actor, found: DirectoryFile) -> ImportCheck:
    """Every problem of every row of ``found``, and what applying would do."""
    entities.require_admin(actor)
    with p.db.read() as s:
        problems, plans = check_rows(found, load_directory(s, found, lock=False))
    return _summary(found, problems, plans)


def apply_upload(p: Platform, actor: Actor, sha256: str) -> ImportResult:
    """Apply the kept upload with this hash (the file the dry run checked).

    Raises :class:`NotFound` when it expired or was applied already, and
    :class:`ImportRefused` when the directory changed since and a row no
    longer passes: then nothing is written.
    """
    entities.require_admin(actor)
    with _one_writer(), p.db.transaction() as s:
        kept = s.get(DirectoryUpload, sha256[:64])
        if kept is None or kept.uploaded_at < p.clock() - KEEP_UPLOAD:
            raise NotFound(
                N_("Ese archivo ya no está guardado para aplicarlo: súbalo otra vez.")
            )
        found = read_text(
            kept.content, kept.filename, max_rows=p.limits.import_max_rows
        )
        done = _apply(s, p, actor, found, "web")
        s.delete(kept)
        return done


def apply_directory(
    p: Platform, actor: Actor, found: DirectoryFile, source: str = "cli"
) -> ImportResult:
    """Check and apply a file read by the caller (the command line)."""
    entities.require_admin(actor)
    with _one_writer(), p.db.transaction() as s:
        return _apply(s, p, actor, found, source)


@contextmanager
def _one_writer() -> Iterator[None]:
    """Turn a lost race (a new acronym or username stored meanwhile by
    someone else) into a clear 409 instead of a database error."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(
            N_(
                "Alguien cambió el directorio al mismo tiempo: revise el"
                " archivo otra vez."
            )
        ) from exc


def _apply(
    s: Session, p: Platform, actor: Actor, found: DirectoryFile, source: str
) -> ImportResult:
    """Check ``found`` against locked rows and write all of it, audited."""
    directory = load_directory(s, found, lock=True)
    problems, plans = check_rows(found, directory)
    check = _summary(found, problems, plans)
    if problems:
        raise ImportRefused(check)
    now = p.clock()
    mark = found.sha256[:12]
    changed = [plan for plan in plans if not plan.unchanged]
    # Entities first, flushed, so their people's foreign keys find them.
    for plan in changed:
        if plan.kind == ENTITY_ROW:
            if plan.before is None:
                s.add(entities.new_entity(plan.key, plan.values))
            else:
                entities.update_entity(directory.entities[plan.key], plan.values)
    s.flush()
    made: list[User] = []
    for plan in changed:
        if plan.kind == PERSON_ROW:
            if plan.before is None:
                user = people.new_user(plan.key, plan.values, NO_PASSWORD, now)
                s.add(user)
                made.append(user)
            else:
                people.update_user(directory.users[plan.key], plan.values)
    s.flush()
    # A person who lost a role or an entity gives back the tasks they may
    # no longer do, as an edit on the people page does.
    released = {
        plan.key: people.release_lost_tasks(s, p, actor, directory.users[plan.key])
        for plan in changed
        if plan.kind == PERSON_ROW and plan.before is not None
    }
    ids = {u.username: u.id for u in [*made, *directory.users.values()]}
    for plan in changed:
        detail: dict[str, Any] = {"target": plan.key}
        if plan.kind == PERSON_ROW:
            detail["user_id"] = ids[plan.key]
            if released.get(plan.key):
                detail["released"] = released[plan.key]
        if plan.before is not None:
            detail["before"] = plan.before
        detail.update(after=plan.after, directory_import=mark)
        record(s, now, actor, _action(plan), detail)
    # Everyone made now chooses a password through an invitation, sent with
    # the import (a new person's row must give an address).
    for user in made:
        if user.email:
            signin.invite_in(s, p, actor, user, now)
    record(
        s,
        now,
        actor,
        "directory_imported",
        {
            "target": found.filename,
            "sha256": found.sha256,
            "source": source,
            "rows": len(found.rows),
            "entities": vars(check.entities),
            "people": vars(check.people),
        },
    )
    return ImportResult(
        filename=found.filename,
        sha256=found.sha256,
        entities=check.entities,
        people=check.people,
        created_users=tuple(u.username for u in made),
    )


def _action(plan: Plan) -> str:
    """The audit action the admin pages write for the same change."""
    noun = "entity" if plan.kind == ENTITY_ROW else "user"
    return f"{noun}_created" if plan.before is None else f"{noun}_edited"


def _summary(
    found: DirectoryFile, problems: list[RowProblem], plans: list[Plan]
) -> ImportCheck:
    """The check's result: problems in line order, and the counts."""

    def counts(kind: str) -> Counts:
        """Rows of ``kind`` by what they do."""
        mine = [plan for plan in plans if plan.kind == kind]
        created = sum(plan.before is None for plan in mine)
        unchanged = sum(plan.unchanged for plan in mine)
        return Counts(created, len(mine) - created - unchanged, unchanged)

    return ImportCheck(
        filename=found.filename,
        sha256=found.sha256,
        rows=len(found.rows),
        problems=tuple(sorted(problems, key=_place)),
        entities=counts(ENTITY_ROW),
        people=counts(PERSON_ROW),
    )


def _place(problem: RowProblem) -> tuple[int, int]:
    """Where a problem is: its line, then its column's place in the file."""
    column = COLUMNS.index(problem.column) if problem.column in COLUMNS else -1
    return problem.line, column


def directory_rows(p: Platform, actor: Actor) -> list[list[str]]:
    """Every entity and staff member as rows of an import file (the
    directory download, audited as ``export_directory``): editing it and
    importing it back changes only what was edited."""
    entities.require_admin(actor)
    rows: list[list[str]] = []
    with p.db.transaction() as s:
        for e in s.scalars(select(Entity).order_by(Entity.code)):
            snap = entities.snapshot(e)
            cells = {
                "tipo": ENTITY_ROW,
                "siglas": e.code,
                "nombre": snap["name"],
                "correo": snap["email"] or "",
                "sector": snap["sector"],
                "categorias": ", ".join(snap["categories"]),
            }
            rows.append([cells.get(c, "") for c in COLUMNS])
        staff = set(people.STAFF_ROLE_KEYS)
        for u in s.scalars(select(User).order_by(User.username)):
            snap = people.snapshot(u)
            if not staff.intersection(snap["roles"]):
                continue  # citizens' accounts are not the directory's
            cells = {
                "tipo": PERSON_ROW,
                "usuario": u.username,
                "nombre": snap["full_name"],
                "correo": snap["email"] or "",
                "roles": ", ".join(snap["roles"]),
                "entidad": "; ".join(snap["entities"]),
            }
            rows.append([cells.get(c, "") for c in COLUMNS])
        record(
            s,
            p.clock(),
            actor,
            "export_directory",
            {"rows": len(rows)},
        )
    return rows


#: The downloadable template's example rows (to be replaced by real ones).
TEMPLATE_ROWS = (
    {
        "tipo": ENTITY_ROW,
        "siglas": "EJEMPLO",
        "nombre": "Entidad de ejemplo (borre esta fila)",
        "correo": "atencion@ejemplo.gob.pa",
        "sector": "Salud",
        "categorias": "salud, agua",
    },
    {
        "tipo": PERSON_ROW,
        "usuario": "enlace.ejemplo",
        "nombre": "Persona de ejemplo (borre esta fila)",
        "correo": "enlace@ejemplo.gob.pa",
        "roles": "enlace",
        "entidad": "EJEMPLO",
    },
)


def template_rows() -> list[list[str]]:
    """The template's example rows, in :data:`COLUMNS` order."""
    return [[row.get(c, "") for c in COLUMNS] for row in TEMPLATE_ROWS]
