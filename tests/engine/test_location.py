"""A case's place: the optional map pin checked and stored at intake, shown
to staff and to the citizen; and at most three files at intake.

Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import services
from engine.domain import geo
from engine.domain.errors import InvalidData, Message
from engine.domain.views import LocationView, Upload
from engine.services import accounts
from engine.services.platform import Platform
from engine.store.models import Attachment, Case, CaseEvent
from tests.sample_files import plain_png

INTAKE = {
    "categoria": "vias",
    "asunto": "Hueco en la calle",
    "descripcion": "Un hueco grande frente a la parada de buses desde hace un mes.",
    "ubicacion": "Vía España frente al Banco Nacional",
    "nombre": "Ana Pérez",
    "correo": "ana@example.com",
}


def text(message: Message) -> str:
    """A message as the citizen reads it (untranslated)."""
    return message.text % message.params


def refused(latitude: object, longitude: object) -> dict[str, list[str]]:
    """The messages ``check_point`` gives, by field."""
    with pytest.raises(InvalidData) as caught:
        geo.check_point(latitude, longitude)
    return {k: [text(m) for m in v] for k, v in caught.value.errors.items()}


def login(p: Platform, username: str):
    """The Actor of a demo user."""
    return accounts.authenticate(p, username, "demo311", client="tests")


# --- Checking a point ---------------------------------------------------------


def test_no_point_is_fine():
    """Both coordinates empty (absent or blank) is no point, not an error."""
    assert geo.check_point(None, None) is None
    assert geo.check_point("", "  ") is None


def test_point_as_typed_or_pinned():
    """Text with a point or a comma, and numbers, give the same point,
    rounded to five decimals (about a metre)."""
    expected = geo.Point(8.98235, -79.51973)
    assert geo.check_point("8.982351", "-79.519729") == expected
    assert geo.check_point(" 8,982351 ", "-79,519729") == expected
    assert geo.check_point(8.982351, -79.519729) == expected
    assert geo.check_point("+8.98235", "-79.51973") == expected


def test_one_coordinate_without_the_other():
    """Half a point names the missing coordinate."""
    pair = "Indique la latitud y la longitud, o deje las dos vacías."
    assert refused("8.98", "") == {"longitud": [pair]}
    assert refused(None, "-79.5") == {"latitud": [pair]}


@pytest.mark.parametrize(
    "bad", ["abc", "nan", "inf", "1e1", "8.9.1", "8,9,1", "--8", "0x8", True]
)
def test_what_is_not_a_number(bad):
    """Words, exponents, nan/inf, booleans: a message with an example."""
    assert refused(bad, "-79.5") == {
        "latitud": ["Escriba un número con punto decimal, por ejemplo 8.98235."]
    }
    assert refused("8.98", bad) == {
        "longitud": ["Escriba un número con punto decimal, por ejemplo -79.51973."]
    }


def test_points_outside_panama():
    """Each coordinate outside the bounding box says its range."""
    assert refused("40.7128", "-74.0060") == {
        "latitud": ["Ese punto queda fuera de Panamá: la latitud va de 7.0 a 9.8."],
        "longitud": [
            "Ese punto queda fuera de Panamá: la longitud va de -83.1 a -77.1."
        ],
    }
    # Swapped coordinates are a common slip.
    assert set(refused("-79.5", "8.98")) == {"latitud", "longitud"}
    # The box's edges are inside.
    assert geo.check_point(geo.PANAMA_MIN_LATITUDE, geo.PANAMA_MAX_LONGITUDE)
    assert geo.check_point(geo.PANAMA_MAX_LATITUDE, geo.PANAMA_MIN_LONGITUDE)


# --- Filing with a point --------------------------------------------------------


def test_the_point_is_stored_on_the_case_not_in_personal_data(seeded):
    """Latitude and longitude go to the case's columns and the audit's
    ``created`` event; not into the workflow data, nor the contact."""
    opened = services.open_case(
        seeded, "queja", INTAKE, latitude="8.982351", longitude="-79,519729"
    )
    with seeded.db.read() as s:
        case = s.scalars(select(Case).where(Case.number == opened.number)).one()
        created = s.scalars(
            select(CaseEvent).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == "created"
            )
        ).one()
        assert (case.latitude, case.longitude) == (8.98235, -79.51973)
        assert case.contact == {"nombre": "Ana Pérez", "correo": "ana@example.com"}
        assert created.data["location"] == {
            "latitude": 8.98235,
            "longitude": -79.51973,
        }
        assert "latitud" not in created.data["data"]
        assert created.data["data"]["ubicacion"] == INTAKE["ubicacion"]


def test_filing_without_a_point(seeded):
    """The address alone is enough: the case has no coordinates."""
    opened = services.open_case(seeded, "queja", INTAKE, latitude="", longitude="")
    with seeded.db.read() as s:
        case = s.scalars(select(Case).where(Case.number == opened.number)).one()
        assert (case.latitude, case.longitude) == (None, None)


def test_a_bad_point_comes_with_the_forms_messages_and_stores_nothing(seeded):
    """One InvalidData carries the form's errors and the point's; no case."""
    data = {**INTAKE, "asunto": ""}
    with pytest.raises(InvalidData) as caught:
        services.open_case(seeded, "queja", data, latitude="8.98", longitude="")
    assert set(caught.value.errors) == {"asunto", "longitud"}
    with pytest.raises(InvalidData) as caught:
        services.open_case(seeded, "queja", INTAKE, latitude="40", longitude="-74")
    assert set(caught.value.errors) == {"latitud", "longitud"}
    with seeded.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_phone_intake_takes_the_point_too(seeded):
    """An agent filing a call sets the pin the same way."""
    agent = login(seeded, "agente")
    opened = services.open_case(
        seeded,
        "queja",
        INTAKE,
        actor=agent,
        channel="phone",
        latitude=9.0,
        longitude=-79.5,
    )
    with seeded.db.read() as s:
        case = s.scalars(select(Case).where(Case.number == opened.number)).one()
        assert (case.channel, case.latitude, case.longitude) == ("phone", 9.0, -79.5)


# --- Where the place shows -------------------------------------------------------


def test_intake_view_names_the_address_field(seeded):
    """Forms mark their address with ``x-location``; others ask for no place."""
    assert services.get_intake(seeded, "queja").location_field == "ubicacion"
    assert services.get_intake(seeded, "denuncia").location_field == "ubicacion"
    assert services.get_intake(seeded, "sugerencia").location_field is None
    assert services.get_intake(seeded, "queja").max_files == 3


def test_staff_and_citizen_see_the_place(seeded):
    """The case page and the tracking page carry the address and the pin."""
    opened = services.open_case(
        seeded, "queja", INTAKE, latitude="8.98235", longitude="-79.51973"
    )
    place = LocationView(
        address=INTAKE["ubicacion"], latitude=8.98235, longitude=-79.51973
    )
    staff = services.get_case(seeded, login(seeded, "agente"), opened.number)
    assert staff.location == place
    tracked = services.track_case(
        seeded, opened.number, opened.access_code, client="tests"
    )
    assert tracked.location == place


def test_no_place_at_all(seeded):
    """Neither address nor pin: no place to show."""
    data = {k: v for k, v in INTAKE.items() if k != "ubicacion"}
    opened = services.open_case(seeded, "queja", data)
    tracked = services.track_case(
        seeded, opened.number, opened.access_code, client="tests"
    )
    assert tracked.location is None


# --- Files at intake ---------------------------------------------------------------


def test_at_most_three_files_at_intake(seeded):
    """A fourth file is refused with the limit (nothing stored); three pass."""
    four = [Upload("adjuntos", f"{i}.png", plain_png()) for i in range(4)]
    with pytest.raises(InvalidData) as caught:
        services.open_case(seeded, "queja", INTAKE, files=four)
    assert [text(m) for m in caught.value.errors["adjuntos"]] == [
        "Adjunte como máximo 3 archivos a la vez."
    ]
    with seeded.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
    services.open_case(seeded, "queja", INTAKE, files=four[:3])
    with seeded.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 3
