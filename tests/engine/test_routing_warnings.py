"""The categories entities answer feed the routing choices: a deploy warns
where the routing table sends a category to an entity that cannot take it,
and the pickers that send a case to an entity offer its category's first."""

from __future__ import annotations

from sqlalchemy import select

from engine import services
from engine.bundles import routing
from engine.services import categories, design, entities
from engine.store.accounts import AuditLog
from tests.engine.test_design import queja_files, who

TABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d"
             namespace="https://311.gob.pa/dmn">
  <decision id="enrutamiento" name="Enrutamiento">
    <decisionTable id="t" hitPolicy="FIRST">
      <input id="i0"><inputExpression id="e0" typeRef="string"><text>canal</text>
      </inputExpression></input>
      <input id="i1"><inputExpression id="e1" typeRef="string"><text>categoria</text>
      </inputExpression></input>
      <output id="o" name="entidad_sugerida" typeRef="string" />
      <rule id="r1"><inputEntry id="a1"><text>-</text></inputEntry>
        <inputEntry id="b1"><text>"agua", "alcantarillado"</text></inputEntry>
        <outputEntry id="c1"><text>"IDAAN"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="a2"><text>-</text></inputEntry>
        <inputEntry id="b2"><text>not("agua")</text></inputEntry>
        <outputEntry id="c2"><text>"MOP"</text></outputEntry></rule>
      <rule id="r3"><inputEntry id="a3"><text>-</text></inputEntry>
        <inputEntry id="b3"><text>-</text></inputEntry>
        <outputEntry id="c3"><text>""</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="otra"><decisionTable id="t2">
    <input id="x"><inputExpression id="y"><text>categoria</text>
    </inputExpression></input>
    <output id="z" name="w" />
    <rule id="q"><inputEntry id="q1"><text>"salud"</text></inputEntry>
      <outputEntry id="q2"><text>"NADIE"</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>
"""


def test_the_routing_rules_are_read_as_literals_only() -> None:
    """A list of literals is read, whichever column holds the category; an
    expression, the catch-all and other decisions are left out."""
    rules = routing.routing_rules({"t.dmn": TABLE, "x.bpmn": "<no/>", "y.dmn": "<"})
    assert rules == [
        routing.RoutingRule("t.dmn", "r1", ("agua", "alcantarillado"), "IDAAN")
    ]


def test_a_deploy_warns_about_routes_to_entities_that_cannot_take_them(
    seeded,
) -> None:
    """Unknown, inactive, and not answering the category (when the entity
    lists categories) each warn, naming the rule; an entity with no list,
    or listing the category, does not; the deploy goes on."""
    admin = who(seeded, "admin")
    for code, keys in (("MOP", ["vias"]), ("MINSA", ["hospitales", "vacunas"])):
        name = entities.get_entity(seeded, admin, code).name
        entities.edit_entity(seeded, admin, code, {"name": name, "categories": keys})
    entities.set_entity_active(seeded, admin, "ATTT", False)
    files = queja_files()
    (table,) = [n for n in files if n.endswith("enrutamiento.dmn")]
    files[table] = files[table].replace('"MUPA"', '"ALCALDIA"')

    done = design.deploy(seeded, who(seeded, "disenador"), files, "Rutas")
    found = {
        w.element: w.message.text % w.message.params
        for w in done.warnings
        if w.file == table
    }
    assert set(found) == {"regla_salud", "regla_transito", "regla_municipal"}
    assert found["regla_salud"] == (
        "La tabla de enrutamiento envía «salud» a MINSA, que no atiende esa"
        " categoría (atiende: hospitales, vacunas)."
    )
    assert "ATTT, que está inactiva" in found["regla_transito"]
    assert "ALCALDIA, que no existe" in found["regla_municipal"]
    assert all(w.severity == "warning" for w in done.warnings)
    assert done.version.version == 2
    # The audit record counts them with the bundle's own warnings.
    with seeded.db.read() as s:
        record = s.scalars(
            select(AuditLog.detail)
            .where(AuditLog.action == "deploy")
            .order_by(AuditLog.id.desc())
        ).first()
    assert record["routing_warnings"] == 3
    assert record["warnings"] == len(done.warnings) >= 3


def test_pickers_sending_a_case_offer_its_categorys_entities_first(seeded) -> None:
    """The agent classifying a «vias» case and transferring it: MUPA and MOP
    (answering «vias») first, by acronym, then every other active entity."""
    admin = who(seeded, "admin")
    for code, keys in (("MUPA", ["vias", "basura"]), ("MOP", ["vias"])):
        name = entities.get_entity(seeded, admin, code).name
        entities.edit_entity(seeded, admin, code, {"name": name, "categories": keys})
    intake = {
        "categoria": "vias",
        "asunto": "Hueco en la vía",
        "descripcion": "Hay un hueco enorme frente a la escuela desde hace un mes.",
    }
    number = services.open_case(seeded, "queja", intake).number
    agent = who(seeded, "agente")
    (task,) = [t for t in services.list_tasks(seeded, agent) if t.case_number == number]
    offered = [
        code
        for code, _ in services.get_task(seeded, agent, task.id).form.options["entidad"]
    ]
    assert offered[:2] == ["MOP", "MUPA"]
    assert offered[2:] == sorted(offered[2:]) and "AAUD" in offered
    assert categories.category_entities(seeded, "vias") == {"vias": ["MOP", "MUPA"]}
