"""What pages show, computed by services: the citizen's milestones, where a
case stands in its diagram, and the form editor's preview."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import services
from engine.domain.errors import NotAllowed
from engine.domain.views import EventView
from engine.services import accounts, design, previews
from engine.services.progress import DEFAULT_MILESTONES
from engine.services.progress import milestones as progress_of

ROOT = Path(__file__).resolve().parents[2]
INTAKE = {
    "categoria": "salud",
    "asunto": "Sin citas en la policlínica",
    "descripcion": "No dan citas de medicina general desde hace un mes.",
}
AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def who(p, username):
    """A demo user's Actor."""
    return accounts.authenticate(p, username, "demo311", client="t")


def event(kind: str, key: str = "") -> EventView:
    """A public timeline entry of ``kind`` (a milestone's ``key``)."""
    data = {"key": key} if key else {}
    return EventView(at=AT, kind=kind, actor="", summary="", data=data, public=True)


#: A diagram's declared milestones, as the seed case types declare them.
DECLARED = [
    ("recibido", "Recibido"),
    ("revision", "En revisión por el 311"),
    ("asignado", "Asignado a una entidad"),
    ("respondido", "Respondido"),
    ("cerrado", "Cerrado"),
]


def progress(current: str, *reached: str, status: str = "open") -> tuple[list, str]:
    """(reached keys, current key) for a case that reached these milestones."""
    timeline = [event("created")] + [event("milestone", k) for k in reached]
    steps = progress_of(DECLARED, current, status, timeline)
    (here,) = [m.key for m in steps if m.current]
    return [m.key for m in steps if m.reached], here


# --------------------------------------------------------------------------
# Milestones


def test_declared_milestones_follow_what_the_case_reached():
    """The first is always reached; a skipped one stays pending."""
    assert progress("revision", "revision") == (["recibido", "revision"], "revision")
    reached, here = progress("cerrado", "revision", "cerrado", status="closed")
    assert here == "cerrado" and reached == ["recibido", "revision", "cerrado"]


def test_a_reopened_case_is_answered_again():
    """Milestones after where the case stands now are pending again."""
    reached, here = progress(
        "asignado", "revision", "asignado", "respondido", "cerrado", "asignado"
    )
    assert here == "asignado"
    assert reached == ["recibido", "revision", "asignado"]


def test_waiting_for_the_citizen_is_its_own_state():
    """While the entity waits for the citizen's answer, that is a step of its
    own right after where the case stands (reached, no longer current): the
    bar never says a later step is the current one."""
    timeline = [event("milestone", "asignado")]
    steps = progress_of(DECLARED, "asignado", "open", timeline, waiting="answer")
    assert [m.key for m in steps] == [
        "recibido",
        "revision",
        "asignado",
        "su_turno",
        "respondido",
        "cerrado",
    ]
    assert [m.key for m in steps if m.current] == ["su_turno"]
    assert [m.key for m in steps if m.waiting] == ["su_turno"]
    assert steps[3].label == "Esperando su respuesta"
    assert steps[2].reached and not steps[2].current
    assert not steps[4].reached and not steps[4].current  # not "Respondido"
    rating = progress_of(DECLARED, "cerrado", "closed", timeline, waiting="rate")
    assert rating[-1].key == "su_turno" and rating[-1].current
    assert rating[-1].label == "Esperando su calificación"
    assert not any(m.waiting for m in progress_of(DECLARED, "asignado", "open", []))


def test_without_declared_milestones_received_in_progress_closed():
    """Three default steps, from the public timeline and the status."""
    default = [k for k, _ in DEFAULT_MILESTONES]
    steps = progress_of([], None, "open", [event("created")])
    assert [m.key for m in steps] == default
    assert [m.key for m in steps if m.current] == ["recibido"]
    steps = progress_of([], None, "open", [event("created"), event("assigned")])
    assert [m.key for m in steps if m.current] == ["en_tramite"]
    steps = progress_of([], None, "closed", [event("created")])
    assert [m.key for m in steps if m.reached] == default


def test_milestone_labels_are_message_ids_for_the_page_to_translate():
    """The engine knows no locale: labels are the diagram's Spanish words."""
    steps = progress_of(DECLARED, "revision", "open", [])
    assert steps[1].label == "En revisión por el 311"


def test_tracked_case_carries_its_diagrams_milestones(seeded):
    """The seed queja declares five milestones; a new one stands at review,
    and the step that answers it closes it at the last one."""
    opened = services.open_case(seeded, "queja", INTAKE)
    case = services.track_case(seeded, opened.number, opened.access_code, client="t")
    assert [m.key for m in case.milestones] == [k for k, _ in DECLARED]
    assert [m.key for m in case.milestones if m.current] == ["revision"]
    assert all(e.kind != "milestone" for e in case.timeline)


# --------------------------------------------------------------------------
# Where a case stands in its diagram


def test_case_diagram_splits_done_active_and_waiting_elements(seeded):
    """Steps come with names; timers armed on the current task wait apart."""
    opened = services.open_case(seeded, "queja", INTAKE)
    agent = who(seeded, "agente")
    found = design.case_diagram(seeded, agent, opened.number)
    assert found.active.ids == ["clasificar_caso"]
    assert found.active.names == ["Clasificar la queja"]
    assert found.waiting.ids == [] and found.waiting.names == []
    assert "Queja recibida" in found.done.names
    assert "inicio" in found.done.ids and "inicio" in found.completed

    (task,) = services.list_tasks(seeded, agent)
    services.complete_task(
        seeded, agent, task.id, {"decision": "aceptar", "entidad": "MINSA"}
    )
    found = design.case_diagram(seeded, agent, opened.number)
    assert found.active.ids == ["acusar_recibo"]
    assert set(found.waiting.ids) == {"recordar_acuse", "vence_acuse"}
    assert "Vence el plazo de acuse" in found.waiting.names
    # The raw states stay as the workflow reports them (the JSON endpoint).
    assert set(found.current) == {"acusar_recibo", "recordar_acuse", "vence_acuse"}
    assert "clasificar_caso" in found.done.ids


# --------------------------------------------------------------------------
# The form editor's preview


def test_preview_refuses_who_does_not_design(seeded):
    """Only designers and admins preview forms."""
    with pytest.raises(NotAllowed):
        previews.preview_form(seeded, who(seeded, "agente"), "{}")


def test_preview_reports_broken_json_and_invalid_schemas(seeded):
    """Problems are message ids with their details, and no form."""
    designer = who(seeded, "disenador")
    broken = previews.preview_form(seeded, designer, '{"type": "object",')
    assert broken.form is None
    assert broken.problems[0].text == "El JSON no es válido: %(detail)s"
    bad = '{"type": "object", "properties": {"x": {"type": "nada"}, "y": 3}}'
    invalid = previews.preview_form(seeded, designer, bad)
    texts = [m.text for m in invalid.problems]
    assert "El formulario no es un JSON Schema válido: %(detail)s" in texts
    assert {"name": "y"} in [m.params for m in invalid.problems]


def test_preview_fills_entity_choices_like_the_task_page(seeded):
    """x-source lists come from the same helper intake and tasks use."""
    designer = who(seeded, "disenador")
    schema = (ROOT / "forms/queja/clasificacion.json").read_text()
    result = previews.preview_form(seeded, designer, schema)
    assert result.problems == [] and not result.tested
    assert result.form is not None
    codes = [code for code, _ in result.form.options["entidad"]]
    assert "MINSA" in codes and codes == sorted(codes)


def test_preview_validates_sample_data(seeded):
    """Messages per field, stray names apart, unreadable data explained."""
    designer = who(seeded, "disenador")
    schema = (ROOT / "forms/queja/clasificacion.json").read_text()
    sample = {"decision": "aceptar", "entidad": "NADA"}
    result = previews.preview_form(seeded, designer, schema, json.dumps(sample))
    assert result.tested and result.values == sample
    assert "entidad" in result.errors and result.stray == {}
    good = {"decision": "aceptar", "entidad": "MINSA"}
    ok = previews.preview_form(seeded, designer, schema, json.dumps(good))
    assert ok.tested and ok.errors == {}
    unreadable = previews.preview_form(seeded, designer, schema, "[1, 2")
    assert not unreadable.tested and unreadable.form is not None
    assert unreadable.data_problems[0].text.startswith("Los datos de prueba no")
    listed = previews.preview_form(seeded, designer, schema, "[1, 2]")
    assert "objeto JSON" in listed.data_problems[0].text


def test_preview_lists_messages_on_names_the_form_lacks(seeded):
    """A required name with no field: its message is listed apart, not lost."""
    designer = who(seeded, "disenador")
    schema = json.dumps(
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}
    )
    result = previews.preview_form(seeded, designer, schema, '{"a": "x"}')
    assert result.tested
    assert [m.text for m in result.stray["b"]] == ["Este campo es obligatorio."]
