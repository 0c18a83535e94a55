"""Change summaries between versions, and moving running cases across them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine.bundles import changes, registry
from engine.bundles.registry import ParsedVersion
from engine.workflow import migration, runtime

ROOT = Path(__file__).resolve().parent.parent.parent
ALUMBRADO = ROOT / "tests" / "fixtures" / "bundles" / "alumbrado"
NS = {"bpmn": registry.BPMN_NS, "spiffworkflow": registry.SPIFF_NS}
INTAKE = {"direccion": "Calle 50 y Vía Brasil", "descripcion": "Apagada."}


def alumbrado_files() -> dict[str, str]:
    """The street-light bundle (version 1)."""
    return registry.read_bundle_dir(ALUMBRADO)


def queja_files() -> dict[str, str]:
    """The queja seed bundle."""
    return registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"]


def parse(files: dict[str, str]) -> ParsedVersion:
    """Parse a bundle that must be valid."""
    return registry.parse_bundle(files)


def edit(files: dict[str, str], name: str, change: Any) -> dict[str, str]:
    """A copy of ``files`` with the XML of ``name`` changed by ``change(root)``."""
    root = etree.fromstring(files[name].encode())
    change(root)
    copy = dict(files)
    copy[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
    return copy


def drop(root: Any, *ids: str) -> None:
    """Remove elements (and their lane refs and diagram shapes) by id."""
    for element_id in ids:
        for node in root.xpath(
            f"//*[@id='{element_id}'] | //bpmn:flowNodeRef[text()='{element_id}']"
            f" | //*[@bpmnElement='{element_id}']",
            namespaces=NS,
        ):
            node.getparent().remove(node)


def reroute(root: Any, flow: str, target: str) -> None:
    """Point a sequence flow at another element, fixing its incoming refs."""
    node = root.xpath(f"//bpmn:sequenceFlow[@id='{flow}']", namespaces=NS)[0]
    old = node.get("targetRef")
    node.set("targetRef", target)
    for ref in root.xpath(
        f"//*[@id='{old}']/bpmn:incoming[text()='{flow}']", namespaces=NS
    ):
        ref.getparent().remove(ref)
    target_node = root.xpath(f"//*[@id='{target}']", namespaces=NS)[0]
    incoming = etree.SubElement(target_node, f"{{{registry.BPMN_NS}}}incoming")
    incoming.text = flow
    outgoing = target_node.find(f"{{{registry.BPMN_NS}}}outgoing")
    if outgoing is not None:
        outgoing.addprevious(incoming)


def without_verification(files: dict[str, str]) -> dict[str, str]:
    """Version 2: the agent no longer verifies; intake goes to the gateway."""

    def change(root: Any) -> None:
        drop(root, "verificar_reporte", "flujo_verificar_decision")
        reroute(root, "flujo_inicio_verificar", "decision_verificacion")

    return edit(files, "alumbrado.bpmn", change)


def with_confirmation(files: dict[str, str]) -> dict[str, str]:
    """Version 2: the agent confirms a repair with the citizen before closing."""

    def change(root: Any) -> None:
        bpmn = f"{{{registry.BPMN_NS}}}"
        spiff = f"{{{registry.SPIFF_NS}}}"
        process = root.find(f"{bpmn}process")
        task = etree.SubElement(
            process, f"{bpmn}userTask", id="confirmar", name="Confirmar la reparación"
        )
        ext = etree.SubElement(task, f"{bpmn}extensionElements")
        props = etree.SubElement(ext, f"{spiff}properties")
        etree.SubElement(
            props,
            f"{spiff}property",
            name="formJsonSchemaFilename",
            value="verificacion.json",
        )
        etree.SubElement(task, f"{bpmn}outgoing").text = "flujo_confirmar_fin"
        etree.SubElement(
            process,
            f"{bpmn}sequenceFlow",
            id="flujo_confirmar_fin",
            sourceRef="confirmar",
            targetRef="fin_reparado",
        )
        end = root.xpath("//*[@id='fin_reparado']", namespaces=NS)[0]
        etree.SubElement(end, f"{bpmn}incoming").text = "flujo_confirmar_fin"
        reroute(root, "flujo_reparado", "confirmar")
        lane = root.xpath("//bpmn:lane[@name='agente_311']", namespaces=NS)[0]
        etree.SubElement(lane, f"{bpmn}flowNodeRef").text = "confirmar"

    return edit(files, "alumbrado.bpmn", change)


def renamed(files: dict[str, str]) -> dict[str, str]:
    """Version 2: only the label of the verification task changes."""
    copy = dict(files)
    copy["alumbrado.bpmn"] = files["alumbrado.bpmn"].replace(
        'name="Verificar el reporte y asignar la entidad"', 'name="Revisar el reporte"'
    )
    return copy


def complete_ready(version: ParsedVersion, workflow: Any, data: dict[str, Any]) -> str:
    """Complete the only ready human task; return its BPMN id."""
    (ready,) = runtime.snapshot(version, workflow).ready
    task = runtime.find_ready_task(workflow, ready.id)
    runtime.complete(workflow, task, data)
    return ready.bpmn_id


def state_at_verification(version: ParsedVersion) -> str:
    """A new case, waiting at the agent's verification."""
    return runtime.dump_state(runtime.start(version, INTAKE))


def state_at_repair(version: ParsedVersion) -> str:
    """A case the agent assigned, waiting at the enlace's repair report."""
    workflow = runtime.start(version, INTAKE)
    complete_ready(version, workflow, {"decision": "asignar", "entidad": "MUPA"})
    return runtime.dump_state(workflow)


# --- Summaries ------------------------------------------------------------


def test_summary_of_a_first_version():
    """Without a previous version everything is new."""
    new = parse(alumbrado_files())
    summary = changes.summarize(None, new)
    assert summary["first"] is True
    assert {t["id"] for t in summary["tasks"]["added"]} == set(new.tasks)
    assert summary["lanes"]["added"] == ["agente_311", "enlace"]
    assert summary["forms"]["added"] == [
        "registro.json",
        "reparacion.json",
        "verificacion.json",
    ]
    assert changes.describe(summary)[0].text == "Primera versión."


def test_summary_of_identical_versions():
    """The same bundle twice: nothing changed."""
    version = parse(alumbrado_files())
    summary = changes.summarize(version, version)
    assert summary["unchanged"] is True
    assert "Sin cambios" in changes.describe(summary)[0].text


def test_summary_lists_what_changed():
    """Renames, removals, additions, lanes, forms and tables are all listed."""
    old = parse(queja_files())
    files = queja_files()
    files["queja.bpmn"] = files["queja.bpmn"].replace(
        'name="Clasificar la queja"', 'name="Revisar y clasificar"'
    )
    acuse = json.loads(files["acuse.json"])
    acuse["title"] = "Confirmar la recepción"
    files["acuse.json"] = json.dumps(acuse)
    files["encuesta.json"] = json.dumps(json.loads(files["encuesta.json"]))  # same
    files["nuevo.json"] = '{"type": "object", "properties": {}}'
    files["enrutamiento.dmn"] = files["enrutamiento.dmn"].replace('"MINSA"', '"CSS"')
    files["plazos.dmn"] = files["plazos.dmn"].replace("\n", "\n  ")  # whitespace only
    new = parse(files)
    summary = changes.summarize(old, new)
    assert summary["tasks"]["renamed"] == [
        {
            "id": "clasificar_caso",
            "old": "Clasificar la queja",
            "new": "Revisar y clasificar",
        }
    ]
    assert summary["tasks"]["added"] == summary["tasks"]["removed"] == []
    assert summary["forms"] == {
        "added": ["nuevo.json"],
        "removed": [],
        "changed": ["acuse.json"],
    }
    assert summary["dmn"] == {
        "added": [],
        "removed": [],
        "changed": ["enrutamiento.dmn"],
    }
    lines = [m.text % m.params for m in changes.describe(summary)]
    assert "«Clasificar la queja» ahora se llama «Revisar y clasificar» " in lines[0]
    assert "Cambió la tabla de decisión enrutamiento.dmn." in lines


def test_summary_of_removed_and_added_elements():
    """Elements and lanes that come and go are listed by id with their names."""
    old = parse(alumbrado_files())
    new = parse(without_verification(alumbrado_files()))
    summary = changes.summarize(old, new)
    assert summary["tasks"]["removed"] == [
        {"id": "verificar_reporte", "name": "Verificar el reporte y asignar la entidad"}
    ]
    assert summary["forms"]["changed"] == []
    added = changes.summarize(old, parse(with_confirmation(alumbrado_files())))
    assert added["tasks"]["added"] == [
        {"id": "confirmar", "name": "Confirmar la reparación"}
    ]
    assert added["bpmn"]["changed"] == ["alumbrado.bpmn"]


def test_summary_of_a_lane_change():
    """Moving a task to another lane shows as a changed element and lanes."""
    old = parse(alumbrado_files())
    files = alumbrado_files()
    files["alumbrado.bpmn"] = files["alumbrado.bpmn"].replace(
        'name="agente_311"', 'name="supervisor_311"'
    )
    summary = changes.summarize(old, parse(files))
    assert summary["lanes"] == {"added": ["supervisor_311"], "removed": ["agente_311"]}
    changed = {t["id"]: t["fields"] for t in summary["tasks"]["changed"]}
    assert changed["verificar_reporte"] == ["lane"]
    lines = [m.text % m.params for m in changes.describe(summary)]
    assert any("carril" in line for line in lines)


# --- Migration ------------------------------------------------------------


def test_label_change_migrates_and_finishes_on_the_new_version():
    """A renamed label: the waiting case moves and runs to the end on v2."""
    v1 = parse(alumbrado_files())
    v2 = parse(renamed(alumbrado_files()))
    state = state_at_verification(v1)
    assert migration.can_migrate(v1, v2, state, runtime.FORMAT_VERSION) == (True, [])
    before = runtime.load_state(v1, state, runtime.FORMAT_VERSION)
    (waiting,) = runtime.snapshot(v1, before).ready
    moved = migration.migrate(v1, v2, state, runtime.FORMAT_VERSION)
    workflow = runtime.load_state(v2, moved, runtime.FORMAT_VERSION)
    assert workflow.spec is v2.spec
    (ready,) = runtime.snapshot(v2, workflow).ready
    assert ready.id == waiting.id  # the human task keeps its id
    assert ready.data["direccion"] == INTAKE["direccion"]
    task = runtime.find_ready_task(workflow, ready.id)
    assert task is not None
    assert task.task_spec.bpmn_name == "Revisar el reporte"
    complete_ready(v2, workflow, {"decision": "asignar", "entidad": "MUPA"})
    complete_ready(v2, workflow, {"resultado": "reparado", "detalle": "Bombillo."})
    snap = runtime.snapshot(v2, workflow)
    assert snap.completed and snap.end_event == "fin_reparado"


def test_queja_label_change_migrates():
    """The brief's example on the seed: rename the task the case is at."""
    v1 = parse(queja_files())
    files = queja_files()
    files["queja.bpmn"] = files["queja.bpmn"].replace(
        'name="Clasificar la queja"', 'name="Revisar y clasificar"'
    )
    v2 = parse(files)
    intake = {"categoria": "salud", "asunto": "Sin citas", "descripcion": "No hay."}
    state = runtime.dump_state(runtime.start(v1, intake))
    assert migration.can_migrate(v1, v2, state, runtime.FORMAT_VERSION) == (True, [])
    workflow = runtime.load_state(
        v2, migration.migrate(v1, v2, state, runtime.FORMAT_VERSION), 1
    )
    complete_ready(
        v2,
        workflow,
        {"decision": "rechazar", "motivo_rechazo": "No corresponde al 311."},
    )
    snap = runtime.snapshot(v2, workflow)
    assert snap.completed and snap.end_event == "fin_rechazada"


def test_removing_the_task_the_case_waits_at_is_refused():
    """The case waits at the verification; v2 removes it: refused, with why."""
    v1 = parse(alumbrado_files())
    v2 = parse(without_verification(alumbrado_files()))
    state = state_at_verification(v1)
    ok, reasons = migration.can_migrate(v1, v2, state, runtime.FORMAT_VERSION)
    assert not ok
    assert reasons == [
        "El caso está en «Verificar el reporte y asignar la entidad», que la "
        "nueva versión elimina."
    ]
    with pytest.raises(migration.MigrationRefused) as err:
        migration.migrate(v1, v2, state, runtime.FORMAT_VERSION)
    assert err.value.reasons == reasons
    assert [m.text % m.params for m in err.value.messages] == reasons


def test_removing_a_task_the_case_went_through_is_refused():
    """History that passes through a removed task does not fit the new version."""
    v1 = parse(alumbrado_files())
    v2 = parse(without_verification(alumbrado_files()))
    ok, reasons = migration.can_migrate(
        v1, v2, state_at_repair(v1), runtime.FORMAT_VERSION
    )
    assert not ok
    assert "ya pasó por «Verificar el reporte y asignar la entidad»" in reasons[0]


def test_a_step_added_ahead_of_the_case_is_taken():
    """v2 adds a confirmation after the repair: the moved case goes through it."""
    v1 = parse(alumbrado_files())
    v2 = parse(with_confirmation(alumbrado_files()))
    state = state_at_repair(v1)
    assert migration.can_migrate(v1, v2, state, runtime.FORMAT_VERSION) == (True, [])
    workflow = runtime.load_state(
        v2, migration.migrate(v1, v2, state, runtime.FORMAT_VERSION), 1
    )
    done = complete_ready(v2, workflow, {"resultado": "reparado", "detalle": "Listo."})
    assert done == "reportar_reparacion"
    done = complete_ready(v2, workflow, {"decision": "asignar", "entidad": "MUPA"})
    assert done == "confirmar"
    snap = runtime.snapshot(v2, workflow)
    assert snap.completed and snap.end_event == "fin_reparado"


def test_a_lane_change_at_the_current_task_is_refused():
    """The task the case is at moves to another role: refused, naming the lane."""
    v1 = parse(alumbrado_files())
    files = alumbrado_files()
    files["alumbrado.bpmn"] = files["alumbrado.bpmn"].replace(
        'name="agente_311"', 'name="supervisor_311"'
    )
    v2 = parse(files)
    ok, reasons = migration.can_migrate(
        v1, v2, state_at_verification(v1), runtime.FORMAT_VERSION
    )
    assert not ok
    assert "cambió en la nueva versión (el carril)" in reasons[0]
    # A case already past that lane is not affected by the change.
    assert migration.can_migrate(
        v1, v2, state_at_repair(v1), runtime.FORMAT_VERSION
    ) == (True, [])


def test_a_finished_case_is_not_migrated():
    """Nothing to move once the case has ended."""
    v1 = parse(alumbrado_files())
    workflow = runtime.start(v1, INTAKE)
    complete_ready(
        v1, workflow, {"decision": "rechazar", "motivo_rechazo": "Repetido."}
    )
    ok, reasons = migration.can_migrate(
        v1, parse(renamed(alumbrado_files())), runtime.dump_state(workflow), 1
    )
    assert not ok and "ya terminó" in reasons[0]


def test_another_case_type_is_refused():
    """A case never moves to another case type's version."""
    v1 = parse(alumbrado_files())
    ok, reasons = migration.can_migrate(
        v1, parse(queja_files()), state_at_verification(v1), 1
    )
    assert not ok and "otro tipo de caso" in reasons[0]


def test_waiting_timers_survive_migration():
    """A queja waiting for the enlace (two boundary timers) moves with them."""
    v1 = parse(queja_files())
    files = queja_files()
    files["queja.bpmn"] = files["queja.bpmn"].replace(
        'name="Acusar recibo"', 'name="Confirmar la recepción"'
    )
    v2 = parse(files)
    intake = {"categoria": "salud", "asunto": "Sin citas", "descripcion": "No hay."}
    workflow = runtime.start(v1, intake)
    complete_ready(v1, workflow, {"decision": "aceptar", "entidad": "MINSA"})
    before = runtime.snapshot(v1, workflow).next_timer_at
    state = runtime.dump_state(workflow)
    moved = runtime.load_state(
        v2, migration.migrate(v1, v2, state, runtime.FORMAT_VERSION), 1
    )
    runtime.advance(moved)
    snap = runtime.snapshot(v2, moved)
    assert [r.bpmn_id for r in snap.ready] == ["acusar_recibo"]
    assert snap.next_timer_at == before
