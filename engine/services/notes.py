"""Staff notes on a case: internal (staff only) or public (the citizen sees them)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm.exc import StaleDataError

from engine.domain.enums import EventKind
from engine.domain.errors import (
    N_,
    Conflict,
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
)
from engine.domain.views import Actor, AddedNote, Upload
from engine.services import attachments
from engine.services.common import may_see_case
from engine.services.events import add_event
from engine.services.platform import Platform
from engine.store import search_index
from engine.store.db import save_changes
from engine.store.models import Case

#: Longest note, in characters.
MAX_NOTE_CHARS = 10000

_LOCK_CASE = select(Case).where(Case.number == bindparam("number")).with_for_update()


def add_note(
    p: Platform,
    actor: Actor,
    case_number: str,
    text: str,
    public: bool,
    files: Sequence[Upload] = (),
) -> AddedNote:
    """Add a note (and its files) to a case ``actor`` may see; one transaction.

    A ``note`` event carries the text and the files' ids; ``public`` puts it
    on the citizen's tracking timeline (and makes its files theirs to
    download), otherwise only staff see it. The text joins the case's search
    document. The case is locked and its version bumped, so a note and a
    concurrent step do not interleave.
    """
    if not actor.is_staff:
        raise NotAllowed(N_("Solo el personal que atiende el caso escribe notas."))
    text = text.strip()
    if not text:
        raise InvalidData({"nota": [Message(N_("Escriba el texto de la nota."))]})
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidData(
            {
                "nota": [
                    Message(
                        N_("La nota es demasiado larga (máximo %(n)s caracteres)."),
                        {"n": MAX_NOTE_CHARS},
                    )
                ]
            }
        )
    checked = attachments.check_uploads(p, files)
    try:
        with p.db.transaction() as s:
            case = s.scalars(_LOCK_CASE, {"number": case_number}).first()
            if case is None:
                raise NotFound(N_("El caso no existe."))
            if not may_see_case(s, actor, case):
                raise NotAllowed(N_("No tiene acceso a este caso."))
            now = p.clock()
            stored = attachments.store_uploads(
                s,
                p,
                case,
                checked,
                actor=actor,
                source=attachments.NOTE,
                public=public,
                now=now,
            )
            add_event(
                s,
                case,
                now,
                EventKind.NOTE,
                actor,
                N_("Nota pública") if public else N_("Nota interna"),
                {"text": text, "attachments": stored},
                public=public,
            )
            search_index.append_text(s, case, [text])
            case.updated_at = now
            save_changes(s, case)
    except StaleDataError:
        raise Conflict(
            N_("Otra persona modificó este caso al mismo tiempo. Vuelva a intentarlo.")
        ) from None
    return AddedNote(case_number=case_number, public=public, attachments=len(stored))
