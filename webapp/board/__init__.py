"""Dashboards for supervisors (the whole center) and enlaces (their entity)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import login_required

from engine import services
from engine.services import mail
from webapp.helpers import platform, require_actor

bp = Blueprint("board", __name__, template_folder="templates")


@bp.get("/tablero")
@login_required
def index() -> Any:
    """Open, overdue and errored cases, the satisfaction average, failed mail.

    Failed mail (the citizens' addresses and the delivery errors) is shown to
    supervisors only.
    """
    actor = require_actor()
    board = services.dashboard(platform(), actor)
    failed_mail = None
    if actor.has("supervisor_311"):
        failed_mail = mail.failed_messages(platform(), actor)
    return render_template(
        "board/index.html",
        board=board,
        failed_mail=failed_mail,
        now=platform().clock(),
    )
