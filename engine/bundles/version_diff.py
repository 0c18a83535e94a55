"""Element by element: what changed between two versions' files.

:mod:`engine.bundles.changes` sums up a new version in sentences; this
module feeds the designer's side-by-side comparison instead:

* :func:`diagram_diff` compares the BPMN of both versions element by
  element (tasks, events, gateways, sequence flows, lanes, by BPMN id) and
  says, for each element that kept its id, which of its parts changed (its
  name, a condition, a script, a timer, its properties, where a flow goes).
  The ids become markers on both diagrams.
* :func:`form_diff` compares the forms field by field (added, removed, and
  which settings of a kept field changed).
* :func:`table_diff` compares the decision tables rule by rule, with the
  cells of a changed rule before and after.

Pure functions of the files' text: no database, no SpiffWorkflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.domain.errors import N_

__all__ = [
    "DiagramDiff",
    "ElementChange",
    "FieldChange",
    "RuleChange",
    "diagram_diff",
    "form_diff",
    "table_diff",
]

_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20180521/MODEL/",
)
# Containers: their own attributes count, their id-bearing children are
# compared as elements of their own.
_CONTAINERS = {"process", "subProcess", "laneSet", "collaboration", "lane"}
# Not drawn and not authored as such: skipped.
_SKIPPED = {"definitions", "laneSet", "collaboration"}

# The parts of an element a designer recognises, by child or attribute.
_PARTS = {
    "name": N_("nombre"),
    "conditionExpression": N_("condición"),
    "script": N_("guion"),
    "timerEventDefinition": N_("temporizador"),
    "extensionElements": N_("propiedades"),
    "sourceRef": N_("origen"),
    "targetRef": N_("destino"),
    "incoming": N_("conexiones"),
    "outgoing": N_("conexiones"),
    "flowNodeRef": N_("tareas del carril"),
    "default": N_("salida por defecto"),
    "attachedToRef": N_("tarea a la que se adjunta"),
    "cancelActivity": N_("interrumpe o no"),
    "documentation": N_("documentación"),
    "decisionRef": N_("tabla de decisión"),
    "calledElement": N_("proceso llamado"),
}
_OTHER = N_("otros detalles")


@dataclass(frozen=True)
class ElementChange:
    """One BPMN element that was added, removed or changed.

    ``kind`` is the element's BPMN type (``userTask``, ``sequenceFlow``…),
    ``name`` its name (the new one when it changed), ``parts`` the
    (untranslated) names of what changed on a kept element.
    """

    id: str
    kind: str
    name: str
    parts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DiagramDiff:
    """The elements of both diagrams that differ, by BPMN id."""

    added: list[ElementChange] = field(default_factory=list)
    removed: list[ElementChange] = field(default_factory=list)
    changed: list[ElementChange] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        """Whether the two diagrams hold the same elements."""
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class FieldChange:
    """A form field added, removed or changed (``keys``: the settings that
    differ, e.g. ``title``, ``required``, ``enum``, ``x-public``).

    ``key`` (the field's name) is empty for a change to the form itself
    (title, description) or for a whole form file added or removed
    (``status`` says which).
    """

    form: str
    key: str
    status: str  # "added" | "removed" | "changed"
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RuleChange:
    """A decision-table rule added, removed or changed, with its cells.

    ``before`` and ``after`` are the rule's input then output cells (empty
    for the side where it does not exist).
    """

    table: str
    rule: str
    status: str  # "added" | "removed" | "changed"
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    description: str = ""


# --------------------------------------------------------------------------
# Diagrams


def diagram_diff(old: str | None, new: str | None) -> DiagramDiff:
    """Elements added, removed and changed from the ``old`` BPMN to ``new``."""
    before = _elements(old)
    after = _elements(new)
    added = [_change(after[i]) for i in after if i not in before]
    removed = [_change(before[i]) for i in before if i not in after]
    changed = []
    for element_id, element in after.items():
        if element_id not in before:
            continue
        parts = _parts_changed(before[element_id], element)
        if parts:
            changed.append(_change(element, parts))
    return DiagramDiff(added=added, removed=removed, changed=changed)


def _elements(text: str | None) -> dict[str, Any]:
    """The BPMN model elements with an id, by id (diagram drawing left out)."""
    if not text:
        return {}
    root = etree.fromstring(text.encode("utf-8"), parser=_parser())
    found: dict[str, Any] = {}
    for element in root.iter(f"{{{_BPMN}}}*"):
        local = etree.QName(element).localname
        element_id = element.get("id")
        if element_id and local not in _SKIPPED and _in_model(element):
            found[element_id] = element
    return found


def _in_model(element: Any) -> bool:
    """Whether an element sits in a process or collaboration (not nested
    inside another element's definition, such as a timer's own id)."""
    parent = element.getparent()
    while parent is not None:
        local = etree.QName(parent).localname
        if local in _CONTAINERS or local == "definitions":
            return True
        if parent.get("id") and etree.QName(parent).namespace == _BPMN:
            return False
        parent = parent.getparent()
    return True


def _change(element: Any, parts: list[str] | None = None) -> ElementChange:
    return ElementChange(
        id=str(element.get("id")),
        kind=etree.QName(element).localname,
        name=str(element.get("name") or ""),
        parts=parts or [],
    )


def _parts_changed(old: Any, new: Any) -> list[str]:
    """The designer's names of the parts that differ between two elements."""
    mine, theirs = _signature(old), _signature(new)
    parts: list[str] = []
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key) != theirs.get(key):
            label = _PARTS.get(key, _OTHER)
            if label not in parts:
                parts.append(label)
    return parts


def _signature(element: Any) -> dict[str, Any]:
    """An element's comparable parts: attributes, and each child kind's
    content (children that are elements of their own left out)."""
    parts: dict[str, Any] = {
        key: value for key, value in element.attrib.items() if key != "id"
    }
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments
        if child.get("id") and etree.QName(element).localname in _CONTAINERS:
            continue  # an element of its own
        local = etree.QName(child).localname
        parts.setdefault(local, []).append(_canonical(child))
    return {key: sorted(v) if isinstance(v, list) else v for key, v in parts.items()}


def _canonical(element: Any) -> str:
    """An element's XML with whitespace between tags and ids left out."""
    copy = etree.fromstring(etree.tostring(element))
    for node in copy.iter():
        if isinstance(node.tag, str):
            node.attrib.pop("id", None)
        if node.text is not None:
            node.text = node.text.strip()
        if node.tail is not None:
            node.tail = node.tail.strip()
    return str(etree.tostring(copy, encoding="unicode"))


def _parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False
    )


# --------------------------------------------------------------------------
# Forms


def form_diff(old: dict[str, str], new: dict[str, str]) -> list[FieldChange]:
    """Field by field, how the forms (``.json`` files) changed."""
    changes: list[FieldChange] = []
    before, after = _forms(old), _forms(new)
    for name in sorted(set(before) | set(after)):
        if name not in before:
            changes.append(FieldChange(name, "", "added"))
        elif name not in after:
            changes.append(FieldChange(name, "", "removed"))
        else:
            changes.extend(_field_changes(name, before[name], after[name]))
    return changes


def _forms(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The bundle's forms, parsed (a file that is not a JSON object counts
    as an empty form: the validator refused it when it was deployed)."""
    forms = {}
    for name, text in files.items():
        if not name.endswith(".json") or name.endswith(".en.json") or "/" in name:
            continue
        try:
            schema = json.loads(text)
        except ValueError:
            schema = {}
        forms[name] = schema if isinstance(schema, dict) else {}
    return forms


def _field_changes(
    name: str, old: dict[str, Any], new: dict[str, Any]
) -> list[FieldChange]:
    changes = []
    form_keys = [
        key
        for key in ("title", "description")
        if old.get(key) != new.get(key)  # the form's own texts
    ]
    if form_keys:
        changes.append(FieldChange(name, "", "changed", form_keys))
    old_fields, new_fields = _fields(old), _fields(new)
    for key in new_fields:
        if key not in old_fields:
            changes.append(FieldChange(name, key, "added"))
    for key in old_fields:
        if key not in new_fields:
            changes.append(FieldChange(name, key, "removed"))
    for key, settings in new_fields.items():
        if key in old_fields and old_fields[key] != settings:
            before = old_fields[key]
            differing = sorted(
                k
                for k in set(before) | set(settings)
                if before.get(k) != settings.get(k)
            )
            changes.append(FieldChange(name, key, "changed", differing))
    return changes


def _fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each field's settings, ``required`` included, in the form's order."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    required_set = set(required) if isinstance(required, list) else set()
    fields = {}
    for key, settings in properties.items():
        found = dict(settings) if isinstance(settings, dict) else {"schema": settings}
        found["required"] = key in required_set
        fields[str(key)] = found
    return fields


# --------------------------------------------------------------------------
# Decision tables


def table_diff(old: dict[str, str], new: dict[str, str]) -> list[RuleChange]:
    """Rule by rule, how the decision tables (``.dmn`` files) changed."""
    before, after = _rules(old), _rules(new)
    changes = []
    for key, rule in after.items():
        if key not in before:
            changes.append(
                RuleChange(*key, "added", after=rule[0], description=rule[1])
            )
        elif before[key] != rule:
            changes.append(
                RuleChange(
                    *key,
                    "changed",
                    before=before[key][0],
                    after=rule[0],
                    description=rule[1],
                )
            )
    for key, rule in before.items():
        if key not in after:
            changes.append(RuleChange(*key, "removed", rule[0], [], rule[1]))
    return changes


def _rules(files: dict[str, str]) -> dict[tuple[str, str], tuple[list[str], str]]:
    """Every rule of every table: (table, rule id) → (cells, description)."""
    found: dict[tuple[str, str], tuple[list[str], str]] = {}
    for name, text in sorted(files.items()):
        if not name.endswith(".dmn"):
            continue
        try:
            root = etree.fromstring(text.encode("utf-8"), parser=_parser())
        except etree.XMLSyntaxError:
            continue
        for namespace in _DMN_NAMESPACES:
            for decision in root.iter(f"{{{namespace}}}decision"):
                table = str(decision.get("name") or decision.get("id") or name)
                for position, rule in enumerate(
                    decision.iter(f"{{{namespace}}}rule"), start=1
                ):
                    cells = [
                        (entry.findtext(f"{{{namespace}}}text") or "").strip()
                        for entry in rule
                        if etree.QName(entry).localname in ("inputEntry", "outputEntry")
                    ]
                    description = (
                        rule.findtext(f"{{{namespace}}}description") or ""
                    ).strip()
                    rule_id = str(rule.get("id") or f"#{position}")
                    found[(table, rule_id)] = (cells, description)
    return found
