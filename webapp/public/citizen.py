"""Mis casos: a citizen signs in with a mailed link and sees their cases.

Citizens are not Flask-Login users: the address a link confirmed is kept
sealed in the session under its own key (:data:`CITIZEN`), with when it
was confirmed, and read back by :func:`signed_in_email`. Staff sign-in
never reads it; a staff login or logout starts a fresh session, which
signs the citizen out too (one person per browser session). Signing out
of Mis casos forgets the address and the cases this session could open,
and leaves any staff sign-in alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, gettext

from engine.domain.errors import InvalidData, TooManyAttempts
from engine.services import citizen_accounts
from engine.services.citizen_accounts import SignInLinkNotValid
from webapp.helpers import (
    client_key,
    field_errors,
    open_from_session,
    platform,
    seal_for_session,
    translate,
)
from webapp.public import TRACKING, bp, grant_case

#: Session key of the signed-in citizen (sealed: the address, and when the
#: link confirmed it).
CITIZEN = "citizen_email"
#: The email field of the sign-in form.
EMAIL_FIELD = "correo"
#: Longest page number read from the query (anything else is page 1).
MAX_PAGE_DIGITS = 6


def signed_in_email() -> str | None:
    """The address the signed-in citizen confirmed, or None.

    A sign-in lasts as long as a session (``PERMANENT_SESSION_LIFETIME``)
    from when the link was opened; an older or unreadable one is forgotten.
    """
    stored = open_from_session(session.get(CITIZEN))
    if not stored or not isinstance(stored.get("email"), str):
        return None
    try:
        since = datetime.fromisoformat(str(stored.get("at")))
    except ValueError:
        since = None
    now = platform().clock()
    if since is None or now - since > current_app.permanent_session_lifetime:
        session.pop(CITIZEN, None)
        return None
    return str(stored["email"])


def _is_page(value: str) -> bool:
    """Whether ``value`` reads as a page number (ASCII digits, not too many)."""
    return value.isascii() and value.isdigit() and len(value) <= MAX_PAGE_DIGITS


@bp.route("/mis-casos", methods=["GET", "POST"])
def my_cases() -> Any:
    """The cases of the signed-in citizen; otherwise the one-field form that
    mails a sign-in link (the same answer whatever the address)."""
    email = signed_in_email()
    if email and request.method == "GET":
        page = request.args.get("pagina", "")
        found = citizen_accounts.my_cases(
            platform(),
            email,
            int(page) if _is_page(page) else 1,
            language=str(get_locale()),
        )
        return render_template("public/my_cases.html", found=found)
    address = request.form.get(EMAIL_FIELD, "")
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            citizen_accounts.request_sign_in(
                platform(), address, client=client_key(), language=str(get_locale())
            )
        except InvalidData as exc:
            errors, status = field_errors(exc.errors), 422
            if "email" in errors:
                errors[EMAIL_FIELD] = errors.pop("email")
        except TooManyAttempts as exc:
            return _sign_in_page(address, error=translate(exc.message), status=429)
        else:
            return redirect(url_for("public.my_cases_sent"), code=303)
    return _sign_in_page(address, errors=errors, status=status)


def _sign_in_page(
    address: str,
    *,
    errors: dict[str, list[str]] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    """The sign-in form, with the field's errors or a message above it."""
    return (
        render_template(
            "public/my_cases_sign_in.html",
            address=address,
            errors=errors or {},
            error=error,
            minutes=max(1, platform().signin.citizen_link_ttl_s // 60),
        ),
        status,
    )


@bp.get("/mis-casos/enviado")
def my_cases_sent() -> Any:
    """ "Le enviamos un enlace": the same page whatever the address."""
    return render_template(
        "public/my_cases_sent.html",
        minutes=max(1, platform().signin.citizen_link_ttl_s // 60),
    )


@bp.get("/mis-casos/entrar/<token>")
def my_cases_link(token: str) -> Any:
    """Sign in with a mailed link (once) and land on the list; a used,
    expired or unknown link shows the form again with what to do."""
    p = platform()
    try:
        email = citizen_accounts.open_sign_in(p, token, client=client_key())
    except SignInLinkNotValid as exc:
        return _sign_in_page("", error=translate(exc.message), status=410)
    except TooManyAttempts as exc:
        return _sign_in_page("", error=translate(exc.message), status=429)
    session[CITIZEN] = seal_for_session({"email": email, "at": p.clock().isoformat()})
    return redirect(url_for("public.my_cases"), code=303)


@bp.get("/mis-casos/caso/<numero>")
def my_case(numero: str) -> Any:
    """Open one of the citizen's cases: this session may see it from now on
    (no code typed), and the tracking page shows it."""
    email = signed_in_email()
    if not email:
        return redirect(url_for("public.my_cases"), code=303)
    number = citizen_accounts.my_case(platform(), email, numero)
    grant_case(number)
    return redirect(url_for("public.track", numero=number), code=303)


@bp.post("/mis-casos/salir")
def my_cases_sign_out() -> Any:
    """Sign out of Mis casos: the address and the cases this session could
    open are forgotten; a staff sign-in, if any, stays."""
    session.pop(CITIZEN, None)
    session.pop(TRACKING, None)
    flash(gettext("Salió de Mis casos."), "success")
    return redirect(url_for("public.my_cases"), code=303)
