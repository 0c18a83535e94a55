"""A practice case recorded as a process test: the designer names it, and a
new draft carries it as ``tests/<name>.json``, which every deploy plays."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine import services
from engine.bundles.scenario_files import read_scenarios
from engine.domain.errors import BundleInvalid, InvalidData, NotAllowed, NotFound
from engine.services import design, practice, scenario_recording, scenario_runs
from tests.engine.test_practice import INTAKE, center, classify, ready, who

__all__ = ["center"]  # the fixture, used by name


def answered_practice_case(p) -> str:
    """A practice case on the draft v2: classified, acknowledged an hour
    later, answered; the citizen's rating pending."""
    designer = who(p, "disenador")
    number = practice.open_practice_case(p, designer, "queja", 2, INTAKE).number
    classify(p, designer, number)
    p.clock.at += timedelta(hours=1)
    (ack,) = ready(p, number)
    services.complete_task(p, designer, ack.id, {})
    (answer,) = ready(p, number)
    services.complete_task(
        p,
        designer,
        answer.id,
        {"accion": "responder", "respuesta": "Se abrió la agenda de citas."},
    )
    return number


def test_a_practice_case_becomes_a_passing_scenario_of_a_new_draft(center):
    """Intake, each task with its lane and answers, the clock moved when
    time passed, and the end (closed, status, milestone, entity, the
    rating pending): written to a new draft, whose deploy played it."""
    number = answered_practice_case(center)
    designer = who(center, "disenador")
    done = scenario_recording.record_scenario(
        center, designer, number, "  Respondida   en práctica "
    )
    assert done.version.version == 3 and done.version.is_draft
    _, files = design.version_files(center, designer, "queja", 3)
    recorded = json.loads(files["tests/respondida-en-practica.json"])
    assert recorded["name"] == "Respondida en práctica"
    assert recorded["intake"]["data"]["categoria"] == "salud"
    steps = recorded["steps"]
    assert [s.get("task") for s in steps] == [
        "clasificar_caso",
        None,  # the hour that passed
        "acusar_recibo",
        "atender_caso",
    ]
    assert steps[0]["role"] == "agente_311" and steps[2]["role"] == "enlace"
    assert steps[3]["answers"]["accion"] == "responder"
    assert recorded["expect"] == {
        "closed": True,
        "public_status": "Respondida",
        "entity": "MINSA",
        "pending": ["encuesta"],
        "milestone": "cerrado",
    }
    assert recorded["entities"] == ["MINSA"]
    # It is a valid scenario of the bundle and it passes when played again.
    scenarios, problems = read_scenarios(files)
    assert problems == []
    results = scenario_runs.run_scenarios(files)
    (mine,) = [r for r in results if r.name == "Respondida en práctica"]
    assert mine.passed


def test_a_recording_with_the_same_name_gets_its_own_file(center):
    """Recording twice under one name keeps both files: each recording
    builds on the newest version (the draft the first one made)."""
    number = answered_practice_case(center)
    designer = who(center, "disenador")
    scenario_recording.record_scenario(center, designer, number, "Uno")
    scenario_recording.record_scenario(center, designer, number, "Uno")
    _, files = design.version_files(center, designer, "queja", 4)
    assert {"tests/uno.json", "tests/uno-2.json"} <= set(files)


def test_only_designers_record_named_practice_cases(center):
    """A real case is not recorded; a name is required; agents are refused."""
    designer = who(center, "disenador")
    real = services.open_case(center, "queja", INTAKE).number
    with pytest.raises(NotFound):
        scenario_recording.record_scenario(center, designer, real, "Real")
    number = answered_practice_case(center)
    with pytest.raises(InvalidData):
        scenario_recording.record_scenario(center, designer, number, "   ")
    with pytest.raises(NotAllowed):
        scenario_recording.record_scenario(center, who(center, "agente"), number, "X")


def test_a_recording_that_cannot_replay_deploys_nothing(center, monkeypatch):
    """If the recorded scenario does not pass (here: its expectation is
    tampered with), the deploy refuses and no version is added."""
    number = answered_practice_case(center)
    real = scenario_recording.scenario_from_case

    def wrong(*args, **kwargs):
        scenario = real(*args, **kwargs)
        scenario["expect"]["public_status"] = "Otra cosa"
        return scenario

    monkeypatch.setattr(scenario_recording, "scenario_from_case", wrong)
    with pytest.raises(BundleInvalid):
        scenario_recording.record_scenario(
            center, who(center, "disenador"), number, "Mal"
        )
    assert [v.version for v in services.list_versions(center, "queja")] == [2, 1]
