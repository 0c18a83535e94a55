"""One deploy path: one bundle reader, one audited deploy, the seed through it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select, update

from engine import services
from engine.bundles.registry import bundle_from_path, seed_bundles
from engine.domain.errors import BundleInvalid, NotAllowed, NotFound
from engine.services import design, versions
from engine.store.accounts import AuditLog, User
from engine.store.models import ProcessVersion

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "bpmn"
FORMS = ROOT / "forms"
ALUMBRADO = ROOT / "tests" / "fixtures" / "bundles" / "alumbrado"


def zipped(folder: Path, target: Path) -> Path:
    """A folder's files, subfolders included, as a zip (in a folder of the
    same name)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    target.write_bytes(buf.getvalue())
    return target


def audit_rows(p) -> list[tuple[str, str, str | None]]:
    """(actor, action, source) of every audit record, oldest first."""
    with p.db.read() as s:
        return [
            (a.actor, a.action, (a.detail or {}).get("source"))
            for a in s.scalars(select(AuditLog).order_by(AuditLog.id))
        ]


def test_a_seed_folder_brings_its_forms_and_the_tables_it_calls():
    """bpmn/queja + forms/queja + the shared tables: what the seed deploys."""
    files = bundle_from_path(BPMN / "queja", bpmn_root=BPMN, forms_root=FORMS)
    assert {"queja.bpmn", "enrutamiento.dmn", "plazos.dmn", "registro.json"} <= set(
        files
    )
    assert files == seed_bundles(BPMN, FORMS)["queja"]
    # Without the roots a folder is only itself (its diagram, the
    # diagram's texts in English and its process tests).
    alone = set(bundle_from_path(BPMN / "queja"))
    assert {n for n in alone if not n.startswith("tests/")} == {
        "queja.bpmn",
        "messages.en.json",
    }
    assert "tests/01-llamada-viernes-noche.json" in alone


def test_shared_tables_only_when_called_and_never_over_the_bundles_own(tmp_path):
    """A bundle calling no table gets none; its own copy of one is kept."""
    files = bundle_from_path(ALUMBRADO, bpmn_root=BPMN, forms_root=FORMS)
    assert not any(name.endswith(".dmn") for name in files)

    own = tmp_path / "queja"
    own.mkdir()
    (own / "queja.bpmn").write_text((BPMN / "queja" / "queja.bpmn").read_text())
    table = (BPMN / "shared" / "plazos.dmn").read_text()
    (own / "mis_plazos.dmn").write_text(table.replace('"MINSA"', '"CSS"'))
    files = bundle_from_path(own, bpmn_root=BPMN, forms_root=FORMS)
    assert "plazos.dmn" not in files  # the bundle defines that decision itself
    assert "enrutamiento.dmn" in files and "registro.json" in files


def test_a_zip_gets_the_same_rules_and_a_stray_path_is_refused(tmp_path):
    """A zipped seed folder reads like the folder; other paths are refused."""
    archive = zipped(BPMN / "queja", tmp_path / "queja-nueva.zip")
    from_zip = bundle_from_path(archive, bpmn_root=BPMN, forms_root=FORMS)
    assert from_zip == bundle_from_path(
        BPMN / "queja", bpmn_root=BPMN, forms_root=FORMS
    )
    stray = tmp_path / "notas.txt"
    stray.write_text("nada")
    with pytest.raises(BundleInvalid) as refused:
        bundle_from_path(stray)
    (problem,) = refused.value.problems
    assert problem.message.params == {"path": str(stray)}


def test_the_seed_deploys_through_the_audited_path(platform):
    """Seeding is audited as the system actor with source seed, once."""
    done = services.deploy_seed(platform, BPMN, FORMS)
    assert sorted(v.case_type for v in done) == [
        "consulta",
        "denuncia",
        "queja",
        "sugerencia",
    ]
    assert services.deploy_seed(platform, BPMN, FORMS) == []
    assert audit_rows(platform) == [("sistema", "deploy", "seed")] * 4
    assert {v.deployed_by for v in services.list_versions(platform)} == {"sistema"}


def test_the_command_line_deploys_as_a_real_designer(seeded):
    """deployer: --by a designer or admin, default the first active admin."""
    assert versions.deployer(seeded).username == "admin"
    assert versions.deployer(seeded, "disenador").username == "disenador"
    with pytest.raises(NotAllowed):
        versions.deployer(seeded, "agente")
    with pytest.raises(NotFound):
        versions.deployer(seeded, "nadie")
    with seeded.db.transaction() as s:
        s.execute(update(User).where(User.username == "admin").values(active=False))
    with pytest.raises(NotFound):
        versions.deployer(seeded, "admin")
    with pytest.raises(NotFound):
        versions.deployer(seeded)

    actor = versions.deployer(seeded, "disenador")
    files = bundle_from_path(ALUMBRADO, bpmn_root=BPMN, forms_root=FORMS)
    done = design.deploy(seeded, actor, files, " por consola ", source="cli")
    assert (done.version.case_type, done.version.deployed_by) == (
        "alumbrado",
        "disenador",
    )
    broken = dict(files, **{"registro.json": "{"})
    with pytest.raises(BundleInvalid):
        design.deploy(seeded, actor, broken, "", source="cli")
    assert audit_rows(seeded)[-2:] == [
        ("disenador", "deploy", "cli"),
        ("disenador", "deploy_refused", "cli"),
    ]
    with seeded.db.read() as s:
        note = s.scalar(
            select(ProcessVersion.note).where(ProcessVersion.case_type == "alumbrado")
        )
    assert note == "por consola"


def test_web_is_the_default_source(seeded):
    """The designer's pages call deploy without a source: recorded as web."""
    actor = versions.deployer(seeded, "disenador")
    design.deploy(seeded, actor, bundle_from_path(ALUMBRADO), "")
    assert audit_rows(seeded)[-1] == ("disenador", "deploy", "web")
