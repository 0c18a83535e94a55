"""The inbox: one page of a tab with the count of every tab.

Tabs (``mine``, ``role``, ``entity``, ``overdue``) are plain SQL over ready
``human_task`` rows. Each tab is one or more *lanes* (a role, maybe an
entity, maybe a holder); each lane walks a partial index in due-date order
(see ``HumanTask.__table_args__``), and a tab of several lanes merges their
first rows. Counts stop after :data:`COUNT_LIMIT` tasks per tab, and so does
paging: at a million cases neither a page nor a count reads more than that.
Claiming and handing tasks over is :mod:`engine.services.queues`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    func,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from engine.domain.enums import Role
from engine.domain.errors import N_, NotAllowed
from engine.domain.views import Actor, TaskSummary
from engine.domain.workspace import QUEUE_TABS, QueuePage
from engine.services.common import (
    PRACTICE_CASE_IDS,
    may_do,
    type_titles,
)
from engine.services.platform import Platform
from engine.services.queues import CENTER_ROLES, READY_TASK, assignable_users
from engine.store.models import Case, HumanTask

#: Tasks per page.
PAGE_SIZE = 25


#: Counting stops after this many tasks per tab (and so does paging).
COUNT_LIMIT = 1_000


def _lanes(actor: Actor, tab: str) -> list[dict[str, Any]] | None:
    """The lanes of ``tab`` for ``actor``; None if the actor has no such tab.

    A lane is the conditions of one index walk: ``role``, ``entity``,
    ``holder`` (a user id), ``unclaimed``, ``overdue``.
    """
    center = [r for r in CENTER_ROLES if r in actor.effective_roles]
    # An enlace's entities, one lane each (each lane walks its own index
    # range; the tab merges their first rows).
    entities = sorted(actor.entity_codes) if actor.has(Role.LIAISON) else []
    supervisor = actor.has(Role.SUPERVISOR)
    lanes: list[dict[str, Any]] = []
    if tab == "mine":
        if center or entities:
            lanes.append({"holder": actor.id})
    elif tab == "role":
        lanes += [{"role": r, "unclaimed": True} for r in center]
        lanes += [
            {"role": Role.LIAISON, "entity": e, "unclaimed": True} for e in entities
        ]
    elif tab == "entity":
        if supervisor:
            lanes.append({"role": Role.LIAISON})
        else:
            lanes += [{"role": Role.LIAISON, "entity": e} for e in entities]
    elif tab == "overdue":
        if supervisor:
            roles = [*CENTER_ROLES, Role.LIAISON]
            lanes += [{"role": r, "overdue": True} for r in roles]
        else:
            lanes += [{"role": r, "overdue": True} for r in center]
            lanes += [
                {"role": Role.LIAISON, "entity": e, "overdue": True} for e in entities
            ]
    return lanes or None


def _lane_query(lane: dict[str, Any], now: datetime, *columns: Any) -> Select[Any]:
    """The ready tasks of one lane (``columns`` of them), practice cases'
    left out (those are the designers', worked from the version page)."""
    conditions: list[Any] = [READY_TASK, HumanTask.case_id.not_in(PRACTICE_CASE_IDS)]
    if lane.get("unclaimed"):
        conditions.append(HumanTask.assignee_id.is_(None))
    if "holder" in lane:
        conditions.append(HumanTask.assignee_id == lane["holder"])
    if "role" in lane:
        conditions.append(HumanTask.role == lane["role"])
    if "entity" in lane:
        conditions.append(HumanTask.entity_code == lane["entity"])
    if lane.get("overdue"):
        conditions.append(HumanTask.due_at < now)
    return select(*columns).where(*conditions)


def _order(table: Any) -> list[Any]:
    """Due date first (tasks without one last), then the oldest, then the id."""
    return [table.due_at.asc().nulls_last(), table.created_at.asc(), table.id.asc()]


def list_queue(p: Platform, actor: Actor, tab: str = "", page: int = 1) -> QueuePage:
    """One page of an inbox tab of ``actor``, with the count of every tab.

    ``tab`` empty: "mine" if the actor holds tasks, else the unclaimed
    queue. A tab the actor does not have raises :class:`NotAllowed`.
    """
    now = p.clock()
    tabs = {name: _lanes(actor, name) for name in QUEUE_TABS}
    shown = {name: lanes for name, lanes in tabs.items() if lanes}
    if not shown:
        raise NotAllowed(N_("La bandeja de tareas es para el personal."))
    if tab and tab not in shown:
        raise NotAllowed(N_("Esa bandeja no le corresponde."))
    page = max(1, min(page, -(-COUNT_LIMIT // PAGE_SIZE)))
    with p.db.read() as s:
        counts = _counts(s, shown, now)
        if not tab:
            tab = (
                "mine" if counts.get("mine") else next(t for t in shown if t != "mine")
            )
        offset = (page - 1) * PAGE_SIZE
        ids = _page_ids(s, shown[tab], now, offset)
        tasks = _summaries(s, ids, actor)
        assignable = assignable_users(s, actor) if actor.has(Role.SUPERVISOR) else []
    return QueuePage(
        tab=tab,
        tasks=tasks,
        counts={name: min(n, COUNT_LIMIT) for name, n in counts.items()},
        capped=frozenset(name for name, n in counts.items() if n > COUNT_LIMIT),
        count_limit=COUNT_LIMIT,
        page=page,
        page_size=PAGE_SIZE,
        assignable=assignable,
    )


def first_page_statements(actor: Actor, tab: str, now: datetime) -> list[Any]:
    """The statements one lane of ``tab`` runs for a first page and its count.

    For checking query plans (each must walk one of the partial indexes);
    empty if the actor has no such tab.
    """
    statements: list[Any] = []
    for lane in _lanes(actor, tab) or []:
        columns = (HumanTask.id, HumanTask.due_at, HumanTask.created_at)
        walk = _lane_query(lane, now, *columns).order_by(*_order(HumanTask))
        statements.append(walk.limit(PAGE_SIZE))
        statements.append(_lane_query(lane, now, HumanTask.id).limit(COUNT_LIMIT + 1))
    return statements


def _counts(
    s: Session, tabs: dict[str, list[dict[str, Any]]], now: datetime
) -> dict[str, int]:
    """Tasks per tab, up to ``COUNT_LIMIT + 1`` per lane, in one query."""
    columns = []
    for name, lanes in tabs.items():
        for i, lane in enumerate(lanes):
            walked = _lane_query(lane, now, HumanTask.id).limit(COUNT_LIMIT + 1)
            columns.append(
                select(func.count())
                .select_from(walked.subquery())
                .scalar_subquery()
                .label(f"{name}_{i}")
            )
    row = s.execute(select(*columns)).one()._mapping
    return {
        name: sum(int(row[f"{name}_{i}"]) for i in range(len(lanes)))
        for name, lanes in tabs.items()
    }


def _page_ids(
    s: Session, lanes: list[dict[str, Any]], now: datetime, offset: int
) -> list[str]:
    """The ids of one page: each lane's first rows merged, in due order."""
    columns = (HumanTask.id, HumanTask.due_at, HumanTask.created_at)
    walks = [
        _lane_query(lane, now, *columns)
        .order_by(*_order(HumanTask))
        .limit(offset + PAGE_SIZE)
        for lane in lanes
    ]
    if len(walks) == 1:
        query = walks[0].offset(offset).limit(PAGE_SIZE)
        return list(s.scalars(query))
    merged = union_all(*(w.subquery().select() for w in walks)).subquery()
    query = (
        select(merged.c.id).order_by(*_order(merged.c)).offset(offset).limit(PAGE_SIZE)
    )
    return list(s.scalars(query))


def _summaries(s: Session, ids: Sequence[str], actor: Actor) -> list[TaskSummary]:
    """The inbox rows of these tasks, in this order."""
    if not ids:
        return []
    rows = {
        task.id: (task, number, subject, case_type)
        for task, number, subject, case_type in s.execute(
            select(HumanTask, Case.number, Case.subject, Case.case_type)
            .join(Case, Case.id == HumanTask.case_id)
            .where(HumanTask.id.in_(ids))
        )
    }
    titles = type_titles(s)
    return [summary(*rows[i], titles, actor) for i in ids if i in rows]


def summary(
    task: HumanTask,
    number: str,
    subject: str,
    case_type: str,
    titles: dict[str, str],
    actor: Actor,
) -> TaskSummary:
    """One inbox row of a task (with its case's number, subject and type)."""
    held = task.assignee_id is not None
    return TaskSummary(
        id=task.id,
        case_number=number,
        case_title=titles.get(case_type, case_type),
        subject=subject,
        name=task.name,
        role=task.role,
        entity_code=task.entity_code,
        created_at=task.created_at,
        due_at=task.due_at,
        assignee_id=task.assignee_id,
        assignee=task.assignee_label,
        may_claim=not held and may_do(actor, task.role, task.entity_code),
        may_release=held
        and (task.assignee_id == actor.id or actor.has(Role.SUPERVISOR)),
    )
