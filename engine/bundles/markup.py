"""XML of bundles: namespaces, a safe parser, locating elements, problems."""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.domain.enums import Role
from engine.domain.errors import Message, Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}


#: Roles that may own a lane (a lane's name must be one of these keys).
LANE_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.LIAISON, Role.CITIZEN)


#: Largest single file accepted in a bundle, in bytes.
MAX_FILE_BYTES = 2 * 1024 * 1024


#: The folder of ``bpmn/`` holding decision tables any case type may call.
SHARED_FOLDER = "shared"


def safe_xml_parser() -> etree.XMLParser:
    """An lxml parser that resolves no entities and touches no network (XXE)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def problem(
    file: str, element: str | None, text: str, severity: str = "error", **params: Any
) -> Problem:
    """Build a :class:`Problem` with a translatable message."""
    return Problem(file, element, Message(text, params), severity)


def element_at_line(tree: Any, line: int) -> str | None:
    """The id of the element on ``line`` of the file (or of its nearest owner)."""
    for node in tree.iter():
        if getattr(node, "sourceline", None) == line and isinstance(node.tag, str):
            return owner_id(node)
    return None


def owner_id(node: Any) -> str | None:
    """The id of ``node`` or of its nearest ancestor that has one."""
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node.get("id") if node is not None else None


def local_name(node: Any) -> str:
    """The local name of an element (no namespace)."""
    return str(etree.QName(node).localname) if isinstance(node.tag, str) else ""


def is_bpmn(node: Any) -> bool:
    """Whether ``node`` is an element of the BPMN model namespace."""
    return isinstance(node.tag, str) and etree.QName(node).namespace == BPMN_NS
