"""Attached files: checking, storing with a step, listing and downloading.

Files are checked by content (:mod:`engine.domain.attachments`) before the
step's transaction, so decoding an image holds no lock; they are stored in
that transaction (:func:`store_uploads`), metadata in ``attachment`` and
bytes in the configured file store, so a case and its files commit
together. Who may download what:

- staff who may see the case: every file of it, except sealed ones;
- a 311 supervisor: a sealed file (an identifying file of a reserved
  identity) after giving a reason, recorded like an identity unsealing;
- the citizen, through the tracking session: the case's public files (their
  own uploads, those of public notes), never internal or sealed ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine.domain import attachments as checks
from engine.domain import sealing
from engine.domain.enums import EventKind
from engine.domain.errors import (
    N_,
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
    ProcessFailed,
)
from engine.domain.views import Actor, AttachmentFile, AttachmentView, Upload
from engine.services.common import unsealing_reason, visible_case
from engine.services.events import add_event
from engine.services.platform import Platform
from engine.store.db import hold_row
from engine.store.models import Attachment, Case

#: Where a file came with (``attachment.source``).
INTAKE, TASK, CITIZEN_TASK, NOTE = "intake", "task", "citizen_task", "note"

_CASE_TOTAL = select(func.coalesce(func.sum(Attachment.size), 0)).where(
    Attachment.case_id == bindparam("case_id")
)
_OF_CASE = (
    select(Attachment)
    .where(Attachment.case_id == bindparam("case_id"))
    .order_by(Attachment.created_at, Attachment.id)
)


class Checked:
    """Uploads that passed the content checks, waiting for their step."""

    def __init__(self, files: list[tuple[Upload, checks.CheckedFile]]) -> None:
        """Keep each upload with what its check kept."""
        self.files = files

    def __bool__(self) -> bool:
        """True when there is something to store."""
        return bool(self.files)

    @property
    def size(self) -> int:
        """Bytes to store, all files together."""
        return sum(len(f.content) for _, f in self.files)


def check_uploads(
    p: Platform, uploads: Sequence[Upload], *, max_files: int | None = None
) -> Checked:
    """Check each upload by content; :class:`InvalidData` lists every refusal.

    Errors are keyed by the upload's form field, so the form shows them
    next to its file input and keeps what was typed. ``max_files`` is a
    lower count than ``limits.attachment_files`` for this step (intake).
    """
    limits = p.limits
    uploads = [u for u in uploads if u.filename or u.content]
    errors: dict[str, list[Message]] = {}
    most = min(limits.attachment_files, max_files or limits.attachment_files)
    if len(uploads) > most:
        field = uploads[0].field
        errors[field] = [
            Message(
                N_("Adjunte como máximo %(limit)s archivos a la vez."),
                {"limit": most},
            )
        ]
        raise InvalidData(errors)
    kept: list[tuple[Upload, checks.CheckedFile]] = []
    for upload in uploads:
        try:
            checked = checks.inspect(
                upload.filename,
                upload.content,
                max_bytes=limits.attachment_max_bytes,
                max_pixels=limits.attachment_max_pixels,
            )
        except checks.FileRefused as exc:
            errors.setdefault(upload.field, []).append(exc.message)
        else:
            kept.append((upload, checked))
    if errors:
        raise InvalidData(errors)
    result = Checked(kept)
    if result.size > limits.attachment_case_bytes:
        raise InvalidData({kept[0][0].field: [_case_full(p)]})
    return result


def _case_full(p: Platform) -> Message:
    """The message for files beyond a case's total."""
    return Message(
        N_("Los archivos de un caso no pueden pasar de %(limit)s en total."),
        {"limit": checks.size_text(p.limits.attachment_case_bytes)},
    )


def store_uploads(
    s: Session,
    p: Platform,
    case: Case,
    checked: Checked,
    *,
    actor: Actor | None,
    source: str,
    public: bool,
    now: datetime,
    task_id: str | None = None,
) -> list[dict[str, str]]:
    """Store checked files with the case's step; returns ``{id, name}`` each.

    The caller holds the case (locked, or new). The case's total is checked
    here, under that lock. Identifying files of a reserved identity are
    sealed: encrypted with the identity key and named generically.
    """
    if not checked:
        return []
    if case.id is not None:
        stored = s.connection().execute(_CASE_TOTAL, {"case_id": case.id}).scalar()
        if int(stored or 0) + checked.size > p.limits.attachment_case_bytes:
            raise InvalidData({checked.files[0][0].field: [_case_full(p)]})
    listed = []
    for upload, found in checked.files:
        sealed = bool(case.identity_reserved and upload.identifying)
        content, name = found.content, found.filename
        if sealed:
            if not p.identity_key:
                raise ProcessFailed(
                    N_("La reserva de identidad no está configurada (IDENTITY_KEY).")
                )
            content = sealing.seal_bytes(p.identity_key, content)
            name = checks.safe_name("adjunto-reservado", name.rsplit(".", 1)[-1])
        attachment_id = str(uuid.uuid4())
        hold_row(
            s,
            Attachment,
            {
                "id": attachment_id,
                "source": source,
                "task_id": task_id,
                "filename": name,
                "content_type": found.content_type,
                "size": len(found.content),
                "sha256": found.sha256,
                "store": p.files.name,
                "public": public,
                "identifying": upload.identifying,
                "sealed": sealed,
                "created_by_id": actor.id if actor else None,
                "created_by_label": actor.name if actor else "",
                "created_at": now,
            },
            case,
        )
        p.files.put(s, case, attachment_id, content)
        listed.append({"id": attachment_id, "name": name})
    return listed


def attachment_views(
    s: Session, case_id: int, *, citizen: bool = False
) -> list[AttachmentView]:
    """A case's files, oldest first; for the citizen only public, unsealed ones."""
    rows = s.scalars(_OF_CASE, {"case_id": case_id}).all()
    return [
        AttachmentView(
            id=a.id,
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            source=a.source,
            created_at=a.created_at,
            created_by="" if citizen else a.created_by_label,
            public=a.public,
            identifying=a.identifying,
            sealed=a.sealed,
        )
        for a in rows
        if not citizen or (a.public and not a.sealed)
    ]


def get_attachment(
    p: Platform, actor: Actor, number: str, attachment_id: str
) -> AttachmentFile:
    """A file of a case ``actor`` may see; sealed files need an unsealing."""
    with p.db.read() as s:
        case = visible_case(s, actor, number)
        row = attachment_of(s, case.id, attachment_id)
        if row.sealed:
            raise NotAllowed(
                N_(
                    "Este archivo identifica a quien presentó el caso y está "
                    "reservado: solo el supervisor del 311 puede abrirlo."
                )
            )
        return file_of(p, s, row, None)


def unseal_attachment(
    p: Platform, actor: Actor, number: str, attachment_id: str, reason: str
) -> AttachmentFile:
    """Open a sealed file: supervisors only, with a reason, audited.

    Recorded like an identity unsealing (an ``identity_unsealed`` event that
    only supervisors see, with the reason and the file's id).
    """
    reason = unsealing_reason(actor, reason)
    with p.db.transaction() as s:
        case = visible_case(s, actor, number)
        row = attachment_of(s, case.id, attachment_id)
        if not row.sealed:
            raise NotFound(N_("Este archivo no está reservado."))
        found = file_of(p, s, row, p.identity_key)
        add_event(
            s,
            case,
            p.clock(),
            EventKind.IDENTITY_UNSEALED,
            actor,
            N_("Archivo reservado consultado"),
            {"reason": reason[:1000], "attachment": row.id},
            public=False,
        )
    return found


def attachment_of(s: Session, case_id: int, attachment_id: str) -> Attachment:
    """The attachment ``attachment_id`` if it belongs to case ``case_id``."""
    row = s.get(Attachment, attachment_id[:36])
    if row is None or row.case_id != case_id:
        raise NotFound(N_("El archivo no existe."))
    return row


def file_of(p: Platform, s: Session, row: Attachment, key: Any) -> AttachmentFile:
    """The bytes of ``row`` from the store, opened with ``key`` if sealed."""
    content = p.files.get(s, row.id)
    if content is None:
        raise NotFound(N_("El archivo no existe."))
    if row.sealed:
        if not key:
            raise ProcessFailed(
                N_("La reserva de identidad no está configurada (IDENTITY_KEY).")
            )
        content = sealing.unseal_bytes(key, content)
    return AttachmentFile(
        filename=row.filename, content_type=row.content_type, content=content
    )
