"""Who holds a task: claim, release, reassign, hand over in bulk.

Who may do what: a person claims a task they may do (role, and entity for
enlaces); releases only their own claim (supervisors any); hands a task to
someone else who may do it: an enlace within its entities, an agent among
agents, a supervisor any task to anyone who may do it. Each change locks the
case (like completing a task does), and writes a non-public timeline event
and an audit-log record in the same transaction. The inbox's tabs that list
the tasks are :mod:`engine.services.inbox`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    bindparam,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from engine.domain.enums import EventKind, Role, TaskState
from engine.domain.errors import N_, Conflict, NotAllowed, NotFound
from engine.domain.views import Actor, UserChoice
from engine.domain.workspace import Handover
from engine.services.accounts import actor_from_user
from engine.services.auditing import record
from engine.services.common import (
    CASE_OF_TASK,
    TASK_ROW,
    may_do,
)
from engine.services.events import add_event
from engine.services.platform import Platform
from engine.store.accounts import User, UserEntity, UserRole
from engine.store.models import Case, HumanTask

#: Most tasks one bulk assignment hands over.
BULK_LIMIT = 100

#: The partial indexes' predicates, as literals: a bound value could not
#: prove them to the planner (see ``engine.store.models.READY_ONLY``).
READY_TASK = HumanTask.state == literal_column("'ready'")

#: The 311 roles whose queues are not scoped to an entity.
CENTER_ROLES = (Role.AGENT, Role.SUPERVISOR)

# Built once (see ``engine.services.common``).
_LOCK_CASE_OF_TASK = select(Case).where(Case.id == CASE_OF_TASK).with_for_update()
_TASK = TASK_ROW
_SET_HOLDER = (
    update(HumanTask)
    .where(HumanTask.id == bindparam("task_id"), HumanTask.state == TaskState.READY)
    .values(
        assignee_id=bindparam("holder_id"),
        assignee_label=bindparam("holder_label"),
        claimed_at=bindparam("held_at"),
    )
)


def may_manage(actor: Actor, role: str, entity_code: str | None) -> bool:
    """Whether ``actor`` may hand over a task of this lane (not only claim it)."""
    return actor.has(Role.SUPERVISOR) or may_do(actor, role, entity_code)


def eligible_users(s: Session, role: str, entity_code: str | None) -> list[UserChoice]:
    """Active users who may do a task of ``role`` (and ``entity_code``)."""
    holders = [role, *(r for r in CENTER_ROLES if r != role and role == Role.AGENT)]
    query = (
        select(User)
        .where(
            User.active.is_(True),
            User.id.in_(select(UserRole.user_id).where(UserRole.role_key.in_(holders))),
        )
        .order_by(User.full_name, User.id)
    )
    if role == Role.LIAISON:
        if entity_code is None:
            return []
        query = query.where(
            User.id.in_(
                select(UserEntity.user_id).where(UserEntity.entity_code == entity_code)
            )
        )
    return [_choice(u) for u in s.scalars(query)]


def _choice(user: User) -> UserChoice:
    """A user as a choice to hand tasks to (with the entities of an enlace)."""
    return UserChoice(
        user.id,
        user.full_name,
        tuple(e.entity_code for e in user.entities)
        if any(r.role_key == Role.LIAISON for r in user.roles)
        else (),
    )


def assignable_users(s: Session, actor: Actor) -> list[UserChoice]:
    """Everyone a supervisor may hand tasks to: 311 staff and enlaces."""
    if not actor.has(Role.SUPERVISOR):
        return []
    roles = [*CENTER_ROLES, Role.LIAISON]
    query = select(User).where(
        User.active.is_(True),
        User.id.in_(select(UserRole.user_id).where(UserRole.role_key.in_(roles))),
    )
    choices = [_choice(u) for u in s.scalars(query)]
    # 311 staff first, then enlaces by their entities; each group by name.
    return sorted(choices, key=lambda c: (bool(c.entity_codes), c.entity_codes, c.name))


def claim_task(p: Platform, actor: Actor, task_id: str) -> Handover:
    """Take a ready task ``actor`` may do; someone else's claim is a conflict."""
    with p.db.transaction() as s:
        case, task = _locked(s, task_id)
        if task.role == Role.CITIZEN or not may_do(actor, task.role, task.entity_code):
            raise NotAllowed(N_("Esta tarea no le corresponde."))
        if task.assignee_id == actor.id:
            return Handover(0, actor.name, [case.number])
        if task.assignee_id is not None:
            raise Conflict(
                N_("%(who)s ya tomó esta tarea."), who=task.assignee_label or "?"
            )
        _hand(s, p, actor, case, task, actor.id, actor.name, EventKind.TASK_CLAIMED)
    return Handover(1, actor.name, [case.number])


def release_task(p: Platform, actor: Actor, task_id: str) -> Handover:
    """Give a task back to its queue: one's own claim, or any for supervisors."""
    with p.db.transaction() as s:
        case, task = _locked(s, task_id)
        if not may_manage(actor, task.role, task.entity_code):
            raise NotAllowed(N_("Esta tarea no le corresponde."))
        if task.assignee_id is None:
            return Handover(0, None, [case.number])
        if task.assignee_id != actor.id and not actor.has(Role.SUPERVISOR):
            raise NotAllowed(
                N_("Solo %(who)s o un supervisor pueden liberar esta tarea."),
                who=task.assignee_label or "?",
            )
        _hand(s, p, actor, case, task, None, None, EventKind.TASK_RELEASED)
    return Handover(1, None, [case.number])


def release_held_tasks(
    s: Session,
    p: Platform,
    actor: Actor,
    holder_id: int,
    *,
    now_as: Actor | None = None,
) -> list[str]:
    """Give the ready tasks ``holder_id`` holds back to their queues: every
    one (deactivating a person), or with ``now_as`` (the holder with the
    roles and entities an admin just gave them) those they may no longer do.

    Runs in the caller's transaction: each case is locked in id order, as
    a bulk assignment does, and each release writes its timeline event and
    audit record. Returns the case numbers.
    """
    held = s.execute(
        select(HumanTask.id, HumanTask.case_id, HumanTask.role, HumanTask.entity_code)
        .where(READY_TASK, HumanTask.assignee_id == holder_id)
        .order_by(HumanTask.case_id, HumanTask.id)
    ).all()
    numbers = []
    for task_id, _case_id, role, entity_code in held:
        if now_as is not None and may_do(now_as, role, entity_code):
            continue
        case, task = _locked(s, task_id)
        _hand(s, p, actor, case, task, None, None, EventKind.TASK_RELEASED)
        numbers.append(case.number)
    return numbers


def assign_task(p: Platform, actor: Actor, task_id: str, user_id: int) -> Handover:
    """Hand a task to another person who may do it (see the module's rules)."""
    with p.db.transaction() as s:
        case, task = _locked(s, task_id)
        target = _target(s, user_id)
        _check_assign(actor, task, target)
        if task.assignee_id == target.id:
            return Handover(0, target.name, [case.number])
        _hand(s, p, actor, case, task, target.id, target.name, EventKind.TASK_ASSIGNED)
    return Handover(1, target.name, [case.number])


def bulk_assign(
    p: Platform, actor: Actor, task_ids: Iterable[str], user_id: int
) -> Handover:
    """A supervisor hands many tasks to one person: all of them, or none.

    The cases are locked in id order (two bulk assignments never deadlock);
    a task the person may not do, or no longer ready, refuses the lot with a
    message naming its case.
    """
    if not actor.has(Role.SUPERVISOR):
        raise NotAllowed(N_("Solo el supervisor del 311 asigna tareas en bloque."))
    wanted = list(dict.fromkeys(task_ids))
    if not wanted:
        raise Conflict(N_("No eligió ninguna tarea."))
    if len(wanted) > BULK_LIMIT:
        raise NotAllowed(
            N_("Se asignan como máximo %(n)s tareas a la vez."), n=BULK_LIMIT
        )
    with p.db.transaction() as s:
        target = _target(s, user_id)
        case_ids = sorted(
            set(s.scalars(select(HumanTask.case_id).where(HumanTask.id.in_(wanted))))
        )
        cases = {
            c.id: c
            for c in s.scalars(
                select(Case)
                .where(Case.id.in_(case_ids))
                .order_by(Case.id)
                .with_for_update()
            )
        }
        tasks = {
            t.id: t
            for t in s.execute(
                select(HumanTask.__table__).where(HumanTask.id.in_(wanted))
            )
        }
        numbers = []
        for task_id in wanted:
            task = tasks.get(task_id)
            if task is None:
                raise NotFound(N_("La tarea no existe."))
            case = cases[task.case_id]
            if task.state != TaskState.READY:
                raise Conflict(
                    N_("Caso %(number)s: la tarea ya no está pendiente."),
                    number=case.number,
                )
            if not may_do(target, task.role, task.entity_code):
                raise NotAllowed(
                    N_("Caso %(number)s: %(who)s no puede hacer esa tarea."),
                    number=case.number,
                    who=target.name,
                )
            if task.assignee_id != target.id:
                _hand(
                    s,
                    p,
                    actor,
                    case,
                    task,
                    target.id,
                    target.name,
                    EventKind.TASK_ASSIGNED,
                )
                numbers.append(case.number)
    return Handover(len(numbers), target.name, numbers)


def _locked(s: Session, task_id: str) -> tuple[Case, Any]:
    """The task's case, locked, and the ready task row read after the lock."""
    case = s.scalars(_LOCK_CASE_OF_TASK, {"task_id": task_id}).first()
    if case is None:
        raise NotFound(N_("La tarea no existe."))
    task = s.connection().execute(_TASK, {"task_id": task_id}).one()
    _check_ready(task)
    return case, task


def _check_ready(task: Any) -> None:
    """Refuse a task that is no longer pending, naming who completed it."""
    if task.state == TaskState.READY:
        return
    if task.state == TaskState.COMPLETED and task.completed_at is not None:
        raise Conflict(
            N_("%(who)s ya completó esta tarea el %(when)s."),
            who=task.completed_by_label or "?",
            when=task.completed_at,
        )
    raise Conflict(N_("La tarea ya no está pendiente."))


def _target(s: Session, user_id: int) -> Actor:
    """The active user a task is handed to, as an actor."""
    user = s.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(N_("Esa persona no existe o no está activa."))
    return actor_from_user(user)


def _check_assign(actor: Actor, task: Any, target: Actor) -> None:
    """Refuse a handover the module's rules do not allow."""
    if task.role == Role.CITIZEN or not may_manage(actor, task.role, task.entity_code):
        raise NotAllowed(N_("Esta tarea no le corresponde."))
    if not may_do(target, task.role, task.entity_code):
        raise NotAllowed(
            N_("%(who)s no puede hacer esta tarea (rol o entidad)."), who=target.name
        )


def _hand(
    s: Session,
    p: Platform,
    actor: Actor,
    case: Case,
    task: Any,
    holder_id: int | None,
    holder: str | None,
    kind: EventKind,
) -> None:
    """Write the new holder, a timeline event and an audit record."""
    now = p.clock()
    s.connection().execute(
        _SET_HOLDER,
        {
            "task_id": task.id,
            "holder_id": holder_id,
            "holder_label": holder,
            "held_at": now if holder_id is not None else None,
        },
    )
    payload = {"task": task.name, "from": task.assignee_label, "to": holder}
    add_event(
        s,
        case,
        now,
        kind,
        actor,
        task.name,
        payload,
        public=False,
        task_bpmn_id=task.bpmn_id,
    )
    record(
        s, now, actor, str(kind), {"case": case.number, "task_id": task.id, **payload}
    )


def holder_conflict(task: Any, actor: Actor) -> Conflict | None:
    """The conflict of completing a task someone else holds (None: no one)."""
    if task.assignee_id is None or task.assignee_id == actor.id:
        return None
    return Conflict(
        N_("%(who)s tiene esta tarea asignada. ¿Completarla de todos modos?"),
        who=task.assignee_label or "?",
    )
