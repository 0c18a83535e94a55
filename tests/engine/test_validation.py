"""Bundle validation that explains: one small fixture per problem.

Each folder under ``tests/fixtures/invalid/`` is a bundle with one mistake (the
comment at the top of its ``.bpmn`` says which). The test checks the problem
found: file, element id, key words of the Spanish sentence, and severity.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine.bundles import registry
from engine.domain.errors import BundleInvalid, Problem
from engine.workflow import runtime

ROOT = Path(__file__).resolve().parent.parent.parent
INVALID = ROOT / "tests" / "fixtures" / "invalid"
ALUMBRADO = ROOT / "tests" / "fixtures" / "bundles" / "alumbrado"


def files_of(case: str) -> dict[str, str]:
    """The files of one fixture bundle."""
    folder = INVALID / case
    assert folder.is_dir(), f"missing fixture {folder}"
    return registry.read_bundle_dir(folder)


def problems_of(files: dict[str, str]) -> tuple[bool, list[Problem]]:
    """(refused?, problems): the errors and warnings, or the warnings alone."""
    try:
        parsed = registry.parse_bundle(files)
    except BundleInvalid as err:
        return True, err.problems
    return False, parsed.warnings


def text(problem: Problem) -> str:
    """The problem's sentence, interpolated."""
    return problem.message.text % problem.message.params


# (case, file, element, key words of the sentence, severity)
CASES = [
    ("xml_mal_formado", "proceso.bpmn", None, ["XML", "bien formado"], "error"),
    (
        "bpmn_no_valido",
        "proceso.bpmn",
        "revisar",
        ["no es válido", "asignado", "bpmn:userTask"],
        "error",
    ),
    (
        "error_spiffworkflow",
        "proceso.bpmn",
        "esperar",
        ["no es válido", "Time Specification"],
        "error",
    ),
    (
        "carril_no_es_rol",
        "proceso.bpmn",
        "carril_agente",
        ["«vecinos»", "no es un rol", "agente_311"],
        "error",
    ),
    (
        "tarea_sin_formulario",
        "proceso.bpmn",
        "revisar",
        ["no indica su formulario"],
        "error",
    ),
    (
        "tarea_sin_carril",
        "proceso.bpmn",
        "revisar",
        ["ningún carril"],
        "error",
    ),
    (
        "formulario_faltante",
        "proceso.bpmn",
        "revisar",
        ["Falta el archivo de formulario", "revision.json"],
        "error",
    ),
    (
        "formulario_no_valido",
        "revision.json",
        None,
        ["no es un JSON Schema válido", "objeto"],
        "error",
    ),
    ("json_mal_formado", "revision.json", None, ["JSON no es válido"], "error"),
    (
        "sin_formulario_de_inicio",
        "proceso.bpmn",
        "inicio",
        ["evento de inicio", "formJsonSchemaFilename"],
        "error",
    ),
    (
        "varios_procesos",
        "proceso.bpmn",
        None,
        ["exactamente un proceso", "2"],
        "error",
    ),
    ("sin_diagrama", "", None, ["ningún diagrama .bpmn"], "error"),
    (
        "temporizador_sin_comillas",
        "proceso.bpmn",
        "esperar",
        ["P2D", "sin comillas", '"P2D"'],
        "error",
    ),
    (
        "temporizador_literal_no_valido",
        "proceso.bpmn",
        "esperar",
        ["2026-13-45", "no es válido para timeDate", "ISO 8601"],
        "error",
    ),
    (
        "temporizador_inseguro",
        "proceso.bpmn",
        "esperar",
        ["temporizador no es segura", "__import__"],
        "error",
    ),
    (
        "script_inseguro",
        "proceso.bpmn",
        "preparar",
        ["no es seguro", "Import"],
        "error",
    ),
    (
        "condicion_insegura",
        "proceso.bpmn",
        "f_si",
        ["no es seguro", "__class__"],
        "error",
    ),
    (
        "dmn_faltante",
        "proceso.bpmn",
        "priorizar",
        ["«enrutamiento»", "ningún archivo .dmn", "prioridad"],
        "error",
    ),
    (
        "proceso_llamado_faltante",
        "proceso.bpmn",
        "consultar",
        ["«registro_civil»", "no está en el paquete"],
        "error",
    ),
    (
        "flujo_roto",
        "proceso.bpmn",
        "f2",
        ["«cerrar»", "targetRef"],
        "error",
    ),
    (
        "dmn_sin_comodin",
        "prioridad.dmn",
        "prioridad",
        ["comodín", "Prioridad según la categoría", "n.º 2"],
        "warning",
    ),
    (
        "nodo_inalcanzable",
        "proceso.bpmn",
        "archivar",
        ["Ningún camino", "«Archivar el expediente»"],
        "warning",
    ),
]


@pytest.mark.parametrize(
    ("case", "file", "element", "words", "severity"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_each_problem_is_explained(
    case: str, file: str, element: str | None, words: list[str], severity: str
):
    """The fixture's problem names its file and element, in a clear sentence."""
    refused, problems = problems_of(files_of(case))
    assert refused == (severity == "error")
    matching = [
        p
        for p in problems
        if p.file == file
        and p.element == element
        and p.severity == severity
        and all(w in text(p) for w in words)
    ]
    assert matching, [(p.file, p.element, p.severity, text(p)) for p in problems]


def test_every_fixture_is_covered():
    """Each fixture folder has its expectation (and vice versa)."""
    folders = {p.name for p in INVALID.iterdir() if p.is_dir()}
    assert folders == {c[0] for c in CASES} | {"errores_y_avisos"}


def test_messages_are_spanish_and_interpolate():
    """Every message is a plain %-template whose parameters all fill in."""
    for case, *_ in CASES:
        _, problems = problems_of(files_of(case))
        for problem in problems:
            sentence = text(problem)
            assert "%(" not in sentence
            assert problem.severity in ("error", "warning")


def test_errors_and_warnings_are_listed_together():
    """A refused bundle lists its warnings too, beside the errors."""
    refused, problems = problems_of(files_of("errores_y_avisos"))
    assert refused
    found = {(p.severity, p.file, p.element) for p in problems}
    assert ("error", "proceso.bpmn", "revisar") in found  # revision.json missing
    assert ("warning", "proceso.bpmn", "archivar") in found  # unreachable
    assert ("warning", "prioridad.dmn", "prioridad") in found  # no catch-all


def test_unreachable_boundary_target_is_reported_once():
    """A node after an unreached one is reported too; boundaries are not doubled."""
    _, problems = problems_of(files_of("nodo_inalcanzable"))
    assert sorted(p.element or "" for p in problems) == ["archivar", "fin_archivo"]


def test_json_that_does_not_parse_is_not_also_missing():
    """A form that is present but broken is not reported as missing as well."""
    _, problems = problems_of(files_of("json_mal_formado"))
    assert not any("Falta el archivo" in text(p) for p in problems)


def test_script_problems_do_not_hide_form_problems():
    """An unsafe script and a missing form are reported in the same pass."""
    files = files_of("script_inseguro")
    del files["revision.json"]
    _, problems = problems_of(files)
    sentences = [text(p) for p in problems]
    assert any("no es seguro" in s for s in sentences)
    assert any("Falta el archivo de formulario" in s for s in sentences)


# --- Timers ------------------------------------------------------------------


def timer_bundle(kind: str, expression: str) -> dict[str, str]:
    """The timer fixture with another timer kind and expression."""
    files = files_of("temporizador_sin_comillas")
    files["proceso.bpmn"] = (
        files["proceso.bpmn"]
        .replace("<bpmn:timeDuration", f"<bpmn:{kind}")
        .replace(">P2D</bpmn:timeDuration>", f">{expression}</bpmn:{kind}>")
    )
    return files


@pytest.mark.parametrize(
    ("kind", "expression"),
    [
        ("timeDuration", '"P2D"'),
        ("timeDuration", '"PT36H"'),
        ("timeDuration", "'P1W'"),
        ("timeDate", '"2026-11-04T23:59:59-05:00"'),
        ("timeDate", '"2026-11-04"'),
        ("timeCycle", '"R3/PT1H"'),
        ("timeCycle", '"R/2026-11-04T08:00:00-05:00/P1D"'),
        ("timeDate", "plazo_habil(2)"),
        ("timeDate", "vence"),
        ("timeDuration", '"P" + str(dias) + "D"'),
    ],
)
def test_good_timer_expressions_pass(kind: str, expression: str):
    """Quoted ISO literals of the right kind and safe expressions are accepted."""
    refused, problems = problems_of(timer_bundle(kind, expression))
    assert not refused, [text(p) for p in problems]


@pytest.mark.parametrize(
    ("kind", "expression", "words"),
    [
        ("timeDate", "2026-11-04T23:59:59-05:00", ["sin comillas"]),
        ("timeCycle", "R3/PT1H", ["sin comillas", '"R3/PT1H"']),
        ("timeDuration", "PT1H30M", ["sin comillas"]),
        ("timeDate", '"P2D"', ["no es válido para timeDate"]),
        ("timeDuration", '"2026-11-04"', ["no es válido para timeDuration"]),
        ("timeCycle", '"P2D"', ["no es válido para timeCycle"]),
        ("timeDuration", '"P2X"', ["no es válido"]),
        ("timeDuration", "", ["no tiene expresión"]),
        ("timeDate", "open('x')", ["no es segura"]),
        ("timeDate", "plazo_habil(", ["no es segura o no compila"]),
    ],
)
def test_bad_timer_expressions_are_refused(
    kind: str, expression: str, words: list[str]
):
    """Unquoted ISO values, wrong kinds, bad literals and unsafe code are errors."""
    refused, problems = problems_of(timer_bundle(kind, expression))
    assert refused
    timer = [p for p in problems if p.element == "esperar"]
    assert timer and all(w in text(timer[0]) for w in words), [
        text(p) for p in problems
    ]


# --- Reachability and decision tables on the seeds -----------------------------


def test_seed_bundles_have_no_warnings():
    """The seeds follow the conventions: catch-all rows, every node reachable."""
    for key, files in registry.seed_bundles(ROOT / "bpmn", ROOT / "forms").items():
        parsed = registry.parse_bundle(files)
        assert parsed.warnings == [], (key, [text(p) for p in parsed.warnings])


def test_boundary_events_are_reached_through_their_activity():
    """Removing the flow into a task makes it and its boundary path unreachable.

    In the queja seed, ``atender_vencimiento`` is reached only from the
    boundary timers of ``acusar_recibo`` and ``atender_caso``; cutting both
    timers' flows leaves it (and its end event) unreachable.
    """
    files = registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"]
    bpmn = files["queja.bpmn"]
    for flow in ("flujo_vence_acuse", "flujo_vence_resolucion"):
        start = bpmn.index(f'<bpmn:sequenceFlow id="{flow}"')
        end = bpmn.index("/>", start) + 2
        bpmn = bpmn[:start] + bpmn[end:]
        bpmn = bpmn.replace(f"<bpmn:outgoing>{flow}</bpmn:outgoing>", "")
        bpmn = bpmn.replace(f"<bpmn:incoming>{flow}</bpmn:incoming>", "")
    files["queja.bpmn"] = bpmn
    _, problems = problems_of(files)
    unreached = {p.element for p in problems if "Ningún camino" in text(p)}
    assert unreached == {"atender_vencimiento", "fin_vencimiento"}


def test_missing_catch_all_in_a_seed_table_is_a_warning():
    """Dropping the last row of the routing table warns, but still deploys."""
    files = registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"]
    dmn = files["enrutamiento.dmn"]
    start = dmn.index('<rule id="regla_otra">')
    end = dmn.index("</rule>", start) + len("</rule>")
    files["enrutamiento.dmn"] = dmn[:start] + dmn[end:]
    parsed = registry.parse_bundle(files)
    assert [(p.file, p.element, p.severity) for p in parsed.warnings] == [
        ("enrutamiento.dmn", "enrutamiento", "warning")
    ]


def test_parsed_version_keeps_files_and_no_warnings_by_default():
    """A clean bundle has an empty warnings list and keeps its files."""
    files = registry.read_bundle_dir(ALUMBRADO)
    parsed = registry.parse_bundle(files)
    assert parsed.warnings == []
    assert parsed.files == files


# --- The alumbrado case type -------------------------------------------------

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"


def test_alumbrado_parses_cleanly():
    """The street-light bundle parses with no problems and no warnings."""
    parsed = registry.parse_bundle(registry.read_bundle_dir(ALUMBRADO))
    assert parsed.case_type == "alumbrado"
    assert parsed.title == "Reparación de alumbrado público"
    assert parsed.warnings == []
    assert parsed.start_form == "registro.json"
    registro = parsed.form("registro.json")
    assert registro["required"] == ["direccion"]
    assert set(registro["properties"]) == {"direccion", "numero_poste", "descripcion"}
    verificar = parsed.tasks["verificar_reporte"]
    assert verificar.lane == "agente_311" and verificar.manual
    entidad = parsed.form(verificar.form)["properties"]["entidad"]
    assert entidad["x-source"] == "entidades"
    reparar = parsed.tasks["reportar_reparacion"]
    assert reparar.lane == "enlace" and reparar.form == "reparacion.json"
    reparacion = parsed.form("reparacion.json")["properties"]
    assert reparacion["resultado"]["enum"] == ["reparado", "no_procede"]
    assert len(reparacion["resultado"]["x-enum-labels"]) == 2
    assert reparacion["resultado"]["x-widget"] == "radio"
    assert reparacion["detalle"]["x-public"] is True
    ends = [t for t in parsed.tasks.values() if t.bpmn_id.startswith("fin_")]
    assert len(ends) == 3
    assert all(t.marks == ("cerrado",) and t.estado for t in ends)
    assert all(
        t.estado for t in parsed.tasks.values() if t.manual or t.bpmn_id == "inicio"
    )


def test_alumbrado_has_a_shape_for_every_element():
    """Full BPMNDI: every flow node, flow, lane and participant is drawn."""
    root = etree.fromstring((ALUMBRADO / "alumbrado.bpmn").read_bytes())
    drawn = {el.get("bpmnElement") for el in root.iter(f"{BPMNDI}BPMNShape")}
    drawn |= {el.get("bpmnElement") for el in root.iter(f"{BPMNDI}BPMNEdge")}
    process = root.find(f"{BPMN}process")
    assert process is not None
    ids = {
        el.get("id")
        for el in process
        if el.get("id") and etree.QName(el).localname != "laneSet"
    }
    ids |= {el.get("id") for el in root.iter(f"{BPMN}lane")}
    ids |= {el.get("id") for el in root.iter(f"{BPMN}participant")}
    assert ids - drawn == set()


@pytest.mark.parametrize(
    ("steps", "end"),
    [
        (
            [
                {"decision": "asignar", "entidad": "MUPA"},
                {"resultado": "reparado", "detalle": "Se cambió la fotocelda."},
            ],
            "fin_reparado",
        ),
        (
            [
                {"decision": "asignar", "entidad": "MUPA"},
                {"resultado": "no_procede", "detalle": "El poste es privado."},
            ],
            "fin_no_procede",
        ),
        (
            [{"decision": "rechazar", "motivo_rechazo": "La dirección no existe."}],
            "fin_rechazado",
        ),
    ],
)
def test_alumbrado_runs_to_each_end(steps: list[dict[str, str]], end: str):
    """Every path of the diagram runs to its end event, with forms that validate."""
    from engine.bundles import forms

    parsed = registry.parse_bundle(registry.read_bundle_dir(ALUMBRADO))
    intake = {"direccion": "Vía España, frente a la parada", "numero_poste": "P-1234"}
    forms.check(parsed.form(parsed.start_form), intake)
    workflow = runtime.start(parsed, intake)
    for data in steps:
        snap = runtime.snapshot(parsed, workflow)
        (ready,) = snap.ready
        info = parsed.tasks[ready.bpmn_id]
        forms.check(parsed.form(info.form), data, {"entidades": ["MUPA"]})
        task = runtime.find_ready_task(workflow, ready.id)
        runtime.complete(workflow, task, data)
    snap = runtime.snapshot(parsed, workflow)
    assert snap.completed and snap.end_event == end
    assert parsed.tasks[end].marks == ("cerrado",)
