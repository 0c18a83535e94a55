"""Mail texts come from templates, in Spanish by default and in English when
the case (or the platform) says so; subjects stay one header line."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine import services
from engine.domain.enums import Role
from engine.services import accounts, mail, notify
from engine.services.platform import Platform
from engine.store.accounts import User
from engine.store.models import Case
from engine.store.publishing import Outbox
from tests.conftest import IDENTITY_KEY, seed

INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua en la vía",
    "descripcion": "Hay una fuga de agua potable frente a la escuela desde el lunes.",
}
NUMBER = "311-2026-000042"
VALUES = {
    "number": NUMBER,
    "title": "Queja",
    "code": "K7M2P9QX",
    "status": "En revisión por el 311",
    "tracking_url": f"http://311.example/seguimiento?numero={NUMBER}",
    "case_url": f"http://311.example/casos/{NUMBER}",
    "parent": "311-2026-000007",
    "note": "",
    "link": "http://311.example/seguimiento/enlace/TOKEN",
    "notes": (("Pregunta para el ciudadano", "¿Frente a qué casa?"),),
    "due": "miércoles 4 de noviembre",
}


def outbox(p: Platform) -> dict[str, Outbox]:
    """Queued messages by recipient (one each in these tests)."""
    with p.db.read() as s:
        rows = s.scalars(select(Outbox).order_by(Outbox.id)).all()
    return {row.to: row for row in rows}


def test_a_mail_is_spanish_by_default_and_english_when_asked() -> None:
    """The same values give the Spanish text, or the English one for ``en``."""
    spanish = notify.render("case_received", None, **VALUES)
    assert spanish.subject == f"Centro 311: recibimos su caso {NUMBER}"
    assert spanish.body == (
        "Recibimos su queja.\n\n"
        f"Número de caso: {NUMBER}\n"
        "Código de acceso: K7M2P9QX\n"
        "Estado: En revisión por el 311\n\n"
        "Para ver su caso sin escribir el código, abra este enlace (sirve una "
        "vez):\nhttp://311.example/seguimiento/enlace/TOKEN\n\n"
        f"Después, consulte su caso en http://311.example/seguimiento?numero={NUMBER}\n"
        "Guarde este número y código: los necesitará para consultarlo.\n"
    )
    english = notify.render("case_received", "en", **VALUES)
    assert english.subject == f"Centro 311: we received your case {NUMBER}"
    assert "Case number: 311-2026-000042\nAccess code: K7M2P9QX\n" in english.body
    assert "Número" not in english.body
    # A language without templates falls back to Spanish.
    assert notify.render("case_received", "fr", **VALUES) == spanish


def test_every_template_exists_in_every_language_and_renders() -> None:
    """Same names in each language; each renders a subject and a body."""
    names = {
        lang: sorted(p.stem for p in (notify.TEMPLATES_DIR / lang).glob("*.txt"))
        for lang in notify.LANGUAGES
    }
    assert names["es"] == names["en"]
    case_mail = [
        "answered",
        "case_merged",
        "case_received",
        "closed",
        "overdue",
        "parent_status_changed",
        "question",
        "reminder",
        "reopened",
        "status_changed",
    ]
    # Account mail (sign-in links) names the user instead of a case.
    account_mail = ["invitation", "password_reset"]
    # A citizen's sign-in link to Mis casos names neither: it carries the link.
    citizen_mail = ["citizen_sign_in"]
    assert names["es"] == sorted(case_mail + account_mail + citizen_mail)
    account = {"full_name": "Ana", "username": "ana.p", "link": "L", "days": 7}
    link = "http://311.example/mis-casos/entrar/TOKEN"
    for lang in notify.LANGUAGES:
        for name in names[lang]:
            if name in account_mail:
                message = notify.render(name, lang, **account, minutes=60)
                mark = subject_mark = "ana.p"
            elif name in citizen_mail:
                message = notify.render(name, lang, link=link, minutes=20)
                mark, subject_mark = link, "Centro 311"
                assert message.html is not None and link in message.html
                assert "20" in message.body, (lang, name)
            else:
                message = notify.render(name, lang, **VALUES)
                mark = subject_mark = NUMBER
            assert message.subject and subject_mark in message.subject, (lang, name)
            assert message.body.endswith("\n") and not message.body.startswith("\n")
            assert mark in message.body, (lang, name)
    assert Path(notify.TEMPLATES_DIR).is_relative_to(
        Path(services.__file__).resolve().parent
    )


def test_subject_stays_one_header_line_and_text_is_not_escaped() -> None:
    """Line breaks in a value fold into spaces; ``&`` and ``<`` stay as typed."""
    status = "Respondida\r\nBcc: x@evil.test\x00\u2028& <listo>"
    message = notify.render(
        "status_changed",
        "es",
        number=NUMBER,
        status=status,
        tracking_url="u",
        link="l",
        notes=(),
    )
    assert message.subject == (
        f"Centro 311: su caso {NUMBER} — Respondida Bcc: x@evil.test & <listo>"
    )
    assert mail.check_subject(message.subject) == message.subject
    assert "& <listo>" in message.body  # plain text: no HTML escaping


def test_the_citizen_gets_mail_in_the_language_they_filed_in(seeded) -> None:
    """Receipt and status mails follow ``case.language``; unknown ones are ignored."""
    services.open_case(seeded, "queja", {**INTAKE, "correo": "ana@example.pa"})
    english = services.open_case(
        seeded, "queja", {**INTAKE, "correo": "ann@example.pa"}, language="en"
    )
    services.open_case(
        seeded, "queja", {**INTAKE, "correo": "ona@example.pa"}, language="xx"
    )
    sent = outbox(seeded)
    assert sent["ana@example.pa"].subject.startswith("Centro 311: recibimos su caso")
    assert sent["ona@example.pa"].subject.startswith("Centro 311: recibimos su caso")
    assert sent["ann@example.pa"].subject == (
        f"Centro 311: we received your case {english.number}"
    )
    assert english.access_code in sent["ann@example.pa"].body
    with seeded.db.read() as s:
        languages = {
            number: language
            for number, language in s.execute(select(Case.number, Case.language))
        }
    assert languages[english.number] == "en"
    assert list(languages.values()).count(None) == 2  # "xx" is not kept

    agent = accounts.authenticate(seeded, "agente", "demo311", client="t")
    (task,) = [
        t for t in services.list_tasks(seeded, agent) if t.case_number == english.number
    ]
    services.complete_task(
        seeded, agent, task.id, {"decision": "aceptar", "entidad": "MINSA"}
    )
    with seeded.db.read() as s:
        status_mail = s.scalars(
            select(Outbox).where(Outbox.to == "ann@example.pa").order_by(Outbox.id)
        ).all()[-1]
    assert status_mail.subject.startswith(f"Centro 311: your case {english.number} — ")
    assert "has a new status" in status_mail.body


def test_the_platform_language_is_the_default(db_url: str, demo_hash: str) -> None:
    """Without a language on the case, mail uses the platform's default."""
    p = Platform(db_url, identity_key=IDENTITY_KEY, language="en")
    try:
        seed(p, demo_hash)
        opened = services.open_case(p, "queja", {**INTAKE, "correo": "ann@example.pa"})
        sent = outbox(p)["ann@example.pa"]
        assert sent.subject == f"Centro 311: we received your case {opened.number}"
    finally:
        p.close()


def test_staff_alerts_go_to_the_role_in_the_platform_language(seeded) -> None:
    """A reminder reaches the case's enlaces (with an address), linking the case."""
    opened = services.open_case(seeded, "queja", INTAKE)
    with seeded.db.transaction() as s:
        for user in s.scalars(
            select(User).where(User.username.in_(["enlace.minsa", "enlace.mop"]))
        ):
            user.email = f"{user.username}@example.pa"
        case = s.scalars(select(Case).where(Case.number == opened.number)).one()
        case.entity_code = "MINSA"
    with seeded.db.transaction() as s:
        case = s.scalars(select(Case).where(Case.number == opened.number)).one()
        notify.staff_alert(s, seeded, case, Role.LIAISON, "reminder", seeded.clock())
    sent = outbox(seeded)
    assert set(sent) == {"enlace.minsa@example.pa"}
    message = sent["enlace.minsa@example.pa"]
    assert message.subject == f"Recordatorio: el caso {opened.number} vence pronto"
    assert f"{seeded.public_url}/casos/{opened.number}" in message.body
