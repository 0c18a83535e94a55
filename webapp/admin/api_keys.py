"""Administration: API keys of outside systems (``/admin/claves-api``).

A new key is shown once, on the page that answers its creation (never in
a redirect, a flash message or a log): only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from engine.domain.errors import InvalidData
from engine.services import api_keys
from webapp.admin import bp
from webapp.helpers import field_errors, platform, require_actor


@bp.route("/claves-api", methods=["GET", "POST"])
@login_required
def api_key_list() -> Any:
    """List the keys; create one (its text shown this once)."""
    actor = require_actor()
    p = platform()
    api_keys.require_admin(actor)
    errors: dict[str, list[str]] = {}
    values = {"nombre": request.form.get("nombre", "")}
    created = None
    status = 200
    if request.method == "POST":
        try:
            created = api_keys.create_key(p, actor, values["nombre"])
        except InvalidData as exc:
            errors = field_errors(exc.errors)
            status = 422
        else:
            values = {"nombre": ""}
            status = 201
    return (
        render_template(
            "admin/api_keys.html",
            keys=api_keys.list_keys(p, actor),
            created=created,
            errors=errors,
            values=values,
        ),
        status,
    )


@bp.post("/claves-api/<int:key_id>/revocar")
@login_required
def api_key_revoke(key_id: int) -> Any:
    """Revoke a key at once."""
    revoked = api_keys.revoke_key(platform(), require_actor(), key_id)
    flash(gettext("Clave «%(name)s» revocada.", name=revoked.name), "success")
    return redirect(url_for("admin.api_key_list"), code=303)
