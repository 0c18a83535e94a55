"""The timeline pages read the English keys the engine stores.

What the code stores is English (payload keys, channel values); what people
read stays Spanish (labels, field titles, the diagram's statuses).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.domain.enums import Channel, EventKind
from engine.store.models import Case, CaseEvent
from tests.conftest import Auth, must_search, post_form, receipt, work

QUEJA = {
    "categoria": "vias",
    "asunto": "Tubería rota en la vía",
    "descripcion": "Una tubería rota inunda la vía Ricardo J. Alfaro desde ayer.",
}
REASON = "La tubería rota es de agua potable: le corresponde al IDAAN."


def events(app, number: str) -> list[CaseEvent]:
    """The stored events of a case, oldest first."""
    with app.extensions["centro311"].db.read() as s:
        case_id = s.scalars(select(Case.id).where(Case.number == number)).one()
        return list(
            s.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case_id)
                .order_by(CaseEvent.id)
            )
        )


def test_agent_picks_a_channel_stored_in_english_shown_in_spanish(app, client):
    """The ``canal`` field offers the enum's values; pages show the label."""
    Auth(client).login("agente")
    page = client.get("/casos/nuevo/queja").get_data(as_text=True)
    select_html = must_search(r'<select id="canal".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', select_html) == [
        "phone",
        "in_person",
        "email",
        "web",
    ]
    number, code = receipt(
        client, post_form(client, "/casos/nuevo/queja", {**QUEJA, "canal": "in_person"})
    )
    (created, *_) = events(app, number)
    assert created.kind == EventKind.CREATED
    assert created.data is not None
    assert created.data["channel"] == Channel.IN_PERSON
    assert created.data["data"]["asunto"] == QUEJA["asunto"]  # designer's names
    staff = client.get(f"/casos/{number}").get_data(as_text=True)
    assert "<dd>Presencial</dd>" in staff
    assert "Caso recibido (Presencial)" in staff
    citizen = app.test_client()
    public = post_form(citizen, "/seguimiento", {"numero": number, "codigo": code})
    assert "Caso recibido (Presencial)" in public.get_data(as_text=True)


def test_an_unknown_channel_is_refused_on_the_form(client):
    """The old Spanish value is no channel any more: the field says so."""
    Auth(client).login("agente")
    resp = post_form(client, "/casos/nuevo/queja", {**QUEJA, "canal": "presencial"})
    assert resp.status_code == 422
    assert "Canal desconocido." in resp.get_data(as_text=True)


def test_a_transfer_reads_from_english_keys(app):
    """Assignment, note, transfer and completed tasks render from the payloads."""
    citizen = app.test_client()
    number, code = receipt(citizen, post_form(citizen, "/casos/nuevo/queja", QUEJA))
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MOP"},
        number,
    )
    work(app, "enlace.mop", "Acusar recibo", {}, number)
    work(
        app,
        "enlace.mop",
        "Atender la queja",
        {"accion": "no_competencia", "motivo_no_competencia": REASON},
        number,
    )
    work(app, "agente", "Transferir a otra entidad", {"entidad": "IDAAN"}, number)

    stored = {e.kind: e.data or {} for e in events(app, number)}
    # The agent's step transferred it: the event keeps the role acted in.
    assert stored[EventKind.TRANSFERRED] == {
        "from": "MOP",
        "to": "IDAAN",
        "role": "agente_311",
    }
    assert stored[EventKind.ASSIGNED]["entity"] == "IDAAN"
    assert stored[EventKind.PUBLIC_NOTE] == {
        "fields": [
            {"label": "Por qué no le corresponde a la entidad", "value": REASON}
        ],
        "role": "enlace",
        "role_entity": "MOP",
    }
    completed = stored[EventKind.TASK_COMPLETED]
    assert set(completed) == {"task", "data", "by", "role"}
    assert completed["task"] == "Transferir a otra entidad"
    assert completed["data"]["entidad"] == "IDAAN"  # a designer's variable

    html = post_form(
        citizen, "/seguimiento", {"numero": number, "codigo": code}
    ).get_data(as_text=True)
    assert "(MOP → IDAAN)" in html
    assert "Por qué no le corresponde a la entidad" in html
    assert f'<blockquote class="note">{REASON}</blockquote>' in html
    assert "Asignado a la entidad <strong>IDAAN</strong>" in html

    staff = app.test_client()
    Auth(staff).login("supervisor")
    html = staff.get(f"/casos/{number}").get_data(as_text=True)
    assert "(MOP → IDAAN)" in html
    assert "Tarea completada: Transferir a otra entidad" in html
    assert "Estado: <strong>" in html
