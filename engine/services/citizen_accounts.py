"""Optional citizen accounts: sign in by a mailed link, and "Mis casos".

A citizen needs no password: they give an email and receive a one-time
link (a random token of 256 bits, only its SHA-256 stored, with the address
and an expiry of ``SignInSettings.citizen_link_ttl_s``). Opening it once
proves the address; the web layer keeps it in the citizen's session, apart
from staff sign-in. Asking for a link answers the same whatever the address
(a link is mailed even when no case was filed with it), and is limited per
client and per address, so neither the answer nor the limit tells whether
the address filed anything. A wrong, used or expired link counts against
the client like a wrong access code.

Signed in, the citizen sees every case filed with that address, past ones
too (:func:`my_cases`): matched case-insensitively on the contact email of
the case's search row, through its own index (``ix_case_search_contact_email``),
newest first. A reserved identity leaves no address there, and is excluded
besides: a reserved-identity denuncia is never linked to an account, never
listed and never the source of prefilled contact data
(:func:`contact_prefill`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, literal_column, select, update
from sqlalchemy.sql.elements import ColumnElement

from engine.bundles import forms
from engine.domain.enums import CaseStatus
from engine.domain.errors import N_, InvalidData, Message, NotFound
from engine.domain.security import token_digest
from engine.services import notify
from engine.services.callcenter import contact_fields, contact_fill
from engine.services.common import REAL_CASE, parsed_by_id
from engine.services.platform import Platform
from engine.store.models import Case, CaseSearch, ProcessVersion
from engine.store.one_time import use_token
from engine.store.publishing import CitizenSignIn
from engine.store.search_index import split_contact
from engine.store.throttle import TOO_MANY_REQUESTS, check_rate, count_failure

#: The path of a sign-in link under ``Platform.public_url``.
LINK_PATH = "/mis-casos/entrar/"
#: Longest address accepted (as the outbox and the intake forms).
MAX_EMAIL = 254
#: Cases per page of "Mis casos".
PAGE_SIZE = 20
#: The order of "Mis casos" (the case table's own, so ties keep their place).
NEWEST_FIRST = (Case.created_at.desc(), Case.id.desc())


class SignInLinkNotValid(NotFound):
    """The sign-in link is unknown, used or expired."""

    def __init__(self) -> None:
        """Say so in the citizen's words, with what to do."""
        super().__init__(
            N_(
                "Este enlace para entrar ya se usó o venció. Escriba su correo "
                "para recibir uno nuevo."
            )
        )


@dataclass(frozen=True)
class MyCase:
    """One case of "Mis casos", as its citizen may read it."""

    number: str
    case_type: str
    #: The case type's title, in the citizen's language when the bundle has it.
    title: str
    #: What the citizen wrote as the subject.
    subject: str
    public_status: str
    closed: bool
    created_at: datetime


@dataclass(frozen=True)
class MyCases:
    """A page of the cases filed with one address, newest first."""

    email: str
    cases: list[MyCase]
    page: int
    pages: int
    total: int


def normalized_email(address: str) -> str:
    """``address`` as it is matched (trimmed, lower-case); InvalidData
    (field ``email``) when it is empty or not an address mail may go to,
    checked as the intake forms check theirs."""
    address = address.strip()
    if not address:
        raise InvalidData({"email": [Message(N_("Escriba su correo electrónico."))]})
    if len(address) > MAX_EMAIL or not forms.is_email(address):
        raise InvalidData(
            {"email": [Message(N_("Escriba un correo electrónico válido."))]}
        )
    # The search row keeps addresses as ``str.lower`` wrote them.
    return address.lower()


def request_sign_in(
    p: Platform, email: str, *, client: str, language: str | None = None
) -> None:
    """Mail a one-time sign-in link to ``email``, in ``language``.

    The same (empty) answer whatever the address: the link goes out whether
    or not any case was filed with it. Each request counts against the
    client and against the address; past either limit the request raises
    :class:`TooManyAttempts` and nothing is sent. The address's expired
    links are cleared on the way.
    """
    address = normalized_email(email)
    now = p.clock()
    settings = p.signin
    window = settings.citizen_window_s
    limits = (
        (f"citizen-link:{client}"[:200], settings.citizen_client_requests),
        (f"citizen-link-address:{address}"[:200], settings.citizen_address_requests),
    )
    token = secrets.token_urlsafe(32)
    with p.db.transaction() as s:
        for key, limit in limits:
            check_rate(s, key, now, limit, window, TOO_MANY_REQUESTS)
        for key, _ in limits:
            count_failure(s, key, now, window)
        s.execute(
            delete(CitizenSignIn).where(
                CitizenSignIn.email == address, CitizenSignIn.expires_at <= now
            )
        )
        s.add(
            CitizenSignIn(
                email=address,
                token_hash=token_digest(token),
                created_at=now,
                expires_at=now + timedelta(seconds=settings.citizen_link_ttl_s),
            )
        )
        message = notify.render(
            "citizen_sign_in",
            notify.language_of(language, p.language),
            link=f"{p.public_url}{LINK_PATH}{token}",
            minutes=max(1, settings.citizen_link_ttl_s // 60),
        )
        notify.queue(s, address, message, None, now)


def open_sign_in(p: Platform, token: str, *, client: str) -> str:
    """Use a sign-in link once: the address it confirms.

    One transaction: the link is marked used only if nobody used it first
    (two clicks at once sign in once), and the address's other open links
    close with it. An unknown, used or expired link raises
    :class:`SignInLinkNotValid` and counts as a failed attempt of the
    client, under the tracking limits (past them :class:`TooManyAttempts`,
    before looking).
    """
    now = p.clock()
    limits = p.limits
    per_client = f"track:{client}"
    window = limits.tracking_window_s
    with p.db.transaction() as s:
        check_rate(s, per_client, now, limits.tracking_client_attempts, window)
        row, used = use_token(s, CitizenSignIn, token, now, CitizenSignIn.email)
        if used:
            assert row is not None
            s.execute(
                update(CitizenSignIn)
                .where(
                    CitizenSignIn.email == row.email, CitizenSignIn.used_at.is_(None)
                )
                .values(used_at=now)
            )
        else:
            count_failure(s, per_client, now, window)
    if not used:
        raise SignInLinkNotValid()
    assert row is not None
    return str(row.email)


def _filed_with(email: str) -> list[ColumnElement[bool]]:
    """The conditions of a case filed with ``email`` (its search row
    joined): equality on the indexed column (whose partial index needs the
    non-empty term), never a reserved identity."""
    return [
        CaseSearch.contact_email == email.strip().lower(),
        # Written out, not bound: a planner matches a partial index's
        # condition against the query's own text, never a parameter.
        CaseSearch.contact_email != literal_column("''"),
        Case.identity_reserved.is_(False),
        # A designer's practice case is nobody's case.
        REAL_CASE,
    ]


#: The columns of a row of "Mis casos" (with its version's title).
MyCaseRow = Select[str, str, int, str, str, str, datetime, str]


def cases_filed_with(email: str) -> MyCaseRow:
    """The query of the cases filed with ``email``, newest first: what a
    row of "Mis casos" shows, and the version to title it by."""
    return (
        select(
            Case.number,
            Case.case_type,
            Case.process_version_id,
            Case.subject,
            Case.public_status,
            Case.status,
            Case.created_at,
            ProcessVersion.title,
        )
        .join(CaseSearch, CaseSearch.case_id == Case.id)
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .where(*_filed_with(email))
        .order_by(*NEWEST_FIRST)
    )


def my_cases(
    p: Platform, email: str, page: int = 1, *, language: str | None = None
) -> MyCases:
    """The cases filed with ``email`` (a confirmed address), newest first.

    ``page`` counts from 1 (:data:`PAGE_SIZE` a page; past the last, the
    last). Titles and public statuses are in ``language`` where the case's
    version gives them. Reserved identities are never listed.
    """
    where = _filed_with(email)
    with p.db.read() as s:
        total = int(
            s.scalar(
                select(func.count())
                .select_from(Case)
                .join(CaseSearch, CaseSearch.case_id == Case.id)
                .where(*where)
            )
            or 0
        )
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        rows = s.execute(
            cases_filed_with(email).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        ).all()
        cases = []
        for row in rows:
            texts = parsed_by_id(p, s, row.process_version_id).in_language(language)
            cases.append(
                MyCase(
                    number=row.number,
                    case_type=row.case_type,
                    title=texts.title or row.title,
                    subject=row.subject or "",
                    public_status=texts.status(row.public_status) or "",
                    closed=row.status == CaseStatus.CLOSED,
                    created_at=row.created_at,
                )
            )
    return MyCases(
        email=email.strip().lower(), cases=cases, page=page, pages=pages, total=total
    )


def my_case(p: Platform, email: str, number: str) -> str:
    """The number of case ``number`` if it was filed with ``email``;
    NotFound otherwise (a reserved identity's case included)."""
    with p.db.read() as s:
        found = s.scalar(
            select(Case.number)
            .join(CaseSearch, CaseSearch.case_id == Case.id)
            .where(Case.number == number.strip().upper()[:40], *_filed_with(email))
        )
    if found is None:
        raise NotFound(N_("Ese caso no está entre los presentados con su correo."))
    return str(found)


def contact_prefill(p: Platform, email: str, case_type: str) -> dict[str, str]:
    """Contact values for a new filing of ``case_type``: ``{field: value}``.

    The intake form's email field gets the confirmed address; its name and
    phone fields, what the citizen gave on their latest case filed with it.
    A reserved identity's case is never the source.
    """
    with p.db.read() as s:
        contact = s.scalar(
            select(Case.contact)
            .join(CaseSearch, CaseSearch.case_id == Case.id)
            .where(*_filed_with(email))
            .order_by(*NEWEST_FIRST)
            .limit(1)
        )
    names, _, phones = split_contact(contact if isinstance(contact, dict) else None)
    return contact_fill(
        contact_fields(p, case_type),
        names[0] if names else "",
        email.strip().lower(),
        phones[0] if phones else "",
    )
