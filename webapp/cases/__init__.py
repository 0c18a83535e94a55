"""The staff case page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import login_required

from engine import services
from engine.errors import NotAllowed, NotFound
from webapp.helpers import platform, require_actor

bp = Blueprint("cases", __name__, template_folder="templates")


@bp.get("/casos/<numero>")
@login_required
def detail(numero: str) -> Any:
    """A case: data, contact, open tasks and the audit timeline."""
    actor = require_actor()
    try:
        case = services.get_case(platform(), actor, numero)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    return render_template("cases/detail.html", case=case)
