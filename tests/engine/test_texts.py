"""A bundle's texts in other languages: overlays of forms and the messages file.

What the citizen reads in English comes from the bundle (``<form>.en.json``,
``messages.en.json``); what an overlay leaves out stays Spanish; a wrong
overlay is a deploy problem and nothing is deployed; a version keeps its texts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import services
from engine.bundles import forms, registry, texts
from engine.bundles.reading import seed_bundles
from engine.domain.errors import BundleInvalid
from engine.services import common

ROOT = Path(__file__).resolve().parents[2]
SEEDS = seed_bundles(ROOT / "bpmn", ROOT / "forms")
QUEJA = {
    "categoria": "salud",
    "asunto": "Sin citas",
    "descripcion": "No dan citas de medicina general desde hace un mes.",
}


def queja_files(**extra: Any) -> dict[str, str]:
    """The seed queja bundle, with files added or replaced (dicts as JSON)."""
    files = dict(SEEDS["queja"])
    for name, value in extra.items():
        files[name.replace("__", ".")] = (
            value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        )
    return files


def problems_of(files: dict[str, str]) -> list[tuple[str, str]]:
    """(file, message text with its values) of every problem of a bundle."""
    with pytest.raises(BundleInvalid) as err:
        registry.parse_bundle(files)
    return [
        (
            p.file,
            p.message.text % p.message.params if p.message.params else p.message.text,
        )
        for p in err.value.problems
    ]


def test_overlay_names_say_what_they_translate():
    """``<form>.xx.json`` translates a form, ``messages.xx.json`` the diagram."""
    assert texts.overlay_target("registro.en.json") == ("registro.json", "en")
    assert texts.overlay_target("messages.en.json") == ("", "en")
    assert texts.overlay_target("registro.json") is None
    assert texts.overlay_target("registro.ui.json") is None


def test_every_seed_case_type_has_english_texts():
    """Each seed bundle gives its title, statuses, milestones and intake in
    English, and every overlay passes deploy's checks."""
    for key, files in SEEDS.items():
        parsed = registry.parse_bundle(files)
        english = parsed.in_language("en")
        assert english.title, key
        assert set(english.statuses) == {
            i.estado for i in parsed.tasks.values() if i.estado
        }, key
        assert set(english.milestones) == {k for k, _ in parsed.milestones}, key
        assert parsed.start_form in english.forms, key
        # The overlays are texts, not forms.
        assert not any(n.endswith(".en.json") for n in parsed.forms), key


def test_english_form_keeps_the_rules_and_changes_the_texts():
    """The overlay replaces titles, help and choice labels, nothing else."""
    parsed = registry.parse_bundle(SEEDS["queja"])
    spanish = parsed.form("registro.json")
    english = parsed.in_language("en").form("registro.json", spanish)
    assert english["title"] == "File a complaint"
    assert english["properties"]["asunto"]["title"] == "Subject"
    assert english["properties"]["categoria"]["x-enum-labels"][0].startswith("Health")
    assert (
        english["properties"]["categoria"]["enum"]
        == (spanish["properties"]["categoria"]["enum"])
    )
    assert english["required"] == spanish["required"]
    assert english["properties"]["asunto"]["maxLength"] == 150
    # The Spanish form is untouched, and asking again gives the same copy.
    assert spanish["title"] == "Presentar una queja"
    assert parsed.in_language("en").form("registro.json", spanish) is english


def test_a_language_without_texts_and_missing_keys_stay_spanish():
    """No overlay for a language, or no text for a key: the Spanish text."""
    parsed = registry.parse_bundle(SEEDS["queja"])
    schema = parsed.form("registro.json")
    for language in (None, "es", "fr"):
        texts_in = parsed.in_language(language)
        assert texts_in.form("registro.json", schema) is schema
        assert texts_in.status("Recibida") == "Recibida"
        assert texts_in.title is None
    english = parsed.in_language("en")
    assert english.status("Recibida") == "Received"
    assert english.status("Un estado sin traducción") == "Un estado sin traducción"
    assert english.milestone("revision", "En revisión") == "Under review by 311"
    assert english.task_name("encuesta", "Calificar la atención") == "Rate the service"
    assert english.task_name("clasificar_caso", "Clasificar") == "Clasificar"
    # A form without an overlay is the Spanish one.
    acuse = parsed.form("acuse.json")
    assert english.form("acuse.json", acuse) is acuse


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"registro__en__json": {"properties": {"color": {"title": "Colour"}}}},
            ("registro.en.json", "El formulario no tiene el campo «color»."),
        ),
        (
            {"registro__en__json": {"titulo": "Complaint"}},
            (
                "registro.en.json",
                "«titulo» no es un texto que se pueda traducir en «/».",
            ),
        ),
        (
            {
                "registro__en__json": {
                    "properties": {"asunto": {"maxLength": 10, "title": "Subject"}}
                }
            },
            (
                "registro.en.json",
                "«maxLength» no es un texto que se pueda traducir en "
                "«properties/asunto».",
            ),
        ),
        (
            {
                "registro__en__json": {
                    "properties": {"categoria": {"x-enum-labels": ["Health"]}}
                }
            },
            (
                "registro.en.json",
                "x-enum-labels del campo «categoria» debe ser una lista de 12 "
                "textos, uno por opción.",
            ),
        ),
        (
            {"registro__en__json": {"properties": {"asunto": {"title": 3}}}},
            ("registro.en.json", "«properties/asunto/title» debe ser un texto."),
        ),
        (
            {"perdido__en__json": {"title": "Lost"}},
            (
                "perdido.en.json",
                "Es la traducción del formulario «perdido.json», que el paquete no "
                "tiene.",
            ),
        ),
        (
            {"registro__es__json": {"title": "Queja"}},
            (
                "registro.es.json",
                "Los textos en español van en el propio formulario o diagrama, "
                "no en un archivo «.es.json».",
            ),
        ),
        (
            {"messages__en__json": {"statuses": {"Archivada": "Filed away"}}},
            (
                "messages.en.json",
                "«Archivada» en «statuses» no es el estado (propiedad estado) de "
                "ningún elemento del diagrama.",
            ),
        ),
        (
            {"messages__en__json": {"milestones": {"final": "Done"}}},
            (
                "messages.en.json",
                "«final» en «milestones» no es la clave de ningún hito de la lista "
                "«hitos» del evento de inicio.",
            ),
        ),
        (
            {"messages__en__json": {"tasks": {"nadie": {"name": "Nobody"}}}},
            (
                "messages.en.json",
                "«nadie» en «tasks» no es el id de ninguna tarea del diagrama.",
            ),
        ),
        (
            {"messages__en__json": {"statuses": ["Received"]}},
            ("messages.en.json", "«statuses» debe ser un objeto JSON."),
        ),
        (
            {"messages__en__json": {"tasks": {"encuesta": {"label": "Rate"}}}},
            (
                "messages.en.json",
                "«label» no es un texto que se pueda traducir en «tasks/encuesta».",
            ),
        ),
        (
            {"messages__en__json": "{not json"},
            ("messages.en.json", "El JSON no es válido"),
        ),
    ],
)
def test_a_wrong_overlay_is_a_deploy_problem(extra, expected):
    """Each wrong key or shape is listed, naming its file."""
    found = problems_of(queja_files(**extra))
    assert any(f == expected[0] and m.startswith(expected[1]) for f, m in found), found


def test_nothing_is_deployed_when_an_overlay_is_wrong(platform):
    """A wrong overlay refuses the whole deploy."""
    services.deploy_version(platform, queja_files(), deployed_by="t")
    bad = queja_files(messages__en__json={"statuses": {"Archivada": "Filed away"}})
    with pytest.raises(BundleInvalid):
        services.deploy_version(platform, bad, deployed_by="t")
    assert [v.version for v in services.list_versions(platform, "queja")] == [1]


def test_a_version_keeps_its_texts(platform):
    """A case filed on v1 reads v1's English texts after v2 changes them."""
    services.deploy_version(platform, queja_files(), deployed_by="t")
    old = services.open_case(platform, "queja", QUEJA, language="en")
    assert old.title == "Complaint"
    assert old.public_status == "Under review by 311"
    english = json.loads(SEEDS["queja"]["messages.en.json"])
    english["title"] = "Grievance"
    english["statuses"]["En revisión por el 311"] = "Being checked by 311"
    services.deploy_version(
        platform, queja_files(messages__en__json=english), deployed_by="t"
    )
    new = services.open_case(platform, "queja", QUEJA, language="en")
    assert (new.title, new.public_status) == ("Grievance", "Being checked by 311")
    seen = services.track_case(
        platform, old.number, old.access_code, client="t", language="en"
    )
    assert seen.title == "Complaint"
    assert seen.public_status == "Under review by 311"
    assert [m.label for m in seen.milestones][:2] == ["Received", "Under review by 311"]
    # In Spanish (or for staff, who pass no language) the diagram's own texts.
    spanish = services.track_case(platform, old.number, old.access_code, client="t")
    assert (spanish.title, spanish.public_status) == ("Queja", "En revisión por el 311")


def test_case_types_and_intake_in_english(platform):
    """The home page's list and the intake form follow the language."""
    services.deploy_version(platform, queja_files(), deployed_by="t")
    [listed] = services.list_case_types(platform, language="en")
    assert listed.title == "Complaint"
    assert listed.description.startswith("A complaint is")
    [spanish] = services.list_case_types(platform)
    assert spanish.title == "Queja"
    view = services.get_intake(platform, "queja", language="en")
    assert view.title == "Complaint"
    assert view.form.schema["properties"]["descripcion"]["title"] == "Description"
    assert view.description.startswith("A complaint is")


def test_a_version_that_changes_only_texts_says_so():
    """The change summary lists texts added, changed and removed."""
    from engine.bundles import changes

    old = registry.parse_bundle(queja_files())
    english = json.loads(SEEDS["queja"]["messages.en.json"])
    english["title"] = "Grievance"
    files = queja_files(messages__en__json=english)
    del files["encuesta.en.json"]
    new = registry.parse_bundle(files)
    summary = changes.summarize(old, new)
    assert summary["unchanged"] is False
    assert summary["texts"] == {
        "added": [],
        "removed": ["encuesta.en.json"],
        "changed": ["messages.en.json"],
    }
    said = [m.text % m.params for m in changes.describe(summary)]
    assert "Cambiaron los textos en otro idioma messages.en.json." in said
    assert "Se quitaron los textos en otro idioma encuesta.en.json." in said


def test_published_fields_show_the_citizens_label_in_either_language():
    """A field's ``x-public-title`` is what the citizen reads (its title is
    the staff's); in English its overlay's ``x-public-title``. A note stored
    before the field had one (labelled with the staff title) reads the
    citizen's English label too; an unknown label stays as stored."""
    atencion = json.loads(SEEDS["queja"]["atencion.json"])
    spec = atencion["properties"]["pregunta"]
    assert spec["title"] == "Pregunta para el ciudadano"
    assert forms.public_title("pregunta", spec) == "Pregunta para usted"
    assert forms.public_title("x", {}) == "x"
    note = common.public_note(
        atencion, {"accion": "pedir_info", "pregunta": "¿Dónde?"}, {}
    )
    assert note == {"fields": [{"label": "Pregunta para usted", "value": "¿Dónde?"}]}
    english = registry.parse_bundle(queja_files()).languages["en"]
    for stored in ("Pregunta para usted", "Pregunta para el ciudadano"):
        assert (
            english.field_title("atencion.json", atencion, stored) == "Question for you"
        )
    assert english.field_title("atencion.json", atencion, "Otra") == "Otra"


def test_a_public_label_that_is_not_text_is_refused():
    """``x-public-title`` must be text, in the form and in its overlay."""
    atencion = json.loads(SEEDS["queja"]["atencion.json"])
    atencion["properties"]["pregunta"]["x-public-title"] = ["no"]
    found = problems_of(queja_files(atencion__json=atencion))
    assert any(
        f == "atencion.json" and "x-public-title del campo «pregunta»" in m
        for f, m in found
    ), found
    overlay = {"properties": {"pregunta": {"x-public-title": 3}}}
    found = problems_of(queja_files(atencion__en__json=overlay))
    assert any(f == "atencion.en.json" and "x-public-title" in m for f, m in found), (
        found
    )
