"""The staff case page with its live diagram, and unsealing a reserved identity."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_login import login_required

from engine import services
from engine.domain.errors import InvalidData, NotAllowed, NotFound, ProcessFailed
from engine.services import design
from engine.services.design import CaseDiagram
from webapp.helpers import field_errors, platform, require_actor, translate

bp = Blueprint("cases", __name__, template_folder="templates")


@bp.get("/casos/<numero>")
@login_required
def detail(numero: str) -> Any:
    """A case: data, contact, open tasks, its diagram and the audit timeline."""
    case = services.get_case(platform(), require_actor(), numero)
    return render_template(
        "cases/detail.html", case=case, diagram=_page_diagram(numero)
    )


def _page_diagram(numero: str) -> CaseDiagram | None:
    """The diagram section's data (None when the case has no diagram).

    The page shows the case without its diagram rather than failing: a
    version may hold no diagram to draw.
    """
    try:
        return design.case_diagram(platform(), require_actor(), numero)
    except (NotFound, NotAllowed):
        return None


@bp.get("/casos/<numero>/diagrama.bpmn")
@login_required
def diagram(numero: str) -> Any:
    """The BPMN XML of the version the case runs on (access-checked)."""
    found = design.case_diagram(platform(), require_actor(), numero)
    response = Response(found.bpmn, mimetype="application/xml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.get("/casos/<numero>/diagrama.json")
@login_required
def diagram_state(numero: str) -> Any:
    """The case's completed and current element ids, as JSON."""
    found = design.case_diagram(platform(), require_actor(), numero)
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
    except InvalidData as exc:
        errors, status = field_errors(exc.errors), 422
    except ProcessFailed as exc:
        errors, status = {"motivo": [translate(exc.message)]}, 500
    case = services.get_case(platform(), actor, numero)
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
