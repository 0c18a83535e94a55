"""Filing a case: the intake form and ``open_case``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.domain import geo, sealing
from engine.domain.enums import CaseStatus, Channel, EventKind, Role
from engine.domain.errors import (
    N_,
    InvalidData,
    Message,
    NotAllowed,
    ProcessFailed,
    ServiceError,
)
from engine.domain.open311 import ApiClient
from engine.domain.security import hash_access_code, new_access_code
from engine.domain.views import (
    CHANNELS,
    STAFF_CHANNELS,
    Actor,
    IntakeView,
    OpenedCase,
    Upload,
)
from engine.services import attachments, notify
from engine.services.common import (
    DESIGN_ROLES,
    STAFF_ROLES,
    allowed_values,
    business_calendar,
    error_text,
    form_view,
    is_data_error,
    latest_version,
    parsed_latest,
    public_note,
    sources_for,
    version_by_id,
)
from engine.services.events import add_event
from engine.services.location import location_field
from engine.services.platform import Platform
from engine.services.steps import record_step
from engine.store import search_index
from engine.store.accounts import AuditLog
from engine.store.models import Case, Entity, ProcessVersion
from engine.store.numbering import number_and_id
from engine.workflow import runtime, timekeeping


def get_intake(
    p: Platform,
    case_type: str,
    *,
    actor: Actor | None = None,
    language: str | None = None,
) -> IntakeView:
    """The intake form of the newest version of a case type.

    ``x-staff`` fields are only in the form 311 staff (``actor``) get. The
    texts are in ``language`` where the bundle gives them
    (:mod:`engine.bundles.texts`), Spanish otherwise.
    """
    with p.db.read() as s:
        row = latest_version(s, case_type)
        parsed = parsed_latest(p, s, row)
        texts = parsed.in_language(language)
        schema = _form_for(
            texts.form(parsed.start_form, parsed.form(parsed.start_form)), actor
        )
        sources = sources_for(s, schema)
    return IntakeView(
        case_type=case_type,
        title=texts.title or row.title,
        description=str(schema.get("description", "")),
        form=form_view(schema, sources),
        reservable=any(
            spec.get("x-reserva-identidad") for spec in forms.fields(schema).values()
        ),
        location_field=location_field(schema),
        max_files=p.limits.intake_files,
    )


def open_case(
    p: Platform,
    case_type: str,
    data: Mapping[str, Any],
    *,
    actor: Actor | None = None,
    channel: str = Channel.WEB,
    idempotency_key: str | None = None,
    language: str | None = None,
    entity_code: str | None = None,
    files: Sequence[Upload] = (),
    latitude: object = None,
    longitude: object = None,
    api_client: ApiClient | None = None,
    links: Mapping[str, str] | None = None,
    practice_version: int | None = None,
) -> OpenedCase:
    """File a new case from its intake form and run it to its first wait.

    Personal fields (``x-personal``) go to the case's contact, not into the
    workflow data, so they never travel through task pages by accident.

    The diagram runs before any write: a slow or failing diagram holds no
    lock another filing needs, and the case number is taken only once the
    first step ran and its state could be stored. ``idempotency_key`` comes
    from the rendered intake form: a second submit of the same form returns
    the first case (``repeated=True``) instead of filing another one.
    ``language`` is the one the citizen filed in (web filings): the mail
    sent to them and the receipt returned use it (the bundle's texts in it,
    :mod:`engine.bundles.texts`); an unknown or missing one means the
    default.
    ``entity_code`` is the entity the caller named, given by 311 staff
    filing on a staff channel: it must be an active entity, and it reaches
    the diagram as ``entidad_indicada`` (which then skips classification).
    ``files`` are checked by content before anything runs and stored with
    the case (the citizen may download them when tracking it); identifying
    ones of a reserved identity are sealed with it. At most
    ``limits.intake_files`` files come with a filing.
    ``latitude`` and ``longitude`` are the optional map pin (numbers, or
    text as typed): both or neither, inside Panama; stored on the case, not
    in the workflow data, and their messages come with the form's.
    ``api_client`` is the outside system filing through Open311 (channel
    ``open311``; audited with the key's name in the same transaction);
    ``links`` are addresses it sent along (``media_url``), kept on the
    ``created`` event.
    ``practice_version`` (the id of a version of ``case_type``, a draft or
    any other) files a designer's practice case on that version; only
    designers and admins do (:mod:`engine.services.practice`).
    """
    if channel not in CHANNELS:
        raise InvalidData({"canal": [Message(N_("Canal desconocido."))]})
    if channel == Channel.OPEN311:
        if api_client is None:
            raise NotAllowed(N_("Solo un sistema con clave registra casos Open311."))
    elif channel != Channel.WEB and not (actor and actor.has(*STAFF_ROLES)):
        raise NotAllowed(
            N_("Solo el personal del 311 registra casos de otros canales.")
        )
    if practice_version is not None and not (actor and actor.has(*DESIGN_ROLES)):
        raise NotAllowed(N_("Solo los diseñadores de procesos pueden hacer esto."))
    key = _intake_key(idempotency_key)
    now = p.clock()
    with p.db.read() as s:
        if key is not None and (first := _repeated(s, key)) is not None:
            return first
        row = (
            latest_version(s, case_type)
            if practice_version is None
            else version_by_id(s, case_type, practice_version)
        )
        parsed = parsed_latest(p, s, row)
        schema = _form_for(parsed.form(parsed.start_form), actor)
        sources = sources_for(s, schema)
        point = _check_form(schema, data, allowed_values(sources), latitude, longitude)
        indicated = _indicated_entity(s, actor, channel, entity_code)
        calendar = business_calendar(p, s)
    checked = attachments.check_uploads(p, files, max_files=p.limits.intake_files)
    personal = forms.personal_fields(schema)
    contact = {k: data[k] for k in personal if k in data} or None
    wf_data = {k: v for k, v in data.items() if k not in personal}
    # Staff-only fields nobody filled (a citizen never does) start as None,
    # so the diagram's conditions can test them.
    for name in forms.staff_fields(parsed.form(parsed.start_form)):
        wf_data.setdefault(name, None)
    # Only the checked value reaches the diagram, never a form field's.
    wf_data.pop(runtime.INDICATED_ENTITY, None)
    if indicated:
        wf_data[runtime.INDICATED_ENTITY] = indicated
    note = public_note(schema, wf_data, sources)
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
            number, case_id = number_and_id(s, now)
            case = Case(
                id=case_id,
                number=number,
                case_type=case_type,
                process_version_id=row.id,
                channel=channel,
                subject=str(data.get("asunto", ""))[:200],
                category=_category(wf_data),
                contact=contact,
                sealed_contact=sealed,
                identity_reserved=reserved,
                access_code_hash=hash_access_code(number, code),
                created_by_id=actor.id if actor else None,
                created_at=now,
                updated_at=now,
                public_status="",
                intake_key=key,
                language=language if language in notify.LANGUAGES else None,
                status=CaseStatus.OPEN,
                reopen_count=0,
                latitude=point.latitude if point else None,
                longitude=point.longitude if point else None,
                practice=practice_version is not None,
                lock_version=1,
            )
            # The case row is inserted by record_step, once, with the
            # values the first step gives it; its events and files wait for
            # its id.
            stored = attachments.store_uploads(
                s,
                p,
                case,
                checked,
                actor=actor,
                source=attachments.INTAKE,
                public=True,
                now=now,
            )
            created: dict[str, Any] = {"channel": channel, "data": wf_data}
            if stored:
                created["attachments"] = stored
            if point:
                created["location"] = {
                    "latitude": point.latitude,
                    "longitude": point.longitude,
                }
            if links:
                created["links"] = dict(links)
            if api_client is not None:
                created["api_key"] = api_client.name
            add_event(
                s,
                case,
                now,
                EventKind.CREATED,
                actor,
                N_("Caso recibido"),
                created,
                public=True,
                role=None if actor else Role.CITIZEN,
            )
            if note is not None:
                # What the intake form publishes (an answer given at first
                # contact, the article that gave it) is on the timeline.
                add_event(
                    s,
                    case,
                    now,
                    EventKind.PUBLIC_NOTE,
                    actor,
                    N_("Respuesta"),
                    note,
                    public=True,
                    role=None if actor else Role.CITIZEN,
                )
            search_index.index_new_case(s, case, forms.free_text(schema, wf_data))
            record_step(s, p, case, parsed, workflow, actor, now, state=None)
            if api_client is not None:
                s.add(
                    AuditLog(
                        at=now,
                        actor=f"open311:{api_client.name}"[:80],
                        action="open311_request",
                        detail={"case": number, "key": api_client.name},
                        client=(api_client.client or None) and api_client.client[:64],
                    )
                )
            # The citizen reads the receipt (and its mail) in their language.
            texts = parsed.in_language(language)
            title = texts.title or row.title
            if email:
                notify.case_received(
                    s, p, case, to=email, title=title, access_code=code, now=now
                )
            result = OpenedCase(
                number=number,
                access_code=code,
                case_type=case_type,
                title=title,
                public_status=texts.status(case.public_status) or "",
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
        if isinstance(exc, DBAPIError) and not is_data_error(exc):
            raise  # an outage, not this filing's fault
        raise _process_failed(exc) from exc
    return result


def _check_form(
    schema: forms.Schema,
    data: Mapping[str, Any],
    allowed: Mapping[str, Sequence[str]],
    latitude: object,
    longitude: object,
) -> geo.Point | None:
    """Check the form's data and the map pin; returns the pin.

    One :class:`InvalidData` carries the messages of both, so the citizen
    sees every problem at once and the page keeps all that was typed.
    """
    errors: dict[str, list[Message]] = {}
    point = None
    try:
        forms.check(schema, data, allowed)
    except InvalidData as exc:
        errors.update(exc.errors)
    try:
        point = geo.check_point(latitude, longitude)
    except InvalidData as exc:
        errors.update(exc.errors)
    if errors:
        raise InvalidData(errors)
    return point


def _form_for(schema: forms.Schema, actor: Actor | None) -> forms.Schema:
    """The intake form as ``actor`` gets it: ``x-staff`` fields for staff only."""
    if actor is not None and actor.has(*STAFF_ROLES):
        return schema
    return forms.without_staff_fields(schema)


#: The intake form's field naming the case's category (the routing table's
#: input): kept on the case for finding duplicates.
CATEGORY_FIELD = "categoria"


def _category(wf_data: dict[str, Any]) -> str | None:
    """The case's category from its intake data (None when there is none)."""
    value = wf_data.get(CATEGORY_FIELD)
    return value[:60] if isinstance(value, str) and value else None


def _indicated_entity(
    s: Session, actor: Actor | None, channel: str, code: str | None
) -> str:
    """The entity staff named at intake, checked; empty when none was named.

    Only 311 staff filing on a staff channel name one (a citizen's web
    filing is classified by the 311), and only an active entity.
    """
    code = (code or "").strip().upper()
    if not code:
        return ""
    if not (actor and actor.has(*STAFF_ROLES) and channel in STAFF_CHANNELS):
        raise InvalidData(
            {
                runtime.INDICATED_ENTITY: [
                    Message(N_("Solo el personal del 311 indica la entidad."))
                ]
            }
        )
    active = s.scalar(
        select(Entity.code).where(Entity.code == code, Entity.active.is_(True))
    )
    if active is None:
        raise InvalidData(
            {
                runtime.INDICATED_ENTITY: [
                    Message(N_("Esa entidad no existe o no está activa."))
                ]
            }
        )
    return code


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
        detail=error_text(exc),
    )


def _identity_reserved(schema: forms.Schema, data: Mapping[str, Any]) -> bool:
    """True if the citizen ticked a field marked ``x-reserva-identidad``."""
    return any(
        spec.get("x-reserva-identidad") and data.get(name) is True
        for name, spec in forms.fields(schema).items()
    )
