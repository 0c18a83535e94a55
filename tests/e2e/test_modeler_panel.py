"""The modeler's properties panel in a real Chromium, round-tripped through
SpiffWorkflow's parser.

1. A designer sets every convention in the panel -- a task's form,
   instructions, public status, milestone, deadline variable, mark and
   survey; a lane's role; a gateway flow's condition and a script task's
   script (each checked while typing); two timers through the business-day
   builder -- and saves a new version. The deployed version, parsed by
   SpiffWorkflow as the engine parses it, holds exactly those values.
2. A diagram saved from the modeler without edits parses to the same
   elements, properties, conditions, scripts and timers as the original.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from engine.bundles import registry
from engine.services import accounts, design
from tests.conftest import DEMO_PASSWORD, without_scenarios
from tests.e2e.conftest import check_a11y, shot
from tests.e2e.test_designer import login


def version_files(app: Any, n: int) -> dict[str, str]:
    """The files of queja's version ``n``, read through the designer service."""
    p = app.extensions["centro311"]
    actor = accounts.authenticate(p, "disenador", DEMO_PASSWORD, client="t")
    _, files = design.version_files(p, actor, "queja", n)
    return files


def semantics(files: dict[str, str]) -> dict[str, Any]:
    """What the engine reads from a bundle once SpiffWorkflow has parsed it."""
    parsed = registry.parse_bundle(files)
    conditions: dict[tuple[str, str], str | None] = {}
    scripts: dict[str, str] = {}
    timers: dict[str, str] = {}
    for name, spec in parsed.spec.task_specs.items():
        for condition, target in getattr(spec, "cond_task_specs", []):
            # A default flow has no condition.
            conditions[(name, target)] = condition.args[0] if condition else None
        if isinstance(getattr(spec, "script", None), str):
            scripts[name] = spec.script
        event = getattr(spec, "event_definition", None)
        expression = getattr(event, "expression", None)
        if expression is not None:
            timers[name] = expression
    return {
        "title": parsed.title,
        "start_form": parsed.start_form,
        "milestones": parsed.milestones,
        "tasks": parsed.tasks,
        "conditions": conditions,
        "scripts": scripts,
        "timers": timers,
    }


def choose(page: Any, element_id: str) -> None:
    """Select a diagram element from the panel's element list (keyboard path)."""
    page.get_by_label("Elemento", exact=True).select_option(element_id)
    expect(page.locator(".bio-properties-panel-header-label")).to_be_visible()


def open_modeler(page: Any, base: str) -> None:
    """Log in as the designer and open queja's modeler, diagram loaded."""
    login(page, base, "disenador", "/diseno")
    page.goto(f"{base}/diseno/queja/modelador")
    expect(page.locator("#modelador")).to_have_class(re.compile("is-ready"))


def save(page: Any, base: str, note: str, version: int = 2) -> None:
    """Save the diagram as a new version and land on the designer's list."""
    page.get_by_label("Nota de la versión").fill(note)
    page.get_by_role("button", name="Guardar como nueva versión").click()
    expect(page).to_have_url(f"{base}/diseno")
    expect(page.get_by_role("status").first).to_contain_text(f"versión {version}")


def without_process_tests(app: Any) -> None:
    """Deploy queja again without its seed scenarios, as version 2: the
    panel test changes marks and lanes those scenarios check (a deploy
    would rightly refuse them)."""
    p = app.extensions["centro311"]
    actor = accounts.authenticate(p, "disenador", DEMO_PASSWORD, client="t")
    design.deploy(p, actor, without_scenarios(version_files(app, 1)), "Sin pruebas")


def test_panel_writes_what_the_engine_reads(live_server: str, page: Any, app: Any):
    """Every convention set in the panel reaches the parsed version 2."""
    base = live_server
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    without_process_tests(app)
    open_modeler(page, base)

    # A user task: ids of deployed elements are shown read-only.
    page.locator('#lienzo [data-element-id="clasificar_caso"]').click()
    expect(page.get_by_label("Identificador")).to_have_attribute("readonly", "")
    expect(page.get_by_label("Formulario")).to_have_value("clasificacion.json")
    link = page.get_by_role("link", name=re.compile("Abrir el formulario"))
    expect(link).to_have_attribute(
        "href", "/diseno/queja/formularios/clasificacion.json"
    )
    page.get_by_label("Instrucciones (Markdown)").fill("Lea **todo** el caso.")
    expect(page.locator(".c311-markdown")).to_have_text("Lea todo el caso.")
    expect(page.locator(".c311-markdown strong")).to_have_text("todo")
    expect(page.get_by_label("Estado público")).to_have_value("En revisión por el 311")
    page.get_by_label("Hito del ciudadano").select_option("asignado")
    page.get_by_label("Plazo (variable con la fecha límite)").fill("plazo_revision")
    page.get_by_label("Marca", exact=True).select_option("al_dia")
    page.get_by_label("Guarda la respuesta de la encuesta").check()
    expect(page.locator("#revision-lista")).to_contain_text("Aviso")
    check_a11y(page, "modeler-user-task")
    shot(page, "40-modeler-panel-user-task")

    # Another task's form, chosen among the bundle's forms, and a public
    # status of its own (changing an existing one would strand its English
    # text in messages.en.json, which the deploy refuses).
    choose(page, "atender_vencimiento")
    lint = page.locator("#revision-lista")
    page.get_by_label("Formulario").select_option("")
    expect(lint).to_contain_text("La tarea de usuario no indica su formulario.")
    page.get_by_label("Formulario").select_option("acuse.json")
    expect(lint).not_to_contain_text("no indica su formulario")
    page.get_by_label("Estado público").fill("Revisada por el supervisor")

    # A lane's role.
    choose(page, "lane_supervisor_311")
    page.get_by_label("Rol del carril").select_option("")
    expect(lint).to_contain_text("El nombre del carril no es un rol")
    page.get_by_label("Rol del carril").select_option("agente_311")
    expect(lint).not_to_contain_text("El nombre del carril no es un rol")

    # A gateway flow's condition: refused while unsafe, accepted once fixed.
    choose(page, "flujo_rechazar")
    condition = page.get_by_label("Condición (Python restringido)")
    condition.fill('decision == "rechazar" and __import__("os")')
    expect(page.get_by_role("alert").filter(has_text="__import__")).to_be_visible()
    check_a11y(page, "modeler-condition-refused")
    condition.fill('decision in ("rechazar",)')
    expect(page.locator(".c311-check-ok")).to_have_text("Se puede desplegar.")
    shot(page, "41-modeler-panel-gateway-flow")

    # A script task's script.
    choose(page, "preparar_caso")
    script = page.get_by_label("Script (Python restringido)")
    script.fill('tipo_caso = "queja"\norigen = "modelador"')
    expect(page.locator(".c311-check-ok")).to_have_text("Se puede desplegar.")

    # Timers through the business-day builder.
    choose(page, "vence_consulta")
    page.get_by_label("Días hábiles desde que empieza la espera").fill("10")
    page.get_by_role("button", name="Escribir la expresión").click()
    expression = page.get_by_label("Expresión del temporizador")
    expect(expression).to_have_value("plazo_habil(10)")
    expect(page.locator(".c311-check-ok")).to_have_text("Se puede desplegar.")
    choose(page, "recordar_acuse")
    page.get_by_label("Días hábiles desde que empieza la espera").fill("2")
    page.get_by_label("Horas antes (para un recordatorio)").fill("24")
    page.get_by_role("button", name="Escribir la expresión").click()
    expect(expression).to_have_value("antes_de(plazo_habil(2), 24)")
    check_a11y(page, "modeler-timer")

    before = semantics(version_files(app, 2))
    save(page, base, "Convenciones desde el panel", version=3)
    after = semantics(version_files(app, 3))

    task = after["tasks"]["clasificar_caso"]
    assert task.form == "clasificacion.json"
    assert task.instructions == "Lea **todo** el caso."
    assert task.estado == "En revisión por el 311"
    assert task.props["hito"] == "asignado"
    assert task.props["plazo"] == "plazo_revision"
    assert task.marks == ("al_dia",)
    assert task.props["encuesta"] == "true"
    assert after["tasks"]["atender_vencimiento"].form == "acuse.json"
    assert after["tasks"]["atender_vencimiento"].estado == "Revisada por el supervisor"
    assert after["tasks"]["atender_vencimiento"].lane == "agente_311"
    assert after["conditions"][("decision_clasificacion", "fin_rechazada")] == (
        'decision in ("rechazar",)'
    )
    script_text = after["scripts"]["preparar_caso"]
    assert script_text == 'tipo_caso = "queja"\norigen = "modelador"'
    assert after["timers"]["vence_consulta"] == "plazo_habil(10)"
    assert after["timers"]["recordar_acuse"] == "antes_de(plazo_habil(2), 24)"
    # Nothing else changed.
    changed = {"clasificar_caso", "atender_vencimiento", "fin_vencimiento"}
    for bpmn_id, info in before["tasks"].items():
        if bpmn_id not in changed:
            assert after["tasks"][bpmn_id] == info, bpmn_id
    assert errors == []


def test_unedited_diagram_saved_from_the_modeler_parses_unchanged(
    live_server: str, page: Any, app: Any
) -> None:
    """bpmn-js rewrites the XML, but SpiffWorkflow reads the same process."""
    base = live_server
    open_modeler(page, base)
    save(page, base, "Sin cambios")
    original = version_files(app, 1)
    saved = version_files(app, 2)
    assert saved["queja.bpmn"] != original["queja.bpmn"]  # bpmn-js wrote it
    assert semantics(saved) == semantics(original)
