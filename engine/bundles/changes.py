"""What changed between two versions of a case type's bundle.

Pure comparison of two parsed versions (no running workflow): the designer's
version list shows it, and :mod:`engine.workflow.migration` moves running
cases across.

* :func:`summarize` compares two parsed versions: elements added, removed,
  renamed or changed, lanes, forms, decision tables and diagrams, and the
  texts in other languages.
* :func:`describe` turns a summary into Spanish sentences (translatable).
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from engine.bundles.registry import ParsedVersion, TaskInfo
from engine.bundles.texts import overlay_target
from engine.domain.errors import N_, Message

__all__ = ["describe", "summarize"]


def summarize(old: ParsedVersion | None, new: ParsedVersion) -> dict[str, Any]:
    """What changed from ``old`` to ``new`` (everything is new without ``old``).

    The result is plain data, ready for a template or JSON::

        {
          "first": bool,          # no previous version
          "unchanged": bool,      # nothing below changed
          "tasks": {"added": [{"id", "name"}], "removed": [{"id", "name"}],
                    "renamed": [{"id", "old", "new"}],
                    "changed": [{"id", "name", "fields": [...]}]},
          "lanes": {"added": [...], "removed": [...]},
          "forms": {"added": [...], "removed": [...], "changed": [...]},
          "dmn":   {"added": [...], "removed": [...], "changed": [...]},
          "bpmn":  {"added": [...], "removed": [...], "changed": [...]},
          "texts": {"added": [...], "removed": [...], "changed": [...]},
        }

    Tasks are every BPMN element the engine knows (tasks, events, gateways),
    by BPMN id; ``fields`` names what else changed on an element that kept
    its id (``lane``, ``form``, ``instructions``, ``estado``, ``props``).
    Forms are compared by content (the parsed JSON), decision tables and
    diagrams by their XML with insignificant whitespace ignored.
    """
    old_tasks = old.tasks if old is not None else {}
    tasks = _task_changes(old_tasks, new.tasks)
    old_lanes = _lanes(old_tasks)
    new_lanes = _lanes(new.tasks)
    lanes = {
        "added": sorted(new_lanes - old_lanes),
        "removed": sorted(old_lanes - new_lanes),
    }
    old_forms = old.forms if old is not None else {}
    forms = _file_changes(
        {k: _json_key(v) for k, v in old_forms.items()},
        {k: _json_key(v) for k, v in new.forms.items()},
    )
    old_files = old.files if old is not None else {}
    dmn = _file_changes(_xml_files(old_files, ".dmn"), _xml_files(new.files, ".dmn"))
    bpmn = _file_changes(_xml_files(old_files, ".bpmn"), _xml_files(new.files, ".bpmn"))
    texts = _file_changes(_text_files(old_files), _text_files(new.files))
    unchanged = not any(
        values
        for group in (tasks, lanes, forms, dmn, bpmn, texts)
        for values in group.values()
    )
    return {
        "first": old is None,
        "unchanged": unchanged,
        "tasks": tasks,
        "lanes": lanes,
        "forms": forms,
        "dmn": dmn,
        "bpmn": bpmn,
        "texts": texts,
    }


def describe(summary: dict[str, Any]) -> list[Message]:
    """Spanish sentences (translatable messages) for a :func:`summarize` result."""
    if summary["first"]:
        return [Message(N_("Primera versión."))]
    if summary["unchanged"]:
        return [Message(N_("Sin cambios respecto de la versión anterior."))]
    lines: list[Message] = []
    tasks = summary["tasks"]
    for item in tasks["added"]:
        lines.append(Message(N_("Nuevo elemento «%(name)s» (%(id)s)."), dict(item)))
    for item in tasks["removed"]:
        lines.append(Message(N_("Se quitó «%(name)s» (%(id)s)."), dict(item)))
    for item in tasks["renamed"]:
        lines.append(
            Message(N_("«%(old)s» ahora se llama «%(new)s» (%(id)s)."), dict(item))
        )
    for item in tasks["changed"]:
        lines.append(
            Message(
                N_("Cambió «%(name)s» (%(id)s): %(fields)s."),
                {
                    **item,
                    "fields": ", ".join(_FIELD_NAMES.get(f, f) for f in item["fields"]),
                },
            )
        )
    for lane in summary["lanes"]["added"]:
        lines.append(Message(N_("Nuevo carril «%(lane)s»."), {"lane": lane}))
    for lane in summary["lanes"]["removed"]:
        lines.append(Message(N_("Se quitó el carril «%(lane)s»."), {"lane": lane}))
    groups = (
        (
            "forms",
            N_("Nuevo formulario %(file)s."),
            N_("Se quitó el formulario %(file)s."),
            N_("Cambió el formulario %(file)s."),
        ),
        (
            "dmn",
            N_("Nueva tabla de decisión %(file)s."),
            N_("Se quitó la tabla de decisión %(file)s."),
            N_("Cambió la tabla de decisión %(file)s."),
        ),
        (
            "bpmn",
            N_("Nuevo diagrama %(file)s."),
            N_("Se quitó el diagrama %(file)s."),
            N_("Cambió el diagrama %(file)s."),
        ),
        (
            "texts",
            N_("Nuevos textos en otro idioma: %(file)s."),
            N_("Se quitaron los textos en otro idioma %(file)s."),
            N_("Cambiaron los textos en otro idioma %(file)s."),
        ),
    )
    for key, added, removed, changed in groups:
        for text, names in (
            (added, summary[key]["added"]),
            (removed, summary[key]["removed"]),
            (changed, summary[key]["changed"]),
        ):
            lines.extend(Message(text, {"file": name}) for name in names)
    return lines


#: Spanish names of the element fields :func:`summarize` compares.
_FIELD_NAMES = {
    "lane": "carril",
    "form": "formulario",
    "instructions": "instrucciones",
    "estado": "estado",
    "props": "propiedades",
}


def _task_changes(
    old: dict[str, TaskInfo], new: dict[str, TaskInfo]
) -> dict[str, list[dict[str, Any]]]:
    """Elements added, removed, renamed and otherwise changed, by BPMN id."""
    changed: list[dict[str, Any]] = []
    for key in sorted(old.keys() & new.keys()):
        before, after = old[key], new[key]
        fields = [
            label
            for label, a, b in (
                ("lane", before.lane, after.lane),
                ("form", before.form, after.form),
                ("instructions", before.instructions, after.instructions),
                ("estado", before.estado, after.estado),
                ("props", before.props, after.props),
            )
            if a != b
        ]
        if fields:
            changed.append({"id": key, "name": after.name, "fields": fields})
    return {
        "added": [{"id": k, "name": new[k].name} for k in sorted(new.keys() - old)],
        "removed": [{"id": k, "name": old[k].name} for k in sorted(old.keys() - new)],
        "renamed": [
            {"id": k, "old": old[k].name, "new": new[k].name}
            for k in sorted(old.keys() & new.keys())
            if old[k].name != new[k].name
        ],
        "changed": changed,
    }


def _lanes(tasks: dict[str, TaskInfo]) -> set[str]:
    """The lanes (roles) the elements of a version are in."""
    return {info.lane for info in tasks.values() if info.lane}


def _file_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    """File names added, removed, and present in both with other content."""
    return {
        "added": sorted(new.keys() - old.keys()),
        "removed": sorted(old.keys() - new.keys()),
        "changed": sorted(k for k in old.keys() & new.keys() if old[k] != new[k]),
    }


def _json_key(value: Any) -> str:
    """A form's content in a canonical text form."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _text_files(files: dict[str, str]) -> dict[str, str]:
    """The texts in other languages (:mod:`engine.bundles.texts`), canonicalized."""
    found = {}
    for name, text in files.items():
        if overlay_target(name) is None:
            continue
        try:
            found[name] = _json_key(json.loads(text))
        except json.JSONDecodeError:
            found[name] = text
    return found


def _xml_files(files: dict[str, str], suffix: str) -> dict[str, str]:
    """The files of one XML type, canonicalized for comparison."""
    return {
        name: _xml_key(text) for name, text in files.items() if name.endswith(suffix)
    }


#: Like :func:`engine.bundles.registry.safe_xml_parser`, dropping blank text nodes.
_COMPARE_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_blank_text=True,
)


def _xml_key(text: str) -> str:
    """XML text with insignificant whitespace and attribute order ignored."""
    try:
        root = etree.fromstring(text.encode(), _COMPARE_PARSER)
    except etree.XMLSyntaxError:
        return text
    return bytes(etree.tostring(root, method="c14n")).decode()
