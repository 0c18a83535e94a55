"""Process tests: scenario files in bundles, played against the real engine.

The seed bundles' scenarios (``bpmn/<type>/tests/*.json``) must all pass and
together go through every element of their diagrams; a scenario's format
problems name the file and the field; a failing scenario refuses the deploy
naming the scenario and the step; the report gives each step's result and
the path the case took.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.bundles import read_zip
from engine.bundles.registry import parse_bundle, seed_bundles
from engine.domain.errors import BundleInvalid
from engine.services import scenario_runs, versions
from engine.services.platform import Platform
from engine.store.accounts import AuditLog
from engine.store.models import ProcessVersion
from tests.conftest import without_scenarios

ROOT = Path(__file__).resolve().parents[2]
SEEDS = seed_bundles(ROOT / "bpmn", ROOT / "forms")

#: Elements no seed scenario can reach yet, and why.
UNREACHED = {
    "queja": set(),
    "denuncia": set(),
    # Answered at first contact needs a published knowledge article, which
    # a scenario cannot create.
    "consulta": {"fin_respondida_primer_contacto"},
    "sugerencia": set(),
}

SCENARIO: dict[str, Any] = {
    "name": "Clasificada y acusada",
    "start": "2026-10-30T19:00",
    "intake": {
        "channel": "phone",
        "data": {
            "categoria": "salud",
            "asunto": "No hay médico",
            "descripcion": "El centro de salud atiende sin médico desde el lunes.",
        },
    },
    "steps": [
        {
            "task": "clasificar_caso",
            "role": "agente_311",
            "answers": {"decision": "aceptar"},
            "expect": {"entity": "MINSA", "due": "2026-11-04"},
        },
        {"advance": {"business_days": 1}},
        {"task": "acusar_recibo", "role": "enlace", "entity": "MINSA"},
    ],
    "expect": {"closed": False, "pending": ["atender_caso"]},
}


def queja_with(*scenarios: dict[str, Any]) -> dict[str, str]:
    """The seed queja with only the given scenarios."""
    files = without_scenarios(SEEDS["queja"])
    for i, scenario in enumerate(scenarios, start=1):
        files[f"tests/{i:02}.json"] = json.dumps(scenario, ensure_ascii=False)
    return files


def text(message: Any) -> str:
    """A message in Spanish, nested messages included."""
    params = {
        k: text(v) if hasattr(v, "params") else v for k, v in message.params.items()
    }
    return message.text % params if params else message.text


@pytest.mark.parametrize("case_type", sorted(SEEDS))
def test_every_seed_scenario_passes_and_covers_its_diagram(case_type: str) -> None:
    """The seed scenarios pass, and between them complete every element."""
    files = SEEDS[case_type]
    parsed = parse_bundle(files)
    results = scenario_runs.run_scenarios(files, parsed=parsed)
    assert len(results) == versions.scenario_count(files) >= 3
    failures = [
        text(p.message) for r in results for p in scenario_runs.failure_problems(r)
    ]
    assert failures == []
    assert all(r.passed for r in results)
    visited = {bpmn_id for r in results for bpmn_id in r.path}
    assert set(parsed.tasks) - visited == UNREACHED[case_type]


def test_a_report_gives_each_step_its_clock_checks_and_path() -> None:
    """Steps in order, the clock moved by business days, the path in order."""
    (result,) = scenario_runs.run_scenarios(queja_with(SCENARIO))
    assert result.passed and result.file == "tests/01.json"
    assert [s.kind for s in result.steps] == [
        "intake",
        "task",
        "advance",
        "task",
        "final",
    ]
    filed, classified, advanced, acknowledged, final = result.steps
    assert filed.path[0] == "inicio" and "clasificar_caso" not in filed.path
    assert classified.path == ["clasificar_caso", "decision_clasificacion"]
    assert [(c.field, c.passed) for c in classified.checks] == [
        ("entity", True),
        ("due", True),
    ]
    # One business day after Friday 19:00 is Monday 19:00.
    assert advanced.at is not None and advanced.at.isoformat().startswith(
        "2026-11-02T19:00"
    )
    assert acknowledged.path[0] == "acusar_recibo"
    assert [c.field for c in final.checks] == ["closed", "pending"]
    assert result.path.index("clasificar_caso") < result.path.index("acusar_recibo")
    assert "atender_caso" in result.current
    assert result.names["clasificar_caso"] == "Clasificar la queja"


def test_a_failed_expectation_says_expected_and_actual() -> None:
    """A wrong deadline fails its step; the run goes on to the end."""
    wrong = copy.deepcopy(SCENARIO)
    wrong["steps"][0]["expect"]["due"] = "2026-11-03"
    (result,) = scenario_runs.run_scenarios(queja_with(wrong))
    assert not result.passed
    step = result.steps[1]
    (bad,) = step.failed_checks
    assert (bad.field, bad.expected, bad.actual) == (
        "due",
        '"2026-11-03"',
        '"2026-11-04"',
    )
    assert result.steps[-1].passed is True  # later steps still ran
    (problem,) = scenario_runs.failure_problems(result)
    assert problem.file == "tests/01.json" and problem.element == "clasificar_caso"
    assert text(problem.message) == (
        "Escenario «Clasificada y acusada», paso 1 (tarea «clasificar_caso»): "
        'se esperaba due = "2026-11-03", pero resultó "2026-11-04".'
    )


def test_a_failed_action_stops_the_scenario() -> None:
    """A task at another entity fails the step; the rest is not run."""
    wrong = copy.deepcopy(SCENARIO)
    wrong["steps"][2]["entity"] = "MOP"
    (result,) = scenario_runs.run_scenarios(queja_with(wrong))
    step = result.steps[3]
    assert step.passed is False and step.problem is not None
    assert text(step.problem) == "la tarea está en la entidad «MINSA», no en «MOP»."
    assert result.steps[4].passed is None  # the final expectations: not run


def test_refused_answers_and_missing_tasks_are_reported() -> None:
    """The form's own messages, and which tasks were waiting instead."""
    refused = copy.deepcopy(SCENARIO)
    refused["steps"][0]["answers"] = {"decision": "quizás"}
    missing = copy.deepcopy(SCENARIO)
    missing["steps"][2]["task"] = "atender_caso"
    first, second = scenario_runs.run_scenarios(queja_with(refused, missing))
    assert text(first.steps[1].problem) == (
        "el formulario rechazó las respuestas: decision: Elija una de las "
        "opciones de la lista."
    )
    assert text(second.steps[3].problem) == (
        "se esperaba la tarea «atender_caso», pero las pendientes son: acusar_recibo."
    )


def test_a_refused_filing_runs_nothing_else() -> None:
    """The intake form's refusal is the filing's failure; no step runs."""
    refused = copy.deepcopy(SCENARIO)
    del refused["intake"]["data"]["asunto"]
    (result,) = scenario_runs.run_scenarios(queja_with(refused))
    filed = result.steps[0]
    assert filed.kind == "intake" and filed.passed is False
    assert filed.problem is not None
    assert text(filed.problem) == (
        "el formulario rechazó las respuestas: asunto: Este campo es obligatorio."
    )
    assert [s.passed for s in result.steps[1:]] == [None, None, None, None]
    assert result.path == []


def test_the_clock_never_goes_back_and_the_time_is_bounded() -> None:
    """An advance into the past fails; a spent budget fails the next steps."""
    back = copy.deepcopy(SCENARIO)
    back["steps"][1] = {"advance": {"to": "2026-10-01T08:00"}}
    (result,) = scenario_runs.run_scenarios(queja_with(back))
    assert text(result.steps[2].problem).startswith("el reloj no puede volver atrás")
    (slow,) = scenario_runs.run_scenarios(queja_with(SCENARIO), budget_s=0)
    assert not slow.passed
    assert text(slow.steps[1].problem).startswith("Se acabó el tiempo de las pruebas")


def test_format_problems_name_the_file_and_the_field() -> None:
    """Schema problems in Spanish, each with its file and field path."""
    broken = {
        "name": "",
        "start": "ayer",
        "intake": {"data": {}},
        "steps": [
            {"task": "clasificar_caso", "advance": {"days": 1}},
            {"role": "enlace"},
            {"advance": {"days": -1}},
        ],
        "expect": {"colour": "azul"},
    }
    with pytest.raises(BundleInvalid) as caught:
        parse_bundle(queja_with(broken))
    found = {(p.file, p.element, text(p.message)) for p in caught.value.problems}
    assert found == {
        ("tests/01.json", "name", "No puede estar vacío."),
        (
            "tests/01.json",
            "start",
            "Escriba una fecha como 2026-10-30 o una fecha y hora como "
            "2026-10-30T19:00.",
        ),
        (
            "tests/01.json",
            "steps[1]",
            "Un paso no puede tener «task» y «advance» a la vez.",
        ),
        (
            "tests/01.json",
            "steps[2]",
            "Cada paso necesita «task», «advance» o «expect».",
        ),
        (
            "tests/01.json",
            "steps[2]",
            "«role», «entity» y «answers» solo van en un paso con «task».",
        ),
        ("tests/01.json", "steps[3].advance.days", "Debe estar entre 0 y 1000."),
        ("tests/01.json", "expect", "«colour» no es un campo de este lugar."),
    }


def test_unknown_tasks_elements_and_dates_are_refused() -> None:
    """References are checked against the diagram; dates must exist."""
    wrong = copy.deepcopy(SCENARIO)
    wrong["steps"][0]["task"] = "clasificar"
    wrong["expect"]["path"] = ["inicio", "fin_inventado"]
    bad_date = copy.deepcopy(SCENARIO)
    bad_date["start"] = "2026-02-30T10:00"
    not_json = "{ no es json"
    files = queja_with(wrong, bad_date)
    files["tests/03.json"] = not_json
    with pytest.raises(BundleInvalid) as caught:
        parse_bundle(files)
    found = {(p.file, p.element, text(p.message)) for p in caught.value.problems}
    assert (
        "tests/01.json",
        "steps[1]",
        "La tarea «clasificar» no es una tarea de usuario del diagrama.",
    ) in found
    assert (
        "tests/01.json",
        "expect.path",
        "«fin_inventado» no es un elemento del diagrama.",
    ) in found
    assert (
        "tests/02.json",
        "start",
        "La fecha «2026-02-30T10:00» no existe.",
    ) in found
    assert any(f == "tests/03.json" and "no es JSON" in t for f, _, t in found)


def test_a_failing_scenario_refuses_the_deploy(platform: Platform) -> None:
    """Nothing deployed, the refusal audited, the step named."""
    wrong = copy.deepcopy(SCENARIO)
    wrong["expect"]["pending"] = ["encuesta"]
    with pytest.raises(BundleInvalid) as caught:
        versions.deploy(platform, versions.SYSTEM, queja_with(wrong), "nota")
    (problem,) = caught.value.problems
    assert problem.file == "tests/01.json"
    assert text(problem.message).startswith(
        "Escenario «Clasificada y acusada», resultado final: se esperaba pending"
    )
    with platform.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessVersion)) == 0
        (refused,) = s.scalars(select(AuditLog)).all()
    assert refused.action == "deploy_refused" and refused.detail is not None
    assert refused.detail["problems"] == [
        {"file": "tests/01.json", "element": None, "severity": "error"}
    ]


def test_a_passing_bundle_deploys_with_its_scenarios(platform: Platform) -> None:
    """The scenario files are stored with the version, like its forms."""
    files = queja_with(SCENARIO)
    deployed = versions.deploy(platform, versions.SYSTEM, files, "con pruebas")
    with platform.db.read() as s:
        row = s.get(ProcessVersion, deployed.version.id)
        assert row is not None
        assert json.loads(row.files["tests/01.json"]) == SCENARIO
    # Nothing of the sandbox leaked into the platform.
    with platform.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessVersion)) == 1


def test_check_bundle_runs_the_scenarios() -> None:
    """What ``flask validate`` calls refuses a failing scenario."""
    wrong = copy.deepcopy(SCENARIO)
    wrong["steps"][2]["role"] = "supervisor_311"
    with pytest.raises(BundleInvalid) as caught:
        versions.check_bundle(queja_with(wrong))
    (problem,) = caught.value.problems
    assert "la tarea es del rol «enlace», no de «supervisor_311»" in text(
        problem.message
    )
    assert versions.check_bundle(queja_with(SCENARIO))[0] == "queja"


def test_a_zip_keeps_its_tests_folder() -> None:
    """``tests/`` survives the flattening of folders; other folders do not."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("queja/formularios/registro.json", "{}")
        zf.writestr("queja/tests/uno.json", "{}")
        zf.writestr("tests/dos.json", "{}")
    assert set(read_zip(buf.getvalue(), "q.zip")) == {
        "registro.json",
        "tests/uno.json",
        "tests/dos.json",
    }
