"""What a bundle's routing table (the ``enrutamiento`` decision) sends where.

Read off the DMN, without the database: each rule's categories (the string
literals of its ``categoria`` input) and the entity its first output names.
The deploy service compares them with the entities it knows
(:func:`engine.services.categories.routing_warnings`). Cells that are not
plain literals (expressions, ranges, ``not(...)``) are left out: only a
designer's literal promise can be checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from engine.bundles.markup import local_name, safe_xml_parser

#: The routing decision's id (DESIGN.md: ``enrutamiento.dmn``).
ROUTING_DECISION = "enrutamiento"
#: The input column holding the case's category.
CATEGORY_INPUT = "categoria"
#: A FEEL string literal, or a comma-separated list of them.
_LITERALS = re.compile(r'^\s*"[^"]*"\s*(,\s*"[^"]*"\s*)*$')
_LITERAL = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class RoutingRule:
    """One rule of the routing table: categories → entity (file, rule id)."""

    file: str
    rule: str
    categories: tuple[str, ...]
    entity: str


def _children(node: Any, name: str) -> list[Any]:
    """Direct children of a DMN element with this local name."""
    return [c for c in node if isinstance(c.tag, str) and local_name(c) == name]


def _text(node: Any) -> str:
    """The text of an entry's ``<text>`` child ("" when none)."""
    texts = _children(node, "text")
    return (texts[0].text or "").strip() if texts else ""


def _literals(cell: str) -> tuple[str, ...] | None:
    """The strings of a literal cell (``"a"`` or ``"a","b"``); None otherwise."""
    if not _LITERALS.match(cell):
        return None
    return tuple(_LITERAL.findall(cell))


def routing_rules(files: dict[str, str]) -> list[RoutingRule]:
    """The literal rules of the bundle's routing decision, in table order.

    A file that does not parse, a table without a ``categoria`` input, and
    rules whose cells are not literals give nothing (deploy validation
    reports broken files on its own).
    """
    found: list[RoutingRule] = []
    for name, text in sorted(files.items()):
        if not name.endswith(".dmn"):
            continue
        try:
            tree = etree.fromstring(text.encode(), safe_xml_parser())
        except (etree.XMLSyntaxError, ValueError):
            continue
        for decision in tree.iter():
            if local_name(decision) != "decision":
                continue
            if decision.get("id") != ROUTING_DECISION:
                continue
            for table in _children(decision, "decisionTable"):
                found.extend(_table_rules(name, table))
    return found


def _table_rules(name: str, table: Any) -> list[RoutingRule]:
    """The literal rules of one routing decision table."""
    inputs = _children(table, "input")
    column = next(
        (
            i
            for i, node in enumerate(inputs)
            if any(
                _text(expr) == CATEGORY_INPUT
                for expr in _children(node, "inputExpression")
            )
        ),
        None,
    )
    if column is None:
        return []
    rules = []
    for rule in _children(table, "rule"):
        entries = _children(rule, "inputEntry")
        outputs = _children(rule, "outputEntry")
        if len(entries) <= column or not outputs:
            continue
        categories = _literals(_text(entries[column]))
        entity = _literals(_text(outputs[0]))
        if not categories or not entity or len(entity) != 1 or not entity[0]:
            continue
        rules.append(RoutingRule(name, rule.get("id") or "", categories, entity[0]))
    return rules
