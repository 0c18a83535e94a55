"""Duplicates through the web pages: the triage panel, merging, separating,
what a refusal shows, and the duplicate's citizen's tracking page."""

from __future__ import annotations

import html
from typing import Any

from engine import services
from engine.services import accounts
from tests.conftest import Auth, csrf_token

LEAK = {
    "categoria": "agua",
    "asunto": "Fuga de agua potable en la calle 50",
    "descripcion": "Una tubería rota bota agua potable frente a la escuela.",
}
SAME_LEAK = {
    "categoria": "agua",
    "asunto": "Tubería rota en calle 50",
    "descripcion": "Sale agua potable de una tubería rota, frente a la escuela.",
}


def platform(app: Any):
    """The engine platform of the app."""
    return app.extensions["centro311"]


def file(app: Any, data: dict) -> tuple[str, str]:
    """File a queja: (number, access code)."""
    opened = services.open_case(platform(app), "queja", data)
    return opened.number, opened.access_code


def page(client: Any, url: str) -> str:
    """A page's text (200 expected)."""
    resp = client.get(url)
    assert resp.status_code == 200, url
    return resp.get_data(as_text=True)


def test_an_agent_merges_a_likely_duplicate_from_the_case_page(app, client):
    """The candidate is listed; merging it closes it under this case and
    says so on both pages and on the duplicate's tracking page."""
    parent, _ = file(app, LEAK)
    child, code = file(app, SAME_LEAK)
    Auth(client).login("agente")
    shown = page(client, f"/casos/{parent}")
    assert "Posibles duplicados" in shown and child in shown
    resp = client.post(
        f"/casos/{parent}/duplicados",
        data={
            "csrf_token": csrf_token(client, f"/casos/{parent}"),
            "duplicados": child,
            "otro": "",
            "nota": "La misma fuga.",
        },
    )
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/casos/{parent}")
    after = page(client, f"/casos/{parent}")
    assert "1 caso unido a este" in after and "Duplicado unido a este caso" in after
    child_page = page(client, f"/casos/{child}")
    assert "Unido a otro caso" in child_page
    assert "Separar del caso principal" in child_page
    Auth(client).logout()
    tracking = client.post(
        "/seguimiento",
        data={
            "csrf_token": csrf_token(client, "/seguimiento"),
            "numero": child,
            "codigo": code,
        },
    ).get_data(as_text=True)
    assert f"Su caso se atiende junto al caso {parent}" in html.unescape(tracking)
    assert "La misma fuga." in tracking


def test_a_refused_merge_keeps_what_was_typed(app, client):
    """An unknown number comes back on the page with the note as typed."""
    parent, _ = file(app, LEAK)
    Auth(client).login("agente")
    resp = client.post(
        f"/casos/{parent}/duplicados",
        data={
            "csrf_token": csrf_token(client, f"/casos/{parent}"),
            "otro": "311-2026-999999",
            "nota": "Nota que no se pierde",
        },
    )
    assert resp.status_code == 404
    body = resp.get_data(as_text=True)
    assert "El caso 311-2026-999999 no existe." in body
    assert "Nota que no se pierde" in body and 'value="311-2026-999999"' in body


def test_separating_needs_a_reason_and_then_restores(app, client):
    """Too short a reason re-renders with it; a real one reopens the case."""
    parent, _ = file(app, LEAK)
    child, _ = file(app, SAME_LEAK)
    agent = accounts.authenticate(platform(app), "agente", "demo311", client="t")
    services.merge_cases(platform(app), agent, parent, [child])
    Auth(client).login("supervisor")
    url = f"/casos/{child}/separar"
    resp = client.post(
        url, data={"csrf_token": csrf_token(client, f"/casos/{child}"), "motivo": "no"}
    )
    assert resp.status_code == 422
    assert "al menos 10 caracteres" in resp.get_data(as_text=True)
    resp = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, f"/casos/{child}"),
            "motivo": "Es otra fuga, en otra calle.",
        },
    )
    assert resp.status_code == 303
    shown = page(client, f"/casos/{child}")
    assert "Posibles duplicados" in shown and "Es otra fuga, en otra calle." in shown


def test_an_enlace_can_neither_see_the_panel_nor_merge(app, client):
    """The panel is for the 311's staff; the service refuses anyone else."""
    parent, _ = file(app, LEAK)
    child, _ = file(app, SAME_LEAK)
    p = platform(app)
    agent = accounts.authenticate(p, "agente", "demo311", client="t")
    for number in (parent, child):
        (task,) = [
            t
            for t in services.list_queue(p, agent, "role").tasks
            if t.case_number == number
        ]
        services.complete_task(
            p, agent, task.id, {"decision": "aceptar", "entidad": "MINSA"}
        )
    Auth(client).login("enlace.minsa")
    assert "Posibles duplicados" not in page(client, f"/casos/{parent}")
    resp = client.post(
        f"/casos/{parent}/duplicados",
        data={
            "csrf_token": csrf_token(client, f"/casos/{parent}"),
            "duplicados": child,
        },
    )
    assert resp.status_code == 403
    assert services.merge_family(p, agent, child).parent is None
