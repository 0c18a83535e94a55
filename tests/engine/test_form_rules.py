"""Forms that can always be answered: what a browser sends becomes typed
data (yes/no radios, dates, local date-times), dates get messages that say
how to fix them, and deploy warns about forms a case could get stuck on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.bundles import forms, registry
from engine.bundles.reading import read_bundle_dir
from engine.domain.errors import BundleInvalid

PODA = Path(__file__).resolve().parents[1] / "fixtures" / "bundles" / "poda"
EVALUATION = {
    "type": "object",
    "properties": {
        "procede": {"type": "boolean", "title": "¿La solicitud procede?"},
        "visita": {"type": "string", "format": "date-time"},
        "desde": {"type": "string", "format": "date"},
    },
    "required": ["procede"],
}


def test_a_yes_no_answer_becomes_true_or_false():
    """The radios send "si" or "no"; nothing chosen stays absent (required)."""
    assert forms.coerce(EVALUATION, {"procede": ["no"]}) == {"procede": False}
    assert forms.coerce(EVALUATION, {"procede": ["si"]}) == {"procede": True}
    assert forms.coerce(EVALUATION, {}) == {}
    errors = forms.validate(EVALUATION, {})
    assert [m.text for m in errors["procede"]] == ["Este campo es obligatorio."]
    assert forms.validate(EVALUATION, {"procede": False}) == {}


def test_a_local_date_time_gets_panamas_offset():
    """``datetime-local`` sends no seconds or offset: Panama time is added."""
    data = forms.coerce(EVALUATION, {"procede": ["si"], "visita": ["2026-11-04T14:30"]})
    assert data["visita"] == "2026-11-04T14:30:00-05:00"
    assert forms.validate(EVALUATION, data) == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("desde", "2026-02-30", "Escriba una fecha que exista"),
        ("desde", "4/11/2026", "Escriba una fecha que exista"),
        ("visita", "mañana a las 3", "Escriba una fecha y hora que existan"),
        ("visita", "2026-11-04T25:00", "Escriba una fecha y hora que existan"),
    ],
)
def test_a_wrong_date_says_how_to_write_it(field, value, message):
    """Each wrong date keeps its text and gets a message with an example."""
    data = forms.coerce(EVALUATION, {"procede": ["si"], field: [value]})
    assert data[field] == value
    (error,) = forms.validate(EVALUATION, data)[field]
    assert error.text.startswith(message) and "2026-11-04" in error.text


def poda_files(**changes: dict) -> dict[str, str]:
    """The poda bundle, with fields of its evaluation form changed."""
    files = read_bundle_dir(PODA)
    schema = json.loads(files["evaluacion.json"])
    for name, spec in changes.items():
        schema["properties"][name] = spec
    files["evaluacion.json"] = json.dumps(schema)
    return files


def test_the_poda_bundle_deploys_without_warnings():
    """A required yes/no and a public answer: nothing to warn about."""
    assert registry.parse_bundle(poda_files()).warnings == []


def test_deploy_warns_about_a_yes_no_that_cannot_say_no():
    """A required boolean forced into a single checkbox is flagged."""
    files = poda_files(
        procede={"type": "boolean", "title": "¿Procede?", "x-widget": "checkbox"}
    )
    (warning,) = registry.parse_bundle(files).warnings
    assert (warning.file, warning.element) == ("evaluacion.json", "procede")
    assert "solo se podría responder «sí»" in warning.message.text


def test_deploy_warns_about_an_answer_the_citizen_never_sees():
    """A staff form's answer field without x-public is flagged; marked
    private on purpose, it is not."""
    hidden = {"type": "string", "title": "Respuesta al ciudadano", "minLength": 10}
    (warning,) = registry.parse_bundle(poda_files(respuesta=hidden)).warnings
    assert (warning.file, warning.element) == ("evaluacion.json", "respuesta")
    assert "el ciudadano nunca la verá" in warning.message.text
    private = dict(hidden, **{"x-public": False})
    assert registry.parse_bundle(poda_files(respuesta=private)).warnings == []


def test_warnings_do_not_stop_a_deploy_but_errors_do():
    """Both warnings at once come back together; a broken form still fails."""
    files = poda_files(
        procede={"type": "boolean", "x-widget": "checkbox"},
        respuesta={"type": "string", "title": "Respuesta"},
    )
    assert len(registry.parse_bundle(files).warnings) == 2
    with pytest.raises(BundleInvalid):
        registry.parse_bundle(poda_files(procede={"type": "nada"}))


def test_milestones_are_declared_on_the_start_event_and_named_by_key():
    """``hitos`` lists them in order; a ``hito`` outside the list, or a key
    that is not a plain word, is refused at deploy with both problems."""
    files = poda_files()
    start = '<spiffworkflow:property name="estado" value="Recibida" />'
    declared = (
        '<spiffworkflow:property name="hitos" '
        'value="recibida: Recibida; evaluada: Evaluada; Mal Clave" />'
    )
    bpmn = files["poda.bpmn"].replace(start, start + declared)
    task = '<spiffworkflow:property name="estado" value="En evaluación" />'
    good = bpmn.replace(
        task, task + '<spiffworkflow:property name="hito" value="evaluada" />'
    )
    files["poda.bpmn"] = good.replace(" Mal Clave", "")
    parsed = registry.parse_bundle(files)
    assert parsed.milestones == [("recibida", "Recibida"), ("evaluada", "Evaluada")]
    files["poda.bpmn"] = bpmn.replace(
        task, task + '<spiffworkflow:property name="hito" value="otra" />'
    )
    with pytest.raises(BundleInvalid) as refused:
        registry.parse_bundle(files)
    texts = [p.message.text for p in refused.value.problems]
    assert any("no está en la lista" in t for t in texts)
    assert any("no es válida" in t for t in texts)
