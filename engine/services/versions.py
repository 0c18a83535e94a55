"""Process versions: the one deploy path, the seed, listing versions.

Every deploy -- the designer's upload, modeler and form editor, ``flask
deploy`` and the seed -- goes through :func:`deploy`: validated, checked
against the actor's roles and written to the audit log with its source.
:func:`deploy_version` is its storage step.

A version is deployed as a draft or published. Drafts are seen by
designers only and run practice cases (:mod:`engine.services.practice`);
the newest *published* version of a case type serves every new case.
Publishing and discarding drafts: :mod:`engine.services.drafts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.bundles.registry import (
    bundle_from_path,
    content_hash,
    parse_bundle,
    seed_bundles,
)
from engine.bundles.scenario_files import is_scenario_file
from engine.domain.enums import Role, VersionStatus
from engine.domain.errors import (
    N_,
    BundleInvalid,
    Conflict,
    NotAllowed,
    NotFound,
    Problem,
)
from engine.domain.views import (
    Actor,
    CaseTypeInfo,
    VersionInfo,
)
from engine.services import categories, scenario_runs
from engine.services.accounts import actor_from_user
from engine.services.common import (
    DESIGN_ROLES,
    latest_versions,
    parsed_version,
    version_info,
)
from engine.services.platform import Platform
from engine.store.accounts import AuditLog, User, UserRole
from engine.store.models import ProcessVersion

__all__ = ["DESIGN_ROLES"]

#: Where a deploy came from, as recorded in the audit log: the designer's
#: pages, ``flask deploy``, or the seed definitions.
DeploySource = Literal["web", "cli", "seed"]

#: The actor the seed deploys as: no user row, the admin role, so the seed
#: passes the same role check and audit as everyone else.
SYSTEM = Actor(id=0, username="sistema", name="Sistema", roles=frozenset({Role.ADMIN}))


@dataclass(frozen=True)
class Deployed:
    """A successful deploy: the new version and any warnings found.

    ``needs_confirmation``: it was meant to be published but is a new case
    type, so it was kept as a draft until the designer confirms its public
    title and intake form (:func:`publish` with ``confirm_new``).
    """

    version: VersionInfo
    warnings: list[Problem] = field(default_factory=list)
    needs_confirmation: bool = False


def audit(p: Platform, actor: str, action: str, detail: dict[str, Any]) -> None:
    """Append one administrative audit record (its own transaction)."""
    with p.db.transaction() as s:
        s.add(AuditLog(at=p.clock(), actor=actor, action=action, detail=detail))


def deploy(
    p: Platform,
    actor: Actor,
    files: dict[str, str],
    note: str,
    *,
    source: DeploySource = "web",
    draft: bool = False,
    confirm_new: bool = False,
) -> Deployed:
    """Validate and deploy a bundle as the next version; audited either way.

    Only designers and admins deploy (:class:`NotAllowed` otherwise). With any
    error nothing is deployed and :class:`BundleInvalid` lists every problem;
    warnings do not block the deploy and come back with it: the bundle's
    own, and where its routing table sends categories to entities unknown,
    inactive or not answering them (:func:`categories.routing_warnings`).
    The audit record names the actor and ``source`` (``web``, ``cli`` or
    ``seed``). The bundle's process tests run first
    (:func:`scenario_runs.require_passing`): a failing one refuses it.

    ``draft`` stores a draft: no new case uses it. Otherwise the version is
    published at once -- unless its case type has no published version yet
    and ``confirm_new`` is false: then it stays a draft and the result says
    it ``needs_confirmation`` (citizens would see a new case type at once).
    """
    if not actor.has(*DESIGN_ROLES):
        raise NotAllowed(N_("Solo los diseñadores de procesos pueden hacer esto."))
    routing = categories.routing_warnings(p, files)
    detail = {
        "source": source,
        "files": sorted(files),
        "routing_warnings": len(routing),
    }
    try:
        scenario_runs.require_passing(files, specs=p.specs)
        info = deploy_version(
            p,
            files,
            deployed_by=actor.username,
            note=note.strip(),
            audit=detail,
            draft=draft,
            confirm_new=confirm_new,
        )
    except BundleInvalid as exc:
        audit(
            p,
            actor.username,
            "deploy_refused",
            {
                "source": source,
                "files": sorted(files),
                "problems": [
                    {"file": pr.file, "element": pr.element, "severity": pr.severity}
                    for pr in exc.problems
                ],
            },
        )
        raise
    parsed = p.specs.get(info.content_hash, lambda: files)
    return Deployed(
        info,
        [*parsed.warnings, *routing],
        needs_confirmation=info.is_draft and not draft,
    )


def deployer(p: Platform, username: str | None = None) -> Actor:
    """The user a command-line deploy acts as (default: the first admin).

    Raises :class:`NotFound` for an unknown or inactive user (or no active
    admin at all) and :class:`NotAllowed` for a user who is neither designer
    nor admin.
    """
    with p.db.read() as s:
        query = select(User).where(User.active.is_(True))
        if username is None:
            query = query.join(UserRole).where(UserRole.role_key == Role.ADMIN)
        else:
            query = query.where(User.username == username)
        user = s.scalars(query.order_by(User.id).limit(1)).first()
        if user is None and username is None:
            raise NotFound(
                N_("No hay ningún administrador activo: indique --by USUARIO.")
            )
        if user is None:
            raise NotFound(N_("No existe el usuario activo «%(user)s»."), user=username)
        actor = actor_from_user(user)
    if not actor.has(*DESIGN_ROLES):
        raise NotAllowed(
            N_("«%(user)s» no es diseñador ni administrador: no puede desplegar."),
            user=actor.username,
        )
    return actor


def read_bundle(
    path: Path | str, bpmn_root: Path | str, forms_root: Path | str
) -> dict[str, str]:
    """A bundle from a folder or a ``.zip``, with its forms and shared tables.

    See :func:`engine.bundles.registry.bundle_from_path`; ``bpmn_root`` and
    ``forms_root`` are the seed folders (``BPMN_DIR``, ``FORMS_DIR``).
    """
    return bundle_from_path(path, bpmn_root=bpmn_root, forms_root=forms_root)


def check_bundle(files: dict[str, str]) -> tuple[str, str, list[Problem]]:
    """Validate a bundle without storing it: (case type, title, warnings).

    Its process tests run too, in sandboxes of their own. Raises
    :class:`BundleInvalid` listing every problem (each failing scenario and
    step); needs no database.
    """
    parsed = parse_bundle(files)
    scenario_runs.require_passing(files, parsed=parsed)
    return parsed.case_type, parsed.title, list(parsed.warnings)


def scenario_count(files: dict[str, str]) -> int:
    """How many process tests (``tests/*.json``) a bundle carries."""
    return sum(1 for name in files if is_scenario_file(name))


def deploy_version(
    p: Platform,
    files: dict[str, str],
    *,
    deployed_by: str,
    note: str = "",
    audit: dict[str, Any] | None = None,
    draft: bool = False,
    confirm_new: bool = True,
) -> VersionInfo:
    """Validate a bundle and store it as the next version of its case type.

    The storage step of :func:`deploy`: this one checks no role. With
    ``audit`` (the deploy's source and files), a ``deploy`` audit record is
    written in the same transaction as the version. Raises :class:`BundleInvalid`
    (nothing stored) when any check fails. Two deploys at once both succeed
    with distinct version numbers: the unique (case type, version) constraint
    makes the loser retry with the next one. ``draft`` stores a draft; so
    does a first version of a case type unless ``confirm_new``.
    """
    # Parsed once per content: the deploy's process tests parsed it already.
    parsed = p.specs.get(content_hash(files), lambda: files)
    for _attempt in range(5):
        try:
            with p.db.transaction() as s:
                last = s.scalar(
                    select(func.max(ProcessVersion.version)).where(
                        ProcessVersion.case_type == parsed.case_type
                    )
                )
                publish = not draft and (
                    confirm_new or has_published(s, parsed.case_type)
                )
                now = p.clock()
                row = ProcessVersion(
                    case_type=parsed.case_type,
                    version=(last or 0) + 1,
                    title=parsed.title,
                    content_hash=parsed.content_hash,
                    files=dict(files),
                    deployed_by=deployed_by,
                    deployed_at=now,
                    note=note,
                    status=VersionStatus.PUBLISHED if publish else VersionStatus.DRAFT,
                    published_at=now if publish else None,
                    published_by=deployed_by if publish else None,
                    published_note=note if publish else "",
                )
                s.add(row)
                s.flush()
                info = version_info(row)
                if audit is not None:
                    s.add(
                        AuditLog(
                            at=p.clock(),
                            actor=deployed_by,
                            action="deploy",
                            detail={
                                **audit,
                                "case_type": info.case_type,
                                "version": info.version,
                                "status": info.status,
                                "warnings": len(parsed.warnings)
                                + int(audit.get("routing_warnings", 0)),
                            },
                        )
                    )
            p.specs.put(parsed)
            return info
        except IntegrityError:
            continue
    raise Conflict(N_("No se pudo asignar un número de versión; intente de nuevo."))


def deploy_seed(
    p: Platform,
    bpmn_root: Path | str,
    forms_root: Path | str,
    *,
    deployed_by: str = SYSTEM.username,
) -> list[VersionInfo]:
    """Deploy ``bpmn/<key>`` + ``forms/<key>`` as version 1 of new case types.

    Through :func:`deploy`, as the system actor (named ``deployed_by``) with
    source ``seed``; case types already deployed are left alone.
    """
    actor = Actor(
        id=SYSTEM.id, username=deployed_by, name=SYSTEM.name, roles=SYSTEM.roles
    )
    deployed = []
    with p.db.read() as s:
        known = set(s.scalars(select(ProcessVersion.case_type).distinct()))
    for key, files in seed_bundles(Path(bpmn_root), Path(forms_root)).items():
        if key in known:
            continue
        done = deploy(
            p,
            actor,
            files,
            "Versión inicial (semilla)",
            source="seed",
            confirm_new=True,
        )
        deployed.append(done.version)
    return deployed


def list_case_types(p: Platform, language: str | None = None) -> list[CaseTypeInfo]:
    """The case types on offer: the newest version of each.

    Titles and descriptions are in ``language`` where the bundle gives them
    (its messages, else its intake form's overlay), Spanish otherwise.
    """
    result = []
    with p.db.read() as s:
        for row in latest_versions(s):
            parsed = parsed_version(p, row)
            texts = parsed.in_language(language)
            intake = texts.form(parsed.start_form, parsed.form(parsed.start_form))
            result.append(
                CaseTypeInfo(
                    key=row.case_type,
                    title=texts.title or row.title,
                    description=texts.description or str(intake.get("description", "")),
                    version=row.version,
                )
            )
    return result


def list_versions(p: Platform, case_type: str | None = None) -> list[VersionInfo]:
    """Every deployed version, drafts too, newest first."""
    with p.db.read() as s:
        query = select(ProcessVersion).order_by(
            ProcessVersion.case_type, ProcessVersion.version.desc()
        )
        if case_type:
            query = query.where(ProcessVersion.case_type == case_type)
        return [version_info(r) for r in s.scalars(query)]


def has_published(s: Session, case_type: str) -> bool:
    """Whether ``case_type`` has a published version (it is on offer)."""
    found = s.scalar(
        select(ProcessVersion.id)
        .where(
            ProcessVersion.case_type == case_type,
            ProcessVersion.status == VersionStatus.PUBLISHED.value,
        )
        .limit(1)
    )
    return found is not None
