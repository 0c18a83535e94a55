"""The call center: the phone line's hours, the caller lookup at phone
intake (never a sealed identity), and the entity named at intake, which
skips classification."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.errors import InvalidData, NotAllowed
from engine.domain.phone_hours import DEFAULT_HOURS, line_status, parse_hours
from engine.services import accounts, callcenter
from engine.services.platform import Platform
from engine.store.models import Case, HumanTask
from engine.workflow.calendar import PANAMA
from tests.conftest import IDENTITY_KEY, seed
from tests.engine.test_scenarios import do, who

HOURS = parse_hours(DEFAULT_HOURS)


def status_at(year: int, month: int, day: int, hour: int, minute: int, second=0):
    """The default line's status at a Panama wall-clock time."""
    when = datetime(year, month, day, hour, minute, second, tzinfo=PANAMA)
    return line_status(HOURS, when)


# --- Phone line hours -----------------------------------------------------------


def test_weekday_hours_include_the_start_and_exclude_the_end() -> None:
    # 2026-11-09 is a Monday.
    assert not status_at(2026, 11, 9, 5, 59, 59).is_open
    opening = status_at(2026, 11, 9, 6, 0)
    assert opening.is_open
    assert opening.closes_at == datetime(2026, 11, 9, 20, 0, tzinfo=PANAMA)
    assert status_at(2026, 11, 9, 19, 59).is_open
    closed = status_at(2026, 11, 9, 20, 0)
    assert not closed.is_open
    assert closed.opens_at == datetime(2026, 11, 10, 6, 0, tzinfo=PANAMA)
    assert closed.opens_in_days == 1


def test_early_morning_opens_later_today() -> None:
    early = status_at(2026, 11, 9, 4, 30)
    assert (early.opens_at, early.opens_in_days) == (
        datetime(2026, 11, 9, 6, 0, tzinfo=PANAMA),
        0,
    )


def test_saturday_closes_at_noon_and_opens_again_on_monday() -> None:
    # 2026-11-14 is a Saturday.
    friday_night = status_at(2026, 11, 13, 20, 30)
    assert friday_night.opens_at == datetime(2026, 11, 14, 8, 0, tzinfo=PANAMA)
    morning = status_at(2026, 11, 14, 11, 59)
    assert morning.is_open
    assert morning.closes_at == datetime(2026, 11, 14, 12, 0, tzinfo=PANAMA)
    noon = status_at(2026, 11, 14, 12, 0)
    assert not noon.is_open
    assert noon.opens_at == datetime(2026, 11, 16, 6, 0, tzinfo=PANAMA)
    assert noon.opens_in_days == 2


def test_sunday_is_closed_all_day() -> None:
    for hour in (0, 8, 12, 19, 23):
        sunday = status_at(2026, 11, 15, hour, 0)
        assert not sunday.is_open, hour
        assert sunday.opens_at == datetime(2026, 11, 16, 6, 0, tzinfo=PANAMA)
        assert sunday.opens_in_days == 1


def test_panama_time_not_utc_decides() -> None:
    """01:30 UTC on Tuesday is 20:30 on Monday in Panama (closed); 11:00 UTC
    is 6:00 in Panama (open)."""
    late = line_status(HOURS, datetime(2026, 11, 10, 1, 30, tzinfo=UTC))
    assert not late.is_open
    assert late.opens_at == datetime(2026, 11, 10, 6, 0, tzinfo=PANAMA)
    assert late.opens_in_days == 1
    assert line_status(HOURS, datetime(2026, 11, 10, 11, 0, tzinfo=UTC)).is_open
    assert not line_status(HOURS, datetime(2026, 11, 10, 10, 59, tzinfo=UTC)).is_open


def test_closed_days_keep_the_line_closed() -> None:
    holiday = date(2026, 11, 10)
    status = line_status(
        HOURS,
        datetime(2026, 11, 10, 9, 0, tzinfo=PANAMA),
        lambda day: day == holiday,
    )
    assert not status.is_open
    assert status.opens_at == datetime(2026, 11, 11, 6, 0, tzinfo=PANAMA)


def test_other_hours_and_zones_parse() -> None:
    hours = parse_hours("sat,sun 08:00-12:00, 14:00-24:00;wed 09:30-10:00", "UTC")
    assert hours.ranges[5] == ((480, 720), (840, 1440))
    assert hours.ranges[2] == ((570, 600),)
    assert hours.ranges[0] == ()
    evening = line_status(hours, datetime(2026, 11, 14, 23, 0, tzinfo=UTC))
    assert evening.is_open
    # Saturday's range runs into Sunday's, which starts at 8:00: closes at 0:00.
    assert evening.closes_at == datetime(2026, 11, 15, 0, 0, tzinfo=UTC)
    always = parse_hours("mon-sun 00:00-24:00")
    night = line_status(always, datetime(2026, 11, 14, 23, 0, tzinfo=PANAMA))
    assert night.is_open and night.closes_at is None
    overnight = parse_hours("fri 20:00-24:00; sat 00:00-02:00")
    friday = line_status(overnight, datetime(2026, 11, 13, 22, 0, tzinfo=PANAMA))
    assert friday.closes_at == datetime(2026, 11, 14, 2, 0, tzinfo=PANAMA)


@pytest.mark.parametrize(
    ("spec", "zone", "says"),
    [
        ("", "America/Panama", "vacío"),
        ("lunes 06:00-20:00", "America/Panama", "día desconocido"),
        ("mon-fri 6-20", "America/Panama", "rango horario"),
        ("mon 20:00-06:00", "America/Panama", "termina antes"),
        ("mon 25:00-26:00", "America/Panama", "hora no válida"),
        ("fri-mon 06:00-20:00", "America/Panama", "hacia atrás"),
        ("mon 06:00-12:00; mon 11:00-13:00", "America/Panama", "solapan"),
        ("mon 06:00-20:00", "Mars/Olympus", "zona horaria"),
        ("06:00-20:00", "America/Panama", "no se entiende"),
    ],
)
def test_bad_hours_say_what_is_wrong(spec: str, zone: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_hours(spec, zone)


# --- The platform's line, with days off ------------------------------------------


@pytest.fixture
def clock() -> FrozenClock:
    """A Monday morning in Panama."""
    return FrozenClock(datetime(2026, 11, 9, 9, 0, tzinfo=PANAMA))


@pytest.fixture
def p(db_url: str, demo_hash: str, clock: FrozenClock) -> Iterator[Platform]:
    """A seeded platform on the frozen clock."""
    platform = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    seed(platform, demo_hash)
    yield platform
    platform.close()


def test_the_platform_line_follows_its_clock_and_the_days_off(p, clock) -> None:
    assert callcenter.phone_line(p).is_open
    services.add_day_off(p, who(p, "admin"), date(2026, 11, 9), "Asueto")
    p.calendar_cache = None
    closed = callcenter.phone_line(p)
    assert not closed.is_open
    # Tuesday 10 is a national holiday (Primer Grito de Independencia).
    assert closed.opens_at == datetime(2026, 11, 11, 6, 0, tzinfo=PANAMA)
    # National holidays close it too: 2026-11-03 (Separación de Colombia).
    clock.at = datetime(2026, 11, 3, 10, 0, tzinfo=PANAMA)
    assert not callcenter.phone_line(p).is_open


# --- Caller lookup ---------------------------------------------------------------

CALLER = {
    "categoria": "agua",
    "asunto": "Fuga en la acera",
    "descripcion": "Sale agua de la acera frente a mi casa desde ayer.",
    "nombre": "Rosa Elena Ábrego",
    "correo": "rosa.abrego@example.pa",
    "telefono": "6123-4567",
}
WITNESS = {
    "categoria": "salud",
    "asunto": "Cobro indebido de citas",
    "descripcion": "Un funcionario cobra por citas que deberían ser gratuitas.",
    "nombre": "Rosa Reservada",
    "correo": "reservada@example.pa",
    "telefono": "6555-1212",
    "identidad_reservada": True,
}


@pytest.fixture
def earlier(p: Platform) -> dict[str, str]:
    """Two cases of one caller (phone and web) and a reserved denuncia."""
    agent = who(p, "agente")
    first = services.open_case(p, "queja", CALLER, actor=agent, channel="phone")
    second = services.open_case(
        p, "sugerencia", {**CALLER, "categoria": "vias", "telefono": "+507 61234567"}
    )
    witness = services.open_case(p, "denuncia", WITNESS)
    do(
        p,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "IDAAN"},
        first.number,
    )
    return {"first": first.number, "second": second.number, "witness": witness.number}


def test_finds_the_callers_earlier_cases_by_phone(p, earlier) -> None:
    found = callcenter.lookup_caller(p, who(p, "agente"), "+507 6123 4567", "queja")
    (caller,) = found.callers
    assert (caller.name, caller.email) == (
        "Rosa Elena Ábrego",
        "rosa.abrego@example.pa",
    )
    assert {c.number for c in caller.cases} == {earlier["first"], earlier["second"]}
    first = next(c for c in caller.cases if c.number == earlier["first"])
    assert (first.type_title, first.status, first.entity_code) == (
        "Queja",
        "open",
        "IDAAN",
    )
    assert caller.fill == {
        "nombre": "Rosa Elena Ábrego",
        "correo": "rosa.abrego@example.pa",
        "telefono": caller.phone,
    }


def test_finds_by_email_and_by_name_without_accents(p, earlier) -> None:
    agent = who(p, "agente")
    by_mail = callcenter.lookup_caller(p, agent, "ROSA.ABREGO@example")
    by_name = callcenter.lookup_caller(p, agent, "rosa abrego")
    for found in (by_mail, by_name):
        assert [c.name for c in found.callers] == ["Rosa Elena Ábrego"]
        assert len(found.callers[0].cases) == 2
        # No case type: nothing to fill.
        assert found.callers[0].fill == {}


def test_never_matches_nor_shows_a_sealed_identity(p, earlier) -> None:
    supervisor = who(p, "supervisor")
    for text in ("Rosa Reservada", "6555-1212", "reservada@example.pa", "Rosa"):
        found = callcenter.lookup_caller(p, supervisor, text, "denuncia")
        shown = {c.number for caller in found.callers for c in caller.cases}
        assert earlier["witness"] not in shown, text
        assert all("Reservada" not in caller.name for caller in found.callers)


def test_short_or_syntax_laden_input_is_answered_normally(p, earlier) -> None:
    agent = who(p, "agente")
    assert callcenter.lookup_caller(p, agent, " ro ").too_short
    for text in ("\"'; DROP TABLE case; --", "a* OR b NEAR(", "%%%", "___", "^(*)"):
        found = callcenter.lookup_caller(p, agent, text)
        assert found.callers == [], text
    with p.db.read() as s:
        assert len(s.scalars(select(Case)).all()) == 3


def test_only_311_staff_look_callers_up(p, earlier) -> None:
    for actor in (None, who(p, "enlace.minsa"), who(p, "disenador")):
        with pytest.raises(NotAllowed):
            callcenter.lookup_caller(p, actor, "6123-4567")


# --- Entity named at intake ------------------------------------------------------

PHONED = {
    "categoria": "otro",
    "asunto": "Medicamentos agotados",
    "descripcion": "No hay medicamentos para la presión en la policlínica.",
    "telefono": "6000-1111",
}


def ready_tasks(p: Platform, number: str) -> list[HumanTask]:
    """The case's ready task rows."""
    with p.db.read() as s:
        return list(
            s.scalars(
                select(HumanTask)
                .join(Case, Case.id == HumanTask.case_id)
                .where(Case.number == number, HumanTask.state == "ready")
            )
        )


@pytest.mark.parametrize(
    ("case_type", "first_task"),
    [
        ("queja", "acusar_recibo"),
        ("denuncia", "acusar_recibo"),
        ("sugerencia", "responder_sugerencia"),
    ],
)
def test_entity_at_intake_skips_classification(p, case_type, first_task) -> None:
    data = dict(PHONED)
    if case_type == "denuncia":
        data["categoria"] = "salud"
    opened = services.open_case(
        p,
        case_type,
        data,
        actor=who(p, "agente"),
        channel="phone",
        entity_code="minsa",
    )
    (task,) = ready_tasks(p, opened.number)
    assert (task.bpmn_id, task.role, task.entity_code) == (
        first_task,
        "enlace",
        "MINSA",
    )
    with p.db.read() as s:
        case = s.scalars(select(Case).where(Case.number == opened.number)).one()
    assert case.entity_code == "MINSA"


def test_without_an_entity_the_311_classifies(p) -> None:
    opened = services.open_case(
        p, "queja", PHONED, actor=who(p, "agente"), channel="phone"
    )
    (task,) = ready_tasks(p, opened.number)
    assert (task.bpmn_id, task.role) == ("clasificar_caso", "agente_311")


def test_a_citizen_on_the_web_cannot_name_the_entity(p) -> None:
    with pytest.raises(InvalidData) as refused:
        services.open_case(p, "queja", PHONED, entity_code="MINSA")
    assert "entidad_indicada" in refused.value.errors
    # Nor through a form field of that name: only the checked value counts.
    opened = services.open_case(p, "queja", {**PHONED})
    (task,) = ready_tasks(p, opened.number)
    assert task.bpmn_id == "clasificar_caso"


@pytest.mark.parametrize("code", ["NOEXISTE", "MOP"])
def test_unknown_or_inactive_entities_are_refused(p, code) -> None:
    accounts.upsert_entity(p, "MOP", "Ministerio de Obras Públicas", active=False)
    with pytest.raises(InvalidData) as refused:
        services.open_case(
            p,
            "queja",
            PHONED,
            actor=who(p, "agente"),
            channel="phone",
            entity_code=code,
        )
    assert "entidad_indicada" in refused.value.errors
    with p.db.read() as s:
        assert s.scalars(select(Case)).all() == []
