"""The staff case page and unsealing a reserved identity."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.bundles.registry import ParsedVersion
from engine.domain import sealing
from engine.domain.enums import EventKind, Role, TaskState
from engine.domain.errors import (
    N_,
    NotFound,
    ProcessFailed,
)
from engine.domain.views import (
    Actor,
    CaseView,
    EventView,
    TaskSummary,
)
from engine.services.attachments import attachment_views
from engine.services.common import (
    may_work,
    parsed_version,
    unsealing_reason,
    visible_case,
)
from engine.services.events import add_event
from engine.services.location import location_view
from engine.services.platform import Platform
from engine.services.timeline import event_roles
from engine.store.models import (
    Case,
    CaseEvent,
    Entity,
    HumanTask,
    ProcessVersion,
)


def get_case(p: Platform, actor: Actor, number: str) -> CaseView:
    """A case page for staff: data, contact, open tasks and the audit trail."""
    with p.db.read() as s:
        case = visible_case(s, actor, number)
        version = s.get(ProcessVersion, case.process_version_id)
        assert version is not None
        data: dict[str, Any] = {}
        created = s.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.CREATED)
            .limit(1)
        ).first()
        if created and created.data:
            data = dict(created.data.get("data") or {})
        return case_view(s, p, case, version, actor, data=data)


def case_view(
    s: Session,
    p: Platform,
    case: Case,
    version: ProcessVersion,
    actor: Actor,
    *,
    data: dict[str, Any],
) -> CaseView:
    """Build a staff case view (the caller has checked access)."""
    events = s.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.at, CaseEvent.id)
    ).all()
    open_tasks = s.scalars(
        select(HumanTask)
        .where(HumanTask.case_id == case.id, HumanTask.state == TaskState.READY)
        .order_by(HumanTask.created_at)
    ).all()
    entity = s.get(Entity, case.entity_code) if case.entity_code else None
    parsed = parsed_version(p, version)
    shown = [e for e in events if _may_see_event(actor, e)]
    roles = event_roles(s, shown, parsed)
    # The citizen's own fields (the intake form's, and those of the tasks
    # in the citizen's lane) are the case's data; their words win: the same
    # name (``entidad``, ``nota``) means something else in a staff form.
    citizens = [parsed.form(parsed.start_form)] + [
        parsed.form(t.form)
        for t in parsed.tasks.values()
        if t.lane == Role.CITIZEN and t.form
    ]
    citizen_fields = {name for schema in citizens for name in forms.fields(schema)}
    schemas = [*parsed.forms.values(), *reversed(citizens)]
    labels = {
        name: str(spec.get("title", name))
        for schema in schemas
        for name, spec in forms.fields(schema).items()
    }
    value_labels = {
        name: {
            str(v): str(t)
            for v, t in zip(spec["enum"], spec["x-enum-labels"], strict=False)
        }
        for schema in schemas
        for name, spec in forms.fields(schema).items()
        if isinstance(spec.get("enum"), list)
        and isinstance(spec.get("x-enum-labels"), list)
    }
    return CaseView(
        number=case.number,
        case_type=case.case_type,
        title=version.title,
        version=version.version,
        channel=case.channel,
        status=case.status,
        public_status=case.public_status,
        entity_code=case.entity_code,
        entity_name=entity.name if entity else None,
        subject=case.subject,
        contact=dict(case.contact) if case.contact else None,
        # What the citizen's forms declare (with their labels): not the
        # diagram's own variables (suggestions, counters, computed dates),
        # nor staff fields left empty, nor staff answers, which the timeline
        # shows in their own forms' words.
        data={
            k: v
            for k, v in data.items()
            if k in citizen_fields and v is not None and not k.startswith("_")
        },
        created_at=case.created_at,
        updated_at=case.updated_at,
        closed_at=case.closed_at,
        error=case.error,
        events=[_event_view(e, parsed, roles[e.id]) for e in shown],
        open_tasks=[
            TaskSummary(
                id=t.id,
                case_number=case.number,
                case_title=version.title,
                subject=case.subject,
                name=t.name,
                role=t.role,
                entity_code=t.entity_code,
                created_at=t.created_at,
                due_at=t.due_at,
            )
            for t in open_tasks
            if may_work(actor, t.role, t.entity_code, practice=case.practice)
        ],
        labels=labels,
        due_at=case.due_at,
        overdue_at=case.overdue_at,
        reopen_count=case.reopen_count,
        identity_reserved=case.identity_reserved,
        value_labels=value_labels,
        attachments=attachment_views(s, case.id),
        location=location_view(case, parsed.form(parsed.start_form), data),
        practice=case.practice,
    )


#: Event kinds only the 311 supervisors see (who unsealed an identity, why).
SUPERVISOR_EVENTS = frozenset({EventKind.IDENTITY_UNSEALED})


def _may_see_event(actor: Actor, event: CaseEvent) -> bool:
    """Whether ``actor`` sees this event on the staff case page (milestone
    moves only place the citizen's step indicator: status events tell)."""
    if event.kind == EventKind.MILESTONE:
        return False
    return event.kind not in SUPERVISOR_EVENTS or actor.has(Role.SUPERVISOR)


def _event_view(
    e: CaseEvent, parsed: ParsedVersion, role: tuple[str, str] = ("", "")
) -> EventView:
    """An event row as plain data (a completed task's answers labelled)."""
    data = dict(e.data or {})
    return EventView(
        at=e.at,
        kind=e.kind,
        actor=e.actor_label,
        summary=e.summary,
        data=data,
        public=e.public,
        fields=task_answers(parsed, e.task_bpmn_id, data.get("data"))
        if e.kind == EventKind.TASK_COMPLETED
        else (),
        role=role[0],
        role_entity=role[1],
    )


def task_answers(
    parsed: ParsedVersion, bpmn_id: str | None, values: Any
) -> tuple[tuple[str, Any], ...]:
    """A task's internal answers in its own form's words: (title, value).

    Each form names its fields: the same name (``nota``) is a supervisor's
    note in one form and an enlace's in another, so labels come from the
    form of the task that was completed, never from the version's forms
    together. Empty answers and values the form does not declare are left
    out; enum values show their ``x-enum-labels``. ``x-public`` answers are
    left out too: the ``public_note`` event written with them shows them as
    public, and they must not sit under this internal event. A task the
    version no longer knows (a case moved to another version) shows its
    answers under the field names themselves rather than a guessed label.
    """
    if not isinstance(values, dict):
        return ()
    info = parsed.tasks.get(bpmn_id or "")
    schema = parsed.forms.get(info.form) if info and info.form else None
    if schema is None:
        return tuple(
            (str(name), value)
            for name, value in values.items()
            if value is not None and value != ""
        )
    return labelled_answers(schema, values)


def labelled_answers(
    schema: forms.Schema, values: dict[str, Any], *, with_public: bool = False
) -> tuple[tuple[str, Any], ...]:
    """``values`` in ``schema``'s words: (field title, value), in the order
    given, enum values by their ``x-enum-labels``.

    Empty answers and values the form does not declare are left out, and
    ``x-public`` ones unless ``with_public`` (a public note shows them).
    """
    specs = forms.fields(schema)
    answers = []
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None or value is None or value == "":
            continue
        if spec.get("x-public") and not with_public:
            continue
        shown = value
        if isinstance(spec.get("enum"), list) and isinstance(
            spec.get("x-enum-labels"), list
        ):
            shown = dict(
                zip(map(str, spec["enum"]), spec["x-enum-labels"], strict=False)
            ).get(str(value), value)
        answers.append((str(spec.get("title", name)), shown))
    return tuple(answers)


def unseal_identity(
    p: Platform, actor: Actor, number: str, reason: str
) -> dict[str, Any]:
    """Open a reserved identity: supervisors only, with a reason, audited.

    The unsealed contact is returned to the caller and never stored in the
    clear; the audit event records who, when and why (not the identity).
    """
    reason = unsealing_reason(actor, reason)
    with p.db.transaction() as s:
        case = s.scalars(select(Case).where(Case.number == number)).first()
        if case is None:
            raise NotFound(N_("El caso no existe."))
        if not case.identity_reserved or not case.sealed_contact:
            raise NotFound(N_("Este caso no tiene una identidad reservada."))
        if not p.identity_key:
            raise ProcessFailed(
                N_("La reserva de identidad no está configurada (IDENTITY_KEY).")
            )
        contact = sealing.unseal(p.identity_key, case.sealed_contact)
        add_event(
            s,
            case,
            p.clock(),
            EventKind.IDENTITY_UNSEALED,
            actor,
            N_("Identidad reservada consultada"),
            {"reason": reason[:1000]},
            public=False,
        )
    return contact
