"""Open311's service requests: cases filed by outside systems, and every
offered case's public facts.

``POST requests`` (:func:`file_request`) files through the same intake as
the web form (:func:`engine.services.intake.open_case`), on channel
``open311``, with an API key. ``GET requests`` (:func:`list_requests`,
:func:`get_request`) need no key and show only what the citizen's tracking
page shows anyone: never contact data, never a case whose identity is
reserved, never a case type that is not offered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.domain import geo
from engine.domain.enums import CaseStatus, Channel, EventKind
from engine.domain.errors import N_, InvalidData, Message, NotAllowed, NotFound
from engine.domain.open311 import (
    FiledRequest,
    RequestNote,
    RequestQuery,
    ServiceRequest,
)
from engine.services import api_keys
from engine.services.common import PANAMA
from engine.services.intake import open_case
from engine.services.open311_catalog import (
    CATEGORY,
    SUBJECT,
    Offered,
    find_service,
    form_map,
    is_published,
    offered,
    published_cases,
)
from engine.services.platform import Platform
from engine.store.models import Case, CaseEvent, Entity

#: Rows of one page at most, and by default (the specification's 1,000).
PAGE_SIZE = 1000
#: Without dates, requests filed in this many days up to now.
DEFAULT_DAYS = 90
#: Request ids in one ``service_request_id`` list.
MAX_IDS = 200
#: Longest value of a query parameter (a whole id list may be longer).
_LIMITS = {
    "service_request_id": 41 * MAX_IDS,
    "service_code": 100,
    "status": 20,
    "start_date": 40,
    "end_date": 40,
    "page": 6,
    "page_size": 6,
    "extensions": 5,
}
#: Longest subject made from a description.
SUBJECT_LENGTH = 150
MEDIA_URL_LENGTH = 500
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
#: Events whose summary tells the citizen what happened (status notes).
_NOTEWORTHY = frozenset(
    {
        EventKind.CREATED,
        EventKind.STATUS,
        EventKind.ASSIGNED,
        EventKind.TRANSFERRED,
        EventKind.PUBLIC_NOTE,
        EventKind.CLOSED,
        EventKind.REOPENED,
        EventKind.MERGED,
    }
)
#: Who answers a case no entity holds yet.
CENTER = "Centro de Atención Ciudadana 3-1-1"


def iso(value: datetime | None) -> str:
    """A moment in ISO 8601 with Panama's offset (``-05:00``), or ''."""
    return value.astimezone(PANAMA).isoformat(timespec="seconds") if value else ""


# --- Reading ---------------------------------------------------------------


def request_query(params: Mapping[str, str]) -> RequestQuery:
    """The filters of ``GET requests``; every bad parameter named."""
    errors: dict[str, list[Message]] = {}

    def value(name: str) -> str:
        raw = str(params.get(name) or "").strip()
        if len(raw) > _LIMITS[name]:
            errors[name] = [Message(N_("Valor demasiado largo."))]
            return ""
        return raw

    ids = tuple(i.strip() for i in value("service_request_id").split(",") if i.strip())
    if len(ids) > MAX_IDS:
        errors["service_request_id"] = [
            Message(N_("Pida a lo sumo %(n)s solicitudes a la vez."), {"n": MAX_IDS})
        ]
    status = value("status")
    statuses = {s.strip() for s in status.split(",") if s.strip()}
    if not statuses <= {CaseStatus.OPEN, CaseStatus.CLOSED}:
        errors["status"] = [Message(N_("El estado es «open» o «closed»."))]
    start = _moment(value("start_date"), "start_date", errors)
    end = _moment(value("end_date"), "end_date", errors)
    if start and end and start > end:
        errors["end_date"] = [Message(N_("La fecha final es anterior a la inicial."))]
    page = _number(value("page") or "1", "page", 1_000_000, errors)
    size = _number(value("page_size") or str(PAGE_SIZE), "page_size", PAGE_SIZE, errors)
    if errors:
        raise InvalidData(errors)
    return RequestQuery(
        ids=ids,
        service_code=value("service_code"),
        status=next(iter(statuses)) if len(statuses) == 1 else "",
        start=start,
        end=end,
        page=page,
        page_size=size,
        extensions=value("extensions").lower() == "true",
    )


def _moment(raw: str, name: str, errors: dict[str, list[Message]]) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        errors[name] = [Message(N_("Escriba la fecha en ISO 8601 con su zona."))]
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=PANAMA)


def _number(raw: str, name: str, most: int, errors: dict[str, list[Message]]) -> int:
    if raw.isdigit() and 1 <= int(raw) <= most:
        return int(raw)
    errors[name] = [Message(N_("Un número entre 1 y %(n)s."), {"n": most})]
    return 1


def list_requests(p: Platform, query: RequestQuery) -> list[ServiceRequest]:
    """The offered cases matching ``query``, newest first, one page."""
    with p.db.read() as s:
        kinds = {k.case_type: k for k in offered(p, s)}
        found = select(Case).where(published_cases(kinds))
        if query.ids:
            found = found.where(Case.number.in_(query.ids))
        else:
            if query.service_code:
                kind, category = find_service(p, s, query.service_code)
                found = found.where(
                    Case.case_type == kind.case_type,
                    Case.category == category if category else Case.category.is_(None),
                )
            if query.status:
                found = found.where(Case.status == query.status)
            end = query.end or p.clock()
            start = query.start or end - timedelta(days=DEFAULT_DAYS)
            found = found.where(Case.created_at >= start, Case.created_at <= end)
        cases = s.scalars(
            found.order_by(Case.created_at.desc(), Case.id.desc())
            .offset((query.page - 1) * query.page_size)
            .limit(query.page_size)
        ).all()
        return _requests(s, kinds, cases, query.extensions)


def get_request(
    p: Platform, number: str, *, extensions: bool = False
) -> ServiceRequest:
    """One offered case by its number (NotFound when hidden or unknown)."""
    with p.db.read() as s:
        kinds = {k.case_type: k for k in offered(p, s)}
        case = s.scalar(select(Case).where(Case.number == number[:40]))
        if case is None or not is_published(case, kinds):
            raise NotFound(N_("No hay una solicitud con ese número."))
        return _requests(s, kinds, [case], extensions)[0]


def _requests(
    s: Session, kinds: Mapping[str, Offered], cases: Sequence[Case], extensions: bool
) -> list[ServiceRequest]:
    """The requests of ``cases``: their public events read in one query."""
    ids = [c.id for c in cases]
    events: dict[int, list[CaseEvent]] = {i: [] for i in ids}
    if ids:
        for e in s.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id.in_(ids), CaseEvent.public.is_(True))
            .order_by(CaseEvent.at, CaseEvent.id)
        ):
            events[e.case_id].append(e)
    codes = {c.entity_code for c in cases if c.entity_code}
    names = (
        {
            code: name
            for code, name in s.execute(
                select(Entity.code, Entity.name).where(Entity.code.in_(codes))
            )
        }
        if codes
        else {}
    )
    return [
        _request(c, kinds[c.case_type], events[c.id], names, extensions) for c in cases
    ]


def _request(
    case: Case,
    kind: Offered,
    events: list[CaseEvent],
    names: Mapping[str, str],
    extensions: bool,
) -> ServiceRequest:
    created = next((e for e in events if e.kind == EventKind.CREATED), None)
    filed = dict((created.data or {}).get("data") or {}) if created else {}
    links = dict((created.data or {}).get("links") or {}) if created else {}
    fields = form_map(kind.schema)
    labels = dict(kind.categories)
    category = case.category or ""
    told = [e for e in events if e.kind in _NOTEWORTHY]
    notes = tuple(
        RequestNote(datetime=iso(e.at), summary=e.summary, description=_note_text(e))
        for e in told
    )
    return ServiceRequest(
        service_request_id=case.number,
        status=case.status,
        status_notes=_status_note(told[-1]) if told else "",
        service_name=(
            f"{kind.title}: {labels[category]}" if category in labels else kind.title
        ),
        service_code=kind.code(category) if category else kind.case_type,
        description=str(filed.get(fields.description or "", "") or ""),
        agency_responsible=names.get(case.entity_code or "", CENTER),
        service_notice="",
        requested_datetime=iso(case.created_at),
        updated_datetime=iso(case.updated_at),
        expected_datetime=iso(case.due_at) if case.status == CaseStatus.OPEN else "",
        address=str(filed.get(fields.address or "", "") or ""),
        address_id="",
        zipcode="",
        lat=_coordinate(case.latitude),
        long=_coordinate(case.longitude),
        media_url=str(links.get("media_url", "")),
        extended_attributes=(
            {"channel": case.channel, "public_status": case.public_status}
            if extensions
            else None
        ),
        notes=notes if extensions else None,
    )


def _coordinate(value: float | None) -> str:
    """A stored coordinate as the specification's decimal degrees, or ''."""
    return "" if value is None else f"{value:.5f}"


def _note_text(e: CaseEvent) -> str:
    """The public text an event carries (an answer, a merge note), if any."""
    data = e.data or {}
    shown = data.get("fields")
    if isinstance(shown, list):  # a form's public fields: "label: value" each
        return "\n".join(
            f"{f.get('label', '')}: {f.get('value', '')}"
            for f in shown
            if isinstance(f, dict)
        )
    text = data.get("text") or data.get("note") or ""
    return str(text) if isinstance(text, str) else ""


def _status_note(e: CaseEvent) -> str:
    text = _note_text(e)
    return f"{e.summary}: {text}" if text else e.summary


# --- Filing ----------------------------------------------------------------


def file_request(
    p: Platform,
    key: str | None,
    params: Mapping[str, Sequence[str]],
    *,
    client: str | None = None,
) -> FiledRequest:
    """File the case a ``POST requests`` describes; needs a valid API key.

    :class:`NotAllowed` for a missing, unknown or revoked key (403),
    :class:`NotFound` for an unknown service (404), :class:`InvalidData`
    naming the specification's parameters (400).
    """
    with p.db.transaction() as s:
        api_client = api_keys.client_of(
            s,
            key,
            p.clock(),
            limit=p.limits.open311_requests,
            window=p.limits.open311_window_s,
            client=client,
        )
    if api_client is None:
        raise NotAllowed(N_("Falta la clave de la API (api_key) o no es válida."))

    def one(name: str) -> str:
        values = params.get(name) or []
        return str(values[-1]).strip() if values else ""

    code = one("service_code")
    if not code:
        raise InvalidData({"service_code": [Message(N_("Falta service_code."))]})
    with p.db.read() as s:
        kind, category = find_service(p, s, code)
    fields = form_map(kind.schema)
    names = _param_names(kind)
    raw: dict[str, list[str]] = {}
    for param, values in params.items():
        match = re.fullmatch(r"attribute\[([^\[\]]{1,100})\](\[\])?", param)
        if match and match.group(1) in names:
            raw.setdefault(match.group(1), []).extend(str(v) for v in values)
    standard = {
        fields.description: one("description"),
        fields.address: one("address_string"),
        fields.email: one("email"),
        fields.phone: one("phone"),
        fields.name: " ".join(w for w in (one("first_name"), one("last_name")) if w),
    }
    for field_name, given in standard.items():
        if field_name and given:
            raw[field_name] = [given]
    if category:
        raw[CATEGORY] = [category]
    if SUBJECT in forms.fields(kind.schema) and not raw.get(SUBJECT):
        # Made from the description: its problems are the description's.
        raw[SUBJECT] = [_subject(one("description"))]
        names[SUBJECT] = "description"
    links = _links(one("media_url"))
    data = forms.coerce(kind.schema, raw)
    try:
        opened = open_case(
            p,
            kind.case_type,
            data,
            channel=Channel.OPEN311,
            latitude=one("lat") or None,
            longitude=one("long") or None,
            api_client=api_client,
            links=links,
        )
    except InvalidData as exc:
        named: dict[str, list[Message]] = {}
        for field, found in exc.errors.items():
            named.setdefault(names.get(field, field), []).extend(found)
        raise InvalidData(named) from None
    return FiledRequest(
        service_request_id=opened.number,
        service_notice=opened.public_status,
    )


def _param_names(kind: Offered) -> dict[str, str]:
    """Form field → the POST parameter that fills it, for error lists."""
    fields = form_map(kind.schema)
    names = {name: f"attribute[{name}]" for name in forms.fields(kind.schema)}
    names[geo.LATITUDE_FIELD], names[geo.LONGITUDE_FIELD] = "lat", "long"
    for field_name, param in (
        (fields.description, "description"),
        (fields.address, "address_string"),
        (fields.email, "email"),
        (fields.phone, "phone"),
        (fields.name, "first_name"),
        (CATEGORY, "service_code"),
    ):
        if field_name:
            names[field_name] = param
    return names


def _subject(description: str) -> str:
    """A subject from the description's first line (clipped at a word)."""
    line = next((ln.strip() for ln in description.splitlines() if ln.strip()), "")
    if len(line) <= SUBJECT_LENGTH:
        return line
    return line[:SUBJECT_LENGTH].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _links(media_url: str) -> dict[str, Any]:
    """``media_url`` kept as a link when it is one (http or https)."""
    if not media_url:
        return {}
    if len(media_url) > MEDIA_URL_LENGTH or not _URL.fullmatch(media_url):
        raise InvalidData(
            {"media_url": [Message(N_("media_url debe ser una dirección http(s)."))]}
        )
    return {"media_url": media_url}
