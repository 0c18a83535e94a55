"""Recording a workflow step: state, projections, marks, events and mail.

Everything here writes in the caller's transaction; nothing commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.bundles.registry import ParsedVersion
from engine.domain.enums import CaseStatus, EventKind, Role, TaskState
from engine.domain.errors import (
    N_,
)
from engine.domain.views import (
    Actor,
)
from engine.services import mail
from engine.services.platform import Platform
from engine.store import search_index
from engine.store.models import (
    Case,
    CaseEvent,
    Entity,
    HumanTask,
    SurveyResponse,
    User,
    UserRole,
    WorkflowState,
)
from engine.workflow import runtime


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
    ready_rows: list[HumanTask] | None = None,
) -> None:
    """Write state and projections of a workflow after a step.

    ``state`` is the case's loaded state row, or None for a new case;
    ``before`` the completed task ids before the step (for the marks). Runs
    without autoflush so each row is written once, at commit.
    """
    with s.no_autoflush:
        previous = case.public_status
        _store_unflushed(
            s, case, parsed, workflow, actor, now, state, before, p, ready_rows
        )
        if state is not None and case.public_status != previous:
            _notify_citizen(s, p, case, parsed, now)


def _notify_citizen(
    s: Session, p: Platform, case: Case, parsed: ParsedVersion, now: datetime
) -> None:
    """Tell the citizen (if they left an email) that the status changed."""
    email = forms.contact_email(parsed.form(parsed.start_form), case.contact)
    if not email:
        return
    mail.enqueue(
        s,
        email,
        f"Centro 311: su caso {case.number} — {case.public_status}",
        (
            f"Su caso {case.number} tiene un nuevo estado: {case.public_status}.\n\n"
            f"Consulte el detalle en {p.public_url}/seguimiento?numero={case.number}\n"
        ),
        case.id,
        now,
    )


def _notify_staff(
    s: Session, p: Platform, case: Case, role: str, subject: str, now: datetime
) -> None:
    """Mail the users of ``role`` (of the case's entity, for enlaces)."""
    entity = case.entity_code if role == Role.LIAISON else None
    # The worker notifies many cases per transaction: look each list up once.
    cache: dict[tuple[str, str | None], list[str]] = s.info.setdefault(
        "staff_emails", {}
    )
    if (role, entity) not in cache:
        query = (
            select(User.email)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                UserRole.role_key == role,
                User.active.is_(True),
                User.email.is_not(None),
            )
        )
        if role == Role.LIAISON:
            query = query.where(User.entity_code == entity)
        cache[(role, entity)] = [str(e) for (e,) in s.execute(query)]
    for email in cache[(role, entity)]:
        mail.enqueue(
            s,
            str(email),
            subject,
            f"{subject}\n\nCaso: {p.public_url}/casos/{case.number}\n",
            case.id,
            now,
        )


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
    ready_rows: list[HumanTask] | None,
) -> None:
    """The body of :func:`record_step`."""
    snap = runtime.snapshot(parsed, workflow, before)
    if state is None:
        state = WorkflowState(case_id=case.id)
        s.add(state)
    state.state = runtime.dump_state(workflow)
    state.format_version = runtime.FORMAT_VERSION

    # Marks first: a transfer is recorded against the entity it leaves.
    for bpmn_id, step_data in snap.steps:
        step = parsed.tasks.get(bpmn_id)
        if step is None:
            continue
        for mark in step.marks:
            _apply_mark(s, case, mark, actor, now, step_data)
            if mark == "recordatorio":
                _notify_staff(
                    s,
                    p,
                    case,
                    Role.LIAISON,
                    f"Recordatorio: el caso {case.number} vence pronto",
                    now,
                )
            elif mark == "vencido":
                _notify_staff(
                    s,
                    p,
                    case,
                    Role.SUPERVISOR,
                    f"Plazo vencido: caso {case.number}",
                    now,
                )
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
        and (entity_row := s.get(Entity, entity)) is not None
    ):
        case.entity_code = entity
        add_event(
            s,
            case,
            now,
            EventKind.ASSIGNED,
            actor,
            N_("Caso asignado a una entidad"),
            {"entidad": entity, "nombre": entity_row.name},
            public=True,
        )

    ready_ids = {t.id for t in snap.ready}
    # Rows changed in this unit of work keep their in-memory state, so the
    # task just completed is filtered out here although not yet flushed.
    if ready_rows is None:
        ready_rows = list(
            s.scalars(
                select(HumanTask).where(
                    HumanTask.case_id == case.id, HumanTask.state == TaskState.READY
                )
            )
        )
    known = {t.id: t for t in ready_rows if t.state == TaskState.READY}
    for task_id, row in known.items():
        if task_id not in ready_ids:
            row.state = TaskState.CANCELLED
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
            row.due_at, row.name, row.form = due, info.name, info.form
            continue
        task_entity = ready.data.get("entidad")
        s.add(
            HumanTask(
                id=ready.id,
                case_id=case.id,
                bpmn_id=ready.bpmn_id,
                name=info.name,
                role=info.lane or "",
                entity_code=task_entity if isinstance(task_entity, str) else None,
                form=info.form,
                state=TaskState.READY,
                created_at=now,
                due_at=due,
            )
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
            {"estado": snap.estado},
            public=True,
        )
    if snap.completed:
        close_case(s, case, actor, now, {"fin": snap.end_event})
    case.next_timer_at = snap.next_timer_at
    case.updated_at = now
    case.error = None


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
    if mark == "cerrado":
        close_case(s, case, actor, now, {})
    elif mark == "reabierto":
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
            {"reaperturas": case.reopen_count},
            public=True,
        )
    elif mark == "vencido":
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
    elif mark == "al_dia":
        case.overdue_at = None
    elif mark == "recordatorio":
        add_event(
            s,
            case,
            now,
            EventKind.REMINDER,
            actor,
            N_("Recordatorio enviado a la entidad"),
            {"entidad": case.entity_code},
            public=False,
        )
    elif mark == "transferido":
        add_event(
            s,
            case,
            now,
            EventKind.TRANSFERRED,
            actor,
            N_("Caso transferido a otra entidad"),
            {"desde": case.entity_code, "hacia": data.get("entidad")},
            public=True,
        )


def _record_survey(
    s: Session, case: Case, now: datetime, data: Mapping[str, Any]
) -> None:
    """Store a satisfaction rating for reports."""
    rating = data.get("calificacion")
    if not isinstance(rating, int):
        return
    s.add(
        SurveyResponse(
            case_id=case.id,
            case_type=case.case_type,
            entity_code=case.entity_code,
            rating=rating,
            comment=str(data.get("comentario") or ""),
            at=now,
        )
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
) -> None:
    """Append one audit/timeline event (and index the text it carries)."""
    s.add(
        CaseEvent(
            case_id=case.id,
            at=at,
            kind=kind,
            actor_id=actor.id if actor else None,
            actor_label=actor.name if actor else "",
            task_bpmn_id=task_bpmn_id,
            summary=summary[:300],
            data=data,
            public=public,
        )
    )
    # Every event passes here, so case search sees every filing and every
    # completed task, whichever service recorded it.
    search_index.index_event(s, case, kind, data)


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
