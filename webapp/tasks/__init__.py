"""Staff inbox (tabs, paging, claiming, handing over) and task pages."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_login import login_required

from engine import services
from engine.domain.duplicates import MergeFamily
from engine.domain.enums import Role
from engine.domain.errors import Conflict, InvalidData, ProcessFailed
from engine.domain.views import Actor
from engine.domain.workspace import QUEUE_TABS
from engine.services.common import submitted_values
from webapp.helpers import (
    field_errors,
    oversized,
    platform,
    raw_form,
    require_actor,
    safe_next,
    translate,
    uploads,
)

#: The confirm button of the 409 page: complete a task someone else holds.
TAKE_OVER = "completar_de_todos_modos"

bp = Blueprint("tasks", __name__, template_folder="templates")


@bp.get("/tareas")
@login_required
def inbox() -> Any:
    """One tab of the inbox (``?tab=mine|role|entity|overdue&pagina=N``)."""
    actor = require_actor()
    tab = request.args.get("tab", "")
    if tab and tab not in QUEUE_TABS:
        abort(404)
    page = request.args.get("pagina", "1")
    return render_template(
        "tasks/inbox.html",
        queue=services.list_queue(
            platform(), actor, tab, int(page) if page.isdigit() else 1
        ),
        tab_labels=QUEUE_TABS,
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
    values: dict[str, Any] = dict(view.prefill)
    errors: dict[str, list[str]] = {}
    conflict = None
    status = 200
    if request.method == "POST":
        raw = raw_form()
        raw.pop(TAKE_OVER, None)
        data = submitted_values(view.form.schema, raw)
        errors = oversized(raw)
        if not errors:
            try:
                done = services.complete_task(
                    p,
                    actor,
                    task_id,
                    data,
                    uploads("adjuntos"),
                    take_over=TAKE_OVER in request.form,
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
                if view.case.practice:  # the designer goes on practising
                    back = url_for(
                        "designer.practice_page",
                        tipo=view.case.case_type,
                        n=view.case.version,
                    )
                    return redirect(back, code=303)
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
            take_over=TAKE_OVER,
            family=_family(actor, view.case.number),
        ),
        status,
    )


def _family(actor: Actor, number: str) -> MergeFamily | None:
    """The duplicates panel for the 311's staff (triage), None for others."""
    if not actor.has(Role.AGENT, Role.SUPERVISOR):
        return None
    return services.merge_family(platform(), actor, number)


def _back(default: str) -> Any:
    """303 to the page the form came from (``next``), else ``default``."""
    return redirect(safe_next(request.form.get("next")) or default, code=303)


def _user_id() -> int:
    """The person chosen in the form's ``usuario`` select (400 if none)."""
    value = request.form.get("usuario", "")
    if not value.isdigit():
        abort(400)
    return int(value)


@bp.post("/tareas/<task_id>/tomar")
@login_required
def claim(task_id: str) -> Any:
    """Take a task: it moves to the actor's "mine" tab."""
    services.claim_task(platform(), require_actor(), task_id)
    flash(gettext("Tomó la tarea: ahora está en «Mis tareas»."), "success")
    return _back(url_for("tasks.detail", task_id=task_id))


@bp.post("/tareas/<task_id>/soltar")
@login_required
def release(task_id: str) -> Any:
    """Give a task back to its queue."""
    services.release_task(platform(), require_actor(), task_id)
    flash(gettext("La tarea volvió a la bandeja sin asignar."), "success")
    return _back(url_for("tasks.inbox"))


@bp.post("/tareas/<task_id>/asignar")
@login_required
def assign(task_id: str) -> Any:
    """Hand a task to the person chosen."""
    done = services.assign_task(platform(), require_actor(), task_id, _user_id())
    flash(gettext("Tarea asignada a %(who)s.", who=done.holder), "success")
    return _back(url_for("tasks.detail", task_id=task_id))


@bp.post("/tareas/asignar")
@login_required
def bulk_assign() -> Any:
    """A supervisor hands the tasks ticked on the inbox to one person."""
    chosen = request.form.getlist("tareas")
    if not chosen:
        flash(gettext("Marque al menos una tarea para asignar."), "error")
        return _back(url_for("tasks.inbox"))
    done = services.bulk_assign(platform(), require_actor(), chosen, _user_id())
    flash(
        ngettext(
            "%(num)s tarea asignada a %(who)s.",
            "%(num)s tareas asignadas a %(who)s.",
            done.tasks,
            who=done.holder,
        ),
        "success",
    )
    return _back(url_for("tasks.inbox"))
