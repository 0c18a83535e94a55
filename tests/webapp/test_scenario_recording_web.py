"""Saving a practice case as a scenario from the practice page."""

from __future__ import annotations

from engine.services import practice
from tests.conftest import Auth, csrf_token, post_form
from tests.engine.test_practice import INTAKE, classify, who

URL = "/diseno/queja/v/1/practica"


def practice_case(app) -> str:
    """A practice case on version 1, classified by the designer."""
    p = app.extensions["centro311"]
    designer = who(p, "disenador")
    number = practice.open_practice_case(p, designer, "queja", 1, INTAKE).number
    classify(p, designer, number)
    return number


def test_the_practice_page_saves_a_case_as_a_scenario(app):
    """Each practice case has a name box; saving lands on the new draft's
    scenario results, where the recorded scenario passed."""
    number = practice_case(app)
    c = app.test_client()
    Auth(c).login("disenador")
    page = c.get(URL).get_data(as_text=True)
    action = f"{URL}/{number}/escenario"
    assert f'action="{action}"' in page and 'name="nombre"' in page
    resp = post_form(c, action, {"nombre": "Clasificada en práctica"})
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/diseno/queja/v/2/escenarios"
    results = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert (
        "Se guardó el escenario «Clasificada en práctica» en el borrador 2" in results
    )
    assert "Clasificada en práctica" in results


def test_a_missing_name_is_said_and_nothing_is_saved(app):
    """No name: back to the practice page with the reason; no version 2."""
    number = practice_case(app)
    c = app.test_client()
    Auth(c).login("disenador")
    resp = post_form(c, f"{URL}/{number}/escenario", {"nombre": "  "})
    assert resp.status_code == 303 and resp.headers["Location"] == URL
    assert "Escriba un nombre de hasta 200 caracteres." in c.get(URL).get_data(
        as_text=True
    )
    assert c.get("/diseno/queja/v/2").status_code == 404


def test_staff_cannot_record(app):
    """Agents get 403."""
    number = practice_case(app)
    agent = app.test_client()
    Auth(agent).login("agente")
    token = csrf_token(agent, "/bandeja")
    resp = agent.post(
        f"{URL}/{number}/escenario", data={"nombre": "X", "csrf_token": token}
    )
    assert resp.status_code == 403
