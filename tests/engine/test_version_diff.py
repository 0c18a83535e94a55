"""The designer's comparison of two versions: diagram elements, form fields
and decision-table rules that differ (engine.bundles.version_diff and the
service engine.services.comparison)."""

from __future__ import annotations

import json

import pytest

from engine.bundles.version_diff import diagram_diff, form_diff, table_diff
from engine.domain.errors import NotAllowed, NotFound
from engine.services import comparison, design, versions
from tests.conftest import ROOT, without_scenarios
from tests.engine.test_scenarios import who

QUEJA_BPMN = (ROOT / "bpmn" / "queja" / "queja.bpmn").read_text()
ROUTING = (ROOT / "bpmn" / "shared" / "enrutamiento.dmn").read_text()
INTAKE = json.loads((ROOT / "forms" / "queja" / "registro.json").read_text())


def changed_bpmn() -> str:
    """queja with one task renamed, one property changed and the flow into
    the acknowledgement removed."""
    text = QUEJA_BPMN.replace(
        'name="Clasificar la queja"', 'name="Clasificar y asignar la queja"'
    ).replace('value="Recibida"', 'value="Recibida por el 311"', 1)
    assert text != QUEJA_BPMN
    return text


def test_identical_diagrams_have_no_difference():
    """The same XML compares equal, whitespace and comments aside."""
    assert diagram_diff(QUEJA_BPMN, QUEJA_BPMN).unchanged
    spaced = QUEJA_BPMN.replace("<bpmn:userTask ", "<!-- x -->\n  <bpmn:userTask ")
    assert diagram_diff(QUEJA_BPMN, spaced).unchanged


def test_a_renamed_task_and_a_changed_property_are_changes_of_their_part():
    """Each kept element names what changed on it: the name, the
    properties."""
    found = diagram_diff(QUEJA_BPMN, changed_bpmn())
    assert not found.added and not found.removed
    by_id = {c.id: c for c in found.changed}
    assert by_id["clasificar_caso"].parts == ["nombre"]
    assert by_id["clasificar_caso"].name == "Clasificar y asignar la queja"
    assert by_id["clasificar_caso"].kind == "userTask"
    assert by_id["inicio"].parts == ["propiedades"]
    assert set(by_id) == {"clasificar_caso", "inicio"}


def test_added_and_removed_elements_are_listed_with_their_kind():
    """A new task and its flow appear as added; the other side sees them as
    removed; the task the flow leaves changes its connections."""
    extra = QUEJA_BPMN.replace(
        '<bpmn:userTask id="acusar_recibo"',
        '<bpmn:manualTask id="llamar_al_ciudadano" name="Llamar al ciudadano" />\n'
        '    <bpmn:sequenceFlow id="flujo_llamada" sourceRef="llamar_al_ciudadano"'
        ' targetRef="acusar_recibo" />\n'
        '    <bpmn:userTask id="acusar_recibo"',
        1,
    )
    forward = diagram_diff(QUEJA_BPMN, extra)
    assert {(c.id, c.kind) for c in forward.added} == {
        ("llamar_al_ciudadano", "manualTask"),
        ("flujo_llamada", "sequenceFlow"),
    }
    back = diagram_diff(extra, QUEJA_BPMN)
    assert {c.id for c in back.removed} == {"llamar_al_ciudadano", "flujo_llamada"}
    assert not back.added


def test_a_new_diagram_is_all_added():
    """Against nothing, every model element is new (and the drawing's
    shapes are not elements)."""
    found = diagram_diff(None, QUEJA_BPMN)
    ids = {c.id for c in found.added}
    assert {"inicio", "clasificar_caso", "acusar_recibo"} <= ids
    assert not any(i.endswith("_di") for i in ids)


def test_form_fields_are_compared_one_by_one():
    """Added, removed and changed fields (which settings), the form's own
    title, and whole forms added or removed."""
    changed = json.loads(json.dumps(INTAKE))
    changed["title"] = "Nueva queja"
    changed["properties"]["barrio"] = {"type": "string", "title": "Barrio"}
    changed["properties"]["asunto"]["title"] = "Asunto de la queja"
    changed["required"] = [k for k in changed["required"] if k != "asunto"]
    removed = next(k for k in INTAKE["properties"] if k not in ("asunto", "barrio"))
    del changed["properties"][removed]
    old = {"registro.json": json.dumps(INTAKE), "viejo.json": "{}"}
    new = {"registro.json": json.dumps(changed), "nuevo.json": "{}"}
    found = {(c.form, c.key, c.status): c.keys for c in form_diff(old, new)}
    assert found[("registro.json", "", "changed")] == ["title"]
    assert ("registro.json", "barrio", "added") in found
    assert ("registro.json", removed, "removed") in found
    assert found[("registro.json", "asunto", "changed")] == ["required", "title"]
    assert ("nuevo.json", "", "added") in found
    assert ("viejo.json", "", "removed") in found
    assert form_diff(old, old) == []


def test_decision_rules_are_compared_with_their_cells():
    """A rule sending salud to another entity is changed, with both cells;
    a rule taken out is removed."""
    rerouted = ROUTING.replace('"MINSA"', '"CSS"', 1)
    found = table_diff({"enrutamiento.dmn": ROUTING}, {"enrutamiento.dmn": rerouted})
    assert len(found) == 1
    (rule,) = found
    assert (rule.rule, rule.status) == ("regla_salud", "changed")
    assert rule.before == ['"salud"', '"MINSA"']
    assert rule.after == ['"salud"', '"CSS"']
    assert rule.description.startswith("Salud")
    start = ROUTING.index('<rule id="regla_vias">')
    end = ROUTING.index("</rule>", start) + len("</rule>")
    fewer = ROUTING[:start] + ROUTING[end:]
    (gone,) = table_diff({"e.dmn": ROUTING}, {"e.dmn": fewer})
    assert (gone.rule, gone.status, gone.after) == ("regla_vias", "removed", [])


def test_the_service_compares_two_deployed_versions(seeded):
    """Version 2 of queja with a renamed task, a new form field and a
    rerouted category: the comparison finds each; only designers see it;
    an unknown version is NotFound."""
    designer = who(seeded, "disenador")
    _, files = design.version_files(seeded, designer, "queja")
    name = next(n for n in files if n.endswith(".bpmn"))
    form = json.loads(files["registro.json"])
    form["properties"]["barrio"] = {"type": "string", "title": "Barrio"}
    new_files = without_scenarios(
        {
            **files,
            name: changed_bpmn(),
            "registro.json": json.dumps(form, ensure_ascii=False),
            "enrutamiento.dmn": files["enrutamiento.dmn"].replace(
                '"MINSA"', '"MOP"', 1
            ),
            # The English texts follow the renamed status (not compared).
            "messages.en.json": files["messages.en.json"].replace(
                '"Recibida"', '"Recibida por el 311"'
            ),
        }
    )  # the seed scenarios expect the old status and routing
    versions.deploy(seeded, designer, new_files, "v2")
    found = comparison.compare_versions(seeded, designer, "queja", 1, 2)
    assert (found.old.version, found.new.version) == (1, 2)
    assert found.old_diagram == found.new_diagram == name
    assert {c.id for c in found.diagram.changed} == {"clasificar_caso", "inicio"}
    assert [(f.form, f.key, f.status) for f in found.forms] == [
        ("registro.json", "barrio", "added")
    ]
    assert [(r.rule, r.status) for r in found.tables] == [("regla_salud", "changed")]
    assert not found.unchanged
    assert comparison.compare_versions(seeded, designer, "queja", 2, 2).unchanged
    with pytest.raises(NotAllowed):
        comparison.compare_versions(seeded, who(seeded, "agente"), "queja", 1, 2)
    with pytest.raises(NotFound):
        comparison.compare_versions(seeded, designer, "queja", 1, 9)
