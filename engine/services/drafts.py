"""Drafts: publishing them with a note, or discarding them.

A draft (deployed with ``draft``, :func:`engine.services.versions.deploy`)
serves no new case; designers try it in practice mode
(:mod:`engine.services.practice`). :func:`publish` makes it the version new
cases use, with a note; a case type that has no published version yet is
published only once the designer confirmed its public title and intake form
(:func:`publication` shows them). :func:`discard_draft` removes a draft and
its practice cases. Each change is one transaction with its audit record.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.domain.enums import VersionStatus
from engine.domain.errors import (
    N_,
    Conflict,
    InvalidData,
    Message,
    NotFound,
)
from engine.domain.views import Actor, FormView, VersionInfo
from engine.services import practice
from engine.services.common import (
    form_view,
    parsed_version,
    require_designer,
    sources_for,
    version_info,
)
from engine.services.platform import Platform
from engine.services.versions import has_published
from engine.store.accounts import AuditLog
from engine.store.models import ProcessVersion


@dataclass(frozen=True)
class Publication:
    """What publishing a draft shows first: for a new case type, the public
    title, the text above its intake form and the form itself."""

    version: VersionInfo
    new_type: bool
    title: str
    description: str
    intake: FormView


def _draft_row(s: Session, case_type: str, version: int) -> ProcessVersion:
    """The version row, which must be a draft (NotFound / Conflict)."""
    row = s.scalars(
        select(ProcessVersion)
        .where(ProcessVersion.case_type == case_type, ProcessVersion.version == version)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound(N_("No existe esa versión."))
    if row.status != VersionStatus.DRAFT:
        raise Conflict(
            N_("La versión %(version)s ya está publicada."), version=row.version
        )
    return row


def serving_version(p: Platform, case_type: str) -> int | None:
    """The number of the version serving new cases (None: drafts only)."""
    with p.db.read() as s:
        return s.scalar(
            select(func.max(ProcessVersion.version)).where(
                ProcessVersion.case_type == case_type,
                ProcessVersion.status == VersionStatus.PUBLISHED.value,
            )
        )


def publication(p: Platform, actor: Actor, case_type: str, version: int) -> Publication:
    """What the designer confirms before publishing a draft.

    For a new case type (no published version yet): the public title, the
    description above the intake form and the intake form as citizens will
    get it.
    """
    require_designer(actor)
    with p.db.read() as s:
        row = s.scalars(
            select(ProcessVersion).where(
                ProcessVersion.case_type == case_type,
                ProcessVersion.version == version,
            )
        ).first()
        if row is None:
            raise NotFound(N_("No existe esa versión."))
        parsed = parsed_version(p, row)
        schema = forms.without_staff_fields(parsed.form(parsed.start_form))
        intake = form_view(schema, sources_for(s, schema))
        return Publication(
            version=version_info(row),
            new_type=not has_published(s, case_type),
            title=row.title,
            description=str(schema.get("description", "")),
            intake=intake,
        )


def publish(
    p: Platform,
    actor: Actor,
    case_type: str,
    version: int,
    note: str,
    *,
    confirm_new: bool = False,
) -> VersionInfo:
    """Publish a draft with a note: from now on it serves new cases.

    The note is required. A case type's first publication needs
    ``confirm_new`` (the designer saw its public title and intake form). A
    draft older than the newest published version is refused: publishing
    it would serve nothing (deploy its files again instead). Audited as
    ``version_published`` in the same transaction.
    """
    require_designer(actor)
    note = note.strip()
    with p.db.transaction() as s:
        row = _draft_row(s, case_type, version)
        newest = s.scalar(
            select(func.max(ProcessVersion.version)).where(
                ProcessVersion.case_type == case_type,
                ProcessVersion.status == VersionStatus.PUBLISHED.value,
            )
        )
        errors: dict[str, list[Message]] = {}
        if not note:
            errors["nota"] = [Message(N_("Escriba una nota: qué cambia y por qué."))]
        if newest is None and not confirm_new:
            errors["confirmar"] = [
                Message(
                    N_(
                        "Es un tipo de caso nuevo: confirme su título público "
                        "y su formulario de entrada."
                    )
                )
            ]
        if errors:
            raise InvalidData(errors)
        if newest is not None and newest > row.version:
            raise Conflict(
                N_(
                    "La versión %(newest)s, más reciente, ya está publicada: "
                    "despliegue de nuevo este borrador para publicarlo."
                ),
                newest=newest,
            )
        now = p.clock()
        row.status = VersionStatus.PUBLISHED
        row.published_at = now
        row.published_by = actor.username
        row.published_note = note
        s.add(
            AuditLog(
                at=now,
                actor=actor.username,
                action="version_published",
                detail={
                    "case_type": case_type,
                    "version": version,
                    "note": note,
                    "new_type": newest is None,
                },
            )
        )
        s.flush()
        return version_info(row)


def discard_draft(p: Platform, actor: Actor, case_type: str, version: int) -> int:
    """Discard a draft, with its practice cases; returns how many cases went.

    Only a draft: a published version may have served real cases. Audited
    as ``draft_discarded`` (with its content hash and the cases deleted) in
    the same transaction.
    """
    require_designer(actor)
    with p.db.transaction() as s:
        row = _draft_row(s, case_type, version)
        numbers = practice.delete_cases(s, row.id)
        s.add(
            AuditLog(
                at=p.clock(),
                actor=actor.username,
                action="draft_discarded",
                detail={
                    "case_type": case_type,
                    "version": version,
                    "content_hash": row.content_hash,
                    "cases": numbers,
                },
            )
        )
        s.execute(delete(ProcessVersion).where(ProcessVersion.id == row.id))
    p.version_hashes.pop(row.id, None)
    return len(numbers)
