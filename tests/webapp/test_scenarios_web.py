"""Process tests on the web and the command line: "Probar escenarios" on a
version page, scenario files in uploads and in the file list, and
``flask validate`` listing the failing scenario and step."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

from tests.conftest import Auth, csrf_token, must_search

ROOT = Path(__file__).resolve().parents[2]


def designer(app: Any) -> Any:
    """A test client logged in as the designer."""
    c = app.test_client()
    Auth(c).login("disenador")
    return c


def queja_zip(broken_due: str | None = None) -> bytes:
    """The seed queja folder as a zip (its ``tests/`` folder included), its
    first scenario's first deadline changed when ``broken_due`` is given."""
    folder = ROOT / "bpmn" / "queja"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_text(encoding="utf-8")
            if broken_due and path.name == "01-llamada-viernes-noche.json":
                scenario = json.loads(data)
                scenario["steps"][1]["expect"]["due"] = broken_due
                data = json.dumps(scenario, ensure_ascii=False)
            archive.writestr(f"queja/{path.relative_to(folder).as_posix()}", data)
        for form in sorted((ROOT / "forms" / "queja").iterdir()):
            archive.writestr(f"queja/formularios/{form.name}", form.read_bytes())
        for table in sorted((ROOT / "bpmn" / "shared").iterdir()):
            archive.writestr(f"queja/{table.name}", table.read_bytes())
    return buffer.getvalue()


def upload(client: Any, data: bytes) -> Any:
    """Deploy a zip through the designer's upload form."""
    token = csrf_token(client, "/diseno/desplegar")
    return client.post(
        "/diseno/desplegar",
        data={
            "csrf_token": token,
            "nota": "Con escenarios",
            "archivos": [(io.BytesIO(data), "queja.zip")],
        },
        content_type="multipart/form-data",
    )


def test_version_page_links_the_scenarios_and_lists_their_files(app):
    """The button, and each scenario file viewable under its tests/ name."""
    c = designer(app)
    html = c.get("/diseno/queja/v/1").get_data(as_text=True)
    link = must_search(r'id="probar-escenarios" href="([^"]+)"', html).group(1)
    assert link == "/diseno/queja/v/1/escenarios"
    row = must_search(
        r"<tr>\s*<td><a[^>]*><code>tests/01-[^<]+</code>.*?</tr>", html, re.S
    )
    assert "Escenario de prueba" in row.group(0)
    assert "Editar el formulario" not in row.group(0)
    resp = c.get("/diseno/queja/v/1/archivos/tests/01-llamada-viernes-noche.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert json.loads(resp.get_data(as_text=True))["intake"]["channel"] == "phone"


def test_one_click_runs_every_scenario_and_shows_a_path(app):
    """All seed scenarios pass; the diagram shows the chosen one's path."""
    c = designer(app)
    html = c.get("/diseno/queja/v/1/escenarios").get_data(as_text=True)
    summary = must_search(r'id="resumen-escenarios">(.*?)</div>', html, re.S)
    files = sorted((ROOT / "bpmn" / "queja" / "tests").glob("*.json"))
    assert f"{len(files)} escenarios" in summary.group(1)
    assert f"{len(files)} pasaron" in summary.group(1)
    assert "0 fallaron" in summary.group(1)
    canvas = must_search(
        r'<div class="bpmn-canvas" id="diagrama-escenario"[^>]*>', html
    )
    completed = json.loads(
        must_search(r'data-completed="([^"]*)"', canvas.group(0))
        .group(1)
        .replace("&#34;", '"')
        .replace("&quot;", '"')
    )
    assert "clasificar_caso" in completed and "fin_respondida" in completed
    assert "/diseno/queja/v/1/archivos/queja.bpmn" in canvas.group(0)
    # Choosing another scenario shows its path instead.
    other = c.get(
        "/diseno/queja/v/1/escenarios?escenario=tests/03-rechazada-por-el-311.json"
    ).get_data(as_text=True)
    assert "Camino del escenario «Queja rechazada por el 311»" in other
    assert "Rechazada" in other


def test_others_may_not_run_scenarios(client, auth):
    """Agents get 403; visitors go to the login page."""
    assert client.get("/diseno/queja/v/1/escenarios").status_code == 302
    auth.login("agente")
    assert client.get("/diseno/queja/v/1/escenarios").status_code == 403


def test_an_upload_with_a_failing_scenario_is_refused_naming_the_step(app):
    """422 with the scenario, the step and expected against actual."""
    c = designer(app)
    resp = upload(c, queja_zip(broken_due="2026-11-03"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    row = must_search(
        r'<tr class="problem problem-error">(?:(?!</tr>).)*'
        r"tests/01-llamada-viernes-noche\.json.*?</tr>",
        html,
        re.S,
    ).group(0)
    assert "<code>clasificar_caso</code>" in row
    assert "paso 2 (tarea «clasificar_caso»)" in row
    assert "se esperaba due = &#34;2026-11-03&#34;" in row or (
        "se esperaba due = &quot;2026-11-03&quot;" in row
    )
    assert "versión 2" not in c.get("/diseno").get_data(as_text=True)


def test_an_upload_with_passing_scenarios_deploys_them(app):
    """The zip's tests/ folder becomes the new version's scenario files."""
    c = designer(app)
    resp = upload(c, queja_zip())
    assert resp.status_code == 303, resp.get_data(as_text=True)
    html = c.get("/diseno/queja/v/2").get_data(as_text=True)
    assert "tests/05-recordatorio-y-vencimientos.json" in html
    page = c.get("/diseno/queja/v/2/escenarios").get_data(as_text=True)
    assert "0 fallaron" in page


def test_validate_runs_the_scenarios(app, tmp_path):
    """`flask validate` says how many passed, or lists the failing step."""
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["validate", str(ROOT / "bpmn" / "queja")])
    assert ok.exit_code == 0, ok.output
    count = len(list((ROOT / "bpmn" / "queja" / "tests").glob("*.json")))
    assert f"Escenarios de prueba: los {count} pasaron." in ok.output
    broken = tmp_path / "queja"
    shutil.copytree(ROOT / "bpmn" / "queja", broken)
    scenario_path = broken / "tests" / "04-no-competencia-transferida.json"
    scenario = json.loads(scenario_path.read_text(encoding="utf-8"))
    scenario["steps"][4]["expect"]["entity"] = "MIVIOT"
    scenario_path.write_text(json.dumps(scenario), encoding="utf-8")
    bad = runner.invoke(args=["validate", str(broken)])
    assert bad.exit_code == 1
    assert (
        "ERROR tests/04-no-competencia-transferida.json [reasignar_caso]: "
        "Escenario «Escenario 4: el MOP dice que no es su competencia y el 311 "
        "la pasa al IDAAN», paso 5 (tarea «reasignar_caso»): se esperaba entity = "
        '"MIVIOT", pero resultó "IDAAN".'
    ) in bad.output
