"""Stored workflow state: round trips, no spec inside, golden fixture."""

from __future__ import annotations

import json
from pathlib import Path

from engine.bundles import registry
from engine.workflow import runtime

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden"


def _queja() -> registry.ParsedVersion:
    """The queja bundle as checked in with the golden state."""
    return registry.parse_bundle(registry.read_bundle_dir(GOLDEN / "queja_v1"))


def test_save_load_gives_the_same_state():
    """dump → load → dump is the identity, at every step of a run."""
    version = _queja()
    workflow = runtime.start(version, {"asunto": "A", "descripcion": "B" * 12})
    first = runtime.dump_state(workflow)
    again = runtime.load_state(version, first, runtime.FORMAT_VERSION)
    assert runtime.dump_state(again) == first
    task = runtime.snapshot(version, again).ready[0]
    runtime.complete(
        again,
        runtime.find_ready_task(again, task.id),
        {"decision": "aceptar", "entidad": "MIVIOT"},
    )
    second = runtime.dump_state(again)
    restored = runtime.load_state(version, second, runtime.FORMAT_VERSION)
    assert runtime.dump_state(restored) == second
    snap = runtime.snapshot(version, restored)
    assert [t.bpmn_id for t in snap.ready] == ["responder_ciudadano"]
    assert snap.data["entidad"] == "MIVIOT"


def test_state_leaves_the_spec_out():
    """The stored state holds no spec; SpiffWorkflow's own holds it all."""
    version = _queja()
    workflow = runtime.start(version, {"asunto": "A", "descripcion": "B" * 12})
    ours = json.loads(runtime.dump_state(workflow))
    theirs = json.loads(runtime.raw_serializer().serialize_json(workflow))
    assert "spec" not in ours and "subprocess_specs" not in ours
    assert "spec" in theirs
    assert len(runtime.dump_state(workflow)) < 0.5 * len(json.dumps(theirs))


def test_golden_state_still_loads_and_finishes():
    """A state stored by format 1 loads, re-serializes identically and runs on."""
    golden = json.loads((GOLDEN / "queja_v1_clasificar.json").read_text())
    assert golden["format_version"] == 1
    stored = json.dumps(golden["state"])
    version = _queja()
    workflow = runtime.load_state(version, stored, golden["format_version"])
    assert json.loads(runtime.dump_state(workflow)) == golden["state"]
    snap = runtime.snapshot(version, workflow)
    assert [t.bpmn_id for t in snap.ready] == ["clasificar_caso"]
    assert snap.data["asunto"] == "Golden"
    runtime.complete(
        workflow,
        runtime.find_ready_task(workflow, snap.ready[0].id),
        {"decision": "rechazar", "motivo_rechazo": "Fuera de competencia."},
    )
    final = runtime.snapshot(version, workflow)
    assert final.completed and final.end_event == "fin_rechazada"
    assert final.estado == "Rechazada"
