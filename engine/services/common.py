"""Helpers the service modules share: versions, forms' sources, access rules."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, false, func, select, true
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.bundles.registry import ParsedVersion
from engine.domain.enums import Role, VersionStatus
from engine.domain.errors import (
    N_,
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
)
from engine.domain.views import (
    Actor,
    FormView,
    VersionInfo,
)
from engine.services.platform import Platform
from engine.store.models import (
    Case,
    DayOff,
    Entity,
    HumanTask,
    ProcessVersion,
)
from engine.store.publishing import KbArticle
from engine.workflow.calendar import BusinessCalendar

PANAMA = ZoneInfo("America/Panama")


# Statements run on every filing or step, built once: building one costs
# more than running it on SQLite (SQLAlchemy caches each object's cache key).
_LATEST = (
    select(ProcessVersion.id, ProcessVersion.title, ProcessVersion.content_hash)
    .where(
        ProcessVersion.case_type == bindparam("case_type"),
        ProcessVersion.status == VersionStatus.PUBLISHED.value,
    )
    .order_by(ProcessVersion.version.desc())
    .limit(1)
)
_HASH_OF = select(ProcessVersion.content_hash).where(
    ProcessVersion.id == bindparam("version_id")
)
_FILES_OF = select(ProcessVersion.files).where(
    ProcessVersion.id == bindparam("version_id")
)
_ACTIVE_ENTITIES = (
    select(Entity.code, Entity.name)
    .where(Entity.active.is_(True))
    .order_by(Entity.code)
)


_PUBLISHED_ARTICLES = (
    select(KbArticle.id, KbArticle.title)
    .where(KbArticle.published.is_(True))
    .order_by(KbArticle.title, KbArticle.id)
)

#: The ids of the practice cases (few: a partial index holds them). Real
#: lists over other tables leave them out with ``case_id.not_in(...)``; over
#: ``case`` itself, with :data:`REAL_CASE`.
PRACTICE_CASE_IDS = select(Case.id).where(Case.practice == true())

#: The condition a real (not practice) case meets.
REAL_CASE = Case.practice == false()

#: The ``x-source`` of form fields offering the published knowledge-base
#: articles (value: the article's id; label: its title).
ARTICLES_SOURCE = "articulos"

ENTITY_NAMES = "c311_entity_names"  # Session.info: active entities read


class LatestVersion(NamedTuple):
    """What filing needs of a case type's newest version."""

    id: int
    title: str
    content_hash: str


STAFF_ROLES = (Role.AGENT, Role.SUPERVISOR)

#: Roles that may change process definitions, and the only ones that see and
#: work practice cases (acting there with every lane's role).
DESIGN_ROLES = (Role.DESIGNER, Role.ADMIN)


def require_designer(actor: Actor | None) -> Actor:
    """Only designers and admins see and change process definitions (and
    practice them): NotAllowed for anyone else."""
    if actor is None or not actor.has(*DESIGN_ROLES):
        raise NotAllowed(N_("Solo los diseñadores de procesos pueden hacer esto."))
    return actor


def latest_versions(s: Session) -> list[ProcessVersion]:
    """The newest published version row of each case type (drafts serve no
    new case; a case type with drafts only is not on offer)."""
    newest = (
        select(ProcessVersion.case_type, func.max(ProcessVersion.version).label("v"))
        .where(ProcessVersion.status == VersionStatus.PUBLISHED.value)
        .group_by(ProcessVersion.case_type)
        .subquery()
    )
    query = (
        select(ProcessVersion)
        .join(
            newest,
            (ProcessVersion.case_type == newest.c.case_type)
            & (ProcessVersion.version == newest.c.v),
        )
        .order_by(ProcessVersion.case_type)
    )
    return list(s.scalars(query))


def latest_version(s: Session, case_type: str) -> LatestVersion:
    """The id, title and content hash of a case type's newest published version.

    Asked on every filing, so a plain Core query (no ORM object): the
    version's files are read only when its spec is not cached yet.
    """
    row = s.connection().execute(_LATEST, {"case_type": case_type}).first()
    if row is None:
        raise NotFound(N_("No existe ese tipo de caso."))
    return LatestVersion(row.id, row.title, row.content_hash)


def version_by_id(s: Session, case_type: str, version_id: int) -> LatestVersion:
    """What filing needs of one version of ``case_type`` (drafts too), by id."""
    row = s.execute(
        select(
            ProcessVersion.id, ProcessVersion.title, ProcessVersion.content_hash
        ).where(ProcessVersion.id == version_id, ProcessVersion.case_type == case_type)
    ).first()
    if row is None:
        raise NotFound(N_("No existe esa versión."))
    return LatestVersion(row.id, row.title, row.content_hash)


def parsed_version(p: Platform, row: ProcessVersion) -> ParsedVersion:
    """The cached parsed spec of a version row (its files load on a miss)."""
    return p.specs.get(row.content_hash, lambda: dict(row.files))


def parsed_latest(p: Platform, s: Session, row: LatestVersion) -> ParsedVersion:
    """The cached parsed spec of the version :func:`latest_version` found."""
    return p.specs.get(row.content_hash, lambda: version_files(s, row.id))


def parsed_by_id(p: Platform, s: Session, version_id: int) -> ParsedVersion:
    """The cached parsed spec of the version with ``version_id``.

    A version never changes once deployed, so its content hash is
    remembered per process: a cached spec costs no query at all.
    """
    content_hash = p.version_hashes.get(version_id)
    if content_hash is None:
        content_hash = (
            s.connection().execute(_HASH_OF, {"version_id": version_id}).scalar_one()
        )
        p.version_hashes[version_id] = content_hash
    return p.specs.get(content_hash, lambda: version_files(s, version_id))


def version_files(s: Session, version_id: int) -> dict[str, str]:
    """The files of one version (read only to parse it)."""
    files = s.connection().execute(_FILES_OF, {"version_id": version_id}).scalar_one()
    return dict(files)


def version_info(row: ProcessVersion) -> VersionInfo:
    """A version row as plain data."""
    return VersionInfo(
        id=row.id,
        case_type=row.case_type,
        version=row.version,
        title=row.title,
        content_hash=row.content_hash,
        deployed_by=row.deployed_by,
        deployed_at=row.deployed_at,
        note=row.note,
        status=row.status,
        published_at=row.published_at,
        published_by=row.published_by,
        published_note=row.published_note or "",
    )


def sources_for(s: Session, schema: forms.Schema) -> dict[str, list[tuple[str, str]]]:
    """Choices for the ``x-source`` fields of ``schema``, from the database.

    ``entidades``: the active entities; ``articulos``: the published
    knowledge-base articles (by id, labelled with their titles).
    """
    wanted = {spec.get("x-source") for spec in forms.fields(schema).values()}
    found: dict[str, list[tuple[str, str]]] = {}
    if "entidades" in wanted:
        entities = s.connection().execute(_ACTIVE_ENTITIES).all()
        # The step that follows may name the entity it assigns: no second query.
        s.info[ENTITY_NAMES] = dict(entities)
        found["entidades"] = [(code, f"{code} — {name}") for code, name in entities]
    if ARTICLES_SOURCE in wanted:
        found[ARTICLES_SOURCE] = [
            (str(i), title) for i, title in s.connection().execute(_PUBLISHED_ARTICLES)
        ]
    return found


def public_note(
    schema: forms.Schema,
    data: Mapping[str, Any],
    sources: Mapping[str, list[tuple[str, str]]],
) -> dict[str, Any] | None:
    """The payload of a public note: the ``x-public`` fields submitted.

    Each field as the label the citizen reads (``x-public-title``, else its
    title) and its value; a choice from an ``x-source`` shows
    its label (an article's title, an entity's name), and the ids of linked
    knowledge-base articles are kept under ``articles`` so the citizen's
    tracking page can show them. None when nothing is public.
    """
    published = {
        name: value
        for name, value in forms.public_values(schema, data).items()
        if value is not None and value != ""
    }
    if not published:
        return None
    specs = forms.fields(schema)
    shown: list[dict[str, Any]] = []
    articles: list[str] = []
    for name, value in published.items():
        source = specs[name].get("x-source")
        if isinstance(source, str) and source in sources:
            if source == ARTICLES_SOURCE:
                articles.append(str(value))
            value = dict(sources[source]).get(str(value), value)
        shown.append({"label": forms.public_title(name, specs[name]), "value": value})
    note: dict[str, Any] = {"fields": shown}
    if articles:
        note["articles"] = articles
    return note


def form_view(schema: dict[str, Any], sources: Mapping[str, Any]) -> FormView:
    """A schema with the options of its ``x-source`` fields filled in."""
    options = {}
    for name, spec in forms.fields(schema).items():
        source = spec.get("x-source")
        if isinstance(source, str) and source in sources:
            options[name] = list(sources[source])
    return FormView(schema=schema, options=options)


def submitted_values(
    schema: dict[str, Any], raw: Mapping[str, list[str]]
) -> dict[str, Any]:
    """Typed data from a submitted form (each field's list of strings).

    Callers outside the engine (the web layer) reach the bundle's form rules
    only through services; see :func:`engine.bundles.forms.coerce`.
    """
    return forms.coerce(schema, raw)


def allowed_values(
    sources: Mapping[str, list[tuple[str, str]]],
) -> dict[str, list[str]]:
    """Allowed values per source, for validation."""
    return {key: [code for code, _ in values] for key, values in sources.items()}


def business_calendar(p: Platform, s: Session) -> BusinessCalendar:
    """The business calendar with the admins' days off (cached a minute)."""
    cached = p.calendar_cache
    if cached is not None and time.monotonic() - cached[0] < 60:
        calendar: BusinessCalendar = cached[1]
        return calendar
    days = list(s.scalars(select(DayOff.day)))
    calendar = BusinessCalendar(days)
    p.calendar_cache = (time.monotonic(), calendar)
    return calendar


def error_text(exc: BaseException) -> str:
    """A one-line description of a diagram failure for supervisors.

    Never fails itself: the exception may come from designer code, and its
    text (or its class) may be anything.
    """
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a message that cannot be rendered
        text = ""
    name = getattr(type(exc), "__name__", "Error")
    line = f"{name}: {text}"
    # SpiffWorkflow's task errors know the element that failed: name it, so
    # the supervisor and the designer know where to look.
    spec = getattr(exc, "task_spec", None)
    element = getattr(spec, "bpmn_id", None)
    if isinstance(element, str):
        label = getattr(spec, "bpmn_name", None) or element
        line = f"«{label}» ({element}): {text}"
    lines = line.splitlines() or [name]
    return lines[0][:1000]


def type_titles(s: Session) -> dict[str, str]:
    """Case type key → title of its newest published version."""
    return {row.case_type: row.title for row in latest_versions(s)}


def may_do(actor: Actor, role: str, entity_code: str | None) -> bool:
    """Whether ``actor`` may work a task of ``role`` scoped to ``entity_code``."""
    if not actor.has(role):
        return False
    if role == Role.LIAISON:
        return entity_code is not None and entity_code in actor.entity_codes
    return True


def may_work(
    actor: Actor, role: str, entity_code: str | None, *, practice: bool
) -> bool:
    """Whether ``actor`` may do a staff task of a case.

    On a real case: the task's role (and entity), never the citizen's lane.
    On a practice case only designers (and admins) work, with every lane's
    role, the citizen's too: they try the whole process.
    """
    if practice:
        return actor.has(*DESIGN_ROLES)
    return role != Role.CITIZEN and may_do(actor, role, entity_code)


def may_see_case(_s: Session, actor: Actor, case: Case) -> bool:
    """311 staff see every case; an enlace sees the cases of its entities.

    A practice case is the designers' alone.
    """
    if case.practice:
        return actor.has(*DESIGN_ROLES)
    if actor.has(*STAFF_ROLES):
        return True
    if actor.has(Role.LIAISON) and case.entity_code is not None:
        # Only the entity the case is assigned to now: a transfer ends the
        # former entity's access (and so its sight of the citizen's contact).
        return case.entity_code in actor.entity_codes
    return False


def visible_case(s: Session, actor: Actor, number: str) -> Case:
    """The case with this number if ``actor`` may see it (NotFound/NotAllowed)."""
    case = s.scalars(select(Case).where(Case.number == number)).first()
    if case is None:
        raise NotFound(N_("El caso no existe."))
    if not may_see_case(s, actor, case):
        raise NotAllowed(N_("No tiene acceso a este caso."))
    return case


def is_data_error(exc: DBAPIError) -> bool:
    """Whether the database refused this case's data (not an outage)."""
    return isinstance(exc, (DataError, IntegrityError))


#: Shortest reason accepted for opening a sealed identity or file.
MIN_UNSEALING_REASON = 10


def unsealing_reason(actor: Actor, reason: str) -> str:
    """The reason given for opening something sealed, once checked.

    Only 311 supervisors open reserved identities and the files sealed with
    them, and always saying why (recorded in the audit trail).
    """
    if Role.SUPERVISOR not in actor.roles:
        raise NotAllowed(
            N_("Solo el supervisor del 311 puede ver una identidad reservada.")
        )
    reason = reason.strip()
    if len(reason) < MIN_UNSEALING_REASON:
        raise InvalidData(
            {
                "motivo": [
                    Message(
                        N_("Explique el motivo (al menos %(limit)s caracteres)."),
                        {"limit": MIN_UNSEALING_REASON},
                    )
                ]
            }
        )
    return reason


# A task's case id (bind ``task_id``), and a task as a plain row: the
# statements that lock a task's case start from these (built once).
CASE_OF_TASK = (
    select(HumanTask.case_id)
    .where(HumanTask.id == bindparam("task_id"))
    .scalar_subquery()
)
TASK_ROW = select(HumanTask.__table__).where(HumanTask.id == bindparam("task_id"))
