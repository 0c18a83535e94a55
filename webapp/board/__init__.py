"""Dashboards for supervisors (the whole center) and enlaces (their entity)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import login_required

from engine import services
from engine.errors import NotAllowed
from webapp.helpers import platform, require_actor

bp = Blueprint("board", __name__, template_folder="templates")


@bp.get("/tablero")
@login_required
def index() -> Any:
    """Open, overdue and errored cases, and the satisfaction average."""
    try:
        board = services.dashboard(platform(), require_actor())
    except NotAllowed:
        abort(403)
    return render_template("board/index.html", board=board, now=platform().clock())
