"""Login and logout for staff and citizens with accounts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from engine import accounts
from engine.errors import NotFound, TooManyAttempts
from engine.views import Actor
from webapp.helpers import client_key, platform, safe_next, translate

bp = Blueprint("auth", __name__, template_folder="templates")


class StaffUser(UserMixin):  # type: ignore[misc]
    """Flask-Login's view of an engine Actor."""

    def __init__(self, actor: Actor) -> None:
        """Wrap ``actor``."""
        self.actor = actor

    def get_id(self) -> str:
        """The session id of the user."""
        return str(self.actor.id)


@bp.route("/ingresar", methods=["GET", "POST"])
def login() -> Any:
    """Log in with username and password (throttled per client)."""
    if current_user.is_authenticated:
        return redirect(url_for("tasks.inbox"))
    error = None
    username = request.form.get("usuario", "")
    status = 200
    if request.method == "POST":
        try:
            actor = accounts.authenticate(
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
            lang = session.get("lang")
            session.clear()  # no fixation: a fresh session on login
            if lang:
                session["lang"] = lang
            login_user(StaffUser(actor))
            target = safe_next(request.args.get("next"))
            # Designers who work no cases start on their own page.
            home = (
                "designer.index"
                if actor.has("disenador") and not actor.is_staff
                else "tasks.inbox"
            )
            return redirect(target or url_for(home), code=303)
    return (
        render_template("auth/login.html", error=error, username=username),
        status,
    )


@bp.post("/salir")
@login_required
def logout() -> Any:
    """Log out (POST with CSRF, so no link can log someone out)."""
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("public.home"), code=303)
