"""Jinja filters and globals: dates in Panama time, Markdown, messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g, session
from flask_babel import format_date, get_locale
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.exc import InterfaceError, OperationalError

from engine import services
from engine.domain.enums import Channel
from engine.domain.phone_hours import PhoneLine
from engine.domain.views import ACTING_ROLES, CHANNELS, ROLES
from webapp.helpers import as_text, current_actor, fecha, platform, translate

PANAMA = ZoneInfo("America/Panama")
# Raw HTML is off: instructions from diagrams are shown, never executed.
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False})


def iso(value: datetime | None) -> str:
    """Machine-readable datetime with offset (for <time datetime>)."""
    return value.astimezone(PANAMA).isoformat() if value else ""


#: How each language names a due day: "miércoles 4 de noviembre".
DAY_PATTERNS = {"es": "EEEE d 'de' MMMM", "en": "EEEE, MMMM d"}


def dia(value: datetime | None) -> str:
    """A due day as people say it, in Panama time: "miércoles 4 de noviembre"."""
    if value is None:
        return ""
    pattern = DAY_PATTERNS.get(str(get_locale()), DAY_PATTERNS["es"])
    return str(format_date(value, pattern))


def hora(value: datetime | None) -> str:
    """A local time as the 3-1-1 line's banner says it (``6:00``, ``20:00``)."""
    return f"{value.hour}:{value.minute:02d}" if value else ""


def phone_line() -> PhoneLine | None:
    """Whether the 3-1-1 line is open now (once per request; None while the
    database, which knows the days off, is down)."""
    if g.get("database_down"):
        return None
    if "phone_line" not in g:
        try:
            g.phone_line = services.phone_line(platform())
        except (OperationalError, InterfaceError):
            g.database_down = True
            return None
    line: PhoneLine = g.phone_line
    return line


def markdown(text: str | None) -> Markup:
    """Render Markdown safely (HTML in the source is escaped)."""
    return Markup(_MD.render(text or ""))  # noqa: S704 - html is disabled above


def _actor_or_none() -> Any:
    """The logged-in actor for templates, or None while the database is down.

    Loading the user needs the database; the error page shown during an
    outage must render without it (as if nobody were logged in).
    """
    if g.get("database_down"):
        return None
    try:
        return current_actor()
    except (OperationalError, InterfaceError):
        g.database_down = True
        return None


def register(app: Flask) -> None:
    """Install filters and template globals."""
    app.jinja_env.filters["fecha"] = fecha
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.filters["markdown"] = markdown
    app.jinja_env.filters["msg"] = translate
    app.jinja_env.filters["as_text"] = as_text
    app.jinja_env.filters["hora"] = hora
    app.jinja_env.filters["dia"] = dia
    app.jinja_env.globals["phone_line"] = phone_line

    @app.context_processor
    def globals_() -> dict[str, Any]:
        """Values every template may use."""
        return {
            "actor": _actor_or_none(),
            "channels": CHANNELS,
            "Channel": Channel,
            "role_names": ROLES,
            "acting_roles": ACTING_ROLES,
            "current_lang": session.get("lang", app.config["BABEL_DEFAULT_LOCALE"]),
        }
