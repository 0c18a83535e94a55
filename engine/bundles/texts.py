"""A bundle's texts in other languages: overlays of its forms and its messages.

Spanish is the language a bundle is written in. A designer may add, for a
language ``xx`` (two lower-case letters):

- ``<form>.xx.json`` beside ``<form>.json``: the same shape as the form with
  only texts -- the form's ``title`` and ``description``, and under
  ``properties`` each field's ``title``, ``description`` and
  ``x-enum-labels`` (as many labels as the field has ``enum`` values);
- ``messages.xx.json``: the case type's ``title`` and ``description``, the
  public statuses (``statuses``, keyed by the Spanish text of an ``estado``
  property), the milestones (``milestones``, keyed by the keys of the start
  event's ``hitos``) and the citizen's tasks (``tasks``, keyed by BPMN id,
  each with ``name`` and ``instructions``).

Every key must name something the bundle has, and every value must be text:
deploy lists each wrong one and deploys nothing. What an overlay leaves out
stays Spanish. The overlays are files of the bundle, so a version keeps its
texts like it keeps its forms.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.bundles.markup import MAX_FILE_BYTES, problem
from engine.domain.errors import N_, Problem

#: The language bundles are written in (no overlay for it).
BASE_LANGUAGE = "es"
#: The stem of the messages file (``messages.en.json``).
MESSAGES_STEM = "messages"
#: ``<form>.ui.json`` is a form's UI schema (``formUiSchemaFilename``), not a
#: language.
UI_SCHEMA = "ui"
_OVERLAY = re.compile(r"(?P<stem>[^/\\]+)\.(?P<lang>[a-z]{2})\.json")

#: Text keys an overlay may give for the form and for each field.
FORM_KEYS = frozenset({"title", "description", "properties"})
FIELD_KEYS = frozenset({"title", "description", "x-public-title", "x-enum-labels"})
MESSAGE_KEYS = frozenset({"title", "description", "statuses", "milestones", "tasks"})
TASK_KEYS = frozenset({"name", "instructions"})


def overlay_target(name: str) -> tuple[str, str] | None:
    """(what it translates, language) when ``name`` is an overlay file.

    What it translates is the form's file name, or ``""`` for the messages
    file. A JSON file without a language part is a form, and ``.ui.json`` a
    UI schema (None).
    """
    matched = _OVERLAY.fullmatch(name)
    if matched is None or matched.group("lang") == UI_SCHEMA:
        return None
    stem, lang = matched.group("stem"), matched.group("lang")
    return ("" if stem == MESSAGES_STEM else f"{stem}.json"), lang


@dataclass(frozen=True)
class TaskTexts:
    """A citizen task's name and instructions in one language."""

    name: str | None = None
    instructions: str | None = None


@dataclass
class LanguageTexts:
    """A bundle's texts in one language; whatever is missing stays Spanish."""

    language: str
    title: str | None = None
    description: str | None = None
    statuses: dict[str, str] = field(default_factory=dict)
    milestones: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, TaskTexts] = field(default_factory=dict)
    #: Form file name -> the overlay as written (texts only).
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    _localized: dict[int, tuple[dict[str, Any], dict[str, Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _lock: threading.Lock = field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def status(self, text: str | None) -> str | None:
        """A public status (the Spanish text of an ``estado``) in this language."""
        if text is None:
            return None
        return self.statuses.get(text, text)

    def milestone(self, key: str, label: str) -> str:
        """A milestone's label in this language."""
        return self.milestones.get(key, label)

    def task_name(self, bpmn_id: str | None, name: str) -> str:
        """A task's name in this language."""
        found = self.tasks.get(bpmn_id or "")
        return found.name if found is not None and found.name else name

    def instructions(self, bpmn_id: str | None, text: str) -> str:
        """A task's instructions in this language."""
        found = self.tasks.get(bpmn_id or "")
        return found.instructions if found and found.instructions else text

    def field_title(
        self, name: str | None, schema: Mapping[str, Any], title: str
    ) -> str:
        """A published field's label in this language, found by its Spanish one.

        For texts stored as they were shown (a public note keeps the labels
        of the fields it publishes): the field of form ``name`` whose
        ``x-public-title`` (or, for notes stored before it had one, whose
        ``title``) is ``title`` gives the same key's translation; anything
        else stays as it is.
        """
        overlay = (self.forms.get(name or "") or {}).get("properties") or {}
        fields = schema.get("properties")
        if not overlay or not isinstance(fields, dict):
            return title
        for field_name, spec in fields.items():
            if not isinstance(spec, dict):
                continue
            texts = overlay.get(field_name) or {}
            for key in ("x-public-title", "title"):
                if spec.get(key, field_name if key == "title" else None) == title:
                    found = texts.get("x-public-title") or texts.get("title")
                    return found if isinstance(found, str) else title
        return title

    def form(self, name: str | None, schema: dict[str, Any]) -> dict[str, Any]:
        """``schema`` with this language's texts (``schema`` itself when none).

        The copy is made once per schema object and kept (with the schema, so
        its id is not reused): forms live as long as their parsed version,
        and so do these texts. Callers must not change what they get.
        """
        overlay = self.forms.get(name or "")
        if not overlay:
            return schema
        with self._lock:
            kept = self._localized.get(id(schema))
            if kept is not None and kept[0] is schema:
                return kept[1]
        localized = apply_form_overlay(schema, overlay)
        with self._lock:
            self._localized[id(schema)] = (schema, localized)
        return localized


def apply_form_overlay(
    schema: dict[str, Any], overlay: Mapping[str, Any]
) -> dict[str, Any]:
    """A copy of ``schema`` with the texts of ``overlay`` in place."""
    localized = copy.deepcopy(schema)
    for key in ("title", "description"):
        if isinstance(overlay.get(key), str):
            localized[key] = overlay[key]
    props = localized.get("properties")
    for name, texts in (overlay.get("properties") or {}).items():
        spec = props.get(name) if isinstance(props, dict) else None
        if not isinstance(spec, dict):
            continue
        for key in FIELD_KEYS:
            if key in texts:
                spec[key] = texts[key]
    return localized


def read_overlays(
    files: Mapping[str, str],
    schemas: Mapping[str, Any],
    problems: list[Problem],
) -> dict[str, LanguageTexts]:
    """The bundle's texts per language, checking the overlays against its forms.

    Problems are appended to ``problems`` (errors: nothing is deployed). The
    messages file's keys are checked later, against the diagram, by
    :func:`check_messages`.
    """
    texts: dict[str, LanguageTexts] = {}
    for name, text in sorted(files.items()):
        target = overlay_target(name)
        if target is None:
            continue
        form_name, lang = target
        if lang == BASE_LANGUAGE:
            problems.append(
                problem(
                    name,
                    None,
                    N_(
                        "Los textos en español van en el propio formulario o "
                        "diagrama, no en un archivo «.es.json»."
                    ),
                )
            )
            continue
        if len(text.encode()) > MAX_FILE_BYTES:
            problems.append(problem(name, None, N_("El archivo es demasiado grande.")))
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(
                problem(
                    name, None, N_("El JSON no es válido: %(detail)s"), detail=str(exc)
                )
            )
            continue
        found = texts.setdefault(lang, LanguageTexts(language=lang))
        if form_name:
            if form_name not in schemas:
                problems.append(
                    problem(
                        name,
                        None,
                        N_(
                            "Es la traducción del formulario «%(form)s», que "
                            "el paquete no tiene."
                        ),
                        form=form_name,
                    )
                )
                continue
            wrong = _form_overlay_problems(name, data, schemas[form_name])
            problems.extend(wrong)
            if not wrong:
                found.forms[form_name] = data
        else:
            wrong = _messages_shape_problems(name, data)
            problems.extend(wrong)
            if not wrong:
                _fill_messages(found, data)
    return texts


def check_messages(
    texts: Mapping[str, LanguageTexts],
    *,
    statuses: Collection[str],
    milestones: Collection[str],
    tasks: Collection[str],
) -> list[Problem]:
    """Keys of the messages files that name nothing in the diagram."""
    found: list[Problem] = []
    for lang, language in sorted(texts.items()):
        name = f"{MESSAGES_STEM}.{lang}.json"
        for kind, keys, known in (
            ("statuses", language.statuses, statuses),
            ("milestones", language.milestones, milestones),
            ("tasks", language.tasks, tasks),
        ):
            for key in keys:
                if key not in known:
                    found.append(
                        problem(
                            name,
                            None,
                            _UNKNOWN_MESSAGE[kind],
                            key=key,
                        )
                    )
    return found


_UNKNOWN_MESSAGE = {
    "statuses": N_(
        "«%(key)s» en «statuses» no es el estado (propiedad estado) de ningún "
        "elemento del diagrama."
    ),
    "milestones": N_(
        "«%(key)s» en «milestones» no es la clave de ningún hito de la lista "
        "«hitos» del evento de inicio."
    ),
    "tasks": N_("«%(key)s» en «tasks» no es el id de ninguna tarea del diagrama."),
}


def _fill_messages(texts: LanguageTexts, data: Mapping[str, Any]) -> None:
    """Copy a checked messages file into ``texts``."""
    texts.title = data.get("title", texts.title)
    texts.description = data.get("description", texts.description)
    texts.statuses.update(data.get("statuses", {}))
    texts.milestones.update(data.get("milestones", {}))
    for bpmn_id, task in data.get("tasks", {}).items():
        texts.tasks[bpmn_id] = TaskTexts(
            name=task.get("name"), instructions=task.get("instructions")
        )


def _not_text(file: str, where: str) -> Problem:
    """A value that should be text and is not."""
    return problem(file, None, N_("«%(where)s» debe ser un texto."), where=where)


def _unknown_keys(file: str, where: str, keys: Collection[str]) -> list[Problem]:
    """Keys an overlay may not have at ``where``."""
    return [
        problem(
            file,
            None,
            N_("«%(key)s» no es un texto que se pueda traducir en «%(where)s»."),
            key=key,
            where=where,
        )
        for key in sorted(keys)
    ]


def _not_object(file: str, where: str) -> Problem:
    """A place that should be a JSON object and is not."""
    return problem(file, None, N_("«%(where)s» debe ser un objeto JSON."), where=where)


def _form_overlay_problems(file: str, data: Any, schema: Any) -> list[Problem]:
    """What is wrong with a form overlay, checked against its form."""
    if not isinstance(data, dict):
        return [_not_object(file, "/")]
    found = _unknown_keys(file, "/", set(data) - FORM_KEYS)
    found += [
        _not_text(file, k)
        for k in ("title", "description")
        if k in data and not isinstance(data[k], str)
    ]
    props = data.get("properties", {})
    if not isinstance(props, dict):
        return [*found, _not_object(file, "properties")]
    fields = schema.get("properties", {}) if isinstance(schema, dict) else {}
    for name, texts in props.items():
        where = f"properties/{name}"
        spec = fields.get(name) if isinstance(fields, dict) else None
        if not isinstance(spec, dict):
            found.append(
                problem(
                    file,
                    name,
                    N_("El formulario no tiene el campo «%(field)s»."),
                    field=name,
                )
            )
            continue
        if not isinstance(texts, dict):
            found.append(_not_object(file, where))
            continue
        found += _unknown_keys(file, where, set(texts) - FIELD_KEYS)
        found += [
            _not_text(file, f"{where}/{k}")
            for k in ("title", "description", "x-public-title")
            if k in texts and not isinstance(texts[k], str)
        ]
        if "x-enum-labels" in texts:
            labels = texts["x-enum-labels"]
            enum = spec.get("enum")
            if not isinstance(enum, list):
                found.append(
                    problem(
                        file,
                        name,
                        N_(
                            "El campo «%(field)s» no tiene opciones (enum): "
                            "no lleva x-enum-labels."
                        ),
                        field=name,
                    )
                )
            elif (
                not isinstance(labels, list)
                or len(labels) != len(enum)
                or not all(isinstance(label, str) for label in labels)
            ):
                found.append(
                    problem(
                        file,
                        name,
                        N_(
                            "x-enum-labels del campo «%(field)s» debe ser una "
                            "lista de %(count)s textos, uno por opción."
                        ),
                        field=name,
                        count=len(enum),
                    )
                )
    return found


def _messages_shape_problems(file: str, data: Any) -> list[Problem]:
    """What is wrong with the shape of a messages file."""
    if not isinstance(data, dict):
        return [_not_object(file, "/")]
    found = _unknown_keys(file, "/", set(data) - MESSAGE_KEYS)
    found += [
        _not_text(file, k)
        for k in ("title", "description")
        if k in data and not isinstance(data[k], str)
    ]
    for key in ("statuses", "milestones"):
        table = data.get(key, {})
        if not isinstance(table, dict):
            found.append(_not_object(file, key))
            continue
        found += [
            _not_text(file, f"{key}/{k}")
            for k, v in table.items()
            if not isinstance(v, str)
        ]
    tasks = data.get("tasks", {})
    if not isinstance(tasks, dict):
        return [*found, _not_object(file, "tasks")]
    for bpmn_id, texts in tasks.items():
        where = f"tasks/{bpmn_id}"
        if not isinstance(texts, dict):
            found.append(_not_object(file, where))
            continue
        found += _unknown_keys(file, where, set(texts) - TASK_KEYS)
        found += [
            _not_text(file, f"{where}/{k}")
            for k in TASK_KEYS
            if k in texts and not isinstance(texts[k], str)
        ]
    return found
