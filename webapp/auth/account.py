"""Mi cuenta: change one's password, enrol or turn off TOTP, recovery codes.

Also the gate that keeps a user whose role requires a second factor on the
enrolment page until they have one (:func:`enforce_enrolment`).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user

from engine.domain.errors import InvalidData
from engine.services import second_factor, signin
from webapp.auth import StaffUser, bp, show_beside
from webapp.helpers import (
    client_key,
    field_errors,
    open_from_session,
    platform,
    require_actor,
    seal_for_session,
)

#: Session key of recovery codes waiting to be shown once (sealed).
NEW_CODES = "recovery_codes"

#: What a user who must enrol may still reach: enrolment, the codes page it
#: leads to, logout, the language switch and static files.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "auth.enrol",
        "auth.recovery_codes",
        "auth.logout",
        "public.language",
        "static",
    }
)


@bp.before_app_request
def enforce_enrolment() -> Any:
    """Send a signed-in user who must enrol a second factor to enrolment."""
    if request.endpoint in ENROLMENT_ENDPOINTS or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        return None
    if second_factor.must_enrol(platform(), current_user.actor):
        return redirect(url_for("auth.enrol"), code=303)
    return None


@bp.route("/cuenta", methods=["GET", "POST"])
@login_required
def account() -> Any:
    """The account page; POST changes the password (asks the current one)."""
    actor = require_actor()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        new = request.form.get("nueva", "")
        if new != request.form.get("repetir", ""):
            errors = {"repetir": [gettext("Las dos contraseñas no coinciden.")]}
        else:
            try:
                changed = signin.change_password(
                    platform(),
                    actor,
                    request.form.get("actual", ""),
                    new,
                    client=client_key(),
                )
            except InvalidData as exc:
                errors = field_errors(exc.errors)
                show_beside(errors, "password", "nueva")
                show_beside(errors, "current_password", "actual")
            else:
                # The change ended every session: this browser gets a new one.
                login_user(StaffUser(changed))
                flash(gettext("Contraseña cambiada."), "success")
                return redirect(url_for("auth.account"), code=303)
        status = 422
    return (
        render_template(
            "auth/account.html",
            factor=second_factor.status(platform(), actor),
            errors=errors,
            form=request.form.get("form", ""),
            policy=platform().signin.password_policy,
        ),
        status,
    )


@bp.route("/cuenta/doble-factor", methods=["GET", "POST"])
@login_required
def enrol() -> Any:
    """Enrol TOTP: scan the QR code, confirm with a first code."""
    actor = require_actor()
    p = platform()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            codes = second_factor.confirm_enrolment(
                p, actor, request.form.get("codigo", ""), client=client_key()
            )
        except InvalidData as exc:
            errors = field_errors(exc.errors)
            show_beside(errors, "code", "codigo")
            status = 422
        else:
            session[NEW_CODES] = seal_for_session({"codes": list(codes)})
            flash(gettext("Verificación en dos pasos activada."), "success")
            return redirect(url_for("auth.recovery_codes"), code=303)
    return (
        render_template(
            "auth/enrol.html",
            enrolment=second_factor.start_enrolment(p, actor),
            required=second_factor.is_required(p, actor),
            errors=errors,
        ),
        status,
    )


@bp.get("/cuenta/codigos")
@login_required
def recovery_codes() -> Any:
    """New recovery codes, shown once (then only their hashes remain)."""
    stored = open_from_session(session.pop(NEW_CODES, None))
    if stored is None:
        return redirect(url_for("auth.account"), code=303)
    return render_template("auth/recovery_codes.html", codes=stored["codes"])


@bp.post("/cuenta/codigos")
@login_required
def renew_codes() -> Any:
    """Replace the recovery codes, given the password."""
    actor = require_actor()
    try:
        codes = second_factor.regenerate_recovery_codes(
            platform(), actor, request.form.get("clave", "")
        )
    except InvalidData:
        flash(gettext("La contraseña no es correcta."), "error")
        return redirect(url_for("auth.account"), code=303)
    session[NEW_CODES] = seal_for_session({"codes": list(codes)})
    return redirect(url_for("auth.recovery_codes"), code=303)


@bp.post("/cuenta/doble-factor/desactivar")
@login_required
def disable() -> Any:
    """Turn one's TOTP off, given the password (refused where required)."""
    actor = require_actor()
    try:
        second_factor.disable_second_factor(
            platform(), actor, request.form.get("clave", "")
        )
    except InvalidData:
        flash(gettext("La contraseña no es correcta."), "error")
    else:
        flash(gettext("Verificación en dos pasos desactivada."), "success")
    return redirect(url_for("auth.account"), code=303)
