"""The staff case page, and unsealing a reserved identity."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from engine import services
from engine.errors import InvalidData, NotAllowed, NotFound, ProcessFailed
from webapp.helpers import field_errors, platform, require_actor, translate

bp = Blueprint("cases", __name__, template_folder="templates")


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
    """A case: data, contact, open tasks and the audit timeline."""
    return render_template("cases/detail.html", case=_case_or_abort(numero))


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
            unsealed=contact,
            unseal_errors=errors,
            reason=reason,
        ),
        status,
    )
