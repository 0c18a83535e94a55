"""Designer services: deploy versions, list them, read their files, and show
where a case stands in its own diagram."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine import runtime
from engine.errors import N_, BundleInvalid, NotAllowed, NotFound, Problem
from engine.models import AuditLog, ProcessVersion, WorkflowState
from engine.platform import Platform
from engine.services import _parsed, _version_info, deploy_version, visible_case
from engine.views import Actor, VersionInfo

DESIGN_ROLES = ("disenador", "admin")


@dataclass(frozen=True)
class Deployed:
    """A successful deploy: the new version and any warnings found."""

    version: VersionInfo
    warnings: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class CaseTypeVersions:
    """A case type with its versions, newest first."""

    key: str
    title: str
    versions: list[VersionInfo]


@dataclass(frozen=True)
class CaseDiagram:
    """A case's own diagram with its completed and current steps."""

    number: str
    version: int
    bpmn: str
    completed: list[str]
    current: list[str]


def _require_designer(actor: Actor) -> None:
    """Only designers and admins change process definitions."""
    if not actor.has(*DESIGN_ROLES):
        raise NotAllowed(N_("Solo los diseñadores de procesos pueden hacer esto."))


def audit(p: Platform, actor: str, action: str, detail: dict[str, Any]) -> None:
    """Append one administrative audit record (its own transaction)."""
    with p.db.transaction() as s:
        s.add(AuditLog(at=p.clock(), actor=actor, action=action, detail=detail))


def deploy(p: Platform, actor: Actor, files: dict[str, str], note: str) -> Deployed:
    """Validate and deploy a bundle as the next version; audited either way.

    With any error nothing is deployed and :class:`BundleInvalid` lists every
    problem; warnings do not block the deploy and come back with it.
    """
    _require_designer(actor)
    try:
        info = deploy_version(p, files, deployed_by=actor.username, note=note.strip())
    except BundleInvalid as exc:
        audit(
            p,
            actor.username,
            "deploy_refused",
            {
                "files": sorted(files),
                "problems": [
                    {"file": pr.file, "element": pr.element, "severity": pr.severity}
                    for pr in exc.problems
                ],
            },
        )
        raise
    parsed = p.specs.get(info.content_hash, lambda: files)
    warnings = list(getattr(parsed, "warnings", []))
    audit(
        p,
        actor.username,
        "deploy",
        {
            "case_type": info.case_type,
            "version": info.version,
            "files": sorted(files),
            "warnings": len(warnings),
        },
    )
    return Deployed(info, warnings)


def list_case_type_versions(p: Platform, actor: Actor) -> list[CaseTypeVersions]:
    """Every case type with all its versions (designers)."""
    _require_designer(actor)
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
        grouped.setdefault(row.case_type, []).append(_version_info(row))
        titles.setdefault(row.case_type, row.title)
    return [CaseTypeVersions(k, titles[k], v) for k, v in grouped.items()]


def version_files(
    p: Platform, actor: Actor, case_type: str, version: int | None = None
) -> tuple[VersionInfo, dict[str, str]]:
    """The files of a version (the newest when ``version`` is None)."""
    _require_designer(actor)
    with p.db.read() as s:
        query = select(ProcessVersion).where(ProcessVersion.case_type == case_type)
        if version is not None:
            query = query.where(ProcessVersion.version == version)
        row = s.scalars(query.order_by(ProcessVersion.version.desc()).limit(1)).first()
        if row is None:
            raise NotFound(N_("No existe esa versión."))
        return _version_info(row), {k: str(v) for k, v in dict(row.files).items()}


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
        parsed = _parsed(p, version)
        files = {k: str(v) for k, v in dict(version.files).items()}
        workflow = runtime.load_state(parsed, state.state, state.format_version)
    _, bpmn = main_diagram(files, case.case_type)
    completed, current = runtime.element_states(workflow)
    return CaseDiagram(case.number, version.version, bpmn, completed, current)
