"""Inboxes and tasks: list, show, complete (staff and citizens)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from engine.bundles import forms
from engine.domain.enums import CaseStatus, EventKind, Role, TaskState
from engine.domain.errors import (
    N_,
    Conflict,
    NotAllowed,
    NotFound,
    ProcessFailed,
    ServiceError,
)
from engine.domain.views import (
    Actor,
    CompletedTask,
    TaskSummary,
    TaskView,
    Upload,
)
from engine.services import attachments, categories
from engine.services.cases import case_view
from engine.services.common import (
    CASE_OF_TASK,
    TASK_ROW,
    allowed_values,
    business_calendar,
    error_text,
    form_view,
    is_data_error,
    may_see_case,
    may_work,
    parsed_by_id,
    parsed_version,
    public_note,
    sources_for,
    type_titles,
)
from engine.services.events import add_event, mark_error
from engine.services.platform import Platform
from engine.services.queues import eligible_users, holder_conflict, may_manage
from engine.services.steps import record_step
from engine.services.tracking import verify_access
from engine.store import search_index
from engine.store.db import defer_updates
from engine.store.models import (
    Case,
    HumanTask,
    ProcessVersion,
    WorkflowState,
)
from engine.workflow import runtime, timekeeping

# Built once (see ``engine.services.common``). The case of a task and its
# stored workflow, both locked: after waiting for a concurrent step, the
# read sees what that step committed.
_LOCK_CASE_OF_TASK = (
    select(Case, WorkflowState.state, WorkflowState.format_version.label("version"))
    .join(WorkflowState, WorkflowState.case_id == Case.id)
    .where(Case.id == CASE_OF_TASK)
    .with_for_update()
)
# The task and the state as plain rows: read once, written with Core.
_TASK = TASK_ROW
_STATE = select(WorkflowState.state, WorkflowState.format_version).where(
    WorkflowState.case_id == bindparam("case_id")
)
# Completes a ready task and returns it; no row if it was not ready.
_TAKE_TASK = (
    update(HumanTask)
    .where(HumanTask.id == bindparam("task_id"), HumanTask.state == TaskState.READY)
    .values(
        state=TaskState.COMPLETED,
        completed_by_id=bindparam("taken_by_id"),
        completed_by_label=bindparam("taken_by_label"),
        completed_at=bindparam("taken_at"),
    )
    .returning(*HumanTask.__table__.c)
)


def list_tasks(p: Platform, actor: Actor, *, limit: int = 200) -> list[TaskSummary]:
    """The ready tasks ``actor`` may do, oldest first (plain SQL, no workflows)."""
    roles = [r for r in actor.effective_roles if r != Role.LIAISON]
    with p.db.read() as s:
        conditions: list[Any] = []
        if roles:
            conditions.append(HumanTask.role.in_(roles))
        if actor.has(Role.LIAISON) and actor.entity_codes:
            conditions.append(
                (HumanTask.role == Role.LIAISON)
                & HumanTask.entity_code.in_(sorted(actor.entity_codes))
            )
        if not conditions:
            return []
        rows = s.execute(
            select(HumanTask, Case.number, Case.subject, Case.case_type)
            .join(Case, Case.id == HumanTask.case_id)
            .where(
                HumanTask.state == TaskState.READY,
                or_(*conditions),
                Case.practice.is_(False),
            )
            .order_by(HumanTask.created_at, HumanTask.id)
            .limit(limit)
        ).all()
        titles = type_titles(s)
    return [
        TaskSummary(
            id=task.id,
            case_number=number,
            case_title=titles.get(case_type, case_type),
            subject=subject,
            name=task.name,
            role=task.role,
            entity_code=task.entity_code,
            created_at=task.created_at,
            due_at=task.due_at,
        )
        for task, number, subject, case_type in rows
    ]


def get_task(p: Platform, actor: Actor, task_id: str) -> TaskView:
    """A task with its form and case, if ``actor`` may see it."""
    with p.db.read() as s:
        task = s.get(HumanTask, task_id)
        if task is None:
            raise NotFound(N_("La tarea no existe."))
        case = s.get(Case, task.case_id)
        assert case is not None
        # Supervisors see every staff task (to hand it over); doing it stays
        # with the task's role (and entity). Practice cases: designers only.
        may_complete = may_work(
            actor, task.role, task.entity_code, practice=case.practice
        )
        if not (
            may_complete
            if case.practice
            else task.role != Role.CITIZEN
            and may_manage(actor, task.role, task.entity_code)
        ):
            raise NotAllowed(N_("Esta tarea no le corresponde."))
        if task.state != TaskState.READY and not may_see_case(s, actor, case):
            # A done task of a case since transferred elsewhere: the case
            # and its citizen are no longer this actor's to see.
            raise NotAllowed(N_("No tiene acceso a este caso."))
        version = s.get(ProcessVersion, case.process_version_id)
        assert version is not None
        parsed = parsed_version(p, version)
        sources = sources_for(s, parsed.form(task.form))
        if "entidades" in sources:
            # Sending the case somewhere: its category's entities first.
            sources["entidades"] = categories.answering_first(
                p, sources["entidades"], case.category
            )
        data: dict[str, Any] = {}
        if task.state == TaskState.READY:
            stored = s.connection().execute(_STATE, {"case_id": case.id}).one()
            workflow = runtime.load_state(parsed, stored.state, stored.format_version)
            spiff_task = runtime.find_ready_task(workflow, task.id)
            if spiff_task is not None:
                data = dict(spiff_task.data)
        info = parsed.tasks.get(task.bpmn_id)
        staff_view = case_view(s, p, case, version, actor, data=data)
        ready = task.state == TaskState.READY
        assignable = (
            [
                u
                for u in eligible_users(s, task.role, task.entity_code)
                if u.id != task.assignee_id
            ]
            if ready
            else []
        )
        return TaskView(
            id=task.id,
            name=task.name,
            instructions=info.instructions if info else "",
            role=task.role,
            state=task.state,
            completed_by=task.completed_by_label,
            completed_at=task.completed_at,
            form=form_view(parsed.form(task.form), sources),
            case=staff_view,
            assignee_id=task.assignee_id,
            assignee=task.assignee_label,
            claimed_at=task.claimed_at,
            may_complete=may_complete,
            may_claim=ready and may_complete and task.assignee_id is None,
            may_release=ready
            and task.assignee_id is not None
            and (task.assignee_id == actor.id or actor.has(Role.SUPERVISOR)),
            assignable=assignable,
            prefill={
                name: data[name]
                for name, spec in forms.fields(parsed.form(task.form)).items()
                if spec.get("x-prefill") and data.get(name) is not None
            },
        )


def complete_task(
    p: Platform,
    actor: Actor,
    task_id: str,
    data: Mapping[str, Any],
    files: Sequence[Upload] = (),
    *,
    take_over: bool = False,
) -> CompletedTask:
    """Complete a ready staff task with validated data, in one transaction.

    Exactly one of two concurrent completions wins; the other gets
    :class:`Conflict` naming who completed the task and when. A task someone
    else holds raises :class:`Conflict` naming them, unless ``take_over``
    (the person confirmed); the holder is read from the row the completion
    takes, so the common path costs no extra query. ``files`` are stored
    with the step, for staff only.
    """
    checked = attachments.check_uploads(p, files)

    def allowed(task: Any, case: Case) -> None:
        if not may_work(actor, task.role, task.entity_code, practice=case.practice):
            raise NotAllowed(N_("Esta tarea no le corresponde."))

    return _complete(p, task_id, data, actor, allowed, checked, take_over=take_over)


def complete_citizen_task(
    p: Platform,
    number: str,
    code: str,
    task_id: str,
    data: Mapping[str, Any],
    *,
    client: str,
    files: Sequence[Upload] = (),
) -> CompletedTask:
    """Complete a task of the ``ciudadano`` lane, proven by number and code.

    The citizen's ``files`` are stored with the step (theirs to download).
    """
    verify_access(p, number, code, client)
    return complete_tracked_task(p, number, task_id, data, files=files)


def complete_tracked_task(
    p: Platform,
    number: str,
    task_id: str,
    data: Mapping[str, Any],
    *,
    files: Sequence[Upload] = (),
) -> CompletedTask:
    """Complete a ``ciudadano`` task of a case this browser session proved
    access to (by its code or a one-time link; the web layer keeps which)."""
    checked = attachments.check_uploads(p, files)

    def allowed(task: Any, case: Case) -> None:
        if task.role != Role.CITIZEN or case.number != number.strip().upper():
            raise NotFound(N_("La tarea no existe."))

    return _complete(p, task_id, data, None, allowed, checked)


def _complete(
    p: Platform,
    task_id: str,
    data: Mapping[str, Any],
    actor: Actor | None,
    allowed: Any,
    checked: attachments.Checked,
    *,
    take_over: bool = False,
) -> CompletedTask:
    """Lock the case, check, validate, run the task, store; one transaction.

    From the moment the diagram runs, any failure (a script, a value the
    state cannot hold, a row the database refuses) rolls the whole step back
    and flags the case for the supervisor in a transaction of its own.
    """
    stepping: int | None = None  # the case id, once its diagram runs
    try:
        with p.db.transaction() as s:
            # Lock the case first, then take the task: after the lock the
            # task's row shows what a concurrent completion committed.
            locked = s.execute(_LOCK_CASE_OF_TASK, {"task_id": task_id}).first()
            if locked is None:
                raise NotFound(N_("La tarea no existe."))
            case = locked[0]
            if p.db.is_postgres:
                # The case is locked: its UPDATEs can go out with the step's
                # other rows in one round trip at commit.
                defer_updates(s)
            now = p.clock()
            label = actor.name if actor else "Ciudadano"
            # Taking the task and reading it are one statement; a refusal
            # below rolls the taking back with the rest of the transaction.
            conn = s.connection()
            task = conn.execute(
                _TAKE_TASK,
                {
                    "task_id": task_id,
                    "taken_by_id": actor.id if actor else None,
                    "taken_by_label": label,
                    "taken_at": now,
                },
            ).first()
            if task is None:
                done = conn.execute(_TASK, {"task_id": task_id}).one()
                allowed(done, case)
                raise _already_done(done)
            allowed(task, case)
            # Someone else's claim, read from the row just taken.
            held = None if actor is None or take_over else holder_conflict(task, actor)
            if held is not None:
                raise held
            parsed = parsed_by_id(p, s, case.process_version_id)
            schema = parsed.form(task.form)
            sources = sources_for(s, schema)
            forms.check(schema, data, allowed_values(sources))
            state = WorkflowState(
                case_id=case.id, state=locked.state, format_version=locked.version
            )
            workflow = runtime.load_state(parsed, state.state, state.format_version)
            spiff_task = runtime.find_ready_task(workflow, task.id)
            if spiff_task is None:
                raise Conflict(N_("La tarea ya no está pendiente."))
            clean = dict(data)
            before = runtime.completed_ids(workflow)
            # The case's other ready tasks have rows as ready (every step
            # writes its projections), so they need not be read back.
            others = runtime.ready_ids(workflow) - {task.id}
            stored = attachments.store_uploads(
                s,
                p,
                case,
                checked,
                actor=actor,
                source=attachments.TASK if actor else attachments.CITIZEN_TASK,
                public=actor is None,
                now=now,
                task_id=task.id,
            )
            stepping = case.id
            with timekeeping.at(now, business_calendar(p, s)):
                runtime.complete(workflow, spiff_task, clean)
            add_event(
                s,
                case,
                now,
                EventKind.TASK_COMPLETED,
                actor,
                task.name,
                {"task": task.name, "data": clean, "by": label}
                | ({"attachments": stored} if stored else {}),
                public=False,
                task_bpmn_id=task.bpmn_id,
                role=task.role,
            )
            search_index.append_text(s, case, forms.free_text(schema, clean))
            note = public_note(schema, clean, sources)
            if note is not None:
                add_event(
                    s,
                    case,
                    now,
                    EventKind.PUBLIC_NOTE,
                    actor,
                    task.name,
                    note,
                    public=True,
                    task_bpmn_id=task.bpmn_id,
                    role=task.role,
                )
            record_step(
                s,
                p,
                case,
                parsed,
                workflow,
                actor,
                now,
                state=state,
                before=before,
                ready_before=others,
            )
            result = CompletedTask(
                case_number=case.number,
                public_status=case.public_status,
                closed=case.status == CaseStatus.CLOSED,
            )
        return result
    except StaleDataError:
        with p.db.read() as s:
            after = s.get(HumanTask, task_id)
            if after is not None and after.state != TaskState.READY:
                raise _already_done(after) from None
        raise Conflict(
            N_("Otra persona modificó este caso al mismo tiempo. Vuelva a intentarlo.")
        ) from None
    except ServiceError:
        raise
    except Exception as exc:
        outage = isinstance(exc, DBAPIError) and not is_data_error(exc)
        if stepping is None or outage:
            raise
        # The diagram failed or left a state that cannot be stored: nothing
        # of the step was stored; the case keeps its last good state and is
        # flagged for the supervisor.
        detail = error_text(exc)
        mark_error(p, stepping, detail)
        raise ProcessFailed(
            N_(
                "El proceso falló al completar la tarea; el caso quedó marcado "
                "para el supervisor. Detalle: %(detail)s"
            ),
            detail=detail,
        ) from None


def _already_done(task: Any) -> Conflict:
    """The conflict raised when a task was completed by someone else."""
    if task.state == TaskState.COMPLETED and task.completed_at is not None:
        return Conflict(
            N_("%(who)s ya completó esta tarea el %(when)s."),
            who=task.completed_by_label or "?",
            when=task.completed_at,
        )
    return Conflict(N_("La tarea ya no está pendiente."))
