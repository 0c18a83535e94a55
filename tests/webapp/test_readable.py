"""Readable staff and tracking pages: dates in the reader's language (Panama
time), who acted by role, public answers never marked internal."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from flask import session
from sqlalchemy import select

from engine.domain.clock import FrozenClock
from engine.domain.enums import EventKind
from engine.domain.errors import Conflict
from engine.store.accounts import User
from engine.store.models import Case, CaseEvent
from tests.conftest import Auth, csrf_token, post_form, receipt, work
from webapp.helpers import fecha, translate

QUEJA = {
    "categoria": "salud",
    "asunto": "Centro de salud sin atención en la tarde",
    "descripcion": "El centro de salud de Juan Díaz cerró a las 3; abre hasta las 7.",
}
ANSWER = "Desde el lunes el centro de salud atiende hasta las 7:00 p. m."
#: 10:15 in Panama (UTC-5, no daylight saving), a Thursday.
FILED_AT = datetime(2026, 12, 3, 15, 15, tzinfo=UTC)


def entries(html: str) -> list[str]:
    """The timeline's entries (the HTML of each ``<li class="ev …">``)."""
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', html, re.S)
    assert timeline is not None, "no timeline on the page"
    return re.findall(r'<li class="ev[^"]*">(.*?)</li>', timeline.group(1), re.S)


def entry(html: str, text: str) -> str:
    """The one timeline entry that contains ``text``."""
    found = [e for e in entries(html) if text in e]
    assert len(found) == 1, f"{len(found)} entries contain {text!r}"
    return found[0]


def english(client) -> None:
    """Switch the client's session to English."""
    client.post("/idioma/en", data={"csrf_token": csrf_token(client, "/")})


def test_fecha_writes_each_language_its_own_way(app):
    """Spanish "3 dic 2026, 10:15", English "Dec 3, 2026, 10:15 AM", in Panama
    time; a day alone (or without its time) is the date alone."""
    for lang, moment, day, holiday in (
        ("es", "3 dic 2026, 10:15", "3 dic 2026", "25 dic 2026"),
        ("en", "Dec 3, 2026, 10:15\u202fAM", "Dec 3, 2026", "Dec 25, 2026"),
    ):
        with app.test_request_context("/"):
            session["lang"] = lang
            assert fecha(FILED_AT) == moment
            assert fecha(FILED_AT, with_time=False) == day
            assert fecha(date(2026, 12, 25)) == holiday
            assert fecha(None) == ""


def test_a_conflict_names_its_date_in_the_readers_language(app):
    """A date an engine message carries is written like every other date."""
    error = Conflict(
        "%(who)s ya completó esta tarea el %(when)s.", who="Ana", when=FILED_AT
    )
    with app.test_request_context("/"):
        assert (
            translate(error.message)
            == "Ana ya completó esta tarea el 3 dic 2026, 10:15."
        )


def test_pages_show_dates_in_the_readers_language_with_machine_values(app):
    """Case page, inbox and tracking page, in Spanish and then in English;
    ``<time datetime>`` keeps the offset value for machines."""
    app.extensions["centro311"].clock = FrozenClock(FILED_AT)
    citizen = app.test_client()
    number, code = receipt(citizen, post_form(citizen, "/casos/nuevo/queja", QUEJA))
    staff = app.test_client()
    Auth(staff).login("agente")

    case_page = staff.get(f"/casos/{number}").get_data(as_text=True)
    created = entry(case_page, "Caso recibido")
    assert (
        '<time datetime="2026-12-03T10:15:00-05:00">3 dic 2026, 10:15</time>' in created
    )
    inbox = staff.get("/tareas?tab=role").get_data(as_text=True)
    assert "desde 3 dic 2026, 10:15" in inbox
    track = post_form(citizen, "/seguimiento", {"numero": number, "codigo": code})
    assert ">3 dic 2026, 10:15</time>" in track.get_data(as_text=True)

    english(staff)
    english(citizen)
    case_page = staff.get(f"/casos/{number}").get_data(as_text=True)
    created = entry(case_page, "Case received")
    assert '<time datetime="2026-12-03T10:15:00-05:00">Dec 3, 2026, 10:15' in created
    assert "AM</time>" in created
    inbox = staff.get("/tareas?tab=role").get_data(as_text=True)
    assert re.search(r"Dec 3, 2026, 10:15\sAM", inbox)
    track = post_form(citizen, "/seguimiento", {"numero": number, "codigo": code})
    assert re.search(r">Dec 3, 2026, 10:15\sAM</time>", track.get_data(as_text=True))
    assert "03/12/2026" not in case_page + inbox


def answered_case(app) -> tuple[str, str]:
    """A queja routed to MINSA, acknowledged, noted and answered."""
    citizen = app.test_client()
    number, code = receipt(citizen, post_form(citizen, "/casos/nuevo/queja", QUEJA))
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )
    work(app, "enlace.minsa", "Acusar recibo", {"nota": "A la región."}, number)
    for who, text, visibility in (
        ("enlace.minsa", "Llamamos al director regional.", "interna"),
        ("supervisor", "Seguimos su caso de cerca.", "publica"),
    ):
        c = app.test_client()
        Auth(c).login(who)
        token = csrf_token(c, f"/casos/{number}")
        resp = c.post(
            f"/casos/{number}/notas",
            data={"nota": text, "visibilidad": visibility, "csrf_token": token},
        )
        assert resp.status_code == 303
    work(
        app,
        "enlace.minsa",
        "Atender la queja",
        {"accion": "responder", "respuesta": ANSWER},
        number,
    )
    return number, code


def test_staff_timeline_names_the_role_and_the_person(app):
    """Each entry says in which role someone acted, then who: the task's lane
    for a completion, the person's role for a note; the system's own steps
    are the system's."""
    number, _ = answered_case(app)
    staff = app.test_client()
    Auth(staff).login("supervisor")
    html = staff.get(f"/casos/{number}").get_data(as_text=True)

    def by(text: str) -> str:
        """Who the entry containing ``text`` is signed by."""
        found = re.search(r'<span class="by">(.*?)</span>', entry(html, text))
        assert found is not None
        return found.group(1)

    assert by("Tarea completada: Clasificar la queja") == "Agente 311 — Ana Agente"
    minsa = "Enlace (MINSA) — Elena Enlace (MINSA)"
    assert by("Tarea completada: Acusar recibo") == minsa
    assert by("Llamamos al director regional.") == minsa
    assert by("Seguimos su caso de cerca.") == "Supervisor 311 — Sergio Supervisor"
    assert by(ANSWER) == minsa
    assert by("Caso recibido") == "Ciudadano"
    # The citizen's filing moved the diagram on: no person did that step.
    assert by("En revisión por el 311") == "Sistema"
    assert "Nota del supervisor" not in html


def test_a_public_answer_never_carries_the_internal_badge(app):
    """The answer shows once, as public; the completed task keeps only its
    internal answers under the "interno" badge."""
    number, _ = answered_case(app)
    staff = app.test_client()
    Auth(staff).login("enlace.minsa")
    html = staff.get(f"/casos/{number}").get_data(as_text=True)
    answer = entry(html, ANSWER)
    assert "interno" not in answer
    task = entry(html, "Tarea completada: Atender la queja")
    assert "interno" in task and ANSWER not in task
    assert "Responder al ciudadano" in task  # the choice, by its label
    assert "interno" not in entry(html, "Seguimos su caso de cerca.")
    assert "interno" in entry(html, "Llamamos al director regional.")


def test_the_citizen_reads_roles_never_staff_names(app):
    """The tracking page signs entries by role and entity only."""
    number, code = answered_case(app)
    citizen = app.test_client()
    html = post_form(
        citizen, "/seguimiento", {"numero": number, "codigo": code}
    ).get_data(as_text=True)
    assert '<span class="by">Enlace (MINSA)</span>' in entry(html, ANSWER)
    assert '<span class="by">Supervisor 311</span>' in entry(
        html, "Seguimos su caso de cerca."
    )
    for name in ("Elena", "Sergio", "Ana Agente"):
        assert name not in html
    assert "Sistema" not in html and "interno" not in html
    english(citizen)
    html = post_form(
        citizen, "/seguimiento", {"numero": number, "codigo": code}
    ).get_data(as_text=True)
    assert '<span class="by">Liaison (MINSA)</span>' in entry(html, ANSWER)


def test_events_stored_without_a_role_are_read_by_lane_and_person(app):
    """Events from before roles were recorded: a task's answers in its lane's
    role (and the enlace's entity), a note in its author's role, a step
    nobody signed as the system's."""
    citizen = app.test_client()
    number, _ = receipt(citizen, post_form(citizen, "/casos/nuevo/queja", QUEJA))
    p = app.extensions["centro311"]
    with p.db.transaction() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        people = {u.username: u for u in s.scalars(select(User))}
        enlace, supervisor = people["enlace.minsa"], people["supervisor"]
        old = [
            (EventKind.TASK_COMPLETED, enlace, "atender_caso", "Atender la queja"),
            (EventKind.NOTE, supervisor, None, "Nota antigua del supervisor"),
            (EventKind.REMINDER, None, None, "Recordatorio antiguo"),
        ]
        for kind, user, bpmn_id, text in old:
            s.add(
                CaseEvent(
                    case_id=case.id,
                    at=FILED_AT,
                    kind=kind,
                    actor_id=user.id if user else None,
                    actor_label=user.full_name if user else "",
                    task_bpmn_id=bpmn_id,
                    summary=text,
                    data={"task": text, "data": {}} if bpmn_id else {"text": text},
                    public=False,
                )
            )
    staff = app.test_client()
    Auth(staff).login("supervisor")
    html = staff.get(f"/casos/{number}").get_data(as_text=True)
    assert "Enlace (MINSA) — Elena Enlace (MINSA)" in entry(
        html, "Tarea completada: Atender la queja"
    )
    assert "Supervisor 311 — Sergio Supervisor" in entry(
        html, "Nota antigua del supervisor"
    )
    assert '<span class="by">Sistema</span>' in entry(html, "Recordatorio enviado")


def test_task_panel_shows_intake_fields_and_earlier_answers_in_their_words(app):
    """The panel's case data is what the intake form declares, by its labels
    (the diagram's ``entidad`` is no "Nueva entidad responsable", a field of
    the transfer form); earlier answers are in the task page's history,
    each in its own form's words and signed by role."""
    citizen = app.test_client()
    number, _ = receipt(citizen, post_form(citizen, "/casos/nuevo/queja", QUEJA))
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        number,
    )
    work(app, "enlace.minsa", "Acusar recibo", {"nota": "A la región."}, number)
    staff = app.test_client()
    Auth(staff).login("enlace.minsa")
    inbox = staff.get("/tareas?tab=entity").get_data(as_text=True)
    link = re.search(r'href="(/tareas/[0-9a-f-]+)">Atender la queja<', inbox)
    assert link is not None
    html = staff.get(link.group(1)).get_data(as_text=True)
    start = html.index("Datos del caso")
    panel = html[start : html.index("</dl>", start)]
    assert "<dt>Categoría</dt>" in panel and "<dt>Asunto</dt>" in panel
    assert "<dt>Descripción</dt>" in panel
    assert "entidad" not in panel.lower() and "<dt>Nota" not in panel
    history = html[html.index('<details class="task-history">') :]
    note = entry(history, "Tarea completada: Acusar recibo")
    assert "<dt>Nota interna (opcional)</dt><dd>A la región.</dd>" in note
    assert "Enlace (MINSA) — Elena Enlace (MINSA)" in note
    classified = entry(history, "Tarea completada: Clasificar la queja")
    assert "<dt>Entidad responsable</dt><dd>MINSA</dd>" in classified
    assert "Agente 311 — Ana Agente" in classified
