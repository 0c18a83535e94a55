"""Administration: entities (``/admin/entidades``)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
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
    values = _values(current)
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
    return _form_page(current, values, errors), status


def _values(current: Any) -> dict[str, str]:
    """The form's fields as an entity has them (empty for a new one)."""
    values = {name: "" for name in FIELDS}
    if current is not None:
        values.update(
            siglas=current.code,
            nombre=current.name,
            sector=current.sector,
            correo=current.email or "",
            categorias=", ".join(current.categories),
        )
    return values


def _form_page(
    current: Any,
    values: dict[str, str],
    errors: dict[str, list[str]],
    destino: str = "",
) -> str:
    """The entity page; with open cases to move, the entities to receive
    them (``destino``: the one chosen, its errors under ``destino``)."""
    choices = []
    if current is not None and current.active and current.open_cases:
        choices = entities.transfer_choices(platform(), require_actor(), current.code)
    return render_template(
        "admin/entity_form.html",
        current=current,
        values=values,
        errors=errors,
        choices=choices,
        destino=destino,
    )


@bp.post("/entidades/<codigo>/activa")
@login_required
def entity_active(codigo: str) -> Any:
    """Deactivate or reactivate an entity.

    Its open cases go to the entity chosen in ``destino`` (each a transfer);
    with open cases and none chosen, the page says how many and asks.
    """
    actor = require_actor()
    p = platform()
    if request.form.get("activa") == "1":
        saved = entities.set_entity_active(p, actor, codigo, True)
        flash(gettext("Entidad %(code)s reactivada.", code=saved.code), "success")
        return redirect(url_for("admin.entity_list"), code=303)
    destino = request.form.get("destino", "").strip()[:20]
    try:
        done = entities.deactivate_entity(p, actor, codigo, destino or None)
    except entities.OpenCasesRemain as exc:
        flash(translate(exc.message), "error")
        return redirect(url_for("admin.entity_edit", codigo=exc.code), code=303)
    except InvalidData as exc:
        current = entities.get_entity(p, actor, codigo)
        errors = form_errors(exc, {"destino": "transfer_to"})
        return _form_page(current, _values(current), errors, destino), 422
    if done.moved:
        flash(
            ngettext(
                "Entidad %(code)s desactivada: %(num)s caso pasó a %(to)s.",
                "Entidad %(code)s desactivada: %(num)s casos pasaron a %(to)s.",
                done.moved,
                code=done.entity.code,
                to=done.to,
            ),
            "success",
        )
    else:
        flash(
            gettext("Entidad %(code)s desactivada.", code=done.entity.code), "success"
        )
    return redirect(url_for("admin.entity_list"), code=303)
