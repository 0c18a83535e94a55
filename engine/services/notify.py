"""What the center tells people by mail, rendered from templates.

Mail texts are people's reading, so they live outside the code, one file per
message and language: ``mail_templates/<language>/<name>.txt``. A template
holds a ``subject`` block and a ``body`` block (Jinja2, plain text); both
are rendered with the same values. The subject is a header, so it is folded
onto one line whatever the values hold: nothing a citizen or designer typed
can add a header. Messages are queued in the caller's transaction through
:mod:`engine.services.mail`.

The citizen's mail goes out in the language they filed in (``case.language``,
kept for web filings); staff and cases without a language get the platform's
default (``Platform.language``, from ``BABEL_DEFAULT_LOCALE``), and any
language without templates gets Spanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.bundles.registry import ParsedVersion
from engine.domain.enums import Role
from engine.services import mail
from engine.services.common import parsed_by_id
from engine.services.platform import Platform
from engine.store.models import Case, User, UserEntity, UserRole

TEMPLATES_DIR = Path(__file__).resolve().parent / "mail_templates"
#: Languages with a full set of templates; the first one is the fallback.
LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]

# Plain-text mail, not HTML: escaping would garble "&" or "<" in a subject
# or a status. Headers are protected by folding the subject (see render).
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=False,  # noqa: S701 - plain-text mail, never HTML
    undefined=StrictUndefined,
    trim_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Rendered:
    """A message ready for the outbox."""

    subject: str
    body: str


def language_of(value: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """``value`` if there are templates in it, else ``default`` (or Spanish)."""
    if value in LANGUAGES:
        return str(value)
    return default if default in LANGUAGES else DEFAULT_LANGUAGE


def one_line(text: str) -> str:
    """``text`` as a single header line: whitespace runs (CR, LF, tabs,
    Unicode line separators) become one space, other control characters go."""
    folded = " ".join(text.split())
    return "".join(ch for ch in folded if ch.isprintable())


def render(name: str, language: str | None, **values: Any) -> Rendered:
    """The subject and body of template ``name`` in ``language``.

    An unknown language falls back to Spanish; a value the template needs
    but is not given raises (``StrictUndefined``), so a typo in a template
    fails its test instead of sending a blank.
    """
    template = _ENV.get_template(f"{language_of(language)}/{name}.txt")
    context = template.new_context(values)
    subject = "".join(template.blocks["subject"](context))
    body = "".join(template.blocks["body"](context))
    return Rendered(subject=one_line(subject), body=body)


def tracking_url(p: Platform, number: str) -> str:
    """The public tracking page of a case (number prefilled)."""
    return f"{p.public_url}/seguimiento?numero={number}"


def case_url(p: Platform, number: str) -> str:
    """The staff page of a case."""
    return f"{p.public_url}/casos/{number}"


def queue(
    s: Session, to: str, message: Rendered, case_id: int | None, now: datetime
) -> bool:
    """Queue a rendered message in the current transaction."""
    return mail.enqueue(s, to, message.subject, message.body, case_id, now)


def case_received(
    s: Session,
    p: Platform,
    case: Case,
    *,
    to: str,
    title: str,
    access_code: str,
    now: datetime,
) -> None:
    """Send the citizen the number and access code of the case they filed."""
    message = render(
        "case_received",
        language_of(case.language, p.language),
        number=case.number,
        title=title,
        code=access_code,
        status=case.public_status,
        tracking_url=tracking_url(p, case.number),
    )
    queue(s, to, message, case.id, now)


def status_changed(
    s: Session, p: Platform, case: Case, parsed: ParsedVersion, now: datetime
) -> None:
    """Tell the citizen (if they left an email) that the status changed."""
    email = forms.contact_email(parsed.form(parsed.start_form), case.contact)
    if email:
        message = render(
            "status_changed",
            language_of(case.language, p.language),
            number=case.number,
            status=case.public_status,
            tracking_url=tracking_url(p, case.number),
        )
        queue(s, email, message, case.id, now)
    if case.merged_children:
        # The parent of merged duplicates answers for them: its progress
        # reaches every reporter (the count spares other cases a query).
        for child, child_email in duplicate_reporters(s, p, case):
            message = render(
                "parent_status_changed",
                language_of(child.language, p.language),
                number=child.number,
                parent=case.number,
                status=case.public_status,
                tracking_url=tracking_url(p, child.number),
            )
            queue(s, child_email, message, child.id, now)


def reporter_email(s: Session, p: Platform, case: Case) -> str | None:
    """The email the citizen of ``case`` left, if any (none when reserved)."""
    parsed = parsed_by_id(p, s, case.process_version_id)
    return forms.contact_email(parsed.form(parsed.start_form), case.contact)


def duplicate_reporters(
    s: Session, p: Platform, parent: Case
) -> list[tuple[Case, str]]:
    """The duplicates merged under ``parent`` whose citizens left an email."""
    found = []
    for child in s.scalars(select(Case).where(Case.parent_id == parent.id)):
        email = reporter_email(s, p, child)
        if email:
            found.append((child, email))
    return found


def case_merged(
    s: Session, p: Platform, child: Case, parent: str, note: str, now: datetime
) -> None:
    """Tell a duplicate's citizen that their case goes on with ``parent``."""
    email = reporter_email(s, p, child)
    if not email:
        return
    message = render(
        "case_merged",
        language_of(child.language, p.language),
        number=child.number,
        parent=parent,
        note=note,
        tracking_url=tracking_url(p, child.number),
    )
    queue(s, email, message, child.id, now)


def staff_alert(
    s: Session, p: Platform, case: Case, role: str, name: str, now: datetime
) -> None:
    """Mail template ``name`` to the users of ``role`` (the case's entity's,
    for enlaces), in the platform's language."""
    message = render(
        name,
        language_of(p.language),
        number=case.number,
        case_url=case_url(p, case.number),
    )
    for email in staff_emails(s, role, case.entity_code):
        queue(s, email, message, case.id, now)


def staff_emails(s: Session, role: str, entity: str | None) -> list[str]:
    """Addresses of the active users of ``role`` (of ``entity``, for enlaces).

    The worker notifies many cases per transaction: each list is looked up
    once per session.
    """
    if role != Role.LIAISON:
        entity = None
    cache: dict[tuple[str, str | None], list[str]] = s.info.setdefault(
        "staff_emails", {}
    )
    if (role, entity) not in cache:
        query = (
            select(User.email)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                UserRole.role_key == role,
                User.active.is_(True),
                User.email.is_not(None),
            )
        )
        if role == Role.LIAISON:
            query = query.where(
                User.id.in_(
                    select(UserEntity.user_id).where(UserEntity.entity_code == entity)
                )
            )
        cache[(role, entity)] = [str(e) for (e,) in s.execute(query)]
    return cache[(role, entity)]
