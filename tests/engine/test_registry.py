"""Bundle validation: every problem listed, nothing half-parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import services
from engine.bundles import registry
from engine.domain.errors import BundleInvalid

ROOT = Path(__file__).resolve().parent.parent.parent


def queja_files() -> dict[str, str]:
    """The seed queja bundle."""
    return registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"]


def problems_of(files: dict[str, str]) -> list[str]:
    """Problem messages (interpolated) of an invalid bundle."""
    with pytest.raises(BundleInvalid) as err:
        registry.parse_bundle(files)
    return [
        f"{p.file}|{p.element}|{p.message.text % p.message.params}"
        for p in err.value.problems
    ]


def test_seed_bundle_parses():
    """The queja bundle parses into its case type and forms."""
    parsed = registry.parse_bundle(queja_files())
    assert parsed.case_type == "queja"
    assert parsed.title == "Queja"
    assert parsed.start_form == "registro.json"
    assert parsed.tasks["clasificar_caso"].lane == "agente_311"
    assert parsed.tasks["atender_caso"].form == "atencion.json"
    assert parsed.tasks["atender_caso"].props["plazo"] == "plazo_resolucion"
    assert parsed.tasks["respuesta_enviada"].marks == ("cerrado",)


def test_several_problems_are_listed_together():
    """An unknown lane, a missing form and a bad form JSON all show up."""
    files = queja_files()
    files["queja.bpmn"] = files["queja.bpmn"].replace('name="enlace"', 'name="vecinos"')
    del files["atencion.json"]
    files["clasificacion.json"] = "{ not json"
    found = problems_of(files)
    assert any("clasificacion.json" in f and "JSON no es válido" in f for f in found)
    assert any("vecinos" in f and "no es un rol" in f for f in found)
    assert any(
        "atender_caso" in f and "Falta el archivo de formulario" in f for f in found
    )


def test_malformed_xml_is_reported_with_its_file():
    """XML that is not well formed names the file."""
    files = queja_files()
    files["queja.bpmn"] = files["queja.bpmn"][:200]
    found = problems_of(files)
    assert found and found[0].startswith("queja.bpmn|") and "XML" in found[0]


@pytest.mark.parametrize(
    "condition",
    [
        '__import__("os").system("id")',
        "().__class__.__base__.__subclasses__()",
        "open('/etc/passwd').read() == ''",
    ],
)
def test_unsafe_condition_is_refused(condition: str):
    """A gateway condition that fails the restricted compile is refused."""
    files = queja_files()
    files["queja.bpmn"] = files["queja.bpmn"].replace(
        'decision == "rechazar"', condition.replace('"', "&quot;")
    )
    found = problems_of(files)
    assert any("no es seguro" in f for f in found), found


def test_xml_entities_are_not_resolved(tmp_path: Path):
    """An XXE payload cannot read a local file into the diagram."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    files = queja_files()
    bpmn = files["queja.bpmn"]
    head, _, rest = bpmn.partition("?>")
    files["queja.bpmn"] = (
        f'{head}?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        + rest.replace('name="Queja"', 'name="&xxe;"', 1)
    )
    try:
        parsed = registry.parse_bundle(files)
    except BundleInvalid as err:
        assert "TOP-SECRET" not in str(err.problems)
    else:
        assert "TOP-SECRET" not in parsed.title


def test_new_version_for_new_cases_old_cases_keep_theirs(platform):
    """Deploying v2 changes new cases only; a v1 case finishes on v1."""
    services.deploy_version(platform, queja_files(), deployed_by="t")
    from tests.conftest import seed  # noqa: F401 - users not needed here

    old = services.open_case(
        platform,
        "queja",
        {
            "categoria": "otro",
            "asunto": "Vieja",
            "descripcion": "Caso de la versión 1.",
        },
    )
    files = queja_files()
    files["queja.bpmn"] = files["queja.bpmn"].replace(
        'name="Clasificar la queja"', 'name="Revisar y clasificar"'
    )
    info = services.deploy_version(platform, files, deployed_by="t", note="renombre")
    assert info.version == 2
    new = services.open_case(
        platform,
        "queja",
        {
            "categoria": "otro",
            "asunto": "Nueva",
            "descripcion": "Caso de la versión 2.",
        },
    )
    from engine.store.models import HumanTask

    with platform.db.read() as s:
        names = {t.case_id: t.name for t in s.query(HumanTask).filter_by(state="ready")}
    assert sorted(names.values()) == ["Clasificar la queja", "Revisar y clasificar"]
    versions = services.list_versions(platform, "queja")
    assert [v.version for v in versions] == [2, 1]
    assert old.number != new.number
