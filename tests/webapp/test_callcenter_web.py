"""Phone intake on the web: the caller lookup (JSON and without JavaScript),
the entity named at intake, the phone line's banner and its configuration."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from engine import services
from engine.domain.clock import FrozenClock
from engine.services.accounts import authenticate
from engine.store.models import Case, HumanTask
from engine.workflow.calendar import PANAMA
from tests.conftest import IDENTITY_KEY, post_form

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
    "telefono": "6555-1212",
    "identidad_reservada": True,
}
NEW_CASE = {
    "categoria": "salud",
    "asunto": "Sin medicamentos",
    "descripcion": "No hay medicamentos para la presión en la policlínica.",
}


@pytest.fixture
def earlier(app) -> dict[str, str]:
    """A phoned-in queja of one caller and a reserved denuncia."""
    p = app.extensions["centro311"]
    agent = authenticate(p, "agente", "demo311", client="t")
    first = services.open_case(p, "queja", CALLER, actor=agent, channel="phone")
    witness = services.open_case(p, "denuncia", WITNESS)
    return {"first": first.number, "witness": witness.number}


def first_task(app: Any, number: str) -> HumanTask:
    """The one ready task of a case."""
    with app.extensions["centro311"].db.read() as s:
        (task,) = s.scalars(
            select(HumanTask)
            .join(Case, Case.id == HumanTask.case_id)
            .where(Case.number == number, HumanTask.state == "ready")
        ).all()
        return task


# --- Caller lookup ---------------------------------------------------------------


def test_the_lookup_answers_the_callers_cases_as_json(client, auth, earlier) -> None:
    auth.login("agente")
    resp = client.get(
        "/buscar/llamante", query_string={"q": "61234567", "tipo": "queja"}
    )
    assert resp.status_code == 200 and resp.is_json
    (caller,) = resp.json["callers"]
    assert caller["name"] == "Rosa Elena Ábrego"
    assert caller["fill"] == {
        "nombre": "Rosa Elena Ábrego",
        "correo": "rosa.abrego@example.pa",
        "telefono": "6123-4567",
    }
    (case,) = caller["cases"]
    assert case == {
        "number": earlier["first"],
        "url": f"/casos/{earlier['first']}",
        "type": "Queja",
        "status": "Abierto",
        "public_status": case["public_status"],
        "entity": "",
    }


def test_the_lookup_never_shows_a_reserved_identity(client, auth, earlier) -> None:
    auth.login("supervisor")
    for q in ("Rosa", "6555-1212", "Reservada"):
        found = client.get("/buscar/llamante", query_string={"q": q}).json
        shown = str(found["callers"])
        assert earlier["witness"] not in shown and "Reservada" not in shown, q


@pytest.mark.parametrize(
    "q", ["\"'; DROP TABLE case; --", "a* OR b NEAR(", "%", "_", "^tuberia", ")"]
)
def test_syntax_characters_are_answered_normally(client, auth, earlier, q) -> None:
    auth.login("agente")
    resp = client.get("/buscar/llamante", query_string={"q": q})
    assert resp.status_code == 200
    assert resp.json["callers"] == []


def test_the_lookup_is_for_311_staff_only(client, auth, earlier) -> None:
    assert client.get("/buscar/llamante?q=6123-4567").status_code == 302
    auth.login("enlace.minsa")
    assert client.get("/buscar/llamante?q=6123-4567").status_code == 403


def test_without_javascript_the_intake_page_looks_up_and_fills(
    client, auth, earlier
) -> None:
    auth.login("agente")
    page = client.get("/casos/nuevo/queja?llamante=6123-4567").get_data(as_text=True)
    assert f'href="/casos/{earlier["first"]}"' in page
    assert "Rosa Elena Ábrego" in html.unescape(page)
    used = client.get("/casos/nuevo/queja?llamante=6123-4567&usar=0")
    filled = html.unescape(used.get_data(as_text=True))
    assert re.search(
        r'<input type="text" id="nombre" [^>]*value="Rosa Elena Ábrego"', filled
    )
    assert re.search(r'id="correo" [^>]*value="rosa.abrego@example.pa"', filled)


def test_citizens_get_no_lookup_nor_entity_choice(client, earlier) -> None:
    page = client.get("/casos/nuevo/queja?llamante=6123-4567").get_data(as_text=True)
    assert 'id="buscar-llamante"' not in page
    assert 'name="entidad_indicada"' not in page
    assert earlier["first"] not in page


# --- Entity at intake --------------------------------------------------------------


def test_an_agent_files_straight_to_the_entity(app, client, auth) -> None:
    auth.login("agente")
    page = client.get("/casos/nuevo/queja").get_data(as_text=True)
    assert '<option value="">La entidad la decide el 311</option>' in page
    assert '<option value="MINSA">MINSA' in page
    resp = post_form(
        client,
        "/casos/nuevo/queja",
        {**NEW_CASE, "canal": "phone", "entidad_indicada": "MINSA"},
    )
    assert resp.status_code == 303
    with app.extensions["centro311"].db.read() as s:
        number = s.scalars(select(Case.number)).one()
    task = first_task(app, number)
    assert (task.bpmn_id, task.entity_code) == ("acusar_recibo", "MINSA")


def test_an_unknown_entity_is_named_beside_the_field(client, auth) -> None:
    auth.login("agente")
    resp = post_form(
        client,
        "/casos/nuevo/queja",
        {**NEW_CASE, "canal": "phone", "entidad_indicada": "NOEXISTE"},
    )
    assert resp.status_code == 422
    assert "Esa entidad no existe o no está activa." in resp.get_data(as_text=True)


def test_a_citizen_cannot_name_the_entity(app, client) -> None:
    resp = post_form(
        client, "/casos/nuevo/queja", {**NEW_CASE, "entidad_indicada": "MINSA"}
    )
    assert resp.status_code == 422
    assert "Solo el personal del 311 indica la entidad." in resp.get_data(as_text=True)
    with app.extensions["centro311"].db.read() as s:
        assert s.scalars(select(Case)).all() == []


# --- Phone line banner -----------------------------------------------------------


def at(app: Any, year: int, month: int, day: int, hour: int, minute: int) -> None:
    """Set the platform's clock to a Panama wall-clock time."""
    when = datetime(year, month, day, hour, minute, tzinfo=PANAMA)
    app.extensions["centro311"].clock = FrozenClock(when)


def banner(client: Any, url: str) -> str:
    """The text of the phone line's banner on a page ('' if none)."""
    page = client.get(url).get_data(as_text=True)
    start = page.find('id="linea-311"')
    if start < 0:
        return ""
    return " ".join(html.unescape(page[start : page.find("</div>", start)]).split())


def test_the_banner_says_open_until_and_when_it_opens(app, client) -> None:
    at(app, 2026, 11, 9, 9, 0)  # a Monday
    assert "Línea 311 abierta hasta las 20:00." in banner(client, "/")
    at(app, 2026, 11, 14, 13, 0)  # Saturday after noon
    closed = banner(client, "/casos/nuevo/queja")
    assert "Línea 311 cerrada; abre el lunes a las 6:00." in closed
    assert "Puede presentar su caso en línea las 24 horas." in closed
    at(app, 2026, 11, 13, 21, 0)  # Friday night
    assert "abre mañana a las 8:00." in banner(client, "/")
    at(app, 2026, 11, 12, 5, 0)  # Thursday before six
    assert "abre hoy a las 6:00." in banner(client, "/")


def test_the_banner_is_on_staff_pages_not_on_tracking(app, client, auth) -> None:
    at(app, 2026, 11, 9, 9, 0)
    assert banner(client, "/seguimiento") == ""
    auth.login("enlace.minsa")
    assert "abierta" in banner(client, "/tareas")


def test_the_banner_speaks_english(app, client) -> None:
    at(app, 2026, 11, 15, 10, 0)  # a Sunday
    post_form(client, "/idioma/en", {"next": "/"})
    text = banner(client, "/")
    assert "311 line closed; opens tomorrow at 6:00." in text, text


@pytest.mark.parametrize(
    ("hours", "zone"),
    [("lunes 6-20", "America/Panama"), ("mon-fri 06:00-20:00", "Luna/Base")],
)
def test_bad_phone_hours_stop_the_start_with_a_clear_error(db_url, hours, zone) -> None:
    from webapp import create_app
    from webapp.config import BadSetting

    with pytest.raises(BadSetting, match="PHONE_HOURS"):
        create_app(
            {
                "ENV": "testing",
                "SECRET_KEY": "x",
                "IDENTITY_KEY": IDENTITY_KEY,
                "DATABASE_URL": db_url,
                "PHONE_HOURS": hours,
                "PHONE_TIMEZONE": zone,
            }
        )


def test_configured_hours_are_used(db_url, demo_hash, tmp_path) -> None:
    from webapp import create_app

    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "x",
            "IDENTITY_KEY": IDENTITY_KEY,
            "DATABASE_URL": db_url,
            "PHONE_HOURS": "mon-fri 00:00-24:00; sat 00:00-12:00",
        }
    )
    app.instance_path = str(tmp_path / "instance")
    # Around the clock on weekdays: on Thursday it runs into Saturday noon.
    at(app, 2026, 11, 12, 3, 0)
    assert "Línea 311 abierta hasta las 12:00." in banner(app.test_client(), "/")
    at(app, 2026, 11, 15, 3, 0)  # Sunday 3 a.m.
    assert "abre mañana a las 0:00." in banner(app.test_client(), "/")
    app.extensions["centro311"].close()
