"""Citizens' tracking by number and access code."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from engine.bundles import forms
from engine.bundles.forms import Schema
from engine.bundles.registry import ParsedVersion
from engine.bundles.texts import LanguageTexts
from engine.domain.enums import CaseStatus, EventKind, Role, TaskState
from engine.domain.errors import (
    N_,
    NotFound,
)
from engine.domain.security import check_access_code
from engine.domain.views import (
    AttachmentFile,
    CitizenTask,
    EventView,
    PublicCase,
)
from engine.services.attachments import attachment_of, attachment_views, file_of
from engine.services.cases import labelled_answers, task_answers
from engine.services.common import form_view, parsed_version, sources_for
from engine.services.duplicates import parent_view
from engine.services.knowledge import linked_articles
from engine.services.location import location_view
from engine.services.platform import Platform
from engine.services.progress import milestones
from engine.services.timeline import event_roles
from engine.store.models import (
    Case,
    CaseEvent,
    Entity,
    HumanTask,
    ProcessVersion,
)
from engine.store.throttle import check_rate, count_failure


def verify_access(p: Platform, number: str, code: str, client: str) -> int:
    """Check a tracking number and access code; returns the case id.

    A wrong number and a wrong code give the same :class:`NotFound`, and
    every failure counts against (``client``, number) and against ``client``;
    past either limit the client gets :class:`TooManyAttempts` for that case
    (or, past the per-client one, for every case) until the window passes.
    """
    now = p.clock()
    number = number.strip().upper()[:40]
    # Guesses at one case are limited per (client, case); a looser limit per
    # client stops sweeping many cases. So citizens behind one public
    # address (an office, a mobile carrier) do not lock each other out.
    limits = p.limits
    per_case = f"track:{client}:{number}"
    per_client = f"track:{client}"
    window = limits.tracking_window_s
    with p.db.transaction() as s:
        check_rate(s, per_case, now, limits.tracking_attempts, window)
        check_rate(s, per_client, now, limits.tracking_client_attempts, window)
        row = s.execute(
            select(Case.id, Case.access_code_hash).where(Case.number == number)
        ).first()
        ok = row is not None and check_access_code(number, code, row[1])
        if not ok:
            count_failure(s, per_case, now, window)
            count_failure(s, per_client, now, window)
    if not ok or row is None:
        raise NotFound(N_("No encontramos un caso con ese número y código."))
    return int(row[0])


def track_case(
    p: Platform, number: str, code: str, *, client: str, language: str | None = None
) -> PublicCase:
    """A case's public view, by tracking number and access code.

    Includes the tasks waiting for the citizen (answer a question, rate the
    answer) with their forms; never staff names or internal data. The
    bundle's texts (title, statuses, milestones, the citizen's tasks and
    forms) are in ``language`` where the case's version gives them.
    """
    case_id = verify_access(p, number, code, client)
    return _public_case(p, case_id, language)


def tracked_case(
    p: Platform, number: str, *, language: str | None = None
) -> PublicCase:
    """The public view of a case this browser session proved access to.

    The web layer calls it for a case number its signed session holds,
    granted by a right code or a one-time link (never the code itself).
    """
    with p.db.read() as s:
        case_id = s.scalar(select(Case.id).where(Case.number == number.upper()))
    if case_id is None:
        raise NotFound(N_("No encontramos un caso con ese número y código."))
    return _public_case(p, int(case_id), language)


def _public_case(p: Platform, case_id: int, language: str | None) -> PublicCase:
    """The whole story of a case as its citizen may read it."""
    with p.db.read() as s:
        case = s.get(Case, case_id)
        assert case is not None
        version = s.get(ProcessVersion, case.process_version_id)
        assert version is not None
        # Public events, and the citizen's own answers (recorded as internal
        # task completions of the ``ciudadano`` lane).
        rows = s.scalars(
            select(CaseEvent)
            .where(
                CaseEvent.case_id == case.id,
                or_(
                    CaseEvent.public.is_(True),
                    CaseEvent.kind == EventKind.TASK_COMPLETED,
                ),
            )
            .order_by(CaseEvent.at, CaseEvent.id)
        ).all()
        events = [e for e in rows if e.public or _by_citizen(e)]
        entity = s.get(Entity, case.entity_code) if case.entity_code else None
        parsed = parsed_version(p, version)
        texts = parsed.in_language(language)
        roles = event_roles(s, events, parsed)
        everything = [_public_event(e, roles[e.id], parsed, texts) for e in events]
        # Milestone events place the step indicator; the story is the rest.
        timeline = [e for e in everything if e.kind != EventKind.MILESTONE]
        ready = s.scalars(
            select(HumanTask)
            .where(HumanTask.case_id == case.id, HumanTask.state == TaskState.READY)
            .order_by(HumanTask.created_at)
        ).all()
        waiting = [t for t in ready if t.role == Role.CITIZEN]
        entity_dues = [
            t.due_at for t in ready if t.role == Role.LIAISON and t.due_at is not None
        ]
        tasks = []
        for t in waiting:
            info = parsed.tasks.get(t.bpmn_id)
            schema = texts.form(t.form, parsed.form(t.form))
            tasks.append(
                CitizenTask(
                    id=t.id,
                    name=texts.task_name(t.bpmn_id, t.name),
                    instructions=texts.instructions(
                        t.bpmn_id, info.instructions if info else ""
                    ),
                    due_at=t.due_at,
                    form=form_view(schema, sources_for(s, schema)),
                    context=_asked_with(events, t.created_at),
                    survey=bool(info and info.props.get("encuesta") == "true"),
                )
            )
        articles = linked_articles(
            s,
            (
                article
                for e in timeline
                if e.kind == EventKind.PUBLIC_NOTE
                for article in e.data.get("articles", [])
            ),
        )
        parent = parent_view(s, p, case)
        wait = ("rate" if tasks[0].survey else "answer") if tasks else ""
        return PublicCase(
            number=case.number,
            case_type=case.case_type,
            title=texts.title or version.title,
            status=case.status,
            public_status=texts.status(case.public_status) or "",
            created_at=case.created_at,
            updated_at=case.updated_at,
            closed_at=case.closed_at,
            entity_name=entity.name if entity else None,
            timeline=timeline,
            tasks=tasks,
            reopen_count=case.reopen_count,
            # A merged duplicate goes where its parent goes.
            milestones=parent.milestones
            if parent is not None
            else milestones(
                [
                    (key, texts.milestone(key, label))
                    for key, label in parsed.milestones
                ],
                case.milestone,
                case.status,
                everything,
                waiting=wait,
            ),
            articles=articles,
            attachments=attachment_views(s, case.id, citizen=True),
            merged_into=parent,
            submission=_submission(
                texts.form(parsed.start_form, parsed.form(parsed.start_form)), events
            ),
            identity_reserved=case.identity_reserved,
            entity_due_at=min(entity_dues) if entity_dues else None,
            next_step=_next_step(case, wait, parent is not None, bool(entity_dues)),
            location=location_view(
                case, parsed.form(parsed.start_form), _intake_data(events)
            ),
        )


def _by_citizen(e: CaseEvent) -> bool:
    """A task the citizen completed (their answer or rating)."""
    data = e.data if isinstance(e.data, dict) else {}
    return e.kind == EventKind.TASK_COMPLETED and data.get("role") == Role.CITIZEN


def _submission(intake: Schema, events: list[CaseEvent]) -> tuple[tuple[str, Any], ...]:
    """What the citizen filed, in the intake form's words and order.

    Staff-only fields (an agent's notes at a phone intake) are left out;
    personal data never was in the filing's event (it is the case's
    contact, sealed for a reserved identity).
    """
    created = next((e for e in events if e.kind == EventKind.CREATED), None)
    data = (created.data or {}).get("data") if created is not None else None
    if not isinstance(data, dict):
        return ()
    schema = forms.without_staff_fields(intake)
    personal = set(forms.personal_fields(schema))
    ordered = {
        name: data[name]
        for name in forms.fields(schema)
        if name in data and name not in personal
    }
    return labelled_answers(schema, ordered, with_public=True)


def _asked_with(
    events: list[CaseEvent], created_at: datetime
) -> tuple[tuple[str, Any], ...]:
    """The public texts written by the step that gave the citizen a task.

    A task appears in the step that published what it is about (the
    entity's question, the answer to rate): those public notes carry the
    task's creation time.
    """
    return tuple(
        (str(f.get("label", "")), f.get("value"))
        for e in events
        if e.kind == EventKind.PUBLIC_NOTE and e.at == created_at
        for f in (e.data or {}).get("fields", [])
        if isinstance(f, dict)
    )


def _next_step(case: Case, wait: str, merged: bool, entity_due: bool) -> str:
    """What happens next, for the page's sentence (see ``NEXT_STEPS``)."""
    if wait:
        return wait
    if merged:
        return "merged"
    if case.status == CaseStatus.CLOSED:
        return "closed"
    return "entity" if entity_due or case.entity_code else "center"


def citizen_attachment(
    p: Platform, number: str, code: str, attachment_id: str, *, client: str
) -> AttachmentFile:
    """A public, unsealed file of the case proven by number and access code."""
    case_id = verify_access(p, number, code, client)
    return _citizen_file(p, case_id, attachment_id)


def tracked_attachment(p: Platform, number: str, attachment_id: str) -> AttachmentFile:
    """A public, unsealed file of a case the session proved access to."""
    with p.db.read() as s:
        case_id = s.scalar(select(Case.id).where(Case.number == number.upper()))
    if case_id is None:
        raise NotFound(N_("El archivo no existe."))
    return _citizen_file(p, int(case_id), attachment_id)


def _citizen_file(p: Platform, case_id: int, attachment_id: str) -> AttachmentFile:
    """A file of the case the citizen may download (public, not sealed)."""
    with p.db.read() as s:
        row = attachment_of(s, case_id, attachment_id)
        if not row.public or row.sealed:
            raise NotFound(N_("El archivo no existe."))
        return file_of(p, s, row, None)


def _intake_data(events: Sequence[CaseEvent]) -> dict[str, Any]:
    """What the intake form held (the ``created`` event's data), for the
    case's address; empty when there is none."""
    for e in events:
        if e.kind == EventKind.CREATED:
            data = (e.data or {}).get("data")
            return dict(data) if isinstance(data, dict) else {}
    return {}


def _form_of(parsed: ParsedVersion, e: CaseEvent) -> tuple[str | None, Schema]:
    """The form an event's answers came from (the intake form when no task)."""
    info = parsed.tasks.get(e.task_bpmn_id or "")
    name = info.form if info is not None else parsed.start_form
    return name, parsed.forms.get(name or "", {})


def _public_event(
    e: CaseEvent, role: tuple[str, str], parsed: ParsedVersion, texts: LanguageTexts
) -> EventView:
    """A public event without staff names or internal data.

    Who acted shows as their role (an enlace's with its entity), never as
    the person's name. The citizen's own answers show in their form's words.
    Statuses, task names and the titles of published fields are in the
    citizen's language where the bundle gives them (``texts``).
    """
    data = dict(e.data or {})
    if isinstance(data.get("status"), str):
        data["status"] = texts.status(data["status"])
    if isinstance(data.get("task"), str):
        data["task"] = texts.task_name(e.task_bpmn_id, data["task"])
    if e.kind == EventKind.PUBLIC_NOTE and isinstance(data.get("fields"), list):
        name, schema = _form_of(parsed, e)
        data["fields"] = [
            {**f, "label": texts.field_title(name, schema, str(f["label"]))}
            if isinstance(f, dict) and "label" in f
            else f
            for f in data["fields"]
        ]
    fields: tuple[tuple[str, Any], ...] = ()
    if e.kind == EventKind.TASK_COMPLETED:
        fields = task_answers(parsed, e.task_bpmn_id, data.get("data"))
        data = {"task": data.get("task", e.summary)}
    elif e.kind == EventKind.CREATED:
        data = {"channel": data.get("channel")}
    elif e.kind in (EventKind.MERGED, EventKind.UNMERGED):
        # What a separation restores and why stay with staff.
        data = {"parent": data.get("parent"), "note": data.get("note", "")}
    return EventView(
        at=e.at,
        kind=e.kind,
        actor="",
        summary=e.summary,
        data=data,
        public=True,
        fields=fields,
        role=role[0],
        role_entity=role[1],
    )
