"""Duplicates: likely ones found at triage, merged under a parent (children
closed, their citizens told, the parent's progress reaching them all), and
separated again with everything restored."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.errors import Conflict, InvalidData, NotAllowed, NotFound
from engine.services import accounts, duplicates
from engine.services.common import PANAMA
from engine.services.platform import Platform
from engine.store.accounts import AuditLog
from engine.store.models import Case, CaseEvent, HumanTask
from engine.store.publishing import Outbox

LEAK = {
    "categoria": "agua",
    "asunto": "Fuga de agua potable en la calle 50",
    "descripcion": "Una tubería rota bota agua potable frente a la escuela.",
}
SAME_LEAK = {
    "categoria": "agua",
    "asunto": "Tubería rota en calle 50",
    "descripcion": "Sale agua potable de una tubería rota, frente a la escuela.",
}
OTHER_WATER = {
    "categoria": "agua",
    "asunto": "Factura incorrecta",
    "descripcion": "Me cobraron dos veces el mismo mes del servicio.",
}
OTHER_TOPIC = {
    "categoria": "vias",
    "asunto": "Tubería rota en calle 50",
    "descripcion": "Sale agua potable de una tubería rota, frente a la escuela.",
}


def login(p: Platform, username: str):
    """The Actor of a demo user."""
    return accounts.authenticate(p, username, "demo311", client="tests")


@pytest.fixture
def center(seeded: Platform) -> Platform:
    """The seeded platform on a frozen clock (Monday 2026-11-02, 10:00)."""
    seeded.clock = FrozenClock(datetime(2026, 11, 2, 10, 0, tzinfo=PANAMA))
    return seeded


#: The access code of each case filed by :func:`file` (by number).
CODES: dict[str, str] = {}


def file(p: Platform, data: dict, email: str | None = None) -> str:
    """File a queja on the web; its number (its access code in CODES)."""
    payload = dict(data, **({"correo": email} if email else {}))
    opened = services.open_case(p, "queja", payload)
    CODES[opened.number] = opened.access_code
    return opened.number


def ready_tasks(p: Platform, number: str) -> list[str]:
    """The ids of a case's ready tasks."""
    with p.db.read() as s:
        return list(
            s.scalars(
                select(HumanTask.id)
                .join(Case, Case.id == HumanTask.case_id)
                .where(Case.number == number, HumanTask.state == "ready")
            )
        )


def case_row(p: Platform, number: str) -> Case:
    """A case row, detached."""
    with p.db.read() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        s.expunge(case)
        return case


def mails_to(p: Platform, address: str) -> list[Outbox]:
    """Queued messages to ``address``, oldest first."""
    with p.db.read() as s:
        return list(
            s.scalars(select(Outbox).where(Outbox.to == address).order_by(Outbox.id))
        )


def test_the_category_of_a_filing_is_kept_on_the_case(center):
    """The intake form's ``categoria`` is the case's category."""
    assert case_row(center, file(center, LEAK)).category == "agua"


def test_candidates_share_category_and_words_closest_first(center):
    """Same category and shared words make a candidate; the same words in
    another category, or another subject, do not."""
    first = file(center, LEAK)
    center.clock.advance(hours=2)
    same = file(center, SAME_LEAK)
    other_water = file(center, OTHER_WATER)
    file(center, OTHER_TOPIC)
    found = services.duplicate_candidates(center, login(center, "agente"), first)
    assert [c.number for c in found] == [same]
    assert found[0].subject == SAME_LEAK["asunto"]
    assert found[0].days_apart == 0
    assert other_water not in [c.number for c in found]


def test_the_cases_compared_are_the_nearest_in_date_on_either_side(center, monkeypatch):
    """Only the nearest cases in date are compared by text: one filed two
    days before is nearer than one filed five days after."""
    before = file(center, SAME_LEAK)
    center.clock.advance(days=2)
    case = file(center, LEAK)
    center.clock.advance(days=5)
    file(center, SAME_LEAK)
    monkeypatch.setattr(duplicates, "COMPARED", 1)
    found = services.duplicate_candidates(center, login(center, "agente"), case)
    assert [(c.number, c.days_apart) for c in found] == [(before, -2)]


def test_without_a_category_candidates_are_uncategorised_cases_of_the_type(center):
    """A case filed with no category (a case type whose intake has none) is
    compared with the uncategorised open cases of its type only."""
    first = file(center, LEAK)
    same = file(center, SAME_LEAK)
    categorised = file(center, dict(SAME_LEAK, asunto="Tubería rota, calle 50"))
    with center.db.transaction() as s:
        for case in s.scalars(select(Case).where(Case.number.in_([first, same]))):
            case.category = None
    agent = login(center, "agente")
    found = services.duplicate_candidates(center, agent, first)
    assert [c.number for c in found] == [same]
    assert categorised not in [c.number for c in found]


def test_candidates_stay_within_the_window(center):
    """A report filed more days away than the window is not a candidate."""
    first = file(center, LEAK)
    center.clock.advance(days=center.limits.duplicate_window_days + 1)
    late = file(center, SAME_LEAK)
    agent = login(center, "agente")
    assert services.duplicate_candidates(center, agent, first) == []
    center.limits.duplicate_window_days = 60
    found = services.duplicate_candidates(center, agent, late)
    assert [(c.number, c.days_apart) for c in found] == [(first, -31)]


def test_search_syntax_in_a_report_is_just_text(center):
    """Quotes, operators and stars in a subject neither fail nor match all."""
    tricky = {
        "categoria": "agua",
        "asunto": 'fuga" OR * AND (agua) NEAR -calle',
        "descripcion": 'tuberia\' ; DROP TABLE case; -- "rota" ^potable:*',
    }
    first = file(center, tricky)
    same = file(center, SAME_LEAK)
    found = services.duplicate_candidates(center, login(center, "agente"), first)
    assert [c.number for c in found] == [same]


def test_merge_closes_the_duplicates_under_the_parent(center):
    """Children close with a public note pointing at the parent, their tasks
    cancelled; the parent counts them; all of it audited; citizens told."""
    parent = file(center, LEAK, "ana@example.pa")
    one = file(center, SAME_LEAK, "beto@example.pa")
    two = file(center, SAME_LEAK, "carla@example.pa")
    agent = login(center, "agente")
    done = services.merge_cases(
        center, agent, parent, [one, two, parent], "Ya la reportó un vecino."
    )
    assert (done.parent, done.children) == (parent, [one, two])
    assert case_row(center, parent).merged_children == 2
    for child in (one, two):
        row = case_row(center, child)
        assert (row.status, row.public_status) == ("closed", f"Unido al caso {parent}")
        assert row.next_timer_at is None
        assert ready_tasks(center, child) == []
    public = services.track_case(center, one, CODES[one], client="c")
    merged = [e for e in public.timeline if e.kind == "merged"]
    assert merged[0].data == {"parent": parent, "note": "Ya la reportó un vecino."}
    assert public.merged_into is not None and public.merged_into.number == parent
    (mail,) = [m for m in mails_to(center, "beto@example.pa") if parent in m.subject]
    assert "Ya la reportó un vecino." in mail.body
    with center.db.read() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "merged")).one()
        recorded = s.scalars(
            select(CaseEvent.data).where(CaseEvent.kind == "duplicate_merged")
        ).all()
    assert audit.actor == "agente" and audit.detail["children"] == [one, two]
    assert sorted(d["child"] for d in recorded) == [one, two]
    family = services.merge_family(center, agent, parent)
    assert [c.number for c in family.children] == [one, two]
    merged_into = services.merge_family(center, agent, one).parent
    assert merged_into is not None and merged_into.number == parent


def test_the_parents_answer_reaches_every_reporter(center):
    """Status mails of the parent go to its citizen and to each duplicate's;
    a duplicate's tracking page shows the parent's answer, not its citizen."""
    parent = file(center, LEAK, "ana@example.pa")
    one = file(center, SAME_LEAK, "beto@example.pa")
    two = file(center, SAME_LEAK, "carla@example.pa")
    agent = login(center, "agente")
    services.merge_cases(center, agent, parent, [one, two])
    (triage,) = ready_tasks(center, parent)
    services.complete_task(
        center, agent, triage, {"decision": "aceptar", "entidad": "MINSA"}
    )
    tasks = ready_tasks(center, parent)
    enlace = login(center, "enlace.minsa")
    services.complete_task(
        center,
        enlace,
        tasks[0],
        {"nota": "Pasado a la cuadrilla."},
    )
    (answer,) = ready_tasks(center, parent)
    services.complete_task(
        center,
        enlace,
        answer,
        {"accion": "responder", "respuesta": "Cuadrilla enviada; la fuga se reparó."},
    )
    status = case_row(center, parent).public_status
    for address in ("ana@example.pa", "beto@example.pa", "carla@example.pa"):
        assert any(status in m.subject for m in mails_to(center, address)), address
    public = services.track_case(center, two, CODES[two], client="c")
    shown = public.merged_into
    assert shown is not None and shown.public_status == status
    notes = [e for e in shown.timeline if e.kind == "public_note"]
    assert "la fuga se reparó" in str(notes[-1].data)
    assert all(e.kind != "created" and not e.actor for e in shown.timeline)
    # The duplicate's progress bar is the parent's: assigned and answered.
    reached = {m.key: m.reached for m in public.milestones}
    assert reached["asignado"] and reached["respondido"]


def test_unmerge_restores_the_duplicate(center):
    """Separating gives the duplicate back its status, tasks and timer; its
    work goes on; the parent's count drops; audited with the reason."""
    parent = file(center, LEAK)
    child = file(center, SAME_LEAK, "beto@example.pa")
    before = case_row(center, child)
    tasks = ready_tasks(center, child)
    agent = login(center, "agente")
    services.merge_cases(center, agent, parent, [child])
    with pytest.raises(InvalidData):
        services.unmerge_case(center, agent, child, "corto")
    boss = login(center, "supervisor")
    services.unmerge_case(center, boss, child, "No es la misma fuga: otra calle.")
    after = case_row(center, child)
    assert (after.status, after.parent_id, after.closed_at) == ("open", None, None)
    assert after.public_status == before.public_status
    assert after.next_timer_at == before.next_timer_at
    assert ready_tasks(center, child) == tasks
    assert case_row(center, parent).merged_children == 0
    services.complete_task(
        center, agent, tasks[0], {"decision": "aceptar", "entidad": "MINSA"}
    )
    assert case_row(center, child).entity_code == "MINSA"
    with center.db.read() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "unmerged")).one()
    assert audit.detail["reason"] == "No es la misma fuga: otra calle."
    public = services.track_case(center, child, CODES[child], client="c")
    assert public.merged_into is None
    unmerged = [e for e in public.timeline if e.kind == "unmerged"]
    assert unmerged and "reason" not in unmerged[0].data


def test_who_may_merge_and_what_is_refused(center):
    """Only 311 staff merge; closed, merged or unknown cases are refused."""
    parent = file(center, LEAK)
    child = file(center, SAME_LEAK)
    third = file(center, SAME_LEAK)
    with pytest.raises(NotAllowed):
        services.merge_cases(center, login(center, "enlace.minsa"), parent, [child])
    agent = login(center, "agente")
    with pytest.raises(InvalidData):
        services.merge_cases(center, agent, parent, [parent, " "])
    with pytest.raises(NotFound):
        services.merge_cases(center, agent, parent, ["311-2026-999999"])
    services.merge_cases(center, agent, parent, [child])
    with pytest.raises(Conflict, match="ya está unido"):
        services.merge_cases(center, agent, third, [child])
    with pytest.raises(Conflict, match="ya está unido"):
        services.merge_cases(center, agent, child, [third])
    with pytest.raises(Conflict, match="propios duplicados"):
        services.merge_cases(center, agent, third, [parent])
    with pytest.raises(Conflict, match="no está unido"):
        services.unmerge_case(center, agent, third, "Motivo suficientemente largo")
    # Nothing of the refused merges was kept.
    assert case_row(center, third).status == "open"
    assert case_row(center, parent).merged_children == 1
