"""The knowledge base: who writes what, stale edits, audit, search (accents,
stemming, hostile input), and the ``consulta`` case type answered from an
article at first contact, by the 311, or by the entity it names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.enums import CaseStatus, Channel, EventKind
from engine.domain.errors import Conflict, InvalidData, NotAllowed, NotFound
from engine.domain.knowledge import ArticleQuery
from engine.services.platform import Platform
from engine.store.accounts import AuditLog
from engine.store.models import Case, CaseEvent, HumanTask
from tests.conftest import ON_POSTGRES
from tests.engine.test_scenarios import do, who

HOSTILE = "\"' OR 1=1 -- & | ! ( ) * :"

PASSPORT = {
    "title": "Cómo renovar el pasaporte",
    "topic": "Trámites",
    "body": "Las **renovaciones** de pasaportes se piden en línea.\n\n"
    "<script>alert(1)</script>",
    "entity_code": "",
}
WATER = {
    "title": "Cortes de agua programados",
    "topic": "Agua",
    "body": "El IDAAN publica los cortes de agua en su sitio.",
    "entity_code": "IDAAN",
}
QUESTION = {
    "categoria": "otro",
    "asunto": "Renovar pasaporte",
    "descripcion": "¿Dónde renuevo mi pasaporte vencido?",
    "correo": "ana@example.pa",
}


def write(p: Platform, username: str, data: dict, published: bool = True):
    """An article written (and published) by ``username``."""
    return services.create_article(
        p, who(p, username), {**data, "published": published}
    )


def found(p: Platform, username: str, text: str = "", **criteria) -> list[str]:
    """Titles of the articles ``username`` finds."""
    query = ArticleQuery(text=text, **criteria)
    return [
        a.title for a in services.search_articles(p, who(p, username), query).articles
    ]


def test_supervisor_writes_any_article_enlace_only_its_entitys(seeded: Platform):
    """A supervisor writes general and entity articles; an enlace only its own."""
    general = write(seeded, "supervisor", PASSPORT)
    assert general.entity_code is None and general.published
    water = write(seeded, "enlace.minsa", {**WATER, "entity_code": "IDAAN"})
    # The enlace's article is its entity's whatever it asked for.
    assert water.entity_code == "MINSA"
    with pytest.raises(NotAllowed):
        write(seeded, "agente", WATER)
    with pytest.raises(NotAllowed):
        services.edit_article(
            seeded, who(seeded, "enlace.mop"), water.id, WATER, water.lock_version
        )
    with pytest.raises(NotAllowed):
        services.set_published(
            seeded, who(seeded, "enlace.mop"), general.id, False, general.lock_version
        )
    edited = services.edit_article(
        seeded,
        who(seeded, "enlace.minsa"),
        water.id,
        {**WATER, "title": "Cortes de agua en hospitales"},
        water.lock_version,
    )
    assert edited.title == "Cortes de agua en hospitales"
    assert edited.lock_version == water.lock_version + 1


def test_invalid_article_names_each_field(seeded: Platform):
    """Empty fields, an overlong title and an unknown entity are named."""
    with pytest.raises(InvalidData) as err:
        write(
            seeded,
            "supervisor",
            {"title": "x" * 201, "topic": "", "body": "", "entity_code": "NOPE"},
        )
    assert set(err.value.errors) == {"title", "topic", "body", "entity_code"}


def test_a_stale_edit_is_refused_naming_who_won(seeded: Platform):
    """Two editors open version 1; the second save gets a Conflict."""
    article = write(seeded, "supervisor", PASSPORT)
    services.edit_article(
        seeded,
        who(seeded, "supervisor"),
        article.id,
        {**PASSPORT, "body": "Primera edición."},
        article.lock_version,
    )
    with pytest.raises(Conflict) as err:
        services.edit_article(
            seeded,
            who(seeded, "supervisor"),
            article.id,
            {**PASSPORT, "body": "Segunda edición."},
            article.lock_version,
        )
    assert "supervisor" in str(err.value)
    with pytest.raises(Conflict):
        services.set_published(
            seeded, who(seeded, "supervisor"), article.id, False, article.lock_version
        )
    current = services.get_article(seeded, who(seeded, "supervisor"), article.id)
    assert current.body == "Primera edición."


def test_every_change_is_audited(seeded: Platform):
    """Create, edit, unpublish and publish each leave an audit record."""
    actor = who(seeded, "supervisor")
    article = write(seeded, "supervisor", PASSPORT, published=False)
    article = services.edit_article(
        seeded, actor, article.id, {**PASSPORT, "title": "Pasaporte"}, 1
    )
    article = services.set_published(seeded, actor, article.id, True, 2)
    services.set_published(seeded, actor, article.id, False, 3)
    with seeded.db.read() as s:
        actions = [
            (a.action, a.actor, (a.detail or {}).get("article"))
            for a in s.scalars(
                select(AuditLog)
                .where(AuditLog.action.like("kb_article%"))
                .order_by(AuditLog.id)
            )
        ]
    assert actions == [
        ("kb_article_created", "supervisor", article.id),
        ("kb_article_edited", "supervisor", article.id),
        ("kb_article_published", "supervisor", article.id),
        ("kb_article_unpublished", "supervisor", article.id),
    ]


def test_agents_see_only_published_articles(seeded: Platform):
    """A draft is invisible to agents (search and page) but not to its writers."""
    draft = write(seeded, "enlace.minsa", WATER, published=False)
    write(seeded, "supervisor", PASSPORT)
    assert found(seeded, "agente") == ["Cómo renovar el pasaporte"]
    with pytest.raises(NotFound):
        services.get_article(seeded, who(seeded, "agente"), draft.id)
    with pytest.raises(NotFound):
        services.get_article(seeded, who(seeded, "enlace.mop"), draft.id)
    assert services.get_article(seeded, who(seeded, "enlace.minsa"), draft.id)
    assert "Cortes de agua programados" in found(
        seeded, "supervisor", include_drafts=True
    )
    assert "Cortes de agua programados" in found(
        seeded, "enlace.minsa", include_drafts=True
    )
    assert "Cortes de agua programados" not in found(
        seeded, "enlace.mop", include_drafts=True
    )
    # Citizens and designers have no knowledge base.
    with pytest.raises(NotAllowed):
        services.search_articles(seeded, None, ArticleQuery())
    with pytest.raises(NotAllowed):
        services.search_articles(seeded, who(seeded, "disenador"), ArticleQuery())


def test_search_folds_accents_and_filters(seeded: Platform):
    """Words match with or without accents; entity and topic filter."""
    write(seeded, "supervisor", PASSPORT)
    write(seeded, "supervisor", WATER)
    assert found(seeded, "agente", "pasaporte") == ["Cómo renovar el pasaporte"]
    assert found(seeded, "agente", "COMO renovar") == ["Cómo renovar el pasaporte"]
    assert found(seeded, "agente", "cortés agua") == ["Cortes de agua programados"]
    assert found(seeded, "agente", "idaan") == ["Cortes de agua programados"]
    assert found(seeded, "agente", entity_code="IDAAN") == [
        "Cortes de agua programados"
    ]
    assert found(seeded, "agente", entity_code="general") == [
        "Cómo renovar el pasaporte"
    ]
    assert found(seeded, "agente", topic="Agua") == ["Cortes de agua programados"]
    assert found(seeded, "agente", "pasaporte", topic="Agua") == []


def test_search_stems_spanish_words(seeded: Platform):
    """PostgreSQL stems (``renovó`` finds ``renovar``); SQLite matches word
    beginnings (``renov`` finds it, another form of the word does not)."""
    write(seeded, "supervisor", PASSPORT)
    if ON_POSTGRES:
        assert found(seeded, "agente", "renovamos pasaportes") == [
            "Cómo renovar el pasaporte"
        ]
        assert found(seeded, "agente", "renovó") == ["Cómo renovar el pasaporte"]
    else:
        assert found(seeded, "agente", "renov pasaport") == [
            "Cómo renovar el pasaporte"
        ]
        assert found(seeded, "agente", "renovó") == []


def test_hostile_input_is_just_text(seeded: Platform):
    """SQL and full-text syntax characters are answered, never an error."""
    write(seeded, "supervisor", PASSPORT)
    assert found(seeded, "agente", HOSTILE) == []
    assert found(seeded, "agente", "pasaporte " + HOSTILE) == []
    assert found(seeded, "agente", "pasaporte OR") == []
    assert found(seeded, "agente", '"pasaporte') == ["Cómo renovar el pasaporte"]
    assert found(seeded, "agente", "pasaporte*") == ["Cómo renovar el pasaporte"]
    query = services.article_query({"q": HOSTILE, "entidad": "x'--", "tema": "("})
    assert services.search_articles(seeded, who(seeded, "agente"), query).articles == []
    with pytest.raises(InvalidData):
        services.article_query({"q": "a" * 201})


def test_consulta_closed_at_first_contact_with_the_article(seeded: Platform):
    """An agent files a consulta by phone with an article: closed at once,
    the answer and the article public on the citizen's tracking page."""
    clock = FrozenClock(seeded.clock())
    seeded.clock = clock
    article = write(seeded, "supervisor", PASSPORT)
    intake = services.get_intake(seeded, "consulta", actor=who(seeded, "agente"))
    assert (str(article.id), PASSPORT["title"]) in intake.form.options["articulo"]
    opened = services.open_case(
        seeded,
        "consulta",
        {
            **QUESTION,
            "articulo": str(article.id),
            "respuesta": "Se renueva en línea; le leí el artículo.",
        },
        actor=who(seeded, "agente"),
        channel=Channel.PHONE,
    )
    assert opened.public_status == "Respondida"
    public = services.track_case(seeded, opened.number, opened.access_code, client="t")
    assert public.status == CaseStatus.CLOSED
    assert [a.title for a in public.articles] == [PASSPORT["title"]]
    note = next(e for e in public.timeline if e.kind == EventKind.PUBLIC_NOTE)
    assert {
        "label": "Artículo que la responde",
        "value": PASSPORT["title"],
    } in (note.data["fields"])
    assert public.milestones[-1].current and public.milestones[-2].reached
    with seeded.db.read() as s:
        pending = s.scalars(select(HumanTask).where(HumanTask.state == "ready")).all()
    assert pending == []


def test_citizens_cannot_pick_an_article(seeded: Platform):
    """The citizen's intake form has no staff fields; sending one is refused."""
    article = write(seeded, "supervisor", PASSPORT)
    intake = services.get_intake(seeded, "consulta")
    assert "articulo" not in intake.form.schema["properties"]
    assert "entidad_indicada" not in intake.form.schema["properties"]
    with pytest.raises(InvalidData) as err:
        services.open_case(
            seeded, "consulta", {**QUESTION, "articulo": str(article.id)}
        )
    assert "articulo" in err.value.errors or "" in err.value.errors


def test_an_unpublished_article_cannot_be_picked(seeded: Platform):
    """Only published articles are choices of ``x-source: articulos``."""
    draft = write(seeded, "supervisor", PASSPORT, published=False)
    with pytest.raises(InvalidData) as err:
        services.open_case(
            seeded,
            "consulta",
            {**QUESTION, "articulo": str(draft.id)},
            actor=who(seeded, "agente"),
            channel=Channel.PHONE,
        )
    assert "articulo" in err.value.errors


def test_web_consulta_is_triaged_then_answered_by_the_311(seeded: Platform):
    """Without an article a citizen's consulta waits for an agent, who
    answers it (linking an article) and closes it."""
    article = write(seeded, "supervisor", PASSPORT)
    opened = services.open_case(seeded, "consulta", QUESTION)
    assert opened.public_status == "En atención por el 311"
    do(
        seeded,
        "agente",
        "Atender la consulta",
        {
            "decision": "responder",
            "respuesta": "Puede renovarlo en línea.",
            "articulo": str(article.id),
        },
        opened.number,
    )
    public = services.track_case(seeded, opened.number, opened.access_code, client="t")
    assert public.status == CaseStatus.CLOSED
    assert public.public_status == "Respondida"
    assert [a.id for a in public.articles] == [article.id]


def test_consulta_sent_to_an_entity_by_the_agent(seeded: Platform):
    """The agent sends the consulta on; the entity's enlace answers it."""
    opened = services.open_case(seeded, "consulta", QUESTION)
    do(
        seeded,
        "agente",
        "Atender la consulta",
        {"decision": "enviar", "entidad": "MOP"},
        opened.number,
    )
    do(
        seeded,
        "enlace.mop",
        "Responder la consulta",
        {"respuesta": "El MOP no tramita pasaportes; acuda a Migración."},
        opened.number,
    )
    public = services.track_case(seeded, opened.number, opened.access_code, client="t")
    assert public.status == CaseStatus.CLOSED
    assert public.entity_name is not None and public.articles == []


def test_entidad_indicada_skips_triage(seeded: Platform):
    """With the entity named at intake the consulta goes straight to it."""
    opened = services.open_case(
        seeded,
        "consulta",
        QUESTION,
        actor=who(seeded, "agente"),
        channel=Channel.PHONE,
        entity_code="MINSA",
    )
    assert opened.public_status == "Asignada a la entidad"
    with seeded.db.read() as s:
        case = s.scalars(select(Case).where(Case.number == opened.number)).one()
        tasks = s.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
        assigned = s.scalars(
            select(CaseEvent).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.ASSIGNED
            )
        ).all()
    assert case.entity_code == "MINSA"
    assert [(t.bpmn_id, t.role, t.entity_code) for t in tasks] == [
        ("responder_consulta", "enlace", "MINSA")
    ]
    assert tasks[0].due_at is not None and tasks[0].due_at > case.created_at
    assert tasks[0].due_at - case.created_at <= timedelta(days=9)
    assert len(assigned) == 1
