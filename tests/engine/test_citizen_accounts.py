"""Citizen accounts (engine): sign-in links by mail and "Mis casos"."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.errors import InvalidData, NotFound, TooManyAttempts
from engine.domain.security import token_digest
from engine.services import citizen_accounts
from engine.services.citizen_accounts import SignInLinkNotValid
from engine.services.platform import Limits, Platform, SignInSettings
from engine.store.publishing import CitizenSignIn, Outbox
from tests.conftest import IDENTITY_KEY, must_search, seed

START = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
ANA = "ana.perez@example.pa"
QUEJA = {
    "categoria": "vias",
    "asunto": "Hueco en la vía",
    "descripcion": "Hay un hueco enorme frente a la escuela desde hace un mes.",
    "nombre": "Ana Pérez",
    "correo": ANA,
    "telefono": "6123-4567",
}
RESERVED = {
    "categoria": "salud",
    "asunto": "Cobro indebido de citas",
    "descripcion": "Un funcionario cobra por citas que deberían ser gratuitas.",
    "nombre": "Ana Reservada",
    "correo": ANA,
    "telefono": "6555-1212",
    "identidad_reservada": True,
}


@pytest.fixture
def clock():
    """A clock the tests move."""
    return FrozenClock(START)


@pytest.fixture
def p(db_url, demo_hash, clock):
    """A seeded platform on a frozen clock with small request limits."""
    platform = Platform(
        db_url,
        identity_key=IDENTITY_KEY,
        clock=clock,
        limits=Limits(tracking_client_attempts=3),
        signin=SignInSettings(citizen_client_requests=4, citizen_address_requests=2),
    )
    seed(platform, demo_hash)
    yield platform
    platform.close()


def file(p, clock, case_type="queja", **changes):
    """File a case a minute after the previous one; its number."""
    clock.advance(minutes=1)
    return services.open_case(p, case_type, {**QUEJA, **changes}).number


def mails(p):
    """(to, subject, body) of every queued mail that is not a case's."""
    with p.db.read() as s:
        rows = s.execute(
            select(Outbox.to, Outbox.subject, Outbox.body)
            .where(Outbox.case_id.is_(None))
            .order_by(Outbox.id)
        ).all()
    return [tuple(r) for r in rows]


def token_in(body):
    """The token of the sign-in link in a mail's body."""
    path = re.escape(citizen_accounts.LINK_PATH)
    return must_search(path + r"([A-Za-z0-9_-]+)", body).group(1)


def sign_in(p, address=ANA, client="c"):
    """Ask for a link and open it: the confirmed address."""
    citizen_accounts.request_sign_in(p, address, client=client)
    return citizen_accounts.open_sign_in(p, token_in(mails(p)[-1][2]), client=client)


# --- the link ------------------------------------------------------------


def test_a_link_is_mailed_hashed_and_signs_in_once(p):
    """The mail carries the link; only its hash is stored; it works once."""
    citizen_accounts.request_sign_in(p, "  Ana.Perez@Example.PA ", client="c")
    ((to, subject, body),) = mails(p)
    assert to == ANA
    assert "Mis casos" in subject
    assert "20 minutos" in body and "sirve una sola vez" in body
    token = token_in(body)
    assert body.count(f"http://127.0.0.1:5000{citizen_accounts.LINK_PATH}") == 1
    with p.db.read() as s:
        (row,) = s.scalars(select(CitizenSignIn)).all()
    assert row.email == ANA and row.used_at is None
    assert row.token_hash == token_digest(token) != token
    assert citizen_accounts.open_sign_in(p, token, client="c") == ANA
    with pytest.raises(SignInLinkNotValid):
        citizen_accounts.open_sign_in(p, token, client="c")


def test_the_mail_is_in_the_citizens_language(p):
    """English asked, English mailed; an unknown language gets Spanish."""
    citizen_accounts.request_sign_in(p, ANA, client="c", language="en")
    citizen_accounts.request_sign_in(p, "otra@example.pa", client="c", language="fr")
    (_, english, body), (_, spanish, _) = mails(p)
    assert "My cases" in english and "expires in 20 minutes" in body
    assert "Mis casos" in spanish


def test_a_link_expires_after_twenty_minutes(p, clock):
    """At 19 minutes it works; a link 20 minutes old does not."""
    citizen_accounts.request_sign_in(p, ANA, client="c")
    first = token_in(mails(p)[-1][2])
    clock.advance(minutes=19, seconds=59)
    assert citizen_accounts.open_sign_in(p, first, client="c") == ANA
    citizen_accounts.request_sign_in(p, ANA, client="c")
    second = token_in(mails(p)[-1][2])
    clock.advance(minutes=20)
    with pytest.raises(SignInLinkNotValid):
        citizen_accounts.open_sign_in(p, second, client="c")


def test_opening_a_link_closes_the_addresss_other_links(p):
    """Two links asked; the first opened; the second no longer works."""
    citizen_accounts.request_sign_in(p, ANA, client="c")
    citizen_accounts.request_sign_in(p, ANA, client="c")
    first, second = (token_in(body) for _, _, body in mails(p))
    assert citizen_accounts.open_sign_in(p, first, client="c") == ANA
    with pytest.raises(SignInLinkNotValid):
        citizen_accounts.open_sign_in(p, second, client="c")


def test_bad_links_count_against_the_client_like_wrong_codes(p):
    """Unknown, overlong or empty tokens: 3 failures, then refused before
    looking, even for a good link; another client is not affected."""
    citizen_accounts.request_sign_in(p, ANA, client="good")
    token = token_in(mails(p)[-1][2])
    for guess in ("adivina", "x" * 500, ""):
        with pytest.raises(SignInLinkNotValid):
            citizen_accounts.open_sign_in(p, guess, client="bot")
    with pytest.raises(TooManyAttempts):
        citizen_accounts.open_sign_in(p, token, client="bot")
    assert citizen_accounts.open_sign_in(p, token, client="good") == ANA


def test_the_answer_tells_nothing_about_the_address(p, clock):
    """An address with cases and one without get the same answer (none,
    no error), the same mail but for the token, and the same limit."""
    file(p, clock)
    for address in (ANA, "nadie@example.pa"):
        citizen_accounts.request_sign_in(p, address, client=address)
    (to_a, subject_a, body_a), (to_b, subject_b, body_b) = mails(p)
    assert (to_a, to_b) == (ANA, "nadie@example.pa")
    assert subject_a == subject_b
    assert body_a.replace(token_in(body_a), "T") == body_b.replace(
        token_in(body_b), "T"
    )
    for address in (ANA, "nadie@example.pa"):
        citizen_accounts.request_sign_in(p, address, client=f"other-{address}")
        with pytest.raises(TooManyAttempts):
            citizen_accounts.request_sign_in(p, address, client="fresh")


def test_requests_are_limited_per_address_and_per_client(p, clock):
    """Two an hour per address, four per client; an hour later, again."""
    citizen_accounts.request_sign_in(p, ANA, client="a")
    citizen_accounts.request_sign_in(p, ANA.upper(), client="b")
    with pytest.raises(TooManyAttempts):
        citizen_accounts.request_sign_in(p, ANA, client="c")
    for n in range(4):
        citizen_accounts.request_sign_in(p, f"p{n}@example.pa", client="office")
    with pytest.raises(TooManyAttempts):
        citizen_accounts.request_sign_in(p, "p9@example.pa", client="office")
    assert len(mails(p)) == 6  # nothing was sent past a limit
    clock.advance(hours=1, seconds=1)
    citizen_accounts.request_sign_in(p, ANA, client="office")
    assert len(mails(p)) == 7


def test_a_bad_address_is_refused_with_a_clear_message(p):
    """Empty or not an address: InvalidData on ``email``, nothing mailed."""
    for bad, message in (
        ("   ", "Escriba su correo electrónico."),
        ("no es un correo", "Escriba un correo electrónico válido."),
        ("ana@example.pa\r\nBcc: x@evil.test", "Escriba un correo electrónico válido."),
        ("a" * 250 + "@example.pa", "Escriba un correo electrónico válido."),
    ):
        with pytest.raises(InvalidData) as caught:
            citizen_accounts.request_sign_in(p, bad, client="c")
        assert [m.text for m in caught.value.errors["email"]] == [message]
    assert mails(p) == []


# --- Mis casos -------------------------------------------------------------


def test_my_cases_lists_the_addresss_cases_newest_first(p, clock):
    """Any letter case of the address; never another address's case, never
    a reserved identity's, even one filed with the same address."""
    first = file(p, clock, correo="Ana.Perez@Example.PA")
    file(p, clock, correo="otra@example.pa")
    idea = file(p, clock, "sugerencia", correo=ANA)
    file(p, clock, "denuncia", **RESERVED)
    found = citizen_accounts.my_cases(p, sign_in(p, "ANA.perez@example.pa"))
    assert found.email == ANA
    assert [c.number for c in found.cases] == [idea, first]
    assert (found.total, found.page, found.pages) == (2, 1, 1)
    newest = found.cases[0]
    assert newest.case_type == "sugerencia" and not newest.closed
    assert newest.subject == QUEJA["asunto"]
    assert newest.public_status and newest.created_at == START.replace(minute=3)


def test_titles_and_statuses_follow_the_citizens_language(p, clock):
    """The case type's title and public status in English when asked."""
    file(p, clock)
    (spanish,) = citizen_accounts.my_cases(p, ANA).cases
    (english,) = citizen_accounts.my_cases(p, ANA, language="en").cases
    assert spanish.title == "Queja" and english.title == "Complaint"
    assert spanish.public_status == "En revisión por el 311"
    assert english.public_status == "Under review by 311"


def test_my_cases_pages(p, clock, monkeypatch):
    """Five cases, two a page: three pages; past the last, the last."""
    monkeypatch.setattr(citizen_accounts, "PAGE_SIZE", 2)
    numbers = [file(p, clock) for _ in range(5)][::-1]
    pages = [citizen_accounts.my_cases(p, ANA, n) for n in (1, 2, 3)]
    assert [[c.number for c in page.cases] for page in pages] == [
        numbers[0:2],
        numbers[2:4],
        numbers[4:],
    ]
    assert {(page.total, page.pages) for page in pages} == {(5, 3)}
    assert citizen_accounts.my_cases(p, ANA, 99).page == 3
    assert citizen_accounts.my_cases(p, ANA, -1).page == 1


def test_an_address_without_cases_has_an_empty_list(p):
    """No cases: one empty page (and an empty address matches nothing)."""
    found = citizen_accounts.my_cases(p, "nadie@example.pa")
    assert (found.cases, found.total, found.pages) == ([], 0, 1)
    assert citizen_accounts.my_cases(p, "").cases == []


def test_my_case_names_only_the_addresss_own_cases(p, clock):
    """Own case: its number (any letter case); another's or a reserved
    one, NotFound."""
    own = file(p, clock)
    other = file(p, clock, correo="otra@example.pa")
    reserved = file(p, clock, "denuncia", **RESERVED)
    assert citizen_accounts.my_case(p, ANA, own.lower()) == own
    for number in (other, reserved, "311-2026-999999"):
        with pytest.raises(NotFound):
            citizen_accounts.my_case(p, ANA, number)


def test_the_list_is_read_through_the_address_index(p):
    """The query finds the address's rows by ``ix_case_search_contact_email``
    (SQLite's plan; on PostgreSQL the plan with sequential scans off)."""
    query = citizen_accounts.cases_filed_with(ANA).limit(20)
    with p.db.read() as s:
        dialect = s.get_bind().dialect
        sql = str(
            query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        )
        if dialect.name == "postgresql":
            s.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(r[0]) for r in s.execute(text("EXPLAIN " + sql)))
        else:
            plan = " ".join(
                str(r[-1]) for r in s.execute(text("EXPLAIN QUERY PLAN " + sql))
            )
    assert "ix_case_search_contact_email" in plan, plan


# --- prefill ---------------------------------------------------------------


def test_prefill_comes_from_the_latest_case_never_a_reserved_one(p, clock):
    """Name and phone of the latest ordinary case, the confirmed address;
    a reserved denuncia filed later is not the source."""
    file(p, clock, nombre="Ana P.", telefono="6000-0000")
    file(p, clock, "sugerencia", nombre="Ana Pérez", telefono="6123-4567")
    file(p, clock, "denuncia", **RESERVED)
    for case_type in ("queja", "denuncia"):
        assert citizen_accounts.contact_prefill(p, ANA.upper(), case_type) == {
            "nombre": "Ana Pérez",
            "correo": ANA,
            "telefono": "6123-4567",
        }


def test_prefill_without_cases_gives_the_address_only(p, clock):
    """An address that filed nothing, or only a reserved denuncia."""
    file(p, clock, "denuncia", **RESERVED)
    assert citizen_accounts.contact_prefill(p, ANA, "queja") == {"correo": ANA}
    assert citizen_accounts.contact_prefill(p, ANA, "no-existe") == {}
