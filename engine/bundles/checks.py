"""Checks on the structure of a bundle's XML before SpiffWorkflow parses it.

Lanes, references, reachability and called elements: each returns the
problems it finds, so the designer sees every problem at once. Scripts,
conditions and timer expressions (the designer's code) are checked in
:mod:`engine.bundles.code_checks`, decision tables in
:mod:`engine.bundles.decision_checks`.
"""

from __future__ import annotations

from typing import Any

from engine.bundles.markup import (
    BPMN_NS,
    LANE_ROLES,
    NSMAP,
    is_bpmn,
    local_name,
    problem,
)
from engine.domain.errors import N_, Problem


def check_lanes(name: str, tree: Any) -> list[Problem]:
    """Every lane is named after a role (the role that may do its tasks).

    A lane split into child lanes only groups them: its own name is free.
    """
    problems: list[Problem] = []
    for lane in tree.xpath("//bpmn:lane", namespaces=NSMAP):
        if lane.xpath("bpmn:childLaneSet/bpmn:lane", namespaces=NSMAP):
            continue
        role = (lane.get("name") or "").strip()
        if role not in LANE_ROLES:
            problems.append(
                problem(
                    name,
                    lane.get("id"),
                    N_("El carril «%(lane)s» no es un rol (use uno de: %(roles)s)."),
                    lane=role,
                    roles=", ".join(LANE_ROLES),
                )
            )
    return problems


#: Local names of the BPMN flow nodes (what sequence flows connect).
_FLOW_NODES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)


_SUBPROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})


def _containers(tree: Any) -> list[Any]:
    """Every process and (nested) subprocess element of a diagram."""
    found: list[Any] = []
    for node in tree.iter(f"{{{BPMN_NS}}}*"):
        if local_name(node) == "process" or local_name(node) in _SUBPROCESSES:
            found.append(node)
    return found


def _flow_nodes(container: Any) -> dict[str, Any]:
    """The flow nodes directly inside a process or subprocess, by id."""
    return {
        node.get("id"): node
        for node in container
        if is_bpmn(node) and local_name(node) in _FLOW_NODES and node.get("id")
    }


def _sequence_flows(container: Any) -> list[Any]:
    """The sequence flows directly inside a process or subprocess."""
    return [n for n in container if is_bpmn(n) and local_name(n) == "sequenceFlow"]


def check_references(name: str, tree: Any) -> list[Problem]:
    """Sequence flows and boundary events must point at existing elements.

    Reported here in plain words, before SpiffWorkflow meets the broken
    reference and fails with a message designers cannot act on.
    """
    problems: list[Problem] = []
    for container in _containers(tree):
        nodes = _flow_nodes(container)
        for flow in _sequence_flows(container):
            for attr in ("sourceRef", "targetRef"):
                ref = flow.get(attr)
                if ref not in nodes:
                    problems.append(
                        problem(
                            name,
                            flow.get("id"),
                            N_(
                                "El flujo de secuencia apunta a «%(ref)s» "
                                "(%(attr)s), que no es un elemento del mismo "
                                "proceso o subproceso."
                            ),
                            ref=ref or "",
                            attr=attr,
                        )
                    )
        for node in nodes.values():
            attached = node.get("attachedToRef")
            if local_name(node) == "boundaryEvent" and attached not in nodes:
                problems.append(
                    problem(
                        name,
                        node.get("id"),
                        N_(
                            "El evento de borde está unido a «%(ref)s», que no es "
                            "una actividad del mismo proceso o subproceso."
                        ),
                        ref=attached or "",
                    )
                )
    return problems


def _is_event_subprocess(node: Any) -> bool:
    """Whether ``node`` is an event subprocess (started by an event)."""
    return local_name(node) in _SUBPROCESSES and node.get("triggeredByEvent") == "true"


def _link_name(node: Any) -> str | None:
    """The name of a link event's definition, if ``node`` is a link event."""
    for child in node:
        if is_bpmn(child) and local_name(child) == "linkEventDefinition":
            return str(child.get("name") or node.get("name") or "")
    return None


def check_reachable(name: str, tree: Any) -> list[Problem]:
    """Warn about flow nodes no path from a start event reaches.

    Sequence flows are followed from the start events of each process (and of
    each reached subprocess); a boundary event is reached with the activity it
    is attached to, a link catch event with the throw event of the same name.
    Event subprocesses start on their own and are left out.
    """
    problems: list[Problem] = []
    for process in tree.xpath("//bpmn:process", namespaces=NSMAP):
        problems.extend(_unreached(name, process))
    return problems


def _unreached(name: str, container: Any) -> list[Problem]:
    """Unreached nodes of one process or subprocess, and of those it reaches."""
    nodes = _flow_nodes(container)
    starts = [i for i, n in nodes.items() if local_name(n) == "startEvent"]
    if not starts:
        return []
    following: dict[str, list[str]] = {}
    for flow in _sequence_flows(container):
        following.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    for node_id, node in nodes.items():
        if local_name(node) == "boundaryEvent":
            following.setdefault(node.get("attachedToRef"), []).append(node_id)
    catches: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        link = _link_name(node)
        if link is not None and local_name(node) == "intermediateCatchEvent":
            catches.setdefault(link, []).append(node_id)
    for node_id, node in nodes.items():
        link = _link_name(node)
        if link is not None and local_name(node) == "intermediateThrowEvent":
            following.setdefault(node_id, []).extend(catches.get(link, []))
    reached: set[str] = set()
    pending = list(starts)
    while pending:
        current = pending.pop()
        if current in reached or current not in nodes:
            continue
        reached.add(current)
        pending.extend(following.get(current, []))
    problems: list[Problem] = []
    for node_id, node in nodes.items():
        if _is_event_subprocess(node):
            continue
        if node_id not in reached:
            if (
                local_name(node) == "boundaryEvent"
                and node.get("attachedToRef") not in reached
            ):
                continue  # reported through the activity it is attached to
            problems.append(
                problem(
                    name,
                    node_id,
                    N_(
                        "Ningún camino desde un evento de inicio llega a "
                        "«%(label)s»: nunca se ejecutará. Conéctelo con un flujo "
                        "de secuencia o elimínelo."
                    ),
                    severity="warning",
                    label=node.get("name") or node_id,
                )
            )
        elif local_name(node) in _SUBPROCESSES:
            problems.extend(_unreached(name, node))
    return problems


def check_called_elements(
    bpmn_trees: dict[str, Any], dmn_trees: dict[str, Any]
) -> list[Problem]:
    """Business rule tasks and call activities must find what they call.

    A ``calledDecisionId`` needs a ``.dmn`` of the bundle defining that
    decision; a call activity's ``calledElement`` needs a process of the
    bundle.
    """
    decisions = sorted(
        str(decision.get("id"))
        for tree in dmn_trees.values()
        for decision in tree.xpath("//*[local-name()='decision']")
        if decision.get("id")
    )
    processes = sorted(
        str(process.get("id"))
        for tree in bpmn_trees.values()
        for process in tree.xpath("//bpmn:process", namespaces=NSMAP)
        if process.get("id")
    )
    problems: list[Problem] = []
    for name, tree in bpmn_trees.items():
        for task in tree.xpath("//bpmn:businessRuleTask", namespaces=NSMAP):
            refs = task.xpath(
                "bpmn:extensionElements/spiffworkflow:calledDecisionId",
                namespaces=NSMAP,
            )
            ref = (refs[0].text or "").strip() if refs else ""
            if not ref:
                problems.append(
                    problem(
                        name,
                        task.get("id"),
                        N_(
                            "La tarea de reglas de negocio no indica qué tabla de "
                            "decisión usa (calledDecisionId)."
                        ),
                    )
                )
            elif ref not in decisions:
                problems.append(
                    problem(
                        name,
                        task.get("id"),
                        N_(
                            "La tarea de reglas de negocio usa la tabla de decisión "
                            "«%(decision)s», pero ningún archivo .dmn del paquete "
                            "la define (tablas del paquete: %(available)s). Agregue "
                            "el archivo .dmn al paquete o corrija el identificador."
                        ),
                        decision=ref,
                        available=", ".join(decisions) or "ninguna",
                    )
                )
        for call in tree.xpath("//bpmn:callActivity", namespaces=NSMAP):
            ref = (call.get("calledElement") or "").strip()
            if ref not in processes:
                problems.append(
                    problem(
                        name,
                        call.get("id"),
                        N_(
                            "La actividad de llamada invoca el proceso «%(process)s», "
                            "que no está en el paquete (procesos del paquete: "
                            "%(available)s)."
                        ),
                        process=ref,
                        available=", ".join(processes) or "ninguno",
                    )
                )
    return problems
