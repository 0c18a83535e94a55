"""What the center tells people by mail, rendered from templates.

Mail texts are people's reading, so they live outside the code, one file per
message and language: ``mail_templates/<language>/<name>.txt``. A template
holds a ``subject`` block and a ``body`` block (Jinja2, plain text); both
are rendered with the same values. The subject is a header, so it is folded
onto one line whatever the values hold: nothing a citizen or designer typed
can add a header. A message may also have an HTML part,
``<language>/<name>.html`` next to its text (autoescaped: what staff or
citizens wrote is shown as text, never as markup). Messages are queued in
the caller's transaction through :mod:`engine.services.mail`.

The citizen's mail goes out in the language they filed in (``case.language``,
kept for web filings); staff and cases without a language get the platform's
default (``Platform.language``, from ``BABEL_DEFAULT_LOCALE``), and any
language without templates gets Spanish. Every mail to a citizen carries a
fresh one-time link that opens their case (:mod:`engine.services.case_links`);
a reserved identity leaves no address, so it gets no mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.bundles.registry import ParsedVersion
from engine.domain.enums import EventKind, Role
from engine.services import mail
from engine.services.case_links import issue_link
from engine.services.common import parsed_by_id
from engine.services.platform import Platform
from engine.store.accounts import User, UserEntity, UserRole
from engine.store.db import held_rows
from engine.store.models import Case, CaseEvent, HumanTask

TEMPLATES_DIR = Path(__file__).resolve().parent / "mail_templates"
#: Languages with a full set of templates; the first one is the fallback.
LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]
PANAMA = ZoneInfo("America/Panama")
#: How each language writes a due day: "miércoles 4 de noviembre".
DAY_PATTERNS = {"es": "EEEE d 'de' MMMM", "en": "EEEE, MMMM d"}

# Plain-text mail is not escaped: escaping would garble "&" or "<" in a
# subject or a status. Headers are protected by folding the subject (see
# render).
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=False,  # noqa: S701 - plain-text mail, never HTML
    undefined=StrictUndefined,
    trim_blocks=True,
    keep_trailing_newline=True,
)
# The HTML part escapes every value.
_HTML_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Rendered:
    """A message ready for the outbox (``html``: its HTML part, if any)."""

    subject: str
    body: str
    html: str | None = None


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
    """The subject, body and (if it has one) HTML part of template ``name``.

    An unknown language falls back to Spanish; a value the template needs
    but is not given raises (``StrictUndefined``), so a typo in a template
    fails its test instead of sending a blank.
    """
    lang = language_of(language)
    template = _ENV.get_template(f"{lang}/{name}.txt")
    context = template.new_context(values)
    subject = "".join(template.blocks["subject"](context))
    body = "".join(template.blocks["body"](context))
    try:
        page = _HTML_ENV.get_template(f"{lang}/{name}.html")
    except TemplateNotFound:
        html = None
    else:
        html = page.render(values, language=lang, subject=one_line(subject))
    return Rendered(subject=one_line(subject), body=body, html=html)


def due_day(value: datetime | None, language: str) -> str:
    """A due date as the citizen reads it, in Panama: "miércoles 4 de noviembre"."""
    if value is None:
        return ""
    lang = language_of(language)
    return str(format_date(value.astimezone(PANAMA), DAY_PATTERNS[lang], locale=lang))


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
    return mail.enqueue(
        s, to, message.subject, message.body, case_id, now, html=message.html
    )


def queue_for_case(
    s: Session, case: Case, to: str, message: Rendered, now: datetime
) -> bool:
    """Queue a message about ``case``; never for a practice case (designers
    try processes with made-up and real-looking addresses: nobody is mailed).
    """
    if case.practice:
        return False
    return queue(s, to, message, case.id, now)


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
    """Send the citizen the number, a one-time link and the access code of
    the case they filed."""
    message = render(
        "case_received",
        language_of(case.language, p.language),
        number=case.number,
        title=title,
        code=access_code,
        status=case.public_status,
        tracking_url=tracking_url(p, case.number),
        link=issue_link(s, p, case, now),
    )
    queue_for_case(s, case, to, message, now)


@dataclass(frozen=True)
class StepNews:
    """What a step did that the citizen's mail tells."""

    #: The public answers written in the step, as (label, value).
    notes: tuple[tuple[str, str], ...] = ()
    #: A task for the citizen appeared: "question" or "survey" ("" none).
    task: str = ""
    #: When the citizen's new task is due.
    task_due: datetime | None = None
    reopened: bool = False
    closed: bool = False


def step_news(s: Session, case: Case, parsed: ParsedVersion) -> StepNews:
    """What the step being recorded for ``case`` did, from its held rows."""
    notes: list[tuple[str, str]] = []
    reopened = closed = False
    for event in held_rows(s, CaseEvent, case):
        kind = event.get("kind")
        if kind == EventKind.PUBLIC_NOTE and event.get("public"):
            for field in (event.get("data") or {}).get("fields", []):
                notes.append((str(field.get("label", "")), str(field.get("value"))))
        reopened = reopened or kind == EventKind.REOPENED
        closed = closed or kind == EventKind.CLOSED
    task, due = "", None
    for row in held_rows(s, HumanTask, case):
        if row.get("role") != Role.CITIZEN:
            continue
        info = parsed.tasks.get(str(row.get("bpmn_id")))
        survey = info is not None and info.props.get("encuesta") == "true"
        task, due = ("survey" if survey else "question"), row.get("due_at")
    return StepNews(tuple(notes), task, due, reopened, closed)


def _template_for(news: StepNews) -> str:
    """Which mail tells ``news``: the question, the answer and its survey,
    a reopening, a closing, or the plain status change."""
    if news.task == "question":
        return "question"
    if news.task == "survey":
        return "answered"
    if news.reopened:
        return "reopened"
    if news.closed:
        return "closed"
    return "status_changed"


def status_changed(
    s: Session, p: Platform, case: Case, parsed: ParsedVersion, now: datetime
) -> None:
    """Tell the citizen (if they left an email) what changed, and how to
    go on: the entity's question with a link to answer it, the answer with
    a link to rate it, a reopening, a closing, or the new status, each with
    the public texts the step wrote and a fresh one-time link."""
    email = forms.contact_email(parsed.form(parsed.start_form), case.contact)
    if email:
        language = language_of(case.language, p.language)
        news = step_news(s, case, parsed)
        message = render(
            _template_for(news),
            language,
            number=case.number,
            status=case.public_status,
            notes=news.notes,
            due=due_day(news.task_due, language),
            tracking_url=tracking_url(p, case.number),
            link=issue_link(s, p, case, now),
        )
        queue_for_case(s, case, email, message, now)
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
                link=issue_link(s, p, child, now),
            )
            queue_for_case(s, child, child_email, message, now)


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
        link=issue_link(s, p, child, now),
    )
    queue_for_case(s, child, email, message, now)


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
        queue_for_case(s, case, email, message, now)


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
