"""Staff inbox and task pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from engine import services
from engine.domain.errors import Conflict, InvalidData, ProcessFailed
from engine.services.common import submitted_values
from webapp.helpers import (
    field_errors,
    oversized,
    platform,
    raw_form,
    require_actor,
    translate,
    uploads,
)

bp = Blueprint("tasks", __name__, template_folder="templates")


@bp.get("/tareas")
@login_required
def inbox() -> Any:
    """The ready tasks the user's role (and entity) may do."""
    actor = require_actor()
    return render_template(
        "tasks/inbox.html",
        tasks=services.list_tasks(platform(), actor),
        case_types=(
            services.list_case_types(platform())
            if actor.has("agente_311", "supervisor_311")
            else []
        ),
        now=platform().clock(),
    )


@bp.route("/tareas/<task_id>", methods=["GET", "POST"])
@login_required
def detail(task_id: str) -> Any:
    """One task: the case summary, instructions and form; POST completes it."""
    actor = require_actor()
    p = platform()
    view = services.get_task(p, actor, task_id)
    # Fields marked x-prefill come filled with what the diagram computed
    # (e.g. the suggested entity); others start empty, so a loop back to a
    # task never resubmits last round's answers.
    fields = view.form.schema.get("properties", {})
    values: dict[str, Any] = {
        k: v
        for k, v in view.case.data.items()
        if isinstance(fields.get(k), dict) and fields[k].get("x-prefill")
    }
    errors: dict[str, list[str]] = {}
    conflict = None
    status = 200
    if request.method == "POST":
        raw = raw_form()
        data = submitted_values(view.form.schema, raw)
        errors = oversized(raw)
        if not errors:
            try:
                done = services.complete_task(
                    p, actor, task_id, data, uploads("adjuntos")
                )
            except InvalidData as exc:
                errors = field_errors(exc.errors)
            except Conflict as exc:
                conflict = translate(exc.message)
                status = 409
            except ProcessFailed as exc:
                errors = {"": [translate(exc.message)]}
            else:
                flash(
                    gettext(
                        "Tarea completada. Caso %(number)s: %(status)s.",
                        number=done.case_number,
                        status=done.public_status,
                    ),
                    "success",
                )
                return redirect(url_for("tasks.inbox"), code=303)
        values = {k: (v if len(v) > 1 else v[0]) for k, v in raw.items() if v}
        if errors:
            status = 422
        if conflict:
            view = services.get_task(p, actor, task_id)
    return (
        render_template(
            "tasks/detail.html",
            view=view,
            values=values,
            errors=errors,
            conflict=conflict,
        ),
        status,
    )
