"""Administration: entities (``/admin/entidades``)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from engine.domain.errors import InvalidData
from engine.services import entities
from webapp.admin import bp, form_errors
from webapp.helpers import platform, require_actor, translate

#: The entity form's fields: form name → the service's key.
FIELDS = {
    "siglas": "code",
    "nombre": "name",
    "sector": "sector",
    "correo": "email",
    "categorias": "categories",
}


@bp.get("/entidades")
@login_required
def entity_list() -> Any:
    """Every entity with its categories, open cases and people (admins)."""
    actor = require_actor()
    rows = entities.list_entities_admin(platform(), actor)
    return render_template("admin/entities.html", entities=rows)


@bp.route("/entidades/nueva", methods=["GET", "POST"])
@login_required
def entity_new() -> Any:
    """Create an entity."""
    return _entity_form(None)


@bp.route("/entidades/<codigo>", methods=["GET", "POST"])
@login_required
def entity_edit(codigo: str) -> Any:
    """Edit an entity (its acronym stays)."""
    return _entity_form(codigo)


def _entity_form(code: str | None) -> Any:
    """Show the entity form, or save it and go back to the list."""
    actor = require_actor()
    p = platform()
    entities.require_admin(actor)
    current = entities.get_entity(p, actor, code) if code else None
    values = {name: "" for name in FIELDS}
    if current is not None:
        values.update(
            siglas=current.code,
            nombre=current.name,
            sector=current.sector,
            correo=current.email or "",
            categorias=", ".join(current.categories),
        )
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values.update({name: request.form.get(name, "") for name in FIELDS})
        data = {key: values[name] for name, key in FIELDS.items()}
        try:
            if current is None:
                saved = entities.create_entity(p, actor, data)
            else:
                saved = entities.edit_entity(p, actor, current.code, data)
        except InvalidData as exc:
            errors, status = form_errors(exc, FIELDS), 422
        else:
            flash(gettext("Entidad %(code)s guardada.", code=saved.code), "success")
            return redirect(url_for("admin.entity_list"), code=303)
    page = render_template(
        "admin/entity_form.html", current=current, values=values, errors=errors
    )
    return page, status


@bp.post("/entidades/<codigo>/activa")
@login_required
def entity_active(codigo: str) -> Any:
    """Deactivate (no open case left) or reactivate an entity.

    With open cases the refusal says how many and the entity's page links
    to a search of them.
    """
    actor = require_actor()
    active = request.form.get("activa") == "1"
    try:
        saved = entities.set_entity_active(platform(), actor, codigo, active)
    except entities.OpenCasesRemain as exc:
        flash(translate(exc.message), "error")
        return redirect(url_for("admin.entity_edit", codigo=exc.code), code=303)
    if saved.active:
        flash(gettext("Entidad %(code)s reactivada.", code=saved.code), "success")
    else:
        flash(gettext("Entidad %(code)s desactivada.", code=saved.code), "success")
    return redirect(url_for("admin.entity_list"), code=303)
