"""Recording a workflow step: state, projections, marks, events and mail.

Everything here writes in the caller's transaction; nothing commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.bundles.registry import ParsedVersion
from engine.domain.enums import CaseStatus, EventKind, Mark, Role, TaskState
from engine.domain.errors import (
    N_,
)
from engine.domain.views import (
    Actor,
)
from engine.services import notify
from engine.services.common import ENTITY_NAMES
from engine.services.events import add_event
from engine.services.platform import Platform
from engine.store.db import (
    deferring,
    drop_held,
    hold_new,
    hold_row,
    insert_new,
    save_changes,
    update_row,
    write_held,
)
from engine.store.models import (
    Case,
    Entity,
    HumanTask,
    SurveyResponse,
    WorkflowState,
)
from engine.workflow import runtime

# Built once (see ``engine.services.common``).
_READY_ROWS = select(
    HumanTask.id, HumanTask.state, HumanTask.due_at, HumanTask.name, HumanTask.form
).where(HumanTask.case_id == bindparam("case_id"), HumanTask.state == TaskState.READY)
_CANCEL_TASK = (
    update(HumanTask)
    .where(HumanTask.id == bindparam("task_id"))
    .values(state=TaskState.CANCELLED)
)
_RELABEL_TASK = (
    update(HumanTask)
    .where(HumanTask.id == bindparam("task_id"))
    .values(
        due_at=bindparam("new_due"),
        name=bindparam("new_name"),
        form=bindparam("new_form"),
    )
)
_SAVE_STATE = (
    update(WorkflowState)
    .where(WorkflowState.case_id == bindparam("of_case"))
    .values(state=bindparam("new_state"), format_version=bindparam("new_format"))
)
_ENTITY_NAME = select(Entity.name).where(Entity.code == bindparam("code"))


def entity_name_of(s: Session, code: str) -> str | None:
    """The name of entity ``code``, or None if there is no such entity."""
    known: dict[str, str] = s.info.get(ENTITY_NAMES, {})
    if code in known:
        return known[code]
    name = s.connection().execute(_ENTITY_NAME, {"code": code}).scalar()
    return None if name is None else str(name)


def record_step(
    s: Session,
    p: Platform,
    case: Case,
    parsed: ParsedVersion,
    workflow: Any,
    actor: Actor | None,
    now: datetime,
    *,
    state: WorkflowState | None,
    before: frozenset[str] = frozenset(),
    ready_rows: Sequence[Any] | None = None,
    ready_before: frozenset[str] | None = None,
) -> None:
    """Write state and projections of a workflow after a step.

    ``state`` is the case's loaded state row, or None for a new case: a
    transient ``case`` inserted here once, with the values the step gave it
    (it stays outside the session);
    ``before`` the completed task ids before the step (for the marks);
    ``ready_rows`` the case's ready task rows if the caller read them, or
    ``ready_before`` the ids of its other ready tasks on this same version
    (otherwise they are read here). Runs
    without autoflush so each row is written once; the rows only ever
    appended (events, new tasks, the first state, ratings) go out as Core
    INSERTs, one per table, without the unit of work's bookkeeping.
    """
    try:
        with s.no_autoflush:
            previous = case.public_status
            _store_unflushed(
                s,
                case,
                parsed,
                workflow,
                actor,
                now,
                state,
                before,
                p,
                ready_rows,
                ready_before,
            )
            if state is not None and case.public_status != previous:
                notify.status_changed(s, p, case, parsed, now)
        if state is not None:
            save_changes(s, case)
        elif case.id is None:
            insert_new(s, case)  # the database gives the id
        else:
            hold_new(s, case)  # its id came with its number: written with its rows
        if not deferring(s):
            write_held(s)
    except BaseException:
        # A failed step (the worker goes on in the same session) must not
        # leave its rows to be written with the next case's.
        drop_held(s)
        raise


def _store_unflushed(
    s: Session,
    case: Case,
    parsed: ParsedVersion,
    workflow: Any,
    actor: Actor | None,
    now: datetime,
    state: WorkflowState | None,
    before: frozenset[str],
    p: Platform,
    ready_rows: Sequence[Any] | None,
    ready_before: frozenset[str] | None,
) -> None:
    """The body of :func:`record_step`."""
    snap = runtime.snapshot(parsed, workflow, before)
    was_open = case.status != CaseStatus.CLOSED
    if state is None:
        hold_row(
            s,
            WorkflowState,
            {
                "state": runtime.dump_state(workflow),
                "format_version": runtime.FORMAT_VERSION,
            },
            case,
        )
        ready_rows = []  # a new case has no task rows yet
    else:
        text = runtime.dump_state(workflow)
        update_row(
            s,
            _SAVE_STATE,
            {
                "of_case": case.id,
                "new_state": text,
                "new_format": runtime.FORMAT_VERSION,
            },
        )
        # The row object (loaded, or built from a plain read) holds what is
        # stored, so no flush writes it again.
        set_committed_value(state, "state", text)
        set_committed_value(state, "format_version", runtime.FORMAT_VERSION)

    # Marks first: a transfer is recorded against the entity it leaves.
    for bpmn_id, step_data in snap.steps:
        step = parsed.tasks.get(bpmn_id)
        if step is None:
            continue
        for mark in step.marks:
            _apply_mark(s, case, mark, actor, now, step_data)
            if mark == Mark.REMINDER:
                notify.staff_alert(s, p, case, Role.LIAISON, "reminder", now)
            elif mark == Mark.OVERDUE:
                notify.staff_alert(s, p, case, Role.SUPERVISOR, "overdue", now)
        if step.props.get("encuesta") == "true":
            _record_survey(s, case, now, step_data)

    # The case belongs to the entity whose enlace has a task now: a
    # suggestion prefilled for the agent does not assign the case yet, and a
    # transfer reassigns it when the new entity's task appears.
    entity = next(
        (
            t.data.get("entidad")
            for t in snap.ready
            if parsed.tasks[t.bpmn_id].lane == Role.LIAISON
        ),
        None,
    )
    if (
        isinstance(entity, str)
        and entity != case.entity_code
        and (entity_name := entity_name_of(s, entity)) is not None
    ):
        assign_entity(s, case, entity, entity_name, actor, now)

    ready_ids = {t.id for t in snap.ready}
    # Task rows change by Core UPDATEs (a completed task was written so
    # before the step), so this read sees what the step started from.
    conn = s.connection()
    known: dict[str, Any]
    if ready_before is not None:
        # Rows known ready on this version: nothing of theirs to refresh.
        known = dict.fromkeys(ready_before)
    else:
        if ready_rows is None:
            ready_rows = list(conn.execute(_READY_ROWS, {"case_id": case.id}))
        known = {t.id: t for t in ready_rows if t.state == TaskState.READY}
    gone = [{"task_id": task_id} for task_id in known if task_id not in ready_ids]
    if gone:
        conn.execute(_CANCEL_TASK, gone)
    dues: list[datetime] = []
    for ready in snap.ready:
        info = parsed.tasks[ready.bpmn_id]
        due = _due(info.props.get("plazo"), ready.data)
        if due is not None:
            dues.append(due)
        if ready.id in known:
            row = known[ready.id]
            # A case moved to a newer version keeps its task ids; the task's
            # label and form follow the new version.
            if row is not None and (row.due_at, row.name, row.form) != (
                due,
                info.name,
                info.form,
            ):
                conn.execute(
                    _RELABEL_TASK,
                    {
                        "task_id": row.id,
                        "new_due": due,
                        "new_name": info.name,
                        "new_form": info.form,
                    },
                )
            continue
        task_entity = ready.data.get("entidad")
        hold_row(
            s,
            HumanTask,
            {
                "id": ready.id,
                "bpmn_id": ready.bpmn_id,
                "name": info.name,
                "role": info.lane or "",
                "entity_code": task_entity if isinstance(task_entity, str) else None,
                "assignee_id": None,
                "form": info.form,
                "state": TaskState.READY,
                "created_at": now,
                "due_at": due,
                "completed_at": None,
                "completed_by_id": None,
                "completed_by_label": None,
            },
            case,
        )
    case.due_at = min(dues) if dues else None

    if snap.estado and snap.estado != case.public_status:
        case.public_status = snap.estado
        add_event(
            s,
            case,
            now,
            EventKind.STATUS,
            actor,
            snap.estado,
            {"status": snap.estado},
            public=True,
        )
    if snap.completed:
        close_case(s, case, actor, now, {"end_event": snap.end_event})
    if parsed.milestones:
        _record_milestones(s, case, parsed, snap.hito, was_open, actor, now)
    case.next_timer_at = snap.next_timer_at
    case.updated_at = now
    case.error = None


def _record_milestones(
    s: Session,
    case: Case,
    parsed: ParsedVersion,
    key: str | None,
    was_open: bool,
    actor: Actor | None,
    now: datetime,
) -> None:
    """Move the case to the milestone the step reached, then, if the step
    closed the case, to the last one; each move a public event. A step of a
    case that stays closed (the citizen rating the answer) moves nothing:
    a closed case stands at the last milestone."""
    reached = [key] if key else []
    if case.status == CaseStatus.CLOSED:
        reached = [*reached, parsed.milestones[-1][0]] if was_open else []
    labels = dict(parsed.milestones)
    for step in reached:
        if step == case.milestone or step not in labels:
            continue
        case.milestone = step
        add_event(
            s,
            case,
            now,
            EventKind.MILESTONE,
            actor,
            labels[step],
            {"key": step, "label": labels[step]},
            public=True,
        )


def _due(variable: str | None, data: Mapping[str, Any]) -> datetime | None:
    """The due date a task's ``plazo`` property points at, if set and valid."""
    if not variable:
        return None
    value = data.get(variable)
    if not isinstance(value, str):
        return None
    try:
        due = datetime.fromisoformat(value)
    except ValueError:
        return None
    return due if due.tzinfo else None


def close_case(
    s: Session, case: Case, actor: Actor | None, now: datetime, data: dict[str, Any]
) -> None:
    """Close the case (once) with a public event."""
    if case.status == CaseStatus.CLOSED:
        return
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    add_event(
        s, case, now, EventKind.CLOSED, actor, N_("Caso cerrado"), data, public=True
    )


def _apply_mark(
    s: Session,
    case: Case,
    mark: str,
    actor: Actor | None,
    now: datetime,
    data: Mapping[str, Any],
) -> None:
    """React to a ``marca`` property of an element the step completed."""
    if mark == Mark.CLOSED:
        close_case(s, case, actor, now, {})
    elif mark == Mark.REOPENED:
        case.status = CaseStatus.OPEN
        case.closed_at = None
        case.reopen_count = (case.reopen_count or 0) + 1
        add_event(
            s,
            case,
            now,
            EventKind.REOPENED,
            actor,
            N_("Caso reabierto"),
            {"reopen_count": case.reopen_count},
            public=True,
        )
    elif mark == Mark.OVERDUE:
        if case.overdue_at is None:
            case.overdue_at = now
        add_event(
            s,
            case,
            now,
            EventKind.OVERDUE,
            actor,
            N_("Plazo vencido"),
            {},
            public=False,
        )
    elif mark == Mark.ON_TIME:
        case.overdue_at = None
    elif mark == Mark.REMINDER:
        add_event(
            s,
            case,
            now,
            EventKind.REMINDER,
            actor,
            N_("Recordatorio enviado a la entidad"),
            {"entity": case.entity_code},
            public=False,
        )
    elif mark == Mark.TRANSFERRED:
        transfer_event(s, case, data.get("entidad"), actor, now)


def transfer_event(
    s: Session, case: Case, to: Any, actor: Actor | None, now: datetime
) -> None:
    """The public event of a case leaving its entity for entity ``to``.

    Recorded against the entity it leaves: the diagram's ``transferido``
    mark writes it before the new entity's task assigns the case (see
    :func:`assign_entity`); an admin's transfer (deactivating an entity)
    writes both at once.
    """
    add_event(
        s,
        case,
        now,
        EventKind.TRANSFERRED,
        actor,
        N_("Caso transferido a otra entidad"),
        {"from": case.entity_code, "to": to},
        public=True,
    )


def assign_entity(
    s: Session, case: Case, entity: str, name: str, actor: Actor | None, now: datetime
) -> None:
    """Give the case to entity ``entity`` (named ``name``), with a public event."""
    case.entity_code = entity
    add_event(
        s,
        case,
        now,
        EventKind.ASSIGNED,
        actor,
        N_("Caso asignado a una entidad"),
        {"entity": entity, "name": name},
        public=True,
    )


def _record_survey(
    s: Session, case: Case, now: datetime, data: Mapping[str, Any]
) -> None:
    """Store a satisfaction rating for reports."""
    rating = data.get("calificacion")
    if not isinstance(rating, int):
        return
    hold_row(
        s,
        SurveyResponse,
        {
            "case_type": case.case_type,
            "entity_code": case.entity_code,
            "rating": rating,
            "comment": str(data.get("comentario") or ""),
            "at": now,
        },
        case,
    )
