"""Citizens' tracking by number and access code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from engine.bundles.forms import Schema
from engine.bundles.registry import ParsedVersion
from engine.bundles.texts import LanguageTexts
from engine.domain.enums import EventKind, Role, TaskState
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
    with p.db.read() as s:
        case = s.get(Case, case_id)
        assert case is not None
        version = s.get(ProcessVersion, case.process_version_id)
        assert version is not None
        events = s.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.public.is_(True))
            .order_by(CaseEvent.at, CaseEvent.id)
        ).all()
        entity = s.get(Entity, case.entity_code) if case.entity_code else None
        parsed = parsed_version(p, version)
        texts = parsed.in_language(language)
        roles = event_roles(s, events, parsed)
        everything = [
            _public_event(e, roles[e.id], texts, _form_of(parsed, e)) for e in events
        ]
        # Milestone events place the step indicator; the story is the rest.
        timeline = [e for e in everything if e.kind != EventKind.MILESTONE]
        waiting = s.scalars(
            select(HumanTask)
            .where(
                HumanTask.case_id == case.id,
                HumanTask.state == TaskState.READY,
                HumanTask.role == Role.CITIZEN,
            )
            .order_by(HumanTask.created_at)
        ).all()
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
                waiting=bool(tasks),
            ),
            articles=articles,
            attachments=attachment_views(s, case.id, citizen=True),
            merged_into=parent,
            location=location_view(
                case, parsed.form(parsed.start_form), _intake_data(events)
            ),
        )


def citizen_attachment(
    p: Platform, number: str, code: str, attachment_id: str, *, client: str
) -> AttachmentFile:
    """A public, unsealed file of the case proven by number and access code."""
    case_id = verify_access(p, number, code, client)
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
    e: CaseEvent,
    role: tuple[str, str],
    texts: LanguageTexts,
    form: tuple[str | None, Schema],
) -> EventView:
    """A public event without staff names or internal data.

    Who acted shows as their role (an enlace's with its entity), never as
    the person's name. Statuses, task names and the titles of published
    fields (of ``form``) are in the citizen's language where the bundle
    gives them (``texts``).
    """
    data = dict(e.data or {})
    if isinstance(data.get("status"), str):
        data["status"] = texts.status(data["status"])
    if isinstance(data.get("task"), str):
        data["task"] = texts.task_name(e.task_bpmn_id, data["task"])
    if e.kind == EventKind.PUBLIC_NOTE and isinstance(data.get("fields"), list):
        data["fields"] = [
            {**f, "label": texts.field_title(form[0], form[1], str(f["label"]))}
            if isinstance(f, dict) and "label" in f
            else f
            for f in data["fields"]
        ]
    if e.kind == EventKind.CREATED:
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
        role=role[0],
        role_entity=role[1],
    )
