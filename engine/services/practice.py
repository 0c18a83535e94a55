"""Practice mode: designers try a version (a draft or any other) end to end.

A practice case is filed like a citizen's, on the version the designer
chose, and flagged (``case.practice``). Designers (and admins) work its
tasks with every lane's role, and only they see it: it is left out of the
staff's queues, search, dashboards, transparency, Open311, open data and
the duplicate finder. Practice cases are the only cases ever deleted: a
designer deletes one, or all of a version's; the deletion is audited and
the case's own rows go (its timeline events too: the database lets the
events of a practice case go, and no other).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.domain.enums import TaskState
from engine.domain.errors import N_, NotFound
from engine.domain.views import Actor, IntakeView, OpenedCase, Upload
from engine.services import intake
from engine.services.common import (
    form_view,
    parsed_by_id,
    require_designer,
    sources_for,
)
from engine.services.location import location_field
from engine.services.platform import Platform
from engine.store.accounts import AuditLog
from engine.store.models import Case, CaseEvent, HumanTask, ProcessVersion
from engine.store.publishing import Outbox


@dataclass(frozen=True)
class PracticeTask:
    """A ready task of a practice case (any lane: the designer does it)."""

    id: str
    name: str
    role: str


@dataclass(frozen=True)
class PracticeCase:
    """One practice case of a version, with its ready tasks."""

    number: str
    created_at: datetime
    status: str
    public_status: str
    created_by: str
    tasks: list[PracticeTask] = field(default_factory=list)


def _version_id(s: Session, case_type: str, version: int) -> int:
    """The id of a version of a case type (NotFound)."""
    found = s.scalar(
        select(ProcessVersion.id).where(
            ProcessVersion.case_type == case_type,
            ProcessVersion.version == version,
        )
    )
    if found is None:
        raise NotFound(N_("No existe esa versión."))
    return found


def practice_intake(
    p: Platform, actor: Actor, case_type: str, version: int
) -> IntakeView:
    """The intake form of one version, as a citizen gets it, for practice."""
    require_designer(actor)
    with p.db.read() as s:
        version_id = _version_id(s, case_type, version)
        title = s.scalar(
            select(ProcessVersion.title).where(ProcessVersion.id == version_id)
        )
        parsed = parsed_by_id(p, s, version_id)
        schema = forms.without_staff_fields(parsed.form(parsed.start_form))
        sources = sources_for(s, schema)
    return IntakeView(
        case_type=case_type,
        title=str(title),
        description=str(schema.get("description", "")),
        form=form_view(schema, sources),
        reservable=any(
            spec.get("x-reserva-identidad") for spec in forms.fields(schema).values()
        ),
        location_field=location_field(schema),
        max_files=p.limits.intake_files,
    )


def open_practice_case(
    p: Platform,
    actor: Actor,
    case_type: str,
    version: int,
    data: Mapping[str, Any],
    *,
    files: Sequence[Upload] = (),
    latitude: object = None,
    longitude: object = None,
    idempotency_key: str | None = None,
) -> OpenedCase:
    """File a practice case on ``version`` of ``case_type`` from its intake.

    The same filing as a citizen's (:func:`engine.services.intake.open_case`,
    web channel), on the chosen version, flagged as practice.
    """
    require_designer(actor)
    with p.db.read() as s:
        version_id = _version_id(s, case_type, version)
    return intake.open_case(
        p,
        case_type,
        data,
        actor=actor,
        files=files,
        latitude=latitude,
        longitude=longitude,
        idempotency_key=idempotency_key,
        practice_version=version_id,
    )


def list_practice_cases(
    p: Platform, actor: Actor, case_type: str, version: int
) -> list[PracticeCase]:
    """The practice cases of a version, newest first, with their ready tasks."""
    require_designer(actor)
    with p.db.read() as s:
        version_id = _version_id(s, case_type, version)
        cases = list(
            s.scalars(
                select(Case)
                .where(Case.practice.is_(True), Case.process_version_id == version_id)
                .order_by(Case.id.desc())
            )
        )
        tasks: dict[int, list[PracticeTask]] = {}
        if cases:
            rows = s.execute(
                select(HumanTask.case_id, HumanTask.id, HumanTask.name, HumanTask.role)
                .where(
                    HumanTask.case_id.in_([c.id for c in cases]),
                    HumanTask.state == TaskState.READY.value,
                )
                .order_by(HumanTask.created_at)
            )
            for case_id, task_id, name, role in rows:
                tasks.setdefault(case_id, []).append(PracticeTask(task_id, name, role))
        creators = _creators(s, cases)
        return [
            PracticeCase(
                number=c.number,
                created_at=c.created_at,
                status=c.status,
                public_status=c.public_status,
                created_by=creators.get(c.id, ""),
                tasks=tasks.get(c.id, []),
            )
            for c in cases
        ]


def _creators(s: Session, cases: list[Case]) -> dict[int, str]:
    """Case id → the name of who filed it (its ``created`` event's actor)."""
    if not cases:
        return {}
    rows = s.execute(
        select(CaseEvent.case_id, CaseEvent.actor_label).where(
            CaseEvent.case_id.in_([c.id for c in cases]), CaseEvent.kind == "created"
        )
    )
    return {case_id: label or "" for case_id, label in rows}


def delete_practice_case(p: Platform, actor: Actor, number: str) -> None:
    """Delete one practice case (never a real one: NotFound); audited."""
    require_designer(actor)
    with p.db.transaction() as s:
        found = s.execute(
            select(Case.id, Case.case_type, Case.process_version_id).where(
                Case.number == number, Case.practice.is_(True)
            )
        ).first()
        if found is None:
            raise NotFound(N_("No existe ese caso de práctica."))
        delete_cases(s, found.process_version_id, case_id=found.id)
        s.add(
            AuditLog(
                at=p.clock(),
                actor=actor.username,
                action="practice_deleted",
                detail={"case_type": found.case_type, "cases": [number]},
            )
        )


def delete_practice_cases(
    p: Platform, actor: Actor, case_type: str, version: int
) -> int:
    """Delete every practice case of a version; audited; returns how many."""
    require_designer(actor)
    with p.db.transaction() as s:
        version_id = _version_id(s, case_type, version)
        numbers = delete_cases(s, version_id)
        if numbers:
            s.add(
                AuditLog(
                    at=p.clock(),
                    actor=actor.username,
                    action="practice_deleted",
                    detail={
                        "case_type": case_type,
                        "version": version,
                        "cases": numbers,
                    },
                )
            )
    return len(numbers)


def delete_cases(
    s: Session, version_id: int, *, case_id: int | None = None
) -> list[str]:
    """Delete practice cases of a version (or just ``case_id``) in ``s``.

    The storage step of the deletions above: the timeline events first (the
    append-only guard lets a practice case's go while the case is there),
    the mail queued for them, then the cases; their other rows (state,
    tasks, files, search row, ratings, links) go with them by cascade.
    Returns the numbers deleted; never touches a real case.
    """
    query = select(Case.id, Case.number).where(
        Case.practice.is_(True), Case.process_version_id == version_id
    )
    if case_id is not None:
        query = query.where(Case.id == case_id)
    found = s.execute(query).all()
    ids = [row.id for row in found]
    if not ids:
        return []
    s.execute(delete(CaseEvent).where(CaseEvent.case_id.in_(ids)))
    s.execute(delete(Outbox).where(Outbox.case_id.in_(ids)))
    s.execute(update(Case).where(Case.parent_id.in_(ids)).values(parent_id=None))
    s.execute(
        delete(Case).where(Case.id.in_(ids), Case.practice.is_(True)),
        execution_options={"synchronize_session": False},
    )
    return [row.number for row in found]
