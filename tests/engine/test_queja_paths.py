"""The ``queja`` case type as data: its diagram, its forms and both paths through it.

These tests drive raw SpiffWorkflow 3.2 (not the engine wrapper), so they check the
seed definitions in ``bpmn/`` and ``forms/`` on their own: a designer who breaks the
diagram or a form finds out here.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
FORMS_DIR = ROOT / "forms"
QUEJA_BPMN = BPMN_DIR / "queja" / "queja.bpmn"
QUEJA_FORMS = FORMS_DIR / "queja"

ROLES = {"agente_311", "supervisor_311", "enlace", "ciudadano"}

ALL_BPMN = sorted(BPMN_DIR.glob("**/*.bpmn"))
# ``<form>.ui.json`` files are UI hints for the renderer, not JSON Schemas.
ALL_FORMS = sorted(p for p in FORMS_DIR.glob("**/*.json") if ".ui." not in p.name)

INTAKE = {
    "asunto": "Falta de agua desde hace una semana",
    "descripcion": "Desde el lunes 12 no llega agua a la barriada; llamé dos veces.",
    "ubicacion": "Calle 5, casa 23, Villa Lucre, San Miguelito",
    "nombre": "María Pérez",
    "correo": "maria.perez@example.com",
    "telefono": "+507 6123-4567",
}
ACEPTAR = {"decision": "aceptar", "entidad": "IDAAN"}
RECHAZAR = {
    "decision": "rechazar",
    "motivo_rechazo": "Es un conflicto entre vecinos, no un servicio público.",
}
RESPUESTA = {
    "respuesta": "Se reparó la tubería principal el 15 de marzo; el servicio está "
    "restablecido. Si persiste el problema, responda a este caso.",
}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _parser_for(bpmn_file: Path) -> SpiffBpmnParser:
    """One parser per bundle: the diagram plus the DMN tables next to it."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(bpmn_file))
    dmn_files = sorted(bpmn_file.parent.glob("*.dmn"))
    if dmn_files:
        parser.add_dmn_files([str(p) for p in dmn_files])
    return parser


def _load_form(name: str) -> dict[str, Any]:
    with (QUEJA_FORMS / name).open(encoding="utf-8") as fh:
        form: dict[str, Any] = json.load(fh)
    return form


def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        _load_form(name), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _form_errors(name: str, data: dict[str, Any]) -> list[str]:
    return [e.message for e in _validator(name).iter_errors(data)]


@pytest.fixture(scope="module")
def spec() -> Any:
    return _parser_for(QUEJA_BPMN).get_spec("queja")


def _start(spec: Any, intake: dict[str, Any]) -> BpmnWorkflow:
    """Start a case the way the app does: intake data on the first task, then run."""
    wf = BpmnWorkflow(spec)
    first = wf.get_next_task(state=TaskState.READY)
    assert first is not None
    first.data.update(copy.deepcopy(intake))
    wf.do_engine_steps()
    return wf


def _only_human_task(wf: BpmnWorkflow) -> Task:
    tasks = wf.get_tasks(state=TaskState.READY, manual=True)
    assert len(tasks) == 1, [t.task_spec.name for t in tasks]
    return tasks[0]


def _complete(wf: BpmnWorkflow, task: Task, data: dict[str, Any]) -> None:
    """Complete a READY user task with form data, as the service layer will."""
    form = task.task_spec.extensions["properties"]["formJsonSchemaFilename"]
    assert _form_errors(form, data) == []
    task.data.update(copy.deepcopy(data))
    # In 3.2 ``Task.run()`` calls the spec's ``_run`` (run hook + post-assignments)
    # and marks the task COMPLETED when it returns True; ``Task.complete()`` skips
    # ``_run`` and only sets the state. ``do_engine_steps`` uses ``run()`` too.
    assert task.run() is True
    assert task.state == TaskState.COMPLETED
    wf.do_engine_steps()


def _end_events_reached(wf: BpmnWorkflow) -> list[str]:
    # ``wf.last_task`` is the synthetic ``End`` task, not the BPMN end event.
    return [
        t.task_spec.bpmn_id
        for t in wf.get_tasks(state=TaskState.COMPLETED, spec_class=EndEvent)
    ]


# --- definitions -------------------------------------------------------------


def test_there_are_diagrams_and_forms() -> None:
    assert QUEJA_BPMN in ALL_BPMN
    assert {p.name for p in ALL_FORMS if p.parent == QUEJA_FORMS} >= {
        "registro.json",
        "clasificacion.json",
        "respuesta.json",
    }


@pytest.mark.parametrize("bpmn_file", ALL_BPMN, ids=_rel)
def test_every_diagram_parses_and_validates(bpmn_file: Path) -> None:
    parser = _parser_for(bpmn_file)
    process_ids = parser.get_process_ids()
    assert process_ids
    for process_id in process_ids:
        assert parser.get_spec(process_id) is not None


@pytest.mark.parametrize("form_file", ALL_FORMS, ids=_rel)
def test_every_form_is_a_json_schema(form_file: Path) -> None:
    with form_file.open(encoding="utf-8") as fh:
        schema = json.load(fh)
    Draft202012Validator.check_schema(schema)
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("title")
    for name, prop in schema.get("properties", {}).items():
        if "x-enum-labels" in prop:
            assert len(prop["x-enum-labels"]) == len(prop["enum"]), name
        if "x-source" in prop:
            assert "enum" not in prop, f"{name}: the app fills x-source options"


@pytest.mark.parametrize(
    "name", ["registro.json", "clasificacion.json", "respuesta.json"]
)
def test_queja_forms_follow_the_conventions(name: str) -> None:
    form = _load_form(name)
    assert form["additionalProperties"] is False
    assert form["description"]
    for field, prop in form["properties"].items():
        assert prop.get("title"), field
        if prop.get("type") == "string":
            assert "maxLength" in prop, field


def test_registro_marks_personal_data() -> None:
    form = _load_form("registro.json")
    personal = {k for k, v in form["properties"].items() if v.get("x-personal")}
    assert personal == {"nombre", "correo", "telefono"}
    assert form["required"] == ["asunto", "descripcion"]


def test_diagram_names_existing_forms(spec: Any) -> None:
    referenced = set()
    for task_spec in spec.task_specs.values():
        properties = getattr(task_spec, "extensions", {}).get("properties", {})
        for key in ("formJsonSchemaFilename", "formUiSchemaFilename"):
            if key in properties:
                referenced.add(properties[key])
    assert referenced == {"registro.json", "clasificacion.json", "respuesta.json"}
    for name in referenced:
        assert (QUEJA_FORMS / name).is_file(), name


def test_diagram_follows_the_conventions(spec: Any) -> None:
    assert spec.name == "queja"
    assert spec.description == "Queja"
    by_id = {
        ts.bpmn_id: ts
        for ts in spec.task_specs.values()
        if getattr(ts, "bpmn_id", None) is not None
    }
    start = by_id["inicio"]
    assert isinstance(start, StartEvent)
    assert start.extensions["properties"] == {
        "formJsonSchemaFilename": "registro.json",
        "estado": "Recibida",
    }
    for task_id, lane in (
        ("clasificar_caso", "agente_311"),
        ("responder_ciudadano", "enlace"),
    ):
        task_spec = by_id[task_id]
        assert task_spec.manual
        assert task_spec.lane == lane
        assert task_spec.extensions["properties"]["estado"]
        assert task_spec.extensions["instructionsForEndUser"].strip()
    for end_id, estado in (
        ("fin_rechazada", "Rechazada"),
        ("fin_respondida", "Respondida"),
    ):
        assert isinstance(by_id[end_id], EndEvent)
        assert by_id[end_id].extensions["properties"]["estado"] == estado
    assert {ts.lane for ts in by_id.values()} <= ROLES


# --- paths -------------------------------------------------------------------


def test_path_rechazar(spec: Any) -> None:
    wf = _start(spec, INTAKE)

    task = _only_human_task(wf)
    assert task.task_spec.bpmn_id == "clasificar_caso"
    assert task.task_spec.lane == "agente_311"
    properties = task.task_spec.extensions["properties"]
    assert properties["formJsonSchemaFilename"] == "clasificacion.json"
    assert properties["estado"] == "En revisión por el 311"
    assert task.data["asunto"] == INTAKE["asunto"]

    _complete(wf, task, RECHAZAR)

    assert wf.is_completed()
    assert wf.get_tasks(state=TaskState.READY, manual=True) == []
    assert _end_events_reached(wf) == ["fin_rechazada"]
    assert wf.data["motivo_rechazo"] == RECHAZAR["motivo_rechazo"]


def test_path_aceptar(spec: Any) -> None:
    wf = _start(spec, INTAKE)

    _complete(wf, _only_human_task(wf), ACEPTAR)

    assert not wf.is_completed()
    task = _only_human_task(wf)
    assert task.task_spec.bpmn_id == "responder_ciudadano"
    assert task.task_spec.lane == "enlace"
    properties = task.task_spec.extensions["properties"]
    assert properties["formJsonSchemaFilename"] == "respuesta.json"
    assert properties["estado"] == "En atención por la entidad"
    # The enlace lane is scoped by the ``entidad`` variable in the task data.
    assert task.data["entidad"] == "IDAAN"

    _complete(wf, task, RESPUESTA)

    assert wf.is_completed()
    assert _end_events_reached(wf) == ["fin_respondida"]
    assert wf.data["respuesta"] == RESPUESTA["respuesta"]


def test_gateway_fails_loudly_without_a_valid_decision(spec: Any) -> None:
    # The form makes this impossible; if it ever happens the engine must not guess.
    wf = _start(spec, INTAKE)
    task = _only_human_task(wf)
    task.data.update({"decision": "tal vez"})
    task.run()
    with pytest.raises(WorkflowException, match="decision_clasificacion"):
        wf.do_engine_steps()


# --- example data against the forms --------------------------------------------

MINIMAL_INTAKE = {"asunto": "Bache", "descripcion": "Hay un bache enorme frente a."}


@pytest.mark.parametrize(
    ("form", "data", "valid"),
    [
        pytest.param("registro.json", INTAKE, True, id="registro-completo"),
        pytest.param("registro.json", MINIMAL_INTAKE, True, id="registro-minimo"),
        pytest.param(
            "registro.json",
            {"asunto": "Falta de agua"},
            False,
            id="registro-sin-descripcion",
        ),
        pytest.param(
            "registro.json",
            {**MINIMAL_INTAKE, "asunto": "ab"},
            False,
            id="registro-asunto-corto",
        ),
        pytest.param(
            "registro.json",
            {**MINIMAL_INTAKE, "descripcion": "x" * 4001},
            False,
            id="registro-descripcion-larga",
        ),
        pytest.param(
            "registro.json",
            {**MINIMAL_INTAKE, "telefono": "llámeme"},
            False,
            id="registro-telefono-invalido",
        ),
        pytest.param(
            "registro.json",
            {**MINIMAL_INTAKE, "correo": "no-es-un-correo"},
            False,
            id="registro-correo-invalido",
        ),
        pytest.param(
            "registro.json",
            {**MINIMAL_INTAKE, "cedula": "8-123-456"},
            False,
            id="registro-campo-desconocido",
        ),
        pytest.param("clasificacion.json", ACEPTAR, True, id="clasificacion-aceptar"),
        pytest.param("clasificacion.json", RECHAZAR, True, id="clasificacion-rechazar"),
        pytest.param(
            "clasificacion.json",
            {"decision": "aceptar"},
            False,
            id="clasificacion-aceptar-sin-entidad",
        ),
        pytest.param(
            "clasificacion.json",
            {"decision": "rechazar", "entidad": "MINSA"},
            False,
            id="clasificacion-rechazar-sin-motivo",
        ),
        pytest.param(
            "clasificacion.json",
            {"decision": "tal vez", "entidad": "MINSA"},
            False,
            id="clasificacion-decision-desconocida",
        ),
        pytest.param(
            "clasificacion.json",
            {"entidad": "MINSA"},
            False,
            id="clasificacion-sin-decision",
        ),
        pytest.param("respuesta.json", RESPUESTA, True, id="respuesta-valida"),
        pytest.param("respuesta.json", {}, False, id="respuesta-vacia"),
        pytest.param(
            "respuesta.json", {"respuesta": "Ok."}, False, id="respuesta-corta"
        ),
    ],
)
def test_example_data_against_forms(
    form: str, data: dict[str, Any], valid: bool
) -> None:
    errors = _form_errors(form, data)
    assert (errors == []) is valid, errors
