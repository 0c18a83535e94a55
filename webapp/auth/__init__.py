"""Login and logout for staff and citizens with accounts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from engine.domain.errors import NotFound, TooManyAttempts
from engine.domain.views import Actor
from engine.services import accounts
from webapp.helpers import client_key, platform, safe_next, translate

bp = Blueprint("auth", __name__, template_folder="templates")


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
            # Designers and admins who work no cases start on their own page.
            home = "tasks.inbox"
            if not actor.is_staff and actor.has("disenador"):
                home = "designer.index"
            elif not actor.is_staff and actor.has("admin"):
                home = "admin.entity_list"
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
    # Bump the epoch first: a copy of this cookie elsewhere (stolen, or on
    # a shared computer) stops working too, not just this browser's.
    accounts.end_sessions(platform(), current_user.actor.id)
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("public.home"), code=303)
