"""Moving every open case of an entity to another one (an admin
deactivating the entity), in the caller's transaction.

Each case gets what a staff transfer gives it (:func:`steps.transfer_event`
and :func:`steps.assign_entity`: the public "transferred" and "assigned"
events, the case's new entity), plus what only this path needs: the
workflow's pending tasks name the new entity (:func:`runtime.move_entity`),
so a case waiting on the old entity's task continues with the new one; the
ready task rows go to the new entity's queue, and the claims the old
entity's enlaces held on them are released (a non-public event each). One
audit record per case. The per-case work is only the workflow's state; the
rest goes out as a few statements per chunk of cases.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.domain.enums import CaseStatus, EventKind, Role, TaskState
from engine.domain.views import Actor
from engine.services.auditing import record
from engine.services.events import add_event
from engine.services.steps import assign_entity, transfer_event
from engine.store.db import pipelined
from engine.store.models import Case, Entity, HumanTask, WorkflowState
from engine.workflow import runtime

#: Cases read, rewritten and updated per round (bounded IN lists).
CHUNK = 500

# Built once (see ``engine.services.common``).
_SAVE_STATE = (
    update(WorkflowState)
    .where(WorkflowState.case_id == bindparam("of_case"))
    .values(state=bindparam("new_state"), format_version=bindparam("new_format"))
)
_READY_OF_ENTITY = (HumanTask.state == TaskState.READY) & (
    HumanTask.entity_code == bindparam("old")
)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def open_cases_locked(s: Session, code: str) -> list[Case]:
    """The open cases of entity ``code``, locked, in id order (two
    transfers never deadlock)."""
    return list(
        s.scalars(
            select(Case)
            .where(Case.entity_code == code, Case.status == CaseStatus.OPEN)
            .order_by(Case.id)
            .with_for_update()
        )
    )


def transfer_open_cases(
    s: Session,
    actor: Actor,
    source: Entity,
    target: Entity,
    now: datetime,
) -> list[str]:
    """Move every open case of ``source`` to ``target``; their numbers.

    Both entity rows are the caller's, locked; nothing commits here.
    """
    moved: list[str] = []
    cases = open_cases_locked(s, source.code)
    conn = s.connection()
    for chunk in chunks(cases):
        ids = [c.id for c in chunk]
        states = {
            row.case_id: row
            for row in conn.execute(
                select(
                    WorkflowState.case_id,
                    WorkflowState.state,
                    WorkflowState.format_version,
                ).where(WorkflowState.case_id.in_(ids))
            )
        }
        held: dict[int, list[Any]] = {}
        for row in conn.execute(
            select(
                HumanTask.case_id,
                HumanTask.name,
                HumanTask.bpmn_id,
                HumanTask.assignee_label,
            ).where(
                HumanTask.case_id.in_(ids),
                _READY_OF_ENTITY,
                HumanTask.role == Role.LIAISON,
                HumanTask.assignee_id.is_not(None),
            ),
            {"old": source.code},
        ):
            held.setdefault(row.case_id, []).append(row)
        saved = []
        for case in chunk:
            stored = states[case.id]
            saved.append(
                {
                    "of_case": case.id,
                    "new_state": runtime.move_entity(
                        stored.state, stored.format_version, source.code, target.code
                    ),
                    "new_format": runtime.FORMAT_VERSION,
                }
            )
            released = _move_one(s, actor, case, target, held.get(case.id, []), now)
            record(
                s,
                now,
                actor,
                "case_transferred",
                {
                    "case": case.number,
                    "from": source.code,
                    "to": target.code,
                    "released": released,
                },
            )
            moved.append(case.number)
        with pipelined(conn):
            conn.execute(_SAVE_STATE, saved)
            conn.execute(
                update(HumanTask)
                .where(
                    HumanTask.case_id.in_(ids),
                    _READY_OF_ENTITY,
                    HumanTask.role == Role.LIAISON,
                )
                .values(assignee_id=None, assignee_label=None, claimed_at=None),
                {"old": source.code},
            )
            conn.execute(
                update(HumanTask)
                .where(HumanTask.case_id.in_(ids), _READY_OF_ENTITY)
                .values(entity_code=target.code),
                {"old": source.code},
            )
    return moved


def _move_one(
    s: Session,
    actor: Actor,
    case: Case,
    target: Entity,
    held: list[Any],
    now: datetime,
) -> list[str]:
    """One case's events and new entity, as a staff transfer writes them;
    the holders whose claims are released (their names)."""
    transfer_event(s, case, target.code, actor, now)
    assign_entity(s, case, target.code, target.name, actor, now)
    case.updated_at = now
    for task in held:
        add_event(
            s,
            case,
            now,
            EventKind.TASK_RELEASED,
            actor,
            task.name,
            {"task": task.name, "from": task.assignee_label, "to": None},
            public=False,
            task_bpmn_id=task.bpmn_id,
        )
    return [str(t.assignee_label or "?") for t in held]
