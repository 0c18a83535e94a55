"""The search page (/buscar) and its CSV export (/buscar.csv)."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from sqlalchemy import func, select

from engine import services
from engine.services.accounts import authenticate
from engine.store.accounts import AuditLog
from tests.conftest import Auth

PIPE = {
    "categoria": "agua",
    "asunto": "Tubería rota en Calle 50",
    "descripcion": "El agua se pierde por una tubería rota frente a la escuela.",
    "nombre": "María José Núñez",
    "telefono": "6123-4567",
}
WITNESS = {
    "categoria": "salud",
    "asunto": "Cobro indebido de citas",
    "descripcion": "Un funcionario cobra por citas que deberían ser gratuitas.",
    "nombre": "Testigo Reservado",
    "telefono": "6555-1212",
    "identidad_reservada": True,
}


@pytest.fixture
def cases(app) -> dict[str, str]:
    """A phoned-in queja for MOP and a reserved denuncia for MINSA."""
    p = app.extensions["centro311"]
    agent = authenticate(p, "agente", "demo311", client="t")
    pipe = services.open_case(p, "queja", PIPE, actor=agent, channel="phone")
    witness = services.open_case(p, "denuncia", WITNESS)
    for number, task, entity in (
        (pipe.number, "Clasificar la queja", "MOP"),
        (witness.number, "Clasificar la denuncia", "MINSA"),
    ):
        (todo,) = [
            t
            for t in services.list_tasks(p, agent)
            if t.case_number == number and t.name == task
        ]
        services.complete_task(
            p, agent, todo.id, {"decision": "aceptar", "entidad": entity}
        )
    return {"pipe": pipe.number, "witness": witness.number}


def result_numbers(page: str) -> set[str]:
    """The case numbers linked from the results table."""
    return set(re.findall(r'href="/casos/(311-\d{4}-\d{6})"', page))


def audit_count(app) -> int:
    """Export records in the audit log."""
    p = app.extensions["centro311"]
    with p.db.read() as s:
        query = select(func.count()).where(AuditLog.action == "export_cases")
        return int(s.scalar(query) or 0)


def test_search_needs_staff(client, auth: Auth) -> None:
    """Anonymous visitors go to the login page; designers get 403."""
    resp = client.get("/buscar")
    assert resp.status_code == 302 and "/ingresar" in resp.headers["Location"]
    auth.login("disenador")
    assert client.get("/buscar").status_code == 403
    assert client.get("/buscar.csv").status_code == 403


def test_agent_finds_by_text_and_phone(client, auth: Auth, cases) -> None:
    """A word of the description and the caller's phone find the case; the
    row links to the case page and shows the caller."""
    auth.login("agente")
    home = client.get("/tareas").get_data(as_text=True)
    assert 'href="/buscar"' in home
    page = client.get("/buscar?q=tuberia").get_data(as_text=True)
    assert result_numbers(page) == {cases["pipe"]}
    assert "1 caso encontrado" in page
    assert "María José Núñez" in page and "6123-4567" in page
    page = client.get("/buscar?contacto=%2B507+6123+4567").get_data(as_text=True)
    assert result_numbers(page) == {cases["pipe"]}
    # No criteria: the newest cases the user may see.
    page = client.get("/buscar").get_data(as_text=True)
    assert result_numbers(page) == set(cases.values())
    assert "Exportar a CSV" not in page  # agents do not export


def test_a_reserved_identity_is_not_shown(client, auth: Auth, cases) -> None:
    """The supervisor finds the denuncia by text, never by or with its identity."""
    auth.login("supervisor")
    page = client.get("/buscar?q=cobro").get_data(as_text=True)
    assert result_numbers(page) == {cases["witness"]}
    assert "Identidad reservada" in page
    assert "Testigo" not in page and "6555" not in page
    page = client.get("/buscar?contacto=6555-1212").get_data(as_text=True)
    assert result_numbers(page) == set()
    assert "Ningún caso coincide" in page


def test_bad_criteria_keep_the_form(client, auth: Auth, cases) -> None:
    """A bad date: 422, the message beside the field, every value kept."""
    auth.login("agente")
    resp = client.get("/buscar?q=tuberia&desde=31%2F02%2F2026&estado=open")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="desde-error"' in page and "Fecha no válida" in page
    assert 'aria-invalid="true"' in page
    assert 'value="tuberia"' in page and 'value="31/02/2026"' in page
    assert re.search(r'<option value="open" selected>', page)
    assert result_numbers(page) == set()


def test_enlace_cannot_reach_another_entitys_case(client, auth: Auth, cases) -> None:
    """By no search parameter, export or case URL."""
    auth.login("enlace.minsa")
    mop_case = cases["pipe"]
    for url in (
        "/buscar",
        "/buscar?entidad=MOP",
        f"/buscar?numero={mop_case}",
        f"/buscar?q={mop_case}",
        "/buscar?q=tuberia",
        "/buscar?contacto=6123-4567",
        "/buscar?entidad=MOP&canal=phone&estado=open&tipo=queja",
    ):
        page = client.get(url).get_data(as_text=True)
        assert mop_case not in result_numbers(page), url
        assert PIPE["asunto"] not in page and "Núñez" not in page, url
    assert client.get(f"/casos/{mop_case}").status_code == 403
    assert client.get(f"/casos/{mop_case}/diagrama.bpmn").status_code == 403
    assert client.get("/buscar.csv?entidad=MOP").status_code == 403
    page = client.get("/buscar").get_data(as_text=True)
    assert result_numbers(page) == {cases["witness"]}
    # The entity list offers only its own entity.
    assert re.findall(r'<option value="([A-Z]+)"', page) == ["MINSA"]


@pytest.mark.parametrize(
    "query",
    [
        "q=%22%27%3B+DROP+TABLE+case%3B+--",
        "q=a*+OR+b+NEAR%28",
        "q=%22",
        "q=%29",
        "contacto=%25",
        "numero=_",
        "q=%27+OR+1%3D1+--&contacto=%22%29&numero=%5C",
    ],
)
def test_syntax_characters_are_answered_normally(client, auth, cases, query) -> None:
    """SQL and FTS syntax characters are just text: a normal page."""
    auth.login("agente")
    resp = client.get(f"/buscar?{query}")
    assert resp.status_code == 200
    assert "Buscar casos" in resp.get_data(as_text=True)


def test_sorting_and_paging_links_keep_the_criteria(client, auth, cases) -> None:
    """Header links sort the same search; the page number is reset."""
    auth.login("agente")
    page = client.get("/buscar?estado=open&pagina=1").get_data(as_text=True)
    links = {html.unescape(u) for u in re.findall(r'href="(/buscar\?[^"]+)"', page)}
    assert "/buscar?estado=open&pagina=1&orden=numero" in links
    assert "/buscar?estado=open&pagina=1&orden=antiguos" in links
    ordered = client.get("/buscar?orden=numero").get_data(as_text=True)
    found = re.findall(r'href="/casos/(311-\d{4}-\d{6})"', ordered)
    assert found == sorted(found)


def test_a_count_beyond_the_limit_says_more_than(client, auth, cases, monkeypatch):
    """Beyond the count limit the page says "más de" the limit, that only
    the first ones can be browsed, and no count per status."""
    from engine.services import search

    auth.login("agente")
    monkeypatch.setattr(search, "COUNT_LIMIT", 1)
    page = client.get("/buscar").get_data(as_text=True)
    assert "Más de 1 casos" in page
    assert "Se pueden recorrer los primeros 1 en el orden elegido" in page
    assert 'class="count count-open"' not in page
    monkeypatch.setattr(search, "COUNT_LIMIT", 2)
    page = client.get("/buscar").get_data(as_text=True)
    assert "2 casos encontrados" in page and "Más de" not in page
    assert 'class="count count-open"' in page


def test_csv_export_for_supervisors_audited(app, client, auth, cases) -> None:
    """Agents get 403 and nothing is recorded; a supervisor gets the file
    (without the reserved identity) and one audit record."""
    auth.login("agente")
    assert client.get("/buscar.csv").status_code == 403
    assert audit_count(app) == 0
    auth.logout()
    auth.login("supervisor")
    page = client.get("/buscar?estado=open").get_data(as_text=True)
    assert 'href="/buscar.csv?estado=open"' in page
    resp = client.get("/buscar.csv?estado=open")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    body = resp.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Número", "Tipo", "Entidad"]
    by_number = {row[0]: row for row in rows[1:]}
    assert set(by_number) == set(cases.values())
    assert "María José Núñez" in by_number[cases["pipe"]]
    assert "Testigo" not in body and "6555" not in body
    assert audit_count(app) == 1
    assert client.get("/buscar.csv?desde=ayer").status_code == 422
    assert audit_count(app) == 1


def test_csv_cells_never_run_as_formulas(app, client, auth) -> None:
    """A subject a spreadsheet would run as a formula is written as text."""
    p = app.extensions["centro311"]
    services.open_case(
        p,
        "queja",
        {**PIPE, "asunto": '=HYPERLINK("http://x.example","clic")'},
    )
    auth.login("supervisor")
    body = client.get("/buscar.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[1][9] == '\'=HYPERLINK("http://x.example","clic")'
