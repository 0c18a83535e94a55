"""Administration: entities, people, the audit log and days off.

One blueprint (``/admin``); each area's views live in a module of this
package (``entities``, ``people``, ``audit``), days off here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from engine import services
from engine.domain.errors import InvalidData
from webapp.helpers import field_errors, platform, require_actor

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")


@bp.route("/dias-libres", methods=["GET", "POST"])
@login_required
def days_off() -> Any:
    """List and add days off; deadlines computed afterwards skip them."""
    actor = require_actor()
    if not actor.has("admin"):
        abort(403)
    errors: dict[str, list[str]] = {}
    values = {
        "dia": request.form.get("dia", ""),
        "nombre": request.form.get("nombre", ""),
    }
    status = 200
    if request.method == "POST":
        try:
            day = date.fromisoformat(values["dia"])
        except ValueError:
            errors = {"dia": [gettext("Escriba una fecha válida (AAAA-MM-DD).")]}
        else:
            try:
                services.add_day_off(platform(), actor, day, values["nombre"])
            except InvalidData as exc:
                errors = field_errors(exc.errors)
            else:
                flash(gettext("Día libre registrado."), "success")
                return redirect(url_for("admin.days_off"), code=303)
        status = 422
    return (
        render_template(
            "admin/days_off.html",
            days=services.list_days_off(platform()),
            errors=errors,
            values=values,
        ),
        status,
    )


@bp.post("/dias-libres/<dia>/borrar")
@login_required
def remove_day_off(dia: str) -> Any:
    """Remove a day off."""
    actor = require_actor()
    try:
        day = date.fromisoformat(dia)
    except ValueError:
        abort(404)  # not a date, so not a day off in the list
    services.remove_day_off(platform(), actor, day)
    flash(gettext("Día libre eliminado."), "success")
    return redirect(url_for("admin.days_off"), code=303)


def form_errors(exc: InvalidData, fields: dict[str, str]) -> dict[str, list[str]]:
    """The service's per-key messages under the form's field names."""
    return field_errors(
        {name: exc.errors[key] for name, key in fields.items() if key in exc.errors}
    )


# The areas' views register on ``bp`` when imported.
from webapp.admin import (  # noqa: E402, F401
    api_keys,
    audit,
    directory,
    entities,
    people,
)
