"""Decision tables edited by designers: saved as a new version through the
one deploy path, checked, audited; running cases keep their version."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import services
from engine.domain.errors import BundleInvalid, Conflict, NotAllowed, NotFound
from engine.services import decisions
from engine.store.accounts import AuditLog
from engine.store.models import Case, ProcessVersion
from tests.engine.test_design import who

ROUTING = "enrutamiento.dmn"
# «basura»: a category no seed scenario files, so rerouting it keeps the
# bundle's process tests passing (they would refuse a change they check).
INTAKE = {
    "categoria": "basura",
    "asunto": "Basura sin recoger",
    "descripcion": "El camión de la basura no pasa por la calle 50 hace dos semanas.",
}


def suggested_entity(p, number: str) -> str:
    """The entity the agent's classification task comes prefilled with."""
    agent = who(p, "agente")
    (task,) = [t for t in services.list_tasks(p, agent) if t.case_number == number]
    return str(services.get_task(p, agent, task.id).prefill.get("entidad"))


def stored_table(p, version: int) -> str:
    """The routing table as stored with a queja version."""
    return decisions.open_decision_table(
        p, who(p, "disenador"), "queja", version, ROUTING
    ).xml


def test_saving_a_table_deploys_a_new_version_and_new_cases_follow_it(seeded) -> None:
    """«basura» → MUPA: version 2, audited from the web; the case filed
    before still gets AAUD on version 1, a new one gets MUPA on version 2."""
    designer = who(seeded, "disenador")
    before = services.open_case(seeded, "queja", INTAKE).number
    xml = stored_table(seeded, 1).replace('<text>"AAUD"</text>', '<text>"MUPA"</text>')

    done = decisions.save_decision_table(
        seeded, designer, "queja", ROUTING, xml, "Basura al municipio", base_version=1
    )

    assert (done.version.version, done.version.note) == (2, "Basura al municipio")
    assert stored_table(seeded, 2) == xml
    assert '"AAUD"' in stored_table(seeded, 1)
    with seeded.db.read() as s:
        (audit,) = s.scalars(
            select(AuditLog).where(
                AuditLog.action == "deploy", AuditLog.actor == "disenador"
            )
        ).all()
        assert audit.detail["source"] == "web"
        assert (audit.detail["case_type"], audit.detail["version"]) == ("queja", 2)
    after = services.open_case(seeded, "queja", INTAKE).number
    with seeded.db.read() as s:
        versions = dict(
            s.execute(
                select(Case.number, ProcessVersion.version).join(
                    ProcessVersion, ProcessVersion.id == Case.process_version_id
                )
            ).all()
        )
    assert (versions[before], versions[after]) == (1, 2)
    assert suggested_entity(seeded, before) == "AAUD"
    assert suggested_entity(seeded, after) == "MUPA"


def test_an_edited_table_shows_its_warnings_and_what_the_database_offers(
    seeded,
) -> None:
    """A second «basura» row and a route to an unknown entity: warnings on
    the table; active entities, the form's categories and case types offered."""
    designer = who(seeded, "disenador")
    xml = stored_table(seeded, 1).replace(
        '<text>"servicios_publicos"</text>', '<text>"basura"</text>'
    )
    xml = xml.replace('<text>"AAUD"</text>', '<text>"ALCALDIA"</text>')

    table = decisions.open_decision_table(seeded, designer, "queja", 1, ROUTING, xml)

    found = {(p.element, p.severity) for p in table.problems}
    assert found == {
        ("regla_servicios_publicos", "warning"),  # overlaps regla_basura
        ("regla_basura", "warning"),  # ALCALDIA does not exist
    }
    assert table.xml == xml and table.newest == 1
    assert table.tables == ["enrutamiento.dmn", "plazos.dmn"]
    entities = {s.value: s.label for s in table.entities}
    assert entities['"CSS"'] == "Caja de Seguro Social"
    categories = {s.value: s.label for s in table.categories}
    assert categories['"salud"'].startswith("Salud")
    assert '"queja"' in {s.value for s in table.case_types}
    clean = decisions.open_decision_table(seeded, designer, "queja", 1, "plazos.dmn")
    assert clean.problems == []


def test_a_table_with_errors_is_refused_and_nothing_is_stored(seeded) -> None:
    """A FEEL list the engine would never match: refused, every problem
    listed, still one version; the refusal is audited."""
    designer = who(seeded, "disenador")
    xml = stored_table(seeded, 1).replace(
        '<text>"agua"</text>', '<text>"agua", "alcantarillado"</text>'
    )
    with pytest.raises(BundleInvalid) as refused:
        decisions.save_decision_table(
            seeded, designer, "queja", ROUTING, xml, "", base_version=1
        )
    assert [(p.element, p.severity) for p in refused.value.problems] == [
        ("regla_agua", "error")
    ]
    assert [v.version for v in services.list_versions(seeded, "queja")] == [1]
    with seeded.db.read() as s:
        actions = list(s.scalars(select(AuditLog.action)))
    assert "deploy_refused" in actions


def test_stale_saves_other_roles_and_unknown_tables_are_refused(seeded) -> None:
    """A save based on an older newest version is a conflict; agents may
    not open tables; a file that is not a table of the version is not found."""
    designer = who(seeded, "disenador")
    xml = stored_table(seeded, 1)
    decisions.save_decision_table(
        seeded, designer, "queja", ROUTING, xml, "igual", base_version=1
    )
    with pytest.raises(Conflict):
        decisions.save_decision_table(
            seeded, designer, "queja", ROUTING, xml, "tarde", base_version=1
        )
    with pytest.raises(NotAllowed):
        decisions.open_decision_table(
            seeded, who(seeded, "agente"), "queja", 1, ROUTING
        )
    with pytest.raises(NotAllowed):
        decisions.save_decision_table(
            seeded, who(seeded, "agente"), "queja", ROUTING, xml, "", base_version=2
        )
    with pytest.raises(NotFound):
        decisions.open_decision_table(seeded, designer, "queja", 1, "registro.json")
