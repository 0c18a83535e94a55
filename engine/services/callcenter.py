"""The call center: caller lookup at phone intake, and the line's hours.

The lookup is the staff case search by contact
(:func:`engine.services.search.search_cases`, over the indexed contact
columns): one engine function finds a person's cases for ``/buscar`` and
for the agent on the phone. A reserved identity is never matched nor shown
(its contact columns are empty and its hits carry no contact).

The phone line's hours are the platform's (``PHONE_HOURS``); the line is
closed on national holidays and the admins' days off too, the days the
business calendar skips.
"""

from __future__ import annotations

from typing import Any

from engine.bundles import forms
from engine.domain.errors import N_, NotAllowed, NotFound
from engine.domain.phone_hours import PhoneLine, line_status
from engine.domain.views import Actor
from engine.domain.workspace import Caller, CallerLookup, CaseQuery, SearchHit
from engine.services.common import (
    STAFF_ROLES,
    business_calendar,
    latest_version,
    parsed_latest,
)
from engine.services.platform import Platform
from engine.services.search import search_cases
from engine.store import search_index
from engine.store.search_index import fold, phone_digits

#: Fewer characters than this are not looked up (too many people match).
MIN_CHARS = 3
#: Longest text looked up (as the search form's contact field).
MAX_CHARS = 120


def phone_line(p: Platform) -> PhoneLine:
    """Whether the 3-1-1 line is open now, until when, or when it opens."""
    with p.db.read() as s:
        calendar = business_calendar(p, s)
    return line_status(
        p.phone_hours,
        p.clock(),
        lambda day: calendar.holiday_name(day) is not None,
    )


def lookup_caller(
    p: Platform, actor: Actor | None, text: str, case_type: str = ""
) -> CallerLookup:
    """The people whose contact matches ``text``, each with their cases.

    ``text`` is a phone number (any format), an email or part of one, or
    words of a name, as the search's contact criterion reads it; SQL and
    full-text syntax characters are only characters. Only 311 agents and
    supervisors look callers up. With ``case_type``, each caller says which
    contact fields of that type's intake form their data fills.
    """
    if actor is None or not actor.has(*STAFF_ROLES):
        raise NotAllowed(N_("Solo el personal del 311 busca a quien llama."))
    text = " ".join(str(text or "").split())[:MAX_CHARS]
    # Only punctuation (nothing the contact criterion could match) would
    # list every case: it is as good as nothing typed.
    if len(text) < MIN_CHARS or search_index.contact_condition(text) is None:
        return CallerLookup(text=text, callers=[], too_short=True)
    page = search_cases(p, actor, CaseQuery(contact=text))
    fields = contact_fields(p, case_type)
    groups: dict[tuple[str, str, str], list[SearchHit]] = {}
    for hit in page.hits:
        if hit.identity_reserved:
            continue
        groups.setdefault(_person(hit), []).append(hit)
    callers = [
        Caller(
            name=name,
            email=email,
            phone=phone,
            fill=contact_fill(fields, name, email, phone),
            cases=hits,
        )
        for (name, email, phone), hits in (
            (_shown(hits[0]), hits) for hits in groups.values()
        )
    ]
    return CallerLookup(text=text, callers=callers, more=page.total > len(page.hits))


def _person(hit: SearchHit) -> tuple[str, str, str]:
    """Who a case's contact is, compared loosely (case, accents, phone format)."""
    name, email, phone = _shown(hit)
    return fold(name), email.lower(), phone_digits(phone)


def _shown(hit: SearchHit) -> tuple[str, str, str]:
    """The first name, email and phone of a case's contact."""
    return (
        next(iter(hit.contact_names), ""),
        next(iter(hit.contact_emails), ""),
        next(iter(hit.contact_phones), ""),
    )


def contact_fields(p: Platform, case_type: str) -> dict[str, str]:
    """The intake form's contact fields: ``{field: "name"|"email"|"phone"}``.

    Told apart by format, as personal data is: an email or phone format, or
    else the first personal text field is the name. Empty for an unknown
    case type or none given.
    """
    if not case_type:
        return {}
    try:
        with p.db.read() as s:
            parsed = parsed_latest(p, s, latest_version(s, case_type))
    except NotFound:
        return {}
    schema = parsed.form(parsed.start_form)
    specs = forms.fields(schema)
    found: dict[str, str] = {}
    for name in forms.personal_fields(schema):
        spec: Any = specs[name]
        kind = (
            "email"
            if spec.get("format") in forms.EMAIL_FORMATS
            else "phone"
            if spec.get("format") in forms.PHONE_FORMATS
            else "name"
            if spec.get("type", "string") == "string"
            else ""
        )
        if kind and kind not in found.values():
            found[name] = kind
    return found


def contact_fill(
    fields: dict[str, str], name: str, email: str, phone: str
) -> dict[str, str]:
    """The values a caller's data puts in the contact fields."""
    values = {"name": name, "email": email, "phone": phone}
    return {field: values[kind] for field, kind in fields.items() if values[kind]}
