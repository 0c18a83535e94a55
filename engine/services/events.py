"""Case events and errors: the timeline's records (each with who acted, as
a role), and a case flagged when its diagram fails."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.domain.enums import EventKind, Role
from engine.domain.errors import (
    N_,
)
from engine.domain.views import (
    Actor,
    acting_entity,
    acting_role,
)
from engine.services.platform import Platform
from engine.store.db import (
    hold_row,
)
from engine.store.models import (
    Case,
    CaseEvent,
)


def add_event(
    s: Session,
    case: Case,
    at: datetime,
    kind: str,
    actor: Actor | None,
    summary: str,
    data: dict[str, Any] | None,
    *,
    public: bool,
    task_bpmn_id: str | None = None,
    role: str | None = None,
) -> None:
    """Append one audit/timeline event.

    Held with the step's other new rows and written with them (at the end of
    :func:`record_step`, or when the transaction commits). The role the
    actor acted in goes into ``data`` (``role``, and an enlace's entity as
    ``role_entity``), since people change roles and entities later: the
    caller's ``role`` (a completed task's lane, ``ciudadano`` for the
    citizen), else the actor's own; events of nobody (the worker) have none.
    """
    if role is None and actor is not None:
        role = acting_role(actor.roles)
    if role is not None:
        data = {**(data or {}), "role": role}
        entity = acting_entity(actor.entity_codes, case.entity_code) if actor else None
        if role == Role.LIAISON and entity is not None:
            data["role_entity"] = entity
    hold_row(
        s,
        CaseEvent,
        {
            "at": at,
            "kind": kind,
            "actor_id": actor.id if actor else None,
            "actor_label": actor.name if actor else "",
            "task_bpmn_id": task_bpmn_id,
            "summary": summary[:300],
            "data": data,
            "public": public,
        },
        case,
    )


def flag_error(s: Session, case: Case, now: datetime, message: str) -> None:
    """Flag a case as errored (for the supervisor), keeping its last state."""
    case.error = message
    add_event(
        s,
        case,
        now,
        EventKind.ERROR,
        None,
        N_("Error en el proceso"),
        {"error": message},
        public=False,
    )


def mark_error(p: Platform, case_id: int, message: str) -> None:
    """Flag a case as errored in a transaction of its own."""
    with p.db.transaction() as s:
        case = s.get(Case, case_id)
        if case is not None:
            flag_error(s, case, p.clock(), message)
