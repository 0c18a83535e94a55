"""Who acted on each timeline event, by role: shared by the staff case page
and the citizen's tracking page."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.bundles.registry import ParsedVersion
from engine.domain.enums import EventKind, Role
from engine.domain.views import acting_entity, acting_role
from engine.store.accounts import User
from engine.store.models import CaseEvent

#: Events that record a task's answers: done in the role of the task's lane.
LANE_EVENTS = frozenset({EventKind.TASK_COMPLETED, EventKind.PUBLIC_NOTE})


def event_roles(
    s: Session, events: Sequence[CaseEvent], parsed: ParsedVersion | None
) -> dict[int, tuple[str, str]]:
    """Each event's (role, enlace's entity code) by event id.

    Events written since roles were recorded carry them in ``data``
    (``role``, ``role_entity``). Older ones are read as well as can be
    without rewriting history: a task's answers in the role of its lane;
    anything else someone did in that person's role now (and an enlace's
    entity now, when it has one only); a filing nobody signed in for is the
    citizen's; the rest is the system's (empty role).
    """
    unknown = {e.actor_id for e in events if not _recorded(e) and e.actor_id}
    people = (
        {
            u.id: u
            for u in s.scalars(
                select(User)
                .where(User.id.in_(unknown))
                .options(selectinload(User.roles), selectinload(User.entities))
            )
        }
        if unknown
        else {}
    )
    roles = {}
    for e in events:
        data = e.data or {}
        if _recorded(e):
            roles[e.id] = (str(data["role"]), str(data.get("role_entity") or ""))
            continue
        user = people.get(e.actor_id) if e.actor_id else None
        role = ""
        info = parsed.tasks.get(e.task_bpmn_id or "") if parsed else None
        if e.kind in LANE_EVENTS and info is not None and info.lane:
            role = info.lane
        elif user is not None:
            role = acting_role({r.role_key for r in user.roles}) or ""
        elif e.kind == EventKind.CREATED and e.actor_id is None:
            role = Role.CITIZEN
        # Several entities now: which one it acted for is not known.
        entity = (
            acting_entity(user.entity_codes, None)
            if user and role == Role.LIAISON
            else None
        )
        roles[e.id] = (role, entity or "")
    return roles


def _recorded(e: CaseEvent) -> bool:
    """Whether the event stored the role it was done in."""
    return isinstance(e.data, dict) and isinstance(e.data.get("role"), str)
