"""Sign-in for staff: password, second factor, mailed links, own account.

This module holds the sign-in itself (password step, code step, logout,
forgotten password, invitation and reset links); :mod:`webapp.auth.account`
holds "Mi cuenta" (password change, TOTP enrolment, recovery codes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from engine.domain.enums import TokenPurpose
from engine.domain.errors import InvalidData, NotFound, TooManyAttempts
from engine.domain.views import Actor
from engine.services import accounts, second_factor, signin
from engine.services.second_factor import NextStep
from webapp.helpers import (
    client_key,
    field_errors,
    open_from_session,
    platform,
    safe_next,
    seal_for_session,
    translate,
)

bp = Blueprint("auth", __name__, template_folder="templates")

#: Session key of a sign-in waiting for its code (sealed: user, epoch, when).
PENDING = "signin_pending"
#: Longest token accepted in a link's path (ours are 43 characters).
MAX_TOKEN = 100


class StaffUser(UserMixin):  # type: ignore[misc]
    """Flask-Login's view of an engine Actor."""

    def __init__(self, actor: Actor) -> None:
        """Wrap ``actor``."""
        self.actor = actor

    def get_id(self) -> str:
        """The session id: user id and the session epoch it was issued in.

        Logout and password changes bump the epoch, so every copy of a cookie
        carrying an older one stops working (server-side revocation).
        """
        return f"{self.actor.id}:{self.actor.session_epoch}"


def parse_session_id(session_id: str) -> tuple[int, int] | None:
    """(user id, epoch) from a session id, or None if it is not one of ours.

    Ids without an epoch (issued before revocation existed) are refused.
    """
    user_id, sep, epoch = session_id.partition(":")
    digits = user_id.isascii() and user_id.isdigit() and epoch.isdigit()
    if not sep or not digits or not epoch.isascii():
        return None
    return int(user_id), int(epoch)


def fresh_session() -> None:
    """Start a new session (no fixation), keeping only the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def show_beside(errors: dict[str, list[str]], service: str, form: str) -> None:
    """Show the messages of the service's field ``service`` beside ``form``."""
    if service in errors:
        errors[form] = errors.pop(service)


def home_for(actor: Actor) -> str:
    """Where a user starts: designers and admins who work no cases start
    on their own page."""
    if actor.has("disenador") and not actor.is_staff:
        return url_for("designer.index")
    if actor.has("admin") and not actor.is_staff:
        return url_for("admin.entity_list")
    return url_for("tasks.inbox")


def finish_login(actor: Actor, target: str | None) -> Any:
    """Sign ``actor`` in and send them where they were going."""
    fresh_session()
    login_user(StaffUser(actor))
    return redirect(target or home_for(actor), code=303)


@bp.route("/ingresar", methods=["GET", "POST"])
def login() -> Any:
    """Log in with username and password (throttled per client).

    A user with a second factor goes on to the code step; one whose role
    requires it and has none is signed in to enrol (see :func:`enforce_enrolment`).
    """
    if current_user.is_authenticated:
        return redirect(url_for("tasks.inbox"))
    error = None
    username = request.form.get("usuario", "")
    status = 200
    if request.method == "POST":
        target = safe_next(request.args.get("next"))
        try:
            step = second_factor.password_step(
                platform(),
                username,
                request.form.get("clave", ""),
                client=client_key(),
            )
        except NotFound as exc:
            error, status = translate(exc.message), 401
        except TooManyAttempts as exc:
            error, status = translate(exc.message), 429
        else:
            if step.next is NextStep.CODE:
                fresh_session()
                session[PENDING] = seal_for_session(
                    {
                        "user": step.actor.id,
                        "epoch": step.actor.session_epoch,
                        "at": platform().clock().isoformat(),
                        "next": target,
                    }
                )
                return redirect(url_for("auth.code"), code=303)
            return finish_login(step.actor, target)
    return (
        render_template("auth/login.html", error=error, username=username),
        status,
    )


@bp.route("/ingresar/codigo", methods=["GET", "POST"])
def code() -> Any:
    """The second step: a code from the authenticator app or a recovery code."""
    pending = open_from_session(session.get(PENDING))
    if pending is None:
        return redirect(url_for("auth.login"), code=303)
    error = None
    status = 200
    if request.method == "POST":
        try:
            actor = second_factor.code_step(
                platform(),
                int(pending["user"]),
                int(pending["epoch"]),
                datetime.fromisoformat(str(pending["at"])),
                request.form.get("codigo", ""),
                client=client_key(),
            )
        except NotFound as exc:
            error, status = translate(exc.message), 401
        except TooManyAttempts as exc:
            error, status = translate(exc.message), 429
        else:
            return finish_login(actor, safe_next(pending.get("next")))
    return render_template("auth/code.html", error=error), status


@bp.post("/salir")
@login_required
def logout() -> Any:
    """Log out (POST with CSRF, so no link can log someone out)."""
    # Bump the epoch first: a copy of this cookie elsewhere (stolen, or on
    # a shared computer) stops working too, not just this browser's.
    accounts.end_sessions(platform(), current_user.actor.id)
    logout_user()
    fresh_session()
    return redirect(url_for("public.home"), code=303)


@bp.route("/ingresar/olvide", methods=["GET", "POST"])
def forgot() -> Any:
    """Ask for a password-reset link; the same answer for any address."""
    errors: dict[str, list[str]] = {}
    email = request.form.get("correo", "")
    status = 200
    if request.method == "POST":
        try:
            signin.request_password_reset(platform(), email, client=client_key())
        except InvalidData as exc:
            errors, status = field_errors(exc.errors), 422
            show_beside(errors, "email", "correo")
        else:
            flash(
                gettext(
                    "Si esa dirección corresponde a una cuenta, le enviamos un "
                    "enlace para elegir una contraseña nueva. Revise su correo."
                ),
                "success",
            )
            return redirect(url_for("auth.login"), code=303)
    return (
        render_template("auth/forgot.html", errors=errors, email=email),
        status,
    )


@bp.route("/ingresar/invitacion/<token>", methods=["GET", "POST"])
def invitation(token: str) -> Any:
    """Choose a first password with the invitation link."""
    return _link_page(TokenPurpose.INVITE, token)


@bp.route("/ingresar/restablecer/<token>", methods=["GET", "POST"])
def reset(token: str) -> Any:
    """Choose a new password with a reset link."""
    return _link_page(TokenPurpose.RESET, token)


def _link_page(purpose: TokenPurpose, token: str) -> Any:
    """The set-password page of a mailed link (NotFound → the error page)."""
    if len(token) > MAX_TOKEN:
        abort(404)
    p = platform()
    holder = signin.check_link(p, purpose, token, client=client_key())
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        password = request.form.get("nueva", "")
        if password != request.form.get("repetir", ""):
            errors = {"repetir": [gettext("Las dos contraseñas no coinciden.")]}
        else:
            try:
                signin.set_password_by_link(
                    p, purpose, token, password, client=client_key()
                )
            except InvalidData as exc:
                errors = field_errors(exc.errors)
                show_beside(errors, "password", "nueva")
            else:
                if current_user.is_authenticated:
                    logout_user()
                fresh_session()
                flash(
                    gettext("Contraseña guardada. Ya puede ingresar con ella."),
                    "success",
                )
                return redirect(url_for("auth.login"), code=303)
        status = 422
    return (
        render_template(
            "auth/set_password.html",
            holder=holder,
            invitation=purpose is TokenPurpose.INVITE,
            errors=errors,
            policy=p.signin.password_policy,
        ),
        status,
    )


# Registered last: the account pages use this blueprint.
from webapp.auth import account  # noqa: E402, F401
