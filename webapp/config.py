"""Configuration: every key with its default, in one documented place.

Order of precedence (later wins): these defaults → ``instance/config.py`` →
environment variables prefixed ``C311_`` (``C311_DATABASE_URL=…``; values
are parsed as JSON when they can be) → the mapping a test passes to
``create_app``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from engine.domain.phone_hours import (
    DEFAULT_HOURS,
    DEFAULT_TIMEZONE,
    PhoneHours,
    parse_hours,
)

DEFAULTS: dict[str, Any] = {
    # "production" (default), "development" or "testing". In production the
    # app refuses to serve requests or run workers without SECRET_KEY and
    # IDENTITY_KEY (commands that do neither, like `flask validate`, run).
    "ENV": "production",
    # Signs sessions and CSRF tokens. Required in production.
    "SECRET_KEY": None,
    # SQLAlchemy URL. Default: an embedded SQLite file under instance/.
    "DATABASE_URL": None,
    # Password of the demo users created by `flask seed-demo`.
    "DEMO_PASSWORD": "demo311",
    # Largest request body accepted (bytes); larger ones get a 413 page.
    "MAX_CONTENT_LENGTH": 1 * 1024 * 1024,
    # Largest text part of a form (bytes): the modeler posts a whole diagram.
    "MAX_FORM_MEMORY_SIZE": 2 * 1024 * 1024,
    # Largest single form field (characters) before a field is refused.
    "MAX_FIELD_CHARS": 20000,
    # Attachments: largest file, all the files of one case together (also the
    # request size limit of the forms that carry files, plus
    # MAX_CONTENT_LENGTH), files sent at once, and the largest image in
    # pixels (larger ones are refused from their header, before decoding).
    "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
    "ATTACHMENT_CASE_BYTES": 30 * 1024 * 1024,
    "ATTACHMENT_FILES": 5,
    # Files attached when filing a case (at most ATTACHMENT_FILES).
    "ATTACHMENT_INTAKE_FILES": 3,
    "ATTACHMENT_MAX_PIXELS": 40_000_000,
    # The intake page's optional map: the tile URL template the browser
    # loads images from (its origin joins the Content-Security-Policy's
    # img-src; empty: no tiles, the coordinates are typed) and the
    # attribution the tiles' licence asks for (HTML, shown on the map).
    "MAP_TILE_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "MAP_ATTRIBUTION": (
        '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    ),
    # Where attachments' bytes are kept: "database" (default: in the case's
    # transaction, seen by every process) or "module:factory", a callable
    # returning an engine.store.files.FileStore (e.g. object storage).
    "ATTACHMENT_STORE": "database",
    # Likely duplicates of a case are looked for among the open cases of its
    # category filed this many days before or after it.
    "DUPLICATE_WINDOW_DAYS": 30,
    # Directory import (/admin/importar, flask import-directory): most data
    # rows and bytes of one CSV; a larger file is refused at the first row
    # or byte past the limit, without being read whole.
    "IMPORT_MAX_ROWS": 5_000,
    "IMPORT_MAX_BYTES": 2 * 1024 * 1024,
    # Open311: requests one API key may make per window (every call counts).
    "OPEN311_MAX_REQUESTS": 120,
    "OPEN311_WINDOW_S": 60,
    # Run the background worker (timers, mail) inside the web process.
    "WORKER_IN_PROCESS": False,
    # Seconds between worker polls.
    "WORKER_INTERVAL_S": 5.0,
    # Failed tracking look-ups allowed per client and case number in the
    # window, and per client over all cases (so one office's citizens do not
    # lock each other out); failed logins per client.
    "TRACKING_MAX_ATTEMPTS": 10,
    "TRACKING_CLIENT_MAX_ATTEMPTS": 100,
    "TRACKING_WINDOW_S": 900,
    "LOGIN_MAX_ATTEMPTS": 10,
    "LOGIN_WINDOW_S": 900,
    # Sign-in (README "Sign-in and accounts"). Passwords chosen by people:
    # at least / at most this many characters (common ones refused).
    "PASSWORD_MIN_LENGTH": 12,
    "PASSWORD_MAX_LENGTH": 128,
    # Lifetime of mailed links, in seconds: invitations, password resets.
    "INVITE_TTL_S": 7 * 24 * 3600,
    "RESET_TTL_S": 3600,
    # Reset requests allowed per client, and per address, in the window.
    "RESET_MAX_REQUESTS": 5,
    "RESET_WINDOW_S": 3600,
    # Citizens' sign-in links to "Mis casos": lifetime in seconds, requests
    # allowed per client and per address in the window.
    "CITIZEN_LINK_TTL_S": 20 * 60,
    "CITIZEN_CLIENT_MAX_REQUESTS": 20,
    "CITIZEN_ADDRESS_MAX_REQUESTS": 5,
    "CITIZEN_WINDOW_S": 3600,
    # Roles that must use a TOTP second factor. None: by ENV — production
    # requires it of supervisors, designers and admins; development and
    # testing of nobody (the demo and tests sign in with a password only).
    "TOTP_REQUIRED_ROLES": None,
    # The name authenticator apps show beside the account.
    "TOTP_ISSUER": "Centro 311",
    # Bounds of designer code (scripts, conditions, timer expressions, DMN
    # cells): seconds and MiB of added memory per run, and seconds for all
    # the automatic work one action triggers. See README "Limits and safety".
    "SCRIPT_TIME_S": 1.0,
    "SCRIPT_MEMORY_MIB": 64,
    "STEP_TIME_S": 10.0,
    # Number of proxies in front of the app (for client addresses).
    "PROXY_COUNT": 0,
    # UI language default and the languages offered.
    "BABEL_DEFAULT_LOCALE": "es",
    "LANGUAGES": ["es", "en"],
    "BABEL_DEFAULT_TIMEZONE": "America/Panama",
    # Cookies: secure by default; development over plain http turns it off.
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    # CSRF tokens last a working shift.
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    # Fernet key (urlsafe base64, 32 bytes) that seals reserved identities.
    # Required in production; development keeps one under instance/.
    # Make one with:
    #   python -c "from engine.domain.sealing import new_key; print(new_key())"
    "IDENTITY_KEY": None,
    # Public base address of the app, for links in mail.
    "PUBLIC_URL": "http://127.0.0.1:5000",
    # Outgoing mail (SMTP). The worker sends what the outbox holds.
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_SENDER": "Centro 311 <no-responder@311.gob.pa>",
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_STARTTLS": False,
    # Opening hours of the 3-1-1 phone line, shown in a banner to agents and
    # citizens: clauses "days HH:MM-HH:MM" separated by ";" (days mon … sun,
    # a range "mon-fri" or a list "sat,sun"; several ranges with commas; a
    # range ends before its end time). Holidays and days off close the line.
    "PHONE_HOURS": DEFAULT_HOURS,
    # The time zone those hours are in (an IANA name).
    "PHONE_TIMEZONE": DEFAULT_TIMEZONE,
    # Where the seed definitions live (deployed as version 1 on first start).
    "BPMN_DIR": None,
    "FORMS_DIR": None,
}


#: Roles that need a second factor in production unless configured.
PRODUCTION_TOTP_ROLES = ["supervisor_311", "disenador", "admin"]


class BadSetting(ValueError):
    """A configuration value the app cannot start with (one clear line)."""


def phone_hours(config: Mapping[str, Any]) -> PhoneHours:
    """The phone line's hours of ``config``; :class:`BadSetting` if invalid."""
    try:
        return parse_hours(config["PHONE_HOURS"], config["PHONE_TIMEZONE"])
    except ValueError as exc:
        raise BadSetting(
            f"PHONE_HOURS / PHONE_TIMEZONE no válidos: {exc}. "
            f"Ejemplo: C311_PHONE_HOURS='{DEFAULT_HOURS}'."
        ) from exc


class MissingSecret(RuntimeError):
    """Production settings lack a secret: nothing may serve or run workers."""


def missing_secret(config: Mapping[str, Any]) -> str | None:
    """Why this configuration may not serve requests or run workers, or None.

    Production needs ``SECRET_KEY`` (sessions, CSRF tokens) and
    ``IDENTITY_KEY`` (sealed identities); development and testing make their
    own. The answer is one line, for a command's error or a refusing server.
    """
    if config["ENV"] != "production":
        return None
    if not config.get("SECRET_KEY"):
        return (
            "Falta SECRET_KEY: defina C311_SECRET_KEY (o SECRET_KEY en "
            "instance/config.py) antes de arrancar en producción."
        )
    if not config.get("IDENTITY_KEY"):
        return (
            "Falta IDENTITY_KEY: defina C311_IDENTITY_KEY (una clave Fernet) para "
            "sellar las identidades reservadas antes de arrancar en producción."
        )
    return None


def map_tiles_origin(url: str) -> str:
    """The origin (``https://host``) of the map tiles' URL template, or ''.

    Only an https (or, for a local tile server, http) URL with a host counts;
    anything else leaves the map without tiles rather than widen the policy.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return ""
    if any(ch in parts.netloc for ch in "{}*; '\"\n"):
        return ""  # a template placeholder or garbage in the host
    return f"{parts.scheme}://{parts.netloc}"
