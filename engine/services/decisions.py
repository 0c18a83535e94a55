"""Decision tables in the designer's browser: open one, check it, save it.

A designer opens a ``.dmn`` file (the routing table ``enrutamiento.dmn``,
the deadline table ``plazos.dmn``) of any version of a case type, edits its
rows, and saves: the new bundle is the newest version's files with that
table replaced, deployed through the one deploy path
(:func:`engine.services.versions.deploy`: validated, designers only,
audited with source ``web``). Running cases keep the version they started
on; new cases use the new table.

What the editor offers comes from the database: active entity codes, the
categories entities answer and the intake form lists, and the case types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.domain.errors import (
    N_,
    BundleInvalid,
    Conflict,
    NotFound,
    Problem,
)
from engine.domain.views import Actor, VersionInfo
from engine.services import categories, design
from engine.services.common import latest_versions, parsed_version, require_designer
from engine.services.platform import Platform
from engine.services.versions import Deployed, check_bundle, deploy
from engine.store.models import Entity, ProcessVersion

#: The intake form field whose values the routing table reads.
CATEGORY_FIELD = "categoria"


@dataclass(frozen=True)
class Suggestion:
    """A value a cell may hold: the cell's text (``"CSS"``) and what it is."""

    value: str
    label: str


@dataclass(frozen=True)
class DecisionTable:
    """A decision table file of a version, ready for the editor.

    ``newest`` is the version a save builds on; ``problems`` are the
    table's errors and warnings (checked as part of the bundle it would
    make); the suggestions are what the database knows.
    """

    version: VersionInfo
    newest: int
    name: str
    xml: str
    tables: list[str]
    problems: list[Problem] = field(default_factory=list)
    entities: list[Suggestion] = field(default_factory=list)
    categories: list[Suggestion] = field(default_factory=list)
    case_types: list[Suggestion] = field(default_factory=list)


def _quoted(value: str) -> str:
    """A string as a cell literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def open_decision_table(
    p: Platform,
    actor: Actor,
    case_type: str,
    version: int,
    name: str,
    xml: str | None = None,
) -> DecisionTable:
    """A ``.dmn`` file of a version with its problems and suggestions.

    ``xml`` is the designer's edited table (after a refused save, or to
    check it); the stored file otherwise. Its problems are those of the
    bundle a save would deploy: errors anywhere, warnings of this table.
    """
    require_designer(actor)
    info, files = design.version_files(p, actor, case_type, version)
    if not name.endswith(".dmn") or name not in files:
        raise NotFound(N_("La versión no tiene esa tabla de decisión."))
    newest, newest_files = design.version_files(p, actor, case_type)
    text = files[name] if xml is None else xml
    return DecisionTable(
        version=info,
        newest=newest.version,
        name=name,
        xml=text,
        tables=sorted(n for n in files if n.endswith(".dmn")),
        problems=table_problems(p, {**newest_files, name: text}, name),
        entities=_entities(p),
        categories=_categories(p, case_type),
        case_types=_case_types(p),
    )


def table_problems(p: Platform, files: dict[str, str], name: str) -> list[Problem]:
    """The problems a deploy of ``files`` would report about table ``name``.

    Every error (any one refuses the deploy), and the warnings about this
    table: its own and where its routing sends categories.
    """
    try:
        _, _, warnings = check_bundle(files)
    except BundleInvalid as exc:
        found = list(exc.problems)
    else:
        found = warnings + categories.routing_warnings(p, files)
    return [pr for pr in found if pr.severity == "error" or pr.file == name]


def save_decision_table(
    p: Platform,
    actor: Actor,
    case_type: str,
    name: str,
    xml: str,
    note: str,
    *,
    base_version: int,
) -> Deployed:
    """Deploy the newest version with table ``name`` replaced by ``xml``.

    ``base_version`` is the newest version when the editor opened: if
    somebody deployed since, :class:`Conflict` says who (nothing stored).
    Through :func:`engine.services.versions.deploy`: :class:`BundleInvalid`
    lists every problem; the warnings come back with the new version.
    """
    require_designer(actor)
    newest, files = design.version_files(p, actor, case_type)
    if not name.endswith(".dmn") or name not in files:
        raise NotFound(N_("La versión no tiene esa tabla de decisión."))
    if newest.version != base_version:
        raise Conflict(
            N_(
                "%(who)s desplegó la versión %(version)s mientras usted editaba. "
                "Su tabla sigue aquí; si guarda otra vez, reemplazará la de esa "
                "versión."
            ),
            who=newest.deployed_by,
            version=newest.version,
        )
    return deploy(p, actor, {**files, name: xml}, note, source="web")


def _entities(p: Platform) -> list[Suggestion]:
    """Active entities, by code."""
    with p.db.read() as s:
        rows = s.execute(
            select(Entity.code, Entity.name)
            .where(Entity.active.is_(True))
            .order_by(Entity.code)
        ).all()
    return [Suggestion(_quoted(code), name) for code, name in rows]


def _categories(p: Platform, case_type: str) -> list[Suggestion]:
    """Categories: the newest intake form's choices (with their labels),
    then the ones entities answer that the form does not list."""
    with p.db.read() as s:
        row = s.scalars(
            select(ProcessVersion)
            .where(ProcessVersion.case_type == case_type)
            .order_by(ProcessVersion.version.desc())
            .limit(1)
        ).first()
        parsed = parsed_version(p, row) if row is not None else None
    labels = _form_choices(parsed.form(parsed.start_form)) if parsed else {}
    for key in categories.category_entities(p):
        labels.setdefault(key, "")
    return [Suggestion(_quoted(key), label) for key, label in labels.items()]


def _form_choices(schema: dict[str, Any]) -> dict[str, str]:
    """The ``categoria`` field's choices and labels of an intake form."""
    prop = schema.get("properties", {}).get(CATEGORY_FIELD, {})
    values = prop.get("enum", [])
    labels = prop.get("x-enum-labels", [])
    return {
        str(v): str(labels[i]) if i < len(labels) else ""
        for i, v in enumerate(values)
        if isinstance(v, str)
    }


def _case_types(p: Platform) -> list[Suggestion]:
    """The case types (the deadline table's input)."""
    with p.db.read() as s:
        rows: list[ProcessVersion] = latest_versions(s)
        return [Suggestion(_quoted(r.case_type), r.title) for r in rows]
