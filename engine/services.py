"""Service functions: each one is one unit of work and returns plain data.

view → service → engine → store → commit. A service locks the case it
changes (``SELECT … FOR UPDATE`` on PostgreSQL; the ``lock_version`` column
everywhere), restores the workflow on its version's cached spec, runs it,
and writes state, projections and audit events in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import forms, mail, runtime, sealing, timekeeping
from engine.calendar import BusinessCalendar
from engine.errors import (
    N_,
    Conflict,
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
    ProcessFailed,
    ServiceError,
    TooManyAttempts,
)
from engine.models import (
    Case,
    CaseEvent,
    DayOff,
    Entity,
    HumanTask,
    ProcessVersion,
    RateLimit,
    SurveyResponse,
    TrackingSequence,
    User,
    UserRole,
    WorkflowState,
)
from engine.platform import Platform
from engine.registry import ParsedVersion, parse_bundle, seed_bundles
from engine.security import check_access_code, hash_access_code, new_access_code
from engine.views import (
    CHANNELS,
    Actor,
    CaseRow,
    CaseTypeInfo,
    CaseView,
    CitizenTask,
    CompletedTask,
    Dashboard,
    EventView,
    FormView,
    IntakeView,
    OpenedCase,
    PublicCase,
    TaskSummary,
    TaskView,
    VersionInfo,
)

PANAMA = ZoneInfo("America/Panama")
STAFF_ROLES = ("agente_311", "supervisor_311")


# --------------------------------------------------------------------------
# Process versions


def deploy_version(
    p: Platform, files: dict[str, str], *, deployed_by: str, note: str = ""
) -> VersionInfo:
    """Validate a bundle and store it as the next version of its case type.

    Raises :class:`BundleInvalid` (nothing stored) when any check fails. Two
    deploys at once both succeed with distinct version numbers: the unique
    (case type, version) constraint makes the loser retry with the next one.
    """
    parsed = parse_bundle(files)
    for _attempt in range(5):
        try:
            with p.db.transaction() as s:
                last = s.scalar(
                    select(func.max(ProcessVersion.version)).where(
                        ProcessVersion.case_type == parsed.case_type
                    )
                )
                row = ProcessVersion(
                    case_type=parsed.case_type,
                    version=(last or 0) + 1,
                    title=parsed.title,
                    content_hash=parsed.content_hash,
                    files=dict(files),
                    deployed_by=deployed_by,
                    deployed_at=p.clock(),
                    note=note,
                )
                s.add(row)
                s.flush()
                info = _version_info(row)
            p.specs.put(parsed)
            return info
        except IntegrityError:
            continue
    raise Conflict(N_("No se pudo asignar un número de versión; intente de nuevo."))


def deploy_seed(
    p: Platform, bpmn_root: Any, forms_root: Any, *, deployed_by: str = "sistema"
) -> list[VersionInfo]:
    """Deploy ``bpmn/<key>`` + ``forms/<key>`` as version 1 of new case types."""
    deployed = []
    with p.db.read() as s:
        known = set(s.scalars(select(ProcessVersion.case_type).distinct()))
    for key, files in seed_bundles(bpmn_root, forms_root).items():
        if key in known:
            continue
        deployed.append(
            deploy_version(
                p, files, deployed_by=deployed_by, note="Versión inicial (semilla)"
            )
        )
    return deployed


def list_case_types(p: Platform) -> list[CaseTypeInfo]:
    """The case types on offer: the newest version of each."""
    result = []
    with p.db.read() as s:
        for row in _latest_versions(s):
            parsed = _parsed(p, row)
            intake = parsed.form(parsed.start_form)
            result.append(
                CaseTypeInfo(
                    key=row.case_type,
                    title=row.title,
                    description=str(intake.get("description", "")),
                    version=row.version,
                )
            )
    return result


def list_versions(p: Platform, case_type: str | None = None) -> list[VersionInfo]:
    """Every deployed version, newest first."""
    with p.db.read() as s:
        query = select(ProcessVersion).order_by(
            ProcessVersion.case_type, ProcessVersion.version.desc()
        )
        if case_type:
            query = query.where(ProcessVersion.case_type == case_type)
        return [_version_info(r) for r in s.scalars(query)]


def _latest_versions(s: Session) -> list[ProcessVersion]:
    """The newest version row of each case type."""
    newest = (
        select(ProcessVersion.case_type, func.max(ProcessVersion.version).label("v"))
        .group_by(ProcessVersion.case_type)
        .subquery()
    )
    query = (
        select(ProcessVersion)
        .join(
            newest,
            (ProcessVersion.case_type == newest.c.case_type)
            & (ProcessVersion.version == newest.c.v),
        )
        .order_by(ProcessVersion.case_type)
    )
    return list(s.scalars(query))


def _latest_version(s: Session, case_type: str) -> ProcessVersion:
    """The newest version of a case type, or NotFound."""
    row = s.scalars(
        select(ProcessVersion)
        .where(ProcessVersion.case_type == case_type)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(N_("No existe ese tipo de caso."))
    return row


def _parsed(p: Platform, row: ProcessVersion) -> ParsedVersion:
    """The cached parsed spec of a version row (its files load on a miss)."""
    return p.specs.get(row.content_hash, lambda: dict(row.files))


def _version_info(row: ProcessVersion) -> VersionInfo:
    """A version row as plain data."""
    return VersionInfo(
        id=row.id,
        case_type=row.case_type,
        version=row.version,
        title=row.title,
        content_hash=row.content_hash,
        deployed_by=row.deployed_by,
        deployed_at=row.deployed_at,
        note=row.note,
    )


# --------------------------------------------------------------------------
# Intake


def _sources(s: Session, schema: forms.Schema) -> dict[str, list[tuple[str, str]]]:
    """Choices for the ``x-source`` fields of ``schema``, from the database."""
    wanted = {spec.get("x-source") for spec in forms.fields(schema).values()}
    if "entidades" not in wanted:
        return {}
    entities = s.execute(
        select(Entity.code, Entity.name)
        .where(Entity.active.is_(True))
        .order_by(Entity.code)
    ).all()
    return {"entidades": [(code, f"{code} — {name}") for code, name in entities]}


def _form_view(schema: dict[str, Any], sources: Mapping[str, Any]) -> FormView:
    """A schema with the options of its ``x-source`` fields filled in."""
    options = {}
    for name, spec in forms.fields(schema).items():
        source = spec.get("x-source")
        if isinstance(source, str) and source in sources:
            options[name] = list(sources[source])
    return FormView(schema=schema, options=options)


def _allowed(sources: Mapping[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
    """Allowed values per source, for validation."""
    return {key: [code for code, _ in values] for key, values in sources.items()}


def get_intake(p: Platform, case_type: str) -> IntakeView:
    """The intake form of the newest version of a case type."""
    with p.db.read() as s:
        row = _latest_version(s, case_type)
        parsed = _parsed(p, row)
        schema = parsed.form(parsed.start_form)
        sources = _sources(s, schema)
    return IntakeView(
        case_type=case_type,
        title=row.title,
        description=str(schema.get("description", "")),
        form=_form_view(schema, sources),
    )


def open_case(
    p: Platform,
    case_type: str,
    data: Mapping[str, Any],
    *,
    actor: Actor | None = None,
    channel: str = "web",
    idempotency_key: str | None = None,
) -> OpenedCase:
    """File a new case from its intake form and run it to its first wait.

    Personal fields (``x-personal``) go to the case's contact, not into the
    workflow data, so they never travel through task pages by accident.

    The diagram runs before any write: a slow or failing diagram holds no
    lock another filing needs, and the case number is taken only once the
    first step ran and its state could be stored. ``idempotency_key`` comes
    from the rendered intake form: a second submit of the same form returns
    the first case (``repeated=True``) instead of filing another one.
    """
    if channel not in CHANNELS:
        raise InvalidData({"canal": [Message(N_("Canal desconocido."))]})
    if channel != "web" and not (actor and actor.has(*STAFF_ROLES)):
        raise NotAllowed(
            N_("Solo el personal del 311 registra casos de otros canales.")
        )
    key = _intake_key(idempotency_key)
    now = p.clock()
    with p.db.read() as s:
        if key is not None and (first := _repeated(s, key)) is not None:
            return first
        row = _latest_version(s, case_type)
        parsed = _parsed(p, row)
        schema = parsed.form(parsed.start_form)
        forms.check(schema, data, _allowed(_sources(s, schema)))
        calendar = _calendar(p, s)
    personal = forms.personal_fields(schema)
    contact = {k: data[k] for k in personal if k in data} or None
    wf_data = {k: v for k, v in data.items() if k not in personal}
    reserved = _identity_reserved(schema, data)
    email = forms.contact_email(schema, contact)
    sealed = None
    if reserved and contact:
        if not p.identity_key:
            raise ProcessFailed(
                N_("La reserva de identidad no está configurada (IDENTITY_KEY).")
            )
        sealed, contact, email = sealing.seal(p.identity_key, contact), None, None
    try:
        with timekeeping.at(now, calendar):
            workflow = runtime.start(parsed, wf_data)
    except Exception as exc:  # noqa: BLE001 - any failure of designer code
        # A broken diagram must not lose the citizen's filing silently:
        # nothing is stored and the caller shows a clear message.
        raise _process_failed(exc) from exc
    code = new_access_code()
    try:
        with p.db.transaction() as s:
            number = _next_number(s, now)
            case = Case(
                number=number,
                case_type=case_type,
                process_version_id=row.id,
                channel=channel,
                subject=str(data.get("asunto", ""))[:200],
                contact=contact,
                sealed_contact=sealed,
                identity_reserved=reserved,
                access_code_hash=hash_access_code(number, code),
                created_by_id=actor.id if actor else None,
                created_at=now,
                updated_at=now,
                public_status="",
                intake_key=key,
            )
            s.add(case)
            s.flush()
            _event(
                s,
                case,
                now,
                "created",
                actor,
                N_("Caso recibido"),
                {"canal": channel, "datos": wf_data},
                public=True,
            )
            _store(s, p, case, parsed, workflow, actor, now, state=None)
            if email:
                mail.enqueue(
                    s,
                    email,
                    f"Centro 311: recibimos su caso {number}",
                    (
                        f"Recibimos su {row.title.lower()}.\n\n"
                        f"Número de caso: {number}\n"
                        f"Código de acceso: {code}\n"
                        f"Estado: {case.public_status}\n\n"
                        f"Consulte su caso en {p.public_url}/seguimiento?numero="
                        f"{number}\n"
                        "Guarde este número y código: los necesitará para "
                        "consultarlo.\n"
                    ),
                    case.id,
                    now,
                )
            result = OpenedCase(
                number=number,
                access_code=code,
                case_type=case_type,
                title=row.title,
                public_status=case.public_status,
                email=email,
                identity_reserved=reserved,
            )
    except IntegrityError:
        # Two submits of one form at once: the other one filed the case.
        if key is not None:
            with p.db.read() as s:
                if (first := _repeated(s, key)) is not None:
                    return first
        raise
    except ServiceError:
        raise
    except Exception as exc:  # noqa: BLE001 - state the diagram left unstorable
        if isinstance(exc, DBAPIError) and not _is_data_error(exc):
            raise  # an outage, not this filing's fault
        raise _process_failed(exc) from exc
    return result


def _intake_key(value: str | None) -> str | None:
    """A usable idempotency key (a short token), or None to ignore it."""
    if not value:
        return None
    value = value.strip()
    if not 16 <= len(value) <= 64 or not all(
        ch.isascii() and (ch.isalnum() or ch in "-_") for ch in value
    ):
        return None
    return value


def _repeated(s: Session, key: str) -> OpenedCase | None:
    """The receipt of the case an intake form already filed, if any."""
    found = s.execute(
        select(Case, ProcessVersion.title)
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .where(Case.intake_key == key)
    ).first()
    if found is None:
        return None
    case, title = found
    return OpenedCase(
        number=case.number,
        access_code="",
        case_type=case.case_type,
        title=title,
        public_status=case.public_status,
        email=None,
        identity_reserved=case.identity_reserved,
        repeated=True,
    )


def _process_failed(exc: BaseException) -> ProcessFailed:
    """The error a citizen or agent sees when the diagram of a new case failed."""
    return ProcessFailed(
        N_("El proceso de este tipo de caso falló: %(detail)s"),
        detail=_error_text(exc),
    )


def _next_number(s: Session, now: datetime) -> str:
    """The next tracking number of the year: ``311-AAAA-NNNNNN``."""
    year = now.astimezone(PANAMA).year
    bump = (
        update(TrackingSequence)
        .where(TrackingSequence.year == year)
        .values(last=TrackingSequence.last + 1)
        .returning(TrackingSequence.last)
    )
    # A plain Core UPDATE … RETURNING on the session's connection: no ORM
    # bookkeeping is needed for a counter.
    conn = s.connection()
    last = conn.execute(bump).scalar()
    if last is None:  # first case of the year
        _insert_ignore(s, TrackingSequence, {"year": year, "last": 0})
        last = conn.execute(bump).scalar_one()
    return f"311-{year}-{last:06d}"


def _identity_reserved(schema: forms.Schema, data: Mapping[str, Any]) -> bool:
    """True if the citizen ticked a field marked ``x-reserva-identidad``."""
    return any(
        spec.get("x-reserva-identidad") and data.get(name) is True
        for name, spec in forms.fields(schema).items()
    )


def _error_text(exc: BaseException) -> str:
    """A one-line description of a diagram failure for supervisors.

    Never fails itself: the exception may come from designer code, and its
    text (or its class) may be anything.
    """
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a message that cannot be rendered
        text = ""
    name = getattr(type(exc), "__name__", "Error")
    line = f"{name}: {text}"
    # SpiffWorkflow's task errors know the element that failed: name it, so
    # the supervisor and the designer know where to look.
    spec = getattr(exc, "task_spec", None)
    element = getattr(spec, "bpmn_id", None)
    if isinstance(element, str):
        label = getattr(spec, "bpmn_name", None) or element
        line = f"«{label}» ({element}): {text}"
    lines = line.splitlines() or [name]
    return lines[0][:1000]


def _calendar(p: Platform, s: Session) -> BusinessCalendar:
    """The business calendar with the admins' days off (cached a minute)."""
    cached = p.calendar_cache
    if cached is not None and time.monotonic() - cached[0] < 60:
        calendar: BusinessCalendar = cached[1]
        return calendar
    days = list(s.scalars(select(DayOff.day)))
    calendar = BusinessCalendar(days)
    p.calendar_cache = (time.monotonic(), calendar)
    return calendar


def _insert_ignore(s: Session, model: Any, values: dict[str, Any]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on PostgreSQL and SQLite."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(model).values(**values).on_conflict_do_nothing())


# --------------------------------------------------------------------------
# Storing a workflow step


def _store(
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
    entity = case.entity_code if role == "enlace" else None
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
        if role == "enlace":
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
    """The body of :func:`_store`."""
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
                    "enlace",
                    f"Recordatorio: el caso {case.number} vence pronto",
                    now,
                )
            elif mark == "vencido":
                _notify_staff(
                    s,
                    p,
                    case,
                    "supervisor_311",
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
            if parsed.tasks[t.bpmn_id].lane == "enlace"
        ),
        None,
    )
    if (
        isinstance(entity, str)
        and entity != case.entity_code
        and (entity_row := s.get(Entity, entity)) is not None
    ):
        case.entity_code = entity
        _event(
            s,
            case,
            now,
            "assigned",
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
                    HumanTask.case_id == case.id, HumanTask.state == "ready"
                )
            )
        )
    known = {t.id: t for t in ready_rows if t.state == "ready"}
    for task_id, row in known.items():
        if task_id not in ready_ids:
            row.state = "cancelled"
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
                state="ready",
                created_at=now,
                due_at=due,
            )
        )
    case.due_at = min(dues) if dues else None

    if snap.estado and snap.estado != case.public_status:
        case.public_status = snap.estado
        _event(
            s,
            case,
            now,
            "status",
            actor,
            snap.estado,
            {"estado": snap.estado},
            public=True,
        )
    if snap.completed:
        _close(s, case, actor, now, {"fin": snap.end_event})
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


def _close(
    s: Session, case: Case, actor: Actor | None, now: datetime, data: dict[str, Any]
) -> None:
    """Close the case (once) with a public event."""
    if case.status == "closed":
        return
    case.status = "closed"
    case.closed_at = now
    _event(s, case, now, "closed", actor, N_("Caso cerrado"), data, public=True)


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
        _close(s, case, actor, now, {})
    elif mark == "reabierto":
        case.status = "open"
        case.closed_at = None
        case.reopen_count = (case.reopen_count or 0) + 1
        _event(
            s,
            case,
            now,
            "reopened",
            actor,
            N_("Caso reabierto"),
            {"reaperturas": case.reopen_count},
            public=True,
        )
    elif mark == "vencido":
        if case.overdue_at is None:
            case.overdue_at = now
        _event(s, case, now, "overdue", actor, N_("Plazo vencido"), {}, public=False)
    elif mark == "al_dia":
        case.overdue_at = None
    elif mark == "recordatorio":
        _event(
            s,
            case,
            now,
            "reminder",
            actor,
            N_("Recordatorio enviado a la entidad"),
            {"entidad": case.entity_code},
            public=False,
        )
    elif mark == "transferido":
        _event(
            s,
            case,
            now,
            "transferred",
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


def _event(
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
    """Append one audit/timeline event."""
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


# --------------------------------------------------------------------------
# Tasks


def may_do(actor: Actor, role: str, entity_code: str | None) -> bool:
    """Whether ``actor`` may work a task of ``role`` scoped to ``entity_code``."""
    if not actor.has(role):
        return False
    if role == "enlace":
        return actor.entity_code is not None and actor.entity_code == entity_code
    return True


def list_tasks(p: Platform, actor: Actor, *, limit: int = 200) -> list[TaskSummary]:
    """The ready tasks ``actor`` may do, oldest first (plain SQL, no workflows)."""
    roles = [r for r in actor.effective_roles if r != "enlace"]
    with p.db.read() as s:
        conditions: list[Any] = []
        if roles:
            conditions.append(HumanTask.role.in_(roles))
        if actor.has("enlace") and actor.entity_code:
            conditions.append(
                (HumanTask.role == "enlace")
                & (HumanTask.entity_code == actor.entity_code)
            )
        if not conditions:
            return []
        rows = s.execute(
            select(HumanTask, Case.number, Case.subject, Case.case_type)
            .join(Case, Case.id == HumanTask.case_id)
            .where(HumanTask.state == "ready", or_(*conditions))
            .order_by(HumanTask.created_at, HumanTask.id)
            .limit(limit)
        ).all()
        titles = _type_titles(s)
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


def _type_titles(s: Session) -> dict[str, str]:
    """Case type key → title of its newest version."""
    return {row.case_type: row.title for row in _latest_versions(s)}


def get_task(p: Platform, actor: Actor, task_id: str) -> TaskView:
    """A task with its form and case, if ``actor`` may see it."""
    with p.db.read() as s:
        task = s.get(HumanTask, task_id)
        if task is None:
            raise NotFound(N_("La tarea no existe."))
        if not may_do(actor, task.role, task.entity_code):
            raise NotAllowed(N_("Esta tarea no le corresponde."))
        case = s.get(Case, task.case_id)
        assert case is not None
        if task.state != "ready" and not _may_see_case(s, actor, case):
            # A done task of a case since transferred elsewhere: the case
            # and its citizen are no longer this actor's to see.
            raise NotAllowed(N_("No tiene acceso a este caso."))
        version = s.get(ProcessVersion, case.process_version_id)
        assert version is not None
        parsed = _parsed(p, version)
        sources = _sources(s, parsed.form(task.form))
        data: dict[str, Any] = {}
        if task.state == "ready":
            state = s.get(WorkflowState, case.id)
            assert state is not None
            workflow = runtime.load_state(parsed, state.state, state.format_version)
            spiff_task = runtime.find_ready_task(workflow, task.id)
            if spiff_task is not None:
                data = dict(spiff_task.data)
        info = parsed.tasks.get(task.bpmn_id)
        case_view = _case_view(s, p, case, version, actor, data=data)
        return TaskView(
            id=task.id,
            name=task.name,
            instructions=info.instructions if info else "",
            role=task.role,
            state=task.state,
            completed_by=task.completed_by_label,
            completed_at=task.completed_at,
            form=_form_view(parsed.form(task.form), sources),
            case=case_view,
        )


def complete_task(
    p: Platform, actor: Actor, task_id: str, data: Mapping[str, Any]
) -> CompletedTask:
    """Complete a ready staff task with validated data, in one transaction.

    Exactly one of two concurrent completions wins; the other gets
    :class:`Conflict` naming who completed the task and when.
    """

    def allowed(task: HumanTask, case: Case) -> None:
        if task.role == "ciudadano" or not may_do(actor, task.role, task.entity_code):
            raise NotAllowed(N_("Esta tarea no le corresponde."))

    return _complete(p, task_id, data, actor, allowed)


def complete_citizen_task(
    p: Platform,
    number: str,
    code: str,
    task_id: str,
    data: Mapping[str, Any],
    *,
    client: str,
) -> CompletedTask:
    """Complete a task of the ``ciudadano`` lane, proven by number and code."""
    _verify_access(p, number, code, client)

    def allowed(task: HumanTask, case: Case) -> None:
        if task.role != "ciudadano" or case.number != number.strip().upper():
            raise NotFound(N_("La tarea no existe."))

    return _complete(p, task_id, data, None, allowed)


def _complete(
    p: Platform,
    task_id: str,
    data: Mapping[str, Any],
    actor: Actor | None,
    allowed: Any,
) -> CompletedTask:
    """Lock the case, check, validate, run the task, store; one transaction.

    From the moment the diagram runs, any failure (a script, a value the
    state cannot hold, a row the database refuses) rolls the whole step back
    and flags the case for the supervisor in a transaction of its own.
    """
    stepping: int | None = None  # the case id, once its diagram runs
    try:
        with p.db.transaction() as s:
            # Lock the case first, then read the task: after the lock the
            # read sees what a concurrent completion committed.
            owner = select(HumanTask.case_id).where(HumanTask.id == task_id)
            case = s.scalars(
                select(Case).where(Case.id == owner.scalar_subquery()).with_for_update()
            ).first()
            task = s.get(HumanTask, task_id) if case is not None else None
            if case is None or task is None:
                raise NotFound(N_("La tarea no existe."))
            allowed(task, case)
            if task.state != "ready":
                raise _already_done(task)
            version = s.get(ProcessVersion, case.process_version_id)
            assert version is not None
            parsed = _parsed(p, version)
            schema = parsed.form(task.form)
            forms.check(schema, data, _allowed(_sources(s, schema)))
            state = s.get(WorkflowState, case.id)
            assert state is not None
            workflow = runtime.load_state(parsed, state.state, state.format_version)
            spiff_task = runtime.find_ready_task(workflow, task.id)
            if spiff_task is None:
                raise Conflict(N_("La tarea ya no está pendiente."))
            now = p.clock()
            clean = dict(data)
            before = runtime.completed_ids(workflow)
            stepping = case.id
            with timekeeping.at(now, _calendar(p, s)):
                runtime.complete(workflow, spiff_task, clean)
            label = actor.name if actor else "Ciudadano"
            task.state = "completed"
            task.completed_by_id = actor.id if actor else None
            task.completed_by_label = label
            task.completed_at = now
            _event(
                s,
                case,
                now,
                "task_completed",
                actor,
                task.name,
                {"tarea": task.name, "datos": clean, "por": label},
                public=False,
                task_bpmn_id=task.bpmn_id,
            )
            published = forms.public_values(schema, clean)
            if published:
                fields = forms.fields(schema)
                _event(
                    s,
                    case,
                    now,
                    "public_note",
                    actor,
                    task.name,
                    {
                        "campos": [
                            {"etiqueta": fields[k].get("title", k), "valor": v}
                            for k, v in published.items()
                        ]
                    },
                    public=True,
                    task_bpmn_id=task.bpmn_id,
                )
            _store(s, p, case, parsed, workflow, actor, now, state=state, before=before)
            result = CompletedTask(
                case_number=case.number,
                public_status=case.public_status,
                closed=case.status == "closed",
            )
        return result
    except StaleDataError:
        with p.db.read() as s:
            task = s.get(HumanTask, task_id)
            if task is not None and task.state != "ready":
                raise _already_done(task) from None
        raise Conflict(
            N_("Otra persona modificó este caso al mismo tiempo. Vuelva a intentarlo.")
        ) from None
    except ServiceError:
        raise
    except Exception as exc:
        outage = isinstance(exc, DBAPIError) and not _is_data_error(exc)
        if stepping is None or outage:
            raise
        # The diagram failed or left a state that cannot be stored: nothing
        # of the step was stored; the case keeps its last good state and is
        # flagged for the supervisor.
        detail = _error_text(exc)
        _mark_error(p, stepping, detail)
        raise ProcessFailed(
            N_(
                "El proceso falló al completar la tarea; el caso quedó marcado "
                "para el supervisor. Detalle: %(detail)s"
            ),
            detail=detail,
        ) from None


def _already_done(task: HumanTask) -> Conflict:
    """The conflict raised when a task was completed by someone else."""
    if task.state == "completed" and task.completed_at is not None:
        when = task.completed_at.astimezone(PANAMA).strftime("%d/%m/%Y %H:%M")
        return Conflict(
            N_("%(who)s ya completó esta tarea el %(when)s."),
            who=task.completed_by_label or "?",
            when=when,
        )
    return Conflict(N_("La tarea ya no está pendiente."))


# --------------------------------------------------------------------------
# Cases


def visible_case(s: Session, actor: Actor, number: str) -> Case:
    """The case with this number if ``actor`` may see it (NotFound/NotAllowed)."""
    case = s.scalars(select(Case).where(Case.number == number)).first()
    if case is None:
        raise NotFound(N_("El caso no existe."))
    if not _may_see_case(s, actor, case):
        raise NotAllowed(N_("No tiene acceso a este caso."))
    return case


def get_case(p: Platform, actor: Actor, number: str) -> CaseView:
    """A case page for staff: data, contact, open tasks and the audit trail."""
    with p.db.read() as s:
        case = visible_case(s, actor, number)
        version = s.get(ProcessVersion, case.process_version_id)
        assert version is not None
        data: dict[str, Any] = {}
        created = s.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind == "created")
            .limit(1)
        ).first()
        if created and created.data:
            data = dict(created.data.get("datos") or {})
        return _case_view(s, p, case, version, actor, data=data)


def _may_see_case(_s: Session, actor: Actor, case: Case) -> bool:
    """311 staff see every case; an enlace sees the cases of its entity."""
    if actor.has(*STAFF_ROLES):
        return True
    if actor.has("enlace") and actor.entity_code:
        # Only the entity the case is assigned to now: a transfer ends the
        # former entity's access (and so its sight of the citizen's contact).
        return case.entity_code == actor.entity_code
    return False


def _case_view(
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
        .where(HumanTask.case_id == case.id, HumanTask.state == "ready")
        .order_by(HumanTask.created_at)
    ).all()
    entity = s.get(Entity, case.entity_code) if case.entity_code else None
    schemas = _parsed(p, version).forms.values()
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
        data={k: v for k, v in data.items() if not k.startswith("_")},
        created_at=case.created_at,
        updated_at=case.updated_at,
        closed_at=case.closed_at,
        error=case.error,
        events=[_event_view(e) for e in events if _may_see_event(actor, e)],
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
            if may_do(actor, t.role, t.entity_code)
        ],
        labels=labels,
        due_at=case.due_at,
        overdue_at=case.overdue_at,
        reopen_count=case.reopen_count,
        identity_reserved=case.identity_reserved,
        value_labels=value_labels,
    )


#: Event kinds only the 311 supervisors see (who unsealed an identity, why).
SUPERVISOR_EVENTS = frozenset({"identity_unsealed"})


def _may_see_event(actor: Actor, event: CaseEvent) -> bool:
    """Whether ``actor`` sees this event on the staff case page."""
    return event.kind not in SUPERVISOR_EVENTS or actor.has("supervisor_311")


def _event_view(e: CaseEvent) -> EventView:
    """An event row as plain data."""
    return EventView(
        at=e.at,
        kind=e.kind,
        actor=e.actor_label,
        summary=e.summary,
        data=dict(e.data or {}),
        public=e.public,
    )


def _verify_access(p: Platform, number: str, code: str, client: str) -> int:
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
        _check_rate(s, per_case, now, limits.tracking_attempts, window)
        _check_rate(s, per_client, now, limits.tracking_client_attempts, window)
        row = s.execute(
            select(Case.id, Case.access_code_hash).where(Case.number == number)
        ).first()
        ok = row is not None and check_access_code(number, code, row[1])
        if not ok:
            _count_failure(s, per_case, now, window)
            _count_failure(s, per_client, now, window)
    if not ok or row is None:
        raise NotFound(N_("No encontramos un caso con ese número y código."))
    return int(row[0])


def track_case(p: Platform, number: str, code: str, *, client: str) -> PublicCase:
    """A case's public view, by tracking number and access code.

    Includes the tasks waiting for the citizen (answer a question, rate the
    answer) with their forms; never staff names or internal data.
    """
    case_id = _verify_access(p, number, code, client)
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
        timeline = [_public_event(e) for e in events]
        waiting = s.scalars(
            select(HumanTask)
            .where(
                HumanTask.case_id == case.id,
                HumanTask.state == "ready",
                HumanTask.role == "ciudadano",
            )
            .order_by(HumanTask.created_at)
        ).all()
        tasks = []
        if waiting:
            parsed = _parsed(p, version)
            for t in waiting:
                info = parsed.tasks.get(t.bpmn_id)
                schema = parsed.form(t.form)
                tasks.append(
                    CitizenTask(
                        id=t.id,
                        name=t.name,
                        instructions=info.instructions if info else "",
                        due_at=t.due_at,
                        form=_form_view(schema, _sources(s, schema)),
                    )
                )
        return PublicCase(
            number=case.number,
            case_type=case.case_type,
            title=version.title,
            status=case.status,
            public_status=case.public_status,
            created_at=case.created_at,
            updated_at=case.updated_at,
            closed_at=case.closed_at,
            entity_name=entity.name if entity else None,
            timeline=timeline,
            tasks=tasks,
            reopen_count=case.reopen_count,
        )


def _public_event(e: CaseEvent) -> EventView:
    """A public event without staff names or internal data."""
    data = dict(e.data or {})
    if e.kind == "created":
        data = {"canal": data.get("canal")}
    return EventView(
        at=e.at,
        kind=e.kind,
        actor="",
        summary=e.summary,
        data=data,
        public=True,
    )


# --------------------------------------------------------------------------
# Throttling


def _check_rate(s: Session, key: str, now: datetime, limit: int, window: int) -> None:
    """Raise TooManyAttempts if ``key`` failed ``limit`` times in the window."""
    row = s.get(RateLimit, key)
    if row is None:
        return
    if now - row.window_start > timedelta(seconds=window):
        return
    if row.count >= limit:
        raise TooManyAttempts(
            N_(
                "Demasiados intentos fallidos. "
                "Espere unos minutos y vuelva a intentarlo."
            )
        )


def _count_failure(s: Session, key: str, now: datetime, window: int) -> None:
    """Count one failure for ``key`` (a new window starts when the old one ends)."""
    _insert_ignore(s, RateLimit, {"key": key, "window_start": now, "count": 0})
    row = s.execute(
        select(RateLimit).where(RateLimit.key == key).with_for_update()
    ).scalar_one()
    if now - row.window_start > timedelta(seconds=window):
        row.window_start = now
        row.count = 0
    row.count += 1


def health(p: Platform) -> bool:
    """True when the database answers."""
    try:
        with p.db.read() as s:
            s.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return False


# --------------------------------------------------------------------------
# Background work


def fire_due_timers(p: Platform, *, limit: int = 500, batch: int = 25) -> int:
    """Advance cases whose next timer is due; returns how many were advanced.

    Cases are claimed in batches, one transaction each. On PostgreSQL the
    claim is ``FOR UPDATE SKIP LOCKED``, so any number of workers share the
    work and each timer fires once; on SQLite ``BEGIN IMMEDIATE`` serialises
    workers. A case whose step fails is flagged with the error (its last
    good state kept) in the same transaction, and the others go on. A crash
    mid-batch rolls the whole batch back: the next run does it again.
    """
    done = failed = 0
    while done + failed < limit:
        now = p.clock()
        with p.db.transaction() as s:
            query = (
                select(Case)
                .where(
                    Case.status == "open",
                    Case.error.is_(None),
                    Case.next_timer_at.is_not(None),
                    Case.next_timer_at <= now,
                )
                .order_by(Case.next_timer_at)
                .limit(min(batch, limit - done - failed))
            )
            if p.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            cases = list(s.scalars(query))
            if not cases:
                break
            states = {
                w.case_id: w
                for w in s.scalars(
                    select(WorkflowState).where(
                        WorkflowState.case_id.in_([c.id for c in cases])
                    )
                )
            }
            ready_rows: dict[int, list[HumanTask]] = {c.id: [] for c in cases}
            for row in s.scalars(
                select(HumanTask).where(
                    HumanTask.case_id.in_(list(ready_rows)), HumanTask.state == "ready"
                )
            ):
                ready_rows[row.case_id].append(row)
            calendar = _calendar(p, s)
            for case in cases:
                if _advance_due_case(
                    s, p, case, states[case.id], ready_rows[case.id], now, calendar
                ):
                    done += 1
                else:
                    failed += 1
    return done


def _advance_due_case(
    s: Session,
    p: Platform,
    case: Case,
    state: WorkflowState,
    ready_rows: list[HumanTask],
    now: datetime,
    calendar: BusinessCalendar,
) -> bool:
    """Fire one case's due timers inside a savepoint; False if it failed.

    Whatever fails -- a script, a bound, a value the state cannot hold, a
    row the database refuses -- rolls back this case's savepoint only: the
    case is flagged with the error (last good state kept) and the rest of
    the batch goes on.
    """
    case_id = case.id
    try:
        with s.begin_nested():
            version = s.get(ProcessVersion, case.process_version_id)
            assert version is not None
            parsed = _parsed(p, version)
            workflow = runtime.load_state(parsed, state.state, state.format_version)
            before = runtime.completed_ids(workflow)
            with timekeeping.at(now, calendar):
                runtime.advance(workflow)
            _store(
                s,
                p,
                case,
                parsed,
                workflow,
                None,
                now,
                state=state,
                before=before,
                ready_rows=ready_rows,
            )
        return True
    except DBAPIError as exc:
        if not _is_data_error(exc):
            raise  # the database itself is in trouble: the pass ends
        message = _error_text(exc.orig or exc)
    except Exception as exc:  # noqa: BLE001 - any failure of this case
        message = _error_text(exc)
    # The savepoint's rollback expired what it changed: reload and flag.
    flagged = s.get(Case, case_id)
    if flagged is not None:
        s.refresh(flagged)
        _flag_error(s, flagged, now, message)
    return False


def _is_data_error(exc: DBAPIError) -> bool:
    """Whether the database refused this case's data (not an outage)."""
    return isinstance(exc, (DataError, IntegrityError))


def _flag_error(s: Session, case: Case, now: datetime, message: str) -> None:
    """Flag a case as errored (for the supervisor), keeping its last state."""
    case.error = message
    _event(
        s,
        case,
        now,
        "error",
        None,
        N_("Error en el proceso"),
        {"error": message},
        public=False,
    )


def _mark_error(p: Platform, case_id: int, message: str) -> None:
    """Flag a case as errored in a transaction of its own."""
    with p.db.transaction() as s:
        case = s.get(Case, case_id)
        if case is not None:
            _flag_error(s, case, p.clock(), message)


# --------------------------------------------------------------------------
# Reserved identities


def unseal_identity(
    p: Platform, actor: Actor, number: str, reason: str
) -> dict[str, Any]:
    """Open a reserved identity: supervisors only, with a reason, audited.

    The unsealed contact is returned to the caller and never stored in the
    clear; the audit event records who, when and why (not the identity).
    """
    if "supervisor_311" not in actor.roles:
        raise NotAllowed(
            N_("Solo el supervisor del 311 puede ver una identidad reservada.")
        )
    reason = reason.strip()
    if len(reason) < 10:
        raise InvalidData(
            {
                "motivo": [
                    Message(
                        N_("Explique el motivo (al menos %(limit)s caracteres)."),
                        {"limit": 10},
                    )
                ]
            }
        )
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
        _event(
            s,
            case,
            p.clock(),
            "identity_unsealed",
            actor,
            N_("Identidad reservada consultada"),
            {"motivo": reason[:1000]},
            public=False,
        )
    return contact


# --------------------------------------------------------------------------
# Days off (asuetos)


def list_days_off(p: Platform) -> list[tuple[Any, str]]:
    """Decreed days off, by date."""
    with p.db.read() as s:
        return [(d.day, d.name) for d in s.scalars(select(DayOff).order_by(DayOff.day))]


def add_day_off(p: Platform, actor: Actor, day: Any, name: str) -> None:
    """Add a day off (admins); deadlines computed from now on skip it."""
    if not actor.has("admin"):
        raise NotAllowed(N_("Solo un administrador gestiona los días libres."))
    name = name.strip()
    if not name:
        raise InvalidData({"nombre": [Message(N_("Este campo es obligatorio."))]})
    with p.db.transaction() as s:
        if s.get(DayOff, day) is not None:
            raise InvalidData({"dia": [Message(N_("Ese día ya está registrado."))]})
        s.add(
            DayOff(
                day=day,
                name=name[:200],
                created_by=actor.username,
                created_at=p.clock(),
            )
        )
    p.calendar_cache = None


def remove_day_off(p: Platform, actor: Actor, day: Any) -> None:
    """Remove a day off (admins)."""
    if not actor.has("admin"):
        raise NotAllowed(N_("Solo un administrador gestiona los días libres."))
    with p.db.transaction() as s:
        row = s.get(DayOff, day)
        if row is None:
            raise NotFound(N_("Ese día no está registrado."))
        s.delete(row)
    p.calendar_cache = None


# --------------------------------------------------------------------------
# Dashboard


def dashboard(p: Platform, actor: Actor) -> Dashboard:
    """Figures and lists for supervisors (all cases) and enlaces (their entity)."""
    if not actor.has("supervisor_311", "enlace"):
        raise NotAllowed(N_("El tablero es para supervisores y enlaces."))
    now = p.clock()
    scoped = not actor.has("supervisor_311")
    with p.db.read() as s:
        base = select(Case).where(Case.status == "open")
        if scoped:
            base = base.where(Case.entity_code == actor.entity_code)
        count = func.count()
        open_n = s.scalar(select(count).select_from(base.subquery())) or 0
        overdue_q = base.where(
            or_(Case.overdue_at.is_not(None), Case.due_at < now)
        ).order_by(Case.due_at)
        overdue = list(s.scalars(overdue_q.limit(50)))
        overdue_n = s.scalar(select(count).select_from(overdue_q.subquery())) or 0
        errored = list(s.scalars(base.where(Case.error.is_not(None)).limit(50)))
        closed_q = select(Case).where(Case.status == "closed")
        if scoped:
            closed_q = closed_q.where(Case.entity_code == actor.entity_code)
        closed_n = s.scalar(select(count).select_from(closed_q.subquery())) or 0
        survey_q = select(func.avg(SurveyResponse.rating), func.count())
        if scoped:
            survey_q = survey_q.where(SurveyResponse.entity_code == actor.entity_code)
        avg, surveys = s.execute(survey_q).one()

        def row(c: Case) -> CaseRow:
            return CaseRow(
                number=c.number,
                case_type=c.case_type,
                subject=c.subject,
                entity_code=c.entity_code,
                public_status=c.public_status,
                due_at=c.due_at,
                overdue_at=c.overdue_at,
                error=c.error,
            )

        return Dashboard(
            open_cases=int(open_n),
            overdue_cases=int(overdue_n),
            closed_cases=int(closed_n),
            survey_average=float(avg) if avg is not None else None,
            survey_count=int(surveys or 0),
            overdue=[row(c) for c in overdue],
            errored=[row(c) for c in errored],
            entity_code=actor.entity_code if scoped else None,
        )
