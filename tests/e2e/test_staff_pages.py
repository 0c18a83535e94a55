"""Every staff page, as each staff role, in a real Chromium: axe-core finds
nothing on a desktop window (1280 px), and on a phone (390 × 844) the page
never scrolls sideways.

One browser context per role, logged in once; the pages are those the role's
menu and inbox lead to: inbox tabs, a task, a case, a search with results,
the dashboard, the knowledge base (list, article, editor), the days off, the
designer's pages (list, version, deploy, modeler, form editor, moving cases)
and the call center's intake.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.enums import TaskState
from engine.services import accounts, api_keys
from engine.store.models import Case, HumanTask
from tests.conftest import DEMO_PASSWORD, work
from tests.e2e.conftest import check_a11y

#: Filed on a Thursday morning; the pages are read three weeks later, when
#: the first tasks are overdue.
FILED_AT = datetime(2026, 11, 12, 14, 0, tzinfo=UTC)
READ_AT = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LONG = (
    "El centro de salud de Juan Díaz estaba cerrado el martes a las 3:00 p. m. "
    "aunque el horario publicado dice que atiende hasta las 7:00 p. m.; "
    "https://www.minsa.gob.pa/centros-de-salud/region-metropolitana/juan-diaz"
)


def queja(subject: str, categoria: str = "salud") -> dict[str, str]:
    """An intake of a queja (a long description with an unbroken address)."""
    return {
        "categoria": categoria,
        "asunto": subject,
        "descripcion": LONG,
        "nombre": "Rosa Ciudadana",
        "correo": "rosa.ciudadana.de.juan.diaz@example.com",
    }


@pytest.fixture
def worked(app: Any) -> dict[str, Any]:
    """Cases in every state a staff page shows, and an article.

    An answered case of MINSA's (notes, answers, a transfer on the timeline),
    one waiting for MINSA's acknowledgement, one held by the agent, one
    nobody holds; a published article and a day off.
    """
    p = app.extensions["centro311"]
    p.clock = FrozenClock(FILED_AT)
    answered = services.open_case(p, "queja", queja("Centro de salud cerrado")).number
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MOP"},
        answered,
    )
    work(app, "enlace.mop", "Acusar recibo", {"nota": "Revisado."}, answered)
    work(
        app,
        "enlace.mop",
        "Atender la queja",
        {
            "accion": "no_competencia",
            "motivo_no_competencia": "Los centros de salud los atiende el MINSA.",
        },
        answered,
    )
    work(
        app,
        "agente",
        "Transferir a otra entidad",
        {"entidad": "MINSA", "nota": "Es del MINSA."},
        answered,
    )
    work(app, "enlace.minsa", "Acusar recibo", {"nota": LONG}, answered)
    waiting = services.open_case(p, "queja", queja("Falta de medicinas")).number
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MINSA"},
        waiting,
    )
    held = services.open_case(p, "queja", queja("Fuga de agua", "agua")).number
    services.open_case(p, "queja", queja("Bache en la vía", "vias"))
    agent = accounts.authenticate(p, "agente", DEMO_PASSWORD, client="test")
    supervisor = accounts.authenticate(p, "supervisor", DEMO_PASSWORD, client="test")
    with p.db.read() as s:
        held_task = s.scalars(
            select(HumanTask.id)
            .join(Case, Case.id == HumanTask.case_id)
            .where(Case.number == held, HumanTask.state == TaskState.READY)
        ).one()
    services.claim_task(p, agent, held_task)
    article = services.create_article(
        p,
        supervisor,
        {
            "title": "Horario de los centros de salud",
            "topic": "Salud",
            "body": "Los centros de salud atienden de **7:00 a. m. a 7:00 p. m.**\n\n"
            + LONG,
            "entity_code": "MINSA",
            "published": True,
        },
    )
    admin = accounts.authenticate(p, "admin", DEMO_PASSWORD, client="test")
    services.add_day_off(p, admin, date(2026, 12, 24), "Nochebuena")
    api_keys.create_key(p, admin, "Portal municipal")
    p.clock = FrozenClock(READ_AT)
    return {
        "answered": answered,
        "waiting": waiting,
        "held": held,
        "article": article.id,
    }


def pages(role: str, base: str, page: Any, worked: dict[str, Any]) -> list[str]:
    """The pages ``role`` has, found from its inbox where they hold ids."""
    answered, article = worked["answered"], worked["article"]
    kb = ["/conocimiento", f"/conocimiento/{article}"]
    case = [f"/casos/{answered}", "/buscar?q=salud"]
    intake = ["/casos/nuevo/queja", "/casos/nuevo/denuncia", "/casos/nuevo/consulta"]
    if role == "disenador":
        return [
            "/diseno",
            "/diseno/queja/v/1",
            "/diseno/desplegar",
            "/diseno/queja/modelador",
            "/diseno/queja/formularios/atencion.json",
        ]
    if role == "admin":
        return ["/admin/dias-libres", "/admin/claves-api"]
    tabs = {
        "agente": ["mine", "role", "overdue"],
        "supervisor": ["mine", "role", "entity", "overdue"],
        "enlace.minsa": ["mine", "role", "entity", "overdue"],
    }[role]
    page.goto(f"{base}/tareas?tab=role")
    task = page.locator("table a[href^='/tareas/']").first.get_attribute("href")
    found = [f"/tareas?tab={tab}" for tab in tabs] + [task] + case + kb
    if role == "agente":
        return found + intake
    found += ["/tablero", "/conocimiento/nuevo"]
    if role == "supervisor":
        return found + [f"/conocimiento/{article}/editar", intake[0]]
    return found


@pytest.fixture
def staff_page(browser: Any) -> Iterator[Any]:
    """One browser context (and page) for a role's whole visit."""
    context = browser.new_context(bypass_csp=True, viewport=DESKTOP, locale="es-PA")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize(
    "role", ["agente", "supervisor", "enlace.minsa", "disenador", "admin"]
)
def test_every_staff_page_is_accessible_and_fits_a_phone(
    live_server: str, staff_page: Any, worked: dict[str, Any], role: str
) -> None:
    """axe-core clean at 1280 px; no sideways scrolling at 390 px."""
    base, page = live_server, staff_page
    page.goto(f"{base}/ingresar")
    page.get_by_label("Usuario").fill(role)
    page.get_by_label("Contraseña").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    expect(page.get_by_role("button", name="Salir")).to_be_visible()
    urls = pages(role, base, page, worked)
    problems: list[str] = []
    for url in urls:
        response = page.goto(base + url)
        assert response is not None and response.status == 200, url
        try:
            check_a11y(page, f"{role} {url}")
        except pytest.fail.Exception as exc:
            problems.append(str(exc))
    page.set_viewport_size(PHONE)
    for url in urls:
        page.goto(base + url)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.append(f"{role} {url} is {width}px wide at 390px")
    assert not problems, "\n".join(problems)
