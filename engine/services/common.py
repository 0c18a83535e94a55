"""Helpers the service modules share: versions, forms' sources, access rules."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.bundles.registry import ParsedVersion
from engine.domain.enums import Role
from engine.domain.errors import (
    N_,
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
    ProcessVersion,
)
from engine.workflow.calendar import BusinessCalendar

PANAMA = ZoneInfo("America/Panama")


STAFF_ROLES = (Role.AGENT, Role.SUPERVISOR)


def latest_versions(s: Session) -> list[ProcessVersion]:
    """The newest version row of each case type."""
    newest = (
        select(ProcessVersion.case_type, func.max(ProcessVersion.version).label("v"))
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


def latest_version(s: Session, case_type: str) -> ProcessVersion:
    """The newest version of a case type, or NotFound."""
    row = s.scalars(
        select(ProcessVersion)
        .where(ProcessVersion.case_type == case_type)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(N_("No existe ese tipo de caso."))
    return row


def parsed_version(p: Platform, row: ProcessVersion) -> ParsedVersion:
    """The cached parsed spec of a version row (its files load on a miss)."""
    return p.specs.get(row.content_hash, lambda: dict(row.files))


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
    )


def sources_for(s: Session, schema: forms.Schema) -> dict[str, list[tuple[str, str]]]:
    """Choices for the ``x-source`` fields of ``schema``, from the database."""
    wanted = {spec.get("x-source") for spec in forms.fields(schema).values()}
    if "entidades" not in wanted:
        return {}
    entities = s.execute(
        select(Entity.code, Entity.name)
        .where(Entity.active.is_(True))
        .order_by(Entity.code)
    ).all()
    return {"entidades": [(code, f"{code} — {name}") for code, name in entities]}


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
    """Case type key → title of its newest version."""
    return {row.case_type: row.title for row in latest_versions(s)}


def may_do(actor: Actor, role: str, entity_code: str | None) -> bool:
    """Whether ``actor`` may work a task of ``role`` scoped to ``entity_code``."""
    if not actor.has(role):
        return False
    if role == Role.LIAISON:
        return actor.entity_code is not None and actor.entity_code == entity_code
    return True


def may_see_case(_s: Session, actor: Actor, case: Case) -> bool:
    """311 staff see every case; an enlace sees the cases of its entity."""
    if actor.has(*STAFF_ROLES):
        return True
    if actor.has(Role.LIAISON) and actor.entity_code:
        # Only the entity the case is assigned to now: a transfer ends the
        # former entity's access (and so its sight of the citizen's contact).
        return case.entity_code == actor.entity_code
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
