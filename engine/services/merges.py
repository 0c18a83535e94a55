"""Merging duplicates under one parent, and separating them again.

Merging leaves each duplicate's workflow where it was: the duplicate is
closed (``parent_id`` set, public status "Unido al caso …"), its pending
tasks are cancelled and its timer put away, and what it was is kept on its
``merged`` event, so that separating it restores exactly that and its
diagram goes on from the same step. No case type needs anything in its
diagram for this. The parent's progress reaches the duplicates' citizens
(:func:`engine.services.notify.status_changed`); finding likely duplicates
is :mod:`engine.services.duplicates`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.domain.duplicates import Merged
from engine.domain.enums import CaseStatus, EventKind, TaskState
from engine.domain.errors import (
    N_,
    Conflict,
    InvalidData,
    Message,
    NotFound,
)
from engine.domain.views import Actor
from engine.services import notify
from engine.services.common import parsed_by_id
from engine.services.duplicates import check_merger
from engine.services.events import add_event
from engine.services.platform import Platform
from engine.store.accounts import AuditLog
from engine.store.db import save_changes
from engine.store.models import Case, CaseEvent, HumanTask

#: Duplicates merged at once.
MERGE_LIMIT = 20
#: Longest note to the duplicates' citizens, and shortest reason to separate.
MAX_NOTE_CHARS = 2000
MIN_REASON_CHARS = 10


def merge_cases(
    p: Platform,
    actor: Actor,
    parent_number: str,
    child_numbers: Iterable[str],
    note: str = "",
) -> Merged:
    """Merge duplicates under ``parent_number``: all of them, or none.

    Every case involved is locked, in id order (two merges never deadlock).
    Each duplicate closes with a public ``merged`` event pointing at the
    parent (with ``note`` for its citizen, who is told by mail), its pending
    tasks cancelled and its timer put away; the parent records each one
    (internal) and counts them. Audited.
    """
    check_merger(actor)
    wanted = [
        n.strip().upper() for n in dict.fromkeys(child_numbers) if n and n.strip()
    ]
    wanted = [n for n in dict.fromkeys(wanted) if n != parent_number]
    if not wanted:
        raise _invalid("duplicados", N_("Elija al menos un caso para unir."))
    if len(wanted) > MERGE_LIMIT:
        raise _invalid(
            "duplicados", N_("Se unen como máximo %(n)s casos a la vez."), n=MERGE_LIMIT
        )
    note = _checked_note(note)
    try:
        with p.db.transaction() as s:
            cases = _locked(s, [parent_number, *wanted])
            parent = cases[parent_number]
            _check_parent(parent)
            now = p.clock()
            for number in wanted:
                child = cases[number]
                _check_child(child)
                _merge_one(s, p, actor, parent, child, note, now)
            parent.merged_children += len(wanted)
            parent.updated_at = now
            save_changes(s, parent)
            s.add(
                AuditLog(
                    at=now,
                    actor=actor.username,
                    action=str(EventKind.MERGED),
                    detail={"parent": parent.number, "children": wanted, "note": note},
                )
            )
    except StaleDataError:
        raise _race() from None
    return Merged(parent=parent_number, children=wanted)


def _checked_note(note: str) -> str:
    """The note to the duplicates' citizens, stripped and within bounds."""
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise _invalid(
            "nota",
            N_("La nota es demasiado larga (máximo %(n)s caracteres)."),
            n=MAX_NOTE_CHARS,
        )
    return note


def _invalid(field: str, text: str, **params: object) -> InvalidData:
    """One message under one field of the merge or separation form."""
    return InvalidData({field: [Message(text, params)]})


def _locked(s: Session, numbers: list[str]) -> dict[str, Case]:
    """The cases with these numbers, locked in id order; NotFound names any
    number that is not a case."""
    found = {
        c.number: c
        for c in s.scalars(
            select(Case)
            .where(Case.number.in_(numbers))
            .order_by(Case.id)
            .with_for_update()
        )
    }
    for number in numbers:
        if number not in found:
            raise NotFound(N_("El caso %(number)s no existe."), number=number)
    return found


def _check_parent(parent: Case) -> None:
    """A parent is an open case that is not itself merged."""
    if parent.parent_id is not None:
        raise Conflict(
            N_("El caso %(number)s ya está unido a otro: elija ese como principal."),
            number=parent.number,
        )
    if parent.status != CaseStatus.OPEN:
        raise Conflict(
            N_("El caso principal %(number)s ya está cerrado."), number=parent.number
        )


def _check_child(child: Case) -> None:
    """A duplicate is open, not merged yet, and has no duplicates of its own."""
    if child.parent_id is not None:
        raise Conflict(
            N_("El caso %(number)s ya está unido a otro caso."), number=child.number
        )
    if child.status != CaseStatus.OPEN:
        raise Conflict(N_("El caso %(number)s ya está cerrado."), number=child.number)
    if child.merged_children:
        raise Conflict(
            N_(
                "El caso %(number)s tiene sus propios duplicados: únalo como "
                "principal o sepárelos antes."
            ),
            number=child.number,
        )


def _merge_one(
    s: Session,
    p: Platform,
    actor: Actor,
    parent: Case,
    child: Case,
    note: str,
    now: datetime,
) -> None:
    """Close ``child`` under ``parent``, keeping what separating restores."""
    pending = list(
        s.scalars(
            select(HumanTask.id).where(
                HumanTask.case_id == child.id, HumanTask.state == TaskState.READY
            )
        )
    )
    if pending:
        s.execute(
            update(HumanTask)
            .where(HumanTask.id.in_(pending))
            .values(state=TaskState.CANCELLED)
        )
    restore = {
        "public_status": child.public_status,
        "next_timer_at": child.next_timer_at.isoformat()
        if child.next_timer_at
        else None,
        "tasks": pending,
    }
    child.parent_id = parent.id
    child.status = CaseStatus.CLOSED
    child.closed_at = now
    child.updated_at = now
    child.next_timer_at = None
    child.public_status = f"Unido al caso {parent.number}"[:120]
    add_event(
        s,
        child,
        now,
        EventKind.MERGED,
        actor,
        N_("Unido al caso principal"),
        {"parent": parent.number, "note": note, "restore": restore},
        public=True,
    )
    add_event(
        s,
        parent,
        now,
        EventKind.DUPLICATE_MERGED,
        actor,
        N_("Duplicado unido"),
        {"child": child.number, "subject": child.subject},
        public=False,
    )
    save_changes(s, child)
    notify.case_merged(s, p, child, parent.number, note, now)


def unmerge_case(p: Platform, actor: Actor, child_number: str, reason: str) -> Merged:
    """Separate a merged duplicate from its parent, saying why (audited).

    The duplicate gets back what it was when merged: open, its public
    status, its pending tasks and its timer (a deadline that passed
    meanwhile fires at once); its citizen is told of the new status.
    """
    check_merger(actor)
    reason = reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise _invalid(
            "motivo",
            N_("Explique el motivo (al menos %(limit)s caracteres)."),
            limit=MIN_REASON_CHARS,
        )
    try:
        with p.db.transaction() as s:
            found = s.execute(
                select(Case.parent_id).where(Case.number == child_number)
            ).first()
            if found is None:
                raise NotFound(N_("El caso %(number)s no existe."), number=child_number)
            if found.parent_id is None:
                raise Conflict(
                    N_("El caso %(number)s no está unido a otro."),
                    number=child_number,
                )
            parent_number = s.scalar(
                select(Case.number).where(Case.id == found.parent_id)
            )
            assert parent_number is not None
            cases = _locked(s, [parent_number, child_number])
            parent, child = cases[parent_number], cases[child_number]
            if child.parent_id != parent.id:
                raise _race()
            now = p.clock()
            _restore(s, p, actor, parent, child, reason, now)
            parent.merged_children = max(0, parent.merged_children - 1)
            parent.updated_at = now
            save_changes(s, parent)
            s.add(
                AuditLog(
                    at=now,
                    actor=actor.username,
                    action=str(EventKind.UNMERGED),
                    detail={
                        "parent": parent.number,
                        "child": child.number,
                        "reason": reason,
                    },
                )
            )
    except StaleDataError:
        raise _race() from None
    return Merged(parent=parent_number, children=[child_number])


def _restore(
    s: Session,
    p: Platform,
    actor: Actor,
    parent: Case,
    child: Case,
    reason: str,
    now: datetime,
) -> None:
    """Give ``child`` back what its last ``merged`` event kept."""
    merged = s.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == child.id, CaseEvent.kind == EventKind.MERGED)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).first()
    restore = dict((merged.data or {}).get("restore") or {}) if merged else {}
    tasks = [str(t) for t in restore.get("tasks") or []]
    if tasks:
        s.execute(
            update(HumanTask)
            .where(HumanTask.id.in_(tasks), HumanTask.state == TaskState.CANCELLED)
            .values(state=TaskState.READY)
        )
    timer = restore.get("next_timer_at")
    child.parent_id = None
    child.status = CaseStatus.OPEN
    child.closed_at = None
    child.updated_at = now
    child.next_timer_at = datetime.fromisoformat(timer) if timer else None
    child.public_status = str(restore.get("public_status") or "")
    add_event(
        s,
        child,
        now,
        EventKind.UNMERGED,
        actor,
        N_("Separado del caso principal"),
        {"parent": parent.number, "reason": reason},
        public=True,
    )
    add_event(
        s,
        parent,
        now,
        EventKind.DUPLICATE_UNMERGED,
        actor,
        N_("Duplicado separado"),
        {"child": child.number, "reason": reason},
        public=False,
    )
    save_changes(s, child)
    parsed = parsed_by_id(p, s, child.process_version_id)
    notify.status_changed(s, p, child, parsed, now)


def _race() -> Conflict:
    """Two people changed the same cases at once."""
    return Conflict(
        N_("Otra persona modificó estos casos al mismo tiempo. Vuelva a intentarlo.")
    )
