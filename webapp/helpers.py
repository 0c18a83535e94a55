"""Small helpers the blueprints share."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from babel.dates import get_datetime_format
from flask import Response, abort, current_app, request
from flask_babel import format_date, format_time, get_locale, gettext
from flask_login import current_user

from engine.domain.errors import Message
from engine.domain.sealing import seal, unseal
from engine.domain.security import derive_key
from engine.domain.views import Actor, AttachmentFile, Upload
from engine.services.platform import Platform

#: HKDF purpose label of the key that seals secrets kept in the session.
_SESSION_SEAL_PURPOSE = "session-secrets-v1"

#: Endpoints whose forms carry files: their requests may be as large as a
#: case's attachments together (see :func:`allow_uploads`).
UPLOAD_ENDPOINTS = frozenset(
    {"public.intake", "public.citizen_task", "tasks.detail", "cases.add_note"}
)

#: Headers of every attachment download: never rendered, sniffed or cached.
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}

#: C0 control characters refused anywhere in a request (tab, CR, LF allowed):
#: PostgreSQL refuses NUL in text, and none of them belongs in what people type.
_CONTROL = frozenset(chr(c) for c in range(32)) - {"\t", "\r", "\n"}


def platform() -> Platform:
    """The engine platform of this app."""
    return current_app.extensions["centro311"]


def current_actor() -> Actor | None:
    """The logged-in user as an engine Actor (None for anonymous citizens)."""
    if current_user.is_authenticated:
        return current_user.actor
    return None


def require_actor() -> Actor:
    """The logged-in actor, or 401 → the login page."""
    actor = current_actor()
    if actor is None:
        abort(401)
    return actor


def client_key() -> str:
    """Who is asking, for throttling (the client address)."""
    return request.remote_addr or "unknown"


def safe_next(target: str | None) -> str | None:
    """A same-site path to go to after a form, or None.

    Only plain relative paths: ``//host`` and ``/\\host`` are read by browsers
    as other sites, and control characters never belong in a path.
    """
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    if any(ord(ch) < 32 for ch in target):
        return None
    return target


def has_control_characters(text: str) -> bool:
    """True if ``text`` holds a C0 control character other than tab, CR, LF."""
    return not _CONTROL.isdisjoint(text)


def request_has_control_characters() -> bool:
    """True if the path, a query or form key or value holds a control char.

    Checked once before every request, so no view (and no database, which
    refuses NUL) ever sees one. Uploaded files are bytes and are not checked.
    """
    if has_control_characters(request.path):
        return True
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            if has_control_characters(key) or has_control_characters(value):
                return True
    return False


def _session_key() -> str:
    """The Fernet key for session secrets, derived from SECRET_KEY."""
    return derive_key(str(current_app.config["SECRET_KEY"]), _SESSION_SEAL_PURPOSE)


def seal_for_session(value: dict[str, Any]) -> str:
    """Encrypt ``value`` for the session cookie.

    The cookie is signed but readable by anyone who holds it; secrets such as
    access codes go in only encrypted.
    """
    return seal(_session_key(), value)


def open_from_session(token: Any) -> dict[str, Any] | None:
    """Decrypt what :func:`seal_for_session` stored; None if unreadable.

    A missing value, a cookie from before sealing or one sealed under another
    SECRET_KEY all read as "nothing stored".
    """
    if not isinstance(token, str):
        return None
    try:
        return unseal(_session_key(), token)
    except (ValueError, TypeError):
        return None


def fecha(value: date | datetime | None, with_time: bool = True) -> str:
    """A date as the reader's language writes it, in Panama time.

    A datetime (stored in UTC) is moved to ``BABEL_DEFAULT_TIMEZONE``
    (America/Panama) by Flask-Babel: "3 dic 2026, 10:15" in Spanish,
    "Dec 3, 2026, 10:15 AM" in English. The date is the locale's medium
    form (the month's name, so 3/12 and 12/3 cannot be confused); the time
    its short form, joined by the locale's own pattern. A plain date (a day
    off) or ``with_time=False`` gives the date alone.
    """
    if value is None:
        return ""
    if not isinstance(value, datetime) or not with_time:
        return str(format_date(value, "medium"))
    pattern = get_datetime_format("medium", locale=get_locale())
    return str(pattern).format(
        format_time(value, "short"), format_date(value, "medium")
    )


def translate(message: Message) -> str:
    """Translate an engine message id and fill its parameters.

    A datetime parameter (when a task was completed, an article changed) is
    written as :func:`fecha` writes dates, in the reader's language; a
    message parameter is translated in turn.
    """
    text = gettext(message.text)
    if message.params:
        params = {
            k: fecha(v)
            if isinstance(v, datetime)
            else translate(v)
            if isinstance(v, Message)
            else v
            for k, v in message.params.items()
        }
        try:
            return text % params
        except (KeyError, TypeError, ValueError):
            return text
    return text


def field_errors(errors: dict[str, list[Message]]) -> dict[str, list[str]]:
    """Engine per-field messages, translated."""
    return {name: [translate(m) for m in msgs] for name, msgs in errors.items()}


def raw_form() -> dict[str, list[str]]:
    """The submitted form as lists of strings, without the CSRF token."""
    return {k: request.form.getlist(k) for k in request.form if k != "csrf_token"}


def oversized(raw: dict[str, list[str]]) -> dict[str, list[str]]:
    """Fields longer than MAX_FIELD_CHARS, with a message each."""
    limit = int(current_app.config["MAX_FIELD_CHARS"])
    return {
        name: [
            gettext("El texto es demasiado largo (máximo %(n)s caracteres).", n=limit)
        ]
        for name, values in raw.items()
        if any(len(v) > limit for v in values)
    }


def as_text(value: Any) -> str:
    """A submitted value as display text."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return gettext("Sí") if value else gettext("No")
    return "" if value is None else str(value)


def allow_uploads() -> None:
    """Raise the request size limit on the forms that carry files.

    Runs before any hook reads the form: elsewhere ``MAX_CONTENT_LENGTH``
    holds; here a request may carry a case's files together
    (``ATTACHMENT_CASE_BYTES``) plus the rest of the form. Each file is
    then checked against ``ATTACHMENT_MAX_BYTES`` by the engine, with a
    message beside its input. The directory import takes a CSV of up to
    ``IMPORT_MAX_BYTES``.
    """
    if request.endpoint in UPLOAD_ENDPOINTS:
        config = current_app.config
        request.max_content_length = int(config["ATTACHMENT_CASE_BYTES"]) + int(
            config["MAX_CONTENT_LENGTH"]
        )
    elif request.endpoint == "admin.import_check":
        # A directory CSV up to IMPORT_MAX_BYTES (the reader refuses a
        # larger one in a sentence; a far larger request gets the 413 page).
        config = current_app.config
        request.max_content_length = int(config["IMPORT_MAX_BYTES"]) + int(
            config["MAX_CONTENT_LENGTH"]
        )


def uploads(field: str, *, identifying: bool = False) -> list[Upload]:
    """The files sent in ``field`` (empty file inputs left out)."""
    return [
        Upload(
            field=field,
            filename=f.filename or "",
            content=f.read(),
            identifying=identifying,
        )
        for f in request.files.getlist(field)
        if f.filename
    ]


def download(found: AttachmentFile) -> Response:
    """An attachment as a download: ``attachment``, nosniff, no cache."""
    response = Response(found.content, mimetype=found.content_type)
    ascii_name = found.filename.encode("ascii", "replace").decode().replace("?", "_")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(found.filename, safe='')}"
    )
    response.headers.update(DOWNLOAD_HEADERS)
    return response
