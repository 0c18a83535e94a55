"""The seed case types as data: diagrams, decision tables and forms.

A designer who breaks a diagram, a table or a form finds out here: every seed
bundle parses through the engine's registry, follows the BPMN conventions of
DESIGN.md, is laid out for bpmn-js, and its forms accept the data the paths use
(the paths themselves are walked in ``test_lifecycle_paths.py``).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.exceptions import WorkflowException

from engine.bundles import forms, registry, texts
from engine.bundles.registry import ParsedVersion
from engine.workflow import runtime
from engine.workflow.calendar import PANAMA
from engine.workflow.timekeeping import at

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
FORMS_DIR = ROOT / "forms"

ROLES = {"agente_311", "supervisor_311", "enlace", "ciudadano"}
MARCAS = {"cerrado", "reabierto", "vencido", "al_dia", "recordatorio", "transferido"}
TITLES = {
    "queja": "Queja",
    "denuncia": "Denuncia",
    "sugerencia": "Idea o sugerencia",
    "consulta": "Consulta",
}
ENTIDADES = {
    "MINSA",
    "MOP",
    "IDAAN",
    "MIVIOT",
    "ATTT",
    "AAUD",
    "MEDUCA",
    "CSS",
    "ASEP",
    "MIAMBIENTE",
    "MUPA",
}
CASE_TYPES = sorted(TITLES)

ALL_BPMN = sorted(BPMN_DIR.glob("**/*.bpmn"))
ALL_DMN = sorted(BPMN_DIR.glob("**/*.dmn"))
# ``<form>.ui.json`` files are UI hints for the renderer, not JSON Schemas.
#: The forms, without their texts in other languages (``registro.en.json``).
ALL_FORMS = sorted(
    p
    for p in FORMS_DIR.glob("**/*.json")
    if ".ui." not in p.name and texts.overlay_target(p.name) is None
)

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture(scope="module")
def bundles() -> dict[str, dict[str, str]]:
    return registry.seed_bundles(BPMN_DIR, FORMS_DIR)


@pytest.fixture(scope="module")
def versions(bundles: dict[str, dict[str, str]]) -> dict[str, ParsedVersion]:
    return {key: registry.parse_bundle(files) for key, files in bundles.items()}


def _load_form(key: str, name: str) -> dict[str, Any]:
    with (FORMS_DIR / key / name).open(encoding="utf-8") as fh:
        form: dict[str, Any] = json.load(fh)
    return form


def _form_errors(key: str, name: str, data: dict[str, Any]) -> list[str]:
    """Problems the engine's form validation finds (RE2 patterns, formats)."""
    found = forms.validate(_load_form(key, name), data)
    return [f"{field}: {m.text}" for field, msgs in found.items() for m in msgs]


def _specs(version: ParsedVersion) -> dict[str, Any]:
    return {
        ts.bpmn_id: ts
        for ts in version.spec.task_specs.values()
        if getattr(ts, "bpmn_id", None) is not None
    }


def _props(task_spec: Any) -> dict[str, str]:
    return dict(getattr(task_spec, "extensions", {}).get("properties", {}))


def _assigned(version: ParsedVersion) -> set[str]:
    """Variables the diagram's scripts assign (``name = ...`` at line start)."""
    names: set[str] = set()
    for ts in _specs(version).values():
        for line in (getattr(ts, "script", None) or "").splitlines():
            match = re.match(r"\s*([a-z_][a-z0-9_]*)\s*=[^=]", line)
            if match:
                names.add(match.group(1))
    return names


# --- bundles -----------------------------------------------------------------


def test_there_are_diagrams_tables_and_forms(bundles) -> None:
    assert sorted(bundles) == CASE_TYPES
    assert {p.name for p in ALL_DMN} == {"enrutamiento.dmn", "plazos.dmn"}
    for key, files in bundles.items():
        assert f"{key}.bpmn" in files
        assert {"enrutamiento.dmn", "plazos.dmn", "registro.json"} <= set(files)


@pytest.mark.parametrize("key", CASE_TYPES)
def test_every_bundle_parses(versions, key: str) -> None:
    version = versions[key]
    assert version.case_type == key
    assert version.title == TITLES[key]
    assert version.start_form == "registro.json"


@pytest.mark.parametrize("bpmn_file", ALL_BPMN, ids=_rel)
def test_every_diagram_is_in_its_own_bundle(bpmn_file: Path, bundles) -> None:
    key = bpmn_file.parent.name
    assert bpmn_file.stem == key
    assert bundles[key][bpmn_file.name] == bpmn_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("form_file", ALL_FORMS, ids=_rel)
def test_every_form_is_a_json_schema(form_file: Path) -> None:
    with form_file.open(encoding="utf-8") as fh:
        schema = json.load(fh)
    Draft202012Validator.check_schema(schema)
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("title")
    assert schema.get("description")
    assert schema.get("type") == "object"
    assert schema.get("additionalProperties") is False
    for name, prop in schema.get("properties", {}).items():
        assert prop.get("title"), name
        if prop.get("type") == "string":
            assert "maxLength" in prop, name
        if "x-enum-labels" in prop:
            assert len(prop["x-enum-labels"]) == len(prop["enum"]), name
        if "x-source" in prop:
            assert "enum" not in prop, f"{name}: the app fills x-source options"
    for name in schema.get("required", []):
        assert name in schema["properties"], name


@pytest.mark.parametrize("key", CASE_TYPES)
def test_diagram_names_existing_forms(versions, key: str) -> None:
    referenced = set()
    for task_spec in _specs(versions[key]).values():
        props = _props(task_spec)
        for prop in ("formJsonSchemaFilename", "formUiSchemaFilename"):
            if prop in props:
                referenced.add(props[prop])
    on_disk = {
        p.name
        for p in (FORMS_DIR / key).glob("*.json")
        if texts.overlay_target(p.name) is None
    }
    assert referenced == on_disk  # every form is used, every used form exists


@pytest.mark.parametrize("key", CASE_TYPES)
def test_registro_marks_personal_data(key: str) -> None:
    form = _load_form(key, "registro.json")
    props = form["properties"]
    personal = {k for k, v in props.items() if v.get("x-personal")}
    assert personal == {"nombre", "correo", "telefono"}
    assert form["required"] == ["categoria", "asunto", "descripcion"]
    assert props["categoria"]["enum"][-1] == "otro"
    reserva = {k for k, v in props.items() if v.get("x-reserva-identidad")}
    assert reserva == ({"identidad_reservada"} if key == "denuncia" else set())


def test_denuncia_offers_reserved_identity() -> None:
    prop = _load_form("denuncia", "registro.json")["properties"]["identidad_reservada"]
    assert prop["type"] == "boolean"
    assert prop["x-widget"] == "checkbox"
    assert prop["title"] == "Reservar mi identidad"
    assert "supervisor del 311" in prop["description"]
    assert not prop.get("x-personal")


# --- BPMN conventions --------------------------------------------------------


@pytest.mark.parametrize("key", CASE_TYPES)
def test_diagram_follows_the_conventions(versions, key: str) -> None:
    version = versions[key]
    assert version.spec.name == key
    assert version.spec.description == TITLES[key]
    specs = _specs(version)
    assigned = _assigned(version)

    start = specs["inicio"]
    assert isinstance(start, StartEvent)
    assert _props(start) == {
        "formJsonSchemaFilename": "registro.json",
        "estado": "Recibida",
        "hito": "recibido",
        "hitos": "recibido: Recibido; revision: En revisión por el 311; "
        "asignado: Asignado a una entidad; respondido: Respondido; "
        "cerrado: Cerrado",
    }
    assert [key for key, _ in version.milestones] == [
        "recibido",
        "revision",
        "asignado",
        "respondido",
        "cerrado",
    ]
    for bpmn_id, ts in specs.items():
        props = _props(ts)
        assert ts.lane in ROLES, bpmn_id
        assert set(props.get("marca", "").split(",")) - {""} <= MARCAS, bpmn_id
        if ts.manual:
            assert props["formJsonSchemaFilename"], bpmn_id
            instructions = ts.extensions["instructionsForEndUser"].strip()
            assert instructions and not instructions.startswith("#"), bpmn_id
            if ts.lane != "supervisor_311":
                assert props["estado"], bpmn_id
        if "plazo" in props:
            assert ts.manual, bpmn_id
            assert props["plazo"] in assigned, bpmn_id
        if isinstance(ts, BoundaryEvent):
            assert ts.event_definition.expression in assigned, bpmn_id
        if (
            isinstance(ts, EndEvent)
            and ts.lane != "supervisor_311"
            and "recordatorio" not in props.get("marca", "")
        ):
            assert props.get("estado"), bpmn_id
    # Deadlines come from the shared tables, in this order.
    rules = [
        (bpmn_id, ts.dmnEngine.decision_table.id)
        for bpmn_id, ts in specs.items()
        if hasattr(ts, "dmnEngine")
    ]
    assert sorted(rules) == [
        ("calcular_plazos", "tabla_plazos"),
        ("enrutar", "tabla_enrutamiento"),
    ]
    assert specs["preparar_caso"].script == f'tipo_caso = "{key}"'
    assert [p.bpmn_id for p in specs["enrutar"].outputs] == ["calcular_plazos"]
    assert "entidad = entidad_sugerida" in specs["fijar_plazo_acuse"].script
    survey = [b for b, ts in specs.items() if _props(ts).get("encuesta") == "true"]
    assert survey == (["encuesta"] if key in ("queja", "denuncia") else [])


@pytest.mark.parametrize("key", ["queja", "denuncia"])
def test_queja_like_tasks_and_timers(versions, key: str) -> None:
    specs = _specs(versions[key])
    expected = {
        "clasificar_caso": ("agente_311", "clasificacion.json", None),
        "acusar_recibo": ("enlace", "acuse.json", "plazo_acuse"),
        "atender_caso": ("enlace", "atencion.json", "plazo_resolucion"),
        "reasignar_caso": ("agente_311", "reasignacion.json", None),
        "responder_consulta": ("ciudadano", "consulta.json", "plazo_consulta"),
        "encuesta": ("ciudadano", "encuesta.json", "plazo_encuesta"),
        "atender_vencimiento": ("supervisor_311", "vencimiento.json", None),
    }
    manual = {b: ts for b, ts in specs.items() if ts.manual}
    assert set(manual) == set(expected)
    for bpmn_id, (lane, form, plazo) in expected.items():
        props = _props(manual[bpmn_id])
        assert manual[bpmn_id].lane == lane, bpmn_id
        assert props["formJsonSchemaFilename"] == form, bpmn_id
        assert props.get("plazo") == plazo, bpmn_id
    assert _props(specs["clasificar_caso"])["estado"] == "En revisión por el 311"
    assert _props(specs["acusar_recibo"])["estado"] == "Asignada a la entidad"
    assert _props(specs["atender_caso"])["estado"] == "En atención por la entidad"
    assert _props(specs["atender_caso"])["marca"] == "al_dia"
    assert _props(specs["reasignar_caso"])["marca"] == "transferido"
    timers = {
        b: (ts.cancel_activity, ts.event_definition.expression, _props(ts).get("marca"))
        for b, ts in specs.items()
        if isinstance(ts, BoundaryEvent)
    }
    assert timers == {
        "recordar_acuse": (False, "recordatorio_acuse", None),
        "vence_acuse": (False, "plazo_acuse", "vencido"),
        "vence_resolucion": (False, "plazo_resolucion", "vencido"),
        "vence_consulta": (True, "plazo_consulta", None),
        "vence_encuesta": (True, "plazo_encuesta", None),
    }
    ends = {
        b: (_props(ts).get("estado"), _props(ts).get("marca"))
        for b, ts in specs.items()
        if isinstance(ts, EndEvent)
    }
    assert ends == {
        "fin_rechazada": ("Rechazada", "cerrado"),
        "fin_sin_respuesta": ("Cerrada por falta de información", "cerrado"),
        "fin_respondida": ("Cerrada", None),
        "recordatorio_enviado": (None, "recordatorio"),
        "fin_vencimiento": (None, None),
    }
    assert _props(specs["respuesta_enviada"]) == {
        "estado": "Respondida",
        "marca": "cerrado",
        "hito": "respondido",
    }
    assert _props(specs["caso_reabierto"]) == {
        "estado": "Reabierta",
        "marca": "reabierto",
    }


def test_sugerencia_tasks_and_ends(versions) -> None:
    specs = _specs(versions["sugerencia"])
    manual = {
        b: (ts.lane, _props(ts).get("plazo")) for b, ts in specs.items() if ts.manual
    }
    assert manual == {
        "clasificar_caso": ("agente_311", None),
        "responder_sugerencia": ("enlace", "plazo_acuse"),
        "atender_vencimiento": ("supervisor_311", None),
    }
    ends = {
        b: (_props(ts).get("estado"), _props(ts).get("marca"))
        for b, ts in specs.items()
        if isinstance(ts, EndEvent)
    }
    assert ends == {
        "fin_rechazada": ("Rechazada", "cerrado"),
        "fin_aceptada": ("Idea aceptada", "cerrado"),
        "fin_en_evaluacion": ("Idea en evaluación", "cerrado"),
        "fin_no_aceptada": ("Idea no aceptada", "cerrado"),
        "recordatorio_enviado": (None, "recordatorio"),
        "fin_vencimiento": (None, None),
    }
    dictamen = _load_form("sugerencia", "dictamen.json")["properties"]["dictamen"]
    assert dictamen["x-enum-labels"] == ["Aceptada", "En evaluación", "No aceptada"]


# --- layout for bpmn-js --------------------------------------------------------


def _bounds(node: Any) -> tuple[float, float, float, float]:
    b = node.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return (
        a[0] < b[0] + b[2]
        and b[0] < a[0] + a[2]
        and a[1] < b[1] + b[3]
        and b[1] < a[1] + a[3]
    )


@pytest.mark.parametrize("bpmn_file", ALL_BPMN, ids=_rel)
def test_every_element_is_drawn_without_overlaps(bpmn_file: Path) -> None:
    tree = etree.parse(str(bpmn_file))
    process = tree.find("bpmn:process", NS)
    shapes = {s.get("bpmnElement"): s for s in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    flows = {f.get("id") for f in process.iterfind("bpmn:sequenceFlow", NS)}
    nodes = {
        el.get("id"): el
        for el in process
        if el.get("id") and etree.QName(el).localname not in ("laneSet", "sequenceFlow")
    }
    lanes = {lane.get("id"): lane for lane in process.iterfind(".//bpmn:lane", NS)}
    assert set(shapes) == set(nodes) | set(lanes) | {
        tree.find(".//bpmn:participant", NS).get("id")
    }
    assert set(edges) == flows
    for edge in edges.values():
        assert len(edge.findall("di:waypoint", NS)) >= 2
    # Every element sits inside the lane that lists it.
    for lane_id, lane in lanes.items():
        lx, ly, lw, lh = _bounds(shapes[lane_id])
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, h = _bounds(shapes[ref.text])
            assert lx <= x + w / 2 <= lx + lw and ly <= y + h / 2 <= ly + lh, ref.text
    # No two elements or labels overlap, except a boundary event on its task.
    boxes: list[tuple[str, tuple[float, ...]]] = []
    for node_id in nodes:
        boxes.append((node_id, _bounds(shapes[node_id])))
        label = shapes[node_id].find("bpmndi:BPMNLabel", NS)
        if label is not None:
            boxes.append((f"{node_id}:label", _bounds(label)))
    for flow_id, edge in edges.items():
        label = edge.find("bpmndi:BPMNLabel", NS)
        if label is not None:
            boxes.append((f"{flow_id}:label", _bounds(label)))
    hosts = {
        el.get("id"): el.get("attachedToRef")
        for el in nodes.values()
        if etree.QName(el).localname == "boundaryEvent"
    }
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        if hosts.get(a) == b or hosts.get(b) == a:
            continue
        assert not _overlap(box_a, box_b), (a, b)


# --- decision tables -----------------------------------------------------------


def _rules(dmn_file: Path) -> tuple[Any, list[tuple[list[str], list[str]]]]:
    tree = etree.parse(str(dmn_file))
    table = tree.find(".//dmn:decisionTable", NS)
    rows = []
    for rule in table.iterfind("dmn:rule", NS):
        ins = [
            (e.findtext("dmn:text", "", NS) or "").strip()
            for e in rule.iterfind("dmn:inputEntry", NS)
        ]
        outs = [
            (e.findtext("dmn:text", "", NS) or "").strip()
            for e in rule.iterfind("dmn:outputEntry", NS)
        ]
        rows.append((ins, outs))
    return table, rows


@pytest.mark.parametrize("dmn_file", ALL_DMN, ids=_rel)
def test_decision_tables_end_with_a_catch_all(dmn_file: Path) -> None:
    table, rows = _rules(dmn_file)
    assert table.get("hitPolicy") == "FIRST"
    assert all(entry in ("", "-") for entry in rows[-1][0])
    assert all(entry not in ("", "-") for ins, _ in rows[:-1] for entry in ins)


def test_routing_table_matches_the_intake_categories() -> None:
    _table, rows = _rules(BPMN_DIR / "shared" / "enrutamiento.dmn")
    routed = {ins[0].strip('"'): outs[0].strip('"') for ins, outs in rows[:-1]}
    assert set(routed.values()) == ENTIDADES
    assert rows[-1][1] == ['""']
    for key in CASE_TYPES:
        enum = _load_form(key, "registro.json")["properties"]["categoria"]["enum"]
        assert set(enum) == set(routed) | {"otro"}, key


def test_deadline_table() -> None:
    _table, rows = _rules(BPMN_DIR / "shared" / "plazos.dmn")
    assert [(ins[0], outs) for ins, outs in rows] == [
        ('"queja"', ["2", "10"]),
        ('"denuncia"', ["2", "15"]),
        ('"sugerencia"', ["5", "0"]),
        ("-", ["2", "10"]),
    ]


# --- the gateway does not guess -------------------------------------------------


def test_gateway_fails_loudly_without_a_valid_decision(versions) -> None:
    # The form makes this impossible; if it ever happens the engine must not guess.
    version = versions["queja"]
    intake = {
        "categoria": "agua",
        "asunto": "Fuga",
        "descripcion": "Fuga de agua potable.",
    }
    with at(datetime(2026, 10, 30, 19, 0, tzinfo=PANAMA)):
        workflow = runtime.start(version, intake)
        (ready,) = runtime.snapshot(version, workflow).ready
        task = runtime.find_ready_task(workflow, ready.id)
        with pytest.raises(WorkflowException, match="decision_clasificacion"):
            runtime.complete(workflow, task, {"decision": "tal vez"})


# --- example data against the forms ----------------------------------------------

INTAKE = {
    "categoria": "agua",
    "asunto": "Falta de agua desde hace una semana",
    "descripcion": "Desde el lunes 12 no llega agua a la barriada; llamé dos veces.",
    "ubicacion": "Calle 5, casa 23, Villa Lucre, San Miguelito",
    "nombre": "María Pérez",
    "correo": "maria.perez@example.com",
    "telefono": "+507 6123-4567",
}
MINIMAL = {
    "categoria": "vias",
    "asunto": "Bache",
    "descripcion": "Hay un bache enorme frente a la escuela.",
}
ACEPTAR = {"decision": "aceptar", "entidad": "IDAAN"}
RECHAZAR = {
    "decision": "rechazar",
    "motivo_rechazo": "Es un conflicto entre vecinos, no un servicio público.",
}
RESPUESTA = (
    "Se reparó la tubería principal el 15 de marzo; el servicio está restablecido."
)


def _case(
    form: str, data: dict[str, Any], valid: bool, id: str, key: str = "queja"
) -> Any:
    return pytest.param(key, form, data, valid, id=f"{key}-{id}")


EXAMPLES = [
    _case("registro.json", INTAKE, True, "registro-completo"),
    _case("registro.json", MINIMAL, True, "registro-minimo"),
    _case(
        "registro.json",
        {k: v for k, v in MINIMAL.items() if k != "categoria"},
        False,
        "registro-sin-categoria",
    ),
    _case(
        "registro.json",
        {**MINIMAL, "categoria": "deportes"},
        False,
        "registro-categoria-desconocida",
    ),
    _case(
        "registro.json",
        {"categoria": "agua", "asunto": "Falta de agua"},
        False,
        "registro-sin-descripcion",
    ),
    _case("registro.json", {**MINIMAL, "asunto": "ab"}, False, "registro-asunto-corto"),
    _case(
        "registro.json",
        {**MINIMAL, "descripcion": "x" * 4001},
        False,
        "registro-descripcion-larga",
    ),
    _case(
        "registro.json",
        {**MINIMAL, "telefono": "llámeme"},
        False,
        "registro-telefono-invalido",
    ),
    _case(
        "registro.json",
        {**MINIMAL, "correo": "no-es-un-correo"},
        False,
        "registro-correo-invalido",
    ),
    _case(
        "registro.json",
        {**MINIMAL, "cedula": "8-123-456"},
        False,
        "registro-campo-desconocido",
    ),
    _case(
        "registro.json",
        {**MINIMAL, "identidad_reservada": True},
        False,
        "registro-sin-reserva",
    ),
    _case(
        "registro.json",
        {**MINIMAL, "identidad_reservada": True},
        True,
        "registro-reservada",
        "denuncia",
    ),
    _case(
        "registro.json",
        {**MINIMAL, "identidad_reservada": "si"},
        False,
        "registro-reserva-no-booleana",
        "denuncia",
    ),
    _case("registro.json", MINIMAL, True, "registro-anonima", "denuncia"),
    _case("registro.json", MINIMAL, True, "registro-idea", "sugerencia"),
    _case(
        "registro.json",
        {**MINIMAL, "ubicacion": "Aquí"},
        False,
        "registro-idea-sin-ubicacion",
        "sugerencia",
    ),
    _case("clasificacion.json", ACEPTAR, True, "clasificacion-aceptar"),
    _case("clasificacion.json", RECHAZAR, True, "clasificacion-rechazar"),
    _case(
        "clasificacion.json",
        {"decision": "aceptar"},
        False,
        "clasificacion-aceptar-sin-entidad",
    ),
    _case(
        "clasificacion.json",
        {"decision": "aceptar", "entidad": ""},
        False,
        "clasificacion-entidad-vacia",
    ),
    _case(
        "clasificacion.json",
        {"decision": "rechazar", "entidad": "MINSA"},
        False,
        "clasificacion-rechazar-sin-motivo",
    ),
    _case(
        "clasificacion.json",
        {"decision": "tal vez", "entidad": "MINSA"},
        False,
        "clasificacion-decision-desconocida",
    ),
    _case(
        "clasificacion.json", {"entidad": "MINSA"}, False, "clasificacion-sin-decision"
    ),
    _case("acuse.json", {}, True, "acuse-vacio"),
    _case("acuse.json", {"nota": "x" * 501}, False, "acuse-nota-larga"),
    _case(
        "atencion.json",
        {"accion": "responder", "respuesta": RESPUESTA},
        True,
        "atencion-responder",
    ),
    _case(
        "atencion.json",
        {"accion": "responder"},
        False,
        "atencion-responder-sin-respuesta",
    ),
    _case(
        "atencion.json",
        {"accion": "responder", "respuesta": "Ok."},
        False,
        "atencion-respuesta-corta",
    ),
    _case(
        "atencion.json",
        {"accion": "no_competencia", "motivo_no_competencia": "Corresponde al IDAAN."},
        True,
        "atencion-no-competencia",
    ),
    _case(
        "atencion.json",
        {"accion": "no_competencia", "respuesta": RESPUESTA},
        False,
        "atencion-no-competencia-sin-motivo",
    ),
    _case(
        "atencion.json",
        {"accion": "pedir_informacion", "pregunta": "¿Cuál es la dirección exacta?"},
        True,
        "atencion-preguntar",
    ),
    _case(
        "atencion.json",
        {"accion": "pedir_informacion"},
        False,
        "atencion-preguntar-sin-pregunta",
    ),
    _case(
        "atencion.json",
        {"accion": "cerrar", "respuesta": RESPUESTA},
        False,
        "atencion-accion-desconocida",
    ),
    _case("atencion.json", {"respuesta": RESPUESTA}, False, "atencion-sin-accion"),
    _case("reasignacion.json", {"entidad": "IDAAN"}, True, "reasignacion-valida"),
    _case(
        "reasignacion.json",
        {"nota": "Es del IDAAN."},
        False,
        "reasignacion-sin-entidad",
    ),
    _case(
        "consulta.json",
        {"respuesta_ciudadano": "Calle 5, casa 23."},
        True,
        "consulta-valida",
    ),
    _case("consulta.json", {}, False, "consulta-vacia"),
    _case(
        "encuesta.json",
        {"calificacion": 2, "comentario": "No se resolvió."},
        True,
        "encuesta-2",
    ),
    _case("encuesta.json", {"calificacion": 5}, True, "encuesta-5"),
    _case("encuesta.json", {"calificacion": 0}, False, "encuesta-0"),
    _case("encuesta.json", {"calificacion": 6}, False, "encuesta-6"),
    _case("encuesta.json", {"calificacion": "5"}, False, "encuesta-texto"),
    _case("encuesta.json", {"comentario": "Bien."}, False, "encuesta-sin-calificacion"),
    _case("vencimiento.json", {"nota": "Llamé al enlace."}, True, "vencimiento-valido"),
    _case("vencimiento.json", {}, False, "vencimiento-sin-nota"),
    _case(
        "atencion.json",
        {"accion": "responder", "respuesta": RESPUESTA},
        True,
        "atencion",
        "denuncia",
    ),
    _case(
        "dictamen.json",
        {"dictamen": "en_evaluacion", "respuesta": RESPUESTA},
        True,
        "dictamen-valido",
        "sugerencia",
    ),
    _case(
        "dictamen.json",
        {"dictamen": "aceptada"},
        False,
        "dictamen-sin-respuesta",
        "sugerencia",
    ),
    _case(
        "dictamen.json",
        {"dictamen": "quizas", "respuesta": RESPUESTA},
        False,
        "dictamen-desconocido",
        "sugerencia",
    ),
    _case("clasificacion.json", ACEPTAR, True, "clasificacion", "sugerencia"),
]


@pytest.mark.parametrize(("key", "form", "data", "valid"), EXAMPLES)
def test_example_data_against_forms(
    key: str, form: str, data: dict[str, Any], valid: bool
) -> None:
    errors = _form_errors(key, form, data)
    assert (errors == []) is valid, errors
