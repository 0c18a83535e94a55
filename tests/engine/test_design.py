"""Designer services: audited deploys, change lists, moving cases to a version."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine import services
from engine.bundles import registry
from engine.domain.errors import BundleInvalid, NotAllowed
from engine.services import accounts, case_moves, design
from engine.store.accounts import AuditLog
from engine.store.models import HumanTask
from tests.conftest import without_scenarios

ROOT = Path(__file__).resolve().parents[2]
INTAKE = {
    "categoria": "salud",
    "asunto": "Sin citas en la policlínica",
    "descripcion": "No dan citas de medicina general desde hace un mes.",
}


def queja_files() -> dict[str, str]:
    """The seed queja bundle."""
    return registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"]


def who(p, username):
    """A demo user's Actor."""
    return accounts.authenticate(p, username, "demo311", client="t")


def renamed(files: dict[str, str]) -> dict[str, str]:
    """The queja with its classification task renamed (a migratable change)."""
    files = dict(files)
    files["queja.bpmn"] = files["queja.bpmn"].replace(
        'name="Clasificar la queja"', 'name="Clasificar y asignar la queja"'
    )
    return files


def test_only_designers_deploy_and_every_deploy_is_audited(seeded):
    """Agents are refused; refused and accepted deploys leave audit records."""
    with pytest.raises(NotAllowed):
        design.deploy(seeded, who(seeded, "agente"), queja_files(), "x")
    broken = dict(queja_files())
    broken["atencion.json"] = "{"
    with pytest.raises(BundleInvalid):
        design.deploy(seeded, who(seeded, "disenador"), broken, "rota")
    done = design.deploy(seeded, who(seeded, "disenador"), renamed(queja_files()), "v2")
    assert done.version.version == 2 and done.warnings == []
    with seeded.db.read() as s:
        actions = [
            (a.actor, a.action)
            for a in s.scalars(select(AuditLog).order_by(AuditLog.id))
        ]
    # The seed goes through the same path: one deploy per seeded case type.
    seed = [("sistema", "deploy")] * 4
    assert actions == seed + [("disenador", "deploy_refused"), ("disenador", "deploy")]
    assert [v.version for v in services.list_versions(seeded, "queja")] == [2, 1]


def test_changes_between_versions_are_described(seeded):
    """The version list says which task was renamed."""
    design.deploy(seeded, who(seeded, "disenador"), renamed(queja_files()), "v2")
    changes = design.version_changes(seeded, who(seeded, "disenador"), "queja")
    text = " ".join(m.text % m.params for m in changes[2])
    assert "Clasificar y asignar la queja" in text


def test_running_case_moves_to_the_new_version_on_request(seeded):
    """A v1 case stays on v1 until a designer moves it; then it runs on v2."""
    opened = services.open_case(seeded, "queja", INTAKE)
    designer = who(seeded, "disenador")
    design.deploy(seeded, designer, renamed(queja_files()), "v2")
    (candidate,) = case_moves.migration_candidates(seeded, designer, "queja", 2)
    assert (candidate.number, candidate.version, candidate.movable) == (
        opened.number,
        1,
        True,
    )
    assert case_moves.migrate_cases(seeded, designer, "queja", 2, [opened.number]) == {}
    with seeded.db.read() as s:
        names = [
            t.name
            for t in s.scalars(select(HumanTask).where(HumanTask.state == "ready"))
        ]
    assert names == ["Clasificar y asignar la queja"]
    view = services.get_case(seeded, who(seeded, "agente"), opened.number)
    assert view.version == 2
    assert any(e.kind == "migrated" for e in view.events)
    agent = who(seeded, "agente")
    (task,) = services.list_tasks(seeded, agent)
    services.complete_task(
        seeded, agent, task.id, {"decision": "aceptar", "entidad": "MINSA"}
    )
    assert (
        services.list_tasks(seeded, who(seeded, "enlace.minsa"))[0].name
        == "Acusar recibo"
    )


def test_migration_refused_when_the_current_task_changes_lane(seeded):
    """Moving the waiting task to another role makes the move impossible, with why."""
    opened = services.open_case(seeded, "queja", INTAKE)
    designer = who(seeded, "disenador")
    # Without the seed's process tests: they expect the agent to classify.
    files = without_scenarios(queja_files())
    ref = "        <bpmn:flowNodeRef>clasificar_caso</bpmn:flowNodeRef>\n"
    bpmn = files["queja.bpmn"].replace(ref, "", 1)
    anchor = '<bpmn:lane id="lane_supervisor_311" name="supervisor_311">\n'
    files["queja.bpmn"] = bpmn.replace(anchor, anchor + ref, 1)
    design.deploy(seeded, designer, files, "clasificar pasa al supervisor")
    (candidate,) = case_moves.migration_candidates(seeded, designer, "queja", 2)
    assert not candidate.movable
    reasons = [r.text % r.params for r in candidate.reasons]
    assert any("carril" in r for r in reasons), reasons
    refused = case_moves.migrate_cases(seeded, designer, "queja", 2, [opened.number])
    assert list(refused) == [opened.number]
    assert services.get_case(seeded, who(seeded, "agente"), opened.number).version == 1


def test_new_case_type_with_zero_code_runs_end_to_end(seeded):
    """A bundle the code never heard of is filed, routed, repaired and closed."""
    alumbrado = ROOT / "tests" / "fixtures" / "bundles" / "alumbrado"
    design.deploy(
        seeded,
        who(seeded, "disenador"),
        registry.read_bundle_dir(alumbrado),
        "",
        confirm_new=True,
    )
    assert "alumbrado" in [t.key for t in services.list_case_types(seeded)]
    opened = services.open_case(
        seeded,
        "alumbrado",
        {"direccion": "Vía Porras y calle 74", "descripcion": "Tres postes apagados."},
    )
    agent = who(seeded, "agente")
    (task,) = services.list_tasks(seeded, agent)
    assert task.name == "Verificar el reporte y asignar la entidad"
    services.complete_task(
        seeded, agent, task.id, {"decision": "asignar", "entidad": "MUPA"}
    )
    enlace = who(seeded, "enlace.mupa")
    (task,) = services.list_tasks(seeded, enlace)
    services.complete_task(
        seeded,
        enlace,
        task.id,
        {"resultado": "reparado", "detalle": "Se cambiaron las luminarias."},
    )
    public = services.track_case(seeded, opened.number, opened.access_code, client="c")
    assert public.status == "closed" and public.public_status == "Reparado"
    assert public.entity_name == "Municipio de Panamá"


def test_two_designers_deploying_at_once_get_distinct_versions(seeded):
    """Concurrent deploys both succeed with consecutive, distinct numbers."""
    import threading

    designer = who(seeded, "disenador")
    results: list[int] = []
    barrier = threading.Barrier(2)

    def deploy(note: str) -> None:
        barrier.wait()
        results.append(
            design.deploy(
                seeded, designer, renamed(queja_files()), note
            ).version.version
        )

    threads = [threading.Thread(target=deploy, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [2, 3]
    assert [v.version for v in services.list_versions(seeded, "queja")] == [3, 2, 1]
