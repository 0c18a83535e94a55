"""Where attachments' bytes live: a small seam with the database as default.

An attachment's metadata is always an :class:`~engine.store.models.Attachment`
row; its bytes go to the store named by the ``ATTACHMENT_STORE`` setting,
under the attachment's id. The default, ``database``, keeps them in
``attachment_content``, written in the same transaction as the case's step:
every web process and worker sees them, and a case and its files commit (or
roll back) together. A deployment that wants object storage names a factory
instead (``ATTACHMENT_STORE = "mypackage.s3:make_store"``): a callable with
no arguments returning a :class:`FileStore`. Such a store writes outside the
database transaction, so a rolled-back step may leave an unreferenced object
behind (never a row without its bytes, as ``put`` runs before the commit).
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.store.db import hold_row
from engine.store.models import AttachmentContent

DATABASE = "database"

_CONTENT = select(AttachmentContent.content).where(
    AttachmentContent.attachment_id == bindparam("attachment_id")
)


class FileStore(Protocol):
    """Keeps attachments' bytes by attachment id."""

    #: Stored on each attachment row, so a later change of store is visible.
    name: str

    def put(self, s: Session, case: Any, attachment_id: str, content: bytes) -> None:
        """Keep ``content`` for ``attachment_id`` of ``case`` (in ``s``'s work)."""

    def get(self, s: Session, attachment_id: str) -> bytes | None:
        """The bytes kept for ``attachment_id``, or None if there are none."""


class DatabaseStore:
    """Bytes in ``attachment_content``, written with the step's other rows."""

    name = DATABASE

    def put(self, s: Session, case: Any, attachment_id: str, content: bytes) -> None:
        """Hold the row; it is written with the step (see ``hold_row``)."""
        hold_row(
            s,
            AttachmentContent,
            {"attachment_id": attachment_id, "content": content},
            case,
        )

    def get(self, s: Session, attachment_id: str) -> bytes | None:
        """Read the bytes in ``s``."""
        content = (
            s.connection()
            .execute(_CONTENT, {"attachment_id": attachment_id})
            .scalar_one_or_none()
        )
        return None if content is None else bytes(content)


def make_store(spec: str) -> FileStore:
    """The store named by ``spec``: ``database``, or ``module:factory``."""
    if spec == DATABASE:
        return DatabaseStore()
    module_name, sep, factory_name = spec.partition(":")
    if not sep or not module_name or not factory_name:
        raise ValueError(
            f"ATTACHMENT_STORE must be 'database' or 'module:factory', not {spec!r}"
        )
    factory = getattr(importlib.import_module(module_name), factory_name)
    store: FileStore = factory()
    return store
