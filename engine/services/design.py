"""Designer services: deploy versions, list them, read their files, and show
where a case stands in its own diagram."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select

from engine.bundles import changes as bundle_changes
from engine.bundles import read_files
from engine.bundles.registry import safe_xml_parser
from engine.domain.design import DiagramElements
from engine.domain.errors import (
    N_,
    Message,
    NotFound,
)
from engine.domain.views import Actor, VersionInfo
from engine.services.common import (
    parsed_version,
    require_designer,
    version_info,
    visible_case,
)
from engine.services.platform import Platform

# The one deploy path (web, command line, seed) lives with the versions; the
# designer's pages reach it as ``design.deploy``.
from engine.services.versions import Deployed as Deployed
from engine.services.versions import deploy as deploy
from engine.store.models import ProcessVersion, WorkflowState
from engine.workflow import runtime


@dataclass(frozen=True)
class CaseTypeVersions:
    """A case type with its versions, newest first."""

    key: str
    title: str
    versions: list[VersionInfo]


@dataclass(frozen=True)
class CaseDiagram:
    """A case's own diagram with its completed and current steps.

    ``completed`` and ``current`` are the element ids as the workflow reports
    them. ``done``, ``active`` and ``waiting`` are what the case page marks:
    a step active again (a loop) is active, not done, and timers or other
    boundary events armed on the current activity are waiting, apart, so
    the current step stands out.
    """

    number: str
    version: int
    bpmn: str
    completed: list[str]
    current: list[str]
    done: DiagramElements = field(default_factory=DiagramElements)
    active: DiagramElements = field(default_factory=DiagramElements)
    waiting: DiagramElements = field(default_factory=DiagramElements)


def list_case_type_versions(p: Platform, actor: Actor) -> list[CaseTypeVersions]:
    """Every case type with all its versions (designers)."""
    require_designer(actor)
    with p.db.read() as s:
        rows = list(
            s.scalars(
                select(ProcessVersion).order_by(
                    ProcessVersion.case_type, ProcessVersion.version.desc()
                )
            )
        )
    grouped: dict[str, list[VersionInfo]] = {}
    titles: dict[str, str] = {}
    for row in rows:
        grouped.setdefault(row.case_type, []).append(version_info(row))
        titles.setdefault(row.case_type, row.title)
    return [CaseTypeVersions(k, titles[k], v) for k, v in grouped.items()]


def version_files(
    p: Platform, actor: Actor, case_type: str, version: int | None = None
) -> tuple[VersionInfo, dict[str, str]]:
    """The files of a version (the newest when ``version`` is None)."""
    require_designer(actor)
    with p.db.read() as s:
        query = select(ProcessVersion).where(ProcessVersion.case_type == case_type)
        if version is not None:
            query = query.where(ProcessVersion.version == version)
        row = s.scalars(query.order_by(ProcessVersion.version.desc()).limit(1)).first()
        if row is None:
            raise NotFound(N_("No existe esa versión."))
        return version_info(row), {k: str(v) for k, v in dict(row.files).items()}


def main_diagram(files: dict[str, str], case_type: str) -> tuple[str, str]:
    """(file name, text) of the bundle's diagram holding the case type's process."""
    for name, text in sorted(files.items()):
        if name.endswith(".bpmn") and f'id="{case_type}"' in text:
            return name, text
    for name, text in sorted(files.items()):
        if name.endswith(".bpmn"):
            return name, text
    raise NotFound(N_("La versión no tiene diagrama."))


def case_diagram(p: Platform, actor: Actor, number: str) -> CaseDiagram:
    """The case's version diagram with its completed and current elements."""
    with p.db.read() as s:
        case = visible_case(s, actor, number)
        version = s.get(ProcessVersion, case.process_version_id)
        state = s.get(WorkflowState, case.id)
        assert version is not None and state is not None
        parsed = parsed_version(p, version)
        files = {k: str(v) for k, v in dict(version.files).items()}
        workflow = runtime.load_state(parsed, state.state, state.format_version)
    _, bpmn = main_diagram(files, case.case_type)
    completed, current = runtime.element_states(workflow)
    elements = _elements(bpmn)
    names = {i: name for i, (_, name) in elements.items() if name}
    waiting = [i for i in current if elements.get(i, ("", ""))[0] == "boundaryEvent"]
    active = [i for i in current if i not in waiting]
    done = [i for i in completed if i not in current]
    return CaseDiagram(
        case.number,
        version.version,
        bpmn,
        completed,
        current,
        # Unnamed completed elements (gateways, flows) are left out of the
        # text; current ones are always listed, by id when unnamed.
        done=DiagramElements(done, [names[i] for i in done if i in names]),
        active=DiagramElements(active, [names.get(i, i) for i in active]),
        waiting=DiagramElements(waiting, [names.get(i, i) for i in waiting]),
    )


def _elements(bpmn: str) -> dict[str, tuple[str, str]]:
    """Element id → (kind, name) in a diagram, read with an XXE-safe parser.

    A diagram that does not parse gives no names rather than an error: the
    page still shows the case, with the ids.
    """
    try:
        root = etree.fromstring(bpmn.encode(), safe_xml_parser())
    except (etree.XMLSyntaxError, ValueError):
        return {}
    return {
        str(el.get("id")): (etree.QName(el).localname, str(el.get("name") or ""))
        for el in root.iter()
        if isinstance(el.tag, str) and el.get("id")
    }


# --------------------------------------------------------------------------
# What changed, and moving running cases to a newer version


def version_changes(
    p: Platform, actor: Actor, case_type: str
) -> dict[int, list[Message]]:
    """Per version of a case type, what changed from the version before it."""
    require_designer(actor)
    changes: dict[int, list[Message]] = {}
    previous = None
    with p.db.read() as s:
        rows = list(
            s.scalars(
                select(ProcessVersion)
                .where(ProcessVersion.case_type == case_type)
                .order_by(ProcessVersion.version)
            )
        )
        for row in rows:
            parsed = parsed_version(p, row)
            changes[row.version] = bundle_changes.describe(
                bundle_changes.summarize(previous, parsed)
            )
            previous = parsed
    return changes


def read_upload(uploads: list[tuple[str, bytes]]) -> dict[str, str]:
    """The bundle files of a browser upload (several files, or one ``.zip``).

    The web layer reaches bundles only through services; raises
    :class:`BundleInvalid` listing every problem with the upload.
    """
    return read_files(uploads)
