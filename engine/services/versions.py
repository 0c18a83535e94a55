"""Process versions: deploy, seed, list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.bundles.registry import parse_bundle, seed_bundles
from engine.domain.errors import (
    N_,
    Conflict,
)
from engine.domain.views import (
    CaseTypeInfo,
    VersionInfo,
)
from engine.services.common import latest_versions, parsed_version, version_info
from engine.services.platform import Platform
from engine.store.models import (
    ProcessVersion,
)


def deploy_version(
    p: Platform, files: dict[str, str], *, deployed_by: str, note: str = ""
) -> VersionInfo:
    """Validate a bundle and store it as the next version of its case type.

    Raises :class:`BundleInvalid` (nothing stored) when any check fails. Two
    deploys at once both succeed with distinct version numbers: the unique
    (case type, version) constraint makes the loser retry with the next one.
    """
    parsed = parse_bundle(files)
    for _attempt in range(5):
        try:
            with p.db.transaction() as s:
                last = s.scalar(
                    select(func.max(ProcessVersion.version)).where(
                        ProcessVersion.case_type == parsed.case_type
                    )
                )
                row = ProcessVersion(
                    case_type=parsed.case_type,
                    version=(last or 0) + 1,
                    title=parsed.title,
                    content_hash=parsed.content_hash,
                    files=dict(files),
                    deployed_by=deployed_by,
                    deployed_at=p.clock(),
                    note=note,
                )
                s.add(row)
                s.flush()
                info = version_info(row)
            p.specs.put(parsed)
            return info
        except IntegrityError:
            continue
    raise Conflict(N_("No se pudo asignar un número de versión; intente de nuevo."))


def deploy_seed(
    p: Platform, bpmn_root: Any, forms_root: Any, *, deployed_by: str = "sistema"
) -> list[VersionInfo]:
    """Deploy ``bpmn/<key>`` + ``forms/<key>`` as version 1 of new case types."""
    deployed = []
    with p.db.read() as s:
        known = set(s.scalars(select(ProcessVersion.case_type).distinct()))
    for key, files in seed_bundles(bpmn_root, forms_root).items():
        if key in known:
            continue
        deployed.append(
            deploy_version(
                p, files, deployed_by=deployed_by, note="Versión inicial (semilla)"
            )
        )
    return deployed


def list_case_types(p: Platform) -> list[CaseTypeInfo]:
    """The case types on offer: the newest version of each."""
    result = []
    with p.db.read() as s:
        for row in latest_versions(s):
            parsed = parsed_version(p, row)
            intake = parsed.form(parsed.start_form)
            result.append(
                CaseTypeInfo(
                    key=row.case_type,
                    title=row.title,
                    description=str(intake.get("description", "")),
                    version=row.version,
                )
            )
    return result


def list_versions(p: Platform, case_type: str | None = None) -> list[VersionInfo]:
    """Every deployed version, newest first."""
    with p.db.read() as s:
        query = select(ProcessVersion).order_by(
            ProcessVersion.case_type, ProcessVersion.version.desc()
        )
        if case_type:
            query = query.where(ProcessVersion.case_type == case_type)
        return [version_info(r) for r in s.scalars(query)]
