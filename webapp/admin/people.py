"""Administration: people (``/admin/usuarios``)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_login import login_required

from engine.domain.errors import InvalidData
from engine.services import accounts, people, signin
from webapp.admin import bp, form_errors
from webapp.helpers import platform, require_actor

#: The person form's fields: form name → the service's key.
FIELDS = {
    "usuario": "username",
    "nombre": "full_name",
    "correo": "email",
    "roles": "roles",
    "entidad": "entity_codes",
    "clave": "password",
}


@bp.get("/usuarios")
@login_required
def people_list() -> Any:
    """Every staff account with roles, entities and held tasks (admins)."""
    actor = require_actor()
    rows = people.list_people(platform(), actor)
    return render_template("admin/people.html", people=rows)


@bp.route("/usuarios/nuevo", methods=["GET", "POST"])
@login_required
def person_new() -> Any:
    """Create a person with roles and a first password."""
    return _person_form(None)


@bp.route("/usuarios/<int:user_id>", methods=["GET", "POST"])
@login_required
def person_edit(user_id: int) -> Any:
    """Edit a person's name, mail, roles and entities."""
    return _person_form(user_id)


def _person_form(user_id: int | None) -> Any:
    """Show the person form, or save it and go back to the list."""
    actor = require_actor()
    p = platform()
    current = people.get_person(p, actor, user_id) if user_id else None
    people.require_admin(actor)
    values: dict[str, Any] = {name: "" for name in FIELDS}
    values["roles"] = []
    values["entidad"] = []
    if current is not None:
        values.update(
            usuario=current.username,
            nombre=current.full_name,
            correo=current.email or "",
            roles=list(current.roles),
            entidad=list(current.entity_codes),
        )
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        for name in FIELDS:
            if name in ("roles", "entidad"):
                values[name] = request.form.getlist(name)
            elif not (current is not None and name == "usuario"):
                values[name] = request.form.get(name, "")
        data = {key: values[name] for name, key in FIELDS.items()}
        try:
            if current is None:
                saved = people.create_person(p, actor, data)
                if not data.get("password"):
                    signin.invite_user(p, actor, saved.id)
            else:
                saved = people.edit_person(p, actor, current.id, data)
        except InvalidData as exc:
            errors, status = form_errors(exc, FIELDS), 422
        else:
            if current is None and not data.get("password"):
                flash(
                    gettext(
                        "%(name)s: cuenta creada; le enviamos una invitación a "
                        "%(email)s para que elija su contraseña.",
                        name=saved.full_name,
                        email=saved.email or "",
                    ),
                    "success",
                )
            else:
                flash(
                    gettext("%(name)s: datos guardados.", name=saved.full_name),
                    "success",
                )
            return redirect(url_for("admin.people_list"), code=303)
    values["clave"] = ""  # a password is never sent back to the page
    page = render_template(
        "admin/person_form.html",
        current=current,
        values=values,
        errors=errors,
        roles=people.STAFF_ROLE_KEYS,
        # Active entities, and any the person keeps since it was deactivated.
        entities=[
            e
            for e in accounts.list_entities(p)
            if e.active or e.code in values["entidad"]
        ],
    )
    return page, status


@bp.post("/usuarios/<int:user_id>/invitacion")
@login_required
def person_invite(user_id: int) -> Any:
    """Mail a person a link to choose their password (admins; audited)."""
    sent = signin.invite_user(platform(), require_actor(), user_id)
    flash(gettext("Invitación enviada a %(email)s.", email=sent.email), "success")
    return redirect(url_for("admin.person_edit", user_id=user_id), code=303)


@bp.post("/usuarios/<int:user_id>/activa")
@login_required
def person_active(user_id: int) -> Any:
    """Deactivate (sessions end, held tasks go back) or reactivate a person."""
    actor = require_actor()
    active = request.form.get("activa") == "1"
    done = people.set_person_active(platform(), actor, user_id, active)
    name = done.person.full_name
    if active:
        flash(gettext("%(name)s está activo de nuevo.", name=name), "success")
    else:
        flash(
            ngettext(
                "%(name)s desactivado: sus sesiones terminaron y %(num)s tarea"
                " volvió a su cola.",
                "%(name)s desactivado: sus sesiones terminaron y %(num)s tareas"
                " volvieron a su cola.",
                len(done.released),
                name=name,
            ),
            "success",
        )
    return redirect(url_for("admin.people_list"), code=303)
