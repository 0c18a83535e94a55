"""Drafts: saved, seen by designers only, never serving new cases, then
published with a note (a new case type after confirming its title and
intake form) or discarded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine import services
from engine.bundles import registry
from engine.domain.errors import Conflict, InvalidData, NotAllowed, NotFound
from engine.services import accounts, design, drafts, practice
from engine.store.accounts import AuditLog
from engine.store.models import Case, ProcessVersion

ROOT = Path(__file__).resolve().parents[2]
ALUMBRADO = ROOT / "tests" / "fixtures" / "bundles" / "alumbrado"
INTAKE = {
    "categoria": "salud",
    "asunto": "Sin citas en la policlínica",
    "descripcion": "No dan citas de medicina general desde hace un mes.",
}


def who(p, username):
    """A demo user's Actor."""
    return accounts.authenticate(p, username, "demo311", client="t")


def queja_v2() -> dict[str, str]:
    """The seed queja with its classification task renamed."""
    files = dict(registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"])
    files["queja.bpmn"] = files["queja.bpmn"].replace(
        'name="Clasificar la queja"', 'name="Clasificar y asignar la queja"'
    )
    return files


def version_of(p, number: str) -> int:
    """The version number a case runs on."""
    with p.db.read() as s:
        return s.execute(
            select(ProcessVersion.version)
            .join(Case, Case.process_version_id == ProcessVersion.id)
            .where(Case.number == number)
        ).scalar_one()


def audit_actions(p) -> list[tuple[str, dict]]:
    """(action, detail) of every audit record, oldest first."""
    with p.db.read() as s:
        return [(a.action, a.detail) for a in s.scalars(select(AuditLog))]


def test_a_draft_serves_no_new_case_until_published_with_a_note(seeded):
    """New cases stay on v1 while v2 is a draft; once published, they use v2."""
    designer = who(seeded, "disenador")
    done = design.deploy(seeded, designer, queja_v2(), "renombrar", draft=True)
    assert done.version.status == "draft" and not done.needs_confirmation
    assert audit_actions(seeded)[-1][1]["status"] == "draft"
    first = services.open_case(seeded, "queja", INTAKE)
    assert version_of(seeded, first.number) == 1
    queja = [t for t in services.list_case_types(seeded) if t.key == "queja"]
    assert [t.version for t in queja] == [1]
    # Designers see the draft beside the published version.
    listed = design.list_case_type_versions(seeded, designer)
    (mine,) = [t for t in listed if t.key == "queja"]
    assert [(v.version, v.status) for v in mine.versions] == [
        (2, "draft"),
        (1, "published"),
    ]

    with pytest.raises(InvalidData) as refused:
        drafts.publish(seeded, designer, "queja", 2, "  ")
    assert "nota" in refused.value.errors
    info = drafts.publish(seeded, designer, "queja", 2, "Nombre más claro")
    assert (info.status, info.published_by, info.published_note) == (
        "published",
        "disenador",
        "Nombre más claro",
    )
    action, detail = audit_actions(seeded)[-1]
    assert action == "version_published"
    assert detail == {
        "case_type": "queja",
        "version": 2,
        "note": "Nombre más claro",
        "new_type": False,
    }
    second = services.open_case(seeded, "queja", INTAKE)
    assert version_of(seeded, second.number) == 2
    assert version_of(seeded, first.number) == 1
    with pytest.raises(Conflict):
        drafts.publish(seeded, designer, "queja", 2, "otra vez")


def test_a_new_case_type_is_published_only_after_confirming_it(seeded):
    """Deployed without draft, a new type waits for confirmation: not on
    offer, refused at intake; its publication shows title and intake form."""
    designer = who(seeded, "disenador")
    files = registry.read_bundle_dir(ALUMBRADO)
    done = design.deploy(seeded, designer, files, "nuevo")
    assert done.needs_confirmation and done.version.status == "draft"
    assert "alumbrado" not in [t.key for t in services.list_case_types(seeded)]
    with pytest.raises(NotFound):
        services.get_intake(seeded, "alumbrado")
    with pytest.raises(NotFound):
        services.open_case(seeded, "alumbrado", {"direccion": "x", "descripcion": "y"})

    shown = drafts.publication(seeded, designer, "alumbrado", 1)
    assert shown.new_type
    assert shown.title == done.version.title
    assert {"direccion", "descripcion"} <= set(shown.intake.schema["properties"])
    with pytest.raises(InvalidData) as refused:
        drafts.publish(seeded, designer, "alumbrado", 1, "Primera versión")
    assert "confirmar" in refused.value.errors
    drafts.publish(seeded, designer, "alumbrado", 1, "Primera", confirm_new=True)
    assert audit_actions(seeded)[-1][1]["new_type"] is True
    assert "alumbrado" in [t.key for t in services.list_case_types(seeded)]
    # An existing type's draft needs no confirmation.
    assert not drafts.publication(seeded, designer, "queja", 1).new_type


def test_confirmed_deploy_publishes_a_new_type_at_once(seeded):
    """The seed and ``flask deploy --confirm-new`` publish a new type directly."""
    designer = who(seeded, "disenador")
    files = registry.read_bundle_dir(ALUMBRADO)
    done = design.deploy(seeded, designer, files, "", confirm_new=True)
    assert not done.needs_confirmation and done.version.status == "published"
    assert "alumbrado" in [t.key for t in services.list_case_types(seeded)]


def test_an_older_draft_cannot_be_published_over_a_newer_version(seeded):
    """v2 draft, v3 published: publishing v2 would serve nothing: refused."""
    designer = who(seeded, "disenador")
    design.deploy(seeded, designer, queja_v2(), "", draft=True)
    design.deploy(
        seeded,
        designer,
        registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"],
        "v3",
    )
    with pytest.raises(Conflict):
        drafts.publish(seeded, designer, "queja", 2, "tarde")


def test_discarding_a_draft_takes_its_practice_cases_and_is_audited(seeded):
    """The draft and its practice cases go; a published version stays."""
    designer = who(seeded, "disenador")
    design.deploy(seeded, designer, queja_v2(), "", draft=True)
    opened = practice.open_practice_case(seeded, designer, "queja", 2, INTAKE)
    assert drafts.discard_draft(seeded, designer, "queja", 2) == 1
    assert [v.version for v in services.list_versions(seeded, "queja")] == [1]
    with seeded.db.read() as s:
        assert s.scalar(select(Case).where(Case.number == opened.number)) is None
    action, detail = audit_actions(seeded)[-1]
    assert action == "draft_discarded"
    assert (detail["version"], detail["cases"]) == (2, [opened.number])
    with pytest.raises(Conflict):
        drafts.discard_draft(seeded, designer, "queja", 1)
    # The next deploy takes the number again: the audit keeps the hashes apart.
    again = design.deploy(seeded, designer, queja_v2(), "", draft=True)
    assert again.version.version == 2


def test_only_designers_save_publish_or_discard_drafts(seeded):
    """Agents and supervisors are refused at every step."""
    designer = who(seeded, "disenador")
    design.deploy(seeded, designer, queja_v2(), "", draft=True)
    for name in ("agente", "supervisor", "enlace.minsa"):
        actor = who(seeded, name)
        with pytest.raises(NotAllowed):
            design.deploy(seeded, actor, queja_v2(), "", draft=True)
        with pytest.raises(NotAllowed):
            drafts.publish(seeded, actor, "queja", 2, "nota")
        with pytest.raises(NotAllowed):
            drafts.publication(seeded, actor, "queja", 2)
        with pytest.raises(NotAllowed):
            drafts.discard_draft(seeded, actor, "queja", 2)
    assert [v.status for v in services.list_versions(seeded, "queja")] == [
        "draft",
        "published",
    ]
