"""The modeler's live checks: designer code checked as a deploy checks it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.bundles import registry
from engine.domain.errors import BundleInvalid, NotAllowed
from engine.services import accounts, design_checks

ROOT = Path(__file__).resolve().parents[2]


def who(p, username):
    """A demo user's Actor."""
    return accounts.authenticate(p, username, "demo311", client="t")


def queja_files() -> dict[str, str]:
    """The seed queja bundle."""
    return registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"]


def check(p, kind: str, source: str, timer: str = "timeDate") -> list[str]:
    """The problem message ids of one live check, as the designer."""
    result = design_checks.check_code(who(p, "disenador"), kind, source, timer)
    assert result.ok == (result.problems == [])
    return [m.text % m.params if m.params else m.text for m in result.problems]


def test_sound_code_passes(seeded):
    """A script, a condition and the timers the seed diagrams use pass."""
    assert check(seeded, "script", "plazo = plazo_habil(5)\nx = 1") == []
    assert check(seeded, "condition", 'decision == "aceptar"') == []
    assert check(seeded, "condition", "  calificacion >= 3\n") == []
    assert check(seeded, "timer", "plazo_acuse") == []
    assert check(seeded, "timer", "antes_de(plazo_habil(5), 24)") == []
    assert check(seeded, "timer", '"P2D"', "timeDuration") == []
    # Nothing typed yet: a deploy skips an empty script or condition.
    assert check(seeded, "script", "") == []


def test_unsafe_or_broken_code_is_refused_with_the_compilers_reason(seeded):
    """Imports, dunder escapes and syntax errors come back as problems."""
    (problem,) = check(seeded, "script", "import os")
    assert "no es seguro o no compila" in problem and "Import" in problem
    problems = check(seeded, "condition", "().__class__.__base__")
    assert any('"__class__" is an invalid attribute name' in p for p in problems)
    assert check(seeded, "condition", "decision ==")
    assert check(seeded, "script", "try:\n    x = 1\nexcept Exception:\n    x = 2")


def test_timers_are_checked_like_a_deploy(seeded):
    """An unquoted ISO value, a bad literal and an empty timer are refused."""
    (problem,) = check(seeded, "timer", "P2D", "timeDuration")
    assert "sin comillas" in problem
    (problem,) = check(seeded, "timer", '"mañana"', "timeDate")
    assert "no es válido para timeDate" in problem
    (problem,) = check(seeded, "timer", "", "timeCycle")
    assert "no tiene expresión en timeCycle" in problem


def test_same_verdict_as_a_deploy(seeded):
    """A condition the live check refuses is what refuses the deploy."""
    bad = 'decision == "rechazar" and open("x")'
    (live,) = check(seeded, "condition", bad)
    files = dict(queja_files())
    files["queja.bpmn"] = files["queja.bpmn"].replace(
        'decision == "rechazar"', bad.replace('"', "&quot;")
    )
    with pytest.raises(BundleInvalid) as refused:
        registry.parse_bundle(files)
    found = [
        p.message.text % p.message.params
        for p in refused.value.problems
        if p.element == "flujo_rechazar"
    ]
    assert found == [live]


def test_bounds_and_unknown_kinds(seeded):
    """Over-long sources are refused uncompiled; unknown kinds are problems."""
    limit = design_checks.MAX_SOURCE_CHARS
    assert check(seeded, "script", "x = 1\n" * (limit // 6)) == []
    (problem,) = check(seeded, "script", "x = 1\n" * (limit // 6 + 1))
    assert "demasiado largo" in problem and str(limit) in problem
    assert check(seeded, "macro", "x") == ["Tipo de código desconocido."]
    assert check(seeded, "timer", '"P2D"', "timeSoon") == [
        "Tipo de temporizador desconocido."
    ]


def test_only_designers_check_code_or_read_the_vocabulary(seeded):
    """Agents are refused: the service checks the role itself."""
    agent = who(seeded, "agente")
    with pytest.raises(NotAllowed):
        design_checks.check_code(agent, "script", "x = 1")
    with pytest.raises(NotAllowed):
        design_checks.modeler_vocabulary(agent, queja_files())


def test_vocabulary_offers_roles_marks_and_the_bundles_forms(seeded):
    """Lane roles, the engine's marks, and forms (not UI schemas or texts)."""
    files = dict(queja_files())
    files["registro.ui.json"] = "{}"
    files["registro.en.json"] = "{}"
    vocabulary = design_checks.modeler_vocabulary(who(seeded, "admin"), files)
    assert vocabulary.roles == ("agente_311", "supervisor_311", "enlace", "ciudadano")
    assert vocabulary.marks == (
        "cerrado",
        "reabierto",
        "vencido",
        "al_dia",
        "recordatorio",
        "transferido",
    )
    assert "registro.json" in vocabulary.forms
    assert "clasificacion.json" in vocabulary.forms
    assert not any(name.count(".") > 1 for name in vocabulary.forms)
    assert vocabulary.forms == tuple(sorted(vocabulary.forms))
