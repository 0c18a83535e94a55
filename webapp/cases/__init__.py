"""The staff case page with its live diagram, and unsealing a reserved identity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_login import login_required
from lxml import etree

from engine import services
from engine.bundles.registry import safe_xml_parser
from engine.domain.errors import InvalidData, NotAllowed, NotFound, ProcessFailed
from engine.services import design
from engine.services.design import CaseDiagram
from webapp.helpers import field_errors, platform, require_actor, translate

bp = Blueprint("cases", __name__, template_folder="templates")


@dataclass(frozen=True)
class DiagramView:
    """A case's diagram for the page: the markers' ids and the steps' names.

    Timers and other boundary events armed on the current activity are
    "waiting", not current steps: they are shown apart so the current step
    stands out.
    """

    version: int
    completed_ids: str
    current_ids: str
    waiting_ids: str
    completed: list[str]
    current: list[str]
    waiting: list[str]


def _diagram_or_abort(numero: str) -> CaseDiagram:
    """The case's own diagram with its progress, or 404/403 like the page."""
    try:
        return design.case_diagram(platform(), require_actor(), numero)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)


def _elements(bpmn: str) -> dict[str, tuple[str, str]]:
    """Element id → (kind, name) in a diagram, read with an XXE-safe parser."""
    try:
        root = etree.fromstring(bpmn.encode(), safe_xml_parser())
    except (etree.XMLSyntaxError, ValueError):
        return {}
    return {
        str(el.get("id")): (etree.QName(el).localname, str(el.get("name") or ""))
        for el in root.iter()
        if isinstance(el.tag, str) and el.get("id")
    }


def _diagram_view(diagram: CaseDiagram) -> DiagramView:
    """Markers for the script, and the steps as text for everyone else."""
    elements = _elements(diagram.bpmn)
    kinds = {i: kind for i, (kind, _) in elements.items()}
    names = {i: name for i, (_, name) in elements.items() if name}
    waiting = [i for i in diagram.current if kinds.get(i) == "boundaryEvent"]
    current = [i for i in diagram.current if i not in waiting]
    # A step active again (a loop) is shown as current, not as done.
    done = [i for i in diagram.completed if i not in diagram.current]
    return DiagramView(
        version=diagram.version,
        completed_ids=json.dumps(done),
        current_ids=json.dumps(current),
        waiting_ids=json.dumps(waiting),
        completed=[names[i] for i in done if i in names],
        current=[names.get(i, i) for i in current],
        waiting=[names.get(i, i) for i in waiting],
    )


def _case_or_abort(numero: str) -> Any:
    """The staff view of a case, or 404/403."""
    try:
        return services.get_case(platform(), require_actor(), numero)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)


@bp.get("/casos/<numero>")
@login_required
def detail(numero: str) -> Any:
    """A case: data, contact, open tasks, its diagram and the audit timeline."""
    case = _case_or_abort(numero)
    return render_template(
        "cases/detail.html", case=case, diagram=_page_diagram(numero)
    )


def _page_diagram(numero: str) -> DiagramView | None:
    """The diagram section's data (None when the case has no diagram)."""
    try:
        return _diagram_view(design.case_diagram(platform(), require_actor(), numero))
    except (NotFound, NotAllowed):
        return None


@bp.get("/casos/<numero>/diagrama.bpmn")
@login_required
def diagram(numero: str) -> Any:
    """The BPMN XML of the version the case runs on (access-checked)."""
    response = Response(_diagram_or_abort(numero).bpmn, mimetype="application/xml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.get("/casos/<numero>/diagrama.json")
@login_required
def diagram_state(numero: str) -> Any:
    """The case's completed and current element ids, as JSON."""
    found = _diagram_or_abort(numero)
    return {
        "numero": found.number,
        "version": found.version,
        "completados": found.completed,
        "actuales": found.current,
    }


@bp.post("/casos/<numero>/identidad")
@login_required
def unseal(numero: str) -> Any:
    """A supervisor opens a reserved identity, giving a reason (audited).

    The identity is shown in this response only; nothing is kept in the
    session or in the page history beyond the audit event.
    """
    actor = require_actor()
    reason = request.form.get("motivo", "")
    errors: dict[str, list[str]] = {}
    contact = None
    status = 200
    try:
        contact = services.unseal_identity(platform(), actor, numero, reason)
    except NotAllowed:
        abort(403)
    except NotFound:
        abort(404)
    except InvalidData as exc:
        errors, status = field_errors(exc.errors), 422
    except ProcessFailed as exc:
        errors, status = {"motivo": [translate(exc.message)]}, 500
    case = _case_or_abort(numero)
    return (
        render_template(
            "cases/detail.html",
            case=case,
            diagram=_page_diagram(numero),
            unsealed=contact,
            unseal_errors=errors,
            reason=reason,
        ),
        status,
    )
