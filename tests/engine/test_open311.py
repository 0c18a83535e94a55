"""Open311's services, requests and API keys at the service layer."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.domain.clock import FrozenClock
from engine.domain.errors import (
    InvalidData,
    NotAllowed,
    NotFound,
    TooManyAttempts,
)
from engine.domain.open311 import RequestQuery
from engine.domain.security import token_digest
from engine.services import (
    accounts,
    api_keys,
    open311_catalog,
    open311_requests,
    signin,
)
from engine.services.common import PANAMA
from engine.services.platform import Platform
from engine.store.accounts import ApiKey, AuditLog
from engine.store.models import Case, CaseEvent

LEAK = {
    "service_code": ["queja.agua"],
    "description": ["Una tubería rota bota agua potable frente a la escuela."],
    "address_string": ["Calle 50, frente a la escuela República de Chile"],
    "email": ["ana@example.com"],
    "first_name": ["Ana"],
    "last_name": ["Pérez"],
    "phone": ["6123-4567"],
    "media_url": ["https://fotos.example.com/fuga.jpg"],
    "lat": ["8.98412"],
    "long": ["-79.51987"],
}


@pytest.fixture
def center(seeded: Platform) -> Platform:
    """The seeded platform on a frozen clock (Monday 2026-11-02, 10:00)."""
    seeded.clock = FrozenClock(datetime(2026, 11, 2, 10, 0, tzinfo=PANAMA))
    return seeded


@pytest.fixture
def key(center: Platform) -> str:
    """A key of the system "App ciudadana"."""
    return api_keys.create_key(
        center, signin.administrator(center), "App ciudadana"
    ).key


def test_one_service_per_case_type_and_category(center):
    """Codes join the case type and the category; names say both."""
    services = {s.service_code: s for s in open311_catalog.list_services(center)}
    water = services["queja.agua"]
    assert water.service_name == "Queja: Agua potable y alcantarillado"
    assert water.group == "Queja"
    assert water.type == "realtime"
    assert "denuncia.salud" in services and "sugerencia.otro" in services


def test_a_definition_lists_the_intake_fields_the_standard_ones_do_not_fill(center):
    """Contact, description, address and category come as standard
    parameters; the rest are attributes, in the form's order."""
    definition = open311_catalog.service_definition(center, "denuncia.salud")
    codes = [a.code for a in definition.attributes]
    assert codes == ["asunto", "identidad_reservada"]
    reserve = definition.attributes[1]
    assert reserve.datatype == "singlevaluelist"
    assert [v.key for v in reserve.values] == ["true", "false"]
    assert [a.order for a in definition.attributes] == [1, 2]
    with pytest.raises(NotFound):
        open311_catalog.service_definition(center, "queja.no_existe")


def test_a_request_files_a_case_on_the_open311_channel(center, key):
    """The case is filed by the same start as the web form; contact data
    goes to the case's contact, the link to the created event, and the
    filing is audited with the key's name."""
    filed = open311_requests.file_request(center, key, LEAK, client="203.0.113.9")
    with center.db.read() as s:
        case = s.scalars(
            select(Case).where(Case.number == filed.service_request_id)
        ).one()
        created = s.scalars(
            select(CaseEvent).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == "created"
            )
        ).one()
        audit = s.scalars(
            select(AuditLog).where(AuditLog.action == "open311_request")
        ).one()
    assert case.channel == "open311"
    assert case.category == "agua"
    assert case.contact == {
        "correo": "ana@example.com",
        "nombre": "Ana Pérez",
        "telefono": "6123-4567",
    }
    assert created.data["links"] == {"media_url": "https://fotos.example.com/fuga.jpg"}
    assert created.data["data"]["asunto"] == (
        "Una tubería rota bota agua potable frente a la escuela."
    )
    assert (audit.actor, audit.client) == ("open311:App ciudadana", "203.0.113.9")
    assert audit.detail == {"case": case.number, "key": "App ciudadana"}
    assert filed.service_notice == case.public_status


def test_requests_need_an_active_key(center, key):
    """No key, a wrong one or a revoked one: refused, nothing filed."""
    for bad in (None, "", "c311_nope", "x" * 500):
        with pytest.raises(NotAllowed):
            open311_requests.file_request(center, bad, LEAK)
    admin = signin.administrator(center)
    with center.db.read() as s:
        key_id = s.scalars(select(ApiKey.id)).one()
    api_keys.revoke_key(center, admin, key_id)
    with pytest.raises(NotAllowed):
        open311_requests.file_request(center, key, LEAK)
    with center.db.read() as s:
        assert s.scalars(select(Case)).all() == []


def test_keys_are_stored_hashed_and_shown_once(center):
    """Only the hash and the first characters are kept; names are unique."""
    admin = signin.administrator(center)
    created = api_keys.create_key(center, admin, "  Portal   municipal ")
    assert created.view.name == "Portal municipal"
    assert created.key.startswith("c311_") and len(created.key) > 40
    with center.db.read() as s:
        row = s.scalars(select(ApiKey)).one()
    assert row.key_hash == token_digest(created.key) != created.key
    assert created.key.startswith(row.prefix)
    with pytest.raises(InvalidData) as taken:
        api_keys.create_key(center, admin, "Portal municipal")
    assert "nombre" in taken.value.errors
    agent = accounts.authenticate(center, "agente", "demo311", client="tests")
    with pytest.raises(NotAllowed):
        api_keys.create_key(center, agent, "Otro")
    with pytest.raises(NotAllowed):
        api_keys.list_keys(center, agent)


def test_each_key_has_a_request_limit(center, key):
    """Past the limit in the window a key is refused until the window ends."""
    center.limits.open311_requests = 2
    bad = dict(LEAK, service_code=["queja.no_existe"])
    for _ in range(2):
        with pytest.raises(NotFound):
            open311_requests.file_request(center, key, bad)
    with pytest.raises(TooManyAttempts):
        open311_requests.file_request(center, key, LEAK)
    center.clock.advance(seconds=center.limits.open311_window_s + 1)
    assert open311_requests.file_request(center, key, LEAK).service_request_id


def test_bad_requests_name_the_parameters(center, key):
    """Form errors come back under the parameters the client sent."""
    short = dict(LEAK, description=["corta"], media_url=["javascript:alert(1)"])
    with pytest.raises(InvalidData) as bad_link:
        open311_requests.file_request(center, key, short)
    assert set(bad_link.value.errors) == {"media_url"}
    short["media_url"] = []
    short["email"] = ["ana@correo"]
    with pytest.raises(InvalidData) as bad:
        open311_requests.file_request(center, key, short)
    assert set(bad.value.errors) == {"description", "email"}
    far = dict(LEAK, lat=["40.4"])  # north of Panama
    with pytest.raises(InvalidData) as outside:
        open311_requests.file_request(center, key, far)
    assert set(outside.value.errors) == {"lat"}
    half = dict(LEAK, long=[])
    with pytest.raises(InvalidData) as alone:
        open311_requests.file_request(center, key, half)
    assert set(alone.value.errors) <= {"lat", "long"} and alone.value.errors
    with pytest.raises(InvalidData):
        open311_requests.file_request(center, key, {"description": ["x" * 20]})


def test_listing_shows_public_facts_never_contact_or_reserved_cases(center, key):
    """Reserved-identity denuncias are absent; no field carries contact data."""
    shown = open311_requests.file_request(center, key, LEAK).service_request_id
    reserved = open311_requests.file_request(
        center,
        key,
        {
            "service_code": ["denuncia.salud"],
            "description": ["El funcionario cobra por dar las citas del hospital."],
            "email": ["testigo@example.com"],
            "attribute[identidad_reservada]": ["true"],
        },
    ).service_request_id
    listed = open311_requests.list_requests(center, RequestQuery(extensions=True))
    assert [r.service_request_id for r in listed] == [shown]
    text = repr(listed)
    assert "ana@example.com" not in text and "6123" not in text
    assert listed[0].address.startswith("Calle 50")
    assert listed[0].media_url == "https://fotos.example.com/fuga.jpg"
    assert (listed[0].lat, listed[0].long) == ("8.98412", "-79.51987")
    assert listed[0].requested_datetime == "2026-11-02T10:00:00-05:00"
    assert listed[0].extended_attributes == {
        "channel": "open311",
        "public_status": listed[0].status_notes,
    }
    with pytest.raises(NotFound):
        open311_requests.get_request(center, reserved)


def test_listing_filters_and_pages(center, key):
    """Ids override the rest; status, service, dates and pages filter."""
    first = open311_requests.file_request(center, key, LEAK).service_request_id
    center.clock.advance(days=1)
    other = dict(
        LEAK,
        service_code=["queja.vias"],
        description=["Hueco enorme en la vía Transístmica."],
    )
    second = open311_requests.file_request(center, key, other).service_request_id

    def ids(**query):
        return [
            r.service_request_id
            for r in open311_requests.list_requests(center, RequestQuery(**query))
        ]

    assert ids() == [second, first]
    assert ids(service_code="queja.vias") == [second]
    assert ids(status="closed") == []
    assert ids(page_size=1, page=2) == [first]
    assert ids(start=datetime(2026, 11, 2, 12, 0, tzinfo=PANAMA)) == [second]
    assert ids(ids=(first, "311-1999-000001"), status="closed") == [first]
    center.clock.advance(days=91)
    assert ids() == []


def test_query_parameters_are_checked(center):
    """Bad values are named; an offset-less date is Panama time."""
    with pytest.raises(InvalidData) as bad:
        open311_requests.request_query(
            {"status": "pending", "start_date": "ayer", "page_size": "5000"}
        )
    assert set(bad.value.errors) == {"status", "start_date", "page_size"}
    query = open311_requests.request_query(
        {"start_date": "2026-11-01T08:00:00", "status": "open", "extensions": "true"}
    )
    assert query.start == datetime(2026, 11, 1, 8, 0, tzinfo=PANAMA)
    assert (query.status, query.extensions, query.page_size) == ("open", True, 1000)
